/**
 * An operator's anchoring job: now and then it publishes the operator's latest checkpoint through
 * the publishing pipeline (a signed intent whose record is the checkpoint record of
 * checkpoint-anchor.ts → batch → OP_RETURN transaction → block), waits until the job is confirmed
 * in a block, and hands the anchored checkpoint (the signed note with its anchoring proof) to the
 * operator, which serves it to clients with every chain view (`EventOperator.addAnchor`).
 *
 * - At most one publication is in flight; a new one starts only when the log grew past what is
 *   anchored or in flight, and at least `everyMs` after the previous one (default 10 minutes: one
 *   OP_RETURN output per operator per interval, whatever the event rate).
 * - Only confirmed proofs are handed over: a proof without a block proves nothing about time.
 * - A job the publisher reports `failed` (or forgets) is dropped, and the then-latest checkpoint
 *   is published at the next interval.
 * - After a restart the job in flight is found again by its record id
 *   (`omt:checkpoint:<origin>:<size>`) when the latest checkpoint is still the one published; if
 *   the log grew meanwhile, the newer checkpoint is published and the older job is left to finish
 *   unused.
 *
 * @example
 * ```ts
 * const anchorer = new CheckpointAnchorer({ log: operator, publisher, signer });
 * const stop = new AbortController();
 * void anchorer.run(stop.signal); // ticks every pollMs until aborted
 * ```
 */
import { OmtError } from '@omt/core/errors';
import { type Clock, systemClock } from '@omt/core/random';
import { type AnchoredCheckpoint, checkpointRecord } from './checkpoint-anchor.js';
import { createIntent, type IntentSigner } from './intent.js';
import { pause } from './job.js';
import type { JobView, PublishResult } from './publisher.js';

/** What the anchorer needs of the publishing service: a `Publisher`, or `HttpPublishClient`. */
export interface AnchorPublisher {
  publish(intent: unknown): Promise<PublishResult>;
  job(id: string): Promise<JobView | undefined>;
  /** The latest job of a record id (`rid`). */
  record(recordId: string): Promise<JobView | undefined>;
}

/** What the anchorer needs of the operator (`EventOperator` has all three). */
export interface AnchoredLog {
  /** The latest signed checkpoint (note text). */
  checkpoint(): Promise<string>;
  /** The anchored checkpoints already served. */
  anchors(): readonly AnchoredCheckpoint[];
  addAnchor(anchored: AnchoredCheckpoint): Promise<void>;
}

/** Options of a {@link CheckpointAnchorer}. */
export interface CheckpointAnchorerOptions {
  readonly log: AnchoredLog;
  readonly publisher: AnchorPublisher;
  /** The operator's publishing key; the publisher's key registry must hold it. */
  readonly signer: IntentSigner;
  /** Least time between two publications (ms); default 600,000 (10 min), at least 1. */
  readonly everyMs?: number;
  /** Time between ticks of {@link CheckpointAnchorer.run} (ms); default 5,000, at least 1. */
  readonly pollMs?: number;
  readonly clock?: Clock;
  /** Errors of {@link CheckpointAnchorer.run}'s ticks (the loop goes on). */
  readonly onError?: (error: unknown) => void;
}

/** What one {@link CheckpointAnchorer.tick} did. */
export type AnchorTick =
  | { readonly action: 'idle'; readonly reason: 'empty-log' | 'nothing-new' | 'too-soon' }
  | { readonly action: 'published'; readonly jobId: string; readonly size: number }
  | { readonly action: 'resumed'; readonly jobId: string; readonly size: number }
  | {
      readonly action: 'waiting';
      readonly jobId: string;
      readonly size: number;
      readonly status: JobView['status'];
    }
  | { readonly action: 'anchored'; readonly size: number; readonly blockHeight: number }
  | {
      readonly action: 'failed';
      readonly jobId: string;
      readonly size: number;
      readonly error: string;
    };

interface InFlight {
  readonly jobId: string;
  readonly size: number;
  readonly checkpoint: string;
}

function positive(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1 || x > 2_147_483_647)
    throw new OmtError('ledger.anchorer.invalid', `${name} must be a whole number of ms, 1 – 2³¹−1`);
  return x;
}

/** Publishes an operator's checkpoints for anchoring and hands confirmed anchors back to it. */
export class CheckpointAnchorer {
  readonly #o: CheckpointAnchorerOptions;
  readonly #everyMs: number;
  readonly #pollMs: number;
  readonly #clock: Clock;
  #inFlight: InFlight | undefined;
  /** Log size published last (in flight or done), so an unchanged log is not published twice. */
  #publishedSize = 0;
  #lastPublishedAt = Number.NEGATIVE_INFINITY;
  #resumeChecked = false;
  #ticking: Promise<AnchorTick> | undefined;

