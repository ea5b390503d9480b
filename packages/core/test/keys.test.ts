import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { equalBytes, fromBase64, fromBase64Url, fromHex, toBase64Url, toHex } from '@omt/core/bytes';
import { type CborValue, decodeCbor, encodeCbor } from '@omt/core/cbor';
import {
  coseAlgOf,
  coseKeyThumbprint,
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
  joseAlgOf,
  jwkThumbprint,
  type KeyMaterial,
  keyId,
} from '@omt/core/keys';
import { getSuite, listSuites, type SuiteId } from '@omt/core/suites';
import { describe, expect, it } from 'vitest';

const msg = new TextEncoder().encode('OpenMediaTrust key format test');
const vector = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../testdata/cose/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

function expectSameKey(a: KeyMaterial, b: KeyMaterial, withSecret: boolean): void {
  expect(a.suite).toBe(b.suite);
  expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
  if (withSecret)
    expect(toHex(a.secretKey ?? new Uint8Array())).toBe(toHex(b.secretKey ?? new Uint8Array([1])));
  else expect(a.secretKey).toBeUndefined();
}

const rsaPublicDer = (() => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return new Uint8Array(publicKey.export({ type: 'pkcs1', format: 'der' }));
})();

// SLH-DSA: 128f variants and one 128s only (keygen for 's' is slow); the rest get synthetic-key format tests below.
const ROUND_TRIP: SuiteId[] = listSuites()
  .map((s) => s.id)
  .filter((id) => !/^SLH-DSA-.*(?:192|256)/.test(id) && id !== 'SLH-DSA-SHAKE-128s');

async function keyFor(id: SuiteId): Promise<KeyMaterial> {
  const suite = getSuite(id);
  if (!suite.canSign) return { suite: id, publicKey: rsaPublicDer };
  const kp = await suite.generateKeyPair();
  return { suite: id, publicKey: kp.publicKey, secretKey: kp.secretKey };
}

describe('round trips raw → format → raw, and imported keys sign', () => {
  for (const id of ROUND_TRIP) {
    it(id, async () => {
      const suite = getSuite(id);
      const key = await keyFor(id);
      const pub: KeyMaterial = { suite: id, publicKey: key.publicKey };
      const isHybrid = suite.family === 'hybrid';
      const opts = suite.family === 'rsa' ? { suite: id } : undefined;

      // PEM (hybrid: two blocks)
      expectSameKey(importPem(exportPublicPem(pub), opts), pub, false);
      const pemBlocks = exportPublicPem(pub).match(/-----BEGIN PUBLIC KEY-----/g) ?? [];
      expect(pemBlocks.length).toBe(isHybrid ? 2 : 1);
      // JWK (through JSON text) and COSE_Key
      expectSameKey(importJwk(JSON.parse(JSON.stringify(exportJwk(pub)))), pub, false);
      expectSameKey(importCoseKey(exportCoseKey(pub)), pub, false);
      if (!isHybrid) expectSameKey(importSpki(exportSpki(pub), opts), pub, false);

      if (key.secretKey === undefined) return; // RSA is verify-only
      const imported: KeyMaterial[] = [
        importPem(exportPrivatePem(key)),
        importJwk(JSON.parse(JSON.stringify(exportJwk(key)))),
        importCoseKey(exportCoseKey(key)),
      ];
      if (!isHybrid) imported.push(importPkcs8(exportPkcs8(key)));
      for (const k of imported) {
        expectSameKey(k, key, true);
        const sig = await suite.sign(k.secretKey as Uint8Array, msg);
        expect(await suite.verify(key.publicKey, msg, sig)).toBe(true);
      }
      // publicOnly drops the secret
      expect(exportJwk(key, { publicOnly: true })).not.toHaveProperty('d');
      expectSameKey(importCoseKey(exportCoseKey(key, { publicOnly: true })), pub, false);
    });
  }
});

