// `npm start` as a user runs it: the built demo in a fresh $OMT_HOME on the embedded defaults.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the npm start demo', () => {
  it('runs end to end on PGlite, twice, and the audit log accumulates and verifies', async () => {
    expect(existsSync(main), 'examples/demo/dist/main.js: run `npm run build` (npm test builds first)').toBe(
      true,
    );
    const home = await mkdtemp(path.join(os.tmpdir(), 'omt-demo-'));
    dirs.push(home);
    // The embedded default, whatever the caller's environment says.
    const { DATABASE_URL: _ignored, ...inherited } = process.env;
    const env = { ...inherited, OMT_HOME: home };
    const first = await run(process.execPath, [main], { env, cwd: home });
    expect(first.stdout).toContain(`PGlite at ${path.join(home, 'db')}`);
    expect(first.stdout).toMatch(/suites checked: 20 \(20 ok\)/);
    const size = Number(/Merkle proofs: ok; audit log: (\d+) entries, verified/.exec(first.stdout)?.[1]);
    expect(size).toBeGreaterThan(21);
    expect(first.stdout).not.toContain('✗');
    expect(first.stdout).toContain('one bit of image data flipped');
    expect(first.stdout).toMatch(
      /ML-DSA-65 +[\d.]+ s +JSON: valid; tampered → core\.signature\.invalid; COSE: alg -49/,
    );
    expect(first.stdout).toContain('ES256 COSE_Sign1 + ML-DSA-65 countersignature');
    // A checkpoint anchored in a (regtest) block and verified by the client with the item.
    expect(first.stdout).toMatch(
      /anchored in a regtest block .* client verdict: authentic; anchors verified: op1\.omt\.local in block 900000/,
    );
    const second = await run(process.execPath, [main], { env, cwd: home });
    expect(second.stdout).toContain('migrations applied now: none (up to date)');
    expect(second.stdout).toContain(`audit log: ${2 * size} entries, verified`);
    expect(second.stdout).toMatch(/anchors verified: op1\.omt\.local in block 900000/);
  }, 300_000);
});
