/**
 * secp256k1 encodings Bitcoin needs beyond the ES256K suite. These functions take a
 * 32-byte message *hash* (Bitcoin signs a sighash digest; no further hashing here),
 * sign with RFC 6979 nonces (hedged when a RandomSource is given) and always low-S.
 *
 * - DER: strict BIP66 DER (`IsValidSignatureEncoding`), without the sighash type byte
 *   unless `withHashType` is set.
 * - compact: r‖s, 64 bytes.
 * - recoverable: recid‖r‖s, 65 bytes, recid ∈ 0..3 (the public key recovery index of
 *   SEC 1 §4.1.6). Bitcoin's signed-message header (27 + recid [+ 4]) is the caller's.
 * - verification enforces low-S by default (BIP62 rule 5 / BIP146 LOW_S policy);
 *   pass `lowS: false` to accept high-S as consensus without that policy does.
 *
 * Errors: `core.signature.malformed` for an undecodable DER or recoverable signature,
 * `core.key.malformed` for bad keys, `core.input.invalid` for a hash that is not 32 bytes.
 *
 * Throughput: after 64 portable signatures in a process, noble's fixed-base
 * table for G is widened from 6- to 10-bit windows (built once, ~150 ms and ~10 MB; noble's
 * documented `precompute`), which makes signing ~1.4× faster — a one-off signer never pays it.
 * The `*MessageAsync` functions sign or verify SHA-256(message) — Bitcoin signs
 * dSHA-256(preimage), so pass SHA-256(preimage) — on Node through node:crypto (OpenSSL) on libuv's
 * threadpool, found by feature detection only (`_node-crypto.ts`), so concurrent calls use every
 * core; elsewhere, or with `implementation: 'portable'`, through noble with RFC 6979 nonces.
 * OpenSSL draws its ECDSA nonce at random (hedged with the key and digest): the native path is
 * not deterministic; `'portable'` is the deterministic option. Both give low-S signatures.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { concatBytes, isBytes } from '../bytes.js';
import { OmtError } from '../errors.js';
import type { RandomSource } from '../random.js';
import {
  algUnsupported,
  drawRandom,
  type Implementation,
  keyMalformed,
  readImplementation,
  requireKeyBytes,
} from './_guards.js';
import { KeyCache } from './_key-cache.js';
import {
  type NodeKey,
  nodeSecp256k1Available,
  nodeSecp256k1PublicKey,
  nodeSecp256k1SignAsync,
  nodeSecp256k1VerifyAsync,
} from './_node-crypto.js';

const N = /* @__PURE__ */ (() => secp256k1.Point.Fn.ORDER)();
const SUITE = 'ES256K';

/** Signatures after which the wider fixed-base table pays for itself (see the file header). */
const TABLE_AFTER_SIGNATURES = 64;
const TABLE_WINDOW = 10;
let signatures = 0;

/** Counts a portable signature; the {@link TABLE_AFTER_SIGNATURES}th widens G's table (lazily built). */
function countSignature(): void {
  if (signatures > TABLE_AFTER_SIGNATURES) return;
  if (++signatures === TABLE_AFTER_SIGNATURES) secp256k1.Point.BASE.precompute(TABLE_WINDOW);
}

function sigMalformed(why: string): OmtError {
  return new OmtError('core.signature.malformed', `secp256k1 signature: ${why}`);
}

function requireHash(hash: unknown): Uint8Array {
  if (!isBytes(hash) || hash.length !== 32)
    throw new OmtError('core.input.invalid', 'secp256k1: message hash must be 32 bytes');
  return hash;
}

/** Signature encodings for secp256k1. */
export type Secp256k1SignatureFormat = 'der' | 'compact' | 'recoverable';

/**
 * BIP66 `IsValidSignatureEncoding`: strict, minimal DER of SEQUENCE { INTEGER r, INTEGER s }.
 * With `withHashType` the last byte is the sighash type (as in a Bitcoin script).
 * @example
 * ```ts
 * isStrictDerSignature(der); // true for what signSecp256k1(…, { format: 'der' }) returns
 * ```
 */
