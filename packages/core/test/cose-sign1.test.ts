import { readdirSync, readFileSync } from 'node:fs';
import { p256 } from '@noble/curves/nist.js';
import { concatBytes, fromBase64Url, fromHex, toHex, utf8 } from '@omt/core/bytes';
import { CborTag, type CborValue, decodeCbor, encodeCbor } from '@omt/core/cbor';
import {
  buildSigStructure1,
  COSE_HEADER,
  type CoseLabel,
  type CoseVerifyKey,
  decodeCoseSign1,
  encodeProtectedHeader,
  getX5Chain,
  signCoseSign1,
  signedProtectedBytes,
  verifyCoseSign1,
  x5chainHeaderValue,
} from '@omt/core/cose';
import { OmtError } from '@omt/core/errors';
import { getSuite, type SignatureSuite, type SuiteId } from '@omt/core/suites';
import { Encoder as CborXEncoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../../testdata/cose/', import.meta.url);
const readJson = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(name, dir), 'utf8'));

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<OmtError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof OmtError) return e;
    throw e;
  }
  throw new Error('expected an OmtError');
}

interface CoseWgVector {
  title: string;
  fail?: boolean;
  input: {
    plaintext: string;
    sign0: { key: Record<string, string>; external?: string };
  };
  intermediates: { ToBeSign_hex: string };
  output: { cbor: string };
}

const CURVE_SUITE: Record<string, SuiteId> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  Ed25519: 'Ed25519',
  Ed448: 'Ed448',
};

function keyOf(jwk: Record<string, string>): CoseVerifyKey {
  const suite = getSuite(CURVE_SUITE[jwk.crv as string] as SuiteId);
  if (jwk.kty === 'EC') {
    return {
      suite,
      publicKey: concatBytes(
        Uint8Array.of(4),
        fromBase64Url(jwk.x as string),
        fromBase64Url(jwk.y as string),
      ),
    };
  }
  return { suite, publicKey: fromHex(jwk.x_hex as string) };
}

// The outcome each cose-wg vector must have (see testdata/cose/SOURCES.md).
const expected: Record<string, 'valid' | string> = {
  'sign-pass-01.json': 'valid',
  'sign-pass-02.json': 'valid',
  'sign-pass-03.json': 'valid',
  'ecdsa-sig-01.json': 'valid',
  'ecdsa-sig-02.json': 'valid',
  'ecdsa-sig-03.json': 'valid',
  'eddsa-sig-01.json': 'valid',
  'eddsa-sig-02.json': 'valid',
  // P-256 key with alg -36 (ES512 = P-521 here): the key's suite does not match alg.
  'ecdsa-sig-04.json': 'core.cose.alg-mismatch',
  'sign-fail-01.json': 'core.cose.malformed', // tag 998
  'sign-fail-02.json': 'core.cose.signature-invalid', // payload changed
  'sign-fail-03.json': 'core.alg.unsupported', // alg -999
  'sign-fail-04.json': 'core.alg.unsupported', // alg "unknown"
  'sign-fail-06.json': 'core.cose.signature-invalid', // protected ctyp added
  'sign-fail-07.json': 'core.cose.signature-invalid', // protected ctyp removed
};