describe('SLH-DSA parameter sets map to their RFC 9909 OIDs', () => {
  const n: Record<string, number> = { '128': 16, '192': 24, '256': 32 };
  const slh = listSuites().filter((s) => s.family === 'slh-dsa');
  it('all twelve, with a synthetic key (format only: pk = tail of sk)', () => {
    expect(slh.length).toBe(12);
    slh.forEach((s, i) => {
      const size = n[/(\d{3})[sf]$/.exec(s.id)?.[1] as string] as number;
      const secretKey = new Uint8Array(4 * size).map((_, j) => (j * 7 + i) & 0xff);
      const key = { suite: s.id, publicKey: secretKey.slice(2 * size), secretKey };
      const spki = exportSpki(key);
      // AlgorithmIdentifier = SEQUENCE { OID 2.16.840.1.101.3.4.3.(20+i) }, no parameters
      expect(toHex(spki.subarray(2, 15))).toBe(
        `300b06096086480165030403${(20 + i).toString(16).padStart(2, '0')}`,
      );
      expectSameKey(importSpki(spki), { suite: s.id, publicKey: key.publicKey }, false);
      const p8 = exportPkcs8(key);
      // RFC 9909 §6: privateKey OCTET STRING holds the raw 4n bytes
      const header = 4 * size < 0x80 ? `04${(4 * size).toString(16)}` : `0481${(4 * size).toString(16)}`;
      expect(toHex(p8.subarray(p8.length - 4 * size - header.length / 2, p8.length - 4 * size))).toBe(header);
      expectSameKey(importPkcs8(p8), key, true);
      expectSameKey(importJwk(exportJwk(key)), key, true);
      expectSameKey(importCoseKey(exportCoseKey(key)), key, true);
    });
  });
});

describe('alg identifiers agree with the suites', () => {
  it('joseAlg / coseAlg (fallback: the suite id)', () => {
    for (const s of listSuites()) {
      expect(joseAlgOf(s.id)).toBe(s.joseAlg ?? s.id);
      expect(coseAlgOf(s.id)).toBe(s.coseAlg ?? s.id);
    }
  });
});

describe('ML-DSA COSE_Key vectors (draft-ietf-cose-dilithium / RFC 9964)', () => {
  for (const [file, id] of [
    ['ML_DSA_44.cose.json', 'ML-DSA-44'],
    ['ML_DSA_65.cose.json', 'ML-DSA-65'],
    ['ML_DSA_87.cose.json', 'ML-DSA-87'],
  ] as const) {
    it(file, async () => {
      const v = vector(file) as {
        key: string;
        priv: string;
        raw_public_key: string;
        raw_signature: string;
        raw_to_be_signed: string;
      };
      const key = importCoseKey(fromHex(v.key));
      expect(key.suite).toBe(id);
      expect(toHex(key.publicKey)).toBe(v.raw_public_key);
      expect(toHex(key.secretKey as Uint8Array)).toBe(v.priv);
      // our deterministic export carries the same parameters
      const m = decodeCbor(fromHex(v.key)) as Map<number, CborValue>;
      expect(toHex(exportCoseKey(key, { kid: m.get(2) as Uint8Array }))).toBe(toHex(encodeCbor(m)));
      // the vector's kid is the RFC 9679 COSE Key thumbprint (RFC 9964 §6)
      expect(toHex(coseKeyThumbprint(key))).toBe(toHex(m.get(2) as Uint8Array));
      // a key from this COSE_Key signs; the vector's signature verifies under the imported public key
      const suite = getSuite(id);
      expect(await suite.verify(key.publicKey, fromHex(v.raw_to_be_signed), fromHex(v.raw_signature))).toBe(
        true,
      );
    });
  }

  it('JWK thumbprint of the all-zero ML-DSA-44 key matches the draft example kid', () => {
    const { publicKey } = ml_dsa44.keygen(new Uint8Array(32));
    const key: KeyMaterial = { suite: 'ML-DSA-44', publicKey, secretKey: new Uint8Array(32) };
    expect(jwkThumbprint(key)).toBe('T4xl70S7MT6Zeq6r9V9fPJGVn76wfnXJ21-gyo0Gu6o');
    const jwk = exportJwk(key);
    expect(jwk).toMatchObject({
      kty: 'AKP',
      alg: 'ML-DSA-44',
      kid: 'T4xl70S7MT6Zeq6r9V9fPJGVn76wfnXJ21-gyo0Gu6o',
    });
    expect(jwk.priv).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(
      jwk.pub?.startsWith(
        'unH59k4RuutY-pxvu24U5h8YZD2rSVtHU5qRZsoBmBMcRPgmu9VuNOVdteXi1zNIXjnqJg_GAAxepLqA00Vc3lO0bzRI',
      ),
    ).toBe(true);
  });
});

