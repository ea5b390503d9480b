/**
 * The unsealing cache: unwrapped keys kept for a bounded time (TTL) and a bounded number of uses,
 * so warm paths make no L1 call while a leaked process image holds little. Values are normally
 * non-extractable WebCrypto keys (nothing to wipe); raw byte values are zero-filled on eviction.
 * `purge` drops entries at once (the kill switch does not wait for expiry).
 */

/** Cache limits. */
export interface KeyCacheLimits {
  /** Time to live of an entry in milliseconds (default 5 minutes). */
  readonly ttlMs?: number;
  /** Uses after which an entry is evicted (default 1,000,000). */
  readonly maxUses?: number;
  /** Largest number of entries; the oldest is evicted beyond it (default 10,000). */
  readonly maxEntries?: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  usesLeft: number;
}

function wipe(v: unknown): void {
  if (v instanceof Uint8Array) v.fill(0);
}

/**
 * @example
 * ```ts
 * const cache = new KeyCache<CryptoKey>({ ttlMs: 60_000, maxUses: 10_000 });
 * cache.set('l3|acme|media|1', key);
 * cache.take('l3|acme|media|1'); // the key, one use counted
 * cache.purge((k) => k.includes('|acme|'));
 * ```
 */
export class KeyCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #ttlMs: number;
  readonly #maxUses: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Evictions so far (tests and metrics). */
  evictions = 0;

  constructor(limits: KeyCacheLimits = {}, now: () => number = () => Date.now()) {
    this.#ttlMs = limits.ttlMs ?? 300_000;
    this.#maxUses = limits.maxUses ?? 1_000_000;
    this.#maxEntries = limits.maxEntries ?? 10_000;
    this.#now = now;
  }

  /** Number of live entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** Returns the value and counts one use, or undefined when absent, expired or used up. */
  take(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.#now() || e.usesLeft <= 0) {
      this.#evict(key, e);
      return undefined;
    }
    e.usesLeft--;
    return e.value;
  }

  set(key: string, value: V): void {
    const old = this.#entries.get(key);
    if (old !== undefined) this.#evict(key, old);
    while (this.#entries.size >= this.#maxEntries) {
      const first = this.#entries.entries().next().value;
      if (first === undefined) break;
      this.#evict(first[0], first[1]);
    }
    this.#entries.set(key, { value, expiresAt: this.#now() + this.#ttlMs, usesLeft: this.#maxUses });
  }

  /** Evicts every entry whose key matches; returns how many. */
  purge(match: (key: string) => boolean): number {
    let n = 0;
    for (const [k, e] of [...this.#entries]) {
      if (match(k)) {
        this.#evict(k, e);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.purge(() => true);
  }

  #evict(key: string, e: Entry<V>): void {
    this.#entries.delete(key);
    wipe(e.value);
    this.evictions++;
  }
}
