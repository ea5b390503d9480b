import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
} from 'node:crypto';
import { toHex } from '@omt/core/bytes';
import {
  exportJwk,
  exportPrivatePem,
  exportPublicPem,
  importPem,
  importSpki,
  type KeyMaterial,
} from '@omt/core/keys';
import { getSuite, type SuiteId } from '@omt/core/suites';
import { describe, expect, it } from 'vitest';

const msg = new TextEncoder().encode('interop with node:crypto');

type Case = { id: SuiteId; gen: () => { publicKey: KeyObject; privateKey: KeyObject }; hash: string | null };
const CASES: Case[] = [
  { id: 'Ed25519', gen: () => generateKeyPairSync('ed25519'), hash: null },
  { id: 'Ed448', gen: () => generateKeyPairSync('ed448'), hash: null },
  { id: 'ES256', gen: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }), hash: 'sha256' },
  { id: 'ES384', gen: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }), hash: 'sha384' },
  { id: 'ES512', gen: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }), hash: 'sha512' },
  { id: 'ES256K', gen: () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), hash: 'sha256' },
];

describe('node:crypto reads our PEM, we read node PEM, node signatures verify', () => {
  for (const c of CASES) {
    it(c.id, async () => {
      const suite = getSuite(c.id);
      // node → ours
      const nodeKeys = c.gen();
      const nodePriv = nodeKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      const nodePub = nodeKeys.publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const ourPriv = importPem(nodePriv);
      const ourPub = importPem(nodePub);
      expect(ourPriv.suite).toBe(c.id);
      expect(toHex(ourPriv.publicKey)).toBe(toHex(ourPub.publicKey));
      // identical raw bytes: re-exporting gives node's own DER/PEM back
      expect(exportPublicPem(ourPub)).toBe(nodePub);
      const der = new Uint8Array(nodeKeys.publicKey.export({ type: 'spki', format: 'der' }));
      expect(toHex(importSpki(der).publicKey)).toBe(toHex(ourPub.publicKey));
      const jwk = nodeKeys.privateKey.export({ format: 'jwk' }) as { d: string; x: string };
      expect(Buffer.from(ourPriv.secretKey as Uint8Array).toString('base64url')).toBe(jwk.d);
      // node signs → our imported public key verifies
      const sig = nodeSign(c.hash, msg, { key: nodeKeys.privateKey, dsaEncoding: 'ieee-p1363' });
      expect(await suite.verify(ourPub.publicKey, msg, new Uint8Array(sig))).toBe(true);

      // ours → node
      const kp = await suite.generateKeyPair();
      const key: KeyMaterial = { suite: c.id, publicKey: kp.publicKey, secretKey: kp.secretKey };
      const np = createPrivateKey(exportPrivatePem(key));
      const nq = createPublicKey(exportPublicPem(key));
      expect(np.asymmetricKeyType).toBe(nodeKeys.privateKey.asymmetricKeyType);
      expect(createPublicKey(np).export({ type: 'spki', format: 'pem' })).toBe(
        nq.export({ type: 'spki', format: 'pem' }),
      );
      const sig2 = nodeSign(c.hash, msg, { key: np, dsaEncoding: 'ieee-p1363' });
      expect(await suite.verify(key.publicKey, msg, new Uint8Array(sig2))).toBe(true);
    });
  }

  it('RSA: node SPKI (rsaEncryption and RSASSA-PSS) imports with a suite; ours loads in node', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => importPem(pem)).toThrow(expect.objectContaining({ code: 'core.key.suite-required' }));
    const ours = importPem(pem, { suite: 'PS256' });
    expect(toHex(ours.publicKey)).toBe(
      toHex(new Uint8Array(publicKey.export({ type: 'pkcs1', format: 'der' }))),
    );
    expect(exportPublicPem(ours)).toBe(pem);
    expect(createPublicKey(exportPublicPem(ours)).export({ format: 'jwk' })).toEqual(
      publicKey.export({ format: 'jwk' }),
    );
    const sig = nodeSign('sha256', msg, {
      key: privateKey,
      padding: 6 /* RSA_PKCS1_PSS_PADDING */,
      saltLength: 32,
    });
    expect(await getSuite('PS256').verify(ours.publicKey, msg, new Uint8Array(sig))).toBe(true);
    const rs = importPem(pem, { suite: 'RS256' });
    expect(
      await getSuite('RS256').verify(rs.publicKey, msg, new Uint8Array(nodeSign('sha256', msg, privateKey))),
    ).toBe(true);
    expect(() => importPem(pem, { suite: 'ES256' })).toThrow(
      expect.objectContaining({ code: 'core.key.suite-mismatch' }),
    );

    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    const pssPem = pss.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(pssPem).not.toBe(exportPublicPem(importPem(pssPem, { suite: 'PS256' }))); // re-exported as rsaEncryption
    const pssKey = importPem(pssPem, { suite: 'PS384' });
    expect(exportJwk(pssKey)).toMatchObject({ kty: 'RSA', e: 'AQAB', alg: 'PS384' });
    const pssSig = nodeSign('sha384', msg, { key: pss.privateKey, padding: 6, saltLength: 48 });
    expect(await getSuite('PS384').verify(pssKey.publicKey, msg, new Uint8Array(pssSig))).toBe(true);
    // RSA private keys are not imported (verify-only suites)
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => importPem(priv, { suite: 'PS256' })).toThrow(
      expect.objectContaining({ code: 'core.alg.unsupported' }),
    );
  });
});
