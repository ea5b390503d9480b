import { OmtError } from '@omt/core/errors';
import { MemoryKeyStore } from '@omt/kms/memory-key-store';
import { describe, expect, it } from 'vitest';
import { bytes, codeOf, P, setup } from './setup.js';

const enc = (tenant: string, objectId: string, service = 'media') => ({
  principal: P,
  tenant,
  service,
  objectId,
});

describe('key hierarchy: unsealing and caches', () => {
  it('warm path: 1000 encrypt+decrypt operations make no L1 call and no store read', async () => {
    const f = await setup({ rootCheckMs: 0, policyRefreshMs: 60_000 });
    const env = await f.kms.encrypt(bytes(10), enc('acme', 'warm'));
    await f.kms.decrypt(env, { principal: P });
    const before = f.kms.stats;
    for (let i = 0; i < 1000; i++) {
      const e = await f.kms.encrypt(bytes(1024, i), enc('acme', `o${i}`));
      await f.kms.decrypt(e, { principal: P });
    }
    const after = f.kms.stats;
    expect(after.l1KeyCalls - before.l1KeyCalls).toBe(0);
    expect(after.l1DescribeCalls - before.l1DescribeCalls).toBe(0);
    expect(after.storeReads - before.storeReads).toBe(0);
  });

  it('cold path: one L1 unwrap per tenant key, shared by concurrent first users', async () => {
    const f = await setup({ rootCheckMs: 0 });
    const env = await f.kms.encrypt(bytes(10), enc('acme', 'x'));
    // A fresh instance over the same store and provider starts cold.
    const { createKms } = await import('@omt/kms/kms');
    const cold = createKms({ rootKeys: f.rootKeys, keyStore: f.keyStore, rootCheckMs: 0 });
    await Promise.all(Array.from({ length: 20 }, () => cold.kms.decrypt(env, { principal: P })));
    expect(cold.kms.stats.l1KeyCalls).toBe(1);
  });

  it('TTL and max-use limits evict keys, which are then unsealed again', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const f = await setup({
      clock: () => new Date(now),
      rootCheckMs: 0,
      cache: { ttlMs: 1000, maxUses: 1_000_000 },
    });
    const env = await f.kms.encrypt(bytes(10), enc('acme', 'x'));
    const l1 = f.kms.stats.l1KeyCalls;
    await f.kms.decrypt(env, { principal: P });
    expect(f.kms.stats.l1KeyCalls).toBe(l1);
    now += 1500;
    await f.kms.decrypt(env, { principal: P });
    expect(f.kms.stats.l1KeyCalls).toBe(l1 + 1);

    const g = await setup({ rootCheckMs: 0, cache: { maxUses: 3 } });
    const e2 = await g.kms.encrypt(bytes(10), enc('acme', 'y'));
    const base = g.kms.stats.l1KeyCalls;
    for (let i = 0; i < 10; i++) await g.kms.decrypt(e2, { principal: P });
    expect(g.kms.stats.l1KeyCalls).toBeGreaterThan(base);
  });

  it('policy: a principal without a grant is denied and the denial is audited', async () => {
    const f = await setup();
    expect(await codeOf(f.kms.encrypt(bytes(1), { ...enc('acme', 'x'), principal: 'mallory' }))).toBe(
      'kms.policy.denied',
    );
    await f.governance.grant({
      actor: 'ops',
      tenant: 'acme',
      service: 'media',
      principal: 'reader',
      operations: ['decrypt'],
    });
    const env = await f.kms.encrypt(bytes(5), enc('acme', 'x'));
    expect((await f.kms.decrypt(env, { principal: 'reader' })).length).toBe(5);
    expect(await codeOf(f.kms.encrypt(bytes(1), { ...enc('acme', 'x'), principal: 'reader' }))).toBe(
      'kms.policy.denied',
    );
    expect(
      await codeOf(f.kms.encrypt(bytes(1), { ...enc('acme', 'x', 'payments'), principal: 'reader' })),
    ).toBe('kms.policy.denied');
    await f.governance.revokeGrant({ actor: 'ops', tenant: 'acme', service: 'media', principal: 'reader' });
    expect(await codeOf(f.kms.decrypt(env, { principal: 'reader' }))).toBe('kms.policy.denied');
    const log = await f.entries();
    expect(
      log.filter((e) => e.action === 'kms.data.encrypt' && e.outcome === 'deny').map((e) => e.actor),
    ).toEqual(['mallory', 'reader', 'reader']);
    expect(log.some((e) => e.action === 'kms.grant.create' && e.actor === 'ops')).toBe(true);
    expect(log.some((e) => e.action === 'kms.root.unwrap' && e.outcome === 'success')).toBe(true);
    expect(log.some((e) => e.action === 'kms.data.decrypt' && e.outcome === 'allow')).toBe(true);
  });
});

