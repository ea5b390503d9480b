import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalRootKeyProvider } from '@omt/adapters/kms-local';
import { isOmtError } from '@omt/core/errors';
import { createKms } from '@omt/kms';
import { MemoryKeyStore } from '@omt/kms/memory-key-store';
import { rootKeyProviderContract } from '@omt/kms/testing';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'omt-kms-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FAST = { N: 2 ** 12, r: 8, p: 1 };
let n = 0;
const file = (): string => join(dir, `keys-${++n}`, 'root-keys.json');

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

rootKeyProviderContract('LocalRootKeyProvider (key file)', async () => ({
  port: await openLocalRootKeyProvider({
    path: file(),
    passphrase: 'correct horse battery',
    create: true,
    scrypt: FAST,
  }),
}));

describe('LocalRootKeyProvider: the key file', () => {
  it('keys survive reopening; the file holds no raw key and is mode 0600', async () => {
    const path = file();
    const a = await openLocalRootKeyProvider({
      path,
      passphrase: 'pass phrase 1',
      create: true,
      scrypt: FAST,
    });
    const { keyId } = await a.createKey({ label: 'tenant acme' });
    const aad = new TextEncoder().encode('ctx');
    const blob = await a.wrap(keyId, new Uint8Array(32).fill(7), aad);
    const b = await openLocalRootKeyProvider({ path, passphrase: 'pass phrase 1' });
    expect(Array.from(await b.unwrap(keyId, blob, aad))).toEqual(Array(32).fill(7));
    const text = readFileSync(path, 'utf8');
    expect(JSON.parse(text).kdf).toMatchObject({ alg: 'scrypt', N: 4096, r: 8, p: 1 });
    const { statSync } = await import('node:fs');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('wrong passphrase → kms.local.passphrase; missing file → kms.local.not-found; short passphrase → kms.input.invalid', async () => {
    const path = file();
    await openLocalRootKeyProvider({ path, passphrase: 'the right one', create: true, scrypt: FAST });
    expect(await codeOf(openLocalRootKeyProvider({ path, passphrase: 'the wrong one' }))).toBe(
      'kms.local.passphrase',
    );
    expect(await codeOf(openLocalRootKeyProvider({ path: `${path}.nope`, passphrase: 'whatever1' }))).toBe(
      'kms.local.not-found',
    );
    expect(await codeOf(openLocalRootKeyProvider({ path, passphrase: 'short' }))).toBe('kms.input.invalid');
  });

  it('editing the file (re-enabling a disabled key) is detected', async () => {
    const path = file();
    const p = await openLocalRootKeyProvider({ path, passphrase: 'tamper test', create: true, scrypt: FAST });
    const { keyId } = await p.createKey();
    await p.disable(keyId);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.keys[0].state = 'enabled';
    writeFileSync(path, JSON.stringify(json));
    expect(await codeOf(p.wrap(keyId, new Uint8Array(32), new Uint8Array(0)))).toBe('kms.local.passphrase');
    expect(await codeOf(openLocalRootKeyProvider({ path, passphrase: 'tamper test' }))).toBe(
      'kms.local.passphrase',
    );
  });

  it('a disable by another process (the CLI) is seen by a running provider at its next call', async () => {
    const path = file();
    const server = await openLocalRootKeyProvider({
      path,
      passphrase: 'shared file',
      create: true,
      scrypt: FAST,
    });
    const { keyId } = await server.createKey();
    const blob = await server.wrap(keyId, new Uint8Array(32), new Uint8Array(0));
    const cli = await openLocalRootKeyProvider({ path, passphrase: 'shared file' });
    await cli.disable(keyId);
    expect(await codeOf(server.unwrap(keyId, blob, new Uint8Array(0)))).toBe('kms.key.revoked');
    await cli.enable(keyId);
    expect((await server.unwrap(keyId, blob, new Uint8Array(0))).length).toBe(32);
  });

  it('destroy removes the material from the file', async () => {
    const path = file();
    const p = await openLocalRootKeyProvider({ path, passphrase: 'destroy me', create: true, scrypt: FAST });
    const { keyId } = await p.createKey();
    const before = JSON.parse(readFileSync(path, 'utf8')).keys[0].material;
    expect(typeof before).toBe('string');
    await p.destroy(keyId);
    const after = JSON.parse(readFileSync(path, 'utf8')).keys[0];
    expect(after.material).toBeNull();
    expect(after.state).toBe('destroyed');
    expect(readFileSync(path, 'utf8')).not.toContain(before);
  });

  it('end to end: the local KMS under createKms; disabling L1 is the kill switch', async () => {
    const rootKeys = await openLocalRootKeyProvider({
      path: file(),
      passphrase: 'end to end',
      create: true,
      scrypt: FAST,
    });
    const { kms, governance } = createKms({ rootKeys, keyStore: new MemoryKeyStore() });
    for (const tenant of ['a', 'b']) {
      await governance.createTenant({
        actor: 'ops',
        tenant,
        services: ['media'],
        grants: [{ principal: 'app', service: '*', operations: ['encrypt', 'decrypt'] }],
      });
    }
    const o = (tenant: string) => ({ principal: 'app', tenant, service: 'media', objectId: 'x' });
    const ea = await kms.encrypt(new Uint8Array([1, 2, 3]), o('a'));
    const eb = await kms.encrypt(new Uint8Array([4, 5, 6]), o('b'));
    await governance.disableRoot({ actor: 'customer', tenant: 'a' });
    expect(await codeOf(kms.decrypt(ea, { principal: 'app' }))).toBe('kms.key.revoked');
    expect(Array.from(await kms.decrypt(eb, { principal: 'app' }))).toEqual([4, 5, 6]);
  });
});