describe('cose-wg/Examples vectors', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('ML_DSA'));

  it('covers every cose-wg file in testdata/cose', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(files)('%s', async (file) => {
    const v = readJson(file) as unknown as CoseWgVector;
    const bytes = fromHex(v.output.cbor);
    const key = keyOf(v.input.sign0.key);
    const externalAad = v.input.sign0.external ? fromHex(v.input.sign0.external) : undefined;
    const want = expected[file] as string;
    expect(v.fail === true).toBe(want !== 'valid' && file.startsWith('sign-fail'));
    if (want === 'core.cose.malformed') {
      expect((await errorOf(() => decodeCoseSign1(bytes))).code).toBe(want);
      return;
    }
    const msg = decodeCoseSign1(bytes);
    if (!v.fail) {
      // The Sig_structure we build from the received message equals the vector's ToBeSign.
      const tbs = buildSigStructure1({
        bodyProtected: signedProtectedBytes(msg),
        payload: msg.payload as Uint8Array,
        ...(externalAad ? { externalAad } : {}),
      });
      expect(toHex(tbs)).toBe(v.intermediates.ToBeSign_hex.toLowerCase());
      expect(toHex(msg.payload as Uint8Array)).toBe(toHex(utf8(v.input.plaintext)));
    }
    const r = await verifyCoseSign1(bytes, key, externalAad ? { externalAad } : undefined);
    if (want === 'valid') {
      expect(r).toMatchObject({ valid: true, suite: key.suite.id });
    } else {
      expect(r.valid).toBe(false);
      if (!r.valid) {
        expect(r.code).toBe(want);
        expect(r.reason.length).toBeGreaterThan(0);
      }
    }
    // A wrong external AAD never verifies.
    if (want === 'valid') {
      const bad = await verifyCoseSign1(bytes, key, { externalAad: utf8('other') });
      expect(bad).toMatchObject({ valid: false, code: 'core.cose.signature-invalid' });
    }
  });

  it("sign-pass-01 keeps the received protected bytes h'A0' (not re-encoded as h'')", () => {
    const msg = decodeCoseSign1(
      fromHex((readJson('sign-pass-01.json') as unknown as CoseWgVector).output.cbor),
    );
    expect(toHex(msg.protectedBytes)).toBe('a0');
    expect(msg.algProtected).toBe(false);
    expect(msg.alg).toBe(-7);
  });

  it('requireProtectedAlg rejects alg carried only unprotected', async () => {
    const v = readJson('sign-pass-01.json') as unknown as CoseWgVector;
    const r = await verifyCoseSign1(fromHex(v.output.cbor), keyOf(v.input.sign0.key), {
      requireProtectedAlg: true,
    });
    expect(r).toMatchObject({ valid: false, code: 'core.cose.alg-unprotected' });
  });
});

describe('ML-DSA COSE vectors (RFC 9964)', () => {
  it.each([
    ['ML_DSA_44.cose.json', 'ML-DSA-44', -48],
    ['ML_DSA_65.cose.json', 'ML-DSA-65', -49],
    ['ML_DSA_87.cose.json', 'ML-DSA-87', -50],
  ] as const)('%s verifies', async (file, id, alg) => {
    const v = readJson(file) as Record<string, string>;
    const bytes = fromHex(v.sign1 as string);
    const msg = decodeCoseSign1(bytes);
    expect(msg.alg).toBe(alg);
    expect(
      toHex(buildSigStructure1({ bodyProtected: msg.protectedBytes, payload: msg.payload as Uint8Array })),
    ).toBe(v.raw_to_be_signed);
    expect(toHex(msg.signature)).toBe(v.raw_signature);
    const suite = getSuite(id);
    const publicKey = fromHex(v.raw_public_key as string);
    expect(await verifyCoseSign1(bytes, { suite, publicKey })).toMatchObject({ valid: true, alg, suite: id });
    // The resolver form gets the alg and the decoded message (kid is in the protected header here).
    const seen: CoseLabel[] = [];
    const r = await verifyCoseSign1(bytes, (a, m) => {
      seen.push(a);
      expect(m.kid).toBeInstanceOf(Uint8Array);
      return { suite, publicKey };
    });
    expect(r.valid).toBe(true);
    expect(seen).toEqual([alg]);
    // Another ML-DSA parameter set's key is an alg mismatch, not a silent failure.
    const other = getSuite(id === 'ML-DSA-44' ? 'ML-DSA-65' : 'ML-DSA-44');
    const kp = await other.generateKeyPair();
    expect(await verifyCoseSign1(bytes, { suite: other, publicKey: kp.publicKey })).toMatchObject({
      valid: false,
      code: 'core.cose.alg-mismatch',
    });
  });
});

