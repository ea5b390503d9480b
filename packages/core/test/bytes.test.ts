import {
  concatBytes,
  equalBytes,
  fromBase64,
  fromBase64Url,
  fromHex,
  fromUtf8,
  toBase64,
  toBase64Url,
  toHex,
  utf8,
} from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return isOmtError(e) ? e.code : `not-omt:${String(e)}`;
  }
  return undefined;
};

describe('bytes', () => {
  it('round-trips hex, base64, base64url for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
        expect(fromBase64(toBase64(b))).toEqual(b);
        expect(fromBase64Url(toBase64Url(b))).toEqual(b);
      }),
      { numRuns: 200 },
    );
  });

  it('matches RFC 4648 §10 test vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, b64] of vectors) {
      expect(toBase64(utf8(plain))).toBe(b64);
      expect(toBase64Url(utf8(plain))).toBe(b64.replace(/=+$/, ''));
    }
    expect(toHex(utf8('foobar'))).toBe('666f6f626172');
  });

  it('rejects malformed encodings with core.encoding.invalid', () => {
    expect(code(() => fromHex('abc'))).toBe('core.encoding.invalid');
    expect(code(() => fromHex('zz'))).toBe('core.encoding.invalid');
    expect(code(() => fromBase64('Zm9v!'))).toBe('core.encoding.invalid');
    expect(code(() => fromBase64('Zg='))).toBe('core.encoding.invalid');
    expect(code(() => fromBase64Url('Zg=='))).toBe('core.encoding.invalid');
    expect(code(() => fromUtf8(new Uint8Array([0xc3, 0x28])))).toBe('core.encoding.invalid');
  });

  it('accepts upper-case hex', () => {
    expect(fromHex('ABcd')).toEqual(new Uint8Array([0xab, 0xcd]));
  });

  it('concatenates and compares', () => {
    const a = new Uint8Array([1, 2]);
    const b = new Uint8Array([3]);
    expect(concatBytes(a, b, new Uint8Array())).toEqual(new Uint8Array([1, 2, 3]));
    expect(equalBytes(a, new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(a, new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(a, new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it('round-trips UTF-8 including astral characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(fromUtf8(utf8(s))).toBe(s);
      }),
      { numRuns: 100 },
    );
  });
});
