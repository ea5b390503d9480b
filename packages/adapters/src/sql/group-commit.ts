import { Coalescer } from '@omt/core/coalesce';
import { OmtError } from '@omt/core/errors';

/** A data error (SQLSTATE class 22) or a constraint one (23) behind a store's OmtError. */
export function isRowError(e: unknown): boolean {
  const code = (e instanceof OmtError ? (e.cause as { code?: unknown } | undefined) : undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/**
 * Group commit for one-row statements (the job queue's and nonce store's INSERTs, the key
 * registry's lookups): at most `maxInFlight` statements at once; calls made meanwhile queue and go
 * together (up to `maxBatch` per statement), so many concurrent callers cost a few round trips. A
 * call only ever joins a statement not yet sent, so its answer reflects the database after it was
 * made. `run` writes a batch and answers per item, in order. When a batch fails on one
 * row's data (SQLSTATE 22/23 — a failed statement wrote nothing), its items are retried one by
 * one, so a bad row fails only its own call; any other failure rejects the whole batch.
 */
export class GroupCommit<T, R> {
  readonly #calls: Coalescer<T, R>;

  constructor(
    run: (items: readonly T[]) => Promise<R[]>,
    options: { maxBatch: number; maxInFlight?: number },
  ) {
    this.#calls = new Coalescer(run, {
      maxItems: options.maxBatch,
      maxInFlight: options.maxInFlight ?? 2,
      isolate: isRowError,
    });
  }

  add(item: T): Promise<R> {
    return this.#calls.add([item]).then((r) => r[0] as R);
  }
}
