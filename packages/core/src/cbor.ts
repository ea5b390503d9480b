import { isBytes, toHex } from './bytes.js';
import { OmtError } from './errors.js';

/**
 * Deterministic CBOR (RFC 8949 §4.2.1) encoding and strict decoding.
 *
 * Why not cbor-x's own encoder/decoder: deterministic encoding needs map keys sorted by
 * the bytes of their encodings and the shortest exact float width, and strict decoding
 * must reject indefinite lengths, duplicate keys, trailing bytes and absurd lengths —
 * cbor-x does none of these. So this file is a small, complete codec of its own; cbor-x's
 * `Tag` objects are accepted on input (recognised by shape, so cbor-x — whose Node paths use
 * `Buffer` — stays out of browser bundles), and the tests cross-check against cbor-x.
 *
 * Data model mapping (both directions):
 *
 * | CBOR                         | JS                                                                  |
 * |------------------------------|---------------------------------------------------------------------|
 * | unsigned / negative int      | `number` when a safe integer, else `bigint`                         |
 * | tag 2 / 3 bignum             | `bigint` (encode only beyond 64 bits, §3.4.3)                       |
 * | byte string                  | `Uint8Array` (decoding returns a fresh copy)                        |
 * | text string                  | `string` (strict UTF-8; lone surrogates cannot be encoded)          |
 * | array                        | `Array`                                                             |
 * | map                          | `Map` when decoded; `Map` or a plain object (string keys) to encode |
 * | tag                          | {@link CborTag} (cbor-x's `Tag` is accepted when encoding)          |
 * | false/true/null/undefined    | `false`/`true`/`null`/`undefined`                                   |
 * | other simple values          | {@link CborSimple}                                                  |
 * | float                        | `number` (non-integers, −0, NaN, ±Infinity, and integers beyond 2^53) |
 */

/** A tag object from another CBOR library (cbor-x's `Tag`): `{ tag, value }` of class `Tag`. */
function isForeignTag(v: unknown): v is { tag: unknown; value: CborValue } {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { constructor?: { name?: string } }).constructor?.name === 'Tag' &&
    'tag' in v &&
    'value' in v
  );
}

/** A tagged data item (RFC 8949 §3.4). Decoding returns this class for every tag except bignums (2, 3). */
export class CborTag {
  readonly tag: number | bigint;
  readonly value: CborValue;
  constructor(tag: number | bigint, value: CborValue) {
    this.tag = tag;
    this.value = value;
  }
}

/** A simple value other than false/true/null/undefined (RFC 8949 §3.3): 0–19 or 32–255. */
export class CborSimple {
  readonly value: number;
  constructor(value: number) {
    if (!Number.isInteger(value) || value < 0 || value > 255 || (value >= 20 && value < 32)) {
      throw new OmtError('core.input.invalid', 'CBOR simple value must be 0–19 or 32–255');
    }
    this.value = value;
  }
}

/** Any value {@link encodeCbor} accepts and {@link decodeCbor} returns. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborTag
  | CborSimple
  | readonly CborValue[]
  | ReadonlyMap<CborValue, CborValue>
  | { readonly [key: string]: CborValue };

export interface EncodeCborOptions {
  /** Maximum nesting of arrays, maps and tags (default 64); deeper (or cyclic) values throw. */
  readonly maxDepth?: number;
}

export interface DecodeCborOptions {
  /** Maximum nesting of arrays, maps and tags (default 64, at most 1000). */
  readonly maxDepth?: number;
  /** Also reject encodings that are well-formed but not deterministic (§4.2.1) with `core.cbor.non-canonical`. */
  readonly requireDeterministic?: boolean;
}

const DEFAULT_MAX_DEPTH = 64;
const MAX_MAX_DEPTH = 1000;
const TWO_32 = 0x1_0000_0000;
const TWO_64 = 1n << 64n;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const textEncoder = /* @__PURE__ */ new TextEncoder();
const textDecoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function checkMaxDepth(v: number | undefined): number {
  if (v === undefined) return DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(v) || v < 1 || v > MAX_MAX_DEPTH) {
    throw new OmtError('core.input.invalid', `maxDepth must be an integer in 1..${MAX_MAX_DEPTH}`);
  }
  return v;
}

