/**
 * A token bucket: `capacity` tokens, refilled continuously at `capacity / intervalMs`. The
 * original design's limit is 500 transactions per 3 seconds ({@link DEFAULT_RATE_LIMIT}); the
 * publisher takes one token per broadcast. Time is injectable (`clock`, `sleep`) for tests.
 */
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';

/** 500 tx per 3 s. */
export const DEFAULT_RATE_LIMIT: { readonly capacity: number; readonly intervalMs: number } = Object.freeze({
  capacity: 500,
  intervalMs: 3000,
});

/** Options of a {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Bucket size and the number of tokens refilled per `intervalMs` (≥ 1). */
  readonly capacity?: number;
  readonly intervalMs?: number;
  /** Milliseconds since any fixed origin (default `performance.now`). */
  readonly clock?: () => number;
  /** Waits `ms` (default setTimeout); tests inject one that advances their clock. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const OptionsSchema = z.object({
  capacity: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1_000_000_000))),
  intervalMs: z.optional(z.number().check(z.minimum(1), z.maximum(86_400_000))),
  clock: z.optional(z.custom<() => number>((v) => typeof v === 'function')),
  sleep: z.optional(z.custom<(ms: number) => Promise<void>>((v) => typeof v === 'function')),
});

/**
 * Token-bucket rate limiter.
 * @example
 * ```ts
 * const limiter = new RateLimiter(); // 500 per 3 s
 * await limiter.take();              // waits when the bucket is empty
 * limiter.tryTake();                 // false instead of waiting
 * ```
 */
export class RateLimiter {
  readonly capacity: number;
  readonly intervalMs: number;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #last: number;

  constructor(options: RateLimiterOptions = {}) {
    const o = parseInput(OptionsSchema, options, 'ledger.rate-limit.invalid', 'rate limiter options');
    this.capacity = o.capacity ?? DEFAULT_RATE_LIMIT.capacity;
    this.intervalMs = o.intervalMs ?? DEFAULT_RATE_LIMIT.intervalMs;
    this.#clock = o.clock ?? (() => performance.now());
    this.#sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#tokens = this.capacity;
    this.#last = this.#clock();
  }

  #refill(): void {
    const now = this.#clock();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.capacity, this.#tokens + (elapsed * this.capacity) / this.intervalMs);
  }

  /** Tokens available now (fractional while refilling). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes `n` tokens if they are there now. */
  tryTake(n = 1): boolean {
    this.#check(n);
    this.#refill();
    if (this.#tokens + 1e-9 < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens will be there (0 when they are). */
  waitTime(n = 1): number {
    this.#check(n);
    this.#refill();
    const missing = n - this.#tokens;
    return missing <= 1e-9 ? 0 : Math.ceil((missing * this.intervalMs) / this.capacity);
  }

  /** Takes `n` tokens, waiting as long as needed; rejects with `ledger.rate-limit.aborted` on abort. */
  async take(n = 1, signal?: AbortSignal): Promise<void> {
    this.#check(n);
    for (;;) {
      if (signal?.aborted === true)
        throw new OmtError('ledger.rate-limit.aborted', 'rate limiter wait aborted');
      if (this.tryTake(n)) return;
      await this.#sleep(Math.max(1, this.waitTime(n)));
    }
  }

  #check(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > this.capacity)
      throw new OmtError('ledger.rate-limit.invalid', `tokens must be an integer in 1..${this.capacity}`);
  }
}
