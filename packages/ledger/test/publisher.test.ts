import { AuditLog, parseAuditEntry } from '@omt/core/audit-log';
import { MemoryAuditLogStore } from '@omt/core/audit-log-memory';
import { toHex } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { getSuite } from '@omt/core/suites';
import { verifyAnchorProof } from '@omt/ledger/anchor';
import { blockMerkleRoot, bumpForTransaction, encodeBump } from '@omt/ledger/anchor-bump';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { createIntent, type IntentSigner, intentSigner } from '@omt/ledger/intent';
import { MemoryNonceStore } from '@omt/ledger/intent-nonce-store-memory';
import { MemoryJobQueue } from '@omt/ledger/job-queue-memory';
import { signerRegistration } from '@omt/ledger/key-registry';
import { MemoryKeyRegistry } from '@omt/ledger/key-registry-memory';
import { OfflineChainClient } from '@omt/ledger/offline-chain-client';
import type { ChainClient, ChainTxStatus } from '@omt/ledger/ports';
import { Publisher } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { RateLimiter } from '@omt/ledger/rate-limiter';
import { decodeTransaction, transactionId } from '@omt/ledger/transaction';
import { MemoryUtxoStore } from '@omt/ledger/utxo-store-memory';
import { beforeEach, describe, expect, it } from 'vitest';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
const randomHex = (n: number): string => toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));

interface Env {
  queue: MemoryJobQueue;
  registry: MemoryKeyRegistry;
  nonces: MemoryNonceStore;
  audit: AuditLog;
  utxos: MemoryUtxoStore;
  wallet: HdWallet;
  publisher: Publisher;
  signer: IntentSigner;
  now: { t: number };
}

async function makeEnv(fundingOutputs = 3): Promise<Env> {
  const now = { t: Date.UTC(2026, 0, 2, 3, 4, 5) };
  const clock = (): Date => new Date(now.t);
  const queue = new MemoryJobQueue();
  const registry = new MemoryKeyRegistry();
  const nonces = new MemoryNonceStore();
  const audit = new AuditLog(new MemoryAuditLogStore(), { log: 'publisher-test' });
  const utxos = new MemoryUtxoStore();
  const wallet = HdWallet.fromSeed(SEED, { network: 'bsv', store: new MemoryKeyIndexStore() });
  for (let i = 0; i < fundingOutputs; i++) {
    const k = await wallet.nextFundingKey();
    await utxos.add([{ txid: randomHex(32), vout: 1, satoshis: 50_000n, script: k.script, keyPath: k.path }]);
  }
  const kp = await getSuite('ES256K').generateKeyPair();
  const signer = await intentSigner('ES256K-DER', kp.secretKey);
  await registry.register(
    signerRegistration('ES256K', signer.publicKey, { validFrom: new Date(0) }),
    clock(),
  );
  const publisher = new Publisher({ queue, registry, nonces, audit, clock });
  return { queue, registry, nonces, audit, utxos, wallet, publisher, signer, now };
}

function worker(
  env: Env,
  chain: ChainClient,
  extra: Partial<ConstructorParameters<typeof PublishWorker>[0]> = {},
) {
  return new PublishWorker({
    queue: env.queue,
    utxos: env.utxos,
    wallet: env.wallet,
    chain,
    clock: () => new Date(env.now.t),
    retry: { baseMs: 1000, maxMs: 8000 },
    ...extra,
  });
}

async function sign(env: Env, record: Record<string, unknown>) {
  return createIntent(record, env.signer, { clock: () => new Date(env.now.t) });
}

