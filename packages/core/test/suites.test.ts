import { isOmtError } from '@omt/core/errors';
import {
  DEFAULT_SUITE,
  getSuite,
  hybridMessage,
  isSuiteId,
  listSuites,
  type SignatureSuite,
  type SuiteId,
  suitesForCoseAlg,
} from '@omt/core/suites';
import { describe, expect, it } from 'vitest';

const msg = new TextEncoder().encode('OpenMediaTrust suite test');
const seeded = (n: number, b = 7): Uint8Array => new Uint8Array(n).fill(b);

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isOmtError(e) ? e.code : `raw:${String(e)}`;
  }
}

// SLH-DSA: only the fast 128 variants here (plus one 128s round trip below) to stay well under 60 s.
const SKIP = /^SLH-DSA-.*(?:128s|192[sf]|256[sf])$/;
const signing = listSuites().filter((s) => s.canSign && !SKIP.test(s.id));

describe('registry', () => {
  it('lists every SuiteId once and resolves each', () => {
    const ids = listSuites().map((s) => s.id);
    expect(ids.length).toBe(30);
    expect(new Set(ids).size).toBe(30);
    for (const id of ids) {
      expect(isSuiteId(id)).toBe(true);
      expect(getSuite(id).id).toBe(id);
    }
    expect(getSuite(DEFAULT_SUITE).id).toBe('ML-DSA-65');
  });

  it('rejects unknown ids with core.alg.unsupported', () => {
    expect(isSuiteId('ES999')).toBe(false);
    expect(isSuiteId(42)).toBe(false);
    expect(() => getSuite('ES999' as SuiteId)).toThrowError(
      expect.objectContaining({ code: 'core.alg.unsupported' }),
    );
    expect(() => getSuite(undefined as unknown as SuiteId)).toThrowError(
      expect.objectContaining({ code: 'core.alg.unsupported' }),
    );
  });

  it('maps COSE alg ids', () => {
    const ids = (a: number): string[] => suitesForCoseAlg(a).map((s) => s.id);
    expect(ids(-8)).toEqual(['Ed25519', 'Ed448']);
    expect(ids(-7)).toEqual(['ES256']);
    expect(ids(-35)).toEqual(['ES384']);
    expect(ids(-36)).toEqual(['ES512']);
    expect(ids(-47)).toEqual(['ES256K']);
    expect(ids(-48)).toEqual(['ML-DSA-44']);
    expect(ids(-49)).toEqual(['ML-DSA-65']);
    expect(ids(-50)).toEqual(['ML-DSA-87']);
    expect(ids(-37)).toEqual(['PS256']);
    expect(ids(-39)).toEqual(['PS512']);
    expect(ids(-257)).toEqual(['RS256']);
    expect(ids(-259)).toEqual(['RS512']);
    expect(ids(-19)).toEqual(['Ed25519']); // RFC 9864
    expect(ids(-53)).toEqual(['Ed448']);
    expect(ids(-9)).toEqual(['ES256']);
    expect(ids(12345)).toEqual([]);
    for (const s of listSuites()) {
      if (s.family === 'hybrid' || s.family === 'slh-dsa') expect(s.coseAlg).toBeUndefined();
      else expect(s.coseAlg).toBeTypeOf('number');
    }
  });
});

