import { type OmtDatabase, SqlJobQueue, SqlKeyIndexStore, SqlUtxoStore } from '@omt/adapters/sql';
import { toHex } from '@omt/core/bytes';
import { HdWallet } from '@omt/ledger/hd-wallet';
import { OfflineChainClient } from '@omt/ledger/offline-chain-client';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { RateLimiter } from '@omt/ledger/rate-limiter';
import { decodeTransaction } from '@omt/ledger/transaction';
import { afterAll, expect, it } from 'vitest';
import { describePostgres, dropSchemas, openMigrated, randomSchema } from './pg-env.js';

function randomHex(n: number): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

describePostgres('publisher workers on PostgreSQL (stress)', (url) => {
  const schemas: string[] = [];
  const opened: OmtDatabase[] = [];
  const schema = (): string => {
    const s = randomSchema('jobs_stress');
    schemas.push(s);
    return s;
  };
  afterAll(async () => {
    for (const d of opened) await d.close();
    await dropSchemas(url, schemas);
  });

  it('8 workers (separate pools) over 10,000 jobs: every job anchored exactly once, zero double reservations', async () => {
    const s = schema();
    const dbs: OmtDatabase[] = [];
    for (let i = 0; i < 8; i++) {
      const d = await openMigrated({ kind: 'postgres', url, schema: s, poolSize: 2 });
      dbs.push(d);
      opened.push(d);
    }
    const first = dbs[0] as OmtDatabase;
    const queue0 = new SqlJobQueue(first.db);
    const wallet0 = HdWallet.fromSeed(SEED, { network: 'bsv', store: new SqlKeyIndexStore(first.db) });
    const utxos0 = new SqlUtxoStore(first.db, { pool: 'stress' });
    // 80 funding outputs paying wallet keys: more than enough for 8 concurrent batches (change comes back).
    const funding = [];
    for (let i = 0; i < 80; i++) {
      const k = await wallet0.nextFundingKey();
      funding.push({ txid: randomHex(32), vout: 0, satoshis: 100_000n, script: k.script, keyPath: k.path });
    }
    await utxos0.add(funding);
    const now = new Date();
    const N = 10_000;
    const ids: string[] = [];
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, N - i) }, async (_, k) => {
          const id = `job-${i + k}-${randomHex(4)}`;
          ids.push(id);
          await queue0.enqueue({
            id,
            recordId: `rid-${i + k}`,
            recordHash: randomHex(32),
            keyId: randomHex(32),
            intent: JSON.stringify({ record: { rid: `rid-${i + k}` } }),
            maxAttempts: 100,
            now,
          });
        }),
      );
    }
    const chains = dbs.map(() => new OfflineChainClient('bsv'));
    const workers = dbs.map(
      (d, w) =>
        new PublishWorker({
          queue: new SqlJobQueue(d.db),
          utxos: new SqlUtxoStore(d.db, { pool: 'stress' }),
          wallet: HdWallet.fromSeed(SEED, { network: 'bsv', store: new SqlKeyIndexStore(d.db) }),
          chain: chains[w] as OfflineChainClient,
          worker: `w${w}`,
          maxRecords: 250,
          rateLimiter: new RateLimiter({ capacity: 1_000_000, intervalMs: 1 }),
          retry: { baseMs: 1, maxMs: 5 },
        }),
    );
    const outcomes = (await Promise.all(workers.map((w) => w.drain()))).flat();
    // A worker may find the pool momentarily exhausted and requeue; drain once more until done.
    for (let round = 0; round < 20; round++) {
      const c = await queue0.counts();
      if (c.queued === 0) break;
      await new Promise((r) => setTimeout(r, 10));
      outcomes.push(...(await Promise.all(workers.map((w) => w.drain()))).flat());
    }
    const counts = await queue0.counts();
    expect(counts).toEqual({ queued: 0, signed: N, sent: 0, confirmed: 0, failed: 0 });
    const stored = outcomes.filter((o) => o.result === 'stored');
    const anchored = stored.flatMap((o) => o.jobIds);
    expect(anchored.length).toBe(N);
    expect(new Set(anchored).size).toBe(N);
    // Every input of every transaction was spent by exactly that transaction, once.
    const txs = chains.flatMap((c) => c.stored());
    expect(txs.length).toBe(stored.length);
    const spent = await utxos0.list({ state: 'spent' });
    const spentBy = new Map(spent.map((u) => [`${u.txid}:${u.vout}`, u.spentBy]));
    const inputs = new Set<string>();
    let doubles = 0;
    for (const t of txs) {
      for (const i of decodeTransaction(t.rawTx).inputs) {
        const k = `${i.txid}:${i.vout}`;
        if (inputs.has(k)) doubles++;
        inputs.add(k);
        expect(spentBy.get(k)).toBe(t.txid);
      }
    }
    expect(doubles).toBe(0);
    expect(spent.length).toBe(inputs.size);
    expect(await utxos0.list({ state: 'reserved' })).toEqual([]);
    const sample = await queue0.get(ids[1234] as string);
    expect(sample?.status).toBe('signed');
    expect(sample?.batch?.status).toBe('stored');
  }, 120_000);
});
