/**
 * The publisher's back half: a worker claims queued jobs (lease, `FOR UPDATE SKIP LOCKED` in
 * SQL), collects them in a {@link Batcher} (N ms or M records), and anchors each batch in one
 * transaction: reserve funding UTXOs → fresh change key → OP_RETURN with the batch root → sign →
 * persist (`signed`, every record's inclusion proof) → mark the inputs spent → rate limit →
 * broadcast → `sent` (or `stored` by the offline client). Later, `confirm` fetches the block
 * Merkle proof of sent batches, re-verifies it against the block header, and marks them confirmed.
 *
 * Nothing is ever spent twice: a transaction is handed to the chain only after `markSpent` of
 * its reservation succeeded, and the UTXO store lets exactly one reservation spend an output.
 * A worker that dies anywhere loses only its leases: jobs return to the queue, reservations
 * lapse, and a signed-but-unsent batch is picked up by `recover` (which re-checks `markSpent`).
 */
import { fromHex, toHex } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { bumpRoot, decodeBump } from './anchor-bump.js';
import { parseBlockHeader } from './anchor-header.js';
import { Batcher, type SealedBatch, sealBatch } from './batch.js';
import {
  DEFAULT_FEE_RATE,
  dustThreshold,
  estimateTransactionSize,
  feeForSize,
  type InputKind,
} from './fee.js';
import type { HdWallet } from './hd-wallet.js';
import { DEFAULT_RETRY, JOB_ID_RE, pause } from './job.js';
import { encodeBatchAnchor } from './op-return.js';
import type {
  ChainClient,
  JobBatch,
  JobQueue,
  PublishJob,
  RetryPolicy,
  UtxoReservation,
  UtxoStore,
} from './ports.js';
import { RateLimiter } from './rate-limiter.js';
import { classifyScript } from './script.js';
import { decodeTransaction } from './transaction.js';
import { buildOpReturnTransaction, type Secp256k1Engine, type SpendableUtxo } from './tx-builder.js';

/** Options of a {@link PublishWorker}. */
export interface PublishWorkerOptions {
  readonly queue: JobQueue;
  readonly utxos: UtxoStore;
  /** Signs the funding inputs (UTXOs carry their `keyPath`) and hands out change keys. */
  readonly wallet: HdWallet;
  readonly chain: ChainClient;
  /** Worker id (default `worker-<random>`). */
  readonly worker?: string;
  /** Seal a batch at `maxRecords` (default 1000) or `maxDelayMs` after its first record (default 200). */
  readonly maxRecords?: number;
  readonly maxDelayMs?: number;
  /** Lease on claimed jobs and batches, and the UTXO reservation TTL (default 60 s). */
  readonly leaseMs?: number;
  /** Fee rate in sat/kB (default 100 on BSV, 1000 on BTC). */
  readonly feeRate?: number;
  /** Most funding inputs per transaction (default 4). */
  readonly maxInputs?: number;
  /** Broadcast rate (default 500 tx / 3 s). */
  readonly rateLimiter?: RateLimiter;
  readonly retry?: RetryPolicy;
  /** How long `run` sleeps when the queue is empty (default 50 ms). */
  readonly pollMs?: number;
  /** OP_RETURN protocol tag (default "omt"). */
  readonly protocol?: string;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /** The transaction signer (default noble; `libsecp256k1` from `@omt/adapters/secp256k1` is ~3× faster, same bytes). */
  readonly engine?: Secp256k1Engine;
  /** Called with every error the loop survives (default: ignored). */
  readonly onError?: (error: unknown) => void;
}

/** What anchoring one batch did. */
export interface BatchOutcome {
  readonly batchId: string;
  readonly jobIds: readonly string[];
  readonly txid?: string;
  /** `sent`/`stored` on success, `signed` when the broadcast will be retried, `requeued` when the jobs went back. */
  readonly result: 'sent' | 'stored' | 'signed' | 'requeued';
  readonly error?: string;
}

function errorText(e: unknown): string {
  return isOmtError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
}

/**
 * A publishing worker. Run several (in one or many processes) over one queue and UTXO pool.
 * @example
 * ```ts
 * const worker = new PublishWorker({ queue, utxos, wallet, chain: new OfflineChainClient('bsv') });
 * await worker.drain();                  // anchor everything queued now (tests, CLI `omt worker --once`)
 * const stop = new AbortController();
 * await worker.run(stop.signal);          // or: the long-running loop with time-window batching
 * ```
 */
export class PublishWorker {
  readonly id: string;
  readonly #o: PublishWorkerOptions;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #limiter: RateLimiter;
  readonly #retry: RetryPolicy;
  readonly #leaseMs: number;
  readonly #maxRecords: number;
  readonly #maxDelayMs: number;
  readonly #maxInputs: number;
  readonly #chain: 'bsv' | 'btc';

