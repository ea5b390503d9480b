/**
 * A 64 MiB file through `omt encrypt` / `omt decrypt` in a child process (the CLI as users run
 * it): byte-equal round trip, and the peak RSS grows by less than 64 MiB over the same commands
 * on a 1 MiB file — the file is streamed from disk to disk, never held in memory.
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKms } from '../src/commands/kms/index.js';
import { capture } from './capture.js';

const MiB = 1024 * 1024;
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const commands = fileURLToPath(new URL('../src/commands/kms/index.ts', import.meta.url));

let dir: string;
let env: Record<string, string>;
const file = (name: string) => path.join(dir, name);

/** The child: runs one command with the process's env and reports its exit code and peak RSS. */
const CHILD = `
const { runEncrypt, runDecrypt } = await import(process.env.K3_COMMANDS_URL);
const [which, ...argv] = process.argv.slice(2);
const run = which === 'encrypt' ? runEncrypt : runDecrypt;
const ctx = { env: process.env, cwd: process.cwd(), stdout: () => {}, stderr: (t) => process.stderr.write(t) };
let code;
try { code = (await run(ctx, argv)).exitCode; } catch (e) { process.stderr.write(String(e.code) + ' ' + e.message + '\\n'); code = 1; }
process.stdout.write(JSON.stringify({ code, maxRssKiB: process.resourceUsage().maxRSS }));
`;

function inheritedEnv(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  return rest;
}

async function child(argv: string[]): Promise<{ code: number; maxRss: number; stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--conditions=omt-source', '--import', 'tsx', file('child.mjs'), ...argv],
    {
      // `--import tsx` resolves from the working directory: the repository.
      cwd: repo,
      // The same store as the in-process `kms init` above (PGlite in $OMT_HOME): not a
      // DATABASE_URL the caller may have set.
      env: { ...inheritedEnv(), ...env, K3_COMMANDS_URL: `file://${commands}`, NODE_OPTIONS: '' },
      maxBuffer: MiB,
    },
  );
  const r = JSON.parse(stdout) as { code: number; maxRssKiB: number };
  return { code: r.code, maxRss: r.maxRssKiB * 1024, stderr };
}

function writeRandomFile(name: string, size: number): void {
  const fd = openSync(file(name), 'w');
  const chunk = new Uint8Array(MiB);
  for (let done = 0; done < size; done += MiB)
    writeSync(fd, randomFillSync(chunk), 0, Math.min(MiB, size - done));
  closeSync(fd);
}

async function sha256File(name: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file(name))) h.update(c as Uint8Array);
  return h.digest('hex');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'omt-kms-large-'));
  env = { OMT_HOME: path.join(dir, '.omt'), OMT_KMS_PASSPHRASE: 'large file passphrase' };
  writeFileSync(file('child.mjs'), CHILD);
  writeRandomFile('small.bin', MiB);
  writeRandomFile('large.bin', 64 * MiB + 123);
  const kms = (...argv: string[]) => capture(runKms, argv, env, dir);
  expect((await kms('init', '--scrypt-log-n', '12')).code).toBe(0);
  expect((await kms('tenant', 'create', 'big', '--services', 'video')).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('omt encrypt/decrypt of a 64 MiB file (child process)', () => {
  it('round-trips byte for byte with peak RSS growth < 64 MiB', async () => {
    const enc = (i: string, o: string) =>
      child(['encrypt', '--tenant', 'big', '--service', 'video', file(i), '-o', file(o)]);
    const dec = (i: string, o: string) => child(['decrypt', file(i), '-o', file(o)]);
    const smallEnc = await enc('small.bin', 'small.omte');
    const largeEnc = await enc('large.bin', 'large.omte');
    const smallDec = await dec('small.omte', 'small.out');
    const largeDec = await dec('large.omte', 'large.out');
    for (const r of [smallEnc, largeEnc, smallDec, largeDec]) expect(r.code, r.stderr).toBe(0);
    expect(existsSync(file('large.out'))).toBe(true);
    expect(await sha256File('large.out')).toBe(await sha256File('large.bin'));
    expect(await sha256File('small.out')).toBe(await sha256File('small.bin'));
    const growth = { encrypt: largeEnc.maxRss - smallEnc.maxRss, decrypt: largeDec.maxRss - smallDec.maxRss };
    console.log(
      `peak RSS: encrypt ${(smallEnc.maxRss / MiB).toFixed(0)} → ${(largeEnc.maxRss / MiB).toFixed(0)} MiB, decrypt ${(smallDec.maxRss / MiB).toFixed(0)} → ${(largeDec.maxRss / MiB).toFixed(0)} MiB`,
    );
    expect(growth.encrypt).toBeLessThan(64 * MiB);
    expect(growth.decrypt).toBeLessThan(64 * MiB);
  }, 120_000);
});
