/**
 * Coalescing of concurrent calls into batches — group commit for database statements, request
 * coalescing for network calls. Browser-safe.
 */
import { OmtError } from './errors.js';

/** Options of {@link Coalescer}. */
export interface CoalescerOptions {
  /** Most items in one batch. A call is never split: a larger call goes alone. */
  readonly maxItems: number;
  /** Batches running at once (default 2). Calls made meanwhile queue, and go together. */
  readonly maxInFlight?: number;
  /**
   * When a batch of several calls fails with an error this accepts (say, one row's constraint
   * violation), each of its calls is run again alone, so that a bad call fails only itself. Any
   * other failure rejects every call of the batch.
   */
  readonly isolate?: (error: unknown) => boolean;
}

interface Call<T, R> {
  readonly items: readonly T[];
  settled: boolean;
  resolve(results: R[]): void;
  reject(error: unknown): void;
}

/**
 * Runs calls of `run(items)` — which answers one result per item, in order — with at most
 * `maxInFlight` runs at once; the calls made while those run queue, and the next run takes them
 * together (up to `maxItems` items, in call order). Calls made in the same tick join before the
 * first run. A call only ever joins a run not yet started, so its answer reflects the world after
 * it was made. Under load the batches grow by themselves, with no window to wait out when idle.
 *
 * @example
 * ```ts
 * const lookups = new Coalescer((ids: readonly string[]) => selectMany(ids), { maxItems: 500 });
 * const [row] = await lookups.add([id]); // concurrent add()s share one selectMany
 * ```
 */
export class Coalescer<T, R> {
  readonly #run: (items: readonly T[]) => Promise<readonly R[]>;
  readonly #maxItems: number;
  readonly #maxInFlight: number;
  readonly #isolate: ((error: unknown) => boolean) | undefined;
  #queue: Call<T, R>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(run: (items: readonly T[]) => Promise<readonly R[]>, options: CoalescerOptions) {
    const inFlight = options.maxInFlight ?? 2;
    if (!Number.isSafeInteger(options.maxItems) || options.maxItems < 1)
      throw new OmtError('core.input.invalid', 'maxItems must be a positive integer');
    if (!Number.isSafeInteger(inFlight) || inFlight < 1)
      throw new OmtError('core.input.invalid', 'maxInFlight must be a positive integer');
    this.#run = run;
    this.#maxItems = options.maxItems;
    this.#maxInFlight = inFlight;
    this.#isolate = options.isolate;
  }

  /** Calls queued and not yet running. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * The results for `items`, in order. When `signal` aborts, the call rejects with its reason at
   * once: a queued call leaves the queue; a running one's results are dropped.
   */
  add(items: readonly T[], signal?: AbortSignal): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<R[]>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#queue.indexOf(call);
        if (at >= 0) this.#queue.splice(at, 1);
        settle(() => reject(signal?.reason));
      };
      const settle = (fn: () => void): void => {
        if (call.settled) return;
        call.settled = true;
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const call: Call<T, R> = {
        items,
        settled: false,
        resolve: (r) => settle(() => resolve(r)),
        reject: (e) => settle(() => reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(call);
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
      const batch: Call<T, R>[] = [];
      let n = 0;
      while (this.#queue.length > 0) {
        const next = this.#queue[0] as Call<T, R>;
        if (batch.length > 0 && n + next.items.length > this.#maxItems) break;
        batch.push(next);
        n += next.items.length;
        this.#queue.shift();
      }
      this.#inFlight++;
      void this.#runBatch(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #runBatch(batch: readonly Call<T, R>[]): Promise<void> {
    try {
      const results = await this.#runChecked(
        batch.length === 1 ? batch[0]!.items : batch.flatMap((c) => c.items),
      );
      let at = 0;
      for (const call of batch) {
        call.resolve(results.slice(at, at + call.items.length));
        at += call.items.length;
      }
    } catch (e) {
      if (batch.length === 1 || this.#isolate?.(e) !== true) {
        for (const call of batch) call.reject(e);
        return;
      }
      await Promise.all(
        batch.map(async (call) => {
          try {
            call.resolve([...(await this.#runChecked(call.items))]);
          } catch (e1) {
            call.reject(e1);
          }
        }),
      );
    }
  }

  async #runChecked(items: readonly T[]): Promise<readonly R[]> {
    const results = await this.#run(items);
    if (!Array.isArray(results) || results.length !== items.length)
      throw new OmtError(
        'core.coalesce.mismatch',
        `a batch of ${items.length} items got ${Array.isArray(results) ? results.length : 'no'} results`,
      );
    return results;
  }
}