// A suite built directly on @noble/curves p256, independent of @omt/core/suites.
const localP256: SignatureSuite = {
  id: 'ES256',
  family: 'ecdsa',
  coseAlg: -7,
  joseAlg: 'ES256',
  publicKeySize: 65,
  secretKeySize: 32,
  signatureSize: 64,
  seedSize: undefined,
  canSign: true,
  securityLevel: '128',
  async generateKeyPair() {
    const secretKey = p256.utils.randomSecretKey();
    return { suite: 'ES256', secretKey, publicKey: p256.getPublicKey(secretKey, false) };
  },
  async publicKeyFromSecret(sk) {
    return p256.getPublicKey(sk, false);
  },
  async sign(sk, msg) {
    return p256.sign(msg, sk);
  },
  async verify(pk, msg, sig) {
    try {
      return p256.verify(sig, msg, pk, { lowS: false });
    } catch {
      return false;
    }
  },
  async nativeAvailable() {
    return false;
  },
};

describe('signCoseSign1 / verifyCoseSign1', () => {
  it('interoperates with an independent P-256 suite, both directions', async () => {
    const kp = await localP256.generateKeyPair();
    const es256 = getSuite('ES256');
    const payload = utf8('This is the content.');
    const a = await signCoseSign1({ signer: { suite: localP256, secretKey: kp.secretKey }, payload });
    expect(await verifyCoseSign1(a, { suite: es256, publicKey: kp.publicKey })).toMatchObject({
      valid: true,
    });
    const b = await signCoseSign1({ signer: { suite: es256, secretKey: kp.secretKey }, payload });
    expect(await verifyCoseSign1(b, { suite: localP256, publicKey: kp.publicKey })).toMatchObject({
      valid: true,
    });
    // The signed bytes are the RFC 9052 Sig_structure, checked against cbor-x's encoding of it.
    const msg = decodeCoseSign1(a);
    const tbs = new CborXEncoder({ tagUint8Array: false }).encode([
      'Signature1',
      msg.protectedBytes,
      new Uint8Array(0),
      payload,
    ]);
    expect(p256.verify(msg.signature, new Uint8Array(tbs), kp.publicKey, { lowS: false })).toBe(true);
  });

  it('puts alg, kid and x5chain in the protected header and builds the expected structure', async () => {
    const suite = getSuite('Ed25519');
    const kp = await suite.generateKeyPair({ seed: new Uint8Array(32).fill(7) });
    const certs = [utf8('leaf-der'), utf8('ca-der')];
    const bytes = await signCoseSign1({
      signer: { suite, secretKey: kp.secretKey, kid: utf8('k1') },
      unprotectedHeaders: new Map<CoseLabel, CborValue>([['note', 'x']]),
      payload: utf8('p'),
      x5chain: certs,
    });
    const raw = decodeCbor(bytes) as CborTag;
    expect(raw).toBeInstanceOf(CborTag);
    expect(raw.tag).toBe(18);
    const msg = decodeCoseSign1(bytes);
    expect(toHex(msg.protectedBytes)).toBe(
      toHex(
        encodeCbor(
          new Map<CborValue, CborValue>([
            [1, -8],
            [4, utf8('k1')],
            [33, certs],
          ]),
        ),
      ),
    );
    expect(msg.unprotectedHeaders.get('note')).toBe('x');
    expect(getX5Chain(msg)).toEqual(certs);
    expect(await verifyCoseSign1(bytes, { suite, publicKey: kp.publicKey })).toMatchObject({
      valid: true,
      suite: 'Ed25519',
    });
    // Ed25519 signatures are deterministic: the whole message is reproducible.
    const again = await signCoseSign1({
      signer: { suite, secretKey: kp.secretKey, kid: utf8('k1') },
      unprotectedHeaders: new Map<CoseLabel, CborValue>([['note', 'x']]),
      payload: utf8('p'),
      x5chain: certs,
    });
    expect(toHex(again)).toBe(toHex(bytes));
  });

  it('x5chain helpers follow RFC 9360 (one cert = bstr, several = array)', () => {
    const c = utf8('cert');
    expect(x5chainHeaderValue([c])).toEqual(c);
    expect(x5chainHeaderValue([c, c])).toEqual([c, c]);
    expect(getX5Chain({ protectedHeaders: new Map(), unprotectedHeaders: new Map([[33, c]]) })).toEqual([c]);
    expect(getX5Chain({ protectedHeaders: new Map(), unprotectedHeaders: new Map() })).toBeUndefined();
    expect(() => getX5Chain({ protectedHeaders: new Map([[33, 5]]), unprotectedHeaders: new Map() })).toThrow(
      OmtError,
    );
    expect(() => x5chainHeaderValue([])).toThrow(OmtError);
  });

  it('untagged, detached payload and external AAD', async () => {
    const suite = getSuite('Ed25519');
    const kp = await suite.generateKeyPair();
    const payload = utf8('detached content');
    const externalAad = utf8('aad');
    const bytes = await signCoseSign1({
      signer: { suite, secretKey: kp.secretKey },
      payload,
      detached: true,
      externalAad,
      tagged: false,
    });
    expect(Array.isArray(decodeCbor(bytes))).toBe(true);
    const msg = decodeCoseSign1(bytes);
    expect(msg.payload).toBeNull();
    expect(msg.tagged).toBe(false);
    const key = { suite, publicKey: kp.publicKey };
    expect(await verifyCoseSign1(bytes, key, { detachedPayload: payload, externalAad })).toMatchObject({
      valid: true,
    });
    expect(await verifyCoseSign1(bytes, key, { externalAad })).toMatchObject({
      valid: false,
      code: 'core.cose.payload-missing',
    });
    expect(await verifyCoseSign1(bytes, key, { detachedPayload: utf8('other'), externalAad })).toMatchObject({
      valid: false,
      code: 'core.cose.signature-invalid',
    });
    expect(await verifyCoseSign1(bytes, key, { detachedPayload: payload })).toMatchObject({
      valid: false,
      code: 'core.cose.signature-invalid',
    });
  });

  it('reports key problems with reasons', async () => {
    const suite = getSuite('Ed25519');
    const kp = await suite.generateKeyPair();
    const bytes = await signCoseSign1({ signer: { suite, secretKey: kp.secretKey }, payload: utf8('x') });
    expect(await verifyCoseSign1(bytes, () => undefined)).toMatchObject({
      valid: false,
      code: 'core.cose.key-unknown',
    });
    const es = getSuite('ES256');
    const esKp = await es.generateKeyPair();
    expect(await verifyCoseSign1(bytes, { suite: es, publicKey: esKp.publicKey })).toMatchObject({
      valid: false,
      code: 'core.cose.alg-mismatch',
    });
    const other = await suite.generateKeyPair();
    expect(await verifyCoseSign1(bytes, { suite, publicKey: other.publicKey })).toMatchObject({
      valid: false,
      code: 'core.cose.signature-invalid',
    });
    // Ed448 also answers to EdDSA (-8): the suite is accepted, the signature simply fails.
    const ed448 = getSuite('Ed448');
    const k448 = await ed448.generateKeyPair();
    expect(await verifyCoseSign1(bytes, { suite: ed448, publicKey: k448.publicKey })).toMatchObject({
      valid: false,
      code: 'core.cose.signature-invalid',
    });
  });

  it('rejects bad signing input', async () => {
    const suite = getSuite('Ed25519');
    const kp = await suite.generateKeyPair();
    const signer = { suite, secretKey: kp.secretKey };
    expect((await errorOf(signCoseSign1({ signer, payload: 'x' as unknown as Uint8Array }))).code).toBe(
      'core.input.invalid',
    );
    expect(
      (await errorOf(signCoseSign1({ signer, payload: utf8('x'), protectedHeaders: new Map([[1, -7]]) })))
        .code,
    ).toBe('core.cose.alg-mismatch');
    expect(
      (
        await errorOf(
          signCoseSign1({ signer, payload: utf8('x'), unprotectedHeaders: new Map([[4, 'text-kid']]) }),
        )
      ).code,
    ).toBe('core.cose.malformed');
    expect(
      (
        await errorOf(
          signCoseSign1({
            signer: { suite: getSuite('ML-DSA-65+ES256'), secretKey: kp.secretKey },
            payload: utf8('x'),
          }),
        )
      ).code,
    ).toBe('core.alg.unsupported');
    expect(
      (
        await errorOf(
          signCoseSign1({
            signer,
            payload: utf8('x'),
            protectedHeaders: new Map<CoseLabel, CborValue>([
              [2, [99]],
              [99, 1],
            ]),
          }),
        )
      ).code,
    ).toBe('core.cose.crit-unsupported');
  });
});

