/**
 * Contract test suites for the ports of @omt/kms (ARCHITECTURE rule 2): every adapter runs the same
 * suite so all implementations behave alike. Importing this module needs vitest; production code
 * never imports it.
 */
import { isOmtError } from '@omt/core/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AeadEngine,
  KeyStore,
  ObjectSecretRecord,
  RewrapJob,
  RootKeyProvider,
  StoredKey,
  TenantRecord,
} from '../ports.js';

/** What a contract suite needs from an adapter: the implementation and an optional cleanup. */
export interface PortFixture<P> {
  readonly port: P;
  readonly close?: () => Promise<void>;
}

/** Options of {@link rootKeyProviderContract}. */
export interface RootKeyProviderContractOptions {
  /** The provider supports `destroy` (default true). */
  readonly destroy?: boolean;
}

function rnd(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

let counter = 0;
/** A name no earlier run used, so suites also run against persistent backends without cleanup. */
function fresh(label: string): string {
  counter++;
  return `c-${label}-${hex(rnd(5))}-${counter}`;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

const TEXT = new TextEncoder();

/**
 * The {@link RootKeyProvider} contract.
 *
 * @example
 * ```ts
 * import { rootKeyProviderContract } from '@omt/kms/testing';
 * rootKeyProviderContract('local key file', async () => {
 *   const provider = await openLocalRootKeyProvider({ path, passphrase });
 *   return { port: provider };
 * });
 * ```
 *
 * `make` is called once for the block; each test creates its own keys.
 */
export function rootKeyProviderContract(
  name: string,
  make: () => Promise<PortFixture<RootKeyProvider>>,
  options: RootKeyProviderContractOptions = {},
): void {
  describe(`RootKeyProvider contract: ${name}`, () => {
    let fixture: PortFixture<RootKeyProvider> | undefined;
    const p = (): RootKeyProvider => {
      if (fixture === undefined) throw new Error('provider fixture not ready');
      return fixture.port;
    };
    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close?.();
    });

    it('creates an enabled key that describe and listKeys report', async () => {
      const d = await p().createKey({ label: 'contract' });
      expect(d.state).toBe('enabled');
      expect(d.keyId).toMatch(/^[A-Za-z0-9._:/-]{1,256}$/);
      expect(d.version).toBeGreaterThanOrEqual(1);
      expect(d.algorithm.length).toBeGreaterThan(0);
      expect(d.provider).toBe(p().kind);
      expect(Number.isNaN(Date.parse(d.createdAt))).toBe(false);
      const again = await p().describe(d.keyId);
      expect(again.keyId).toBe(d.keyId);
      expect(again.state).toBe('enabled');
      expect((await p().listKeys()).map((k) => k.keyId)).toContain(d.keyId);
    });

    it('createKey with a chosen id uses it; the same id twice is a conflict', async () => {
      const id = fresh('chosen');
      const d = await p().createKey({ keyId: id });
      expect(d.keyId).toBe(id);
      expect(await codeOf(p().createKey({ keyId: id }))).toBe('kms.key.exists');
    });

    it('wrap/unwrap round-trips 16, 32 and 64-byte keys with the same aad; blobs are randomised', async () => {
      const { keyId } = await p().createKey();
      for (const len of [16, 32, 64]) {
        const key = rnd(len);
        const aad = TEXT.encode(`tenant=t1;len=${len}`);
        const a = await p().wrap(keyId, key, aad);
        const b = await p().wrap(keyId, key, aad);
        expect(a.length).toBeLessThanOrEqual(1024);
        expect(hex(a)).not.toBe(hex(b));
        expect(hex(a)).not.toContain(hex(key));
        expect(hex(await p().unwrap(keyId, a, aad))).toBe(hex(key));
        expect(hex(await p().unwrap(keyId, b, aad))).toBe(hex(key));
      }
      // Empty aad is allowed.
      const k = rnd(32);
      expect(
        hex(await p().unwrap(keyId, await p().wrap(keyId, k, new Uint8Array(0)), new Uint8Array(0))),
      ).toBe(hex(k));
    });

    it('unwrap fails with kms.unwrap.failed for another aad, another key, or a modified blob', async () => {
      const a = await p().createKey();
      const b = await p().createKey();
      const key = rnd(32);
      const aad = TEXT.encode('tenant=a');
      const blob = await p().wrap(a.keyId, key, aad);
      expect(await codeOf(p().unwrap(a.keyId, blob, TEXT.encode('tenant=b')))).toBe('kms.unwrap.failed');
      expect(await codeOf(p().unwrap(a.keyId, blob, new Uint8Array(0)))).toBe('kms.unwrap.failed');
      expect(await codeOf(p().unwrap(b.keyId, blob, aad))).toBe('kms.unwrap.failed');
      for (const i of [0, Math.floor(blob.length / 2), blob.length - 1]) {
        const bad = blob.slice();
        bad[i] = (bad[i] ?? 0) ^ 0x01;
        expect(await codeOf(p().unwrap(a.keyId, bad, aad))).toBe('kms.unwrap.failed');
      }
      expect(await codeOf(p().unwrap(a.keyId, blob.subarray(0, blob.length - 1), aad))).toBe(
        'kms.unwrap.failed',
      );
      expect(await codeOf(p().unwrap(a.keyId, new Uint8Array(0), aad))).toBe('kms.unwrap.failed');
    });

    it('an unknown key id is kms.key.not-found for every operation', async () => {
      const id = fresh('missing');
      expect(await codeOf(p().describe(id))).toBe('kms.key.not-found');
      expect(await codeOf(p().wrap(id, rnd(32), new Uint8Array(0)))).toBe('kms.key.not-found');
      expect(await codeOf(p().unwrap(id, rnd(60), new Uint8Array(0)))).toBe('kms.key.not-found');
      expect(await codeOf(p().disable(id))).toBe('kms.key.not-found');
      expect(await codeOf(p().enable(id))).toBe('kms.key.not-found');
    });

    it('bad input is kms.input.invalid', async () => {
      const { keyId } = await p().createKey();
      expect(await codeOf(p().wrap(keyId, rnd(15), new Uint8Array(0)))).toBe('kms.input.invalid');
      expect(await codeOf(p().wrap(keyId, rnd(65), new Uint8Array(0)))).toBe('kms.input.invalid');
      expect(await codeOf(p().wrap(keyId, rnd(32), rnd(4097)))).toBe('kms.input.invalid');
      expect(await codeOf(p().wrap(keyId, 'key' as unknown as Uint8Array, new Uint8Array(0)))).toBe(
        'kms.input.invalid',
      );
      expect(await codeOf(p().unwrap(keyId, null as unknown as Uint8Array, new Uint8Array(0)))).toBe(
        'kms.input.invalid',
      );
      expect(await codeOf(p().describe(''))).toBe('kms.input.invalid');
      expect(await codeOf(p().describe('bad id with spaces'))).toBe('kms.input.invalid');
    });

    it('disable is the kill switch: wrap and unwrap refuse with kms.key.revoked until enabled', async () => {
      const { keyId } = await p().createKey();
      const other = await p().createKey();
      const key = rnd(32);
      const aad = TEXT.encode('x');
      const blob = await p().wrap(keyId, key, aad);
      const otherBlob = await p().wrap(other.keyId, key, aad);
      await p().disable(keyId);
      await p().disable(keyId); // idempotent
      expect((await p().describe(keyId)).state).toBe('disabled');
      expect(await codeOf(p().unwrap(keyId, blob, aad))).toBe('kms.key.revoked');
      expect(await codeOf(p().wrap(keyId, key, aad))).toBe('kms.key.revoked');
      // Other keys are unaffected.
      expect(hex(await p().unwrap(other.keyId, otherBlob, aad))).toBe(hex(key));
      await p().enable(keyId);
      await p().enable(keyId); // idempotent
      expect((await p().describe(keyId)).state).toBe('enabled');
      expect(hex(await p().unwrap(keyId, blob, aad))).toBe(hex(key));
    });

    if (options.destroy !== false) {
      it('destroy is final: kms.key.destroyed for wrap, unwrap and enable', async () => {
        const { keyId } = await p().createKey();
        const aad = TEXT.encode('x');
        const blob = await p().wrap(keyId, rnd(32), aad);
        await p().destroy(keyId);
        const d = await codeOf(p().describe(keyId));
        if (d === undefined) expect((await p().describe(keyId)).state).toBe('destroyed');
        else expect(d).toBe('kms.key.not-found');
        expect(['kms.key.destroyed', 'kms.key.not-found']).toContain(
          await codeOf(p().unwrap(keyId, blob, aad)),
        );
        expect(['kms.key.destroyed', 'kms.key.not-found']).toContain(
          await codeOf(p().wrap(keyId, rnd(32), aad)),
        );
        expect(['kms.key.destroyed', 'kms.key.not-found']).toContain(await codeOf(p().enable(keyId)));
      });
    }

    it('concurrent wraps and unwraps all succeed', async () => {
      const { keyId } = await p().createKey();
      const keys = Array.from({ length: 16 }, () => rnd(32));
      const aad = TEXT.encode('concurrent');
      const blobs = await Promise.all(keys.map((k) => p().wrap(keyId, k, aad)));
      const back = await Promise.all(blobs.map((b) => p().unwrap(keyId, b, aad)));
      expect(back.map(hex)).toEqual(keys.map(hex));
    });
  });
}

