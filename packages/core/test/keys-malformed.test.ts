import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { concatBytes, toBase64, toBase64Url, toHex } from '@omt/core/bytes';
import { encodeCbor } from '@omt/core/cbor';
import { isOmtError } from '@omt/core/errors';
import {
  exportCoseKey,
  exportJwk,
  exportPkcs8,
  exportPrivatePem,
  exportPublicPem,
  exportSpki,
  importCoseKey,
  importJwk,
  importPem,
  importPkcs8,
  importSpki,
  type KeyMaterial,
} from '@omt/core/keys';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isOmtError(e) ? e.code : `raw:${String(e)}`;
  }
}

const edSk = new Uint8Array(32).fill(9);
const ed: KeyMaterial = { suite: 'Ed25519', publicKey: ed25519.getPublicKey(edSk), secretKey: edSk };
const ecSk = new Uint8Array(32).fill(3);
const ec: KeyMaterial = { suite: 'ES256', publicKey: p256.getPublicKey(ecSk, false), secretKey: ecSk };
const edSpki = exportSpki(ed);
const edPkcs8 = exportPkcs8(ed);
const ecPkcs8 = exportPkcs8(ec);

describe('DER: each malformed case has its code', () => {
  const cases: [string, () => unknown, string][] = [
    [
      'trailing bytes after SPKI',
      () => importSpki(concatBytes(edSpki, Uint8Array.of(0))),
      'core.key.malformed',
    ],
    [
      'trailing bytes after PKCS#8',
      () => importPkcs8(concatBytes(edPkcs8, Uint8Array.of(0))),
      'core.key.malformed',
    ],
    ['truncated SPKI', () => importSpki(edSpki.subarray(0, edSpki.length - 1)), 'core.key.malformed'],
    ['empty input', () => importSpki(new Uint8Array()), 'core.key.malformed'],
    [
      'wrong public key length (Ed25519 31 bytes)',
      () =>
        importSpki(
          Uint8Array.from([
            0x30,
            0x29,
            0x30,
            0x05,
            0x06,
            0x03,
            0x2b,
            0x65,
            0x70,
            0x03,
            0x20,
            0x00,
            ...new Uint8Array(31),
          ]),
        ),
      'core.key.malformed',
    ],
    [
      'unknown algorithm OID (X25519)',
      () => importSpki(Uint8Array.from([...edSpki.subarray(0, 8), 0x6e, ...edSpki.subarray(9)])),
      'core.alg.unsupported',
    ],
    [
      'parameters present for Ed25519',
      () =>
        importSpki(
          Uint8Array.from([
            0x30,
            0x2c,
            0x30,
            0x07,
            0x06,
            0x03,
            0x2b,
            0x65,
            0x70,
            0x05,
            0x00,
            ...edSpki.subarray(7),
          ]),
        ),
      'core.key.malformed',
    ],
    [
      'non-minimal length (BER) in SPKI',
      () => importSpki(Uint8Array.from([0x30, 0x81, 0x2a, ...edSpki.subarray(2)])),
      'core.key.malformed',
    ],
    [
      'indefinite length',
      () => importSpki(Uint8Array.from([0x30, 0x80, ...edSpki.subarray(2), 0, 0])),
      'core.key.malformed',
    ],
    [
      'unused bits in BIT STRING',
      () => importSpki(Uint8Array.from([...edSpki.subarray(0, 11), 0x01, ...edSpki.subarray(12)])),
      'core.key.malformed',
    ],
    [
      'Ed25519 private key wrong length',
      () =>
        importPkcs8(
          Uint8Array.from([
            0x30,
            0x2d,
            0x02,
            0x01,
            0x00,
            0x30,
            0x05,
            0x06,
            0x03,
            0x2b,
            0x65,
            0x70,
            0x04,
            0x21,
            0x04,
            0x1f,
            ...new Uint8Array(31),
          ]),
        ),
      'core.key.malformed',
    ],
    [
      'Ed25519 private key not wrapped in OCTET STRING',
      () =>
        importPkcs8(
          Uint8Array.from([
            0x30,
            0x2e,
            0x02,
            0x01,
            0x00,
            0x30,
            0x05,
            0x06,
            0x03,
            0x2b,
            0x65,
            0x70,
            0x04,
            0x22,
            0x05,
            0x20,
            ...edSk,
          ]),
        ),
      'core.key.malformed',
    ],
    [
      'PKCS#8 version 2',
      () => importPkcs8(Uint8Array.from([...edPkcs8.subarray(0, 4), 2, ...edPkcs8.subarray(5)])),
      'core.key.malformed',
    ],
    [
      'EC private key with mismatched embedded public key',
      () => {
        const other = p256.getPublicKey(new Uint8Array(32).fill(4), false);
        const der = ecPkcs8.slice();
        der.set(other, der.length - 65);
        return importPkcs8(der);
      },
      'core.key.malformed',
    ],
    [
      'EC public point not on the curve',
      () => {
        const der = exportSpki(ec);
        der[der.length - 1] = (der[der.length - 1] as number) ^ 1;
        return importSpki(der);
      },
      'core.key.malformed',
    ],
    [
      'ML-DSA seed of 31 bytes',
      () =>
        importPkcs8(
          Uint8Array.from([
            0x30,
            0x33,
            0x02,
            0x01,
            0x00,
            0x30,
            0x0b,
            0x06,
            0x09,
            0x60,
            0x86,
            0x48,
            0x01,
            0x65,
            0x03,
            0x04,
            0x03,
            0x11,
            0x04,
            0x21,
            0x80,
            0x1f,
            ...new Uint8Array(31),
          ]),
        ),
      'core.key.malformed',
    ],
    ['suite mismatch', () => importSpki(edSpki, { suite: 'Ed448' }), 'core.key.suite-mismatch'],
    ['not bytes', () => importSpki('MCow' as unknown as Uint8Array), 'core.input.invalid'],
    [
      'exportPkcs8 of a public key',
      () => exportPkcs8({ suite: 'Ed25519', publicKey: ed.publicKey }),
      'core.input.invalid',
    ],
    [
      'export with mismatched secret',
      () => exportPkcs8({ ...ed, secretKey: new Uint8Array(32).fill(1) }),
      'core.key.malformed',
    ],
    [
      'export with an unknown suite',
      () => exportSpki({ suite: 'XYZ' as 'Ed25519', publicKey: ed.publicKey }),
      'core.alg.unsupported',
    ],
  ];
  for (const [name, fn, code] of cases) it(name, () => expect(codeOf(fn)).toBe(code));
});