  constructor(options: CheckpointAnchorerOptions) {
    if (options?.log === undefined || options.publisher === undefined || options.signer === undefined)
      throw new OmtError('ledger.anchorer.invalid', 'an anchorer needs a log, a publisher and a signer');
    this.#o = options;
    this.#everyMs = positive('everyMs', options.everyMs, 600_000);
    this.#pollMs = positive('pollMs', options.pollMs, 5_000);
    this.#clock = options.clock ?? systemClock;
  }

  /** The publication in flight, if any. */
  get inFlight(): { readonly jobId: string; readonly size: number } | undefined {
    const f = this.#inFlight;
    return f === undefined ? undefined : { jobId: f.jobId, size: f.size };
  }

  /**
   * One step: follows the job in flight (handing its anchor over once confirmed), or publishes the
   * latest checkpoint when the log grew and the interval passed. Calls never overlap: a call made
   * while one runs gets that one's result. Throws `ledger.anchorer.refused` when the publisher
   * refuses the intent (with its problems), and whatever the publisher, the log or the signer throw.
   */
  tick(): Promise<AnchorTick> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tick(): Promise<AnchorTick> {
    const f = this.#inFlight;
    if (f !== undefined) return this.#follow(f);
    const note = await this.#o.log.checkpoint();
    const record = checkpointRecord(note);
    if (record.size === 0) return { action: 'idle', reason: 'empty-log' };
    const anchored = this.#anchoredSize();
    if (record.size <= Math.max(anchored, this.#publishedSize))
      return { action: 'idle', reason: 'nothing-new' };
    if (!this.#resumeChecked) {
      this.#resumeChecked = true;
      const prior = await this.#o.publisher.record(record.rid);
      if (prior !== undefined && prior.status !== 'failed') {
        this.#inFlight = { jobId: prior.id, size: record.size, checkpoint: note };
        this.#publishedSize = record.size;
        this.#lastPublishedAt = Date.parse(prior.createdAt);
        return { action: 'resumed', jobId: prior.id, size: record.size };
      }
    }
    const now = this.#clock().getTime();
    if (now - this.#lastPublishedAt < this.#everyMs) return { action: 'idle', reason: 'too-soon' };
    const intent = await createIntent({ ...record }, this.#o.signer, { clock: this.#clock });
    const r = await this.#o.publisher.publish(intent);
    if (!r.accepted) {
      const first = r.problems[0];
      throw new OmtError(
        'ledger.anchorer.refused',
        `the publisher refused checkpoint ${record.rid}: ${r.problems.map((p) => `${p.code}: ${p.message}`).join('; ') || 'no reason given'}`,
        { details: { problems: r.problems, ...(first === undefined ? {} : { code: first.code }) } },
      );
    }
    this.#inFlight = { jobId: r.jobId, size: record.size, checkpoint: note };
    this.#publishedSize = record.size;
    this.#lastPublishedAt = now;
    return { action: 'published', jobId: r.jobId, size: record.size };
  }

  async #follow(f: InFlight): Promise<AnchorTick> {
    const view = await this.#o.publisher.job(f.jobId);
    if (view === undefined || view.status === 'failed') {
      this.#inFlight = undefined;
      // Published again (the then-latest checkpoint) once the interval passed.
      this.#publishedSize = this.#anchoredSize();
      const error =
        view === undefined ? 'the publisher does not know the job' : (view.lastError ?? 'the job failed');
      return { action: 'failed', jobId: f.jobId, size: f.size, error };
    }
    const proof = view.proof;
    if (view.status !== 'confirmed' || proof?.block === undefined)
      return { action: 'waiting', jobId: f.jobId, size: f.size, status: view.status };
    await this.#o.log.addAnchor({ checkpoint: f.checkpoint, proof });
    this.#inFlight = undefined;
    return { action: 'anchored', size: f.size, blockHeight: proof.block.height };
  }

  /** The largest log size among the anchors the log serves (0 when none). */
  #anchoredSize(): number {
    let max = 0;
    for (const a of this.#o.log.anchors()) {
      try {
        max = Math.max(max, checkpointRecord(a.checkpoint).size);
      } catch {
        // not a checkpoint this anchorer can read: ignore
      }
    }
    return max;
  }

  /**
   * Ticks every `pollMs` until `signal` aborts; a failing tick goes to `onError` and the loop goes
   * on. Resolves once stopped (after the tick in progress).
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.tick();
      } catch (e) {
        this.#o.onError?.(e);
      }
      if (signal.aborted) break;
      await pause(this.#pollMs, signal);
    }
  }
}