describe.each(signing.map((s) => [s.id, s] as [string, SignatureSuite]))('%s', (_id, suite) => {
  it('keygen → sign → verify, with declared sizes', async () => {
    const kp = await suite.generateKeyPair();
    expect(kp.suite).toBe(suite.id);
    expect(kp.publicKey.length).toBe(suite.publicKeySize);
    expect(kp.secretKey.length).toBe(suite.secretKeySize);
    const sig = await suite.sign(kp.secretKey, msg);
    expect(sig.length).toBe(suite.signatureSize);
    expect(await suite.verify(kp.publicKey, msg, sig)).toBe(true);
    expect(await suite.verify(kp.publicKey, msg, sig, { implementation: 'portable' })).toBe(true);
    expect(await suite.publicKeyFromSecret(kp.secretKey)).toEqual(kp.publicKey);
  });

  it('deterministic keygen from a seed reproduces', async () => {
    const seed = seeded(suite.seedSize as number);
    const a = await suite.generateKeyPair({ seed });
    const b = await suite.generateKeyPair({ seed: seed.slice() });
    expect(a.publicKey).toEqual(b.publicKey);
    expect(a.secretKey).toEqual(b.secretKey);
    const c = await suite.generateKeyPair({ seed: seeded(suite.seedSize as number, 8) });
    expect(c.publicKey).not.toEqual(a.publicKey);
    // an injected RandomSource is used when no seed is given
    const d = await suite.generateKeyPair({ random: (n) => seeded(n) });
    expect(d.publicKey).toEqual(a.publicKey);
  });

  it('rejects wrong message, wrong signature, wrong key', async () => {
    const kp = await suite.generateKeyPair({ seed: seeded(suite.seedSize as number, 1) });
    const other = await suite.generateKeyPair({ seed: seeded(suite.seedSize as number, 2) });
    const sig = await suite.sign(kp.secretKey, msg);
    expect(await suite.verify(kp.publicKey, msg.subarray(1), sig)).toBe(false);
    expect(await suite.verify(other.publicKey, msg, sig)).toBe(false);
    const flipped = sig.slice();
    flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 1;
    expect(await suite.verify(kp.publicKey, msg, flipped)).toBe(false);
    expect(await suite.verify(kp.publicKey, msg, sig.subarray(1))).toBe(false);
    expect(await suite.verify(kp.publicKey, msg, new Uint8Array(0))).toBe(false);
    expect(await suite.verify(kp.publicKey, msg, new Uint8Array(sig.length))).toBe(false);
    expect(await suite.verify(kp.publicKey, msg, 'nope' as unknown as Uint8Array)).toBe(false);
  });

  it('malformed keys and seeds give core.key.malformed', async () => {
    const kp = await suite.generateKeyPair();
    const sig = await suite.sign(kp.secretKey, msg);
    expect(
      await codeOf(suite.generateKeyPair({ seed: new Uint8Array((suite.seedSize as number) + 1) })),
    ).toBe('core.key.malformed');
    expect(await codeOf(suite.sign(kp.secretKey.subarray(1), msg))).toBe('core.key.malformed');
    expect(await codeOf(suite.sign('x' as unknown as Uint8Array, msg))).toBe('core.key.malformed');
    expect(await codeOf(suite.publicKeyFromSecret(new Uint8Array(3)))).toBe('core.key.malformed');
    expect(await codeOf(suite.verify(kp.publicKey.subarray(1), msg, sig))).toBe('core.key.malformed');
    expect(await codeOf(suite.verify(new Uint8Array(0), msg, sig))).toBe('core.key.malformed');
    expect(await codeOf(suite.sign(kp.secretKey, 'text' as unknown as Uint8Array))).toBe(
      'core.input.invalid',
    );
  });
});

