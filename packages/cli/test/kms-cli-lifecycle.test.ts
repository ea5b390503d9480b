/**
 * `omt kms`, `omt encrypt`, `omt decrypt` end to end on a temp $OMT_HOME with embedded PGlite and
 * the local key file: two tenants, the L1 kill switch, rotation, crypto-shredding.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, SqlAuditLogStore } from '@omt/adapters/sql';
import { parseAuditEntry, verifyAuditLog } from '@omt/core/audit-log';
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
  dir = mkdtempSync(path.join(tmpdir(), 'omt-kms-cli2-'));
  env = { OMT_HOME: path.join(dir, '.omt'), OMT_KMS_PASSPHRASE: PASS, OMT_ACTOR: 'test-ops' };
  writeFileSync(file('a.bin'), randomBytes(200_000 + 17));
  writeFileSync(file('b.json'), JSON.stringify({ record: 'tenant B', n: [1, 2, 3] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('omt kms + encrypt/decrypt (local key file, PGlite): revocation, rotation, tampering, shredding', () => {
  it('init, two tenants, one file each', async () => {
    expect((await kms('init', '--scrypt-log-n', '12')).code).toBe(0);
    expect((await kms('tenant', 'create', 'tenant-a', '--services', 'media,payments')).code).toBe(0);
    expect((await kms('tenant', 'create', 'tenant-b', '--services', 'media')).code).toBe(0);
    expect((await enc('--tenant', 'tenant-a', '--service', 'media', 'a.bin', '-o', 'a.omte')).code).toBe(0);
    expect((await enc('--tenant', 'tenant-b', '--service', 'media', 'b.json', '-o', 'b.omte')).code).toBe(0);
  }, 60_000);

  it('governance revocation works the same way and is lifted by reinstate', async () => {
    expect((await kms('tenant', 'revoke', 'tenant-b')).code).toBe(0);
    expect((await dec('b.omte', '-o', 'b4.out')).error).toBe('kms.key.revoked');
    expect(existsSync(file('b4.out'))).toBe(false);
    expect((await kms('tenant', 'reinstate', 'tenant-b')).code).toBe(0);
    expect((await dec('b.omte', '-o', 'b4.out')).code).toBe(0);
  }, 60_000);

  it('after rotation old ciphertext still decrypts and new ciphertext uses the new keys', async () => {
    const r = await kms('tenant', 'rotate', 'tenant-a', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).job).toMatchObject({ fromVersion: 1, toVersion: 2, state: 'done' });
    const s = await kms('tenant', 'rotate', 'tenant-a', '--service', 'media', '--json');
    expect(JSON.parse(s.stdout).serviceKey.version).toBe(2);
    expect((await dec('a.omte', '-o', 'a5.out')).code).toBe(0);
    expect(bytesOf('a5.out')).toEqual(bytesOf('a.bin'));
    expect((await enc('--tenant', 'tenant-a', '--service', 'media', 'a.bin', '-o', 'a6.omte')).code).toBe(0);
    const d = JSON.parse((await dec('a6.omte', '-o', 'a6.out', '--json')).stdout);
    expect(d).toMatchObject({ tenantKeyVersion: 2, serviceKeyVersion: 2 });
  }, 60_000);

  it('a tampered envelope exits 1 and leaves no output file', async () => {
    const env1 = bytesOf('a.omte');
    for (const at of [env1.length - 5, Math.floor(env1.length / 2), 40]) {
      const t = env1.slice();
      t[at] = (t[at] as number) ^ 0x01;
      writeFileSync(file('t.omte'), t);
      const r = await dec('t.omte', '-o', 't.out');
      expect(r.code).toBe(1);
      expect(r.error).toMatch(/^kms\.(envelope|unwrap|context)\./);
      expect(existsSync(file('t.out'))).toBe(false);
    }
    writeFileSync(file('t.omte'), env1.subarray(0, env1.length - 100));
    expect((await dec('t.omte', '-o', 't.out')).error).toBe('kms.envelope.truncated');
    writeFileSync(file('t.omte'), 'not an envelope');
    expect((await dec('t.omte', '-o', 't.out')).code).toBe(1);
    expect(existsSync(file('t.out'))).toBe(false);
    expect(partials()).toEqual([]);
  }, 60_000);

  it("shredding B's service makes B's file unrecoverable; --object shreds one shreddable object", async () => {
    expect(
      (
        await enc(
          '--tenant',
          'tenant-a',
          '--service',
          'payments',
          '--shreddable',
          '--object-id',
          'inv-1',
          'b.json',
          '-o',
          'inv.omte',
        )
      ).code,
    ).toBe(0);
    expect((await dec('inv.omte', '-o', 'inv.out')).code).toBe(0);
    const so = await kms(
      'shred',
      '--tenant',
      'tenant-a',
      '--service',
      'payments',
      '--object',
      'inv-1',
      '--json',
    );
    expect(JSON.parse(so.stdout).secretsDestroyed).toBe(1);
    expect((await dec('inv.omte', '-o', 'inv2.out')).error).toBe('kms.object.shredded');
    expect(existsSync(file('inv2.out'))).toBe(false);

    const s = await kms('shred', '--tenant', 'tenant-b', '--service', 'media', '--json');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).serviceKeysDestroyed).toBe(1);
    const d = await dec('b.omte', '-o', 'b5.out');
    expect(d.code).toBe(1);
    expect(d.error).toBe('kms.key.destroyed');
    expect(existsSync(file('b5.out'))).toBe(false);
    // A's data is untouched.
    expect((await dec('a.omte', '-o', 'a7.out')).code).toBe(0);
  }, 60_000);

  it('status lists every tenant without key material, and the audit log recorded the actions', async () => {
    const r = await kms('status', '--json');
    const st = JSON.parse(r.stdout);
    expect(st.provider.kind).toBe('local');
    expect(st.tenants.map((t: { tenant: { tenant: string } }) => t.tenant.tenant)).toEqual([
      'tenant-a',
      'tenant-b',
    ]);
    expect(r.stdout).not.toContain('"wrapped"');
    const text = await kms('status');
    expect(text.stdout).toContain('tenant-a: enabled');

    // Every governance action and denial is in the hash-chained `kms` audit log.
    const database = await createDatabase({
      kind: 'pglite',
      dataDir: path.join(env.OMT_HOME as string, 'db'),
    });
    try {
      const entries = await new SqlAuditLogStore(database.db).read('kms', 0, 10_000);
      expect((await verifyAuditLog(entries)).valid).toBe(true);
      const events = entries.map((e) => parseAuditEntry(e.body));
      const actions = new Set(events.map((e) => `${e.action}:${e.outcome}`));
      for (const a of [
        'kms.init:success',
        'kms.tenant.create:success',
        'kms.tenant.revoke:success',
        'kms.tenant.rotate:success',
        'kms.key.destroy:success',
        'kms.object.shred:success',
        'kms.data.encrypt:allow',
        'kms.data.decrypt:allow',
        'kms.data.decrypt:deny',
      ])
        expect(actions.has(a), a).toBe(true);
      expect(events.find((e) => e.action === 'kms.tenant.revoke')?.actor).toBe('test-ops');
    } finally {
      await database.close();
    }
  }, 60_000);
});
