import { webcrypto } from 'node:crypto';
import { isOmtError } from '@omt/core/errors';
import { getSuite, parseRsaPublicKey, type SuiteId } from '@omt/core/suites';
import { describe, expect, it } from 'vitest';

const msg = new TextEncoder().encode('portable ↔ native');
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