describe('JWK thumbprint vectors', () => {
  it('RFC 7638 §3.1 RSA example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    const key = importJwk(jwk);
    expect(key.suite).toBe('RS256');
    expect(jwkThumbprint(key)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    expect(keyId(key)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    expect(exportJwk(key, { kid: '2011-04-29' })).toEqual(jwk);
  });

  it('RFC 8037 Appendix A Ed25519 key and thumbprint', () => {
    const jwk = {
      kty: 'OKP',
      crv: 'Ed25519',
      d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
      x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
    };
    const key = importJwk(jwk);
    expect(key.suite).toBe('Ed25519');
    expect(jwkThumbprint(key)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    expect(importJwk({ ...jwk, alg: 'EdDSA' }).suite).toBe('Ed25519');
  });
});

describe('classical keys of the cose-wg examples', () => {
  const cases: [string, SuiteId, number][] = [
    ['ecdsa-sig-01.json', 'ES256', 64],
    ['ecdsa-sig-02.json', 'ES384', 96],
    ['ecdsa-sig-03.json', 'ES512', 132],
    ['eddsa-sig-01.json', 'Ed25519', 64],
    ['eddsa-sig-02.json', 'Ed448', 114],
    ['sign-pass-01.json', 'ES256', 64],
  ];
  for (const [file, id, sigLen] of cases) {
    it(file, async () => {
      const v = vector(file) as {
        input: {
          sign0?: { key: Record<string, string> };
          sign?: { signers: { key: Record<string, string> }[] };
        };
        intermediates: { ToBeSign_hex: string };
        output: { cbor: string };
      };
      const raw = v.input.sign0?.key ?? (v.input.sign?.signers[0]?.key as Record<string, string>);
      // eddsa examples give x_hex / d_hex instead of base64url members
      const jwk: Record<string, string> = { kty: raw.kty as string, crv: raw.crv as string };
      for (const m of ['x', 'y', 'd']) {
        const hexv = raw[`${m}_hex`];
        const b64v = raw[m];
        if (hexv !== undefined) jwk[m] = toBase64Url(fromHex(hexv));
        else if (b64v !== undefined) jwk[m] = b64v;
      }
      const key = importJwk(jwk);
      expect(key.suite).toBe(id);
      // through every other format and back
      for (const k of [
        importCoseKey(exportCoseKey(key)),
        importPem(exportPrivatePem(key)),
        importPkcs8(exportPkcs8(key)),
      ]) {
        expectSameKey(k, key, true);
      }
      // the example's signature verifies with the re-imported public key
      const out = fromHex(v.output.cbor);
      const sig = out.subarray(out.length - sigLen);
      const pub = importPem(exportPublicPem(key));
      expect(await getSuite(id).verify(pub.publicKey, fromHex(v.intermediates.ToBeSign_hex), sig)).toBe(true);
      expect(exportJwk(key)).toMatchObject({ x: jwk.x, d: jwk.d });
    });
  }
});

// RFC 9881 Appendix C example keys (ML-DSA-44, seed 00 01 … 1f).
const RFC9881_SEED_PEM = `-----BEGIN PRIVATE KEY-----
MDQCAQAwCwYJYIZIAWUDBAMRBCKAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZ
GhscHR4f
-----END PRIVATE KEY-----
`;
const RFC9881_PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MIIFMjALBglghkgBZQMEAxEDggUhANeytHJUquDbReeTDUqY0sl9jxOX0Xidr6Fw
JLMW6b7JT8mUbULxm3mnQTu6oz5xSctC7VEVaTrAQfrLmIretf4OHYYxGEmVtZLD
l9IpTi4U+QqkFLo4JomaxD9MzKy8JumoMrlRGNXLQzy++WYLABOOCBf2HnYsonTD
atVU6yKqwRYuSrAay6HjjE79j4C2WzM9D3LlXf5xzpweu5iJ58VhBsD9c4A6Kuz+
r97XqjyyztpU0SvYzTanjPl1lDtHq9JeiArEUuV0LtHo0agq+oblkMdYwVrk0oQN
kryhpQkPQElll/yn2LlRPxob2m6VCqqY3kZ1B9Sk9aTwWZIWWCw1cvYu2okFqzWB
ZwxKAnd6M+DKcpX9j0/20aCjp2g9ZfX19/xg2gI+gmxfkhRMAvfRuhB1mHVT6pNn
/NdtmQt/qZzUWv24g21D5Fn1GH3wWEeXCaAepoNZNfpwRgmQzT3BukAbqUurHd5B
rGerMxncrKBgSNTE7vJ+4TqcF9BTj0MPLWQtwkFWYN54h32NirxyUjl4wELkKF9D
GYRsRBJiQpdoRMEOVWuiFbWnGeWdDGsqltOYWQcf3MLN51JKe+2uVOhbMY6FTo/i
svPt+slxkSgnCq/R5QRMOk/a/Z/zH5B4S46ORZYUSg2vWGUR09mWK56pWvGXtOX8
YPKx7RXeOlvvX4m9x52RBR2bKBbnT6VFMe/cHL501EiFf0drzVjyHAtlOzt2pOB2
plWaMCcYVVzGP3SFmqurkl8COGHKjND3utsocfZ9VTJtdFETWtRfShumkRj7ssij
DuyTku8/l3Bmya3VxxDMZHsVFNIX2VjHAXw+kP0gwE5nS5BIbpNwoxoAHTL0c5ee
SQZ0nn5Hf6C3RQj4pfI3gxK4PCW9OIygsP/3R4uvQrcWZ+2qyXxGsSlkPlhuWwVa
DCEZRtTzbmdb7Vhg+gQqMV2YJhZNapI3w1pfv0lUkKW9TfJIuVxKrneEtgVnMWas
QkW1tLCCoJ6TI+YvIHjFt2eDRG3v1zatOjcC1JsImESQCmGDM5e8RBmzDXqXoLOH
wZEUdMTUG1PjKpd6y28Op122W7OeWecB52lX3vby1EVZwxp3EitSBOO1whnxaIsU
7QvAuAGz5ugtzUPpwOn0F0TNmBW9G8iCDYuxI/BPrNGxtoXdWisbjbvz7ZM2cPCV
oYC08ZLQixC4+rvfzCskUY4y7qCl4MkEyoRHgAg/OwzS0Li2r2e8NVuUlAJdx7Cn
j6gOOi2/61EyiFHWB4GY6Uk2Ua54fsAlH5Irow6fUd9iptcnhM890gU5MXbfoySl
Er2Ulwo23TSlFKhnkfDrNvAUWwmrZGUbSgMTsplhGiocSIkWJ1mHaKMRQGC6RENI
bfUVIqHOiLMJhcIW+ObtF43VZ7MEoNTK+6iCooNC8XqaomrljbYwCD0sNY/fVmw/
XWKkKFZ7yeqM6VyqDzVHSwv6jzOaJQq0388gg76O77wQVeGP4VNw7ssmBWbYP/Br
IRquxDyim1TM0A+IFaJGXvC0ZRXMfkHzEk8J7/9zkwmrWLKaFFmgC85QOOk4yWeP
cusOTuX9quZtn4Vz/Jf8QrSVn0v4th14Qz6GsDNdbpGRxNi/SHs5BcEIz9asJLDO
t9y3z1H4TQ7Wh7lerrHFM8BvDZcCPZKnCCWDe1m6bLfU5WsKh8IDhiro8xW6WSXo
7e+meTaaIgJ2YVHxapZfn4Hs52zAcLVYaeTbl4TPBcgwsyQsgxI=
-----END PUBLIC KEY-----
`;

/** Hand-built PKCS#8 for ML-DSA-44 around a given privateKey field (test-only DER). */
function mlDsa44Pkcs8(field: Uint8Array): Uint8Array {
  const len = (n: number): number[] => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);
  const octet = [0x04, ...len(field.length), ...field];
  const body = [
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
    ...octet,
  ];
  return Uint8Array.from([0x30, ...len(body.length), ...body]);
}

describe('RFC 9881 ML-DSA examples', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
  it('seed PEM imports to the RFC public key, and our export is byte-identical', () => {
    const key = importPem(RFC9881_SEED_PEM);
    expect(key.suite).toBe('ML-DSA-44');
    expect(toHex(key.secretKey as Uint8Array)).toBe(toHex(seed));
    const pub = importPem(RFC9881_PUBLIC_PEM);
    expect(toHex(key.publicKey)).toBe(toHex(pub.publicKey));
    expect(exportPrivatePem(key)).toBe(RFC9881_SEED_PEM);
    expect(exportPublicPem(pub)).toBe(RFC9881_PUBLIC_PEM);
  });

  it('expandedKey and both forms import; an inconsistent "both" is malformed', () => {
    const expanded = ml_dsa44.keygen(seed).secretKey;
    const pub = importPem(RFC9881_PUBLIC_PEM).publicKey;
    const exp = importPkcs8(mlDsa44Pkcs8(Uint8Array.from([0x04, 0x82, 0x0a, 0x00, ...expanded])));
    expect(toHex(exp.publicKey)).toBe(toHex(pub));
    expect(equalBytes(exp.secretKey as Uint8Array, expanded)).toBe(true);
    // expanded-only keys export as expandedKey (no seed to emit) and round-trip
    expect(toHex(importPkcs8(exportPkcs8(exp)).secretKey as Uint8Array)).toBe(toHex(expanded));
    const both = (ex: Uint8Array): Uint8Array =>
      mlDsa44Pkcs8(
        Uint8Array.from([0x30, 0x82, 0x0a, 0x26, 0x04, 0x20, ...seed, 0x04, 0x82, 0x0a, 0x00, ...ex]),
      );
    const b = importPkcs8(both(expanded));
    expect(toHex(b.secretKey as Uint8Array)).toBe(toHex(seed));
    expect(toHex(b.publicKey)).toBe(toHex(pub));
    const bad = expanded.slice();
    bad[100] = (bad[100] as number) ^ 1;
    expect(() => importPkcs8(both(bad))).toThrow(expect.objectContaining({ code: 'core.key.malformed' }));
    // JWK / COSE_Key priv must be the seed (RFC 9964 §4)
    expect(() => exportJwk(exp)).toThrow(expect.objectContaining({ code: 'core.alg.unsupported' }));
    expect(exportJwk(exp, { publicOnly: true }).pub).toBe(toBase64Url(pub));
  });

  it('the seed PEM matches fromBase64 of the RFC text', () => {
    const der = fromBase64('MDQCAQAwCwYJYIZIAWUDBAMRBCKAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f');
    expect(toHex(exportPkcs8(importPkcs8(der)))).toBe(toHex(der));
  });
});

describe('hybrid keys', () => {
  it('PEM is PQ block then classical block; JWK/COSE_Key AKP carry the suite id', async () => {
    const kp = await getSuite('ML-DSA-65+ES256').generateKeyPair();
    const key: KeyMaterial = { suite: 'ML-DSA-65+ES256', publicKey: kp.publicKey, secretKey: kp.secretKey };
    const pem = exportPrivatePem(key);
    const [pqBlock, classicalBlock] = pem.split(/(?<=-----END PRIVATE KEY-----\n)/);
    expect(importPem(pqBlock as string).suite).toBe('ML-DSA-65');
    expect(importPem(classicalBlock as string).suite).toBe('ES256');
    expect(importPem(pem, { suite: 'ML-DSA-65+ES256' }).suite).toBe('ML-DSA-65+ES256');
    // swapped order is not a known hybrid
    expect(() => importPem((classicalBlock as string) + (pqBlock as string))).toThrow(
      expect.objectContaining({ code: 'core.key.malformed' }),
    );
    expect(exportJwk(key)).toMatchObject({ kty: 'AKP', alg: 'ML-DSA-65+ES256' });
    const m = decodeCbor(exportCoseKey(key)) as Map<number, unknown>;
    expect(m.get(1)).toBe(7);
    expect(m.get(3)).toBe('ML-DSA-65+ES256');
    expect(fromBase64Url(exportJwk(key).priv as string).length).toBe(32 + 32);
  });
});