export function isStrictDerSignature(sig: Uint8Array, withHashType = false): boolean {
  if (!isBytes(sig)) return false;
  const extra = withHashType ? 1 : 0;
  const len = sig.length - extra;
  // 0x30 [total-length] 0x02 [R-length] [R] 0x02 [S-length] [S] ([sighash])
  if (len < 8 || len > 72) return false;
  if (sig[0] !== 0x30) return false;
  if (sig[1] !== len - 2) return false;
  const lenR = sig[3] as number;
  if (5 + lenR >= len) return false;
  const lenS = sig[5 + lenR] as number;
  if (lenR + lenS + 6 !== len) return false;
  if (sig[2] !== 0x02 || lenR === 0) return false;
  if ((sig[4] as number) & 0x80) return false; // R negative
  if (lenR > 1 && sig[4] === 0 && !((sig[5] as number) & 0x80)) return false; // R padded
  if (sig[lenR + 4] !== 0x02 || lenS === 0) return false;
  if ((sig[lenR + 6] as number) & 0x80) return false; // S negative
  if (lenS > 1 && sig[lenR + 6] === 0 && !((sig[lenR + 7] as number) & 0x80)) return false; // S padded
  return true;
}

/**
 * Strict DER (BIP66) → compact r‖s. Also requires 0 < r, s < n.
 * @example
 * ```ts
 * const rs = decodeDerSignature(der); // 64 bytes
 * ```
 */
export function decodeDerSignature(der: Uint8Array, withHashType = false): Uint8Array {
  if (!isStrictDerSignature(der, withHashType)) throw sigMalformed('not strict BIP66 DER');
  const lenR = der[3] as number;
  const r = bytesToNumberBE(der.subarray(4, 4 + lenR));
  const lenS = der[5 + lenR] as number;
  const s = bytesToNumberBE(der.subarray(6 + lenR, 6 + lenR + lenS));
  if (r <= 0n || r >= N || s <= 0n || s >= N) throw sigMalformed('r or s out of range');
  return concatBytes(numberToBytesBE(r, 32), numberToBytesBE(s, 32));
}

function derInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const body = v.subarray(i);
  const padded = (body[0] as number) & 0x80 ? concatBytes(Uint8Array.of(0), body) : body;
  return concatBytes(Uint8Array.of(0x02, padded.length), padded);
}

/**
 * Compact r‖s → minimal DER (X.690 §8.3; what BIP66 demands).
 * @example
 * ```ts
 * const der = encodeDerSignature(rs);
 * ```
 */
export function encodeDerSignature(compact: Uint8Array): Uint8Array {
  if (!isBytes(compact) || compact.length !== 64) throw sigMalformed('compact signature must be 64 bytes');
  const body = concatBytes(derInteger(compact.subarray(0, 32)), derInteger(compact.subarray(32)));
  return concatBytes(Uint8Array.of(0x30, body.length), body);
}

/** True when s ≤ n/2 in a compact r‖s signature (BIP62 rule 5). @example `isLowS(rs)` */
export function isLowS(compact: Uint8Array): boolean {
  if (!isBytes(compact) || compact.length !== 64) return false;
  return bytesToNumberBE(compact.subarray(32)) <= N >> 1n;
}

/**
 * Signs a 32-byte hash with a 32-byte secret key; low-S, RFC 6979 nonce
 * (with `random`, hedged per RFC 6979 §3.6). Default format 'der'.
 * @example
 * ```ts
 * const der = signSecp256k1(secretKey, sighash); // BIP66 DER, low-S
 * const rec = signSecp256k1(secretKey, hash, { format: 'recoverable' }); // recid‖r‖s
 * ```
 */
export function signSecp256k1(
  secretKey: Uint8Array,
  messageHash: Uint8Array,
  options?: { format?: Secp256k1SignatureFormat; random?: RandomSource },
): Uint8Array {
  const sk = requireKeyBytes(SUITE, 'secret key', secretKey, [32]);
  if (!secp256k1.utils.isValidSecretKey(sk))
    throw keyMalformed(SUITE, 'secret key', 'a scalar in [1, n−1] of 32 bytes');
  return signWithNoble(sk, requireHash(messageHash), false, options);
}