describe('PEM: armor and block checks', () => {
  const pem = exportPrivatePem(ed);
  const cases: [string, string, string][] = [
    ['no block', 'hello', 'core.key.malformed'],
    ['text before the block', `junk\n${pem}`, 'core.key.malformed'],
    ['mismatched END label', pem.replace('END PRIVATE KEY', 'END PUBLIC KEY'), 'core.key.malformed'],
    ['missing END', pem.split('\n').slice(0, 2).join('\n'), 'core.key.malformed'],
    ['bad base64 character', pem.replace(/\n(.)/, '\n*'), 'core.key.malformed'],
    [
      'bad base64 padding',
      pem.replace(/=*\n-----END/, '=\n-----END').replace('==\n-----END', '=\n-----END'),
      'core.key.malformed',
    ],
    ['unknown label', pem.replaceAll('PRIVATE KEY', 'EC PRIVATE KEY'), 'core.key.malformed'],
    ['three blocks', pem + pem + pem, 'core.key.malformed'],
    ['two blocks that are not a hybrid pair', pem + pem, 'core.key.malformed'],
    ['mixed labels in a hybrid pair', exportPublicPem(ed) + pem, 'core.key.malformed'],
    ['empty block', '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n', 'core.key.malformed'],
  ];
  for (const [name, text, code] of cases) it(name, () => expect(codeOf(() => importPem(text))).toBe(code));
  it('CRLF line endings and wrapped lines are fine', () => {
    expect(toHex(importPem(pem.replaceAll('\n', '\r\n')).publicKey)).toBe(toHex(ed.publicKey));
  });
  it('a single block with a hybrid suite requested', () => {
    expect(codeOf(() => importPem(pem, { suite: 'ML-DSA-44+Ed25519' }))).toBe('core.key.malformed');
  });
});

