import { readdirSync, readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { fromUtf8, toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { canonicalize, canonicalizeToBytes, parseCanonicalJson, parseJson } from '@omt/core/jcs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../../testdata/jcs/', import.meta.url);
const names = readdirSync(new URL('output/', dir)).filter((f) => f.endsWith('.json'));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isOmtError(e) ? e.code : `non-omt: ${String(e)}`;
  }
  return undefined;
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isOmtError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

describe('RFC 8785 vectors (cyberphone/json-canonicalization testdata)', () => {
  it('has the six vector pairs', () => {
    expect(names.sort()).toEqual([
      'arrays.json',
      'french.json',
      'structures.json',
      'unicode.json',
      'values.json',
      'weird.json',
    ]);
  });

  for (const name of names) {
    it(`${name}: input → output byte-exact, outhex agrees, output is a fixed point`, () => {
      const expected = new Uint8Array(readFileSync(new URL(`output/${name}`, dir)));
      const hexLine = readFileSync(new URL(`outhex/${name.replace(/\.json$/, '.txt')}`, dir), 'utf8');
      const hexFromFile = hexLine.trim().split(/\s+/).join('').toLowerCase();
      expect(toHex(expected)).toBe(hexFromFile);

      let inputBytes: Uint8Array | undefined;
      try {
        inputBytes = new Uint8Array(readFileSync(new URL(`input/${name}`, dir)));
      } catch {
        inputBytes = undefined;
      }
      if (inputBytes) {
        // Through our strict parser and through JSON.parse: both must canonicalize identically.
        const ours = canonicalizeToBytes(parseJson(inputBytes));
        expect(toHex(ours)).toBe(hexFromFile);
        expect(toHex(canonicalizeToBytes(JSON.parse(fromUtf8(inputBytes))))).toBe(hexFromFile);
      }
      // The expected output must itself be canonical (weird.json fixed point in particular).
      const value = parseCanonicalJson(expected);
      expect(toHex(canonicalizeToBytes(value))).toBe(hexFromFile);
      expect(parseCanonicalJson(fromUtf8(expected))).toEqual(value);
    });
  }

  it('es6_number_samples.csv: IEEE-754 bits → ECMAScript number text', () => {
    const lines = readFileSync(new URL('es6_number_samples.csv', dir), 'utf8').trim().split(/\r?\n/).slice(1);
    expect(lines.length).toBeGreaterThanOrEqual(7);
    for (const line of lines) {
      const [hexBits, want] = line.split(',') as [string, string];
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, BigInt(`0x${hexBits}`));
      const n = view.getFloat64(0);
      expect(canonicalize(n)).toBe(want);
      expect(canonicalize([n])).toBe(`[${want}]`);
    }
  });

  it('RFC 8785 §3.2.2.3 / Appendix B number samples', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [123456789012345680000, '123456789012345680000'],
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
      [Number.MIN_VALUE, '5e-324'],
      [-Number.MAX_VALUE, '-1.7976931348623157e+308'],
      [0.1 + 0.2, '0.30000000000000004'],
      [333333333.3333333, '333333333.3333333'],
    ];
    for (const [n, want] of cases) expect(canonicalize(n)).toBe(want);
  });

  it('§3.2.3 sorts by UTF-16 code units, not code points or locale', () => {
    // U+FB33 (one unit, 0xFB33) sorts after U+1F602 (surrogates 0xD83D 0xDE02) by UTF-16 units.
    expect(canonicalize({ '\ufb33': 1, '\u{1f602}': 2, '\u00e9': 3, e: 4, Z: 5, '10': 6, '9': 7 })).toBe(
      '{"10":6,"9":7,"Z":5,"e":4,"\u00e9":3,"\u{1f602}":2,"\ufb33":1}',
    );
  });

  it('§3.2.2.2 string escapes', () => {
    expect(canonicalize('\u0000\u001f\b\t\n\f\r"\\/\u007f\u2028€')).toBe(
      '"\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028€"',
    );
  });
});

/** An independent serializer: sorted entries joined by hand, strings/numbers via JSON.stringify. */
function reference(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).sort(([a], [b]) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const d = a.charCodeAt(i) - b.charCodeAt(i);
        if (d !== 0) return d;
      }
      return a.length - b.length;
    });
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${reference(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function shuffleKeys(v: unknown, rnd: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, rnd));
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries)
      Object.defineProperty(out, k, { value: shuffleKeys(x, rnd), enumerable: true });
    return out;
  }
  return v;
}

const json = fc.oneof(fc.jsonValue({ maxDepth: 5 }), fc.jsonValue({ maxDepth: 4, stringUnit: 'grapheme' }));