describe('family specifics', () => {
  it('SLH-DSA-SHA2-128s sign + verify (one slow round trip)', async () => {
    const s = getSuite('SLH-DSA-SHA2-128s');
    const kp = await s.generateKeyPair();
    const sig = await s.sign(kp.secretKey, msg);
    expect(sig.length).toBe(7856);
    expect(await s.verify(kp.publicKey, msg, sig)).toBe(true);
    expect(await s.verify(kp.publicKey, msg.subarray(1), sig)).toBe(false);
  }, 60_000);

  it('ML-DSA accepts the expanded FIPS 204 secret key and signs deterministically with zero rnd', async () => {
    const s = getSuite('ML-DSA-44');
    const { ml_dsa44 } = await import('@noble/post-quantum/ml-dsa.js');
    const seed = seeded(32, 3);
    const expanded = ml_dsa44.keygen(seed).secretKey;
    const kp = await s.generateKeyPair({ seed });
    expect(await s.publicKeyFromSecret(expanded)).toEqual(kp.publicKey);
    const zero = (n: number): Uint8Array => new Uint8Array(n);
    const a = await s.sign(kp.secretKey, msg, { random: zero });
    const b = await s.sign(expanded, msg, { random: zero });
    expect(a).toEqual(b);
    expect(a).toEqual(ml_dsa44.sign(msg, expanded, { extraEntropy: false }));
    expect(await codeOf(s.sign(new Uint8Array(33), msg))).toBe('core.key.malformed');
  });

  it('ECDSA signing is low-S and verification accepts high-S (NIST curves and ES256K)', async () => {
    for (const id of ['ES256', 'ES384', 'ES512', 'ES256K'] as const) {
      const s = getSuite(id);
      const { p256, p384, p521 } = await import('@noble/curves/nist.js');
      const { secp256k1 } = await import('@noble/curves/secp256k1.js');
      const curve = { ES256: p256, ES384: p384, ES512: p521, ES256K: secp256k1 }[id];
      const n = curve.Point.Fn.ORDER;
      const kp = await s.generateKeyPair();
      for (let i = 0; i < 4; i++) {
        const sig = await s.sign(kp.secretKey, msg);
        const half = sig.length / 2;
        const sNum = BigInt(`0x${Buffer.from(sig.subarray(half)).toString('hex')}`);
        expect(sNum <= n >> 1n).toBe(true);
        const high = Buffer.concat([
          sig.subarray(0, half),
          Buffer.from((n - sNum).toString(16).padStart(half * 2, '0'), 'hex'),
        ]);
        expect(await s.verify(kp.publicKey, msg, high, { implementation: 'portable' })).toBe(true);
        if (await s.nativeAvailable())
          expect(await s.verify(kp.publicKey, msg, high, { implementation: 'native' })).toBe(true);
      }
      // compressed public keys are accepted
      const compressed = curve.Point.fromBytes(kp.publicKey).toBytes(true);
      expect(await s.verify(compressed, msg, await s.sign(kp.secretKey, msg))).toBe(true);
      // point not on the curve, zero scalar
      const offCurve = kp.publicKey.slice();
      offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] as number) ^ 1;
      expect(await codeOf(s.verify(offCurve, msg, new Uint8Array(s.signatureSize as number)))).toBe(
        'core.key.malformed',
      );
      expect(await codeOf(s.sign(new Uint8Array(s.secretKeySize as number), msg))).toBe('core.key.malformed');
    }
  });

  it('Ed25519 rejects a non-point public key', async () => {
    const s = getSuite('Ed25519');
    // y = 2 is not on edwards25519 (no x exists)
    const bad = new Uint8Array(32);
    bad[0] = 2;
    expect(await codeOf(s.verify(bad, msg, new Uint8Array(64)))).toBe('core.key.malformed');
  });

  it('implementation option: native without support → core.alg.unsupported; bad value → core.input.invalid', async () => {
    // Ed448 has no native path (WebCrypto lacks it; ES256K gained node:crypto, see suites-native.test.ts).
    const k1 = getSuite('Ed448');
    expect(await k1.nativeAvailable()).toBe(false);
    const kp = await k1.generateKeyPair();
    expect(await codeOf(k1.sign(kp.secretKey, msg, { implementation: 'native' }))).toBe(
      'core.alg.unsupported',
    );
    expect(await codeOf(k1.verify(kp.publicKey, msg, new Uint8Array(64), { implementation: 'native' }))).toBe(
      'core.alg.unsupported',
    );
    expect(await codeOf(k1.sign(kp.secretKey, msg, { implementation: 'fast' as 'auto' }))).toBe(
      'core.input.invalid',
    );
  });

  it('RSA suites are verify-only', async () => {
    for (const id of ['PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'] as const) {
      const s = getSuite(id);
      expect(s.canSign).toBe(false);
      expect(await codeOf(s.sign(new Uint8Array(32), msg))).toBe('core.alg.unsupported');
      expect(await codeOf(s.generateKeyPair())).toBe('core.alg.unsupported');
      expect(await codeOf(s.verify(new Uint8Array([0x30, 0x00]), msg, new Uint8Array(256)))).toBe(
        'core.key.malformed',
      );
    }
  });

  it('hybrid components are domain-separated: a stripped component does not verify alone', async () => {
    const h = getSuite('ML-DSA-65+ES256');
    const pq = getSuite('ML-DSA-65');
    const ec = getSuite('ES256');
    const kp = await h.generateKeyPair();
    const sig = await h.sign(kp.secretKey, msg);
    const pqSig = sig.subarray(0, 3309);
    const ecSig = sig.subarray(3309);
    const pqPk = kp.publicKey.subarray(0, 1952);
    const ecPk = kp.publicKey.subarray(1952);
    expect(await pq.verify(pqPk, msg, pqSig)).toBe(false);
    expect(await ec.verify(ecPk, msg, ecSig)).toBe(false);
    const m2 = hybridMessage('ML-DSA-65+ES256', msg);
    expect(Buffer.from(m2.subarray(0, 18)).toString()).toBe('OMT-HYBRID-SIG-v1\0');
    expect(await pq.verify(pqPk, m2, pqSig)).toBe(true);
    expect(await ec.verify(ecPk, m2, ecSig)).toBe(true);
    // both must verify: a valid PQ part with a broken classical part fails, and vice versa
    const broken = sig.slice();
    broken[broken.length - 1] = (broken[broken.length - 1] as number) ^ 1;
    expect(await h.verify(kp.publicKey, msg, broken)).toBe(false);
    const broken2 = sig.slice();
    broken2[10] = (broken2[10] as number) ^ 1;
    expect(await h.verify(kp.publicKey, msg, broken2)).toBe(false);
  });
});