describe('JWK: each malformed case has its code', () => {
  const good = exportJwk(ec) as unknown as Record<string, string>;
  const cases: [string, unknown, string][] = [
    ['not an object', 'x', 'core.key.malformed'],
    ['unknown kty', { kty: 'oct', k: 'AAAA' }, 'core.alg.unsupported'],
    ['missing y', { ...good, y: undefined }, 'core.key.malformed'],
    ['x too short', { ...good, x: toBase64Url(new Uint8Array(31)) }, 'core.key.malformed'],
    ['d wrong length', { ...good, d: toBase64Url(new Uint8Array(31).fill(1)) }, 'core.key.malformed'],
    ['padding in base64url', { ...good, x: `${good.x}=` }, 'core.key.malformed'],
    ['d does not match x/y', { ...good, d: toBase64Url(new Uint8Array(32).fill(5)) }, 'core.key.malformed'],
    ['alg not fitting the curve', { ...good, alg: 'ES384' }, 'core.key.suite-mismatch'],
    ['unknown crv', { ...good, crv: 'P-192' }, 'core.key.malformed'],
    ['RSA private members', { kty: 'RSA', n: 'AQAB', e: 'AQAB', d: 'AQAB' }, 'core.alg.unsupported'],
    [
      'RSA without alg',
      { kty: 'RSA', n: toBase64Url(new Uint8Array(256).fill(0xff)), e: 'AQAB' },
      'core.key.suite-required',
    ],
    [
      'RSA modulus too small',
      { kty: 'RSA', alg: 'PS256', n: toBase64Url(new Uint8Array(64).fill(0xff)), e: 'AQAB' },
      'core.key.malformed',
    ],
    ['AKP with unknown alg', { kty: 'AKP', alg: 'ML-DSA-99', pub: 'AAAA' }, 'core.alg.unsupported'],
    ['AKP pub wrong length', { kty: 'AKP', alg: 'ML-DSA-44', pub: 'AAAA' }, 'core.key.malformed'],
    ['OKP x not a point / wrong size', { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }, 'core.key.malformed'],
  ];
  for (const [name, jwk, code] of cases) it(name, () => expect(codeOf(() => importJwk(jwk))).toBe(code));
});

describe('COSE_Key: each malformed case has its code', () => {
  const good = exportCoseKey(ec);
  const m = (entries: [number, unknown][]): Uint8Array => encodeCbor(new Map(entries as [number, never][]));
  const x = ec.publicKey.slice(1, 33);
  const y = ec.publicKey.slice(33);
  const cases: [string, Uint8Array, string][] = [
    ['not CBOR', Uint8Array.of(0xff), 'core.key.malformed'],
    ['trailing bytes', concatBytes(good, Uint8Array.of(0)), 'core.key.malformed'],
    ['not a map', encodeCbor([1, 2]), 'core.key.malformed'],
    [
      'missing kty',
      m([
        [-1, 1],
        [-2, x],
        [-3, y],
      ]),
      'core.key.malformed',
    ],
    [
      'unknown kty',
      m([
        [1, 4],
        [-1, x],
      ]),
      'core.alg.unsupported',
    ],
    [
      'unknown curve',
      m([
        [1, 2],
        [-1, 99],
        [-2, x],
        [-3, y],
      ]),
      'core.alg.unsupported',
    ],
    [
      'x wrong length',
      m([
        [1, 2],
        [-1, 1],
        [-2, x.subarray(1)],
        [-3, y],
      ]),
      'core.key.malformed',
    ],
    [
      'x wrong type',
      m([
        [1, 2],
        [-1, 1],
        [-2, 'x'],
        [-3, y],
      ]),
      'core.key.malformed',
    ],
    [
      'unexpected label',
      m([
        [1, 2],
        [-1, 1],
        [-2, x],
        [-3, y],
        [-9, 1],
      ]),
      'core.key.malformed',
    ],
    [
      'alg mismatch',
      m([
        [1, 2],
        [3, -35],
        [-1, 1],
        [-2, x],
        [-3, y],
      ]),
      'core.key.suite-mismatch',
    ],
    [
      'AKP without alg',
      m([
        [1, 7],
        [-1, new Uint8Array(1312)],
      ]),
      'core.key.malformed',
    ],
    [
      'AKP priv not a seed',
      m([
        [1, 7],
        [3, -48],
        [-1, new Uint8Array(1312)],
        [-2, new Uint8Array(2560)],
      ]),
      'core.key.malformed',
    ],
    [
      'RSA without alg',
      m([
        [1, 3],
        [-1, new Uint8Array(256).fill(0xff)],
        [-2, Uint8Array.of(1, 0, 1)],
      ]),
      'core.key.suite-required',
    ],
    [
      'RSA private parameters',
      m([
        [1, 3],
        [3, -37],
        [-1, new Uint8Array(256)],
        [-2, Uint8Array.of(3)],
        [-4, Uint8Array.of(1)],
      ]),
      'core.alg.unsupported',
    ],
  ];
  for (const [name, bytes, code] of cases)
    it(name, () => expect(codeOf(() => importCoseKey(bytes))).toBe(code));
  it('compressed y (bool) is accepted and normalized', () => {
    const k = importCoseKey(
      m([
        [1, 2],
        [-1, 1],
        [-2, x],
        [-3, ((ec.publicKey[64] as number) & 1) === 1],
      ]),
    );
    expect(toHex(k.publicKey)).toBe(toHex(ec.publicKey));
  });
});

