/**
 * Writes KMS decisions into the hash-chained audit log (core `AuditLog`).
 *
 * Governance actions, denials, L1 calls and key lifecycle events are written *before* the call
 * returns (`write`). Allowed data operations (one per encrypt/decrypt) are queued and appended in
 * batches (`note`), at most `flushMs` later or every `batchSize` events, so the warm path does no
 * store round trip; `flush()` forces them out (call it before shutdown). Order is preserved: a
 * `write` first appends everything queued before it.
 */
import type { AuditEvent, AuditLog } from '@omt/core/audit-log';

export interface AuditRecorderOptions {
  /** Largest queued batch (default 256). */
  readonly batchSize?: number;
  /** Longest a queued event waits (default 50 ms). */
  readonly flushMs?: number;
}

/**
 * @example
 * ```ts
 * const rec = new AuditRecorder(new AuditLog(store, { log: 'kms' }));
 * await rec.write({ actor: 'ops', action: 'kms.tenant.revoke', subject: 'tenant:acme', outcome: 'success' });
 * ```
 */
export class AuditRecorder {
  readonly #log: AuditLog | undefined;
  readonly #batchSize: number;
  readonly #flushMs: number;
  #queue: AuditEvent[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pending: Promise<void> = Promise.resolve();
  /** The last error of a background flush (surfaced by the next `flush`/`write`). */
  #error: unknown;

  constructor(log: AuditLog | undefined, options: AuditRecorderOptions = {}) {
    this.#log = log;
    this.#batchSize = options.batchSize ?? 256;
    this.#flushMs = options.flushMs ?? 50;
  }

  /** Queues an event (allowed data operations). */
  note(event: AuditEvent): void {
    if (this.#log === undefined) return;
    this.#queue.push(event);
    if (this.#queue.length >= this.#batchSize) {
      void this.flush().catch(() => undefined);
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush().catch(() => undefined);
      }, this.#flushMs);
    }
  }

  /** Appends queued events and then `event`, and waits for the store. */
  async write(event: AuditEvent): Promise<void> {
    if (this.#log === undefined) return;
    this.#queue.push(event);
    await this.flush();
  }

  /** Appends every queued event now. */
  async flush(): Promise<void> {
    if (this.#log === undefined) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const log = this.#log;
    const batch = this.#queue;
    this.#queue = [];
    const run = this.#pending.then(async () => {
      if (batch.length > 0) await log.appendBatch(batch);
    });
    this.#pending = run.catch((e) => {
      this.#error = e;
    });
    await run;
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      throw e;
    }
  }
}