  constructor(options: PublishWorkerOptions) {
    const o = options;
    if (o?.queue === undefined || o.utxos === undefined || o.wallet === undefined || o.chain === undefined)
      throw new OmtError(
        'ledger.worker.invalid',
        'a worker needs a queue, a UTXO store, a wallet and a chain client',
      );
    this.#random = o.random ?? platformRandom;
    this.id = o.worker ?? `worker-${toHex(this.#random(6))}`;
    if (!JOB_ID_RE.test(this.id))
      throw new OmtError('ledger.worker.invalid', 'worker id: [A-Za-z0-9._:-]{1,128}');
    const int = (v: number | undefined, d: number, min: number, max: number, what: string): number => {
      const x = v ?? d;
      if (!Number.isInteger(x) || x < min || x > max)
        throw new OmtError('ledger.worker.invalid', `${what} must be an integer in ${min}..${max}`);
      return x;
    };
    this.#maxRecords = int(o.maxRecords, 1000, 1, 1_000_000, 'maxRecords');
    this.#maxDelayMs = int(o.maxDelayMs, 200, 0, 3_600_000, 'maxDelayMs');
    this.#leaseMs = int(o.leaseMs, 60_000, 1, 86_400_000, 'leaseMs');
    this.#maxInputs = int(o.maxInputs, 4, 1, 1000, 'maxInputs');
    int(o.pollMs, 50, 1, 60_000, 'pollMs');
    if (o.wallet.network.chain !== o.chain.chain)
      throw new OmtError(
        'ledger.worker.invalid',
        `the wallet is on ${o.wallet.network.chain}, the chain client on ${o.chain.chain}`,
      );
    this.#chain = o.chain.chain;
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#limiter = o.rateLimiter ?? new RateLimiter();
    this.#retry = o.retry ?? DEFAULT_RETRY;
  }