/**
 * noble's RFC 6979 signature over `message` (`prehash`: over its SHA-256, hashed by noble itself,
 * so bundles carry no second SHA-256); the key is checked by the caller.
 */
function signWithNoble(
  sk: Uint8Array,
  message: Uint8Array,
  prehash: boolean,
  options?: { format?: Secp256k1SignatureFormat; random?: RandomSource },
): Uint8Array {
  const extraEntropy = options?.random === undefined ? false : drawRandom(options.random, 32);
  countSignature();
  const rec = secp256k1.sign(message, sk, { prehash, lowS: true, format: 'recovered', extraEntropy });
  const sig = secp256k1.Signature.fromBytes(rec, 'recovered');
  const compact = sig.toBytes('compact');
  const format = options?.format ?? 'der';
  if (format === 'compact') return compact;
  if (format === 'recoverable') return concatBytes(Uint8Array.of(sig.recovery as number), compact);
  if (format === 'der') return encodeDerSignature(compact);
  throw new OmtError('core.input.invalid', "secp256k1: format must be 'der', 'compact' or 'recoverable'");
}

function parsePoint(publicKey: unknown): ReturnType<typeof secp256k1.Point.fromBytes> {
  const pk = requireKeyBytes(SUITE, 'public key', publicKey, [33, 65]);
  try {
    const p = secp256k1.Point.fromBytes(pk);
    p.assertValidity();
    return p;
  } catch (e) {
    throw keyMalformed(SUITE, 'public key', 'a SEC1 point on secp256k1 (33 or 65 bytes)', undefined, e);
  }
}

/**
 * Verifies a signature over a 32-byte hash. `format` 'der' (strict BIP66, default),
 * 'compact' or 'recoverable' (recid ignored). Low-S required unless `lowS: false`.
 * Returns false for any bad signature; throws `core.key.malformed` for a bad public key.
 * @example
 * ```ts
 * verifySecp256k1(publicKey, sighash, der); // true / false
 * ```
 */
export function verifySecp256k1(
  publicKey: Uint8Array,
  messageHash: Uint8Array,
  signature: Uint8Array,
  options?: { format?: Secp256k1SignatureFormat; lowS?: boolean },
): boolean {
  const point = parsePoint(publicKey);
  const hash = requireHash(messageHash);
  if (!isBytes(signature)) return false;
  let compact: Uint8Array;
  const format = options?.format ?? 'der';
  if (format === 'der') {
    try {
      compact = decodeDerSignature(signature);
    } catch {
      return false;
    }
  } else if (format === 'compact') {
    if (signature.length !== 64) return false;
    compact = signature;
  } else if (format === 'recoverable') {
    if (signature.length !== 65 || (signature[0] as number) > 3) return false;
    compact = signature.subarray(1);
  } else {
    throw new OmtError('core.input.invalid', "secp256k1: format must be 'der', 'compact' or 'recoverable'");
  }
  const lowS = options?.lowS ?? true;
  try {
    return secp256k1.verify(compact, hash, point.toBytes(true), { prehash: false, lowS });
  } catch {
    return false;
  }
}

/**
 * Recovers the public key from a 65-byte recoverable signature (recid‖r‖s) over a
 * 32-byte hash (SEC 1 §4.1.6). Compressed (33 B) unless `compressed: false`.
 * @example
 * ```ts
 * const pk = recoverSecp256k1PublicKey(hash, signSecp256k1(sk, hash, { format: 'recoverable' }));
 * ```
 */
export function recoverSecp256k1PublicKey(
  messageHash: Uint8Array,
  signature: Uint8Array,
  options?: { compressed?: boolean },
): Uint8Array {
  const hash = requireHash(messageHash);
  if (!isBytes(signature) || signature.length !== 65)
    throw sigMalformed('recoverable signature must be 65 bytes');
  const recid = signature[0] as number;
  if (recid > 3) throw sigMalformed('recovery id must be 0..3');
  try {
    const r = bytesToNumberBE(signature.subarray(1, 33));
    const s = bytesToNumberBE(signature.subarray(33));
    const sig = new secp256k1.Signature(r, s, recid);
    return sig.recoverPublicKey(hash).toBytes(options?.compressed ?? true);
  } catch (e) {
    throw new OmtError('core.signature.malformed', 'secp256k1 signature: no public key recoverable', {
      cause: e,
    });
  }
}