// ───────────────────────────── encoding ─────────────────────────────

class ByteWriter {
  private buf = new Uint8Array(64);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  uint(v: number, size: 1 | 2 | 4): void {
    this.ensure(size);
    for (let i = size - 1; i >= 0; i--) {
      this.buf[this.length + i] = v & 0xff;
      v = Math.floor(v / 256);
    }
    this.length += size;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Shortest argument head (RFC 8949 §4.2.1 "preferred serialization" of the argument). */
function writeHead(w: ByteWriter, major: number, arg: number | bigint): void {
  const mt = major << 5;
  if (typeof arg === 'bigint') {
    if (arg < BigInt(Number.MAX_SAFE_INTEGER)) {
      writeHead(w, major, Number(arg));
      return;
    }
    w.byte(mt | 27);
    w.uint(Number(arg >> 32n), 4);
    w.uint(Number(arg & 0xffff_ffffn), 4);
    return;
  }
  if (arg < 24) w.byte(mt | arg);
  else if (arg < 0x100) {
    w.byte(mt | 24);
    w.uint(arg, 1);
  } else if (arg < 0x1_0000) {
    w.byte(mt | 25);
    w.uint(arg, 2);
  } else if (arg < TWO_32) {
    w.byte(mt | 26);
    w.uint(arg, 4);
  } else {
    w.byte(mt | 27);
    w.uint(Math.floor(arg / TWO_32), 4);
    w.uint(arg >>> 0, 4);
  }
}

const f64View = /* @__PURE__ */ new DataView(new ArrayBuffer(8));

/** Float in the shortest of f16/f32/f64 that holds it exactly; NaN as f97e00 (§4.2.1, §4.2.2). */
function writeFloat(w: ByteWriter, x: number): void {
  if (Number.isNaN(x)) {
    w.byte(0xf9);
    w.uint(0x7e00, 2);
    return;
  }
  const half = toFloat16Exact(x);
  if (half !== undefined) {
    w.byte(0xf9);
    w.uint(half, 2);
    return;
  }
  if (Math.fround(x) === x) {
    f64View.setFloat32(0, x);
    w.byte(0xfa);
    w.uint(f64View.getUint32(0), 4);
    return;
  }
  f64View.setFloat64(0, x);
  w.byte(0xfb);
  w.uint(f64View.getUint32(0), 4);
  w.uint(f64View.getUint32(4), 4);
}

/** The IEEE 754 binary16 bits of `x` when it is exactly representable, else undefined. */
function toFloat16Exact(x: number): number | undefined {
  f64View.setFloat64(0, x);
  const hi = f64View.getUint32(0);
  const lo = f64View.getUint32(4);
  const sign = (hi >>> 31) << 15;
  const exp = (hi >>> 20) & 0x7ff;
  if (exp === 0x7ff) return sign | 0x7c00; // ±Infinity (NaN handled by the caller)
  if (exp === 0 && (hi & 0xfffff) === 0 && lo === 0) return sign; // ±0
  const e = exp - 1023;
  if (e >= -14 && e <= 15) {
    // Normal half: 10 mantissa bits, the low 42 of the double's 52 must be zero.
    if (lo !== 0 || (hi & 0x3ff) !== 0) return undefined;
    return sign | ((e + 15) << 10) | ((hi & 0xfffff) >>> 10);
  }
  if (e >= -24 && e < -14) {
    // Subnormal half: value = m · 2^-24 with m in 1..1023.
    const m = Math.abs(x) * 2 ** 24;
    return Number.isInteger(m) ? sign | m : undefined;
  }
  return undefined;
}

function bigintToBytes(v: bigint): Uint8Array {
  let h = v.toString(16);
  if (h.length % 2) h = `0${h}`;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function unsupported(what: string): OmtError {
  return new OmtError('core.cbor.unsupported-value', `cannot encode ${what} as CBOR`);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function writeMap(
  w: ByteWriter,
  entries: Iterable<readonly [unknown, unknown]>,
  depth: number,
  maxDepth: number,
): void {
  const pairs: [Uint8Array, Uint8Array][] = [];
  for (const [k, v] of entries) {
    const kw = new ByteWriter();
    writeValue(kw, k, depth, maxDepth);
    const vw = new ByteWriter();
    writeValue(vw, v, depth, maxDepth);
    pairs.push([kw.result(), vw.result()]);
  }
  // §4.2.1: keys sorted by the bytewise lexicographic order of their deterministic encodings.
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  for (let i = 1; i < pairs.length; i++) {
    if (
      compareBytes(
        (pairs[i - 1] as [Uint8Array, Uint8Array])[0],
        (pairs[i] as [Uint8Array, Uint8Array])[0],
      ) === 0
    ) {
      throw new OmtError('core.cbor.duplicate-key', 'map has two keys with the same CBOR encoding');
    }
  }
  writeHead(w, 5, pairs.length);
  for (const [k, v] of pairs) {
    w.bytes(k);
    w.bytes(v);
  }
}

function writeValue(w: ByteWriter, v: unknown, depth: number, maxDepth: number): void {
  switch (typeof v) {
    case 'number':
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        if (v >= 0) writeHead(w, 0, v);
        else writeHead(w, 1, -1 - v);
      } else writeFloat(w, v);
      return;
    case 'bigint':
      if (v >= 0n) {
        if (v < TWO_64) writeHead(w, 0, v);
        else writeTagged(w, 2, bigintToBytes(v));
      } else {
        const n = -1n - v;
        if (n < TWO_64) writeHead(w, 1, n);
        else writeTagged(w, 3, bigintToBytes(n));
      }
      return;
    case 'string': {
      if (LONE_SURROGATE.test(v)) throw unsupported('a string with a lone surrogate (not valid UTF-8)');
      const b = textEncoder.encode(v);
      writeHead(w, 3, b.length);
      w.bytes(b);
      return;
    }
    case 'boolean':
      w.byte(v ? 0xf5 : 0xf4);
      return;
    case 'undefined':
      w.byte(0xf7);
      return;
    case 'object':
      break;
    default:
      throw unsupported(`a ${typeof v}`);
  }
  if (v === null) {
    w.byte(0xf6);
    return;
  }
  if (isBytes(v)) {
    writeHead(w, 2, v.length);
    w.bytes(v);
    return;
  }
  if (v instanceof CborSimple) {
    if (v.value < 24) w.byte(0xe0 | v.value);
    else {
      w.byte(0xf8);
      w.byte(v.value);
    }
    return;
  }
  if (depth >= maxDepth) {
    throw new OmtError('core.cbor.too-deep', `value nests deeper than ${maxDepth} levels (or is cyclic)`);
  }
  const d = depth + 1;
  if (Array.isArray(v)) {
    writeHead(w, 4, v.length);
    for (let i = 0; i < v.length; i++) writeValue(w, v[i], d, maxDepth);
    return;
  }
  if (v instanceof Map) {
    writeMap(w, v, d, maxDepth);
    return;
  }
  if (v instanceof CborTag || isForeignTag(v)) {
    const tag: unknown = v.tag;
    const ok =
      (typeof tag === 'number' && Number.isSafeInteger(tag) && tag >= 0) ||
      (typeof tag === 'bigint' && tag >= 0n && tag < TWO_64);
    if (!ok) throw unsupported('a tag number outside 0..2^64-1');
    writeHead(w, 6, tag as number | bigint);
    writeValue(w, v.value, d, maxDepth);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    writeMap(w, Object.entries(v as Record<string, unknown>), d, maxDepth);
    return;
  }
  throw unsupported(`an object of type ${(v as object).constructor?.name ?? 'unknown'}`);
}

function writeTagged(w: ByteWriter, tag: number, content: Uint8Array): void {
  writeHead(w, 6, tag);
  writeHead(w, 2, content.length);
  w.bytes(content);
}

/**
 * Encodes a value as deterministic CBOR (RFC 8949 §4.2.1): shortest heads and floats,
 * definite lengths, map keys sorted bytewise by their encodings. Throws
 * `core.cbor.unsupported-value` for values with no CBOR form (functions, symbols, class
 * instances, lone surrogates), `core.cbor.duplicate-key` when two map keys encode alike
 * (e.g. `1` and `1n`), `core.cbor.too-deep` past `maxDepth` (also catches cycles).
 *
 * @example
 * ```ts
 * encodeCbor(new Map([[1, -7], [4, utf8('kid')]])); // a2 01 26 04 43 6b6964
 * ```
 */
export function encodeCbor(value: CborValue, options?: EncodeCborOptions): Uint8Array {
  const maxDepth = checkMaxDepth(options?.maxDepth);
  const w = new ByteWriter();
  writeValue(w, value, 0, maxDepth);
  return w.result();
}

// ───────────────────────────── decoding ─────────────────────────────

class Decoder {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly maxDepth: number,
    readonly strict: boolean,
  ) {}

  malformed(message: string, offset = this.pos): OmtError {
    return new OmtError('core.cbor.malformed', `malformed CBOR at offset ${offset}: ${message}`, {
      details: { offset },
    });
  }

  nonCanonical(message: string, offset: number): OmtError {
    return new OmtError('core.cbor.non-canonical', `non-deterministic CBOR at offset ${offset}: ${message}`, {
      details: { offset },
    });
  }

  need(n: number): void {
    if (n > this.bytes.length - this.pos) throw this.malformed('unexpected end of input');
  }

  readUint(size: number): number {
    this.need(size);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + (this.bytes[this.pos++] as number);
    return v;
  }

  /** Reads the argument for additional info `ai` (< 28), checking shortest form in strict mode. */
  readArgument(ai: number, start: number): number | bigint {
    if (ai < 24) return ai;
    let v: number | bigint;
    let min: number;
    if (ai === 24) {
      v = this.readUint(1);
      min = 24;
    } else if (ai === 25) {
      v = this.readUint(2);
      min = 0x100;
    } else if (ai === 26) {
      v = this.readUint(4);
      min = 0x1_0000;
    } else {
      const hi = this.readUint(4);
      const lo = this.readUint(4);
      v = hi < 0x20_0000 ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
      min = TWO_32;
    }
    if (this.strict && v < min) throw this.nonCanonical('integer argument not in its shortest form', start);
    return v;
  }

  /** A length/count argument: must fit in what remains, so nothing large is ever allocated. */
  readLength(ai: number, start: number, unit: number): number {
    const v = this.readArgument(ai, start);
    const remaining = this.bytes.length - this.pos;
    if (typeof v === 'bigint' || v * unit > remaining)
      throw this.malformed('declared length exceeds the input', start);
    return v;
  }

  item(depth: number): CborValue {
    const start = this.pos;
    this.need(1);
    const ib = this.bytes[this.pos++] as number;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    if (ai === 31)
      throw this.malformed(major === 7 ? 'unexpected break' : 'indefinite length not allowed', start);
    if (ai >= 28) throw this.malformed('reserved additional information value', start);
    switch (major) {
      case 0: {
        return this.readArgument(ai, start);
      }
      case 1: {
        const v = this.readArgument(ai, start);
        if (typeof v === 'number' && v < Number.MAX_SAFE_INTEGER) return -1 - v;
        return -1n - BigInt(v);
      }
      case 2: {
        const n = this.readLength(ai, start, 1);
        const out = this.bytes.slice(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case 3: {
        const n = this.readLength(ai, start, 1);
        const at = this.pos;
        this.pos += n;
        try {
          return textDecoder.decode(this.bytes.subarray(at, at + n));
        } catch (e) {
          throw new OmtError(
            'core.cbor.malformed',
            `malformed CBOR at offset ${start}: invalid UTF-8 in text string`,
            {
              cause: e,
              details: { offset: start },
            },
          );
        }
      }
      case 4: {
        const n = this.readLength(ai, start, 1);
        this.enter(depth, start);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5:
        return this.map(ai, start, depth);
      case 6: {
        const tag = this.readArgument(ai, start);
        this.enter(depth, start);
        const contentAt = this.pos;
        const value = this.item(depth + 1);
        if ((tag === 2 || tag === 3) && value instanceof Uint8Array) {
          // RFC 8949 §3.4.3 bignums; preferred serialization (§4.2.1) uses plain ints up to 64 bits.
          let n = 0n;
          for (const b of value) n = (n << 8n) | BigInt(b);
          if (this.strict && ((value.length > 0 && value[0] === 0) || n < TWO_64)) {
            throw this.nonCanonical(
              'bignum with leading zeros or small enough for a plain integer',
              contentAt,
            );
          }
          return tag === 2 ? n : -1n - n;
        }
        return new CborTag(tag, value);
      }
      default:
        return this.simpleOrFloat(ai, start);
    }
  }

  enter(depth: number, start: number): void {
    if (depth + 1 > this.maxDepth) throw this.malformed(`nesting deeper than ${this.maxDepth}`, start);
  }

  map(ai: number, start: number, depth: number): Map<CborValue, CborValue> {
    const n = this.readLength(ai, start, 2);
    this.enter(depth, start);
    const out = new Map<CborValue, CborValue>();
    const seen = new Set<string>();
    let prevKey: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      const keyAt = this.pos;
      const key = this.item(depth + 1);
      const raw = this.bytes.subarray(keyAt, this.pos);
      if (this.strict) {
        // §4.2.1: keys strictly ascending by their (already checked deterministic) encodings.
        if (prevKey !== undefined && compareBytes(prevKey, raw) >= 0) {
          if (compareBytes(prevKey, raw) === 0) throw this.malformed('duplicate map key', keyAt);
          throw this.nonCanonical('map keys not in bytewise order', keyAt);
        }
        prevKey = raw;
      }
      // Duplicates are judged on the canonical encoding of the decoded key, so `01` and `1801` collide.
      const id = toHex(encodeCbor(key, { maxDepth: MAX_MAX_DEPTH }));
      if (seen.has(id)) throw this.malformed('duplicate map key', keyAt);
      seen.add(id);
      out.set(key, this.item(depth + 1));
    }
    return out;
  }

  simpleOrFloat(ai: number, start: number): CborValue {
    if (ai < 20) return new CborSimple(ai);
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 24: {
        const v = this.readUint(1);
        if (v < 32) throw this.malformed('two-byte simple value below 32', start);
        return new CborSimple(v);
      }
      case 25:
        return this.float(start, decodeFloat16(this.readUint(2)));
      case 26: {
        this.need(4);
        const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0);
        this.pos += 4;
        return this.float(start, v);
      }
      default: {
        this.need(8);
        const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8).getFloat64(0);
        this.pos += 8;
        return this.float(start, v);
      }
    }
  }

  float(start: number, v: number): number {
    if (this.strict) {
      const w = new ByteWriter();
      writeFloat(w, v);
      const raw = this.bytes.subarray(start, this.pos);
      if (compareBytes(w.result(), raw) !== 0)
        throw this.nonCanonical('float not in its shortest exact form', start);
    }
    return v;
  }
}

function decodeFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (mant + 1024) * 2 ** (exp - 25);
}

