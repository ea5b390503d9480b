import { equalBytes } from '../bytes.js';

/** How many public keys a content-keyed cache remembers before it starts over. */
const PUBLIC_LIMIT = 4096;

function contentKey(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096)
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

/**
 * Internal: per-key memo of derived values (expanded ML-DSA keys, imported
 * CryptoKeys, validated points). Keyed by the caller's Uint8Array object (a WeakMap,
 * so nothing outlives the caller's key) and guarded by a private copy of the bytes,
 * so a key mutated in place is recomputed rather than served stale.
 *
 * For public keys (`{ public: true }`) values are also remembered by the key's bytes (a
 * bounded map): callers that decode the same key from text for every message — event and
 * receipt verifiers — would otherwise miss every time and re-validate the point or re-import
 * the CryptoKey. Never use it for secret keys (the bytes would sit in a string map).
 */
export class KeyCache<T> {
  private readonly map = new WeakMap<Uint8Array, { bytes: Uint8Array; value: T }>();
  private readonly byContent: Map<string, T> | undefined;

  constructor(options?: { readonly public?: boolean }) {
    this.byContent = options?.public === true ? new Map() : undefined;
  }

  get(key: Uint8Array, compute: () => T): T {
    const hit = this.map.get(key);
    if (hit !== undefined && equalBytes(hit.bytes, key)) return hit.value;
    let value: T;
    if (this.byContent !== undefined) {
      const k = contentKey(key);
      const known = this.byContent.get(k);
      if (known !== undefined) value = known;
      else {
        value = compute();
        if (this.byContent.size >= PUBLIC_LIMIT) this.byContent.clear();
        this.byContent.set(k, value);
      }
    } else value = compute();
    this.map.set(key, { bytes: key.slice(), value });
    return value;
  }
}