describe('kill switch', () => {
  it('disabling L1 with warm caches: the next operations fail with kms.key.revoked, other tenants carry on', async () => {
    const f = await setup({ rootCheckMs: 0, policyRefreshMs: 60_000 });
    const a = await f.kms.encrypt(bytes(100), enc('acme', 'a'));
    const b = await f.kms.encrypt(bytes(100), enc('globex', 'b'));
    await f.kms.decrypt(a, { principal: P }); // warm
    await f.governance.disableRoot({ actor: 'acme-ciso', tenant: 'acme' });
    expect(await codeOf(f.kms.decrypt(a, { principal: P }))).toBe('kms.key.revoked');
    expect(await codeOf(f.kms.encrypt(bytes(1), enc('acme', 'new')))).toBe('kms.key.revoked');
    expect((await f.kms.decrypt(b, { principal: P })).length).toBe(100);
    expect((await f.kms.encrypt(bytes(1), enc('globex', 'new'))).length).toBeGreaterThan(0);
    await f.governance.enableRoot({ actor: 'acme-ciso', tenant: 'acme' });
    expect((await f.kms.decrypt(a, { principal: P })).length).toBe(100);
    const log = await f.entries();
    expect(
      log.some((e) => e.action === 'kms.root.disable' && e.actor === 'acme-ciso' && e.outcome === 'success'),
    ).toBe(true);
  });

  it('governance revocation refuses at once (caches purged) and reinstatement restores', async () => {
    const f = await setup({ rootCheckMs: 0, policyRefreshMs: 60_000 });
    const a = await f.kms.encrypt(bytes(100), enc('acme', 'a'));
    await f.kms.decrypt(a, { principal: P });
    await f.governance.revokeTenant({ actor: 'ops', tenant: 'acme', reason: 'contract ended' });
    expect(await codeOf(f.kms.decrypt(a, { principal: P }))).toBe('kms.key.revoked');
    expect(await codeOf(f.kms.encrypt(bytes(1), enc('acme', 'x')))).toBe('kms.key.revoked');
    expect((await f.kms.encrypt(bytes(1), enc('globex', 'x'))).length).toBeGreaterThan(0);
    await f.governance.reinstateTenant({ actor: 'ops', tenant: 'acme' });
    expect((await f.kms.decrypt(a, { principal: P })).length).toBe(100);
  });

  it('L1 disabled directly in the provider: detected at the next root check even with warm caches', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const f = await setup({ clock: () => new Date(now), rootCheckMs: 1000 });
    const a = await f.kms.encrypt(bytes(10), enc('acme', 'a'));
    const t = await f.keyStore.getTenant('acme');
    await f.rootKeys.disable(t?.rootKeyId as string);
    now += 1001;
    expect(await codeOf(f.kms.decrypt(a, { principal: P }))).toBe('kms.key.revoked');
    // Still refused afterwards (the caches were purged, L1 refuses the unwrap).
    expect(await codeOf(f.kms.decrypt(a, { principal: P }))).toBe('kms.key.revoked');
  });

  it('revocation by another process (shared store) is seen within policyRefreshMs', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const f = await setup({ clock: () => new Date(now), rootCheckMs: 0, policyRefreshMs: 500 });
    const { createKms } = await import('@omt/kms/kms');
    const other = createKms({ rootKeys: f.rootKeys, keyStore: f.keyStore });
    const a = await f.kms.encrypt(bytes(10), enc('acme', 'a'));
    await other.governance.revokeTenant({ actor: 'ops', tenant: 'acme' });
    now += 501;
    expect(await codeOf(f.kms.decrypt(a, { principal: P }))).toBe('kms.key.revoked');
  });
});

