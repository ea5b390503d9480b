/**
 * A Node {@link AeadEngine} on node:crypto: synchronous AES-256-GCM (OpenSSL, AES-NI) without
 * WebCrypto's per-call thread-pool hop, and native HKDF. Same bytes as `webCryptoAead`
 * (`aeadEngineContract`); keys are `KeyObject`s, which JavaScript cannot read back.
 */
import * as nodeCrypto from 'node:crypto';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  type KeyObject,
} from 'node:crypto';
import type { AeadEngine, AeadKey } from '@omt/kms/ports';

/** The one-byte block counters of HKDF-Expand (1…255). */
const COUNTER: readonly Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));

function sealDetached(
  key: AeadKey,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): readonly [Uint8Array, Uint8Array] {
  const c = createCipheriv('aes-256-gcm', key as KeyObject, iv, { authTagLength: 16 });
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
  const d = createDecipheriv('aes-256-gcm', key as KeyObject, iv, { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(tag);
  const body = d.update(ciphertext);
  d.final(); // throws when the tag does not match: nothing above is returned
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

/** One-shot `crypto.hash` (Node ≥ 20.12) when present: no Hash object per call. */
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

function sha256(data: Uint8Array): Uint8Array {
  const d =
    oneShotHash === undefined
      ? createHash('sha256').update(data).digest()
      : oneShotHash('sha256', data, 'buffer');
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

/**
 * @example
 * ```ts
 * const { kms } = createKms({ rootKeys, keyStore, aead: nodeAead });
 * ```
 */
export const nodeAead: AeadEngine = {
  name: 'node:crypto',
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
  sha256,
  hkdfSha512(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    // RFC 5869 §2.2–2.3 on two (or more) HMAC calls: about 3× cheaper than `hkdfSync`, whose
    // per-call KeyObject and job setup dominate at the 64 bytes every envelope derives.
    if (!Number.isInteger(length) || length < 0 || length > 255 * 64) throw new Error('bad HKDF length');
    const prk = createHmac('sha512', salt.length === 0 ? new Uint8Array(64) : salt)
      .update(ikm)
      .digest();
    const out = new Uint8Array(length);
    let t: Uint8Array = new Uint8Array(0);
    for (let i = 1, off = 0; off < length; i++) {
      t = createHmac('sha512', prk)
        .update(t)
        .update(info)
        .update(COUNTER[i] as Uint8Array)
        .digest();
      out.set(t.subarray(0, Math.min(64, length - off)), off);
      off += 64;
    }
    prk.fill(0);
    t.fill(0);
    return out;
  },
};
