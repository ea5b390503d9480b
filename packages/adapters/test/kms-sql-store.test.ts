import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalRootKeyProvider, SqlKmsKeyStore } from '@omt/adapters/kms-local';
import { createKms } from '@omt/kms';
import { keyStoreContract } from '@omt/kms/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { describePostgres, dropSchemas, openMigrated, randomSchema } from './pg-env.js';

keyStoreContract('SqlKmsKeyStore on PGlite (in memory)', async () => {
  const omt = await openMigrated({ kind: 'pglite' });
  return { port: new SqlKmsKeyStore(omt.db), close: () => omt.close() };
});

describe('SqlKmsKeyStore on PGlite: end to end with the local KMS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omt-kms-sql-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rotation and a restart: envelopes written before still decrypt in a new process', async () => {
    const dataDir = join(dir, 'db');
    const path = join(dir, 'root-keys.json');
    let omt = await openMigrated({ kind: 'pglite', dataDir });
    const rootKeys = await openLocalRootKeyProvider({
      path,
      passphrase: 'sql end to end',
      create: true,
      scrypt: { N: 4096, r: 8, p: 1 },
    });
    const one = createKms({ rootKeys, keyStore: new SqlKmsKeyStore(omt.db) });
    await one.governance.createTenant({
      actor: 'ops',
      tenant: 'acme',
      services: ['media', 'payments'],
      grants: [{ principal: 'app', service: '*', operations: ['encrypt', 'decrypt'] }],
    });
    const o = { principal: 'app', tenant: 'acme', service: 'media', objectId: 'x' };
    const before = await one.kms.encrypt(new Uint8Array([9, 9, 9]), o);
    const shred = await one.kms.encrypt(new Uint8Array([1]), { ...o, objectId: 'user-1', shreddable: true });
    const report = await one.governance.rotateTenant({ actor: 'ops', tenant: 'acme' });
    expect(report.rewrapped).toBe(2);
    await one.governance.rotateService({ actor: 'ops', tenant: 'acme', service: 'media' });
    expect(
      await one.governance.shredObject({
        actor: 'dpo',
        tenant: 'acme',
        service: 'media',
        objectId: 'user-1',
      }),
    ).toBe(1);
    await omt.close();

    omt = await openMigrated({ kind: 'pglite', dataDir });
    const again = await openLocalRootKeyProvider({ path, passphrase: 'sql end to end' });
    const two = createKms({ rootKeys: again, keyStore: new SqlKmsKeyStore(omt.db) });
    expect(Array.from(await two.kms.decrypt(before, { principal: 'app' }))).toEqual([9, 9, 9]);
    await expect(two.kms.decrypt(shred, { principal: 'app' })).rejects.toMatchObject({
      code: 'kms.object.shredded',
    });
    const st = await two.governance.status('acme');
    expect(st.tenantKeys.map((k) => k.state)).toEqual(['decrypt-only', 'active']);
    expect(st.services.media?.map((k) => k.state)).toEqual(['decrypt-only', 'active']);
    expect(st.jobs[0]?.state).toBe('done');
    await omt.close();
  });
});

describePostgres('SqlKmsKeyStore on PostgreSQL', (url) => {
  const schemas: string[] = [];
  afterAll(async () => {
    await dropSchemas(url, schemas);
  });
  keyStoreContract('SqlKmsKeyStore on PostgreSQL', async () => {
    const schema = randomSchema('kms');
    schemas.push(schema);
    const omt = await openMigrated({ kind: 'postgres', url, schema, poolSize: 8 });
    return { port: new SqlKmsKeyStore(omt.db), close: () => omt.close() };
  });

  it('two processes (separate pools): a revocation by one is refused by the other', async () => {
    const schema = randomSchema('kms');
    schemas.push(schema);
    const a = await openMigrated({ kind: 'postgres', url, schema, poolSize: 2 });
    const b = await openMigrated({ kind: 'postgres', url, schema, poolSize: 2 });
    try {
      const { MemoryRootKeyProvider } = await import('@omt/kms/memory-root-key-provider');
      const rootKeys = new MemoryRootKeyProvider();
      const pa = createKms({ rootKeys, keyStore: new SqlKmsKeyStore(a.db), policyRefreshMs: 0 });
      const pb = createKms({ rootKeys, keyStore: new SqlKmsKeyStore(b.db), policyRefreshMs: 0 });
      await pa.governance.createTenant({
        actor: 'ops',
        tenant: 't',
        services: ['media'],
        grants: [{ principal: 'app', service: '*', operations: ['encrypt', 'decrypt'] }],
      });
      const env = await pb.kms.encrypt(new Uint8Array([1]), {
        principal: 'app',
        tenant: 't',
        service: 'media',
        objectId: 'o',
      });
      expect((await pb.kms.decrypt(env, { principal: 'app' })).length).toBe(1);
      await pa.governance.revokeTenant({ actor: 'ops', tenant: 't' });
      await expect(pb.kms.decrypt(env, { principal: 'app' })).rejects.toMatchObject({
        code: 'kms.key.revoked',
      });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
