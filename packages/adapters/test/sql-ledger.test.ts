import { type OmtDatabase, SqlKeyRegistry, SqlNonceStore, SqlUtxoStore } from '@omt/adapters/sql';
import { toHex } from '@omt/core/bytes';
import { getSuite } from '@omt/core/suites';
import { createIntent, intentSigner, verifyIntent } from '@omt/ledger/intent';
import { signerRegistration } from '@omt/ledger/key-registry';
import type { Utxo } from '@omt/ledger/ports';
import { keyRegistryContract, nonceStoreContract, utxoStoreContract } from '@omt/ledger/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePostgres, openMigrated, schemaFactory } from './pg-env.js';

function randomHex(n: number): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}

describe('ledger stores on PGlite (in memory)', () => {
  nonceStoreContract('SqlNonceStore on PGlite', async () => {
    const omt = await openMigrated({ kind: 'pglite' });
    return { store: new SqlNonceStore(omt.db), close: () => omt.close() };
  });
  keyRegistryContract('SqlKeyRegistry on PGlite', async () => {
    const omt = await openMigrated({ kind: 'pglite' });
    return { store: new SqlKeyRegistry(omt.db), close: () => omt.close() };
  });
  utxoStoreContract('SqlUtxoStore on PGlite', async () => {
    const omt = await openMigrated({ kind: 'pglite' });
    return { open: (pool) => new SqlUtxoStore(omt.db, { pool }), close: () => omt.close() };
  });
});

describePostgres('ledger stores on PostgreSQL', (url) => {
  const schema = schemaFactory(url, 'ledger');

  nonceStoreContract('SqlNonceStore on PostgreSQL', async () => {
    const omt = await openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 8 });
    return { store: new SqlNonceStore(omt.db), close: () => omt.close() };
  });
  keyRegistryContract('SqlKeyRegistry on PostgreSQL', async () => {
    const omt = await openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 8 });
    return { store: new SqlKeyRegistry(omt.db), close: () => omt.close() };
  });
  utxoStoreContract('SqlUtxoStore on PostgreSQL', async () => {
    const omt = await openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 8 });
    return { open: (pool) => new SqlUtxoStore(omt.db, { pool }), close: () => omt.close() };
  });

  describe('concurrency across processes (separate pools on one schema)', () => {
    let dbs: OmtDatabase[] = [];
    beforeAll(async () => {
      const s = schema();
      dbs = [];
      for (let i = 0; i < 4; i++)
        dbs.push(await openMigrated({ kind: 'postgres', url, schema: s, poolSize: 4 }));
    });
    afterAll(async () => {
      for (const d of dbs) await d.close();
    });

    it('16 concurrent submissions of one intent → exactly one accepted, every round', async () => {
      const kp = await getSuite('ES256K').generateKeyPair();
      const signer = await intentSigner('ES256K-DER', kp.secretKey);
      const now = new Date();
      await new SqlKeyRegistry((dbs[0] as OmtDatabase).db).register(
        signerRegistration('ES256K', signer.publicKey, { validFrom: new Date(now.getTime() - 60_000) }),
        now,
      );
      for (let round = 0; round < 5; round++) {
        const intent = JSON.stringify(await createIntent({ rid: `r${round}` }, signer));
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) => {
            const db = (dbs[i % dbs.length] as OmtDatabase).db;
            return verifyIntent(intent, { registry: new SqlKeyRegistry(db), nonces: new SqlNonceStore(db) });
          }),
        );
        expect(results.filter((r) => r.valid)).toHaveLength(1);
        for (const r of results.filter((x) => !x.valid))
          expect(r.problems.map((p) => p.code)).toEqual(['ledger.nonce.replayed']);
      }
    });

    it('8 concurrent workers reserving from one pool over many rounds → zero double reservations or spends', async () => {
      const pool = `stress.${randomHex(4)}`;
      const stores = dbs.map((d) => new SqlUtxoStore(d.db, { pool }));
      const first = stores[0] as SqlUtxoStore;
      const outputs: Utxo[] = Array.from({ length: 400 }, (_, i) => ({
        txid: randomHex(32),
        vout: i % 3,
        satoshis: 1000n + BigInt(i % 50),
        script: Uint8Array.of(0x6a),
      }));
      await first.add(outputs);
      const held = new Map<string, string>();
      const spentBy = new Map<string, string>();
      let doubles = 0;
      let reservations = 0;
      const t0 = Date.now();
      const worker = async (w: number): Promise<void> => {
        const store = stores[w % stores.length] as SqlUtxoStore;
        for (let round = 0; round < 40; round++) {
          const id = `w${w}.r${round}.${randomHex(4)}`;
          const r = await store.reserve({
            id,
            worker: `w${w}`,
            satoshis: round % 5 === 0 ? 2500n : 900n,
            maxInputs: 4,
            now: new Date(t0),
            ttlMs: 3_600_000,
          });
          if (r === undefined) continue;
          reservations++;
          for (const u of r.utxos) {
            const k = `${u.txid}:${u.vout}`;
            if (held.has(k) || spentBy.has(k)) doubles++;
            held.set(k, id);
          }
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (round % 3 === 0) {
            for (const u of r.utxos) held.delete(`${u.txid}:${u.vout}`);
            await store.release(id);
          } else {
            const txid = randomHex(32);
            await store.markSpent(id, txid);
            for (const u of r.utxos) {
              const k = `${u.txid}:${u.vout}`;
              held.delete(k);
              spentBy.set(k, txid);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      expect(doubles).toBe(0);
      expect(reservations).toBeGreaterThan(200);
      const listed = await first.list();
      expect(listed).toHaveLength(400);
      const spent = listed.filter((u) => u.state === 'spent');
      expect(spent).toHaveLength(spentBy.size);
      for (const u of spent) expect(u.spentBy).toBe(spentBy.get(`${u.txid}:${u.vout}`));
      expect(listed.filter((u) => u.state === 'reserved')).toHaveLength(0);
    });

    it('a worker killed between reserve and broadcast: its outputs return after the TTL, nothing is spent twice', async () => {
      const pool = `killed.${randomHex(4)}`;
      const a = new SqlUtxoStore((dbs[0] as OmtDatabase).db, { pool });
      const b = new SqlUtxoStore((dbs[1] as OmtDatabase).db, { pool });
      await a.add([{ txid: randomHex(32), vout: 0, satoshis: 5000n, script: new Uint8Array(0) }]);
      const t = new Date();
      const dead = await a.reserve({
        id: 'dead',
        worker: 'a',
        satoshis: 100n,
        maxInputs: 1,
        now: t,
        ttlMs: 5000,
      });
      expect(dead).toBeDefined();
      const during = new Date(t.getTime() + 4999);
      expect(
        await b.reserve({ id: 'b1', worker: 'b', satoshis: 100n, maxInputs: 1, now: during, ttlMs: 5000 }),
      ).toBeUndefined();
      const after = new Date(t.getTime() + 5000);
      const retry = await b.reserve({
        id: 'b2',
        worker: 'b',
        satoshis: 100n,
        maxInputs: 1,
        now: after,
        ttlMs: 5000,
      });
      expect(retry?.utxos[0]?.txid).toBe(dead?.utxos[0]?.txid);
      const results = await Promise.allSettled([
        a.markSpent('dead', randomHex(32)),
        b.markSpent('b2', randomHex(32)),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
      expect((await a.list({ state: 'spent' })).length).toBe(1);
    });
  });
});
