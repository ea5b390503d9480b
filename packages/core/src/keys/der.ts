import { concatBytes } from '../bytes.js';
import { OmtError } from '../errors.js';

/**
 * A minimal, strict DER (ITU-T X.690 §10) reader/writer for the small inner
 * structures of key formats (ECPrivateKey, RSAPublicKey, ML-DSA private key
 * CHOICE, RFC 8410 CurvePrivateKey). Only low tag numbers, definite minimal
 * lengths, no trailing bytes: anything else is `core.key.malformed`.
 */

/** One DER element: its identifier octet and content octets. */
export interface DerElement {
  readonly tag: number;
  readonly value: Uint8Array;
}

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;

function malformed(message: string): OmtError {
  return new OmtError('core.key.malformed', `malformed DER: ${message}`);
}

/** Reads one element at `offset`; returns it and the offset after it. */
function readElement(bytes: Uint8Array, offset: number): { element: DerElement; next: number } {
  if (offset + 2 > bytes.length) throw malformed('truncated header');
  const tag = bytes[offset] as number;
  // X.690 §8.1.2.4: high tag numbers never occur in the structures we read.
  if ((tag & 0x1f) === 0x1f) throw malformed('high tag number');
  const first = bytes[offset + 1] as number;
  let length: number;
  let pos = offset + 2;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    // 0x80 is the BER indefinite form (X.690 §10.1 forbids it); > 4 bytes is absurd here.
    if (count === 0 || count > 4) throw malformed('unsupported length form');
    if (pos + count > bytes.length) throw malformed('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[pos + i] as number);
    // X.690 §10.1: the minimum number of length octets.
    if (length < 0x80 || (bytes[pos] as number) === 0) throw malformed('non-minimal length');
    pos += count;
  }
  if (pos + length > bytes.length) throw malformed('truncated value');
  return { element: { tag, value: bytes.subarray(pos, pos + length) }, next: pos + length };
}

/** Parses `bytes` as exactly one DER element (no trailing bytes). */
export function readDer(bytes: Uint8Array, expectedTag?: number): DerElement {
  const { element, next } = readElement(bytes, 0);
  if (next !== bytes.length) throw malformed('trailing bytes');
  if (expectedTag !== undefined && element.tag !== expectedTag)
    throw malformed(`unexpected tag 0x${element.tag.toString(16)}`);
  return element;
}

/** Splits constructed content octets into their child elements. */
export function readDerChildren(content: Uint8Array): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < content.length) {
    const { element, next } = readElement(content, offset);
    out.push(element);
    offset = next;
  }
  return out;
}

/** Encodes a DER definite length (X.690 §10.1). */
function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) bytes.unshift(l % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encodes one element from its tag and content octets. */
export function encodeDer(tag: number, value: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(tag), encodeLength(value.length), value);
}

/** Encodes a SEQUENCE of already-encoded elements. */
export function encodeDerSequence(...children: Uint8Array[]): Uint8Array {
  return encodeDer(TAG_SEQUENCE, concatBytes(...children));
}

/** Encodes a non-negative big-endian magnitude as a minimal DER INTEGER. */
export function encodeDerUnsigned(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  const body =
    trimmed.length === 0
      ? Uint8Array.of(0)
      : (trimmed[0] as number) & 0x80
        ? concatBytes(Uint8Array.of(0), trimmed)
        : trimmed;
  return encodeDer(TAG_INTEGER, body);
}

/**
 * Reads a DER INTEGER that must be non-negative and minimally encoded
 * (X.690 §8.3.2); returns its magnitude without the sign octet.
 */
export function readDerUnsigned(element: DerElement): Uint8Array {
  if (element.tag !== TAG_INTEGER) throw malformed('expected INTEGER');
  const v = element.value;
  if (v.length === 0) throw malformed('empty INTEGER');
  const b0 = v[0] as number;
  if (b0 & 0x80) throw malformed('negative INTEGER');
  if (v.length > 1 && b0 === 0 && ((v[1] as number) & 0x80) === 0) throw malformed('non-minimal INTEGER');
  return b0 === 0 && v.length > 1 ? v.subarray(1) : v;
}

/** Reads a small INTEGER (version fields). */
export function readDerSmallInt(element: DerElement): number {
  const m = readDerUnsigned(element);
  if (m.length > 1) throw malformed('INTEGER out of range');
  return m[0] as number;
}

/** Content of a BIT STRING with no unused bits (X.690 §8.6.2). */
export function readDerBitString(element: DerElement): Uint8Array {
  if (element.tag !== TAG_BIT_STRING || element.value.length === 0 || element.value[0] !== 0) {
    throw malformed('expected BIT STRING with no unused bits');
  }
  return element.value.subarray(1);
}

/** Encodes a BIT STRING with no unused bits. */
export function encodeDerBitString(bytes: Uint8Array): Uint8Array {
  return encodeDer(TAG_BIT_STRING, concatBytes(Uint8Array.of(0), bytes));
}
