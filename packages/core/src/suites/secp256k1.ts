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
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { concatBytes, isBytes } from '../bytes.js';
import { OmtError } from '../errors.js';
import type { RandomSource } from '../random.js';
import { drawRandom, keyMalformed, requireKeyBytes } from './_guards.js';

const N = /* @__PURE__ */ (() => secp256k1.Point.Fn.ORDER)();
const SUITE = 'ES256K';

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
  const hash = requireHash(messageHash);
  const extraEntropy = options?.random === undefined ? false : drawRandom(options.random, 32);
  const rec = secp256k1.sign(hash, sk, { prehash: false, lowS: true, format: 'recovered', extraEntropy });
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
