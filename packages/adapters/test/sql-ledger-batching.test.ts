/**
 * Group commit in SqlNonceStore and batched lookups in SqlKeyRegistry: exactly-once consumption
 * inside and across batches, per-row outcomes, one bad row failing only its own call, and
 * lookups that never answer from before the call (a revocation is seen at once).
 */
import { createDatabase, type OmtDatabase, SqlKeyRegistry, SqlNonceStore } from '@omt/adapters/sql';
import { toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { getSuite } from '@omt/core/suites';
import { signerRegistration } from '@omt/ledger/key-registry';
import type { NonceUse } from '@omt/ledger/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePostgres, dropSchemas, randomSchema } from './pg-env.js';

const randomHex = (n: number): string => toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
const use = (signer: string, nonce: string, timestamp = new Date()): NonceUse => ({
  signer,
  nonce,
  hash: randomHex(32),
  timestamp,
});

async function settle<T>(p: Promise<T>): Promise<{ value?: T; code?: string }> {
  try {
    return { value: await p };
  } catch (e) {
    return { code: isOmtError(e) ? e.code : 'raw' };
  }
}

function batchingSuite(name: string, open: () => Promise<OmtDatabase[]>): void {
  describe(name, () => {
    let dbs: OmtDatabase[] = [];
    beforeAll(async () => {
      dbs = await open();
    });
    afterAll(async () => {
      for (const d of dbs) await d.close();
    });
    const db = (i = 0): OmtDatabase['db'] => (dbs[i % dbs.length] as OmtDatabase).db;

    it('one tick of 400 consumes (100 pairs × 4, interleaved): exactly one true per pair, every row stored', async () => {
      const store = new SqlNonceStore(db());
      const signer = randomHex(32);
      const pairs = Array.from({ length: 100 }, (_, i) => `batch-${i}-${randomHex(4)}`);
      const calls = Array.from({ length: 400 }, (_, i) => pairs[i % 100] as string);
      const results = await Promise.all(calls.map((n) => store.consume(use(signer, n))));
      for (const n of pairs) expect(results.filter((r, i) => r && calls[i] === n)).toHaveLength(1);
      for (const n of pairs) expect(await store.has(signer, n)).toBe(true);
      // a later batch sees them all as used
      const again = await Promise.all(pairs.map((n) => store.consume(use(signer, n))));
      expect(again.every((r) => r === false)).toBe(true);
    });

    it('concurrent batches from several stores (separate pools where there are): one winner per pair', async () => {
      const stores = dbs.map((d) => new SqlNonceStore(d.db));
      const signer = randomHex(32);
      const pairs = Array.from({ length: 60 }, (_, i) => `multi-${i}-${randomHex(4)}`);
      const calls = Array.from({ length: 8 }, () => pairs).flat();
      const results = await Promise.all(
        calls.map((n, i) => (stores[i % stores.length] as SqlNonceStore).consume(use(signer, n))),
      );
      for (const n of pairs) expect(results.filter((r, i) => r && calls[i] === n)).toHaveLength(1);
    });

    it('a row PostgreSQL cannot store fails only its own call; the others in its batch are consumed', async () => {
      const store = new SqlNonceStore(db());
      const signer = randomHex(32);
      const good = Array.from({ length: 10 }, (_, i) => `good-${i}-${randomHex(4)}`);
      // A valid JS date far before PostgreSQL's 4713 BC: the INSERT of the whole batch fails on it.
      const ancient = new Date(-8.6e15);
      const calls = [
        ...good.slice(0, 5).map((n) => store.consume(use(signer, n))),
        store.consume(use(signer, 'ancient-nonce', ancient)),
        ...good.slice(5).map((n) => store.consume(use(signer, n))),
      ];
      const out = await Promise.all(calls.map(settle));
      expect(out[5]?.code).toBe('adapters.sql.query-failed');
      expect(out.filter((o) => o.value === true)).toHaveLength(10);
      expect(await store.has(signer, 'ancient-nonce')).toBe(false);
      for (const n of good) expect(await store.has(signer, n)).toBe(true);
    });

    it('malformed uses are refused before batching (ledger.nonce.invalid) and never reach the batch', async () => {
      const store = new SqlNonceStore(db());
      const signer = randomHex(32);
      const out = await Promise.all([
        settle(store.consume(use(signer, 'ok-nonce-1'))),
        settle(store.consume({ ...use(signer, 'x'), nonce: 'bad nonce' })),
        settle(store.consume(use(signer, 'ok-nonce-2'))),
      ]);
      expect(out.map((o) => o.code ?? o.value)).toEqual([true, 'ledger.nonce.invalid', true]);
    });

    it('batched lookups: known, unknown and repeated keyIds each get the right answer, as separate objects', async () => {
      const registry = new SqlKeyRegistry(db());
      const now = new Date();
      const regs = await Promise.all(
        Array.from({ length: 6 }, async () =>
          signerRegistration('ES256K', (await getSuite('ES256K').generateKeyPair()).publicKey, {
            validFrom: new Date(now.getTime() - 60_000),
          }),
        ),
      );
      for (const r of regs) await registry.register(r, now);
      const unknown = Array.from({ length: 4 }, () => randomHex(32));
      const ids = [...regs.map((r) => r.keyId), ...unknown, ...regs.map((r) => r.keyId)];
      const keys = await Promise.all(ids.map((id) => registry.lookup(id)));
      for (const [i, id] of ids.entries()) {
        const k = keys[i];
        if (unknown.includes(id)) expect(k).toBeUndefined();
        else {
          expect(k?.keyId).toBe(id);
          expect(k?.status).toBe('active');
        }
      }
      expect(keys[0]).not.toBe(keys[10]);
      keys[0]?.publicKey.fill(0);
      expect(toHex(keys[10]?.publicKey as Uint8Array)).toBe(toHex(regs[0]?.publicKey as Uint8Array));
      expect(await registry.lookup('a\u0000b')).toBeUndefined();
    });

    it('a revocation is seen by every lookup made after it returns, even with lookups in flight (other pool)', async () => {
      const writer = new SqlKeyRegistry(db(0));
      const reader = new SqlKeyRegistry(db(1));
      const now = new Date();
      for (let round = 0; round < 5; round++) {
        const reg = signerRegistration('ES256K', (await getSuite('ES256K').generateKeyPair()).publicKey, {
          validFrom: new Date(now.getTime() - 60_000),
        });
        await writer.register(reg, now);
        // lookups in flight (and queued behind them) while the revocation happens
        const before = Array.from({ length: 40 }, () => reader.lookup(reg.keyId));
        await writer.revoke(reg.keyId, now, 'leaked');
        const after = await Promise.all(Array.from({ length: 40 }, () => reader.lookup(reg.keyId)));
        expect(after.every((k) => k?.status === 'revoked')).toBe(true);
        for (const k of await Promise.all(before)) expect(['active', 'revoked']).toContain(k?.status);
      }
    });
  });
}

batchingSuite('batching on PGlite (one connection)', async () => {
  const omt = await createDatabase({ kind: 'pglite' });
  await omt.migrate();
  return [omt];
});

describePostgres('batching on PostgreSQL', (url) => {
  const schemas: string[] = [];
  const schema = randomSchema('batching');
  schemas.push(schema);
  afterAll(async () => {
    await dropSchemas(url, schemas);
  });
  batchingSuite('two pools on one schema', async () => {
    const a = await createDatabase({ kind: 'postgres', url, schema, poolSize: 4 });
    await a.migrate();
    const b = await createDatabase({ kind: 'postgres', url, schema, poolSize: 4 });
    return [a, b];
  });
});
