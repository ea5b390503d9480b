import { OmtError } from '@omt/core/errors';
import {
  JOB_STATUSES,
  jobErrorText,
  parseClaimRequest,
  parseJobId,
  parseNewJob,
  parseRetryPolicy,
  parseSignedBatch,
  retryDelay,
  storedInclusion,
} from './job.js';
import type {
  BatchStatus,
  ClaimRequest,
  JobBatch,
  JobQueue,
  JobStatus,
  NewJob,
  PublishJob,
  RetryPolicy,
  SignedBatch,
  StoredInclusion,
} from './ports.js';

type JobRow = {
  -readonly [K in keyof PublishJob]: PublishJob[K];
} & { seq: number; batchId?: string | undefined };
type BatchRow = { -readonly [K in keyof JobBatch]: JobBatch[K] } & {
  leaseOwner?: string | undefined;
  leaseUntil?: number | undefined;
  jobIds: string[];
};

const ORDER: Record<BatchStatus, number> = { signed: 0, stored: 1, sent: 2, confirmed: 3, abandoned: 9 };

/**
 * In-process {@link JobQueue} (tests, single-process tools). Each method runs without an `await`
 * in between, so it is atomic within one realm; several processes share `SqlJobQueue` instead.
 * @example
 * ```ts
 * const queue = new MemoryJobQueue();
 * const publisher = new Publisher({ queue, registry, nonces });
 * ```
 */
export class MemoryJobQueue implements JobQueue {
  readonly #jobs = new Map<string, JobRow>();
  readonly #batches = new Map<string, BatchRow>();
  #seq = 0;

