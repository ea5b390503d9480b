import { OmtError } from '@omt/core/errors';
import {
  JOB_STATUSES,
  jobErrorText,
  parseClaimRequest,
  parseJobId,
  parseNewJob,
  parseRetryPolicy,
  parseSignedBatch,
} from '@omt/ledger/job';
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
} from '@omt/ledger/ports';
import { type ColumnType, type Generated, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { GroupCommit } from './group-commit.js';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';

/** `omt_ledger_jobs` (migration 0004). */
export interface LedgerJobsTable {
  seq: Generated<string>;
  id: string;
  status: JobStatus;
  record_id: string;
  record_hash: string;
  key_id: string;
  intent: string;
  attempts: number;
  max_attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: Date | null;
  batch_id: string | null;
  /** JSON text of the record's batch inclusion proof. */
  inclusion: string | null;
  created_at: Date;
  updated_at: Date;
}

/** `omt_ledger_batches` (migration 0004). */
export interface LedgerBatchesTable {
  id: string;
  status: BatchStatus;
  chain: 'bsv' | 'btc';
  txid: string;
  raw_tx: string;
  vout: number;
  reservation_id: string;
  change_vout: number | null;
  change_key_path: string | null;
  root: string;
  size: number;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: Date | null;
  block_height: number | null;
  bump: string | null;
  created_at: Date;
  updated_at: ColumnType<Date, Date, Date>;
}

/** The job-queue tables. */
export type LedgerJobsSchema = {
  omt_ledger_jobs: LedgerJobsTable;
  omt_ledger_batches: LedgerBatchesTable;
};
type Db = OmtSchema & LedgerJobsSchema;

const ORDER: Record<BatchStatus, number> = { signed: 0, stored: 1, sent: 2, confirmed: 3, abandoned: 9 };
/** Rows per statement when a batch's jobs are updated (3 parameters each). */
const CHUNK = 5000;

/** `new Date(ms)` as a `timestamptz` parameter. */
const at = (ms: number): Date => new Date(ms);

/**
 * `JobQueue` (@omt/ledger port) over SQL (migration `0004_ledger_jobs`).
 *
 * `claim` is one statement: `UPDATE … WHERE id IN (SELECT id … ORDER BY seq LIMIT n FOR UPDATE
 * SKIP LOCKED) RETURNING *` — rows another worker is claiming are skipped, never waited for or
 * shared; a claim sets the lease and counts an attempt. A worker that dies simply lets its lease
 * lapse and the job is claimed again. `markSigned` inserts the batch and moves its jobs in one
 * transaction, and only if every job is still leased to the worker (else it rolls back with
 * `ledger.job.lease-lost`). Backoff is computed in SQL from each job's own attempt count.
 *
 * @example
 * ```ts
 * const queue = new SqlJobQueue(omt.db);
 * const jobs = await queue.claim({ worker: 'w1', limit: 1000, now: new Date(), leaseMs: 60_000 });
 * ```
 */
export class SqlJobQueue implements JobQueue {
  readonly #db: Kysely<Db>;

  /** Group commit of `enqueue`: concurrent calls share multi-row INSERTs (≤ 500 rows, 2 in flight). */
  readonly #enqueues = new GroupCommit(
    (jobs: readonly ReturnType<typeof parseNewJob>[]) => this.#insertJobs(jobs),
    {
      maxBatch: 500,
    },
  );

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db.withTables<LedgerJobsSchema>();
  }

  async enqueue(job: NewJob): Promise<PublishJob> {
    const row = await this.#enqueues.add(parseNewJob(job));
    if (row === undefined) throw new OmtError('ledger.job.conflict', 'job id already used');
    return toJob(row, undefined);
  }

  /**
   * Inserts queued jobs (one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING *); per item its
   * row, or undefined when the id was already used (before, or earlier in the same batch).
   */
  async #insertJobs(
    jobs: readonly ReturnType<typeof parseNewJob>[],
  ): Promise<(Selectable<LedgerJobsTable> | undefined)[]> {
    const rows = await runLedgerQuery('enqueueing a job', () =>
      this.#db
        .insertInto('omt_ledger_jobs')
        .values(
          jobs.map((j) => ({
            id: j.id,
            status: 'queued' as const,
            record_id: j.recordId,
            record_hash: j.recordHash,
            key_id: j.keyId,
            intent: j.intent,
            attempts: 0,
            max_attempts: j.maxAttempts,
            next_attempt_at: j.now,
            last_error: null,
            lease_owner: null,
            lease_until: null,
            batch_id: null,
            inclusion: null,
            created_at: j.now,
            updated_at: j.now,
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll()
        .execute(),
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return jobs.map((j) => {
      const row = byId.get(j.id);
      byId.delete(j.id); // a repeated id in the batch: only its first item inserted it
      return row;
    });
  }

  async claim(request: ClaimRequest): Promise<PublishJob[]> {
    const r = parseClaimRequest(request);
    const until = at(r.now.getTime() + r.leaseMs);
    const rows = await runLedgerQuery('claiming jobs', () =>
      this.#db
        .updateTable('omt_ledger_jobs')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          lease_owner: r.worker,
          lease_until: until,
          updated_at: r.now,
        }))
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('omt_ledger_jobs')
            .select('id')
            .where('status', '=', 'queued')
            .where('next_attempt_at', '<=', r.now)
            .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<=', r.now)]))
            .orderBy('seq')
            .limit(r.limit)
            .forUpdate()
            .skipLocked(),
        )
        .returningAll()
        .execute(),
    );
    return rows.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq))).map((row) => toJob(row, undefined));
  }

  async markSigned(batch: SignedBatch, worker: string, now: Date, leaseMs: number): Promise<void> {
    const b = parseSignedBatch(batch);
    const w = parseJobId(worker, 'worker');
    if (!Number.isInteger(leaseMs) || leaseMs < 1)
      throw new OmtError('ledger.job.invalid', 'leaseMs must be ≥ 1');
    await runLedgerQuery('recording a signed batch', () =>
      this.#db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('omt_ledger_batches')
          .values({
            id: b.id,
            status: 'signed',
            chain: b.chain,
            txid: b.txid,
            raw_tx: b.rawTx,
            vout: b.vout,
            reservation_id: b.reservationId,
            change_vout: b.change?.vout ?? null,
            change_key_path: b.change?.keyPath ?? null,
            root: b.root,
            size: b.size,
            attempts: 0,
            next_attempt_at: now,
            last_error: null,
            lease_owner: w,
            lease_until: at(now.getTime() + leaseMs),
            block_height: null,
            bump: null,
            created_at: now,
            updated_at: now,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted === undefined) throw new OmtError('ledger.job.conflict', 'batch id already used');
        let moved = 0;
        for (let i = 0; i < b.jobs.length; i += CHUNK) {
          const part = b.jobs.slice(i, i + CHUNK);
          const values = sql.join(part.map((j) => sql`(${j.id}, ${JSON.stringify(j.inclusion)})`));
          const r = await sql<{ id: string }>`
            update omt_ledger_jobs as j
               set status = 'signed', batch_id = ${b.id}, inclusion = v.inclusion,
                   lease_owner = null, lease_until = null, updated_at = ${now}
              from (values ${values}) as v(id, inclusion)
             where j.id = v.id and j.status = 'queued' and j.lease_owner = ${w} and j.lease_until > ${now}
            returning j.id`.execute(trx);
          moved += r.rows.length;
        }
        if (moved !== b.jobs.length)
          throw new OmtError('ledger.job.lease-lost', 'a job of the batch is no longer held by this worker');
      }),
    );
  }

  async release(
    jobIds: readonly string[],
    worker: string,
    error: string,
    now: Date,
    retry: RetryPolicy,
  ): Promise<void> {
    const w = parseJobId(worker, 'worker');
    const ids = jobIds.map((id) => parseJobId(id));
    const policy = parseRetryPolicy(retry);
    if (ids.length === 0) return;
    await runLedgerQuery('releasing jobs', (): Promise<unknown> => {
      return this.#requeue(this.#db, ids, jobErrorText(error), now, policy, w);
    });
  }

  /** Jobs back to `queued` (or `failed`), backoff from their own attempt counts. */
  async #requeue(
    db: Kysely<Db> | Transaction<Db>,
    ids: readonly string[],
    error: string,
    now: Date,
    p: RetryPolicy,
    worker?: string,
  ): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      let q = db
        .updateTable('omt_ledger_jobs')
        .set({
          status: sql`case when attempts >= max_attempts then 'failed' else 'queued' end`,
          next_attempt_at: sql`${now}::timestamptz + least(${p.baseMs}::float8 * power(2, least(greatest(attempts, 1) - 1, 40)), ${p.maxMs}::float8) * interval '1 millisecond'`,
          last_error: error,
          lease_owner: null,
          lease_until: null,
          batch_id: null,
          inclusion: null,
          updated_at: now,
        })
        .where('id', 'in', part);
      if (worker !== undefined) q = q.where('status', '=', 'queued').where('lease_owner', '=', worker);
      await q.execute();
    }
  }

  async claimBatches(request: ClaimRequest): Promise<JobBatch[]> {
    const r = parseClaimRequest(request);
    const rows = await runLedgerQuery('claiming batches', () =>
      this.#db
        .updateTable('omt_ledger_batches')
        .set({ lease_owner: r.worker, lease_until: at(r.now.getTime() + r.leaseMs) })
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('omt_ledger_batches')
            .select('id')
            .where('status', '=', 'signed')
            .where('next_attempt_at', '<=', r.now)
            .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<=', r.now)]))
            .orderBy('created_at')
            .limit(r.limit)
            .forUpdate()
            .skipLocked(),
        )
        .returningAll()
        .execute(),
    );
    return rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime()).map(toBatch);
  }

  async updateBatch(
    batchId: string,
    update: {
      readonly status: 'stored' | 'sent' | 'confirmed';
      readonly block?: { height: number; bump: string };
    },
    now: Date,
  ): Promise<void> {
    const id = parseJobId(batchId, 'batch id');
    const status = update?.status;
    if (status !== 'stored' && status !== 'sent' && status !== 'confirmed')
      throw new OmtError('ledger.job.invalid', 'status must be stored, sent or confirmed');
    const block = update.block;
    if (status === 'confirmed' && block === undefined)
      throw new OmtError('ledger.job.invalid', 'a confirmed batch needs its block');
    if (
      block !== undefined &&
      (!Number.isInteger(block.height) || block.height < 0 || !/^(?:[0-9a-f]{2})+$/.test(block.bump))
    )
      throw new OmtError('ledger.job.invalid', 'block: a height and a hex BUMP');
    await runLedgerQuery('updating a batch', () =>
      this.#db.transaction().execute(async (trx) => {
        const b = await trx
          .selectFrom('omt_ledger_batches')
          .select('status')
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst();
        if (b === undefined) throw new OmtError('ledger.job.unknown', 'no such batch');
        if (b.status === 'abandoned' || ORDER[status] < ORDER[b.status])
          throw new OmtError('ledger.job.state', `batch is ${b.status}; it cannot become ${status}`);
        await trx
          .updateTable('omt_ledger_batches')
          .set({
            status,
            lease_owner: null,
            lease_until: null,
            updated_at: now,
            ...(block === undefined ? {} : { block_height: block.height, bump: block.bump }),
          })
          .where('id', '=', id)
          .execute();
        await trx
          .updateTable('omt_ledger_jobs')
          .set({ status: status === 'stored' ? 'signed' : status, updated_at: now })
          .where('batch_id', '=', id)
          .execute();
      }),
    );
  }

  async retryBatch(batchId: string, error: string, now: Date, retry: RetryPolicy): Promise<void> {
    const id = parseJobId(batchId, 'batch id');
    const p = parseRetryPolicy(retry);
    await runLedgerQuery('rescheduling a batch', async () => {
      const r = await this.#db
        .updateTable('omt_ledger_batches')
        .set({
          attempts: sql`attempts + 1`,
          next_attempt_at: sql`${now}::timestamptz + least(${p.baseMs}::float8 * power(2, least(attempts, 40)), ${p.maxMs}::float8) * interval '1 millisecond'`,
          last_error: jobErrorText(error),
          lease_owner: null,
          lease_until: null,
          updated_at: now,
        })
        .where('id', '=', id)
        .where('status', '=', 'signed')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) await this.#stateError(id, 'is not signed');
    });
  }

  async abandonBatch(batchId: string, error: string, now: Date, retry: RetryPolicy): Promise<void> {
    const id = parseJobId(batchId, 'batch id');
    const p = parseRetryPolicy(retry);
    const text = jobErrorText(error);
    await runLedgerQuery('abandoning a batch', () =>
      this.#db.transaction().execute(async (trx) => {
        const b = await trx
          .selectFrom('omt_ledger_batches')
          .select('status')
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst();
        if (b === undefined) throw new OmtError('ledger.job.unknown', 'no such batch');
        if (b.status === 'abandoned') return;
        if (b.status !== 'signed' && b.status !== 'stored')
          throw new OmtError('ledger.job.state', `batch is ${b.status}; it cannot be abandoned`);
        await trx
          .updateTable('omt_ledger_batches')
          .set({
            status: 'abandoned',
            last_error: text,
            lease_owner: null,
            lease_until: null,
            updated_at: now,
          })
          .where('id', '=', id)
          .execute();
        const jobs = await trx
          .selectFrom('omt_ledger_jobs')
          .select('id')
          .where('batch_id', '=', id)
          .execute();
        await this.#requeue(
          trx,
          jobs.map((j) => j.id),
          text,
          now,
          p,
        );
      }),
    );
  }

  async #stateError(id: string, why: string): Promise<never> {
    const b = await this.#db
      .selectFrom('omt_ledger_batches')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirst();
    if (b === undefined) throw new OmtError('ledger.job.unknown', 'no such batch');
    throw new OmtError('ledger.job.state', `batch ${why} (it is ${b.status})`);
  }

  async get(jobId: string): Promise<PublishJob | undefined> {
    const id = parseJobId(jobId);
    const row = await runLedgerQuery('reading a job', () =>
      this.#db.selectFrom('omt_ledger_jobs').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return this.#withBatch(row);
  }

  async findByRecord(recordId: string): Promise<PublishJob | undefined> {
    if (
      typeof recordId !== 'string' ||
      recordId.length === 0 ||
      recordId.length > 512 ||
      recordId.includes('\u0000')
    )
      return undefined;
    const row = await runLedgerQuery('reading a job', () =>
      this.#db
        .selectFrom('omt_ledger_jobs')
        .selectAll()
        .where('record_id', '=', recordId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return this.#withBatch(row);
  }

  async #withBatch(row: Selectable<LedgerJobsTable> | undefined): Promise<PublishJob | undefined> {
    if (row === undefined) return undefined;
    const batchId = row.batch_id;
    const batch =
      batchId === null
        ? undefined
        : await runLedgerQuery('reading a batch', () =>
            this.#db
              .selectFrom('omt_ledger_batches')
              .selectAll()
              .where('id', '=', batchId)
              .executeTakeFirst(),
          );
    return toJob(row, batch);
  }

  async listBatches(filter: { readonly status: BatchStatus; readonly limit: number }): Promise<JobBatch[]> {
    const status = filter?.status;
    if (!(status in ORDER)) throw new OmtError('ledger.job.invalid', 'unknown batch status');
    const limit = filter.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
      throw new OmtError('ledger.job.invalid', 'limit must be 1–100,000');
    const rows = await runLedgerQuery('listing batches', () =>
      this.#db
        .selectFrom('omt_ledger_batches')
        .selectAll()
        .where('status', '=', status)
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute(),
    );
    return rows.map(toBatch);
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const rows = await runLedgerQuery('counting jobs', () =>
      this.#db
        .selectFrom('omt_ledger_jobs')
        .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy('status')
        .execute(),
    );
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }
}

function toBatch(b: Selectable<LedgerBatchesTable>): JobBatch {
  return {
    id: b.id,
    status: b.status,
    chain: b.chain,
    txid: b.txid,
    rawTx: b.raw_tx,
    vout: b.vout,
    reservationId: b.reservation_id,
    change:
      b.change_vout === null || b.change_key_path === null
        ? undefined
        : { vout: b.change_vout, keyPath: b.change_key_path },
    root: b.root,
    size: b.size,
    attempts: b.attempts,
    nextAttemptAt: new Date(b.next_attempt_at),
    lastError: b.last_error ?? undefined,
    block: b.block_height === null || b.bump === null ? undefined : { height: b.block_height, bump: b.bump },
    createdAt: new Date(b.created_at),
    updatedAt: new Date(b.updated_at),
  };
}

function toJob(
  row: Selectable<LedgerJobsTable>,
  batch: Selectable<LedgerBatchesTable> | undefined,
): PublishJob {
  return {
    id: row.id,
    status: row.status,
    recordId: row.record_id,
    recordHash: row.record_hash,
    keyId: row.key_id,
    intent: row.intent,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    nextAttemptAt: new Date(row.next_attempt_at),
    lastError: row.last_error ?? undefined,
    leaseOwner: row.lease_owner ?? undefined,
    leaseUntil: row.lease_until === null ? undefined : new Date(row.lease_until),
    inclusion: row.inclusion === null ? undefined : (JSON.parse(row.inclusion) as StoredInclusion),
    batch: batch === undefined ? undefined : toBatch(batch),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
