import { isBytes, utf8 } from './bytes.js';
import { OmtError } from './errors.js';

/** A JSON value as RFC 8259 defines it (what {@link parseJson} returns). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Options of {@link canonicalize} and {@link parseJson}. */
export interface JsonOptions {
  /** Maximum nesting of arrays/objects (default 1000, at most 100000). Deeper input throws `core.json.invalid`. */
  maxDepth?: number;
}

/** Default nesting limit: far beyond any real document, far below the JS stack limit. */
export const DEFAULT_MAX_DEPTH: number = 1000;
// Both walkers are iterative, so the cap only bounds memory; far above any sane document.
const MAX_DEPTH_CAP = 100_000;

function maxDepthOf(opts: unknown): number {
  // Explicit checks rather than zod: JCS is on every browser path and should not pull a schema library.
  if (opts === undefined) return DEFAULT_MAX_DEPTH;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new OmtError('core.input.invalid', 'invalid JSON options: expected an object');
  }
  for (const k of Object.keys(opts)) {
    if (k !== 'maxDepth')
      throw new OmtError('core.input.invalid', `invalid JSON options: unknown option ${JSON.stringify(k)}`);
  }
  const d = (opts as { maxDepth?: unknown }).maxDepth;
  if (d === undefined) return DEFAULT_MAX_DEPTH;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_DEPTH_CAP) {
    throw new OmtError(
      'core.input.invalid',
      `invalid JSON options: maxDepth must be an integer from 1 to ${MAX_DEPTH_CAP}`,
    );
  }
  return d;
}

/** Nesting levels checked for cycles by a linear scan before a Set takes over. */
const SHALLOW = 16;

// In a `u` regex a surrogate class matches only unpaired surrogates (pairs are one code point).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';

/** Index of the first unpaired surrogate in `s`, or -1 (ES2024 isWellFormed as the fast path). */
function loneSurrogateAt(s: string): number {
  if (hasIsWellFormed && (s as unknown as { isWellFormed(): boolean }).isWellFormed()) return -1;
  const m = LONE_SURROGATE.exec(s);
  return m === null ? -1 : m.index;
}