describe('fuzz: random input never throws anything but OmtError', () => {
  const onlyOmt = (fn: () => unknown): void => {
    try {
      fn();
    } catch (e) {
      if (!isOmtError(e)) throw e;
    }
  };
  const seeds = [edSpki, edPkcs8, ecPkcs8, exportSpki(ec)];
  it('DER (random and mutated)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(3),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (rand, which, pos, byte) => {
          onlyOmt(() => importSpki(rand));
          onlyOmt(() => importPkcs8(rand));
          const mutated = (seeds[which] as Uint8Array).slice();
          mutated[pos % mutated.length] = byte;
          onlyOmt(() => importSpki(mutated));
          onlyOmt(() => importPkcs8(mutated));
        },
      ),
      { numRuns: 300 },
    );
  });
  it('PEM', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 120 }), (s, b) => {
        onlyOmt(() => importPem(s));
        onlyOmt(() => importPem(`-----BEGIN PUBLIC KEY-----\n${toBase64(b)}\n-----END PUBLIC KEY-----\n`));
        onlyOmt(() => importPem(`-----BEGIN PRIVATE KEY-----\n${toBase64(b)}\n-----END PRIVATE KEY-----\n`));
      }),
      { numRuns: 200 },
    );
  });
  it('JWK', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            kty: fc.constantFrom('OKP', 'EC', 'RSA', 'AKP', 'oct'),
            crv: fc.constantFrom('Ed25519', 'Ed448', 'P-256', 'P-521', 'secp256k1', 'x'),
            alg: fc.constantFrom(
              'ML-DSA-44',
              'ES256',
              'PS256',
              'EdDSA',
              'SLH-DSA-SHA2-128f',
              'ML-DSA-65+ES256',
            ),
            x: fc.uint8Array({ maxLength: 70 }).map(toBase64Url),
            y: fc.uint8Array({ maxLength: 70 }).map(toBase64Url),
            d: fc.uint8Array({ maxLength: 70 }).map(toBase64Url),
            n: fc.uint8Array({ maxLength: 300 }).map(toBase64Url),
            e: fc.uint8Array({ maxLength: 4 }).map(toBase64Url),
            pub: fc.uint8Array({ maxLength: 64 }).map(toBase64Url),
          }),
        ),
        (j) => onlyOmt(() => importJwk(j)),
      ),
      { numRuns: 300 },
    );
  });
  it('COSE_Key', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (rand, pos, byte) => {
          onlyOmt(() => importCoseKey(rand));
          const mutated = exportCoseKey(ec).slice();
          mutated[pos % mutated.length] = byte;
          onlyOmt(() => importCoseKey(mutated));
        },
      ),
      { numRuns: 300 },
    );
  });
});
