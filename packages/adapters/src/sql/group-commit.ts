import { OmtError } from '@omt/core/errors';

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

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
  readonly #run: (items: readonly T[]) => Promise<R[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Pending<T, R>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(
    run: (items: readonly T[]) => Promise<R[]>,
    options: { maxBatch: number; maxInFlight?: number },
  ) {
    this.#run = run;
    this.#maxBatch = options.maxBatch;
    this.#maxInFlight = options.maxInFlight ?? 2;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      // Calls made in the same tick (a Promise.all of submissions) join before the first write.
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      void this.#write(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #write(batch: Pending<T, R>[]): Promise<void> {
    try {
      const out = await this.#run(batch.map((p) => p.item));
      for (const [i, p] of batch.entries()) p.resolve(out[i] as R);
    } catch (e) {
      if (batch.length === 1 || !isRowError(e)) {
        for (const p of batch) p.reject(e);
        return;
      }
      await Promise.all(
        batch.map(async (p) => {
          try {
            p.resolve((await this.#run([p.item]))[0] as R);
          } catch (e1) {
            p.reject(e1);
          }
        }),
      );
    }
  }
}
