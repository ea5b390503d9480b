/**
 * A small strict DER (ITU-T X.690 §10) walker for the few CMS / PKCS#8 fields this package reads
 * beyond X.509 (RFC 3161 tokens, RSA-PSS key re-wrapping); no CMS library is installed.
 * Definite lengths only; errors throw {@link DerError} (internal, callers turn it into statuses).
 *
 * @example
 * ```ts
 * const [version, alg] = kids(need(one(der), 0x30, 'SEQUENCE').value);
 * ```
 */
export interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
  /** The whole element (header + value). */
  readonly raw: Uint8Array;
}

export class DerError extends Error {}

/** One DER element at `at` (definite lengths only, ≤ 4 length octets, low tag numbers). */
export function tlvAt(b: Uint8Array, at: number): { el: Tlv; next: number } {
  if (at + 2 > b.length) throw new DerError('truncated');
  const tag = b[at] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers unsupported');
  let len = b[at + 1] as number;
  let pos = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > b.length) throw new DerError('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[pos + i] as number);
    pos += n;
  }
  if (pos + len > b.length) throw new DerError('length past end');
  return { el: { tag, value: b.subarray(pos, pos + len), raw: b.subarray(at, pos + len) }, next: pos + len };
}

export function one(b: Uint8Array): Tlv {
  const { el, next } = tlvAt(b, 0);
  if (next !== b.length) throw new DerError('trailing bytes');
  return el;
}

export function kids(v: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < v.length) {
    const { el, next } = tlvAt(v, at);
    out.push(el);
    at = next;
    if (out.length > 4096) throw new DerError('too many elements');
  }
  return out;
}

export function oid(el: Tlv | undefined): string {
  if (el === undefined || el.tag !== 0x06 || el.value.length === 0) throw new DerError('expected an OID');
  const v = el.value;
  const parts: number[] = [];
  let n = 0;
  for (const byte of v) {
    n = n * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join('.');
}

export function need(el: Tlv | undefined, tag: number, what: string): Tlv {
  if (el === undefined || el.tag !== tag) throw new DerError(`expected ${what}`);
  return el;
}