// -------------------------------------------------------------------------------------------------
// KeyStore

const T0 = '2026-01-02T03:04:05.678Z';
const T1 = '2026-01-02T03:04:06.000Z';

function plain<T extends object>(r: T | undefined): unknown {
  if (r === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(r).map(([k, v]) => [
      k,
      v instanceof Uint8Array ? Array.from(v) : Array.isArray(v) ? [...v] : v,
    ]),
  );
}

function key(tenant: string, service: string, version: number, extra: Partial<StoredKey> = {}): StoredKey {
  return {
    tenant,
    service,
    level: service === '' ? 2 : 3,
    version,
    state: 'active',
    wrappedBy: service === '' ? 'root-1' : '1',
    wrapped: new Uint8Array([0, 255, version, 7, 0]),
    createdAt: T0,
    updatedAt: T0,
    ...extra,
  };
}

/**
 * The {@link KeyStore} contract.
 *
 * @example
 * ```ts
 * import { keyStoreContract } from '@omt/kms/testing';
 * keyStoreContract('sql (PGlite)', async () => {
 *   const omt = await createDatabase({ kind: 'pglite' }); await omt.migrate();
 *   return { port: new SqlKmsKeyStore(omt.db), close: () => omt.close() };
 * });
 * ```
 */
export function keyStoreContract(name: string, make: () => Promise<PortFixture<KeyStore>>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let fixture: PortFixture<KeyStore> | undefined;
    const s = (): KeyStore => {
      if (fixture === undefined) throw new Error('store fixture not ready');
      return fixture.port;
    };
    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close?.();
    });

    it('tenants: put, get, list, conflict on duplicates, compare-and-set update', async () => {
      const t = fresh('tenant');
      const rec: TenantRecord = {
        tenant: t,
        rootKeyId: 'root-1',
        state: 'enabled',
        createdAt: T0,
        updatedAt: T0,
      };
      expect(await s().getTenant(t)).toBeUndefined();
      await s().putTenant(rec);
      expect(plain(await s().getTenant(t))).toEqual(plain(rec));
      expect(await codeOf(s().putTenant(rec))).toBe('kms.store.conflict');
      expect((await s().listTenants()).map((x) => x.tenant)).toContain(t);
      const upd = await s().updateTenant(t, 'enabled', { state: 'revoked', updatedAt: T1 });
      expect(upd?.state).toBe('revoked');
      expect(upd?.updatedAt).toBe(T1);
      expect(upd?.rootKeyId).toBe('root-1');
      expect(await s().updateTenant(t, 'enabled', { state: 'revoked', updatedAt: T1 })).toBeUndefined();
      const moved = await s().updateTenant(t, 'revoked', { rootKeyId: 'root-2', updatedAt: T1 });
      expect(moved?.rootKeyId).toBe('root-2');
      expect(moved?.state).toBe('revoked');
      expect(await codeOf(s().updateTenant(fresh('none'), 'enabled', { updatedAt: T1 }))).toBe(
        'kms.key.not-found',
      );
    });

    it('keys: put, get, versions listed ascending, services listed, bytes exact', async () => {
      const t = fresh('keys');
      await s().putKey(key(t, '', 2, { state: 'active' }));
      await s().putKey(key(t, '', 1, { state: 'decrypt-only' }));
      await s().putKey(key(t, 'payments', 1));
      await s().putKey(key(t, 'media', 1));
      expect(plain(await s().getKey(t, '', 1))).toEqual(plain(key(t, '', 1, { state: 'decrypt-only' })));
      const got = await s().getKey(t, 'media', 1);
      expect(got?.wrapped.constructor).toBe(Uint8Array);
      expect(Array.from(got?.wrapped ?? [])).toEqual([0, 255, 1, 7, 0]);
      expect((await s().listKeys(t, '')).map((k) => k.version)).toEqual([1, 2]);
      expect(await s().listServices(t)).toEqual(['media', 'payments']);
      expect(await s().getKey(t, 'media', 9)).toBeUndefined();
      expect(await s().listKeys(fresh('none'), '')).toEqual([]);
      expect(await codeOf(s().putKey(key(t, 'media', 1)))).toBe('kms.store.conflict');
    });

    it('updateKey is compare-and-set on state and wrappedBy', async () => {
      const t = fresh('cas');
      await s().putKey(key(t, 'media', 1, { wrappedBy: '1' }));
      const rewrapped = await s().updateKey(
        t,
        'media',
        1,
        { state: 'active', wrappedBy: '1' },
        { wrappedBy: '2', wrapped: new Uint8Array([9, 9]), updatedAt: T1 },
      );
      expect(rewrapped?.wrappedBy).toBe('2');
      expect(Array.from(rewrapped?.wrapped ?? [])).toEqual([9, 9]);
      expect(rewrapped?.state).toBe('active');
      // Stale expectation: nothing changes.
      expect(
        await s().updateKey(
          t,
          'media',
          1,
          { state: 'active', wrappedBy: '1' },
          { state: 'retired', updatedAt: T1 },
        ),
      ).toBeUndefined();
      expect((await s().getKey(t, 'media', 1))?.state).toBe('active');
      const destroyed = await s().updateKey(
        t,
        'media',
        1,
        { state: 'active', wrappedBy: '2' },
        { state: 'destroyed', wrapped: new Uint8Array(0), updatedAt: T1 },
      );
      expect(destroyed?.state).toBe('destroyed');
      expect(destroyed?.wrapped.length).toBe(0);
      expect(
        await codeOf(s().updateKey(t, 'media', 7, { state: 'active', wrappedBy: '1' }, { updatedAt: T1 })),
      ).toBe('kms.key.not-found');
    });

    it('concurrent compare-and-set: exactly one writer wins', async () => {
      const t = fresh('race');
      await s().putKey(key(t, 'media', 1, { wrappedBy: '1' }));
      const results = await Promise.all(
        [2, 3, 4, 5].map((v) =>
          s().updateKey(
            t,
            'media',
            1,
            { state: 'active', wrappedBy: '1' },
            { wrappedBy: String(v), wrapped: new Uint8Array([v]), updatedAt: T1 },
          ),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      const stored = await s().getKey(t, 'media', 1);
      expect(stored?.wrappedBy).toBe(winners[0]?.wrappedBy);
      // Concurrent inserts of one version: exactly one succeeds.
      const inserts = await Promise.allSettled([1, 2, 3].map(() => s().putKey(key(t, 'media', 2))));
      expect(inserts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of inserts)
        if (r.status === 'rejected') expect(isOmtError(r.reason, 'kms.store.conflict')).toBe(true);
    });

    it('grants: put, list, replace is a conflict, delete', async () => {
      const t = fresh('grants');
      await s().putGrant({
        tenant: t,
        service: 'media',
        principal: 'alice',
        operations: ['encrypt', 'decrypt'],
        createdAt: T0,
      });
      await s().putGrant({
        tenant: t,
        service: '*',
        principal: 'bob',
        operations: ['decrypt'],
        createdAt: T0,
      });
      expect(
        await codeOf(
          s().putGrant({
            tenant: t,
            service: 'media',
            principal: 'alice',
            operations: ['decrypt'],
            createdAt: T0,
          }),
        ),
      ).toBe('kms.store.conflict');
      const grants = await s().listGrants(t);
      expect(grants.map((g) => `${g.service}/${g.principal}/${[...g.operations].join('+')}`).sort()).toEqual([
        '*/bob/decrypt',
        'media/alice/encrypt+decrypt',
      ]);
      expect(await s().deleteGrant(t, 'media', 'alice')).toBe(true);
      expect(await s().deleteGrant(t, 'media', 'alice')).toBe(false);
      expect((await s().listGrants(t)).map((g) => g.principal)).toEqual(['bob']);
    });

    it('object secrets: put, get, destroy erases the bytes of every version of the object', async () => {
      const t = fresh('objects');
      const mk = (objectId: string, ref: string): ObjectSecretRecord => ({
        tenant: t,
        service: 'media',
        objectId,
        ref,
        state: 'active',
        secret: rnd(32),
        createdAt: T0,
        updatedAt: T0,
      });
      const a1 = mk('obj-a', 'AAAAAAAAAAAAAAAAAAAAAA');
      const a2 = mk('obj-a', 'BBBBBBBBBBBBBBBBBBBBBB');
      const b = mk('obj-b', 'CCCCCCCCCCCCCCCCCCCCCC');
      for (const r of [a1, a2, b]) await s().putObjectSecret(r);
      expect(await codeOf(s().putObjectSecret(a1))).toBe('kms.store.conflict');
      expect(plain(await s().getObjectSecret(t, 'media', a1.ref))).toEqual(plain(a1));
      expect(await s().getObjectSecret(t, 'payments', a1.ref)).toBeUndefined();
      expect(await s().destroyObjectSecrets(t, 'media', 'obj-a', T1)).toBe(2);
      expect(await s().destroyObjectSecrets(t, 'media', 'obj-a', T1)).toBe(0);
      for (const r of [a1, a2]) {
        const got = await s().getObjectSecret(t, 'media', r.ref);
        expect(got?.state).toBe('destroyed');
        expect(got?.secret.length).toBe(0);
        expect(got?.updatedAt).toBe(T1);
      }
      expect(plain(await s().getObjectSecret(t, 'media', b.ref))).toEqual(plain(b));
    });

    it('rewrap jobs: put, get, list, cursor compare-and-set', async () => {
      const t = fresh('jobs');
      const job: RewrapJob = {
        id: fresh('job'),
        tenant: t,
        kind: 'tenant',
        fromVersion: 1,
        toVersion: 2,
        state: 'running',
        cursor: '',
        createdAt: T0,
        updatedAt: T0,
      };
      await s().putJob(job);
      expect(await codeOf(s().putJob(job))).toBe('kms.store.conflict');
      expect(plain(await s().getJob(job.id))).toEqual(plain(job));
      const step = await s().updateJob(job.id, '', { cursor: 'media', state: 'running', updatedAt: T1 });
      expect(step?.cursor).toBe('media');
      expect(
        await s().updateJob(job.id, '', { cursor: 'x', state: 'running', updatedAt: T1 }),
      ).toBeUndefined();
      const done = await s().updateJob(job.id, 'media', { cursor: 'payments', state: 'done', updatedAt: T1 });
      expect(done?.state).toBe('done');
      expect((await s().listJobs(t)).map((j) => j.id)).toEqual([job.id]);
      expect(await s().getJob(fresh('nojob'))).toBeUndefined();
    });

    it('bad input is kms.input.invalid', async () => {
      expect(await codeOf(s().getTenant(42 as unknown as string))).toBe('kms.input.invalid');
      expect(await codeOf(s().putKey({ ...key('t', 'm', 1), version: 0 }))).toBe('kms.input.invalid');
      expect(await codeOf(s().putKey({ ...key('t', 'm', 1), wrapped: 'x' as unknown as Uint8Array }))).toBe(
        'kms.input.invalid',
      );
      expect(await codeOf(s().putKey({ ...key('t', 'm', 1), state: 'nope' as 'active' }))).toBe(
        'kms.input.invalid',
      );
      expect(await codeOf(s().getKey('t', 'm', -1))).toBe('kms.input.invalid');
    });
  });
}