describe('rotation', () => {
  it('service rotation: new data under v2, old data still decrypts, rewrap moves L4 without touching frames, retire stops v1', async () => {
    const f = await setup();
    const old = await f.kms.encrypt(bytes(300), enc('acme', 'o'));
    await f.governance.rotateService({ actor: 'ops', tenant: 'acme', service: 'media' });
    const fresh = await f.kms.encrypt(bytes(300), enc('acme', 'n'));
    const { parseEnvelopeHeader } = await import('@omt/kms/envelope');
    expect(parseEnvelopeHeader(fresh).header.serviceKeyVersion).toBe(2);
    expect((await f.kms.decrypt(old, { principal: P })).length).toBe(300);
    const moved = await f.kms.rewrapEnvelope(old, { principal: P });
    expect(parseEnvelopeHeader(moved).header.serviceKeyVersion).toBe(2);
    const oldBody = old.subarray(parseEnvelopeHeader(old).headerBytes.length);
    const newBody = moved.subarray(parseEnvelopeHeader(moved).headerBytes.length);
    expect(Buffer.from(oldBody).equals(Buffer.from(newBody))).toBe(true);
    await f.governance.retireKey({ actor: 'ops', tenant: 'acme', service: 'media', version: 1 });
    expect(await codeOf(f.kms.decrypt(old, { principal: P }))).toBe('kms.key.retired');
    expect(Buffer.from(await f.kms.decrypt(moved, { principal: P })).equals(Buffer.from(bytes(300)))).toBe(
      true,
    );
    expect(
      await codeOf(f.governance.retireKey({ actor: 'ops', tenant: 'acme', service: 'media', version: 2 })),
    ).toBe('kms.key.in-use');
  });

  it('tenant rotation re-wraps every L3 under the new L2 (and a new L1); old objects still decrypt; old L2 retires', async () => {
    const f = await setup({ rootCheckMs: 0 });
    const objs = await Promise.all(
      ['media', 'payments'].map((s) => f.kms.encrypt(bytes(50), enc('acme', `o-${s}`, s))),
    );
    const newRoot = await f.rootKeys.createKey({ label: 'acme 2027' });
    const report = await f.governance.rotateTenant({
      actor: 'ops',
      tenant: 'acme',
      rootKeyId: newRoot.keyId,
    });
    expect(report.job.state).toBe('done');
    expect(report.rewrapped).toBe(2);
    const st = await f.governance.status('acme');
    expect(st.tenant.rootKeyId).toBe(newRoot.keyId);
    expect(st.tenantKeys.map((k) => [k.version, k.state, k.wrappedBy])).toEqual([
      [1, 'decrypt-only', expect.any(String)],
      [2, 'active', newRoot.keyId],
    ]);
    for (const s of ['media', 'payments']) expect(st.services[s]?.[0]?.wrappedBy).toBe('2');
    await f.governance.retireKey({ actor: 'ops', tenant: 'acme', service: '', version: 1 });
    // Even cold (fresh instance), old objects decrypt through L2 v2 only.
    const { createKms } = await import('@omt/kms/kms');
    const cold = createKms({ rootKeys: f.rootKeys, keyStore: f.keyStore, rootCheckMs: 0 });
    for (const o of objs) expect((await cold.kms.decrypt(o, { principal: P })).length).toBe(50);
    // The old root can now be destroyed without losing data.
    const oldRoot = st.tenantKeys[0]?.wrappedBy as string;
    await f.rootKeys.destroy(oldRoot);
    const colder = createKms({ rootKeys: f.rootKeys, keyStore: f.keyStore, rootCheckMs: 0 });
    for (const o of objs) expect((await colder.kms.decrypt(o, { principal: P })).length).toBe(50);
  });

  it('crash mid-rotation: the job resumes from its persisted cursor and every object still decrypts', async () => {
    const f = await setup({ rootCheckMs: 0 }, ['acme']);
    for (const s of ['alpha', 'beta', 'gamma', 'delta'])
      await f.governance.createService({ actor: 'ops', tenant: 'acme', service: s });
    const services = ['alpha', 'beta', 'delta', 'gamma', 'media', 'payments'];
    const envs = await Promise.all(services.map((s) => f.kms.encrypt(bytes(20), enc('acme', `o-${s}`, s))));
    // A store that "crashes" (throws) after 3 key updates.
    let budget = 3;
    const store = f.keyStore;
    const crashing = Object.fromEntries(
      Object.getOwnPropertyNames(MemoryKeyStore.prototype)
        .filter((k) => k !== 'constructor')
        .map((k) => [k, (store as unknown as Record<string, (...a: unknown[]) => unknown>)[k]?.bind(store)]),
    ) as unknown as MemoryKeyStore;
    crashing.updateKey = async (...args: Parameters<MemoryKeyStore['updateKey']>) => {
      if (args[1] !== '' && budget-- <= 0) throw new OmtError('adapters.sql.query-failed', 'simulated crash');
      return store.updateKey(...args);
    };
    const { createKms } = await import('@omt/kms/kms');
    const crashy = createKms({ rootKeys: f.rootKeys, keyStore: crashing, rootCheckMs: 0 });
    expect(
      await codeOf(crashy.governance.rotateTenant({ actor: 'ops', tenant: 'acme', jobId: 'job-1' })),
    ).toBe('adapters.sql.query-failed');
    const job = await store.getJob('job-1');
    expect(job?.state).toBe('running');
    expect(job?.cursor).toBe('delta'); // alpha, beta, delta done and recorded; gamma failed
    // Mid-rotation, everything decrypts (L3s under old or new L2).
    const mid = createKms({ rootKeys: f.rootKeys, keyStore: store, rootCheckMs: 0 });
    for (const e of envs) expect((await mid.kms.decrypt(e, { principal: P })).length).toBe(20);
    // Restart: resume finishes the rest.
    const report = await mid.governance.resumeRewrap({ actor: 'ops', jobId: 'job-1' });
    expect(report.job.state).toBe('done');
    expect(report.rewrapped).toBe(3);
    for (const s of services) expect((await store.listKeys('acme', s))[0]?.wrappedBy).toBe('2');
    const after = createKms({ rootKeys: f.rootKeys, keyStore: store, rootCheckMs: 0 });
    for (const e of envs) expect((await after.kms.decrypt(e, { principal: P })).length).toBe(20);
  });

  it('rotation concurrent with decrypts: no decrypt fails', async () => {
    const f = await setup({ rootCheckMs: 0 });
    const envs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => f.kms.encrypt(bytes(64, i), enc('acme', `c${i}`))),
    );
    const decrypts = (async () => {
      let ok = 0;
      for (let round = 0; round < 5; round++) {
        const r = await Promise.all(envs.map((e) => f.kms.decrypt(e, { principal: P })));
        ok += r.length;
      }
      return ok;
    })();
    const rotations = (async () => {
      await f.governance.rotateService({ actor: 'ops', tenant: 'acme', service: 'media' });
      await f.governance.rotateTenant({ actor: 'ops', tenant: 'acme' });
      await f.governance.rotateService({ actor: 'ops', tenant: 'acme', service: 'media' });
      await f.governance.rotateTenant({ actor: 'ops', tenant: 'acme' });
    })();
    const [ok] = await Promise.all([decrypts, rotations]);
    expect(ok).toBe(150);
    for (const e of envs) expect((await f.kms.decrypt(e, { principal: P })).length).toBe(64);
  });
});

