import { base64, base64urlnopad, hex } from '@scure/base';
import { OmtError } from './errors.js';

/** Bytes ↔ text encodings. Every decoder rejects malformed input with `core.encoding.invalid`. */

const HEX_BYTE: readonly string[] = /* @__PURE__ */ Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

/** Lower-case hex of `bytes` (a table lookup per byte: hashes and proofs are hex-encoded a lot). */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_BYTE[bytes[i] as number];
  return out;
}

/** Decodes hex (either case, even length, no prefix). */
export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new OmtError('core.encoding.invalid', 'invalid hex: expected an even number of hex digits');
  }
  return hex.decode(text.toLowerCase());
}

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  return base64.encode(bytes);
}

/** Decodes standard padded base64 (RFC 4648 §4); rejects whitespace and non-canonical padding bits. */
export function fromBase64(text: string): Uint8Array {
  try {
    return base64.decode(text);
  } catch (e) {
    throw new OmtError('core.encoding.invalid', 'invalid base64', { cause: e });
  }
}

/** base64url without padding (RFC 4648 §5), as JOSE and COSE text forms use. */
export function toBase64Url(bytes: Uint8Array): string {
  return base64urlnopad.encode(bytes);
}

/** Decodes unpadded base64url (RFC 4648 §5). */
export function fromBase64Url(text: string): Uint8Array {
  try {
    return base64urlnopad.decode(text);
  } catch (e) {
    throw new OmtError('core.encoding.invalid', 'invalid base64url', { cause: e });
  }
}

const encoder = /* @__PURE__ */ new TextEncoder();
const strictDecoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 encoding of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decoding: malformed sequences throw `core.encoding.invalid`. A BOM is kept, not stripped. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (e) {
    throw new OmtError('core.encoding.invalid', 'invalid UTF-8', { cause: e });
  }
}

/** Concatenates byte arrays into a new one. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Constant-time equality: the running time depends only on the lengths, never on
 * where the first difference is. Arrays of different lengths are unequal.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** True for a Uint8Array (also across realms, e.g. a Node Buffer or another frame's array). */
export function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array || (ArrayBuffer.isView(v) && v.constructor.name === 'Uint8Array');
}

/** Overwrites a secret buffer with zeros (best effort: JS cannot promise no copies remain). */
export function wipeBytes(bytes: Uint8Array): void {
  bytes.fill(0);
}