describe('properties (fast-check)', () => {
  it('canonicalize(JSON.parse(canonicalize(x))) is a fixed point and matches a reference serializer', () => {
    fc.assert(
      fc.property(json, (x) => {
        const c = canonicalize(x);
        expect(canonicalize(JSON.parse(c))).toBe(c);
        expect(canonicalize(parseCanonicalJson(c))).toBe(c);
        expect(c).toBe(reference(x));
        expect(canonicalizeToBytes(x)).toEqual(new TextEncoder().encode(c));
      }),
      { numRuns: 300 },
    );
  });

  it('any string: canonical iff well-formed UTF-16, then equal to JSON.stringify', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (str) => {
        const wellFormed = !/[\uD800-\uDFFF]/u.test(str);
        if (wellFormed) {
          expect(canonicalize(str)).toBe(JSON.stringify(str));
          expect(parseCanonicalJson(canonicalize({ [str]: str }))).toEqual({ [str]: str });
        } else {
          expect(codeOf(() => canonicalize(str))).toBe('core.json.invalid');
          expect(codeOf(() => canonicalize({ [str]: 1 }))).toBe('core.json.invalid');
          expect(codeOf(() => parseJson(JSON.stringify(str)))).toBe('core.json.invalid');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('long strings (the remembered serializations): same answers on every repeat, lone surrogates refused every time', () => {
    // A long body with a short varying part, seen again and again (as checkpoint notes are), more
    // distinct ones than are kept (the memo is cleared and refilled).
    const body = `— op1.test ${'QUJD'.repeat(2000)}\n\t"\\`;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(99), fc.string({ unit: 'binary', maxLength: 4 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (picks) => {
          for (const [n, tail] of picks) {
            const str = `${n}${body}${tail}`;
            if (!/[\uD800-\uDFFF]/u.test(str)) {
              expect(canonicalize(str)).toBe(JSON.stringify(str));
              expect(canonicalize({ s: [str, str] })).toBe(
                `{"s":[${JSON.stringify(str)},${JSON.stringify(str)}]}`,
              );
            } else {
              expect(codeOf(() => canonicalize(str))).toBe('core.json.invalid');
              expect(codeOf(() => canonicalize([str]))).toBe('core.json.invalid');
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('key order does not matter', () => {
    fc.assert(
      fc.property(json, fc.integer(), (x, seed) => {
        let s = seed | 0 || 1;
        const rnd = (): number => {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          return (s >>> 0) / 2 ** 32;
        };
        expect(canonicalize(shuffleKeys(x, rnd))).toBe(canonicalize(x));
      }),
      { numRuns: 200 },
    );
  });

  it('parseJson agrees with JSON.parse on valid JSON (pretty-printed too)', () => {
    fc.assert(
      fc.property(json, (x) => {
        for (const text of [
          JSON.stringify(x),
          JSON.stringify(x, null, '\t'),
          ` \r\n${JSON.stringify(x, null, 2)}\n `,
        ]) {
          expect(parseJson(text)).toEqual(JSON.parse(text));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('parseJson never accepts what JSON.parse rejects, and agrees when both accept (arbitrary text)', () => {
    const jsonish = fc.stringMatching(/^[[\]{}",:0-9eE.+\-a-z\\ \t\n\u00e9\ud800\udc00]{0,40}$/u);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), jsonish), (text) => {
        let ref: { ok: true; v: unknown } | { ok: false };
        try {
          ref = { ok: true, v: JSON.parse(text) };
        } catch {
          ref = { ok: false };
        }
        let ours: { ok: true; v: unknown } | { ok: false; code: string };
        try {
          ours = { ok: true, v: parseJson(text) };
        } catch (e) {
          ours = { ok: false, code: isOmtError(e) ? e.code : 'raw' };
        }
        if (!ref.ok) expect(ours).toEqual({ ok: false, code: 'core.json.invalid' });
        if (ours.ok) expect(ours.v).toEqual((ref as { v: unknown }).v);
        if (!ours.ok) expect(ours.code).toBe('core.json.invalid');
      }),
      { numRuns: 2000 },
    );
  });
});

class Point {
  x = 1;
}

describe('canonicalize rejects non-I-JSON values with core.json.invalid', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const holey: unknown[] = [];
  holey[0] = 1;
  holey[2] = 2;
  const cyclicArray: unknown[] = [1];
  cyclicArray.push([cyclicArray]);
  const cases: [string, unknown, RegExp][] = [
    ['undefined', undefined, /undefined/],
    ['undefined member', { a: undefined }, /undefined.* at \/a$/],
    ['undefined element', [1, undefined], /undefined.* at \/1$/],
    ['array hole', holey, /hole.* at \/1$/],
    ['function', () => 1, /function/],
    ['symbol', Symbol('s'), /symbol/],
    ['symbol-keyed member', { [Symbol('k')]: 1 }, /symbol-keyed/],
    ['BigInt', { n: 10n }, /BigInt.* at \/n/],
    ['NaN', Number.NaN, /NaN/],
    ['Infinity', [Number.POSITIVE_INFINITY], /Infinity/],
    ['-Infinity', { 'a/b~': Number.NEGATIVE_INFINITY }, /at \/a~1b~0/],
    ['cycle', cyclic, /cyclic/],
    ['array cycle', cyclicArray, /cyclic/],
    ['lone high surrogate', 'a\ud800b', /lone surrogate/],
    ['lone low surrogate', ['\udc00'], /lone surrogate/],
    ['reversed pair', '\udc00\ud800', /lone surrogate/],
    ['lone surrogate key', { '\ud83d': 1 }, /member name has a lone surrogate/],
    ['Map', new Map([['a', 1]]), /Map/],
    ['Set', new Set(), /Set/],
    ['Date', new Date(0), /Date/],
    ['class instance', new Point(), /instance of class Point/],
    ['Uint8Array', new Uint8Array(2), /Uint8Array/],
    ['boxed number', Object(1), /Number/],
    ['boxed string', { s: new String('x') }, /String/],
    ['RegExp', /x/, /RegExp/],
    ['Error', new Error('x'), /Error/],
    ['Promise', Promise.resolve(1), /Promise/],
  ];
  for (const [what, value, msg] of cases) {
    it(what, () => {
      const e = errorOf(() => canonicalize(value));
      expect(e.code).toBe('core.json.invalid');
      expect(e.message).toMatch(msg);
    });
  }

  it('shared (non-cyclic) references are fine', () => {
    const shared = { z: 1 };
    expect(canonicalize({ b: shared, a: [shared, shared] })).toBe('{"a":[{"z":1},{"z":1}],"b":{"z":1}}');
  });

  it('null-prototype and cross-realm plain objects are accepted; own "__proto__" member kept', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = 2;
    expect(canonicalize(bare)).toBe('{"a":2,"b":1}');
    expect(canonicalize(runInNewContext('({ y: [1, { x: 2 }] })'))).toBe('{"y":[1,{"x":2}]}');
    expect(canonicalize(JSON.parse('{"__proto__":1,"a":2}'))).toBe('{"__proto__":1,"a":2}');
  });

  it('depth limit: default 1000, configurable, no stack overflow', () => {
    const nest = (n: number): unknown => {
      let v: unknown = 0;
      for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    expect(() => canonicalize(nest(1000))).not.toThrow();
    expect(codeOf(() => canonicalize(nest(1001)))).toBe('core.json.invalid');
    expect(errorOf(() => canonicalize(nest(1001))).message).toMatch(/nesting deeper than 1000/);
    expect(codeOf(() => canonicalize(nest(5), { maxDepth: 4 }))).toBe('core.json.invalid');
    expect(() => canonicalize(nest(10_000), { maxDepth: 10_000 })).not.toThrow();
    expect(codeOf(() => canonicalize(nest(200_000)))).toBe('core.json.invalid');
    // Iterative walkers: even the maximum allowed depth cannot overflow the call stack.
    const deep = canonicalize(nest(100_000), { maxDepth: 100_000 });
    expect(canonicalize(parseCanonicalJson(deep, { maxDepth: 100_000 }), { maxDepth: 100_000 })).toBe(deep);
    expect(codeOf(() => canonicalize(1, { maxDepth: 0 }))).toBe('core.input.invalid');
    expect(codeOf(() => canonicalize(1, { maxDepth: 1e9 }))).toBe('core.input.invalid');
    expect(codeOf(() => canonicalize(1, { depth: 3 } as object))).toBe('core.input.invalid');
  });
});

describe('parseJson: strict I-JSON parsing', () => {
  const bad: [string, string, RegExp?][] = [
    ['duplicate key', '{"a":1,"b":2,"a":3}', /offset 13: duplicate member name "a"/],
    ['duplicate key via escape', '{"a":1,"\\u0061":2}', /duplicate/],
    ['duplicate nested', '[{"x":{"y":1,"y":1}}]', /duplicate/],
    ['escaped lone high surrogate', '"\\ud800"', /lone surrogate/],
    ['escaped lone low surrogate', '["\\udc00x"]', /lone surrogate/],
    ['literal lone surrogate', '"\ud800"', /lone surrogate/],
    ['lone surrogate key', '{"\\udbff":1}', /lone surrogate/],
    ['trailing comma', '[1,]'],
    ['trailing data', '{} {}', /after the JSON value/],
    ['leading zero', '01'],
    ['bare minus', '-'],
    ['dot without digits', '1.'],
    ['exponent without digits', '1e+'],
    ['plus sign', '+1'],
    ['hex', '0x10'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['overflowing number', '1e400', /IEEE 754/],
    ['overflowing negative', '[-1.8e308]', /IEEE 754/],
    ['single quotes', "{'a':1}"],
    ['unquoted key', '{a:1}'],
    ['raw control char', '"a\u0001b"', /control/],
    ['raw newline in string', '"a\nb"', /control/],
    ['bad escape', '"\\x41"', /escape/],
    ['short unicode escape', '"\\u12"', /\\u escape/],
    ['unterminated string', '"abc', /unterminated/],
    ['unterminated array', '[1,2'],
    ['BOM', '\ufeff{}'],
    ['comment', '{} // x'],
    ['empty', ''],
    ['whitespace only', ' \n'],
    ['vertical tab whitespace', '\u000b1'],
    ['nbsp whitespace', '\u00a01'],
    ['True', 'True'],
    ['truncated literal', 'nul'],
  ];
  for (const [what, text, msg] of bad) {
    it(`rejects ${what}`, () => {
      const e = errorOf(() => parseJson(text));
      expect(e.code).toBe('core.json.invalid');
      if (msg) expect(e.message).toMatch(msg);
    });
  }

  it('accepts what it should', () => {
    expect(
      parseJson(' {"a" : [ 1 , -0.5e-3 , true , false , null , "\\u00e9\\ud83d\\ude02\\/" ] } '),
    ).toEqual({
      a: [1, -0.0005, true, false, null, 'é😂/'],
    });
    expect(Object.is(parseJson('-0'), -0)).toBe(true);
    const proto = parseJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(parseJson(utf8('{"€":"\u{1f602}"}'))).toEqual({ '€': '\u{1f602}' });
  });

  it('rejects invalid UTF-8 bytes and non-text input', () => {
    expect(codeOf(() => parseJson(new Uint8Array([0x22, 0xff, 0x22])))).toBe('core.json.invalid');
    expect(codeOf(() => parseJson(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])))).toBe('core.json.invalid');
    expect(codeOf(() => parseJson(42 as unknown as string))).toBe('core.input.invalid');
  });

  it('depth limit without stack overflow', () => {
    expect(() => parseJson(`${'['.repeat(1000)}${']'.repeat(1000)}`)).not.toThrow();
    expect(errorOf(() => parseJson(`${'['.repeat(1001)}${']'.repeat(1001)}`)).message).toMatch(
      /nesting deeper than 1000/,
    );
    expect(codeOf(() => parseJson(`${'{"a":'.repeat(500_000)}1${'}'.repeat(500_000)}`))).toBe(
      'core.json.invalid',
    );
    expect(codeOf(() => parseJson('[[[1]]]', { maxDepth: 2 }))).toBe('core.json.invalid');
  });
});

describe('parseCanonicalJson', () => {
  const nonCanonical: [string, number][] = [
    ['{"b":1,"a":2}', 2],
    ['{"a":1.0}', 6],
    ['{"a":1e2}', 6],
    ['[1, 2]', 3],
    [' 1', 0],
    ['1\n', 1],
    ['"\\u00e9"', 1],
    ['"\\/"', 1],
    ['-0', 0],
    ['{"a":"\\u001F"}', 11],
  ];
  for (const [text, offset] of nonCanonical) {
    it(`rejects ${JSON.stringify(text)} at offset ${offset}`, () => {
      const e = errorOf(() => parseCanonicalJson(text));
      expect(e.code).toBe('core.json.non-canonical');
      expect(e.message).toContain(`offset ${offset}`);
    });
  }

  it('byte input reports byte offsets', () => {
    const e = errorOf(() => parseCanonicalJson(utf8('{"é":1,"a":2}')));
    expect(e.code).toBe('core.json.non-canonical');
    expect(e.message).toContain('byte offset 2');
  });

  it('accepts canonical text and still enforces strict parsing first', () => {
    expect(parseCanonicalJson('{"a":[1,"x",null],"b":{}}')).toEqual({ a: [1, 'x', null], b: {} });
    expect(codeOf(() => parseCanonicalJson('{"a":1,"a":1}'))).toBe('core.json.invalid');
    expect(codeOf(() => parseCanonicalJson('"\\ud800"'))).toBe('core.json.invalid');
  });
});