/**
 * Strictly decodes exactly one CBOR data item. Rejects with `core.cbor.malformed`
 * (`details.offset` = where): truncation, trailing bytes, indefinite lengths, reserved
 * additional info 28–30, lengths beyond the input, duplicate map keys, invalid UTF-8,
 * two-byte simple values below 32, nesting deeper than `maxDepth`. With
 * `requireDeterministic`, non-preferred heads/floats, unsorted keys and small bignums
 * reject with `core.cbor.non-canonical`.
 *
 * @example
 * ```ts
 * const m = decodeCbor(fromHex('a201260443 6b6964'.replace(' ', ''))) as Map<number, unknown>;
 * m.get(1); // -7
 * ```
 */
export function decodeCbor(bytes: Uint8Array, options?: DecodeCborOptions): CborValue {
  if (!isBytes(bytes)) throw new OmtError('core.input.invalid', 'decodeCbor expects a Uint8Array');
  // A plain Uint8Array view, so `slice` copies into a fresh Uint8Array even for a Node Buffer
  // (whose `slice` would return a view into a possibly pooled buffer).
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = new Decoder(view, checkMaxDepth(options?.maxDepth), options?.requireDeterministic === true);
  const value = d.item(0);
  if (d.pos !== view.length) throw d.malformed('trailing bytes after the data item');
  return value;
}
