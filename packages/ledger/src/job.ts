/**
 * Publishing jobs: the shared parsers and the retry rule every {@link JobQueue} uses, so all
 * implementations validate and back off alike (the queue itself is a port, ports.ts).
 */
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import type { ClaimRequest, JobStatus, NewJob, RetryPolicy, SignedBatch, StoredInclusion } from './ports.js';

/**
 * Waits `ms`, or less when `signal` aborts first: the pause between rounds of a background loop
 * (`PublishWorker.run`, `CheckpointAnchorer.run`). The abort listener is removed when the timer
 * fires, so a long-running loop does not pile listeners up on its signal.
 * @example `while (!signal.aborted) { await work(); await pause(50, signal); }`
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Job, batch and worker ids: 1–128 characters `[A-Za-z0-9._:-]`. */
export const JOB_ID_RE: RegExp = /^[A-Za-z0-9._:-]{1,128}$/;
/** Every job status. */
export const JOB_STATUSES: readonly JobStatus[] = Object.freeze([
  'queued',
  'signed',
  'sent',
  'confirmed',
  'failed',
]);
/** Default retry policy: 1 s, 2 s, 4 s, … capped at 5 min. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ baseMs: 1000, maxMs: 300_000 });
/** Default attempts before a job is `failed`. */
export const DEFAULT_MAX_ATTEMPTS = 5;

const id = () => z.string().check(z.regex(JOB_ID_RE));
const hex32 = () => z.string().check(z.regex(/^[0-9a-f]{64}$/));
const date = () => z.date().check(z.refine((d) => !Number.isNaN(d.getTime()), 'invalid date'));

const NewJobSchema = z.strictObject({
  id: id(),
  recordId: z.string().check(z.minLength(1), z.maxLength(512)),
  recordHash: hex32(),
  keyId: hex32(),
  intent: z.string().check(z.minLength(2), z.maxLength(1_000_000)),
  maxAttempts: z.number().check(z.int(), z.minimum(1), z.maximum(1000)),
  now: date(),
});

const ClaimSchema = z.strictObject({
  worker: id(),
  limit: z.number().check(z.int(), z.minimum(1), z.maximum(10_000)),
  now: date(),
  leaseMs: z.number().check(z.int(), z.minimum(1), z.maximum(86_400_000)),
});

const InclusionSchema = z.strictObject({
  recordHash: hex32(),
  index: z.number().check(z.int(), z.minimum(0)),
  size: z.number().check(z.int(), z.minimum(1)),
  root: hex32(),
  proof: z.array(hex32()).check(z.maxLength(64)),
});

const SignedBatchSchema = z.strictObject({
  id: id(),
  chain: z.enum(['bsv', 'btc']),
  txid: hex32(),
  rawTx: z.string().check(z.regex(/^(?:[0-9a-f]{2})+$/), z.maxLength(20_000_000)),
  vout: z.number().check(z.int(), z.minimum(0)),
  reservationId: id(),
  change: z.optional(
    z.strictObject({
      vout: z.number().check(z.int(), z.minimum(0)),
      keyPath: z.string().check(z.regex(/^m(?:\/[0-9]{1,10}'?){0,16}$/)),
    }),
  ),
  root: hex32(),
  size: z.number().check(z.int(), z.minimum(1)),
  jobs: z
    .array(z.strictObject({ id: id(), inclusion: InclusionSchema }))
    .check(z.minLength(1), z.maxLength(1_000_000)),
});

const RetrySchema = z.strictObject({
  baseMs: z.number().check(z.int(), z.minimum(0), z.maximum(86_400_000)),
  maxMs: z.number().check(z.int(), z.minimum(0), z.maximum(7 * 86_400_000)),
});

/** Parses a job to enqueue (`ledger.job.invalid`). */
export function parseNewJob(job: unknown): NewJob {
  return parseInput(NewJobSchema, job, 'ledger.job.invalid', 'job');
}

/** Parses a claim request (`ledger.job.invalid`). */
export function parseClaimRequest(request: unknown): ClaimRequest {
  return parseInput(ClaimSchema, request, 'ledger.job.invalid', 'claim request');
}

/** Parses a signed batch; its jobs must be distinct and match its size and root (`ledger.job.invalid`). */
export function parseSignedBatch(batch: unknown): SignedBatch {
  const b = parseInput(SignedBatchSchema, batch, 'ledger.job.invalid', 'signed batch');
  const ids = new Set(b.jobs.map((j) => j.id));
  const consistent =
    ids.size === b.jobs.length &&
    b.jobs.length === b.size &&
    b.jobs.every((j) => j.inclusion.root === b.root && j.inclusion.size === b.size);
  if (!consistent)
    throw new OmtError('ledger.job.invalid', 'invalid signed batch: its jobs, size and root disagree');
  return b as SignedBatch;
}

/** Parses an id argument (`ledger.job.invalid`). */
export function parseJobId(value: unknown, what = 'job id'): string {
  return parseInput(id(), value, 'ledger.job.invalid', what);
}

/** Parses a retry policy (`ledger.job.invalid`). */
export function parseRetryPolicy(value: unknown): RetryPolicy {
  return parseInput(RetrySchema, value, 'ledger.job.invalid', 'retry policy');
}

/** Parses an error text to store: trimmed to 1,000 characters. */
export function jobErrorText(error: unknown): string {
  return String(error).slice(0, 1000);
}

/**
 * The backoff after `attempts` failed attempts: min(baseMs × 2^(attempts−1), maxMs).
 * @example
 * ```ts
 * retryDelay(3, { baseMs: 1000, maxMs: 60_000 }); // 4000
 * ```
 */
export function retryDelay(attempts: number, policy: RetryPolicy): number {
  const n = Math.max(1, Math.floor(attempts));
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 40));
}

/** A stored inclusion proof from its parts (used by stores when reading). */
export function storedInclusion(value: StoredInclusion): StoredInclusion {
  return {
    recordHash: value.recordHash,
    index: value.index,
    size: value.size,
    root: value.root,
    proof: [...value.proof],
  };
}
