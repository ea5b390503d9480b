import { webcrypto } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { isOmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { getSuite, parseRsaPublicKey, type SuiteId } from '@omt/core/suites';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { LIBOQS_AUTO_MAX_MESSAGE, liboqsSuite } from '../src/suites/_liboqs.js';

const msg = new TextEncoder().encode('portable ↔ native');
const noble = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 };
const mlDsaNative: Record<string, boolean> = {};
for (const id of ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as SuiteId[])
  mlDsaNative[id] = await getSuite(id).nativeAvailable();

describe('portable ↔ native (WebCrypto) cross-path', () => {
  for (const id of ['Ed25519', 'ES256', 'ES384', 'ES512'] as SuiteId[]) {
    it(`${id}: native exists here, portable sig → native verify and native sig → portable verify`, async () => {
      const s = getSuite(id);
      expect(await s.nativeAvailable()).toBe(true);
      const kp = await s.generateKeyPair();
      for (let i = 0; i < 3; i++) {
        const p = await s.sign(kp.secretKey, msg, { implementation: 'portable' });
        const n = await s.sign(kp.secretKey, msg, { implementation: 'native' });
        expect(n.length).toBe(s.signatureSize);
        expect(await s.verify(kp.publicKey, msg, p, { implementation: 'native' })).toBe(true);
        expect(await s.verify(kp.publicKey, msg, n, { implementation: 'portable' })).toBe(true);
        expect(await s.verify(kp.publicKey, msg.subarray(2), n, { implementation: 'native' })).toBe(false);
        expect(await s.verify(kp.publicKey, msg.subarray(2), p, { implementation: 'portable' })).toBe(false);
        if (id === 'Ed25519') expect(n).toEqual(p); // EdDSA is deterministic: both paths give identical bytes
      }
    });
  }

  it('Ed25519 native verify (node:crypto, synchronous) answers exactly as WebCrypto does, edge cases included', async () => {
    const s = getSuite('Ed25519');
    const kp = await s.generateKeyPair();
    const sig = await s.sign(kp.secretKey, msg);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const le = (x: bigint): Uint8Array =>
      Uint8Array.from({ length: 32 }, (_, i) => Number((x >> BigInt(8 * i)) & 0xffn));
    const fromLe = (b: Uint8Array): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
    const nonCanonical = Uint8Array.from([...sig.subarray(0, 32), ...le(fromLe(sig.subarray(32)) + L)]);
    const identity = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));
    const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
      [kp.publicKey, msg, sig],
      [kp.publicKey, msg.subarray(1), sig],
      [kp.publicKey, msg, nonCanonical],
      [kp.publicKey, msg, Uint8Array.from(sig, (b, i) => (i === 7 ? b ^ 1 : b))],
      [identity, msg, Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? 1 : 0))],
      [identity, new Uint8Array(0), Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? 1 : 0))],
    ];
    for (const [pk, m, sg] of cases) {
      const key = await webcrypto.subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
      const viaWebCrypto = await webcrypto.subtle.verify({ name: 'Ed25519' }, key, sg, m);
      expect(await s.verify(pk, m, sg, { implementation: 'native' })).toBe(viaWebCrypto);
    }
    expect(await s.verify(kp.publicKey, msg, nonCanonical, { implementation: 'portable' })).toBe(false);
  });

  it('ES256K (node:crypto): native on Node, cross-verifies with noble both ways, low-S, high-S accepted', async () => {
    const s = getSuite('ES256K');
    expect(await s.nativeAvailable()).toBe(true);
    const n = secp256k1.Point.Fn.ORDER;
    const kp = await s.generateKeyPair();
    const compressed = secp256k1.Point.fromBytes(kp.publicKey).toBytes(true);
    for (let i = 0; i < 8; i++) {
      const m = new TextEncoder().encode(`ES256K message ${i}`);
      const p = await s.sign(kp.secretKey, m, { implementation: 'portable' });
      const nat = await s.sign(kp.secretKey, m, { implementation: 'native' });
      const auto = await s.sign(kp.secretKey, m);
      for (const sig of [p, nat, auto]) {
        expect(sig.length).toBe(64);
        expect(bytesToNumberBE(sig.subarray(32)) <= n >> 1n).toBe(true); // low-S on every path
        for (const impl of ['portable', 'native', 'auto'] as const) {
          expect(await s.verify(kp.publicKey, m, sig, { implementation: impl })).toBe(true);
          expect(await s.verify(compressed, m, sig, { implementation: impl })).toBe(true);
          expect(await s.verify(kp.publicKey, m.subarray(1), sig, { implementation: impl })).toBe(false);
        }
      }
      // ECDSA itself has no low-S rule: the high-S twin verifies on both paths (see ecdsa.ts).
      const high = Uint8Array.from([
        ...nat.subarray(0, 32),
        ...numberToBytesBE(n - bytesToNumberBE(nat.subarray(32)), 32),
      ]);
      expect(await s.verify(kp.publicKey, m, high, { implementation: 'native' })).toBe(true);
      expect(await s.verify(kp.publicKey, m, high, { implementation: 'portable' })).toBe(true);
      // The native signature is the same ECDSA noble computes: verify it with noble directly.
      expect(secp256k1.verify(nat, sha256(m), kp.publicKey, { prehash: false, lowS: true })).toBe(true);
    }
  });

  it('ES256K native: bad keys and signatures behave as on the portable path', async () => {
    const s = getSuite('ES256K');
    const kp = await s.generateKeyPair();
    const sig = await s.sign(kp.secretKey, msg, { implementation: 'native' });
    for (const impl of ['portable', 'native'] as const) {
      const offCurve = kp.publicKey.slice();
      offCurve[64] = (offCurve[64] as number) ^ 1;
      await expect(s.verify(offCurve, msg, sig, { implementation: impl })).rejects.toMatchObject({
        code: 'core.key.malformed',
      });
      await expect(
        s.verify(kp.publicKey.subarray(1), msg, sig, { implementation: impl }),
      ).rejects.toMatchObject({ code: 'core.key.malformed' });
      await expect(s.sign(new Uint8Array(32), msg, { implementation: impl })).rejects.toMatchObject({
        code: 'core.key.malformed',
      });
      for (const bad of [
        sig.subarray(1),
        new Uint8Array(64),
        new Uint8Array(64).fill(0xff),
        new Uint8Array(0),
      ])
        expect(await s.verify(kp.publicKey, msg, bad, { implementation: impl })).toBe(false);
      const flipped = sig.slice();
      flipped[5] = (flipped[5] as number) ^ 1;
      expect(await s.verify(kp.publicKey, msg, flipped, { implementation: impl })).toBe(false);
    }
    // A secret key mutated in place is re-imported, not served from the cache.
    const sk = (await s.generateKeyPair()).secretKey;
    const before = await s.sign(sk, msg, { implementation: 'native' });
    sk.set(kp.secretKey);
    const after = await s.sign(sk, msg, { implementation: 'native' });
    expect(await s.verify(kp.publicKey, msg, after, { implementation: 'portable' })).toBe(true);
    expect(await s.verify(kp.publicKey, msg, before, { implementation: 'portable' })).toBe(false);
  });

  it('ES256K native: property — native ↔ portable agree on random keys and messages', async () => {
    const s = getSuite('ES256K');
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        async (seed, m) => {
          const kp = await s.generateKeyPair({ seed: Uint8Array.from([...seed, ...seed.subarray(0, 16)]) });
          const nat = await s.sign(kp.secretKey, m, { implementation: 'native' });
          const p = await s.sign(kp.secretKey, m, { implementation: 'portable' });
          expect(await s.verify(kp.publicKey, m, nat, { implementation: 'portable' })).toBe(true);
          expect(await s.verify(kp.publicKey, m, p, { implementation: 'native' })).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  // `npm run test:node24` sets this: there the native path must exist, so nothing above may skip.
  it.runIf(process.env.OMT_EXPECT_NATIVE_MLDSA === '1')(
    'ML-DSA native WebCrypto path is present (Node ≥ 24.7)',
    () => {
      expect(mlDsaNative).toEqual({ 'ML-DSA-44': true, 'ML-DSA-65': true, 'ML-DSA-87': true });
    },
  );

  for (const id of ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as SuiteId[]) {
    const nativeHere = mlDsaNative[id] as boolean;
    it.skipIf(!nativeHere)(
      `${id}: portable sig → native verify and back (WebCrypto ML-DSA: Node ≥ 24.7, run by npm run test:node24)`,
      async () => {
        const s = getSuite(id);
        const kp = await s.generateKeyPair();
        const p = await s.sign(kp.secretKey, msg, { implementation: 'portable' });
        const n = await s.sign(kp.secretKey, msg, { implementation: 'native' });
        expect(await s.verify(kp.publicKey, msg, p, { implementation: 'native' })).toBe(true);
        expect(await s.verify(kp.publicKey, msg, n, { implementation: 'portable' })).toBe(true);
      },
    );
    it.skipIf(nativeHere)(
      `${id}: no native ML-DSA here → 'native' is core.alg.unsupported, 'auto' works`,
      async () => {
        const s = getSuite(id);
        const kp = await s.generateKeyPair();
        await expect(s.sign(kp.secretKey, msg, { implementation: 'native' })).rejects.toMatchObject({
          code: 'core.alg.unsupported',
        });
        expect(await s.verify(kp.publicKey, msg, await s.sign(kp.secretKey, msg))).toBe(true);
      },
    );
  }
});

describe('portable ↔ WebAssembly (liboqs) ML-DSA cross-path', () => {
  // @oqs/liboqs-js is a dependency of @omt/core: on Node the WebAssembly path must load.
  for (const id of ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as SuiteId[]) {
    it(`${id}: wasm sig → portable verify and back, seed and expanded keys, tampering fails`, async () => {
      const s = getSuite(id);
      const kp = await s.generateKeyPair();
      const expanded = noble[id as keyof typeof noble].keygen(kp.secretKey).secretKey;
      for (const m of [msg, new Uint8Array(0), new Uint8Array(70_000).fill(7)]) {
        const w = await s.sign(kp.secretKey, m, { implementation: 'wasm' });
        const we = await s.sign(expanded, m, { implementation: 'wasm' });
        const p = await s.sign(kp.secretKey, m, { implementation: 'portable' });
        expect(w.length).toBe(s.signatureSize);
        expect(w).not.toEqual(p); // hedged: fresh randomness per signature on both paths
        for (const sig of [w, we]) {
          expect(await s.verify(kp.publicKey, m, sig, { implementation: 'portable' })).toBe(true);
          expect(noble[id as keyof typeof noble].verify(sig, m, kp.publicKey)).toBe(true);
        }
        expect(await s.verify(kp.publicKey, m, p, { implementation: 'wasm' })).toBe(true);
        const flipped = w.slice();
        flipped[100] = (flipped[100] as number) ^ 1;
        expect(await s.verify(kp.publicKey, m, flipped, { implementation: 'wasm' })).toBe(false);
        expect(await s.verify(kp.publicKey, Uint8Array.from([...m, 1]), w, { implementation: 'wasm' })).toBe(
          false,
        );
      }
      const other = await s.generateKeyPair();
      const w = await s.sign(kp.secretKey, msg, { implementation: 'wasm' });
      expect(await s.verify(other.publicKey, msg, w, { implementation: 'wasm' })).toBe(false);
      for (const bad of [w.subarray(1), new Uint8Array(0), new Uint8Array(w.length)])
        expect(await s.verify(kp.publicKey, msg, bad, { implementation: 'wasm' })).toBe(false);
      await expect(
        s.verify(kp.publicKey.subarray(1), msg, w, { implementation: 'wasm' }),
      ).rejects.toMatchObject({ code: 'core.key.malformed' });
      await expect(s.sign(new Uint8Array(31), msg, { implementation: 'wasm' })).rejects.toMatchObject({
        code: 'core.key.malformed',
      });
    });
  }

  it('ML-DSA and SLH-DSA wasm paths take Buffers and subarray views as Uint8Arrays (the bindings alone refuse a Buffer)', async () => {
    for (const id of ['ML-DSA-65', 'SLH-DSA-SHA2-128f'] as SuiteId[]) {
      const s = getSuite(id);
      const kp = await s.generateKeyPair();
      const framed = new Uint8Array(msg.length + 8);
      framed.set(msg, 3);
      const view = framed.subarray(3, 3 + msg.length);
      const sig = await s.sign(Buffer.from(kp.secretKey), Buffer.from(msg), { implementation: 'wasm' });
      expect(await s.verify(kp.publicKey, view, sig, { implementation: 'portable' })).toBe(true);
      expect(
        await s.verify(Buffer.from(kp.publicKey), Buffer.from(msg), Buffer.from(sig), {
          implementation: 'wasm',
        }),
      ).toBe(true);
      expect(await s.verify(kp.publicKey, view, sig, { implementation: 'wasm' })).toBe(true);
      expect(await s.sign(kp.secretKey, view, { implementation: 'wasm' })).toHaveLength(
        s.signatureSize as number,
      );
    }
  });

  it("'auto' leaves messages over 1 MiB to noble (liboqs memory never shrinks); 'wasm' still takes them", async () => {
    const s = getSuite('ML-DSA-65');
    const kp = await s.generateKeyPair();
    const oqs = (await liboqsSuite('ML-DSA-65')) as NonNullable<Awaited<ReturnType<typeof liboqsSuite>>>;
    const sign = vi.spyOn(oqs, 'sign');
    const verify = vi.spyOn(oqs, 'verify');
    try {
      const small = new Uint8Array(LIBOQS_AUTO_MAX_MESSAGE).fill(1);
      const big = new Uint8Array(LIBOQS_AUTO_MAX_MESSAGE + 1).fill(1);
      const auto = async (m: Uint8Array): Promise<number[]> => {
        const before = [sign.mock.calls.length, verify.mock.calls.length];
        const sig = await s.sign(kp.secretKey, m);
        expect(await s.verify(kp.publicKey, m, sig)).toBe(true);
        return [
          sign.mock.calls.length - (before[0] as number),
          verify.mock.calls.length - (before[1] as number),
        ];
      };
      const native = await s.nativeAvailable();
      expect(await auto(small)).toEqual(native ? [0, 0] : [1, 1]);
      expect(await auto(big)).toEqual([0, 0]);
      const sig = await s.sign(kp.secretKey, big, { implementation: 'wasm' });
      expect(await s.verify(kp.publicKey, big, sig, { implementation: 'wasm' })).toBe(true);
      expect(await s.verify(kp.publicKey, big, sig, { implementation: 'portable' })).toBe(true);
      expect(sign.mock.calls.at(-1)?.[0]).toHaveLength(big.length);
      expect(verify.mock.calls.at(-1)?.[0]).toHaveLength(big.length);
    } finally {
      sign.mockRestore();
      verify.mockRestore();
    }
  });

  it("ML-DSA: a RandomSource keeps signing deterministic (portable) whatever the path; 'auto' uses native or wasm", async () => {
    const s = getSuite('ML-DSA-65');
    const kp = await s.generateKeyPair({ seed: new Uint8Array(32).fill(3) });
    const zero = (n: number): Uint8Array => new Uint8Array(n);
    const a = await s.sign(kp.secretKey, msg, { implementation: 'wasm', random: zero });
    const b = await s.sign(kp.secretKey, msg, { implementation: 'portable', random: zero });
    expect(a).toEqual(b);
    // Under 'auto' a runtime without native ML-DSA signs on the WebAssembly path: it must verify
    // everywhere and be about as fast as liboqs, not noble (timing lives in npm run bench).
    const auto = await s.sign(kp.secretKey, msg);
    expect(await s.verify(kp.publicKey, msg, auto, { implementation: 'portable' })).toBe(true);
  });

  it('SLH-DSA-SHA2-128f / SHAKE-128f: wasm sig → portable verify and back; tampering fails; a RandomSource stays deterministic', async () => {
    for (const id of ['SLH-DSA-SHA2-128f', 'SLH-DSA-SHAKE-128f'] as SuiteId[]) {
      const s = getSuite(id);
      const kp = await s.generateKeyPair();
      const w = await s.sign(kp.secretKey, msg, { implementation: 'wasm' });
      const p = await s.sign(kp.secretKey, msg, { implementation: 'portable' });
      expect(w.length).toBe(s.signatureSize);
      expect(await s.verify(kp.publicKey, msg, w, { implementation: 'portable' })).toBe(true);
      expect(await s.verify(kp.publicKey, msg, p, { implementation: 'wasm' })).toBe(true);
      expect(await s.verify(kp.publicKey, msg, w)).toBe(true);
      const flipped = w.slice();
      flipped[2000] = (flipped[2000] as number) ^ 1;
      expect(await s.verify(kp.publicKey, msg, flipped, { implementation: 'wasm' })).toBe(false);
      expect(await s.verify(kp.publicKey, msg.subarray(1), w, { implementation: 'wasm' })).toBe(false);
      expect(await s.verify(kp.publicKey, msg, w.subarray(1), { implementation: 'wasm' })).toBe(false);
      const zero = (n: number): Uint8Array => new Uint8Array(n);
      expect(await s.sign(kp.secretKey, msg, { implementation: 'wasm', random: zero })).toEqual(
        await s.sign(kp.secretKey, msg, { implementation: 'portable', random: zero }),
      );
    }
  });

  it("'wasm' on a suite without a WebAssembly path → core.alg.unsupported; hybrids pass it to the PQ half", async () => {
    const ed = getSuite('Ed25519');
    const kp = await ed.generateKeyPair();
    await expect(ed.sign(kp.secretKey, msg, { implementation: 'wasm' })).rejects.toMatchObject({
      code: 'core.alg.unsupported',
    });
    await expect(
      ed.verify(kp.publicKey, msg, new Uint8Array(64), { implementation: 'wasm' }),
    ).rejects.toMatchObject({ code: 'core.alg.unsupported' });
    await expect(
      getSuite('Ed448').sign(new Uint8Array(57), msg, { implementation: 'wasm' }),
    ).rejects.toMatchObject({ code: 'core.alg.unsupported' });
    const h = getSuite('ML-DSA-65+ES256');
    const hk = await h.generateKeyPair();
    const sig = await h.sign(hk.secretKey, msg, { implementation: 'wasm' });
    expect(await h.verify(hk.publicKey, msg, sig, { implementation: 'portable' })).toBe(true);
    expect(await h.verify(hk.publicKey, msg, sig, { implementation: 'wasm' })).toBe(true);
    // A hybrid secret key changed in place signs as the new key (its halves are not served stale).
    const hk2 = await h.generateKeyPair();
    const mutable = hk.secretKey.slice();
    await h.sign(mutable, msg);
    mutable.set(hk2.secretKey);
    const after = await h.sign(mutable, msg);
    expect(await h.verify(hk2.publicKey, msg, after)).toBe(true);
    expect(await h.verify(hk.publicKey, msg, after)).toBe(false);
    await expect(ed.sign(kp.secretKey, msg, { implementation: 'gpu' as never })).rejects.toMatchObject({
      code: 'core.input.invalid',
    });
  });
});

/** PKCS#1 RSAPublicKey = the BIT STRING content of an rsaEncryption SPKI (RFC 3279 §2.3.1). */
function pkcs1FromSpki(spki: Uint8Array): Uint8Array {
  // SEQUENCE { SEQUENCE { OID, NULL } (15 bytes), BIT STRING { 00 ‖ RSAPublicKey } }
  let o = 1;
  const len = (at: number): [number, number] => {
    const b = spki[at] as number;
    if (b < 0x80) return [b, at + 1];
    const n = b & 0x7f;
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 8) | (spki[at + 1 + i] as number);
    return [v, at + 1 + n];
  };
  [, o] = len(o); // outer SEQUENCE header
  const [algLen, algStart] = len(o + 1);
  o = algStart + algLen;
  expect(spki[o]).toBe(0x03);
  const [bitLen, bitStart] = len(o + 1);
  expect(spki[bitStart]).toBe(0); // no unused bits
  return spki.slice(bitStart + 1, bitStart + bitLen);
}

