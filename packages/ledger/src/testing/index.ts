/**
 * Contract test suites for the ports of @omt/ledger (ARCHITECTURE rule 2): every adapter runs the
 * same suite so all implementations behave alike. Importing this module needs vitest; production
 * code never imports it.
 *
 * Every suite works on a persistent, shared database (PostgreSQL in CI) without cleanup: signers
 * and nonces are random, and each UTXO test opens its own freshly named pool.
 */
import { toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { getSuite } from '@omt/core/suites';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signerRegistration } from '../key-registry.js';
import type {
  JobQueue,
  KeyRegistry,
  NonceStore,
  NonceUse,
  ReserveRequest,
  SignerKeyAlg,
  SignerRegistration,
  Utxo,
  UtxoStore,
} from '../ports.js';

/** What a contract suite needs from an adapter: the store and an optional cleanup. */
export interface StoreFixture<S> {
  readonly store: S;
  readonly close?: () => Promise<void>;
}

/** A UTXO store factory: `open(pool)` gives a store bound to that (fresh) pool name. */
export interface UtxoStoreFixture {
  open(pool: string): UtxoStore;
  readonly close?: () => Promise<void>;
}

function randomHex(n: number): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}

let counter = 0;
function freshName(label: string): string {
  counter++;
  return `contract.${label}.${randomHex(6)}.${counter}`;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

function fixtureHandle<S>(make: () => Promise<S>): () => S {
  let value: S | undefined;
  beforeAll(async () => {
    value = await make();
  });
  return () => {
    if (value === undefined) throw new Error('fixture not ready');
    return value;
  };
}

// ---------------------------------------------------------------------------------------------
// NonceStore

function nonceUse(signer: string, nonce: string, timestamp = new Date()): NonceUse {
  return { signer, nonce, hash: randomHex(32), timestamp };
}

/**
 * The {@link NonceStore} contract.
 * @example
 * ```ts
 * nonceStoreContract('memory', async () => ({ store: new MemoryNonceStore() }));
 * ```
 */
export function nonceStoreContract(name: string, makeStore: () => Promise<StoreFixture<NonceStore>>): void {
  describe(`NonceStore contract: ${name}`, () => {
    const fx = fixtureHandle(makeStore);
    const store = (): NonceStore => fx().store;
    afterAll(async () => {
      await fx().close?.();
    });

    it('a nonce is consumed once per signer; has() reports it without consuming', async () => {
      const signer = randomHex(32);
      const nonce = `n-${randomHex(8)}`;
      expect(await store().has(signer, nonce)).toBe(false);
      expect(await store().consume(nonceUse(signer, nonce))).toBe(true);
      expect(await store().has(signer, nonce)).toBe(true);
      expect(await store().consume(nonceUse(signer, nonce))).toBe(false);
      expect(await store().consume(nonceUse(signer, nonce))).toBe(false);
    });

    it('signers have separate nonce spaces; nonces are case-sensitive', async () => {
      const a = randomHex(32);
      const b = randomHex(32);
      const nonce = `Nonce${randomHex(6)}`;
      expect(await store().consume(nonceUse(a, nonce))).toBe(true);
      expect(await store().consume(nonceUse(b, nonce))).toBe(true);
      expect(await store().consume(nonceUse(a, nonce.toLowerCase()))).toBe(true);
      expect(await store().has(b, nonce.toLowerCase())).toBe(false);
    });

    it('16 concurrent consumes of one nonce: exactly one wins', async () => {
      for (let round = 0; round < 3; round++) {
        const signer = randomHex(32);
        const nonce = `race${randomHex(8)}`;
        const results = await Promise.all(
          Array.from({ length: 16 }, () => store().consume(nonceUse(signer, nonce))),
        );
        expect(results.filter((r) => r)).toHaveLength(1);
      }
    });

    it('prune forgets only uses older than the cutoff', async () => {
      const signer = randomHex(32);
      // Far in the past, so other tests' rows (dated now) are never pruned by this one.
      const base = Date.UTC(1971, 0, 1) + Math.floor(Math.random() * 1e9);
      await store().consume(nonceUse(signer, 'old-nonce-1', new Date(base)));
      await store().consume(nonceUse(signer, 'old-nonce-2', new Date(base + 1)));
      await store().consume(nonceUse(signer, 'kept-nonce', new Date(base + 1000)));
      const removed = await store().prune(new Date(base + 2));
      expect(removed).toBeGreaterThanOrEqual(2);
      expect(await store().has(signer, 'old-nonce-1')).toBe(false);
      expect(await store().has(signer, 'old-nonce-2')).toBe(false);
      expect(await store().has(signer, 'kept-nonce')).toBe(true);
      expect(await store().consume(nonceUse(signer, 'kept-nonce', new Date(base + 1000)))).toBe(false);
    });

    it('malformed uses → ledger.nonce.invalid, nothing consumed', async () => {
      const signer = randomHex(32);
      const bad: unknown[] = [
        { ...nonceUse(signer, 'short'), nonce: 'short' },
        { ...nonceUse(signer, 'x'.repeat(129)) },
        { ...nonceUse(signer, 'has space in it') },
        { ...nonceUse('not-a-key-id', 'valid-nonce') },
        { ...nonceUse(signer, 'valid-nonce'), hash: 'zz' },
        { ...nonceUse(signer, 'valid-nonce'), timestamp: new Date(Number.NaN) },
        { ...nonceUse(signer, 'valid-nonce'), extra: 1 },
        null,
      ];
      for (const b of bad) expect(await codeOf(store().consume(b as NonceUse))).toBe('ledger.nonce.invalid');
      expect(await store().has(signer, 'valid-nonce')).toBe(false);
      expect(await store().has(signer, 'short')).toBe(false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// KeyRegistry

async function freshRegistration(
  alg: SignerKeyAlg = 'ES256K',
  options: { validFrom?: Date; validUntil?: Date; label?: string } = {},
): Promise<SignerRegistration> {
  const kp = await getSuite(alg).generateKeyPair();
  return signerRegistration(alg, kp.publicKey, {
    validFrom: options.validFrom ?? new Date('2020-01-01T00:00:00.000Z'),
    ...(options.validUntil === undefined ? {} : { validUntil: options.validUntil }),
    ...(options.label === undefined ? {} : { label: options.label }),
  });
}

function plainKey(k: SignerRegistration & { status?: string }): unknown {
  return {
    keyId: k.keyId,
    alg: k.alg,
    publicKey: toHex(k.publicKey),
    validFrom: k.validFrom.toISOString(),
    validUntil: k.validUntil?.toISOString(),
    label: k.label,
    status: k.status,
  };
}

/**
 * The {@link KeyRegistry} contract.
 * @example
 * ```ts
 * keyRegistryContract('memory', async () => ({ store: new MemoryKeyRegistry() }));
 * ```
 */
export function keyRegistryContract(name: string, makeStore: () => Promise<StoreFixture<KeyRegistry>>): void {
  describe(`KeyRegistry contract: ${name}`, () => {
    const fx = fixtureHandle(makeStore);
    const registry = (): KeyRegistry => fx().store;
    afterAll(async () => {
      await fx().close?.();
    });
    const now = new Date('2026-01-02T03:04:05.678Z');

    it('register → lookup round-trips every field; the key starts active', async () => {
      for (const alg of ['ES256K', 'ML-DSA-65', 'ML-DSA-65+ES256', 'Ed25519'] as const) {
        const reg = await freshRegistration(alg, {
          validUntil: new Date('2030-01-01T00:00:00.000Z'),
          label: `newsroom é ${alg}`,
        });
        const stored = await registry().register(reg, now);
        expect(plainKey(stored)).toEqual(plainKey({ ...reg, status: 'active' }));
        expect(stored.registeredAt.toISOString()).toBe(now.toISOString());
        const got = await registry().lookup(reg.keyId);
        expect(got && plainKey(got)).toEqual(plainKey({ ...reg, status: 'active' }));
        expect(got?.publicKey).toBeInstanceOf(Uint8Array);
        expect(got?.revokedAt).toBeUndefined();
      }
    });

    it('an unknown key looks up as undefined', async () => {
      expect(await registry().lookup(randomHex(32))).toBeUndefined();
    });

    it('registering the same key again is idempotent; a different registration conflicts', async () => {
      const reg = await freshRegistration('ES256K', { label: 'a' });
      await registry().register(reg, now);
      const again = await registry().register(reg, new Date(now.getTime() + 5000));
      expect(again.registeredAt.toISOString()).toBe(now.toISOString());
      expect(await codeOf(registry().register({ ...reg, label: 'b' }, now))).toBe('ledger.signer.conflict');
      expect(
        await codeOf(registry().register({ ...reg, validFrom: new Date('2021-01-01T00:00:00.000Z') }, now)),
      ).toBe('ledger.signer.conflict');
      expect((await registry().lookup(reg.keyId))?.label).toBe('a');
    });

    it('revoke: status, time and reason are kept; revocation is final', async () => {
      const reg = await freshRegistration();
      await registry().register(reg, now);
      const at = new Date(now.getTime() + 60_000);
      const revoked = await registry().revoke(reg.keyId, at, 'key leaked');
      expect(revoked.status).toBe('revoked');
      expect(revoked.revokedAt?.toISOString()).toBe(at.toISOString());
      expect(revoked.revocationReason).toBe('key leaked');
      const again = await registry().revoke(reg.keyId, new Date(at.getTime() + 1), 'other');
      expect(again.revokedAt?.toISOString()).toBe(at.toISOString());
      expect(again.revocationReason).toBe('key leaked');
      const got = await registry().lookup(reg.keyId);
      expect(got?.status).toBe('revoked');
      expect(await codeOf(registry().register(reg, now))).toBe('ledger.signer.revoked');
    });

    it('revoking an unknown key → ledger.signer.unknown', async () => {
      expect(await codeOf(registry().revoke(randomHex(32), now))).toBe('ledger.signer.unknown');
    });

    it('malformed registrations → ledger.signer.invalid / key-malformed, nothing stored', async () => {
      const reg = await freshRegistration();
      const other = await freshRegistration();
      const cases: [unknown, string][] = [
        [{ ...reg, keyId: other.keyId }, 'ledger.signer.invalid'],
        [{ ...reg, keyId: reg.keyId.toUpperCase() }, 'ledger.signer.invalid'],
        [{ ...reg, alg: 'RS256' }, 'ledger.signer.invalid'],
        [{ ...reg, publicKey: new Uint8Array(33) }, 'ledger.signer.key-malformed'],
        [{ ...reg, alg: 'ML-DSA-65' }, 'ledger.signer.key-malformed'],
        [{ ...reg, validUntil: reg.validFrom }, 'ledger.signer.invalid'],
        [{ ...reg, label: 'tab\there' }, 'ledger.signer.invalid'],
        [{ ...reg, validFrom: 'yesterday' }, 'ledger.signer.invalid'],
        [null, 'ledger.signer.invalid'],
      ];
      for (const [input, code] of cases)
        expect(await codeOf(registry().register(input as SignerRegistration, now))).toBe(code);
      expect(await registry().lookup(reg.keyId)).toBeUndefined();
      expect(await codeOf(registry().revoke('nope', now))).toBe('ledger.signer.invalid');
    });

    it('concurrent identical registrations all succeed with one stored key', async () => {
      const reg = await freshRegistration();
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => registry().register(reg, now)),
      );
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      expect((await registry().list()).filter((k) => k.keyId === reg.keyId)).toHaveLength(1);
    });

    it('concurrent different registrations of one keyId: exactly one wins', async () => {
      const reg = await freshRegistration();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => registry().register({ ...reg, label: `l${i}` }, now)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(isOmtError(r.reason, 'ledger.signer.conflict')).toBe(true);
    });

    it('list is ordered by keyId and includes what was registered', async () => {
      const a = await freshRegistration();
      const b = await freshRegistration();
      await registry().register(a, now);
      await registry().register(b, now);
      const ids = (await registry().list()).map((k) => k.keyId);
      expect(ids).toContain(a.keyId);
      expect(ids).toContain(b.keyId);
      expect([...ids].sort()).toEqual(ids);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// UtxoStore

function utxo(satoshis: bigint, vout = 0, txid = randomHex(32)): Utxo {
  return { txid, vout, satoshis, script: Uint8Array.of(0x76, 0xa9, 0x14, ...new Uint8Array(20), 0x88, 0xac) };
}

const T0 = new Date('2026-01-02T03:04:05.000Z');

function request(id: string, satoshis: bigint, over: Partial<ReserveRequest> = {}): ReserveRequest {
  return { id, worker: 'worker-1', satoshis, maxInputs: 8, now: T0, ttlMs: 60_000, ...over };
}

function keysOf(us: readonly Utxo[]): string[] {
  return us.map((u) => `${u.txid}:${u.vout}`).sort();
}

/**
 * The {@link UtxoStore} contract: reservation is atomic across concurrent callers, a lapsed
 * reservation's outputs come back after the TTL, and no output is ever spent twice.
 * @example
 * ```ts
 * utxoStoreContract('memory', async () => ({ open: () => new MemoryUtxoStore() }));
 * ```
 */
export function utxoStoreContract(name: string, makeFixture: () => Promise<UtxoStoreFixture>): void {
  describe(`UtxoStore contract: ${name}`, () => {
    const fx = fixtureHandle(makeFixture);
    const open = (): UtxoStore => fx().open(freshName('utxo'));
    afterAll(async () => {
      await fx().close?.();
    });

    it('add is idempotent per outpoint; list round-trips every field in (txid, vout) order', async () => {
      const s = open();
      const txid = randomHex(32);
      const a: Utxo = { ...utxo(1000n, 1, txid), keyPath: "m/44'/236'/0'/1/3" };
      const b = utxo(2_100_000_000_000_000n, 0, txid);
      const c: Utxo = { ...utxo(0n, 7), script: new Uint8Array(0) };
      expect(await s.add([a, b])).toBe(2);
      expect(await s.add([a, b, c])).toBe(1);
      const listed = await s.list();
      const expected = [a, b, c].sort((x, y) =>
        x.txid === y.txid ? x.vout - y.vout : x.txid < y.txid ? -1 : 1,
      );
      expect(listed.map((u) => [u.txid, u.vout, u.satoshis, toHex(u.script), u.keyPath, u.state])).toEqual(
        expected.map((u) => [u.txid, u.vout, u.satoshis, toHex(u.script), u.keyPath, 'available']),
      );
      expect(typeof listed[0]?.satoshis).toBe('bigint');
      expect(listed[0]?.script).toBeInstanceOf(Uint8Array);
    });

    it('reserve takes the smallest single output that covers the amount', async () => {
      const s = open();
      await s.add([utxo(500n), utxo(5000n), utxo(2000n), utxo(100_000n)]);
      const r = await s.reserve(request('r1', 1500n));
      expect(r?.utxos.map((u) => u.satoshis)).toEqual([2000n]);
      expect(r?.total).toBe(2000n);
      expect(r?.expiresAt.getTime()).toBe(T0.getTime() + 60_000);
      expect(r?.worker).toBe('worker-1');
      const reserved = await s.list({ state: 'reserved' });
      expect(reserved.map((u) => [u.satoshis, u.reservationId, u.reservedBy])).toEqual([
        [2000n, 'r1', 'worker-1'],
      ]);
      expect(reserved[0]?.reservedUntil?.getTime()).toBe(T0.getTime() + 60_000);
    });

    it('otherwise the largest outputs first, within maxInputs; else undefined and nothing held', async () => {
      const s = open();
      await s.add([utxo(100n), utxo(300n), utxo(200n), utxo(400n)]);
      const r = await s.reserve(request('multi', 650n));
      expect(r?.utxos.map((u) => u.satoshis)).toEqual([400n, 300n]);
      expect(await s.reserve(request('too-much', 301n, { maxInputs: 1 }))).toBeUndefined();
      expect(await s.reserve(request('too-much-2', 10_000n))).toBeUndefined();
      expect((await s.list({ state: 'reserved' })).map((u) => u.satoshis).sort()).toEqual([300n, 400n]);
      const rest = await s.reserve(request('rest', 300n));
      expect(rest?.utxos.map((u) => u.satoshis)).toEqual([200n, 100n]);
    });

    it('a reserved output is not reserved again until released', async () => {
      const s = open();
      await s.add([utxo(1000n)]);
      const a = await s.reserve(request('a', 10n));
      expect(a).toBeDefined();
      expect(await s.reserve(request('b', 10n))).toBeUndefined();
      await s.release('a');
      await s.release('a');
      await s.release('never-granted');
      const c = await s.reserve(request('c', 10n));
      expect(keysOf(c?.utxos ?? [])).toEqual(keysOf(a?.utxos ?? []));
    });

    it('a reservation id is never reused', async () => {
      const s = open();
      await s.add([utxo(1000n), utxo(1000n)]);
      await s.reserve(request('same', 10n));
      expect(await codeOf(s.reserve(request('same', 10n)))).toBe('ledger.utxo.reservation-conflict');
      await s.release('same');
      expect(await codeOf(s.reserve(request('same', 10n)))).toBe('ledger.utxo.reservation-conflict');
    });

    it('an expired reservation returns after the TTL (also without expire()); the old holder cannot spend it', async () => {
      const s = open();
      await s.add([utxo(1000n)]);
      const dead = await s.reserve(request('dead-worker', 10n, { ttlMs: 30_000 }));
      expect(dead).toBeDefined();
      expect(
        await s.reserve(request('early', 10n, { now: new Date(T0.getTime() + 29_999) })),
      ).toBeUndefined();
      const late = await s.reserve(
        request('late', 10n, { now: new Date(T0.getTime() + 30_000), worker: 'w2' }),
      );
      expect(keysOf(late?.utxos ?? [])).toEqual(keysOf(dead?.utxos ?? []));
      expect(await codeOf(s.markSpent('dead-worker', randomHex(32)))).toBe('ledger.utxo.reservation-unknown');
      await s.markSpent('late', randomHex(32));
      expect(await s.list({ state: 'spent' })).toHaveLength(1);
    });

    it('expire(now) frees lapsed reservations only and counts the outputs', async () => {
      const s = open();
      await s.add([utxo(1000n), utxo(1000n), utxo(5000n)]);
      await s.reserve(request('short', 2000n, { ttlMs: 1000 }));
      await s.reserve(request('long', 10n, { ttlMs: 100_000 }));
      expect(await s.expire(new Date(T0.getTime() + 999))).toBe(0);
      expect(await s.expire(new Date(T0.getTime() + 1000))).toBe(1);
      expect((await s.list({ state: 'reserved' })).map((u) => u.reservationId)).toEqual(['long']);
      expect(await codeOf(s.markSpent('short', randomHex(32)))).toBe('ledger.utxo.reservation-unknown');
    });

    it('a lapsed reservation nobody took may still be marked spent', async () => {
      const s = open();
      await s.add([utxo(1000n)]);
      await s.reserve(request('slow', 10n, { ttlMs: 10 }));
      const txid = randomHex(32);
      await s.markSpent('slow', txid);
      const spent = await s.list({ state: 'spent' });
      expect(spent.map((u) => u.spentBy)).toEqual([txid]);
      expect(spent[0]?.reservationId).toBeUndefined();
    });

    it('markSpent is all-or-nothing: a lapsed multi-input reservation partly re-reserved cannot be spent', async () => {
      const s = open();
      await s.add([utxo(600n), utxo(500n)]);
      const r = await s.reserve(request('pair', 1000n, { ttlMs: 10 }));
      expect(r?.utxos).toHaveLength(2);
      const thief = await s.reserve(request('thief', 550n, { now: new Date(T0.getTime() + 10) }));
      expect(thief?.utxos.map((u) => u.satoshis)).toEqual([600n]);
      expect(await codeOf(s.markSpent('pair', randomHex(32)))).toBe('ledger.utxo.reservation-unknown');
      expect(await s.list({ state: 'spent' })).toEqual([]);
    });

    it('a spent output is never reserved or spent again', async () => {
      const s = open();
      const only = utxo(1000n);
      await s.add([only]);
      await s.reserve(request('r', 10n));
      const txid = randomHex(32);
      await s.markSpent('r', txid);
      expect(await codeOf(s.markSpent('r', randomHex(32)))).toBe('ledger.utxo.reservation-unknown');
      await s.release('r');
      expect(await s.reserve(request('r2', 10n, { now: new Date(T0.getTime() + 1e9) }))).toBeUndefined();
      expect(await s.expire(new Date(T0.getTime() + 1e9))).toBe(0);
      expect(await s.add([only])).toBe(0);
      expect((await s.list()).map((u) => [u.state, u.spentBy])).toEqual([['spent', txid]]);
    });

    it('concurrent reservations never share an output', async () => {
      const s = open();
      await s.add(Array.from({ length: 10 }, (_, i) => utxo(1000n + BigInt(i))));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.reserve(request(`c${i}`, 500n, { worker: `w${i % 4}` }))),
      );
      const granted = results.filter((r) => r !== undefined);
      expect(granted).toHaveLength(10);
      const all = granted.flatMap((r) => keysOf(r.utxos));
      expect(new Set(all).size).toBe(all.length);
      const spends = await Promise.allSettled(granted.map((r) => s.markSpent(r.id, randomHex(32))));
      expect(spends.every((p) => p.status === 'fulfilled')).toBe(true);
      expect(await s.list({ state: 'spent' })).toHaveLength(10);
    });

    it('pools sharing a backend are isolated', async () => {
      const a = open();
      const b = open();
      await a.add([utxo(1000n)]);
      expect(await b.reserve(request('x', 10n))).toBeUndefined();
      expect(await b.list()).toEqual([]);
      expect(await a.reserve(request('x', 10n))).toBeDefined();
      expect(await b.reserve(request('x', 10n))).toBeUndefined();
    });

    it('malformed input → ledger.utxo.invalid, nothing stored or held', async () => {
      const s = open();
      const good = utxo(1000n);
      const bad: unknown[] = [
        [{ ...good, txid: good.txid.toUpperCase() }],
        [{ ...good, vout: -1 }],
        [{ ...good, satoshis: 1000 }],
        [{ ...good, satoshis: -1n }],
        [{ ...good, keyPath: '../etc' }],
        [good, good],
        'nope',
      ];
      for (const b of bad) expect(await codeOf(s.add(b as Utxo[]))).toBe('ledger.utxo.invalid');
      expect(await s.list()).toEqual([]);
      await s.add([good]);
      const badReq: unknown[] = [
        request('', 10n),
        request('ok', 0n),
        request('ok', 10n, { maxInputs: 0 }),
        request('ok', 10n, { ttlMs: 0 }),
        request('ok', 10n, { now: new Date(Number.NaN) }),
        { ...request('ok', 10n), extra: true },
      ];
      for (const r of badReq)
        expect(await codeOf(s.reserve(r as ReserveRequest))).toBe('ledger.utxo.invalid');
      expect(await codeOf(s.markSpent('ok', 'not-a-txid'))).toBe('ledger.utxo.invalid');
      expect(await s.list({ state: 'reserved' })).toEqual([]);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// JobQueue

const RETRY = { baseMs: 1000, maxMs: 8000 } as const;

function newJob(
  now: Date,
  extra: Partial<{ recordId: string; maxAttempts: number }> = {},
): {
  id: string;
  recordId: string;
  recordHash: string;
  keyId: string;
  intent: string;
  maxAttempts: number;
  now: Date;
} {
  const hash = randomHex(32);
  return {
    id: `job-${randomHex(12)}`,
    recordId: extra.recordId ?? `rid-${randomHex(6)}`,
    recordHash: hash,
    keyId: randomHex(32),
    intent: JSON.stringify({ record: { hash } }),
    maxAttempts: extra.maxAttempts ?? 3,
    now,
  };
}

function inclusionFor(recordHash: string, index: number, size: number, root: string) {
  return { recordHash, index, size, root, proof: size > 1 ? [randomHex(32)] : [] };
}

/**
 * A JobQueue factory. `open()` may return the same queue every time: each test works at its own
 * instant, earlier than every instant before it, so jobs left by earlier tests are never due.
 */
export interface JobQueueFixture {
  open(): Promise<JobQueue>;
  readonly close?: () => Promise<void>;
}

/**
 * The {@link JobQueue} contract: leases, exactly-once claims under concurrency, backoff and
 * `failed`, batches signed all-or-nothing by the lease holder, recovery of stalled batches.
 * @example
 * ```ts
 * jobQueueContract('memory', async () => ({ open: async () => new MemoryJobQueue() }));
 * ```
 */
export function jobQueueContract(name: string, makeFixture: () => Promise<JobQueueFixture>): void {
  describe(`JobQueue contract: ${name}`, () => {
    const fx = fixtureHandle(makeFixture);
    afterAll(async () => {
      await fx().close?.();
    });
    // Each test starts 60 days before the previous one (see JobQueueFixture).
    let T = new Date(Date.UTC(2040, 0, 1));
    beforeEach(() => {
      T = new Date(T.getTime() - 60 * 86_400_000);
    });
    const plus = (ms: number): Date => new Date(T.getTime() + ms);

    async function signBatch(q: JobQueue, ids: string[], hashes: string[], worker: string, now: Date) {
      const root = randomHex(32);
      const batch = {
        id: `batch-${randomHex(8)}`,
        chain: 'bsv' as const,
        txid: randomHex(32),
        rawTx: '0100',
        vout: 0,
        reservationId: `res-${randomHex(6)}`,
        change: { vout: 1, keyPath: "m/44'/236'/0'/1/0" },
        root,
        size: ids.length,
        jobs: ids.map((id, i) => ({ id, inclusion: inclusionFor(hashes[i] as string, i, ids.length, root) })),
      };
      await q.markSigned(batch, worker, now, 30_000);
      return batch;
    }

    it('concurrent enqueues: each gets its own job; a repeated id in the same burst is ledger.job.conflict once', async () => {
      const q = await fx().open();
      const jobs = Array.from({ length: 40 }, () => newJob(T));
      const dup = jobs[7] as (typeof jobs)[number];
      const results = await Promise.allSettled([...jobs, dup].map((j) => q.enqueue(j)));
      const ok = results
        .filter((r) => r.status === 'fulfilled')
        .map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
      expect(ok.sort()).toEqual(jobs.map((j) => j.id).sort());
      const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(refused.map((r) => (r.reason as { code?: string }).code)).toEqual(['ledger.job.conflict']);
      for (const j of jobs) expect((await q.get(j.id))?.recordHash).toBe(j.recordHash);
    });

    it('enqueue → get round-trips; a job id is never reused; unknown ids → undefined', async () => {
      const q = await fx().open();
      const j = newJob(T);
      const got = await q.enqueue(j);
      expect([got.id, got.status, got.attempts, got.recordId, got.recordHash, got.intent]).toEqual([
        j.id,
        'queued',
        0,
        j.recordId,
        j.recordHash,
        j.intent,
      ]);
      expect((await q.get(j.id))?.nextAttemptAt.getTime()).toBe(T.getTime());
      expect(await codeOf(q.enqueue(j))).toBe('ledger.job.conflict');
      expect(await q.get('job-unknown')).toBeUndefined();
      expect(await codeOf(q.enqueue({ ...newJob(T), recordHash: 'zz' }))).toBe('ledger.job.invalid');
      expect(await codeOf(q.claim({ worker: 'w 1', limit: 1, now: T, leaseMs: 1 }))).toBe(
        'ledger.job.invalid',
      );
    });

    it('claim takes the oldest due jobs, up to the limit, leased and counted as an attempt', async () => {
      const q = await fx().open();
      const jobs = [newJob(T), newJob(T), newJob(T)];
      for (const j of jobs) await q.enqueue(j);
      const a = await q.claim({ worker: 'w1', limit: 2, now: T, leaseMs: 10_000 });
      expect(a.map((j) => j.id)).toEqual([jobs[0]?.id, jobs[1]?.id]);
      expect(a.map((j) => [j.attempts, j.leaseOwner, j.leaseUntil?.getTime()])).toEqual([
        [1, 'w1', T.getTime() + 10_000],
        [1, 'w1', T.getTime() + 10_000],
      ]);
      const b = await q.claim({ worker: 'w2', limit: 10, now: plus(1), leaseMs: 10_000 });
      expect(b.map((j) => j.id)).toEqual([jobs[2]?.id]);
      expect(await q.claim({ worker: 'w3', limit: 10, now: plus(9_999), leaseMs: 10_000 })).toEqual([]);
      // The lease lapses (worker died): the job is claimed again, attempt 2.
      const c = await q.claim({ worker: 'w3', limit: 10, now: plus(10_000), leaseMs: 10_000 });
      expect(c.map((j) => [j.id, j.attempts, j.leaseOwner])).toEqual([
        [jobs[0]?.id, 2, 'w3'],
        [jobs[1]?.id, 2, 'w3'],
      ]);
    });

    it('16 concurrent claimers never get the same job', async () => {
      const q = await fx().open();
      const ids = new Set<string>();
      for (let i = 0; i < 60; i++) ids.add((await q.enqueue(newJob(T))).id);
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, w) => q.claim({ worker: `w${w}`, limit: 5, now: T, leaseMs: 60_000 })),
      );
      const claimed = results.flat().map((j) => j.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      for (const id of claimed) expect(ids.has(id)).toBe(true);
      const rest = await q.claim({ worker: 'late', limit: 100, now: T, leaseMs: 60_000 });
      expect(claimed.length + rest.length).toBe(60);
    });

    it('release backs off exponentially, then fails the job after maxAttempts', async () => {
      const q = await fx().open();
      const j = newJob(T, { maxAttempts: 3 });
      await q.enqueue(j);
      await q.claim({ worker: 'w', limit: 1, now: T, leaseMs: 1000 });
      await q.release([j.id], 'w', 'boom 1', T, RETRY);
      let got = await q.get(j.id);
      expect([got?.status, got?.attempts, got?.lastError, got?.nextAttemptAt.getTime()]).toEqual([
        'queued',
        1,
        'boom 1',
        T.getTime() + 1000,
      ]);
      expect(await q.claim({ worker: 'w', limit: 1, now: plus(999), leaseMs: 1000 })).toEqual([]);
      expect(await q.claim({ worker: 'w', limit: 1, now: plus(1000), leaseMs: 1000 })).toHaveLength(1);
      await q.release([j.id], 'w', 'boom 2', plus(1000), RETRY);
      expect((await q.get(j.id))?.nextAttemptAt.getTime()).toBe(T.getTime() + 1000 + 2000);
      // Another worker's release does nothing.
      await q.claim({ worker: 'w', limit: 1, now: plus(3000), leaseMs: 1000 });
      await q.release([j.id], 'someone-else', 'nope', plus(3000), RETRY);
      expect((await q.get(j.id))?.leaseOwner).toBe('w');
      await q.release([j.id], 'w', 'boom 3', plus(3000), RETRY);
      got = await q.get(j.id);
      expect([got?.status, got?.attempts, got?.lastError]).toEqual(['failed', 3, 'boom 3']);
      expect(await q.claim({ worker: 'w', limit: 1, now: plus(1e9), leaseMs: 1000 })).toEqual([]);
      expect((await q.counts()).failed).toBeGreaterThanOrEqual(1);
    });

    it('markSigned moves the whole batch only while the worker holds every lease', async () => {
      const q = await fx().open();
      const jobs = [newJob(T), newJob(T), newJob(T)];
      for (const j of jobs) await q.enqueue(j);
      const ids = jobs.map((j) => j.id);
      const hashes = jobs.map((j) => j.recordHash);
      await q.claim({ worker: 'w1', limit: 3, now: T, leaseMs: 1000 });
      // Lapsed leases: another worker took the jobs; w1 must not sign them.
      await q.claim({ worker: 'w2', limit: 3, now: plus(1000), leaseMs: 1000 });
      expect(await codeOf(signBatch(q, ids, hashes, 'w1', plus(1001)))).toBe('ledger.job.lease-lost');
      for (const id of ids) expect((await q.get(id))?.status).toBe('queued');
      const batch = await signBatch(q, ids, hashes, 'w2', plus(1001));
      const got = await q.get(ids[1] as string);
      expect(got?.status).toBe('signed');
      expect(got?.inclusion).toEqual(batch.jobs[1]?.inclusion);
      expect([
        got?.batch?.id,
        got?.batch?.txid,
        got?.batch?.status,
        got?.batch?.rawTx,
        got?.batch?.root,
      ]).toEqual([batch.id, batch.txid, 'signed', '0100', batch.root]);
      expect(got?.batch?.change).toEqual({ vout: 1, keyPath: "m/44'/236'/0'/1/0" });
      expect(await q.claim({ worker: 'w3', limit: 10, now: plus(1e6), leaseMs: 1000 })).toEqual([]);
      // A batch id is never reused.
      expect(await codeOf(q.markSigned({ ...batch, jobs: batch.jobs }, 'w2', plus(1002), 1000))).toBe(
        'ledger.job.conflict',
      );
    });

    it('a signed batch whose lease lapsed is claimed for recovery; updates move forward only', async () => {
      const q = await fx().open();
      const j = newJob(T);
      await q.enqueue(j);
      await q.claim({ worker: 'w1', limit: 1, now: T, leaseMs: 60_000 });
      const batch = await signBatch(q, [j.id], [j.recordHash], 'w1', T);
      expect(await q.claimBatches({ worker: 'w2', limit: 10, now: plus(29_999), leaseMs: 1000 })).toEqual([]);
      const taken = await q.claimBatches({ worker: 'w2', limit: 10, now: plus(30_000), leaseMs: 1000 });
      expect(taken.map((b) => b.id)).toEqual([batch.id]);
      expect(await q.claimBatches({ worker: 'w3', limit: 10, now: plus(30_001), leaseMs: 1000 })).toEqual([]);
      await q.retryBatch(batch.id, 'unreachable', plus(30_000), RETRY);
      expect(await q.claimBatches({ worker: 'w3', limit: 10, now: plus(30_999), leaseMs: 1000 })).toEqual([]);
      const again = await q.claimBatches({ worker: 'w3', limit: 10, now: plus(31_000), leaseMs: 1000 });
      expect(again.map((b) => [b.id, b.attempts, b.lastError])).toEqual([[batch.id, 1, 'unreachable']]);
      await q.updateBatch(batch.id, { status: 'stored' }, plus(31_001));
      expect((await q.get(j.id))?.status).toBe('signed');
      expect((await q.listBatches({ status: 'stored', limit: 1000 })).map((b) => b.id)).toContain(batch.id);
      await q.updateBatch(batch.id, { status: 'sent' }, plus(31_002));
      expect((await q.get(j.id))?.status).toBe('sent');
      expect(await codeOf(q.updateBatch(batch.id, { status: 'stored' }, plus(31_003)))).toBe(
        'ledger.job.state',
      );
      expect(await codeOf(q.updateBatch(batch.id, { status: 'confirmed' }, plus(31_003)))).toBe(
        'ledger.job.invalid',
      );
      await q.updateBatch(
        batch.id,
        { status: 'confirmed', block: { height: 850_000, bump: 'fe00' } },
        plus(31_004),
      );
      const got = await q.get(j.id);
      expect([got?.status, got?.batch?.status, got?.batch?.block]).toEqual([
        'confirmed',
        'confirmed',
        { height: 850_000, bump: 'fe00' },
      ]);
      expect(await codeOf(q.abandonBatch(batch.id, 'x', plus(31_005), RETRY))).toBe('ledger.job.state');
      expect(await codeOf(q.updateBatch('batch-unknown', { status: 'sent' }, T))).toBe('ledger.job.unknown');
    });

    it('abandonBatch returns its jobs to the queue (with backoff) and keeps the batch for the record', async () => {
      const q = await fx().open();
      const jobs = [newJob(T), newJob(T)];
      for (const j of jobs) await q.enqueue(j);
      await q.claim({ worker: 'w1', limit: 2, now: T, leaseMs: 60_000 });
      const batch = await signBatch(
        q,
        jobs.map((j) => j.id),
        jobs.map((j) => j.recordHash),
        'w1',
        T,
      );
      await q.abandonBatch(batch.id, 'ledger.utxo.reservation-unknown', plus(5), RETRY);
      await q.abandonBatch(batch.id, 'again', plus(6), RETRY);
      const got = await q.get(jobs[0]?.id as string);
      expect([got?.status, got?.batch, got?.inclusion, got?.lastError, got?.nextAttemptAt.getTime()]).toEqual(
        ['queued', undefined, undefined, 'ledger.utxo.reservation-unknown', T.getTime() + 5 + 1000],
      );
      expect((await q.listBatches({ status: 'abandoned', limit: 1000 })).map((b) => b.id)).toContain(
        batch.id,
      );
      const again = await q.claim({ worker: 'w2', limit: 10, now: plus(1005), leaseMs: 1000 });
      expect(again.map((j) => [j.id, j.attempts])).toEqual(jobs.map((j) => [j.id, 2]));
    });

    it('findByRecord gives the latest job of a record id', async () => {
      const q = await fx().open();
      const rid = `rid-${randomHex(4)}`;
      const a = newJob(T, { recordId: rid });
      const b = newJob(plus(1), { recordId: rid });
      await q.enqueue(a);
      await q.enqueue(b);
      expect((await q.findByRecord(rid))?.id).toBe(b.id);
      expect(await q.findByRecord('rid-none')).toBeUndefined();
      const counts = await q.counts();
      expect(counts.queued).toBeGreaterThanOrEqual(2);
      expect(Object.keys(counts).sort()).toEqual(['confirmed', 'failed', 'queued', 'sent', 'signed']);
    });
  });
}
