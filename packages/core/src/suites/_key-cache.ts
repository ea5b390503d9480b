import { equalBytes } from '../bytes.js';

/**
 * Internal: per-key memo of derived values (expanded ML-DSA keys, imported
 * CryptoKeys, validated points). Keyed by the caller's Uint8Array object (a WeakMap,
 * so nothing outlives the caller's key) and guarded by a private copy of the bytes,
 * so a key mutated in place is recomputed rather than served stale.
 */
export class KeyCache<T> {
  private readonly map = new WeakMap<Uint8Array, { bytes: Uint8Array; value: T }>();

  get(key: Uint8Array, compute: () => T): T {
    const hit = this.map.get(key);
    if (hit !== undefined && equalBytes(hit.bytes, key)) return hit.value;
    const value = compute();
    this.map.set(key, { bytes: key.slice(), value });
    return value;
  }
}