  /** Claims up to `maxRecords` due jobs and anchors them in one transaction; undefined when none were due. */
  async runOnce(): Promise<BatchOutcome | undefined> {
    const jobs = await this.#o.queue.claim({
      worker: this.id,
      limit: this.#maxRecords,
      now: this.#clock(),
      leaseMs: this.#leaseMs,
    });
    if (jobs.length === 0) return undefined;
    return this.#anchor(jobs, sealBatch(jobs.map((j) => fromHex(j.recordHash))));
  }

  /** Recovers stalled batches, then anchors batches until no job is due; returns every outcome. */
  async drain(): Promise<BatchOutcome[]> {
    const out: BatchOutcome[] = [...(await this.recover())];
    for (;;) {
      const r = await this.runOnce();
      if (r === undefined) return out;
      out.push(r);
    }
  }

  /**
   * The long-running loop until `signal` aborts: claims jobs into a {@link Batcher} (sealed at
   * `maxRecords` or `maxDelayMs`), recovers stalled batches, and confirms sent ones now and then.
   */
  async run(signal: AbortSignal): Promise<void> {
    const pending: PublishJob[] = [];
    let inFlight = 0;
    const batcher = new Batcher<BatchOutcome>({
      maxRecords: this.#maxRecords,
      maxDelayMs: this.#maxDelayMs,
      anchor: async (sealed) => {
        // Batcher seals everything waiting, in arrival order: the first `size` pending jobs.
        const jobs = pending.splice(0, sealed.size);
        inFlight++;
        try {
          return await this.#anchor(jobs, sealed);
        } finally {
          inFlight--;
        }
      },
    });
    const sleep = (ms: number): Promise<void> => pause(ms, signal);
    let lastSweep = 0;
    while (!signal.aborted) {
      try {
        const now = this.#clock();
        if (now.getTime() - lastSweep >= 1000) {
          lastSweep = now.getTime();
          await this.recover();
          await this.confirm();
        }
        const room = this.#maxRecords - batcher.pending;
        if (inFlight >= 2 || room <= 0) {
          await sleep(this.#o.pollMs ?? 50);
          continue;
        }
        const jobs = await this.#o.queue.claim({ worker: this.id, limit: room, now, leaseMs: this.#leaseMs });
        for (const j of jobs) {
          pending.push(j);
          batcher.add(fromHex(j.recordHash)).catch((e: unknown) => this.#o.onError?.(e));
        }
        if (jobs.length === 0) await sleep(this.#o.pollMs ?? 50);
      } catch (e) {
        this.#o.onError?.(e);
        await sleep(this.#o.pollMs ?? 50);
      }
    }
    await batcher.close();
  }

  /** Builds, signs, persists and sends one batch for claimed `jobs` (sealed in this order). */
  async #anchor(jobs: readonly PublishJob[], sealed: SealedBatch): Promise<BatchOutcome> {
    const ids = jobs.map((j) => j.id);
    const batchId = `batch-${toHex(this.#random(16))}`;
    const requeue = async (e: unknown): Promise<BatchOutcome> => {
      await this.#o.queue.release(ids, this.id, errorText(e), this.#clock(), this.#retry);
      return { batchId, jobIds: ids, result: 'requeued', error: errorText(e) };
    };
    const network = this.#o.wallet.network;
    const now = this.#clock();
    let script: Uint8Array;
    try {
      script = encodeBatchAnchor(
        {
          root: sealed.root,
          n: sealed.size,
          ts: Math.floor(now.getTime() / 1000),
          ...(this.#o.protocol === undefined ? {} : { p: this.#o.protocol }),
        },
        { chain: this.#chain },
      );
    } catch (e) {
      return requeue(e);
    }
    const changeKey = await this.#o.wallet.nextChangeKey();
    const feeRate = this.#o.feeRate ?? DEFAULT_FEE_RATE[this.#chain];
    const kind: InputKind = this.#o.wallet.addressType;
    const worst = estimateTransactionSize(Array(this.#maxInputs).fill(kind), [script, changeKey.script]);
    const needed = feeForSize(worst.vsize, feeRate) + dustThreshold(changeKey.script, this.#chain);
    let reservation: UtxoReservation | undefined;
    try {
      reservation = await this.#o.utxos.reserve({
        id: `res-${toHex(this.#random(16))}`,
        worker: this.id,
        satoshis: needed,
        maxInputs: this.#maxInputs,
        now,
        ttlMs: this.#leaseMs,
      });
    } catch (e) {
      return requeue(e);
    }
    if (reservation === undefined)
      return requeue(
        new OmtError(
          'ledger.funds.insufficient',
          `no UTXOs cover ${needed} sat within ${this.#maxInputs} inputs`,
        ),
      );
    let built: ReturnType<typeof buildOpReturnTransaction>;
    try {
      const spend: SpendableUtxo[] = reservation.utxos.map((u) => {
        if (u.keyPath === undefined)
          throw new OmtError('ledger.worker.key-missing', `UTXO ${u.txid}:${u.vout} has no wallet key path`);
        const key = this.#o.wallet.keyForPath(u.keyPath);
        return {
          txid: u.txid,
          vout: u.vout,
          satoshis: u.satoshis,
          script: u.script,
          secretKey: key.secretKey,
          publicKey: key.publicKey,
        };
      });
      built = buildOpReturnTransaction({
        network,
        utxos: spend,
        opReturn: script,
        change: { script: changeKey.script },
        feeRate,
        ...(this.#o.engine === undefined ? {} : { engine: this.#o.engine }),
      });
    } catch (e) {
      await this.#o.utxos.release(reservation.id);
      return requeue(e);
    }
    try {
      await this.#o.queue.markSigned(
        {
          id: batchId,
          chain: this.#chain,
          txid: built.txid,
          rawTx: built.hex,
          vout: 0,
          reservationId: reservation.id,
          ...(built.change === undefined
            ? {}
            : { change: { vout: built.change.vout, keyPath: changeKey.path } }),
          root: toHex(sealed.root),
          size: sealed.size,
          jobs: jobs.map((j, i) => ({ id: j.id, inclusion: sealed.inclusion(i) })),
        },
        this.id,
        this.#clock(),
        this.#leaseMs,
      );
    } catch (e) {
      // Lease lost (or the store failed): this transaction must never be sent.
      await this.#o.utxos.release(reservation.id);
      if (isOmtError(e, 'ledger.job.lease-lost'))
        return { batchId, jobIds: ids, result: 'requeued', error: errorText(e) };
      return requeue(e);
    }
    const sent = await this.#send({
      id: batchId,
      txid: built.txid,
      rawTx: built.hex,
      reservationId: reservation.id,
      change: built.change === undefined ? undefined : { vout: built.change.vout, keyPath: changeKey.path },
    });
    return { batchId, jobIds: ids, txid: built.txid, ...sent };
  }

  /** markSpent → rate limit → broadcast → record. */
  async #send(
    b: Pick<JobBatch, 'id' | 'txid' | 'rawTx' | 'reservationId' | 'change'>,
  ): Promise<{ result: BatchOutcome['result']; error?: string }> {
    const q = this.#o.queue;
    try {
      await this.#o.utxos.markSpent(b.reservationId, b.txid);
    } catch (e) {
      if (!isOmtError(e, 'ledger.utxo.reservation-unknown')) {
        await q.retryBatch(b.id, errorText(e), this.#clock(), this.#retry);
        return { result: 'signed', error: errorText(e) };
      }
      // Either we marked them spent before dying, or the reservation lapsed and was re-taken.
      if (!(await this.#spentBy(b.rawTx, b.txid))) {
        await q.abandonBatch(b.id, errorText(e), this.#clock(), this.#retry);
        return { result: 'requeued', error: errorText(e) };
      }
    }
    let state: string;
    try {
      await this.#limiter.take();
      state = (await this.#o.chain.broadcast(b.rawTx)).state;
    } catch (e) {
      if (isOmtError(e, 'ledger.chain.rejected')) {
        // The inputs stay spent in the pool (never re-used); the jobs get a new transaction.
        await q.abandonBatch(b.id, errorText(e), this.#clock(), this.#retry);
        return { result: 'requeued', error: errorText(e) };
      }
      await q.retryBatch(b.id, errorText(e), this.#clock(), this.#retry);
      return { result: 'signed', error: errorText(e) };
    }
    if (state === 'rejected' || state === 'double-spend') {
      await q.abandonBatch(b.id, `ledger.chain.rejected: ${state}`, this.#clock(), this.#retry);
      return { result: 'requeued', error: `ledger.chain.rejected: ${state}` };
    }
    await this.#addChange(b);
    const status = state === 'stored' ? 'stored' : 'sent';
    await q.updateBatch(b.id, { status }, this.#clock());
    return { result: status };
  }

  async #spentBy(rawTx: string, txid: string): Promise<boolean> {
    const tx = decodeTransaction(rawTx, { witness: this.#chain === 'btc' });
    const spent = await this.#o.utxos.list({ state: 'spent' });
    const mine = new Set(spent.filter((u) => u.spentBy === txid).map((u) => `${u.txid}:${u.vout}`));
    return tx.inputs.every((i) => mine.has(`${i.txid}:${i.vout}`));
  }

  /** The change output goes back into the pool (idempotent: add ignores known outpoints). */
  async #addChange(b: Pick<JobBatch, 'txid' | 'rawTx' | 'change'>): Promise<void> {
    if (b.change === undefined) return;
    const tx = decodeTransaction(b.rawTx, { witness: this.#chain === 'btc' });
    const out = tx.outputs[b.change.vout];
    if (out === undefined || classifyScript(out.script).type === 'op-return') return;
    await this.#o.utxos.add([
      {
        txid: b.txid,
        vout: b.change.vout,
        satoshis: out.value,
        script: out.script,
        keyPath: b.change.keyPath,
      },
    ]);
  }

  /** Takes over signed batches whose worker died or whose broadcast is due for a retry. */
  async recover(limit = 100): Promise<BatchOutcome[]> {
    const batches = await this.#o.queue.claimBatches({
      worker: this.id,
      limit,
      now: this.#clock(),
      leaseMs: this.#leaseMs,
    });
    const out: BatchOutcome[] = [];
    for (const b of batches) out.push({ batchId: b.id, jobIds: [], txid: b.txid, ...(await this.#send(b)) });
    return out;
  }

  /**
   * For sent batches: asks the chain whether they were mined, fetches the BUMP, re-verifies it
   * against the block header's Merkle root, and marks the batch confirmed. Returns how many were.
   * A BUMP that does not lead to the header's root is ignored (reported to `onError`).
   */
  async confirm(limit = 100): Promise<number> {
    const batches = await this.#o.queue.listBatches({ status: 'sent', limit });
    let confirmed = 0;
    for (const b of batches) {
      try {
        const status = await this.#o.chain.txStatus(b.txid);
        if (status.state !== 'mined') continue;
        const proof = await this.#o.chain.merkleProof(b.txid);
        if (proof === undefined) continue;
        const header = await this.#o.chain.blockHeader(proof.blockHeight);
        if (header === undefined) continue;
        const bump = decodeBump(proof.bump);
        if (bump.blockHeight !== proof.blockHeight)
          throw new OmtError('ledger.anchor.bump-height-mismatch', 'the BUMP is for another block height');
        const root = toHex(bumpRoot(bump, b.txid));
        if (root !== toHex(parseBlockHeader(header).merkleRoot))
          throw new OmtError(
            'ledger.anchor.header-mismatch',
            `BUMP for ${b.txid} does not match the block header`,
          );
        await this.#o.queue.updateBatch(
          b.id,
          { status: 'confirmed', block: { height: proof.blockHeight, bump: proof.bump.toLowerCase() } },
          this.#clock(),
        );
        confirmed++;
      } catch (e) {
        this.#o.onError?.(e);
      }
    }
    return confirmed;
  }
}
