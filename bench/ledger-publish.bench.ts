/**
 * @omt/ledger publisher throughput on PostgreSQL (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test), each in its own throw-away schema.
 * 1. `Publisher.publish`: intent verification + nonce + INSERT into the job queue, intents/s with
 *    32 submissions in flight; peer: the same verification without the enqueue (verifyIntent +
 *    nonce), so the ratio is the cost of the queue.
 * 2. Worker throughput with batching: records anchored per second by one `PublishWorker`
 *    (claim → seal batch of 1,000 → reserve UTXO → build + sign OP_RETURN tx → persist every
 *    inclusion proof → mark spent → offline broadcast); peer: the same worker with batches of 1
 *    (one transaction per record, the original design's shape).
 */
import {
  createDatabase,
  type OmtDatabase,
  SqlJobQueue,
  SqlKeyIndexStore,
  SqlKeyRegistry,
  SqlNonceStore,
  SqlUtxoStore,
} from '@omt/adapters/sql';
import { toHex } from '@omt/core/bytes';
import { getSuite } from '@omt/core/suites';
import { HdWallet } from '@omt/ledger/hd-wallet';
import { createIntent, intentSigner, verifyIntent } from '@omt/ledger/intent';
import { signerRegistration } from '@omt/ledger/key-registry';
import { OfflineChainClient } from '@omt/ledger/offline-chain-client';
import { Publisher } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { RateLimiter } from '@omt/ledger/rate-limiter';
import pg from 'pg';
import { type BenchResult, writeResults } from './lib.js';

const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const results: BenchResult[] = [];
const schemas: string[] = [];

async function open(label: string): Promise<OmtDatabase> {
  const schema = `omt_bench_${label}_${Date.now().toString(36)}`;
  schemas.push(schema);
  const omt = await createDatabase({ kind: 'postgres', url, schema, poolSize: 8 });
  await omt.migrate();
  return omt;
}

async function run(n: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return (n * 1000) / (performance.now() - start);
}

async function publishRate(): Promise<void> {
  const omt = await open('publish');
  try {
    const registry = new SqlKeyRegistry(omt.db);
    const nonces = new SqlNonceStore(omt.db);
    const publisher = new Publisher({ queue: new SqlJobQueue(omt.db), registry, nonces });
    const signer = await intentSigner('ES256K-DER', (await getSuite('ES256K').generateKeyPair()).secretKey);
    const now = new Date();
    await registry.register(
      signerRegistration('ES256K', signer.publicKey, { validFrom: new Date(now.getTime() - 3_600_000) }),
      now,
    );
    const N = 3000;
    const a: string[] = [];
    const b: string[] = [];
    for (let i = 0; i < N; i++) {
      a.push(JSON.stringify(await createIntent({ rid: `urn:a:${i}` }, signer)));
      b.push(JSON.stringify(await createIntent({ rid: `urn:b:${i}` }, signer)));
    }
    let accepted = 0;
    const ours = await run(N, 32, async (i) => {
      if ((await publisher.publish(a[i] as string)).accepted) accepted++;
    });
    if (accepted !== N) throw new Error(`only ${accepted}/${N} published`);
    const peer = await run(N, 32, (i) => verifyIntent(b[i] as string, { registry, nonces }));
    results.push({
      name: 'publish: verify + nonce + enqueue on PostgreSQL (intents/s) vs verify + nonce only',
      ours,
      peer,
      unit: 'intents/s',
      ratio: ours / peer,
      extra: { n: N, inFlight: 32, alg: 'ES256K-DER', originalDesign: 500 / 3 },
    });
  } finally {
    await omt.close();
  }
}

async function workerRate(maxRecords: number, records: number): Promise<number> {
  const omt = await open(`worker${maxRecords}`);
  try {
    const queue = new SqlJobQueue(omt.db);
    const wallet = HdWallet.fromSeed(new Uint8Array(32).fill(11), {
      network: 'bsv',
      store: new SqlKeyIndexStore(omt.db),
    });
    const utxos = new SqlUtxoStore(omt.db, { pool: 'bench' });
    const k = await wallet.nextFundingKey();
    await utxos.add([
      {
        txid: toHex(new Uint8Array(32).fill(1)),
        vout: 0,
        satoshis: 1_000_000_000n,
        script: k.script,
        keyPath: k.path,
      },
    ]);
    const now = new Date();
    for (let i = 0; i < records; i += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, records - i) }, (_, j) =>
          queue.enqueue({
            id: `job-${i + j}`,
            recordId: `r${i + j}`,
            recordHash: toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))),
            keyId: 'ab'.repeat(32),
            intent: JSON.stringify({ record: { rid: `r${i + j}` } }),
            maxAttempts: 5,
            now,
          }),
        ),
      );
    }
    const worker = new PublishWorker({
      queue,
      utxos,
      wallet,
      chain: new OfflineChainClient('bsv'),
      maxRecords,
      rateLimiter: new RateLimiter({ capacity: 1_000_000_000, intervalMs: 1 }),
    });
    const start = performance.now();
    const out = await worker.drain();
    const rate = (records * 1000) / (performance.now() - start);
    const anchored = out.reduce((s, o) => s + (o.result === 'stored' ? o.jobIds.length : 0), 0);
    if (anchored !== records) throw new Error(`worker anchored ${anchored}/${records}`);
    return rate;
  } finally {
    await omt.close();
  }
}

await publishRate();
const batched = await workerRate(1000, 20_000);
const single = await workerRate(1, 300);
results.push({
  name: 'worker: records anchored/s, batches of 1,000 (one OP_RETURN tx each) vs one tx per record',
  ours: batched,
  peer: single,
  unit: 'records/s',
  ratio: batched / single,
  extra: { batchedRecords: 20_000, singleRecords: 300, chain: 'offline (bsv)' },
});

const client = new pg.Client({ connectionString: url });
await client.connect();
for (const s of schemas) await client.query(`drop schema if exists "${s}" cascade`);
await client.end();
writeResults('ledger-publish', results);