// -------------------------------------------------------------------------------------------------
// AeadEngine

/**
 * The {@link AeadEngine} contract: a NIST GCM vector and byte-for-byte agreement with the
 * WebCrypto engine, so envelopes made by one engine open with the other.
 *
 * @example
 * ```ts
 * aeadEngineContract('node:crypto', nodeAead);
 * ```
 */
export function aeadEngineContract(name: string, engine: AeadEngine): void {
  describe(`AeadEngine contract: ${name}`, () => {
    const fromHex = (h: string): Uint8Array =>
      new Uint8Array((h.match(/../g) ?? []).map((x) => Number.parseInt(x, 16)));

    it('AES-256-GCM: the NIST GCM test case 16 vector (McGrew–Viega)', async () => {
      const key = await engine.importKey(
        fromHex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
      );
      const iv = fromHex('cafebabefacedbaddecaf888');
      const pt = fromHex(
        'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
      );
      const aad = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
      const sealed = await engine.seal(key, iv, aad, pt);
      expect(hex(sealed)).toBe(
        '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
          '76fc6ece0f4e1768cddf8853bb2d551b',
      );
      expect(hex(await engine.open(key, iv, aad, sealed))).toBe(hex(pt));
      const bad = sealed.slice();
      bad[0] = (bad[0] as number) ^ 1;
      await expect(Promise.resolve().then(() => engine.open(key, iv, aad, bad))).rejects.toBeDefined();
      await expect(
        Promise.resolve().then(() => engine.open(key, iv, new Uint8Array(0), sealed)),
      ).rejects.toBeDefined();
    });

    it('HKDF-SHA-512 agrees with the WebCrypto engine', async () => {
      const { webCryptoAead } = await import('../aead-web.js');
      for (const n of [0, 1, 32, 100]) {
        const ikm = rnd(n + 1);
        const salt = rnd(n);
        const info = rnd(n % 7);
        expect(hex(engine.hkdfSha512(ikm, salt, info, 64))).toBe(
          hex(webCryptoAead.hkdfSha512(ikm, salt, info, 64)),
        );
      }
    });

    it('sha256 (when the engine has one) is SHA-256', async () => {
      if (engine.sha256 === undefined) return;
      const { sha256 } = await import('@omt/core/hash');
      expect(hex(engine.sha256(new TextEncoder().encode('abc')))).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      for (const n of [0, 1, 55, 56, 64, 200, 1000]) {
        const data = rnd(n);
        expect(hex(engine.sha256(data))).toBe(hex(sha256(data)));
      }
    });

    it('sealDetached/openDetached (when the engine has them) are seal/open with the tag apart', async () => {
      const { sealDetached, openDetached } = engine;
      if (sealDetached === undefined && openDetached === undefined) return;
      for (const n of [0, 1, 16, 1000, 65_536]) {
        const key = await engine.importKey(rnd(32));
        const iv = rnd(12);
        const aad = rnd(45);
        const pt = rnd(n);
        const sealed = await engine.seal(key, iv, aad, pt);
        const ct = sealed.subarray(0, n);
        const tag = sealed.subarray(n);
        if (sealDetached !== undefined) {
          const [c, t] = await sealDetached.call(engine, key, iv, aad, pt);
          expect(hex(c)).toBe(hex(ct));
          expect(hex(t)).toBe(hex(tag));
        }
        if (openDetached !== undefined) {
          expect(hex(await openDetached.call(engine, key, iv, aad, ct.slice(), tag.slice()))).toBe(hex(pt));
          const badTag = tag.slice();
          badTag[15] = (badTag[15] as number) ^ 0x80;
          await expect(
            Promise.resolve().then(() => openDetached.call(engine, key, iv, aad, ct, badTag)),
          ).rejects.toBeDefined();
          await expect(
            Promise.resolve().then(() => openDetached.call(engine, key, iv, aad, ct, tag.subarray(0, 15))),
          ).rejects.toBeDefined();
          if (n > 0) {
            const badCt = ct.slice();
            badCt[n - 1] = (badCt[n - 1] as number) ^ 1;
            await expect(
              Promise.resolve().then(() => openDetached.call(engine, key, iv, aad, badCt, tag)),
            ).rejects.toBeDefined();
          }
        }
      }
    });

    it('a KMS on this engine writes the pinned envelope bytes (record, framed stream, shreddable)', async () => {
      // Deterministic randomness and clock: the bytes are fixed by the format alone, so a change
      // of engine or a rewrite of the envelope code that alters them (old envelopes would no longer
      // open) fails here.
      const { createKms } = await import('../kms.js');
      const { MemoryKeyStore } = await import('../memory-key-store.js');
      const { MemoryRootKeyProvider } = await import('../memory-root-key-provider.js');
      const { sha256 } = await import('@omt/core/hash');
      let x = 7;
      const random = (n: number): Uint8Array => {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          out[i] = x >>> 24;
        }
        return out;
      };
      const clock = (): Date => new Date('2026-01-02T03:04:05.678Z');
      const { kms, governance } = createKms({
        rootKeys: new MemoryRootKeyProvider({ random, clock }),
        keyStore: new MemoryKeyStore(),
        random,
        clock,
        aead: engine,
      });
      await governance.createTenant({
        actor: 'ops',
        tenant: 'acme',
        services: ['media'],
        grants: [{ principal: 'app', service: '*', operations: ['encrypt', 'decrypt'] }],
      });
      const plain = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
      const o = {
        principal: 'app',
        tenant: 'acme',
        service: 'media',
        objectId: 'obj-1',
        context: { purpose: 'kat', b: 'x' },
      };
      const record = await kms.encrypt(plain, o);
      const parts: Uint8Array[] = [];
      for await (const c of kms.encryptStream([plain.subarray(0, 333), plain.subarray(333)], {
        ...o,
        frameSize: 100,
      }) as unknown as AsyncIterable<Uint8Array>) {
        parts.push(c);
      }
      const framed = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        framed.set(p, at);
        at += p.length;
      }
      const shreddable = await kms.encrypt(plain.subarray(0, 10), { ...o, shreddable: true });
      expect(hex(sha256(record))).toBe('0595d111701ad2bfb2a4215efaf2d76713a15b6704eb517fcb64e32885302f66');
      expect(hex(sha256(framed))).toBe('8e91789263cd2568fa549970a8fcb776a9c72b30e9b68255d1111e4a29cc1fc1');
      expect(hex(sha256(shreddable))).toBe(
        '2d4ec35d5addfc6603d877536e60678f5275c26078921bf7f0200ef102dc48bf',
      );
      expect(hex(await kms.decrypt(framed, { principal: 'app' }))).toBe(hex(plain));
      expect(hex(await kms.decrypt(shreddable, { principal: 'app' }))).toBe(hex(plain.subarray(0, 10)));
    });

    it('seal/open agree with the WebCrypto engine both ways, empty plaintexts included', async () => {
      const { webCryptoAead } = await import('../aead-web.js');
      for (const n of [0, 1, 16, 1000, 65_536]) {
        const raw = rnd(32);
        const a = await engine.importKey(raw.slice());
        const b = await webCryptoAead.importKey(raw.slice());
        const iv = rnd(12);
        const aad = rnd(45);
        const pt = rnd(n);
        const sa = await engine.seal(a, iv, aad, pt);
        const sb = await webCryptoAead.seal(b, iv, aad, pt);
        expect(hex(sa)).toBe(hex(sb));
        expect(hex(await engine.open(a, iv, aad, sb))).toBe(hex(pt));
      }
    });
  });
}
