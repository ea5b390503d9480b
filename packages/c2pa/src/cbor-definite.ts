import { concatBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';

/**
 * Rewrites indefinite-length CBOR items (RFC 8949 §3.2.2, §3.2.3) as definite-length ones,
 * leaving every other byte as it was, so `@omt/core/cbor`'s strict decoder can read claims and
 * assertions written by c2pa-rs (serde_cbor emits indefinite maps for some structures).
 * Only a transcoder: the signed bytes are never replaced by its output. Bounded by `maxDepth`
 * and by the input length (every item consumes at least one byte).
 *
 * @example
 * ```ts
 * decodeCbor(toDefiniteCbor(claimBytes));
 * ```
 */
export function toDefiniteCbor(bytes: Uint8Array, maxDepth = 64): Uint8Array {
  if (!hasIndefinite(bytes)) return bytes;
  const out: Uint8Array[] = [];
  const end = copyItem(bytes, 0, out, 0, maxDepth);
  if (end !== bytes.length) throw malformed('trailing bytes after the CBOR item', end);
  return concatBytes(...out);
}

function malformed(message: string, offset: number): OmtError {
  return new OmtError('core.cbor.malformed', `malformed CBOR at offset ${offset}: ${message}`, {
    details: { offset },
  });
}

/** Cheap pre-check: any 0x5f/0x7f/0x9f/0xbf byte may start an indefinite item. */
function hasIndefinite(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const x = b[i] as number;
    if (x === 0x5f || x === 0x7f || x === 0x9f || x === 0xbf) return true;
  }
  return false;
}

function head(major: number, n: number): Uint8Array {
  const mt = major << 5;
  if (n < 24) return Uint8Array.of(mt | n);
  if (n < 0x100) return Uint8Array.of(mt | 24, n);
  if (n < 0x10000) return Uint8Array.of(mt | 25, n >> 8, n & 0xff);
  return Uint8Array.of(mt | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Reads an item head; returns [major, ai, argument, next offset]. */
function readHead(b: Uint8Array, at: number): [number, number, number, number] {
  if (at >= b.length) throw malformed('unexpected end of input', at);
  const ib = b[at] as number;
  const major = ib >> 5;
  const ai = ib & 0x1f;
  if (ai < 24) return [major, ai, ai, at + 1];
  if (ai === 31) return [major, ai, -1, at + 1];
  if (ai >= 28) throw malformed('reserved additional information value', at);
  const size = 1 << (ai - 24);
  if (at + 1 + size > b.length) throw malformed('unexpected end of input', at);
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + (b[at + 1 + i] as number);
  return [major, ai, v, at + 1 + size];
}

function copyItem(b: Uint8Array, at: number, out: Uint8Array[], depth: number, maxDepth: number): number {
  const [major, ai, arg, next] = readHead(b, at);
  if (ai !== 31) {
    switch (major) {
      case 2:
      case 3: {
        if (arg > b.length - next) throw malformed('declared length exceeds the input', at);
        out.push(b.subarray(at, next + arg));
        return next + arg;
      }
      case 4:
      case 5: {
        if (depth >= maxDepth) throw malformed(`nesting deeper than ${maxDepth}`, at);
        const count = major === 5 ? arg * 2 : arg;
        if (count > b.length - next) throw malformed('declared length exceeds the input', at);
        out.push(b.subarray(at, next));
        let pos = next;
        for (let i = 0; i < count; i++) pos = copyItem(b, pos, out, depth + 1, maxDepth);
        return pos;
      }
      case 6: {
        if (depth >= maxDepth) throw malformed(`nesting deeper than ${maxDepth}`, at);
        out.push(b.subarray(at, next));
        return copyItem(b, next, out, depth + 1, maxDepth);
      }
      default:
        out.push(b.subarray(at, next));
        return next;
    }
  }
  // Indefinite length: gather, count, then emit a definite head.
  if (major === 2 || major === 3) {
    const chunks: Uint8Array[] = [];
    let pos = next;
    for (;;) {
      if (b[pos] === 0xff) break;
      const [m, cai, len, cnext] = readHead(b, pos);
      if (m !== major || cai === 31) throw malformed('bad chunk in indefinite-length string', pos);
      if (len > b.length - cnext) throw malformed('declared length exceeds the input', pos);
      chunks.push(b.subarray(cnext, cnext + len));
      pos = cnext + len;
    }
    const body = concatBytes(...chunks);
    out.push(head(major, body.length), body);
    return pos + 1;
  }
  if (major === 4 || major === 5) {
    if (depth >= maxDepth) throw malformed(`nesting deeper than ${maxDepth}`, at);
    const inner: Uint8Array[] = [];
    let pos = next;
    let items = 0;
    for (;;) {
      if (pos >= b.length) throw malformed('unterminated indefinite-length item', at);
      if (b[pos] === 0xff) break;
      pos = copyItem(b, pos, inner, depth + 1, maxDepth);
      items++;
    }
    if (major === 5 && items % 2 !== 0)
      throw malformed('indefinite-length map with an odd number of items', at);
    out.push(head(major, major === 5 ? items / 2 : items), ...inner);
    return pos + 1;
  }
  throw malformed(major === 7 ? 'unexpected break' : 'indefinite length not allowed for this major type', at);
}
