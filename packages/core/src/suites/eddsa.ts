/**
 * EdDSA suites (RFC 8032): Ed25519 and Ed448, pure (no prehash, no context).
 * Portable path: @noble/curves. Native path: WebCrypto 'Ed25519' where present
 * (Ed448 has no portable WebCrypto support across browsers, so it is noble-only).
 * Verification is RFC 8032 §5.1.7 / FIPS 186-5 strict (`zip215: false`: canonical
 * encodings only), which matches what OpenSSL-backed WebCrypto accepts.
 */

import { ed448 } from '@noble/curves/ed448.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, fromHex, isBytes } from '../bytes.js';
import { wrapErrors } from '../errors.js';
import {
  choosePath,
  keyMalformed,
  readImplementation,
  readSeed,
  requireKeyBytes,
  requireMessage,
} from './_guards.js';
import { KeyCache } from './_key-cache.js';
import { nodeEd25519Verify } from './_node-crypto.js';
import { detectOnce, ownBuffer, portableVerify, webcryptoSign, webcryptoVerify } from './_webcrypto.js';
import type { GenerateOptions, KeyPair, SignatureSuite, SignOptions, VerifyOptions } from './suite.js';

type EdCurve = typeof ed25519 | typeof ed448;

// RFC 8410 §7 PKCS#8 prefix for an Ed25519 private key: the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = /* @__PURE__ */ Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
function ed25519NativeAvailable(): Promise<boolean> {
  // Any valid Ed25519 public key works as a probe: this is the RFC 8032 §7.1 test 1 key.
  const probe = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  return detectOnce('Ed25519', (subtle) =>
    subtle.importKey('raw', ownBuffer(probe), { name: 'Ed25519' }, false, ['verify']),
  );
}

function makeEdSuite(
  id: 'Ed25519' | 'Ed448',
  curve: EdCurve,
  native: boolean,
  securityLevel: string,
): SignatureSuite {
  const size = curve.lengths.publicKey as number; // 32 / 57
  const sigSize = curve.lengths.signature as number; // 64 / 114
  const validPoints = new KeyCache<boolean>({ public: true });
  const nativeAvailable = native ? ed25519NativeAvailable : () => Promise.resolve(false);
  const signKeys = new KeyCache<Promise<CryptoKey>>();
  const verifyKeys = new KeyCache<Promise<CryptoKey>>({ public: true });

  const checkPublic = (publicKey: unknown): Uint8Array => {
    const pk = requireKeyBytes(id, 'public key', publicKey, [size]);
    const ok = validPoints.get(pk, () => {
      try {
        curve.Point.fromBytes(pk, false);
        return true;
      } catch {
        return false;
      }
    });
    if (!ok) throw keyMalformed(id, 'public key', `a valid RFC 8032 point encoding of ${size} bytes`);
    return pk;
  };

  return {
    id,
    family: 'eddsa',
    coseAlg: -8, // IANA COSE "EdDSA" (RFC 9053 §2.2); RFC 9864 fully-specified ids are not used here
    joseAlg: id, // RFC 9864 fully-specified JOSE names 'Ed25519' / 'Ed448' ('EdDSA' is the polymorphic one)
    publicKeySize: size,
    secretKeySize: size,
    signatureSize: sigSize,
    seedSize: size,
    canSign: true,
    securityLevel,
    async generateKeyPair(options?: GenerateOptions): Promise<KeyPair> {
      // The RFC 8032 private key *is* the seed.
      const secretKey = readSeed(id, options, size);
      const publicKey = wrapErrors('core.key.malformed', `${id}: key generation failed`, () =>
        curve.getPublicKey(secretKey),
      );
      return { suite: id, publicKey, secretKey: secretKey.slice() };
    },
    async publicKeyFromSecret(secretKey: Uint8Array): Promise<Uint8Array> {
      const sk = requireKeyBytes(id, 'secret key', secretKey, [size]);
      return curve.getPublicKey(sk);
    },
    async sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Promise<Uint8Array> {
      const sk = requireKeyBytes(id, 'secret key', secretKey, [size]);
      const msg = requireMessage(id, message);
      const path = await choosePath(id, readImplementation(id, options), nativeAvailable);
      if (path === 'native') {
        const importSk = (subtle: SubtleCrypto): Promise<CryptoKey> =>
          subtle.importKey(
            'pkcs8',
            ownBuffer(concatBytes(ED25519_PKCS8_PREFIX, sk)),
            { name: 'Ed25519' },
            false,
            ['sign'],
          );
        return webcryptoSign(id, signKeys, sk, importSk, { name: 'Ed25519' }, msg);
      }
      return curve.sign(msg, sk); // RFC 8032 signing is deterministic; no randomness used
    },
    async verify(
      publicKey: Uint8Array,
      message: Uint8Array,
      signature: Uint8Array,
      options?: VerifyOptions,
    ): Promise<boolean> {
      const pk = checkPublic(publicKey);
      const msg = requireMessage(id, message);
      const path = await choosePath(id, readImplementation(id, options), nativeAvailable);
      if (!isBytes(signature) || signature.length !== sigSize) return false;
      if (path === 'native') {
        // Node: the same OpenSSL verification, called synchronously (see nodeEd25519Verify).
        const direct = nodeEd25519Verify(pk, msg, signature);
        if (direct !== undefined) return direct;
        const importPk = (subtle: SubtleCrypto): Promise<CryptoKey> =>
          subtle.importKey('raw', ownBuffer(pk), { name: 'Ed25519' }, false, ['verify']);
        return webcryptoVerify(verifyKeys, pk, importPk, { name: 'Ed25519' }, signature, msg);
      }
      // zip215: false = RFC 8032 strict verification (rejects non-canonical encodings).
      return portableVerify(() => curve.verify(signature, msg, pk, { zip215: false }));
    },
    nativeAvailable,
  };
}

/**
 * Ed25519 (RFC 8032 §5.1), COSE alg −8 (EdDSA).
 * @example
 * ```ts
 * const kp = await ED25519.generateKeyPair();
 * const sig = await ED25519.sign(kp.secretKey, msg);
 * await ED25519.verify(kp.publicKey, msg, sig); // true
 * ```
 */
export const ED25519: SignatureSuite = /* @__PURE__ */ makeEdSuite(
  'Ed25519',
  ed25519,
  true,
  '128-bit classical',
);

/**
 * Ed448 (RFC 8032 §5.2, empty context), COSE alg −8 (EdDSA). Portable path only.
 * @example
 * ```ts
 * const kp = await ED448.generateKeyPair();
 * await ED448.verify(kp.publicKey, msg, await ED448.sign(kp.secretKey, msg)); // true
 * ```
 */
export const ED448: SignatureSuite = /* @__PURE__ */ makeEdSuite('Ed448', ed448, false, '224-bit classical');