describe('crypto-shredding', () => {
  it('destroying an L3 makes its data unrecoverable, recorded in the audit log', async () => {
    const f = await setup();
    const a = await f.kms.encrypt(bytes(10), enc('acme', 'a'));
    const p = await f.kms.encrypt(bytes(10), enc('acme', 'p', 'payments'));
    await f.kms.decrypt(a, { principal: P });
    const n = await f.governance.destroyServiceKey({ actor: 'dpo', tenant: 'acme', service: 'media' });
    expect(n).toBe(1);
    expect(await codeOf(f.kms.decrypt(a, { principal: P }))).toBe('kms.key.destroyed');
    expect((await f.keyStore.getKey('acme', 'media', 1))?.wrapped.length).toBe(0);
    expect((await f.kms.decrypt(p, { principal: P })).length).toBe(10);
    const log = await f.entries();
    expect(
      log.some((e) => e.action === 'kms.key.destroy' && e.actor === 'dpo' && e.outcome === 'success'),
    ).toBe(true);
  });

  it('shredding one object: its shreddable envelopes die, siblings live', async () => {
    const f = await setup();
    const a1 = await f.kms.encrypt(bytes(10), { ...enc('acme', 'user-42'), shreddable: true });
    const a2 = await f.kms.encrypt(bytes(10), { ...enc('acme', 'user-42'), shreddable: true });
    const b = await f.kms.encrypt(bytes(10), { ...enc('acme', 'user-43'), shreddable: true });
    expect((await f.kms.decrypt(a1, { principal: P })).length).toBe(10);
    expect(
      await f.governance.shredObject({ actor: 'dpo', tenant: 'acme', service: 'media', objectId: 'user-42' }),
    ).toBe(2);
    expect(await codeOf(f.kms.decrypt(a1, { principal: P }))).toBe('kms.object.shredded');
    expect(await codeOf(f.kms.decrypt(a2, { principal: P }))).toBe('kms.object.shredded');
    expect((await f.kms.decrypt(b, { principal: P })).length).toBe(10);
    const log = await f.entries();
    expect(log.find((e) => e.action === 'kms.object.shred')?.details).toEqual({ secretsDestroyed: 2 });
  });
});
