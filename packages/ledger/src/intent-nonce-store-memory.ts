import { parseNonceUse } from './intent-nonce.js';
import type { NonceStore, NonceUse } from './ports.js';

/**
 * In-process {@link NonceStore}: atomic because JavaScript runs one `consume` body at a time.
 * Only for a single process; several processes must share the SQL store.
 *
 * @example
 * ```ts
 * const nonces = new MemoryNonceStore();
 * await nonces.consume({ signer, nonce, hash, timestamp }); // true, then false forever
 * ```
 */
export class MemoryNonceStore implements NonceStore {
  /** signer → nonce → record timestamp (ms). */
  readonly #used = new Map<string, Map<string, number>>();

  async consume(use: NonceUse): Promise<boolean> {
    const u = parseNonceUse(use);
    let bySigner = this.#used.get(u.signer);
    if (bySigner === undefined) {
      bySigner = new Map();
      this.#used.set(u.signer, bySigner);
    }
    if (bySigner.has(u.nonce)) return false;
    bySigner.set(u.nonce, u.timestamp.getTime());
    return true;
  }

  async has(signer: string, nonce: string): Promise<boolean> {
    return this.#used.get(signer)?.has(nonce) ?? false;
  }

  async prune(before: Date): Promise<number> {
    const cutoff = before.getTime();
    let removed = 0;
    for (const [signer, bySigner] of this.#used) {
      for (const [nonce, ts] of bySigner) {
        if (ts < cutoff) {
          bySigner.delete(nonce);
          removed++;
        }
      }
      if (bySigner.size === 0) this.#used.delete(signer);
    }
    return removed;
  }
}