describe('RSA verify against WebCrypto-generated keys', () => {
  const cases: [SuiteId, 'RSA-PSS' | 'RSASSA-PKCS1-v1_5', string, number][] = [
    ['PS256', 'RSA-PSS', 'SHA-256', 32],
    ['PS384', 'RSA-PSS', 'SHA-384', 48],
    ['PS512', 'RSA-PSS', 'SHA-512', 64],
    ['RS256', 'RSASSA-PKCS1-v1_5', 'SHA-256', 0],
    ['RS384', 'RSASSA-PKCS1-v1_5', 'SHA-384', 0],
    ['RS512', 'RSASSA-PKCS1-v1_5', 'SHA-512', 0],
  ];
  for (const [id, name, hash, saltLength] of cases) {
    it(`${id}: subtle.sign → our verify; tampering fails`, async () => {
      const { subtle } = webcrypto;
      const kp = await subtle.generateKey(
        { name, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash },
        true,
        ['sign', 'verify'],
      );
      const spki = new Uint8Array(await subtle.exportKey('spki', kp.publicKey));
      const pk = pkcs1FromSpki(spki);
      expect(parseRsaPublicKey(pk).modulusBits).toBe(2048);
      const algo = name === 'RSA-PSS' ? { name, saltLength } : { name };
      const sig = new Uint8Array(await subtle.sign(algo, kp.privateKey, msg));
      const s = getSuite(id);
      expect(await s.verify(pk, msg, sig)).toBe(true);
      expect(await s.verify(pk, msg.subarray(1), sig)).toBe(false);
      const bad = sig.slice();
      bad[7] = (bad[7] as number) ^ 0x10;
      expect(await s.verify(pk, msg, bad)).toBe(false);
      expect(await s.verify(pk, msg, sig.subarray(1))).toBe(false);
      expect(await s.verify(pk, msg, new Uint8Array(0))).toBe(false);
      // the PSS suite does not accept a PKCS#1 v1.5 signature and vice versa
      const otherId = (id.startsWith('PS') ? `RS${id.slice(2)}` : `PS${id.slice(2)}`) as SuiteId;
      expect(await getSuite(otherId).verify(pk, msg, sig)).toBe(false);
      // malformed public keys: truncated DER, trailing byte, SPKI instead of PKCS#1
      for (const badKey of [pk.subarray(0, pk.length - 1), Uint8Array.from([...pk, 0]), spki]) {
        await expect(s.verify(badKey, msg, sig)).rejects.toSatisfy((e: unknown) =>
          isOmtError(e, 'core.key.malformed'),
        );
      }
      await expect(s.verify(pk, msg, sig, { implementation: 'portable' })).rejects.toMatchObject({
        code: 'core.alg.unsupported',
      });
    });
  }

  it('rejects moduli below 2048 bits as malformed', async () => {
    const { subtle } = webcrypto;
    const kp = await subtle.generateKey(
      { name: 'RSA-PSS', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    );
    const pk = pkcs1FromSpki(new Uint8Array(await subtle.exportKey('spki', kp.publicKey)));
    await expect(getSuite('PS256').verify(pk, msg, new Uint8Array(128))).rejects.toMatchObject({
      code: 'core.key.malformed',
    });
  });
});