/** SEC1 point → 33-byte compressed form (validates the point). @example `compressPublicKey(pk65)` */
export function compressPublicKey(publicKey: Uint8Array): Uint8Array {
  return parsePoint(publicKey).toBytes(true);
}

/** SEC1 point → 65-byte uncompressed form (validates the point). @example `decompressPublicKey(pk33)` */
export function decompressPublicKey(publicKey: Uint8Array): Uint8Array {
  return parsePoint(publicKey).toBytes(false);
}

/** True when the `*MessageAsync` functions run natively here (node:crypto with secp256k1). @example `secp256k1NativeAvailable()` */
export function secp256k1NativeAvailable(): boolean {
  return nodeSecp256k1Available();
}

/** Encodings of the `*MessageAsync` functions (no recovery id: OpenSSL does not report one). */
export type Secp256k1MessageSignatureFormat = 'der' | 'compact';

/** Options of {@link signSecp256k1MessageAsync}. */
export interface Secp256k1MessageSignOptions {
  /** 'der' (strict BIP66, default) or 'compact' (r‖s). */
  readonly format?: Secp256k1MessageSignatureFormat;
  /**
   * 'auto' (default): node:crypto where present, else noble; 'portable': noble, RFC 6979 — the
   * deterministic option; 'native': node:crypto or `core.alg.unsupported`.
   */
  readonly implementation?: Implementation;
  /** Hedged RFC 6979 (§3.6) with this randomness; selects the portable path. */
  readonly random?: RandomSource;
  /**
   * The key's SEC1 public key (33 or 65 bytes) when known: a key's first native use then skips
   * deriving it (~3× cheaper import). Not checked against the secret — signing never reads it.
   */
  readonly publicKey?: Uint8Array;
}

/** Options of {@link verifySecp256k1MessageAsync}. */
export interface Secp256k1MessageVerifyOptions {
  /** 'der' (strict BIP66, default) or 'compact' (r‖s). */
  readonly format?: Secp256k1MessageSignatureFormat;
  /** Require low-S (BIP62 rule 5); default true. */
  readonly lowS?: boolean;
  /** 'auto' (default), 'portable' (noble) or 'native' (node:crypto or `core.alg.unsupported`). */
  readonly implementation?: Implementation;
}

const nodeSignKeys = /* @__PURE__ */ new KeyCache<NodeKey>();

function readMessageFormat(format: unknown): Secp256k1MessageSignatureFormat {
  const f = format ?? 'der';
  if (f !== 'der' && f !== 'compact')
    throw new OmtError('core.input.invalid', "secp256k1: format must be 'der' or 'compact'");
  return f;
}

function requireMessageBytes(message: unknown): Uint8Array {
  if (!isBytes(message)) throw new OmtError('core.input.invalid', 'secp256k1: message must be a Uint8Array');
  return message;
}

/** r‖s with s replaced by n − s when s > n/2. */
function toLowS(compact: Uint8Array): Uint8Array {
  const s = bytesToNumberBE(compact.subarray(32));
  if (s <= N >> 1n) return compact;
  return concatBytes(compact.subarray(0, 32), numberToBytesBE(N - s, 32));
}

/**
 * Signs SHA-256(`message`) (ECDSA, low-S) — for Bitcoin pass SHA-256(preimage), so the signed
 * digest is the sighash dSHA-256(preimage). On Node the signature is computed on libuv's
 * threadpool with OpenSSL's random nonce; with `implementation: 'portable'` (or a `random`) it
 * is noble's RFC 6979 signature, byte-identical to `signSecp256k1(sk, sha256(message))`.
 * Errors (rejections): `core.key.malformed`, `core.input.invalid`, `core.alg.unsupported`.
 * @example
 * ```ts
 * const der = await signSecp256k1MessageAsync(secretKey, sha256(preimage)); // over dSHA-256(preimage)
 * const same = await signSecp256k1MessageAsync(secretKey, m, { implementation: 'portable' }); // RFC 6979
 * ```
 */
