/**
 * A Node {@link AeadEngine} on node:crypto: synchronous AES-256-GCM (OpenSSL, AES-NI) without
 * WebCrypto's per-call thread-pool hop, and native HKDF. Same bytes as `webCryptoAead`
 * (`aeadEngineContract`); keys are `KeyObject`s, which JavaScript cannot read back.
 */
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { sha256Public } from '@omt/core/hash';
import type { AeadEngine, AeadKey } from '@omt/kms/ports';

/** The one-byte block counters of HKDF-Expand (1…255). */
const COUNTER: readonly Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));

function sealDetached(
  key: AeadKey,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): readonly [Uint8Array, Uint8Array] {
  const c = createCipheriv('aes-256-gcm', key as KeyObject | Uint8Array, iv, { authTagLength: 16 });
  c.setAAD(aad);
  const body = c.update(plaintext);
  c.final();
  return [body, c.getAuthTag()];
}

function openDetached(
  key: AeadKey,
  iv: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Uint8Array {
  if (tag.length !== 16) throw new Error('the tag is 16 bytes');
  const d = createDecipheriv('aes-256-gcm', key as KeyObject | Uint8Array, iv, { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(tag);
  const body = d.update(ciphertext);
  d.final(); // throws when the tag does not match: nothing above is returned
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

/** One-shot `crypto.hash` (Node ≥ 20.12) when present: no Hash object per call. */
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

/** SHA-512's block: HMAC pads its key to it (RFC 2104). */
const BLOCK = 128;
/**
 * Scratch of {@link hmacSha512}: `K ⊕ ipad ‖ message` and `K ⊕ opad ‖ inner hash`. They hold key
 * material only during one (synchronous) call and are wiped before it returns.
 */
const INNER = new Uint8Array(1024);
const INNER32 = new Uint32Array(INNER.buffer, 0, BLOCK / 4);
const OUTER = new Uint8Array(BLOCK + 64);
const OUTER32 = new Uint32Array(OUTER.buffer, 0, BLOCK / 4);
const IPAD = 0x36363636;
const OPAD = 0x5c5c5c5c;

/**
 * HMAC-SHA-512 (RFC 2104) of `a ‖ b ‖ c` under a key of at most 128 bytes, as two one-shot SHA-512
 * calls: no Hmac object (a stream over a native context the garbage collector must finalise) per
 * call. Same bytes as `createHmac('sha512', key)`; undefined when the message does not fit.
 */
function hmacSha512(
  hash: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer,
  key: Uint8Array,
  a: Uint8Array,
  b?: Uint8Array,
  c?: Uint8Array,
): Uint8Array | undefined {
  const n = BLOCK + a.length + (b?.length ?? 0) + (c?.length ?? 0);
  if (key.length > BLOCK || n > INNER.length) return undefined;
  try {
    INNER.set(key, 0);
    for (let i = 0; i < BLOCK / 4; i++) {
      const k = INNER32[i] as number;
      INNER32[i] = k ^ IPAD;
      OUTER32[i] = k ^ OPAD;
    }
    let o = BLOCK;
    INNER.set(a, o);
    o += a.length;
    if (b !== undefined) {
      INNER.set(b, o);
      o += b.length;
    }
    if (c !== undefined) INNER.set(c, o);
    const inner = hash('sha512', INNER.subarray(0, n), 'buffer');
    OUTER.set(inner, BLOCK);
    inner.fill(0);
    return hash('sha512', OUTER, 'buffer');
  } finally {
    INNER.fill(0, 0, n);
    OUTER.fill(0);
  }
}

/** HMAC-SHA-512 of `a ‖ b ‖ c`: one-shot hashing when it can, else an Hmac object. */
function mac(key: Uint8Array, a: Uint8Array, b?: Uint8Array, c?: Uint8Array): Uint8Array {
  const fast = oneShotHash === undefined ? undefined : hmacSha512(oneShotHash, key, a, b, c);
  if (fast !== undefined) return fast;
  const h = createHmac('sha512', key).update(a);
  if (b !== undefined) h.update(b);
  if (c !== undefined) h.update(c);
  return h.digest();
}

const ZERO_SALT = new Uint8Array(64);
const EMPTY = new Uint8Array(0);

/**
 * @example
 * ```ts
 * const { kms } = createKms({ rootKeys, keyStore, aead: nodeAead });
 * ```
 */
export const nodeAead: AeadEngine = {
  name: 'node:crypto',
  // createCipheriv/createDecipheriv copy a Uint8Array key into the OpenSSL context and keep no
  // reference: a record's data key needs no KeyObject (its caller wipes the bytes after the call).
  acceptsRawKeys: true,
  importKey(raw: Uint8Array): AeadKey {
    // Straight from the caller's bytes (which it wipes): `Buffer.from` would leave a copy in
    // Node's shared allocation pool.
    return createSecretKey(raw);
  },
  seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const [body, tag] = sealDetached(key, iv, aad, plaintext);
    const out = new Uint8Array(body.length + 16);
    out.set(body, 0);
    out.set(tag, body.length);
    return out;
  },
  sealDetached,
  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
    if (sealed.length < 16) throw new Error('sealed data shorter than its tag');
    return openDetached(
      key,
      iv,
      aad,
      sealed.subarray(0, sealed.length - 16),
      sealed.subarray(sealed.length - 16),
    );
  },
  openDetached,
  // The header binding is public data: core's latin1 one-shot (no Buffer per call).
  sha256: sha256Public,
  hkdfSha512(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    // RFC 5869 §2.2–2.3 on HMAC calls: about 3× cheaper than `hkdfSync`, whose per-call KeyObject
    // and job setup dominate at the 64 bytes every envelope derives.
    if (!Number.isInteger(length) || length < 0 || length > 255 * 64) throw new Error('bad HKDF length');
    const prk = mac(salt.length === 0 ? ZERO_SALT : salt, ikm);
    const out = new Uint8Array(length);
    let t: Uint8Array = EMPTY;
    for (let i = 1, off = 0; off < length; i++) {
      const next = mac(prk, t, info, COUNTER[i] as Uint8Array);
      t.fill(0);
      t = next;
      out.set(t.subarray(0, Math.min(64, length - off)), off);
      off += 64;
    }
    prk.fill(0);
    t.fill(0);
    return out;
  },
};