function pointer(path: readonly (string | number)[]): string {
  // RFC 6901 JSON Pointer of the offending value, for the error message.
  return path.length === 0
    ? '(root)'
    : `/${path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

function invalid(message: string, path: readonly (string | number)[]): OmtError {
  const at = pointer(path);
  return new OmtError('core.json.invalid', `${message} at ${at}`, { details: { path: at } });
}

/** Names what a non-JSON value is, e.g. `Map`, `Date`, `instance of class Point`. */
function describeNonPlain(v: object): string {
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null;
  const name = proto?.constructor?.name;
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  if (typeof name === 'string' && name !== '' && name !== tag && tag === 'Object')
    return `instance of class ${name}`;
  if (typeof name === 'string' && name !== '') return name;
  return tag;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === null || proto === Object.prototype) return true;
  // A plain object from another realm (iframe, vm context): its prototype is that realm's Object.prototype.
  return (
    Object.getPrototypeOf(proto) === null &&
    Object.prototype.toString.call(v) === '[object Object]' &&
    !Array.isArray(v)
  );
}

/**
 * Serializes `value` with the JSON Canonicalization Scheme (RFC 8785): no whitespace, object
 * members sorted by the UTF-16 code units of their names (§3.2.3), strings with the minimal
 * escapes of §3.2.2.2, numbers as ECMAScript `Number.prototype.toString` (§3.2.2.3; `-0` → `0`).
 *
 * Only I-JSON (RFC 7493, required by RFC 8785 §3.1) is accepted; anything else throws
 * `core.json.invalid` naming the offending place: `undefined`, functions, symbols, BigInt,
 * NaN/±Infinity, lone surrogates in strings or names, cycles, non-plain objects (Map, Date,
 * class instances, typed arrays, boxed primitives), array holes, symbol-keyed members, or
 * nesting deeper than `maxDepth`.
 *
 * @example
 * ```ts
 * canonicalize({ b: [1e21, -0], a: 'é' }); // '{"a":"é","b":[1e+21,0]}'
 * ```
 */
export function canonicalize(value: unknown, opts?: JsonOptions): string {
  const maxDepth = maxDepthOf(opts);
  // Iterative walk with an explicit stack, so depth never touches the JS call stack.
  const stack: WriteFrame[] = [];
  // Cycle check (only ancestors matter): scan the first SHALLOW frames, use a Set for deeper ones.
  const deep = new Set<object>();
  const onPath = (o: object): boolean => {
    const n = Math.min(stack.length, SHALLOW);
    for (let i = 0; i < n; i++) if ((stack[i] as WriteFrame).container === o) return true;
    return deep.has(o);
  };
  const fail = (message: string): OmtError =>
    invalid(
      message,
      stack.map((f) => f.at),
    );

  let out = '';
  let v: unknown = value;
  for (;;) {
    if (typeof v === 'object' && v !== null) {
      const obj = v;
      if (onPath(obj)) throw fail('cyclic structure');
      if (stack.length >= maxDepth) throw fail(`nesting deeper than ${maxDepth}`);
      if (Array.isArray(obj)) {
        out += '[';
        stack.push({ container: obj, keys: null, i: 0, at: 0 });
      } else {
        if (!isPlainObject(obj)) throw fail(`${describeNonPlain(obj)} is not a plain JSON object`);
        if (
          Object.getOwnPropertySymbols(obj).some((s) => Object.prototype.propertyIsEnumerable.call(obj, s))
        ) {
          throw fail('symbol-keyed member is not representable in JSON');
        }
        out += '{';
        // §3.2.3: sort by UTF-16 code units, which is exactly Array.prototype.sort's default order.
        stack.push({ container: obj, keys: Object.keys(obj).sort(), i: 0, at: '' });
      }
      if (stack.length > SHALLOW) deep.add(obj);
    } else {
      out += scalar(v, fail);
    }

    // Move to the next value to write, closing every container that is finished.
    let more = false;
    while (stack.length > 0) {
      const f = stack[stack.length - 1] as WriteFrame;
      if (f.keys === null) {
        const arr = f.container as unknown[];
        if (f.i < arr.length) {
          const i = f.i++;
          f.at = i;
          if (i > 0) out += ',';
          if (!(i in arr)) throw fail('array hole (sparse array) is not a JSON value');
          v = arr[i];
          more = true;
          break;
        }
        out += ']';
      } else {
        if (f.i < f.keys.length) {
          const k = f.keys[f.i++] as string;
          f.at = k;
          const bad = loneSurrogateAt(k);
          if (bad >= 0) throw fail(`member name has a lone surrogate at index ${bad} (not I-JSON)`);
          out += `${f.i > 1 ? ',' : ''}${JSON.stringify(k)}:`;
          v = (f.container as Record<string, unknown>)[k];
          more = true;
          break;
        }
        out += '}';
      }
      if (stack.length > SHALLOW) deep.delete(f.container);
      stack.pop();
    }
    if (!more) return out;
  }
}

interface WriteFrame {
  container: object;
  /** Sorted member names of an object; null for an array. */
  keys: string[] | null;
  /** Index of the next element / member name to write. */
  i: number;
  /** Index or name of the child being written (for error paths). */
  at: string | number;
}

/**
 * Serialized forms of the long strings serialized lately. Long strings recur: every receipt of an
 * operator's batch carries the same checkpoint note (4–5 KB with an ML-DSA-65 signature, a
 * two-byte string for its em dash), and serializing one costs ≈ 30 µs (the surrogate scan and
 * `JSON.stringify`'s escaping) against ≈ 1 µs for the lookup. Bounded by the characters kept
 * (strings and their forms, ≤ 256 Ki characters: at most ≈ 1 MiB); cleared when full.
 */
const longForms = new Map<string, string>();
let longFormChars = 0;
const LONG_FORM_MIN = 1024;
const LONG_FORM_MAX = 16_384;
const LONG_FORM_BUDGET = 262_144;

function stringForm(v: string, fail: (message: string) => OmtError): string {
  const memo = v.length >= LONG_FORM_MIN && v.length <= LONG_FORM_MAX;
  if (memo) {
    const hit = longForms.get(v);
    if (hit !== undefined) return hit;
  }
  const bad = loneSurrogateAt(v);
  if (bad >= 0) throw fail(`string has a lone surrogate at index ${bad} (not I-JSON, RFC 7493 §2.1)`);
  // For well-formed strings JSON.stringify emits exactly the RFC 8785 §3.2.2.2 escapes.
  const out = JSON.stringify(v);
  if (memo) {
    if (longFormChars + v.length + out.length > LONG_FORM_BUDGET) {
      longForms.clear();
      longFormChars = 0;
    }
    longForms.set(v, out);
    longFormChars += v.length + out.length;
  }
  return out;
}

function scalar(v: unknown, fail: (message: string) => OmtError): string {
  switch (typeof v) {
    case 'string':
      return stringForm(v, fail);
    case 'number':
      if (!Number.isFinite(v)) throw fail(`${v} is not representable in JSON`);
      // §3.2.2.3: ECMAScript Number serialization; String(-0) is '0'.
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      throw fail('BigInt is not a JSON value (encode it as a string)');
    case 'symbol':
      throw fail('a symbol is not a JSON value');
    case 'function':
      throw fail('a function is not a JSON value');
    case 'undefined':
      throw fail('undefined is not a JSON value');
  }
  if (v === null) return 'null';
  throw fail(`unexpected ${typeof v}`);
}

/**
 * The UTF-8 bytes of {@link canonicalize}`(value)` — what gets hashed or signed (RFC 8785 §3.2.4).
 *
 * @example
 * ```ts
 * const digest = sha256(canonicalizeToBytes(claims));
 * ```
 */
export function canonicalizeToBytes(value: unknown, opts?: JsonOptions): Uint8Array {
  return utf8(canonicalize(value, opts));
}

const fatalUtf8 = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function textOf(input: unknown): string {
  if (typeof input === 'string') return input;
  if (isBytes(input)) {
    try {
      return fatalUtf8.decode(input);
    } catch (e) {
      // RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
      throw new OmtError('core.json.invalid', 'JSON bytes are not valid UTF-8', { cause: e });
    }
  }
  throw new OmtError('core.input.invalid', `JSON text must be a string or Uint8Array, got ${typeof input}`);
}

type ParseFrame = { arr: JsonValue[] } | { obj: { [key: string]: JsonValue }; key: string };

/** Strict RFC 8259 + I-JSON (RFC 7493) parser; containers use an explicit stack (no recursion). */
class StrictParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): JsonValue {
    const t = this.text;
    const stack: ParseFrame[] = [];
    this.skipWs();
    for (;;) {
      // Parse one value; an opened non-empty container is pushed and its first child parsed next.
      let v: JsonValue;
      const c = t.charCodeAt(this.pos);
      if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
        if (stack.length >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
        this.pos++;
        this.skipWs();
        if (c === 0x5b) {
          if (t.charCodeAt(this.pos) !== 0x5d) {
            stack.push({ arr: [] });
            continue;
          }
          this.pos++;
          v = [];
        } else {
          if (t.charCodeAt(this.pos) !== 0x7d) {
            const obj: { [key: string]: JsonValue } = {};
            stack.push({ obj, key: this.memberName(obj) });
            continue;
          }
          this.pos++;
          v = {};
        }
      } else {
        v = this.scalar(c);
      }

      // Hand the value to its container; close containers until one wants another child.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.skipWs();
          if (this.pos < t.length) this.fail('unexpected data after the JSON value');
          return v;
        }
        if ('arr' in top) top.arr.push(v);
        else if (top.key === '__proto__') {
          // defineProperty so a member named "__proto__" stays an ordinary own property.
          Object.defineProperty(top.obj, top.key, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else top.obj[top.key] = v;
        this.skipWs();
        const d = t.charCodeAt(this.pos);
        if (d === 0x2c /* , */) {
          this.pos++;
          this.skipWs();
          if (!('arr' in top)) top.key = this.memberName(top.obj);
          break;
        }
        if (d === ('arr' in top ? 0x5d : 0x7d)) {
          this.pos++;
          stack.pop();
          v = 'arr' in top ? top.arr : top.obj;
          continue;
        }
        this.fail('arr' in top ? "expected ',' or ']'" : "expected ',' or '}'");
      }
    }
  }

  /** Parses `"name" :` (with whitespace) inside an object; RFC 7493 §2.3: names MUST be unique. */
  private memberName(obj: { [key: string]: JsonValue }): string {
    const keyAt = this.pos;
    if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a member name string');
    const key = this.string();
    if (Object.hasOwn(obj, key)) this.fail(`duplicate member name ${JSON.stringify(key)}`, keyAt);
    this.skipWs();
    if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
    this.pos++;
    this.skipWs();
    return key;
  }

  private fail(message: string, at: number = this.pos): never {
    const found =
      at < this.text.length ? ` (found ${JSON.stringify(this.text.slice(at, at + 12))})` : ' (end of text)';
    throw new OmtError('core.json.invalid', `invalid JSON at offset ${at}: ${message}${found}`, {
      details: { offset: at },
    });
  }

  private skipWs(): void {
    const t = this.text;
    let p = this.pos;
    // RFC 8259 §2: only space, tab, LF, CR.
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private scalar(c: number): JsonValue {
    switch (c) {
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(Number.isNaN(c) ? 'unexpected end of text' : 'expected a JSON value');
    }
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return v;
  }

  private string(): string {
    const t = this.text;
    const start = this.pos;
    let p = start + 1;
    let out = '';
    let runStart = p;
    for (;;) {
      if (p >= t.length) this.fail('unterminated string', start);
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        out += t.slice(runStart, p);
        p++;
        break;
      }
      if (c < 0x20) this.fail('unescaped control character in string', p);
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += t.slice(runStart, p);
      const e = t.charCodeAt(p + 1);
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const hex = t.slice(p + 2, p + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape', p);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          p += 4;
          break;
        }
        default:
          this.fail('invalid escape sequence', p);
      }
      p += 2;
      runStart = p;
    }
    // RFC 7493 §2.1: strings (escaped or literal) must be valid Unicode — no lone surrogates.
    const bad = loneSurrogateAt(out);
    if (bad >= 0) this.fail('string contains a lone surrogate (not I-JSON)', start);
    this.pos = p;
    return out;
  }

  private number(): number {
    const t = this.text;
    const start = this.pos;
    let p = start;
    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    if (t.charCodeAt(p) === 0x2d) p++;
    if (t.charCodeAt(p) === 0x30) p++;
    else if (skipDigits(t, p) === p) this.fail('invalid number', start);
    else p = skipDigits(t, p);
    if (t.charCodeAt(p) === 0x2e) {
      const q = skipDigits(t, p + 1);
      if (q === p + 1) this.fail('invalid number: digits expected after the decimal point', start);
      p = q;
    }
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      p++;
      const sign = t.charCodeAt(p);
      if (sign === 0x2b || sign === 0x2d) p++;
      const q = skipDigits(t, p);
      if (q === p) this.fail('invalid number: digits expected in the exponent', start);
      p = q;
    }
    const n = Number(t.slice(start, p));
    // RFC 7493 §2.2: a number must fit an IEEE 754 double; overflow to Infinity is not I-JSON.
    if (!Number.isFinite(n)) this.fail('number is out of the IEEE 754 double range', start);
    this.pos = p;
    return n;
  }
}

/** Position after the run of ASCII digits starting at `p`. */
function skipDigits(t: string, p: number): number {
  for (;;) {
    const c = t.charCodeAt(p);
    if (c >= 0x30 && c <= 0x39) p++;
    else return p;
  }
}

/**
 * Strict JSON parse (RFC 8259 grammar, I-JSON rules of RFC 7493): rejects duplicate member
 * names, lone surrogates (escaped or literal), numbers that overflow a double, a BOM, trailing
 * data and nesting deeper than `maxDepth`, all with `core.json.invalid` and the offset.
 * Bytes are decoded as strict UTF-8.
 *
 * @example
 * ```ts
 * parseJson('{"a":1,"a":2}'); // throws OmtError core.json.invalid (duplicate member name "a")
 * ```
 */
export function parseJson(text: string | Uint8Array, opts?: JsonOptions): JsonValue {
  const maxDepth = maxDepthOf(opts);
  return new StrictParser(textOf(text), maxDepth).parseDocument();
}

/**
 * Parses `text` strictly (see {@link parseJson}) and requires it to be exactly its own RFC 8785
 * canonical form, byte for byte; otherwise throws `core.json.non-canonical` whose message names
 * the first differing offset (UTF-16 code units for a string, bytes for a Uint8Array).
 *
 * @example
 * ```ts
 * parseCanonicalJson('{"a":1,"b":2}'); // { a: 1, b: 2 }
 * parseCanonicalJson('{"b":2,"a":1}'); // throws core.json.non-canonical (offset 2)
 * ```
 */
export function parseCanonicalJson(text: string | Uint8Array, opts?: JsonOptions): JsonValue {
  const value = parseJson(text, opts);
  const canonical = canonicalize(value, opts);
  if (typeof text === 'string') {
    if (canonical !== text)
      throw nonCanonical(firstDifference(text, canonical), text.length, canonical.length, 'character');
  } else {
    const bytes = utf8(canonical);
    if (!sameBytes(text, bytes))
      throw nonCanonical(firstDifference(text, bytes), text.length, bytes.length, 'byte');
  }
  return value;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstDifference(a: ArrayLike<unknown> | string, b: ArrayLike<unknown> | string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function nonCanonical(offset: number, actualLength: number, canonicalLength: number, unit: string): OmtError {
  return new OmtError(
    'core.json.non-canonical',
    `JSON is not in RFC 8785 canonical form: first difference at ${unit} offset ${offset} (length ${actualLength}, canonical length ${canonicalLength})`,
    { details: { offset, unit } },
  );
}
