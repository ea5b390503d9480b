/**
 * The publisher's front half: `publish(intent)` verifies a signed intent (schema, signature,
 * registered signer, fresh nonce, timestamp; every decision audited — intent.ts) and enqueues
 * it as a job; `job(id)` / `record(rid)` report a job with its anchoring proof once signed.
 * The back half — batching, signing, broadcasting — is {@link PublishWorker} (publisher-worker.ts).
 */
import type { AuditLog } from '@omt/core/audit-log';
import { toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { canonicalize } from '@omt/core/jcs';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { type AnchorProof, anchorProof } from './anchor.js';
import { type Intent, type IntentProblem, type IntentRecord, verifyIntent } from './intent.js';
import { DEFAULT_MAX_ATTEMPTS } from './job.js';
import type { BatchStatus, JobQueue, JobStatus, KeyRegistry, NonceStore, PublishJob } from './ports.js';

/** Options of a {@link Publisher}. */
export interface PublisherOptions {
  readonly queue: JobQueue;
  readonly registry: KeyRegistry;
  readonly nonces: NonceStore;
  /** Every verification decision is appended here (action `ledger.intent.verify`). */
  readonly audit?: AuditLog;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /** Allowed clock skew of intents (ms); default ±10 min. */
  readonly skewMs?: number;
  /** Attempts before a job is `failed`; default 5. */
  readonly maxAttempts?: number;
}

/** Result of {@link Publisher.publish}. */
export type PublishResult =
  | {
      readonly accepted: true;
      readonly jobId: string;
      readonly recordId: string;
      readonly recordHash: string;
    }
  | { readonly accepted: false; readonly problems: readonly IntentProblem[] };

/** A job as reported to clients (JSON-ready). */
export interface JobView {
  readonly id: string;
  readonly status: JobStatus;
  readonly recordId: string;
  readonly recordHash: string;
  readonly keyId: string;
  readonly record: IntentRecord;
  readonly attempts: number;
  readonly lastError?: string;
  /** From `signed` on. */
  readonly txid?: string;
  readonly rawTx?: string;
  readonly batchStatus?: BatchStatus;
  /** The anchoring proof (anchor.ts); it carries `block` once confirmed. */
  readonly proof?: AnchorProof;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * The record id jobs are looked up by: the record's `rid` when it is a non-empty string
 * (≤ 512 characters), else the hex record hash.
 */
export function recordIdOf(record: IntentRecord, recordHash: string): string {
  const rid = record.rid;
  return typeof rid === 'string' && rid.length > 0 && rid.length <= 512 && !rid.includes('\u0000')
    ? rid
    : recordHash;
}

/**
 * Verifies and enqueues publishing intents; reports jobs.
 * @example
 * ```ts
 * const publisher = new Publisher({ queue: new SqlJobQueue(db), registry, nonces, audit });
 * const r = await publisher.publish(intentJson);   // { accepted: true, jobId, recordId, recordHash }
 * const view = await publisher.job(r.jobId);        // { status: 'queued', … } → later 'signed' with proof
 * ```
 */
export class Publisher {
  readonly #o: PublisherOptions;
  readonly #clock: Clock;
  readonly #random: RandomSource;

  constructor(options: PublisherOptions) {
    if (options?.queue === undefined || options.registry === undefined || options.nonces === undefined)
      throw new OmtError(
        'ledger.publisher.invalid',
        'a publisher needs a queue, a key registry and a nonce store',
      );
    const max = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(max) || max < 1 || max > 1000)
      throw new OmtError('ledger.publisher.invalid', 'maxAttempts must be 1–1000');
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? platformRandom;
  }

  /**
   * Verifies an intent (object, JSON text or bytes) and, when valid, enqueues it. Invalid
   * intents are not enqueued; the result lists every problem (intent.ts codes).
   */
  async publish(input: unknown): Promise<PublishResult> {
    const v = await verifyIntent(input, {
      registry: this.#o.registry,
      nonces: this.#o.nonces,
      clock: this.#clock,
      ...(this.#o.audit === undefined ? {} : { audit: this.#o.audit }),
      ...(this.#o.skewMs === undefined ? {} : { skewMs: this.#o.skewMs }),
    });
    if (!v.valid || v.intent === undefined || v.hash === undefined || v.keyId === undefined)
      return { accepted: false, problems: v.problems };
    const recordId = recordIdOf(v.intent.record, v.hash);
    const job = await this.#o.queue.enqueue({
      id: `job-${toHex(this.#random(16))}`,
      recordId,
      recordHash: v.hash,
      keyId: v.keyId,
      intent: canonicalize(v.intent),
      maxAttempts: this.#o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      now: this.#clock(),
    });
    return { accepted: true, jobId: job.id, recordId, recordHash: v.hash };
  }

  /** A job by id, or undefined (malformed ids too). */
  async job(id: string): Promise<JobView | undefined> {
    if (typeof id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(id)) return undefined;
    const job = await this.#o.queue.get(id);
    return job === undefined ? undefined : jobView(job);
  }

  /** The latest job of a record id (`rid`, or the record hash), or undefined. */
  async record(recordId: string): Promise<JobView | undefined> {
    const job = await this.#o.queue.findByRecord(recordId);
    return job === undefined ? undefined : jobView(job);
  }

  /** Job counts per status. */
  async counts(): Promise<Record<JobStatus, number>> {
    return this.#o.queue.counts();
  }
}

/**
 * The client view of a stored job, with its anchoring proof assembled from the batch
 * inclusion proof, the raw transaction and (once confirmed) the block's BUMP.
 * @example
 * ```ts
 * const view = jobView(await queue.get(id));
 * await verifyAnchorProof(view.proof, { headers });
 * ```
 */
export function jobView(job: PublishJob): JobView {
  const intent = JSON.parse(job.intent) as Intent;
  const b = job.batch;
  let proof: AnchorProof | undefined;
  if (b !== undefined && job.inclusion !== undefined && b.status !== 'abandoned')
    proof = anchorProof({
      batch: { ...job.inclusion, proof: [...job.inclusion.proof] },
      tx: { chain: b.chain, raw: b.rawTx, vout: b.vout },
      record: intent.record as unknown as Record<string, unknown>,
      ...(b.block === undefined ? {} : { block: { height: b.block.height, bump: b.block.bump } }),
    });
  return {
    id: job.id,
    status: job.status,
    recordId: job.recordId,
    recordHash: job.recordHash,
    keyId: job.keyId,
    record: intent.record,
    attempts: job.attempts,
    ...(job.lastError === undefined ? {} : { lastError: job.lastError }),
    ...(b === undefined || proof === undefined
      ? {}
      : { txid: b.txid, rawTx: b.rawTx, batchStatus: b.status }),
    ...(proof === undefined ? {} : { proof }),
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
  };
}