describe('decodeCoseSign1 structure and header checks', () => {
  const sig = new Uint8Array(64);
  const build = (
    p: Uint8Array,
    u: Map<CborValue, CborValue>,
    payload: Uint8Array | null = utf8('x'),
    tag: number | undefined = 18,
  ) => {
    const body: CborValue = [p, u, payload, sig];
    return encodeCbor(tag === undefined ? body : new CborTag(tag, body));
  };
  const ph = (m: Map<CborValue, CborValue>) => encodeCbor(m);
  const code = async (bytes: Uint8Array) => (await errorOf(() => decodeCoseSign1(bytes))).code;

  it('accepts minimal forms', () => {
    expect(decodeCoseSign1(build(new Uint8Array(0), new Map([[1, -7]]))).alg).toBe(-7);
    expect(decodeCoseSign1(build(ph(new Map([[1, -7]])), new Map(), null, undefined)).payload).toBeNull();
  });

  it.each([
    ['not CBOR', Uint8Array.of(0xff)],
    ['wrong tag', build(ph(new Map([[1, -7]])), new Map(), utf8('x'), 98)],
    ['not an array', encodeCbor(new CborTag(18, 'x'))],
    ['3 elements', encodeCbor([new Uint8Array(0), new Map(), null])],
    ['protected not bstr', encodeCbor([new Map(), new Map(), null, sig])],
    ['protected not a map', build(encodeCbor([1]), new Map())],
    ['protected trailing bytes', build(Uint8Array.of(0xa0, 0x00), new Map())],
    ['unprotected not a map', encodeCbor([new Uint8Array(0), [], null, sig])],
    ['payload neither bstr nor nil', encodeCbor([new Uint8Array(0), new Map(), 'text', sig])],
    ['signature not bstr', encodeCbor([new Uint8Array(0), new Map(), null, null])],
    ['label in both buckets', build(ph(new Map([[1, -7]])), new Map([[1, -7]]))],
    [
      'float label',
      build(
        ph(
          new Map<CborValue, CborValue>([
            [1, -7],
            [1.5, 0],
          ]),
        ),
        new Map(),
      ),
    ],
    ['alg neither int nor text', build(ph(new Map<CborValue, CborValue>([[1, utf8('x')]])), new Map())],
    ['kid not bstr', build(ph(new Map([[1, -7]])), new Map([[4, 'k']]))],
    ['crit unprotected', build(ph(new Map([[1, -7]])), new Map<CborValue, CborValue>([[2, [1]]]))],
    [
      'crit empty',
      build(
        ph(
          new Map<CborValue, CborValue>([
            [1, -7],
            [2, []],
          ]),
        ),
        new Map(),
      ),
    ],
    [
      'crit names an absent label',
      build(
        ph(
          new Map<CborValue, CborValue>([
            [1, -7],
            [2, [3]],
          ]),
        ),
        new Map(),
      ),
    ],
    [
      'countersignature in protected',
      build(
        ph(
          new Map<CborValue, CborValue>([
            [1, -7],
            [12, sig],
          ]),
        ),
        new Map(),
      ),
    ],
    ['trailing bytes', concatBytes(build(new Uint8Array(0), new Map([[1, -7]])), Uint8Array.of(0))],
    ['indefinite-length array', Uint8Array.of(0xd2, 0x9f, 0x40, 0xa0, 0xf6, 0x40, 0xff)],
  ])('%s → core.cose.malformed', async (_name, bytes) => {
    expect(await code(bytes)).toBe('core.cose.malformed');
  });

  it('crit: understood labels pass, unknown ones reject (RFC 9052 §3.1)', async () => {
    const p = ph(
      new Map<CborValue, CborValue>([
        [1, -7],
        [2, [3, 'ext']],
        [3, 0],
        ['ext', true],
      ]),
    );
    expect(await code(build(p, new Map()))).toBe('core.cose.crit-unsupported');
    expect(
      decodeCoseSign1(build(p, new Map()), { understoodCritLabels: ['ext'] }).protectedHeaders.get('ext'),
    ).toBe(true);
  });

  it('verify rejects an unprotected-only message with an unknown alg as unsupported', async () => {
    const r = await verifyCoseSign1(build(new Uint8Array(0), new Map([[1, -65000]])), {
      suite: getSuite('ES256'),
      publicKey: new Uint8Array(65),
    });
    expect(r).toMatchObject({ valid: false, code: 'core.alg.unsupported' });
    const none = await verifyCoseSign1(build(new Uint8Array(0), new Map()), {
      suite: getSuite('ES256'),
      publicKey: new Uint8Array(65),
    });
    expect(none).toMatchObject({ valid: false, code: 'core.alg.unsupported' });
  });

  it('encodeProtectedHeader: empty map is the zero-length string', () => {
    expect(encodeProtectedHeader(new Map()).length).toBe(0);
    expect(toHex(encodeProtectedHeader(new Map([[COSE_HEADER.alg, -7]])))).toBe('a10126');
  });
});