describe('Publisher + PublishWorker (memory stores, offline chain client)', () => {
  let env: Env;
  beforeEach(async () => {
    env = await makeEnv();
  });

  it('publish → job queued → one OP_RETURN transaction for the batch → each record proven', async () => {
    const intents = await Promise.all(
      Array.from({ length: 40 }, (_, i) => sign(env, { rid: `r-${i}`, uri: `https://e.x/${i}` })),
    );
    const results = [];
    for (const i of intents) results.push(await env.publisher.publish(JSON.stringify(i)));
    expect(results.every((r) => r.accepted)).toBe(true);
    const first = results[0] as { jobId: string; recordId: string; recordHash: string };
    expect(first.recordId).toBe('r-0');
    expect((await env.publisher.job(first.jobId))?.status).toBe('queued');

    const chain = new OfflineChainClient('bsv');
    const outcomes = await worker(env, chain).drain();
    expect(outcomes.map((o) => [o.result, o.jobIds.length])).toEqual([['stored', 40]]);
    expect(chain.stored()).toHaveLength(1);
    const view = await env.publisher.record('r-7');
    expect(view?.status).toBe('signed');
    expect(view?.batchStatus).toBe('stored');
    expect(view?.txid).toBe(chain.stored()[0]?.txid);
    expect(view?.proof?.batch.size).toBe(40);
    const v = await verifyAnchorProof(view?.proof, { headers: new Map() });
    // Everything but the block: the transaction is kept offline, not mined.
    expect(v.problems.map((p) => p.code)).toEqual(['ledger.anchor.unconfirmed']);
    expect(v.checked).toMatchObject({ record: true, batch: true, tx: true, opReturn: true });
    // The change came back to the pool as a wallet output; inputs are spent by the tx.
    const pool = await env.utxos.list();
    expect(pool.filter((u) => u.state === 'spent').map((u) => u.spentBy)).toEqual([view?.txid]);
    expect(pool.some((u) => u.txid === view?.txid && u.keyPath?.includes('/1/') === true)).toBe(true);
    // Audit: one allow per intent.
    expect(
      (await env.audit.entries()).filter((e) => parseAuditEntry(e.body).outcome === 'allow'),
    ).toHaveLength(40);
  });

  it('rejects replays (also 16 concurrent submissions: exactly one accepted), bad and expired intents', async () => {
    const intent = JSON.stringify(await sign(env, { rid: 'once' }));
    const rs = await Promise.all(Array.from({ length: 16 }, () => env.publisher.publish(intent)));
    expect(rs.filter((r) => r.accepted)).toHaveLength(1);
    for (const r of rs.filter((x) => !x.accepted))
      expect(r.accepted === false && r.problems.map((p) => p.code)).toEqual(['ledger.nonce.replayed']);
    const old = await sign(env, { rid: 'old' });
    env.now.t += 11 * 60_000;
    const late = await env.publisher.publish(old);
    expect(late.accepted === false && late.problems.map((p) => p.code)).toEqual(['ledger.timestamp.skew']);
    const bad = await env.publisher.publish('{"protocol":1}');
    expect(bad.accepted === false && bad.problems[0]?.code).toBe('ledger.intent.schema');
    expect((await env.queue.counts()).queued).toBe(1);
  });

  it('a batch larger than maxRecords is split; records without rid are found by hash', async () => {
    for (let i = 0; i < 25; i++) await env.publisher.publish(await sign(env, { n: i }));
    const out = await worker(env, new OfflineChainClient('bsv'), { maxRecords: 10 }).drain();
    expect(out.map((o) => o.jobIds.length)).toEqual([10, 10, 5]);
    expect(new Set(out.map((o) => o.txid)).size).toBe(3);
    const r = await env.publisher.publish(await sign(env, { n: 99 }));
    expect(r.accepted && r.recordId).toBe(r.accepted && r.recordHash);
  });

  it('no funds: jobs go back with backoff and a last error, then anchor once funded', async () => {
    const poor = await makeEnv(0);
    const r = await poor.publisher.publish(await sign(poor, { rid: 'x' }));
    const w = worker(poor, new OfflineChainClient('bsv'));
    const [o] = await w.drain();
    expect(o?.result).toBe('requeued');
    const job = await poor.publisher.job(r.accepted ? r.jobId : '');
    expect([job?.status, job?.attempts, job?.lastError?.startsWith('ledger.funds.insufficient')]).toEqual([
      'queued',
      1,
      true,
    ]);
    const k = await poor.wallet.nextFundingKey();
    await poor.utxos.add([
      { txid: randomHex(32), vout: 0, satoshis: 10_000n, script: k.script, keyPath: k.path },
    ]);
    expect(await w.drain()).toEqual([]); // backing off
    poor.now.t += 1000;
    expect((await w.drain()).map((x) => x.result)).toEqual(['stored']);
  });

  it('a worker killed between reserve and broadcast: its lease and reservation lapse, the job is retried, nothing is spent twice', async () => {
    await env.publisher.publish(await sign(env, { rid: 'k' }));
    // The "killed" worker: claims the job and reserves an output, then never comes back.
    const claimed = await env.queue.claim({
      worker: 'dead',
      limit: 10,
      now: new Date(env.now.t),
      leaseMs: 60_000,
    });
    const res = await env.utxos.reserve({
      id: 'dead-res',
      worker: 'dead',
      satoshis: 1000n,
      maxInputs: 1,
      now: new Date(env.now.t),
      ttlMs: 60_000,
    });
    expect(claimed).toHaveLength(1);
    expect(res).toBeDefined();
    const chain = new OfflineChainClient('bsv');
    const live = worker(env, chain);
    expect(await live.drain()).toEqual([]); // leased
    env.now.t += 60_000;
    const out = await live.drain();
    expect(out.map((o) => o.result)).toEqual(['stored']);
    expect((await env.queue.get(claimed[0]?.id as string))?.attempts).toBe(2);
    // The dead worker wakes up and tries to spend its (lapsed, re-taken?) reservation.
    const tx = decodeTransaction(chain.stored()[0]?.rawTx as string);
    const spentOutpoints = tx.inputs.map((i) => `${i.txid}:${i.vout}`);
    const deadOutpoint = `${res?.utxos[0]?.txid}:${res?.utxos[0]?.vout}`;
    if (spentOutpoints.includes(deadOutpoint))
      await expect(env.utxos.markSpent('dead-res', randomHex(32))).rejects.toMatchObject({
        code: 'ledger.utxo.reservation-unknown',
      });
    const spent = await env.utxos.list({ state: 'spent' });
    expect(new Set(spent.map((u) => `${u.txid}:${u.vout}`)).size).toBe(spent.length);
  });

  it('a worker killed after signing: the batch is recovered and sent once', async () => {
    await env.publisher.publish(await sign(env, { rid: 'after-sign' }));
    let calls = 0;
    const flaky: ChainClient = {
      chain: 'bsv',
      broadcast: async (raw) => {
        calls++;
        if (calls === 1) throw new OmtError('ledger.chain.unavailable', 'connection reset');
        return { txid: decodeTxid(raw), state: 'seen' };
      },
      txStatus: async (txid) => ({ txid, state: 'unknown' }),
      merkleProof: async () => undefined,
      blockHeader: async () => undefined,
    };
    const w = worker(env, flaky);
    const [first] = await w.drain();
    expect(first?.result).toBe('signed');
    expect((await env.publisher.record('after-sign'))?.status).toBe('signed');
    env.now.t += 1000;
    const again = await w.recover();
    expect(again.map((o) => o.result)).toEqual(['sent']);
    expect((await env.publisher.record('after-sign'))?.status).toBe('sent');
    expect(calls).toBe(2);
    expect((await env.utxos.list({ state: 'spent' })).length).toBe(1);
  });

  it('a transaction the chain rejects is abandoned; its jobs get a new transaction from other outputs', async () => {
    await env.publisher.publish(await sign(env, { rid: 'rej' }));
    let n = 0;
    const picky: ChainClient = {
      chain: 'bsv',
      broadcast: async (raw) => {
        n++;
        if (n === 1) throw new OmtError('ledger.chain.rejected', 'txn-mempool-conflict');
        return { txid: decodeTxid(raw), state: 'seen' };
      },
      txStatus: async (txid) => ({ txid, state: 'unknown' }),
      merkleProof: async () => undefined,
      blockHeader: async () => undefined,
    };
    const w = worker(env, picky);
    expect((await w.drain()).map((o) => o.result)).toEqual(['requeued']);
    env.now.t += 2000;
    const [o] = await w.drain();
    expect(o?.result).toBe('sent');
    const spent = await env.utxos.list({ state: 'spent' });
    expect(spent).toHaveLength(2);
    expect(new Set(spent.map((u) => u.spentBy)).size).toBe(2);
  });

  it('confirm re-verifies the BUMP against the block header before marking confirmed', async () => {
    await env.publisher.publish(await sign(env, { rid: 'mined' }));
    const mined = new Map<string, { height: number; bump: string; header: string }>();
    let lie = false;
    const chain: ChainClient = {
      chain: 'bsv',
      broadcast: async (raw) => {
        const txid = decodeTxid(raw);
        const txids = [randomHex(32), txid, randomHex(32)];
        const bump = toHex(encodeBump(bumpForTransaction(txids, 1, 900_000)));
        const header = new Uint8Array(80);
        header.set(blockMerkleRoot(txids), 36);
        mined.set(txid, { height: 900_000, bump, header: toHex(header) });
        return { txid, state: 'seen' } satisfies ChainTxStatus;
      },
      txStatus: async (txid) => ({ txid, state: mined.has(txid) ? 'mined' : 'unknown' }),
      merkleProof: async (txid) => {
        const m = mined.get(txid);
        if (m === undefined) return undefined;
        const other = toHex(encodeBump(bumpForTransaction([randomHex(32), txid], 1, 900_000)));
        return { blockHeight: m.height, bump: lie ? other : m.bump };
      },
      blockHeader: async (h) => [...mined.values()].find((m) => m.height === h)?.header,
    };
    const errors: unknown[] = [];
    const w = worker(env, chain, { onError: (e) => errors.push(e) });
    await w.drain();
    lie = true;
    expect(await w.confirm()).toBe(0);
    expect(isOmtError(errors[0], 'ledger.anchor.header-mismatch')).toBe(true);
    lie = false;
    expect(await w.confirm()).toBe(1);
    const view = await env.publisher.record('mined');
    expect(view?.status).toBe('confirmed');
    const header = [...mined.values()][0]?.header as string;
    const v = await verifyAnchorProof(view?.proof, {
      headers: new Map([[900_000, header]]),
      requireProofOfWork: false,
    });
    expect(v.problems).toEqual([]);
    expect(v.valid).toBe(true);
  });

  it('run(): time-window batching with the Batcher, stops on abort', async () => {
    for (let i = 0; i < 7; i++) await env.publisher.publish(await sign(env, { rid: `w${i}` }));
    const chain = new OfflineChainClient('bsv');
    const w = new PublishWorker({
      queue: env.queue,
      utxos: env.utxos,
      wallet: env.wallet,
      chain,
      maxRecords: 100,
      maxDelayMs: 20,
      pollMs: 5,
      rateLimiter: new RateLimiter(),
      clock: () => new Date(env.now.t),
    });
    const ac = new AbortController();
    const running = w.run(ac.signal);
    for (let k = 0; k < 200 && (await env.queue.counts()).signed < 7; k++)
      await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await running;
    expect(await env.queue.counts()).toMatchObject({ queued: 0, signed: 7 });
    expect(chain.stored()).toHaveLength(1);
  });

  it('rejects bad worker and publisher options', () => {
    expect(() => new Publisher({} as never)).toThrow(
      expect.objectContaining({ code: 'ledger.publisher.invalid' }),
    );
    expect(() => worker(env, new OfflineChainClient('btc'))).toThrow(
      expect.objectContaining({ code: 'ledger.worker.invalid' }),
    );
    expect(() => worker(env, new OfflineChainClient('bsv'), { maxRecords: 0 })).toThrow(
      expect.objectContaining({ code: 'ledger.worker.invalid' }),
    );
  });
});

function decodeTxid(raw: string): string {
  return transactionId(decodeTransaction(raw));
}
