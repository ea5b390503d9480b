/**
 * AES-256-GCM key wrapping with associated data: how L2 wraps L3, L3 wraps L4, and how the
 * software root key providers (memory, local key file) wrap L2. ARCHITECTURE "Formats": key wrapping
 * AES-KW or AES-GCM — GCM is chosen because it authenticates a context (AAD) and WebCrypto has it
 * everywhere.
 *
 * Blob: `0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`. Nonces are random: a wrapping key wraps far
 * fewer than 2³² keys in its life (NIST SP 800-38D §8.3), and rotation bounds it further.
 */
import { utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { platformRandom, type RandomSource } from '@omt/core/random';
import { webCryptoAead } from './aead-web.js';
import type { AeadEngine, AeadKey } from './ports.js';

/** Blob format byte of {@link wrapKeyBytes}. */
export const KEY_WRAP_FORMAT = 0x01 as const;
/** Overhead of a wrapped key: format byte, nonce and tag. */
export const KEY_WRAP_OVERHEAD = 29 as const;

/**
 * Imports 32 raw bytes as an AES-256-GCM wrapping key of `engine` (WebCrypto: non-extractable).
 *
 * @example
 * ```ts
 * const kek = await importWrappingKey(rawL3);
 * ```
 */
export async function importWrappingKey(
  raw: Uint8Array,
  engine: AeadEngine = webCryptoAead,
): Promise<AeadKey> {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) {
    throw new OmtError('kms.input.invalid', 'a wrapping key is 32 bytes');
  }
  return engine.importKey(raw);
}

/**
 * Wraps `key` under `kek`, binding `aad`.
 *
 * @example
 * ```ts
 * const blob = await wrapKeyBytes(kek, l4, aad);
 * ```
 */
export async function wrapKeyBytes(
  kek: AeadKey,
  key: Uint8Array,
  aad: Uint8Array,
  random: RandomSource = platformRandom,
  engine: AeadEngine = webCryptoAead,
): Promise<Uint8Array> {
  return wrapKeyBytesNow(kek, key, aad, random, engine);
}

/**
 * {@link wrapKeyBytes}, answered at once (no promise) when the engine seals synchronously.
 * @internal the warm encrypt path
 */
export function wrapKeyBytesNow(
  kek: AeadKey,
  key: Uint8Array,
  aad: Uint8Array,
  random: RandomSource = platformRandom,
  engine: AeadEngine = webCryptoAead,
): Uint8Array | Promise<Uint8Array> {
  return wrapKeyBytesWithNonce(kek, key, aad, random(12), engine);
}

/**
 * {@link wrapKeyBytesNow} under a given fresh random 12-byte nonce (the caller drew it).
 * @internal the warm encrypt path
 */
export function wrapKeyBytesWithNonce(
  kek: AeadKey,
  key: Uint8Array,
  aad: Uint8Array,
  nonce: Uint8Array,
  engine: AeadEngine,
): Uint8Array | Promise<Uint8Array> {
  if (engine.sealDetached === undefined) {
    const sealed = engine.seal(kek, nonce, aad, key);
    return sealed instanceof Promise ? sealed.then((ct) => blobOf(nonce, ct)) : blobOf(nonce, sealed);
  }
  const parts = engine.sealDetached(kek, nonce, aad, key);
  return parts instanceof Promise
    ? parts.then(([ct, tag]) => blobOf(nonce, ct, tag))
    : blobOf(nonce, parts[0], parts[1]);
}

function blobOf(nonce: Uint8Array, ct: Uint8Array, tag?: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + 12 + ct.length + (tag?.length ?? 0));
  out[0] = KEY_WRAP_FORMAT;
  out.set(nonce, 1);
  out.set(ct, 13);
  if (tag !== undefined) out.set(tag, 13 + ct.length);
  return out;
}

/**
 * Unwraps a blob of {@link wrapKeyBytes}; any mismatch (key, aad, bytes) → `kms.unwrap.failed`.
 *
 * @example
 * ```ts
 * const l4 = await unwrapKeyBytes(kek, blob, aad);
 * ```
 */
export async function unwrapKeyBytes(
  kek: AeadKey,
  blob: Uint8Array,
  aad: Uint8Array,
  engine: AeadEngine = webCryptoAead,
): Promise<Uint8Array> {
  return unwrapKeyBytesNow(kek, blob, aad, engine);
}

/**
 * {@link unwrapKeyBytes}, answered at once (no promise) when the engine opens synchronously; its
 * errors are thrown (or rejected) as `kms.unwrap.failed` all the same.
 * @internal the warm decrypt path
 */
export function unwrapKeyBytesNow(
  kek: AeadKey,
  blob: Uint8Array,
  aad: Uint8Array,
  engine: AeadEngine = webCryptoAead,
): Uint8Array | Promise<Uint8Array> {
  if (!(blob instanceof Uint8Array) || blob.length < KEY_WRAP_OVERHEAD + 1 || blob[0] !== KEY_WRAP_FORMAT) {
    throw new OmtError('kms.unwrap.failed', 'wrapped key is malformed');
  }
  let opened: Uint8Array | Promise<Uint8Array>;
  try {
    opened = engine.open(kek, blob.subarray(1, 13), aad, blob.subarray(13));
  } catch (e) {
    throw unwrapFailed(e);
  }
  return opened instanceof Promise
    ? opened.catch((e: unknown) => {
        throw unwrapFailed(e);
      })
    : opened;
}

function unwrapFailed(cause: unknown): OmtError {
  return new OmtError('kms.unwrap.failed', 'wrapped key does not authenticate under this key and context', {
    cause,
  });
}

/**
 * The AAD a software root key provider gives to AES-GCM for an L1 wrap: the key id and the caller's aad, length-prefixed so
 * no two (keyId, aad) pairs collide.
 */
export function rootWrapAad(keyId: string, aad: Uint8Array): Uint8Array {
  const id = utf8(keyId);
  const out = new Uint8Array(2 + id.length + aad.length);
  out[0] = id.length >> 8;
  out[1] = id.length & 0xff;
  out.set(id, 2);
  out.set(aad, 2 + id.length);
  return out;
}
