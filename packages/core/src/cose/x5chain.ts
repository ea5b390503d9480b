import { isBytes } from '../bytes.js';
import type { CborValue } from '../cbor.js';
import { OmtError } from '../errors.js';
import { COSE_HEADER } from './header-labels.js';
import { type CoseHeaderMap, coseMalformed } from './headers.js';

/**
 * The x5chain header value for DER certificates, leaf first (RFC 9360 §2): a single
 * certificate is a bstr, several are an array of bstr.
 *
 * @example
 * ```ts
 * new Map([[COSE_HEADER.x5chain, x5chainHeaderValue([leafDer, caDer])]]);
 * ```
 */
export function x5chainHeaderValue(certificates: readonly Uint8Array[]): Uint8Array | Uint8Array[] {
  if (!Array.isArray(certificates) || certificates.length === 0 || !certificates.every((c) => isBytes(c))) {
    throw new OmtError('core.input.invalid', 'x5chain needs at least one DER certificate (Uint8Array)');
  }
  return certificates.length === 1 ? (certificates[0] as Uint8Array) : [...certificates];
}

/**
 * Reads x5chain (label 33) from a message's headers — protected first, then unprotected —
 * as an array of DER certificates, leaf first; undefined when absent. A value that is
 * neither a bstr nor a non-empty array of bstr throws `core.cose.malformed`.
 *
 * @example
 * ```ts
 * const [leaf, ...rest] = getX5Chain(decodeCoseSign1(bytes)) ?? [];
 * ```
 */
export function getX5Chain(headers: {
  readonly protectedHeaders: CoseHeaderMap;
  readonly unprotectedHeaders: CoseHeaderMap;
}): Uint8Array[] | undefined {
  const v: CborValue = headers.protectedHeaders.has(COSE_HEADER.x5chain)
    ? headers.protectedHeaders.get(COSE_HEADER.x5chain)
    : headers.unprotectedHeaders.get(COSE_HEADER.x5chain);
  if (v === undefined) return undefined;
  if (isBytes(v)) return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((c) => isBytes(c))) return [...(v as Uint8Array[])];
  throw coseMalformed('x5chain must be a byte string or a non-empty array of byte strings');
}