describe('properties', () => {
  const suites: SuiteId[] = ['Ed25519', 'ES256'];

  it('sign → verify holds for random payloads, AAD and headers', async () => {
    for (const id of suites) {
      const suite = getSuite(id);
      const kp = await suite.generateKeyPair();
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 20 }),
          fc.boolean(),
          fc.dictionary(
            fc.string({ minLength: 1, maxLength: 5 }),
            fc.oneof(fc.integer(), fc.string({ maxLength: 8 })),
            { maxKeys: 3 },
          ),
          async (payload, aad, tagged, extra) => {
            const bytes = await signCoseSign1({
              signer: { suite, secretKey: kp.secretKey },
              payload,
              externalAad: aad,
              tagged,
              unprotectedHeaders: new Map(Object.entries(extra)),
            });
            const r = await verifyCoseSign1(bytes, { suite, publicKey: kp.publicKey }, { externalAad: aad });
            expect(r.valid).toBe(true);
          },
        ),
        { numRuns: 25 },
      );
    }
  });

  it('random and mutated input only ever throws OmtError from decodeCoseSign1', async () => {
    const suite = getSuite('Ed25519');
    const kp = await suite.generateKeyPair();
    const good = await signCoseSign1({
      signer: { suite, secretKey: kp.secretKey, kid: utf8('k') },
      payload: utf8('abc'),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
            const b = good.slice();
            b[at % b.length] = byte;
            return b;
          }),
        ),
        (b) => {
          try {
            decodeCoseSign1(b);
          } catch (e) {
            expect(e).toBeInstanceOf(OmtError);
            expect(['core.cose.malformed', 'core.cose.crit-unsupported']).toContain((e as OmtError).code);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('any single-bit flip is malformed or invalid, never valid', async () => {
    for (const id of suites) {
      const suite = getSuite(id);
      const kp = await suite.generateKeyPair();
      const bytes = await signCoseSign1({
        signer: { suite, secretKey: kp.secretKey, kid: utf8('kid') },
        payload: utf8('flip me'),
      });
      const key = { suite, publicKey: kp.publicKey };
      const outcomes = new Set<string>();
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const b = bytes.slice();
        b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
        try {
          const r = await verifyCoseSign1(b, key);
          expect(r.valid).toBe(false);
          if (!r.valid) outcomes.add(r.code);
        } catch (e) {
          expect(e).toBeInstanceOf(OmtError);
          outcomes.add((e as OmtError).code);
        }
      }
      expect(outcomes.has('core.cose.signature-invalid')).toBe(true);
      expect(outcomes.has('core.cose.malformed')).toBe(true);
    }
  });
});