  async enqueue(job: NewJob): Promise<PublishJob> {
    const j = parseNewJob(job);
    if (this.#jobs.has(j.id)) throw new OmtError('ledger.job.conflict', 'job id already used');
    const row: JobRow = {
      id: j.id,
      status: 'queued',
      recordId: j.recordId,
      recordHash: j.recordHash,
      keyId: j.keyId,
      intent: j.intent,
      attempts: 0,
      maxAttempts: j.maxAttempts,
      nextAttemptAt: j.now,
      createdAt: j.now,
      updatedAt: j.now,
      seq: this.#seq++,
    };
    this.#jobs.set(j.id, row);
    return this.#view(row);
  }

  async claim(request: ClaimRequest): Promise<PublishJob[]> {
    const r = parseClaimRequest(request);
    const now = r.now.getTime();
    const due = [...this.#jobs.values()]
      .filter(
        (j) =>
          j.status === 'queued' &&
          j.nextAttemptAt.getTime() <= now &&
          (j.leaseUntil === undefined || j.leaseUntil.getTime() <= now),
      )
      .sort((a, b) => a.seq - b.seq)
      .slice(0, r.limit);
    for (const j of due) {
      j.attempts++;
      j.leaseOwner = r.worker;
      j.leaseUntil = new Date(now + r.leaseMs);
      j.updatedAt = r.now;
    }
    return due.map((j) => this.#view(j));
  }

  async markSigned(batch: SignedBatch, worker: string, now: Date, leaseMs: number): Promise<void> {
    const b = parseSignedBatch(batch);
    const w = parseJobId(worker, 'worker');
    if (this.#batches.has(b.id)) throw new OmtError('ledger.job.conflict', 'batch id already used');
    const rows = b.jobs.map((j) => this.#jobs.get(j.id));
    const t = now.getTime();
    for (const row of rows)
      if (
        row === undefined ||
        row.status !== 'queued' ||
        row.leaseOwner !== w ||
        (row.leaseUntil?.getTime() ?? 0) <= t
      )
        throw new OmtError('ledger.job.lease-lost', 'a job of the batch is no longer held by this worker');
    this.#batches.set(b.id, {
      id: b.id,
      status: 'signed',
      chain: b.chain,
      txid: b.txid,
      rawTx: b.rawTx,
      vout: b.vout,
      reservationId: b.reservationId,
      change: b.change === undefined ? undefined : { ...b.change },
      root: b.root,
      size: b.size,
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      updatedAt: now,
      leaseOwner: w,
      leaseUntil: t + leaseMs,
      jobIds: b.jobs.map((j) => j.id),
    });
    b.jobs.forEach((j, k) => {
      const row = rows[k] as JobRow;
      row.status = 'signed';
      row.batchId = b.id;
      row.inclusion = storedInclusion(j.inclusion);
      row.leaseOwner = undefined;
      row.leaseUntil = undefined;
      row.updatedAt = now;
    });
  }

  async release(
    jobIds: readonly string[],
    worker: string,
    error: string,
    now: Date,
    retry: RetryPolicy,
  ): Promise<void> {
    const w = parseJobId(worker, 'worker');
    const policy = parseRetryPolicy(retry);
    for (const id of jobIds) {
      const row = this.#jobs.get(parseJobId(id));
      if (row === undefined || row.status !== 'queued' || row.leaseOwner !== w) continue;
      this.#requeue(row, error, now, policy);
    }
  }

  #requeue(row: JobRow, error: string, now: Date, policy: RetryPolicy): void {
    row.status = row.attempts >= row.maxAttempts ? 'failed' : 'queued';
    row.nextAttemptAt = new Date(now.getTime() + retryDelay(row.attempts, policy));
    row.lastError = jobErrorText(error);
    row.leaseOwner = undefined;
    row.leaseUntil = undefined;
    row.batchId = undefined;
    row.inclusion = undefined;
    row.updatedAt = now;
  }

  async claimBatches(request: ClaimRequest): Promise<JobBatch[]> {
    const r = parseClaimRequest(request);
    const now = r.now.getTime();
    const due = [...this.#batches.values()]
      .filter(
        (b) =>
          b.status === 'signed' &&
          b.nextAttemptAt.getTime() <= now &&
          (b.leaseUntil === undefined || b.leaseUntil <= now),
      )
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, r.limit);
    for (const b of due) {
      b.leaseOwner = r.worker;
      b.leaseUntil = now + r.leaseMs;
    }
    return due.map((b) => batchView(b));
  }

  async updateBatch(
    batchId: string,
    update: {
      readonly status: 'stored' | 'sent' | 'confirmed';
      readonly block?: { height: number; bump: string };
    },
    now: Date,
  ): Promise<void> {
    const b = this.#batch(batchId);
    if (!['stored', 'sent', 'confirmed'].includes(update.status))
      throw new OmtError('ledger.job.invalid', 'status must be stored, sent or confirmed');
    if (update.status === 'confirmed' && update.block === undefined)
      throw new OmtError('ledger.job.invalid', 'a confirmed batch needs its block');
    if (b.status === 'abandoned' || ORDER[update.status] < ORDER[b.status])
      throw new OmtError('ledger.job.state', `batch is ${b.status}; it cannot become ${update.status}`);
    b.status = update.status;
    if (update.block !== undefined) b.block = { height: update.block.height, bump: update.block.bump };
    b.leaseOwner = undefined;
    b.leaseUntil = undefined;
    b.updatedAt = now;
    const jobStatus: JobStatus = update.status === 'stored' ? 'signed' : update.status;
    for (const id of b.jobIds) {
      const row = this.#jobs.get(id) as JobRow;
      row.status = jobStatus;
      row.updatedAt = now;
    }
  }

  async retryBatch(batchId: string, error: string, now: Date, retry: RetryPolicy): Promise<void> {
    const b = this.#batch(batchId);
    const policy = parseRetryPolicy(retry);
    if (b.status !== 'signed') throw new OmtError('ledger.job.state', `batch is ${b.status}, not signed`);
    b.attempts++;
    b.nextAttemptAt = new Date(now.getTime() + retryDelay(b.attempts, policy));
    b.lastError = jobErrorText(error);
    b.leaseOwner = undefined;
    b.leaseUntil = undefined;
    b.updatedAt = now;
  }

  async abandonBatch(batchId: string, error: string, now: Date, retry: RetryPolicy): Promise<void> {
    const b = this.#batch(batchId);
    const policy = parseRetryPolicy(retry);
    if (b.status === 'abandoned') return;
    if (b.status !== 'signed' && b.status !== 'stored')
      throw new OmtError('ledger.job.state', `batch is ${b.status}; it cannot be abandoned`);
    b.status = 'abandoned';
    b.lastError = jobErrorText(error);
    b.leaseOwner = undefined;
    b.leaseUntil = undefined;
    b.updatedAt = now;
    for (const id of b.jobIds) this.#requeue(this.#jobs.get(id) as JobRow, error, now, policy);
  }

  async get(jobId: string): Promise<PublishJob | undefined> {
    const row = this.#jobs.get(parseJobId(jobId));
    return row === undefined ? undefined : this.#view(row);
  }

  async findByRecord(recordId: string): Promise<PublishJob | undefined> {
    let best: JobRow | undefined;
    for (const row of this.#jobs.values())
      if (row.recordId === recordId && (best === undefined || row.seq > best.seq)) best = row;
    return best === undefined ? undefined : this.#view(best);
  }

  async listBatches(filter: { readonly status: BatchStatus; readonly limit: number }): Promise<JobBatch[]> {
    return [...this.#batches.values()]
      .filter((b) => b.status === filter.status)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, filter.limit)
      .map((b) => batchView(b));
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const row of this.#jobs.values()) out[row.status]++;
    return out;
  }

  #batch(batchId: string): BatchRow {
    const b = this.#batches.get(parseJobId(batchId, 'batch id'));
    if (b === undefined) throw new OmtError('ledger.job.unknown', 'no such batch');
    return b;
  }

  #view(row: JobRow): PublishJob {
    const b = row.batchId === undefined ? undefined : this.#batches.get(row.batchId);
    return {
      id: row.id,
      status: row.status,
      recordId: row.recordId,
      recordHash: row.recordHash,
      keyId: row.keyId,
      intent: row.intent,
      attempts: row.attempts,
      maxAttempts: row.maxAttempts,
      nextAttemptAt: row.nextAttemptAt,
      lastError: row.lastError,
      leaseOwner: row.leaseOwner,
      leaseUntil: row.leaseUntil,
      inclusion: row.inclusion === undefined ? undefined : storedInclusion(row.inclusion as StoredInclusion),
      batch: b === undefined ? undefined : batchView(b),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }
}

function batchView(b: BatchRow): JobBatch {
  return {
    id: b.id,
    status: b.status,
    chain: b.chain,
    txid: b.txid,
    rawTx: b.rawTx,
    vout: b.vout,
    reservationId: b.reservationId,
    change: b.change,
    root: b.root,
    size: b.size,
    attempts: b.attempts,
    nextAttemptAt: b.nextAttemptAt,
    lastError: b.lastError,
    block: b.block,
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
  };
}
