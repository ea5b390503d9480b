/**
 * `omt kms`, `omt encrypt`, `omt decrypt` end to end on a temp $OMT_HOME with embedded PGlite and
 * the local key file: two tenants, the L1 kill switch, rotation, crypto-shredding.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDecrypt, runEncrypt, runKms } from '../src/commands/kms/index.js';
import { capture } from './capture.js';

const PASS = 'correct horse battery staple';
let dir: string;
let env: Record<string, string>;
const kms = (...argv: string[]) => capture(runKms, argv, env, dir);
const enc = (...argv: string[]) => capture(runEncrypt, argv, env, dir);
const dec = (...argv: string[]) => capture(runDecrypt, argv, env, dir);
const file = (name: string) => path.join(dir, name);
const bytesOf = (name: string) => new Uint8Array(readFileSync(file(name)));
/** No temp (`.partial`) files may survive any command. */
const partials = () => readdirSync(dir).filter((f) => f.endsWith('.partial'));

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'omt-kms-cli-'));
  env = { OMT_HOME: path.join(dir, '.omt'), OMT_KMS_PASSPHRASE: PASS, OMT_ACTOR: 'test-ops' };
  writeFileSync(file('a.bin'), randomBytes(200_000 + 17));
  writeFileSync(file('b.json'), JSON.stringify({ record: 'tenant B', n: [1, 2, 3] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('omt kms + encrypt/decrypt (local key file, PGlite)', () => {
  it('help and usage errors', async () => {
    expect((await kms()).code).toBe(2);
    expect((await kms('--help')).stdout).toContain('omt kms tenant create');
    expect((await enc('--help')).code).toBe(0);
    expect((await dec('--help')).stdout).toContain('leaves no output file');
    expect((await kms('frobnicate')).code).toBe(2);
    expect((await enc('--tenant', 'a', 'x')).code).toBe(2);
    expect((await kms('init', '--pkcs11-slot', '0')).code).toBe(2);
    expect((await kms('tenant', 'create', 'a', '--reason', 'x')).code).toBe(2);
  });

  it('a missing passphrase is a clear error, before anything is created', async () => {
    const { OMT_KMS_PASSPHRASE: _p, ...noPass } = env;
    const r = await capture(runKms, ['init'], noPass, dir);
    expect(r.code).toBe(1);
    expect(r.error).toBe('cli.kms.passphrase-missing');
    expect(r.stderr).toContain('OMT_KMS_PASSPHRASE is not set');
    expect(existsSync(path.join(env.OMT_HOME as string, 'kms', 'config.json'))).toBe(false);
  });

  it('commands before init say so', async () => {
    const r = await kms('status', '--json');
    expect(r.error).toBe('cli.kms.not-initialized');
  });

  it('init creates the key file and the first L1 key, and refuses to run again', async () => {
    const r = await kms('init', '--scrypt-log-n', '12', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.provider).toBe('local');
    expect(out.firstRootKey.state).toBe('enabled');
    const keyFile = readFileSync(path.join(env.OMT_HOME as string, 'kms', 'root-keys.json'), 'utf8');
    expect(keyFile).not.toContain(PASS);
    const again = await kms('init', '--scrypt-log-n', '12');
    expect(again.code).toBe(1);
    expect(again.error).toBe('cli.kms.initialized');
  }, 60_000);

  it('a wrong passphrase is refused', async () => {
    const r = await capture(runKms, ['status'], { ...env, OMT_KMS_PASSPHRASE: 'not the passphrase' }, dir);
    expect(r.code).toBe(1);
    expect(r.error).toBe('kms.local.passphrase');
    expect(r.stderr).not.toContain('not the passphrase');
  });

  it('two tenants encrypt and decrypt their files byte for byte', async () => {
    expect((await kms('tenant', 'create', 'tenant-a', '--services', 'media,payments')).code).toBe(0);
    const b = await kms('tenant', 'create', 'tenant-b', '--services', 'media', '--json');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).tenant.state).toBe('enabled');
    const dup = await kms('tenant', 'create', 'tenant-b');
    expect(dup.code).toBe(1);

    const ea = await enc(
      '--tenant',
      'tenant-a',
      '--service',
      'media',
      '--context',
      'desk=news',
      'a.bin',
      '-o',
      'a.omte',
      '--json',
    );
    expect(ea.stderr).toBe('');
    expect(JSON.parse(ea.stdout)).toMatchObject({
      tenant: 'tenant-a',
      objectId: 'a.bin',
      context: { desk: 'news' },
    });
    expect((await enc('--tenant', 'tenant-b', '--service', 'media', 'b.json', '-o', 'b.omte')).code).toBe(0);
    expect(bytesOf('a.omte').length).toBeGreaterThan(bytesOf('a.bin').length);

    const da = await dec('a.omte', '-o', 'a.out', '--context', 'desk=news', '--json');
    expect(da.stderr).toBe('');
    expect(JSON.parse(da.stdout)).toMatchObject({
      tenant: 'tenant-a',
      service: 'media',
      plaintextBytes: 200_017,
    });
    expect(bytesOf('a.out')).toEqual(bytesOf('a.bin'));
    expect((await dec('b.omte', '-o', 'b.out')).code).toBe(0);
    expect(bytesOf('b.out')).toEqual(bytesOf('b.json'));

    // Outputs are not overwritten by default; expectations are enforced.
    expect((await dec('b.omte', '-o', 'b.out')).error).toBe('cli.file.exists');
    const wrong = await dec('a.omte', '-o', 'a2.out', '--object-id', 'other');
    expect(wrong.error).toBe('kms.context.mismatch');
    expect(existsSync(file('a2.out'))).toBe(false);
  }, 60_000);

  it("disabling A's L1 refuses A (kms.key.revoked) while B works; enabling restores A", async () => {
    expect((await kms('tenant', 'disable', 'tenant-a', '--reason', 'test')).code).toBe(0);
    const d = await dec('a.omte', '-o', 'a3.out');
    expect(d.code).toBe(1);
    expect(d.error).toBe('kms.key.revoked');
    expect(existsSync(file('a3.out'))).toBe(false);
    const e = await enc('--tenant', 'tenant-a', '--service', 'media', 'a.bin', '-o', 'a3.omte');
    expect(e.error).toBe('kms.key.revoked');
    expect(existsSync(file('a3.omte'))).toBe(false);
    expect((await dec('b.omte', '-o', 'b3.out')).code).toBe(0);
    expect(bytesOf('b3.out')).toEqual(bytesOf('b.json'));

    const st = JSON.parse((await kms('status', '--tenant', 'tenant-a', '--json')).stdout);
    expect(st.tenants[0].rootKey.state).toBe('disabled');

    expect((await kms('tenant', 'enable', 'tenant-a')).code).toBe(0);
    expect((await dec('a.omte', '-o', 'a3.out')).code).toBe(0);
    expect(bytesOf('a3.out')).toEqual(bytesOf('a.bin'));
    expect(partials()).toEqual([]);
  }, 60_000);
});