export async function signSecp256k1MessageAsync(
  secretKey: Uint8Array,
  message: Uint8Array,
  options?: Secp256k1MessageSignOptions,
): Promise<Uint8Array> {
  const sk = requireKeyBytes(SUITE, 'secret key', secretKey, [32]);
  if (!secp256k1.utils.isValidSecretKey(sk))
    throw keyMalformed(SUITE, 'secret key', 'a scalar in [1, n−1] of 32 bytes');
  const msg = requireMessageBytes(message);
  const format = readMessageFormat(options?.format);
  const impl = readImplementation(SUITE, options);
  const random = options?.random;
  if (random !== undefined && impl === 'native')
    throw new OmtError('core.input.invalid', 'secp256k1: a RandomSource needs the portable (RFC 6979) path');
  const native = impl !== 'portable' && random === undefined && nodeSecp256k1Available();
  if (impl === 'native' && !native) throw algUnsupported(SUITE, 'no native implementation in this runtime');
  if (!native) return signWithNoble(sk, msg, true, { format, ...(random === undefined ? {} : { random }) });
  const pub = options?.publicKey;
  const hint = isBytes(pub) && (pub.length === 33 || pub.length === 65) ? pub : undefined;
  const compact = toLowS(await nodeSecp256k1SignAsync(nodeSignKeys, sk, msg, hint));
  return format === 'der' ? encodeDerSignature(compact) : compact;
}

/**
 * Verifies a signature over SHA-256(`message`) (see {@link signSecp256k1MessageAsync}): strict
 * BIP66 DER (or 64-byte r‖s) with 0 < r, s < n, low-S unless `lowS: false`. On Node the check
 * runs on libuv's threadpool (OpenSSL); the verification key is imported once per key (by its
 * bytes). Resolves false for any bad signature; rejects with `core.key.malformed` for a bad key.
 * @example
 * ```ts
 * await verifySecp256k1MessageAsync(publicKey, canonicalBytes, der); // true / false
 * ```
 */
export async function verifySecp256k1MessageAsync(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  options?: Secp256k1MessageVerifyOptions,
): Promise<boolean> {
  const pk = requireKeyBytes(SUITE, 'public key', publicKey, [33, 65]);
  const msg = requireMessageBytes(message);
  const format = readMessageFormat(options?.format);
  const impl = readImplementation(SUITE, options);
  const native = impl !== 'portable' && nodeSecp256k1Available();
  if (impl === 'native' && !native) throw algUnsupported(SUITE, 'no native implementation in this runtime');
  // Validated (natively: memoised by its bytes) before any signature is looked at: a bad key throws.
  const key = native ? nodeSecp256k1PublicKey(pk, () => parsePoint(pk).toBytes(false)) : undefined;
  const point = native ? undefined : parsePoint(pk);
  if (!isBytes(signature)) return false;
  let compact: Uint8Array;
  if (format === 'der') {
    try {
      compact = decodeDerSignature(signature);
    } catch {
      return false;
    }
  } else {
    if (signature.length !== 64) return false;
    compact = signature;
    const r = bytesToNumberBE(compact.subarray(0, 32));
    const s = bytesToNumberBE(compact.subarray(32));
    if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  }
  if ((options?.lowS ?? true) && !isLowS(compact)) return false;
  // Strict BIP66 DER is DER as OpenSSL reads it: hand it over as it came.
  if (key !== undefined)
    return format === 'der'
      ? nodeSecp256k1VerifyAsync(key, msg, signature, 'der')
      : nodeSecp256k1VerifyAsync(key, msg, compact);
  try {
    const compressed = (point as ReturnType<typeof parsePoint>).toBytes(true);
    return secp256k1.verify(compact, msg, compressed, { prehash: true, lowS: false });
  } catch {
    return false;
  }
}
