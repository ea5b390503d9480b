/**
 * ECDSA suites (FIPS 186-5 §6): ES256 (P-256/SHA-256), ES384 (P-384/SHA-384),
 * ES512 (P-521/SHA-512) — RFC 7518 §3.4 / RFC 9053 §2.1 — and ES256K
 * (secp256k1/SHA-256, RFC 8812 §3.2).
 *
 * Keys: secret = big-endian scalar of the field length; public = SEC1 uncompressed
 * point (compressed accepted on input). Signatures: IEEE P1363 r‖s, as COSE and JWS.
 *
 * Low-S: signing always returns low-S (s ≤ n/2). Verification accepts high-S:
 * ECDSA itself (FIPS 186-5) has no low-S rule and COSE/JOSE vectors and OpenSSL
 * produce high-S signatures. Bitcoin's stricter rules (BIP62/BIP146 low-S, BIP66
 * strict DER) live in `secp256k1.ts`.
 *
 * Native path: WebCrypto ECDSA for the NIST curves (keys imported as JWK, cached
 * per key object). secp256k1 has no WebCrypto support: on Node, ES256K goes through
 * node:crypto (OpenSSL), found by feature detection only (`_node-crypto.ts`); elsewhere
 * it is noble-only. Both native paths normalise signatures to low-S.
 */
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { concatBytes, isBytes } from '../bytes.js';
import { wrapErrors } from '../errors.js';
import {
  choosePath,
  drawRandom,
  keyMalformed,
  readImplementation,
  readSeed,
  requireKeyBytes,
  requireMessage,
} from './_guards.js';
import { KeyCache } from './_key-cache.js';
import {
  type NodeKey,
  nodeSecp256k1Available,
  nodeSecp256k1PublicKey,
  nodeSecp256k1Sign,
  nodeSecp256k1Verify,
} from './_node-crypto.js';
import {
  detectOnce,
  jwkBytes,
  ownBuffer,
  portableVerify,
  webcryptoSign,
  webcryptoVerify,
} from './_webcrypto.js';
import type { GenerateOptions, KeyPair, SignatureSuite, SignOptions, VerifyOptions } from './suite.js';

type EcId = 'ES256' | 'ES384' | 'ES512' | 'ES256K';

interface EcParams {
  readonly id: EcId;
  readonly curve: ECDSA;
  readonly coseAlg: number;
  /** WebCrypto namedCurve and hash, or undefined where WebCrypto has no such curve. */
  readonly webcrypto: { readonly namedCurve: string; readonly hash: string } | undefined;
  /** True for secp256k1: native through node:crypto where WebCrypto has nothing. */
  readonly nodeCrypto?: boolean;
  readonly securityLevel: string;
}

/** Returns r‖s with s replaced by n − s when s > n/2 (the equivalent low-S signature). */
export function normalizeLowS(curve: ECDSA, signature: Uint8Array): Uint8Array {
  const n = curve.Point.Fn.ORDER;
  const len = signature.length / 2;
  const s = bytesToNumberBE(signature.subarray(len));
  if (s <= n >> 1n) return signature;
  return concatBytes(signature.subarray(0, len), numberToBytesBE(n - s, len));
}

function makeEcSuite(p: EcParams): SignatureSuite {
  const { id, curve } = p;
  const scalarLen = curve.lengths.secretKey as number;
  const compressedLen = curve.lengths.publicKey as number;
  const uncompressedLen = curve.lengths.publicKeyUncompressed as number;
  const sigLen = curve.lengths.signature as number;
  const seedLen = curve.lengths.seed as number;
  const points = new KeyCache<Uint8Array | undefined>({ public: true });
  const signKeys = new KeyCache<Promise<CryptoKey>>();
  const verifyKeys = new KeyCache<Promise<CryptoKey>>({ public: true });
  const wc = p.webcrypto;
  const viaNode = p.nodeCrypto === true;
  const nodeSignKeys = new KeyCache<NodeKey>();

  const nativeAvailable = (): Promise<boolean> =>
    wc === undefined
      ? Promise.resolve(viaNode && nodeSecp256k1Available())
      : detectOnce(`ECDSA-${wc.namedCurve}`, async (subtle) => {
          // Import the generator point as a public key: proves the curve is supported.
          const g = curve.Point.BASE.toBytes(false);
          await subtle.importKey('raw', ownBuffer(g), { name: 'ECDSA', namedCurve: wc.namedCurve }, false, [
            'verify',
          ]);
        });

  /** Validated public key as an uncompressed point; `core.key.malformed` otherwise. */
  const uncompressedPublic = (publicKey: unknown): Uint8Array => {
    const pk = requireKeyBytes(id, 'public key', publicKey, [uncompressedLen, compressedLen]);
    const point = points.get(pk, () => {
      try {
        const pt = curve.Point.fromBytes(pk);
        pt.assertValidity();
        return pt.toBytes(false);
      } catch {
        return undefined;
      }
    });
    if (point === undefined)
      throw keyMalformed(
        id,
        'public key',
        `a SEC1 point on the curve (${uncompressedLen} or ${compressedLen} bytes)`,
      );
    return point;
  };

  const checkSecret = (secretKey: unknown): Uint8Array => {
    const sk = requireKeyBytes(id, 'secret key', secretKey, [scalarLen]);
    if (!curve.utils.isValidSecretKey(sk))
      throw keyMalformed(id, 'secret key', `a scalar in [1, n−1] of ${scalarLen} bytes`);
    return sk;
  };

  return {
    id,
    family: 'ecdsa',
    coseAlg: p.coseAlg,
    joseAlg: id,
    publicKeySize: uncompressedLen,
    secretKeySize: scalarLen,
    signatureSize: sigLen,
    // noble keygen(seed): FIPS 186-5 A.2.1 style reduction of field length + 64 bits.
    seedSize: seedLen,
    canSign: true,
    securityLevel: p.securityLevel,
    async generateKeyPair(options?: GenerateOptions): Promise<KeyPair> {
      const seed = readSeed(id, options, seedLen);
      const { secretKey, publicKey } = wrapErrors(
        'core.key.malformed',
        `${id}: key generation failed`,
        () => {
          const sk = curve.keygen(seed).secretKey;
          return { secretKey: sk, publicKey: curve.getPublicKey(sk, false) };
        },
      );
      return { suite: id, publicKey, secretKey };
    },
    async publicKeyFromSecret(secretKey: Uint8Array): Promise<Uint8Array> {
      return curve.getPublicKey(checkSecret(secretKey), false);
    },
    async sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Promise<Uint8Array> {
      const sk = checkSecret(secretKey);
      const msg = requireMessage(id, message);
      const path = await choosePath(id, readImplementation(id, options), nativeAvailable);
      // OpenSSL may return high-S: normalise, as every path of this suite signs low-S.
      if (path === 'native' && viaNode) return normalizeLowS(curve, nodeSecp256k1Sign(nodeSignKeys, sk, msg));
      if (path === 'native' && wc !== undefined) {
        const importSk = (subtle: SubtleCrypto): Promise<CryptoKey> => {
          const pub = curve.getPublicKey(sk, false);
          const jwk: JsonWebKey = {
            kty: 'EC',
            crv: wc.namedCurve,
            x: jwkBytes(pub.subarray(1, 1 + scalarLen)),
            y: jwkBytes(pub.subarray(1 + scalarLen)),
            d: jwkBytes(sk),
          };
          return subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: wc.namedCurve }, false, ['sign']);
        };
        const sig = await webcryptoSign(id, signKeys, sk, importSk, { name: 'ECDSA', hash: wc.hash }, msg);
        return normalizeLowS(curve, sig);
      }
      // RFC 6979 deterministic nonce hedged with fresh entropy (RFC 6979 §3.6).
      return curve.sign(msg, sk, { lowS: true, extraEntropy: drawRandom(options?.random, 32) });
    },
    async verify(
      publicKey: Uint8Array,
      message: Uint8Array,
      signature: Uint8Array,
      options?: VerifyOptions,
    ): Promise<boolean> {
      const impl = readImplementation(id, options);
      if (viaNode && impl !== 'portable' && (await nativeAvailable())) {
        // Keyed by the key's bytes and validated on first sight only (a malformed key still throws).
        const key = nodeSecp256k1PublicKey(
          requireKeyBytes(id, 'public key', publicKey, [uncompressedLen, compressedLen]),
          () => uncompressedPublic(publicKey),
        );
        const msg = requireMessage(id, message);
        if (!isBytes(signature) || signature.length !== sigLen) return false;
        return nodeSecp256k1Verify(key, msg, signature);
      }
      const pk = uncompressedPublic(publicKey);
      const msg = requireMessage(id, message);
      const path = await choosePath(id, impl, nativeAvailable);
      if (!isBytes(signature) || signature.length !== sigLen) return false;
      if (path === 'native' && wc !== undefined) {
        const importPk = (subtle: SubtleCrypto): Promise<CryptoKey> =>
          subtle.importKey('raw', ownBuffer(pk), { name: 'ECDSA', namedCurve: wc.namedCurve }, false, [
            'verify',
          ]);
        return webcryptoVerify(verifyKeys, pk, importPk, { name: 'ECDSA', hash: wc.hash }, signature, msg);
      }
      // COSE/JOSE ECDSA signatures may be high-S (RFC 9053 does not forbid it): accept them.
      return portableVerify(() => curve.verify(signature, msg, pk, { lowS: false }));
    },
    nativeAvailable,
  };
}

/**
 * ES256: ECDSA P-256 with SHA-256, COSE −7.
 * @example
 * ```ts
 * const kp = await ES256.generateKeyPair();
 * const sig = await ES256.sign(kp.secretKey, msg); // 64-byte r‖s, low-S
 * await ES256.verify(kp.publicKey, msg, sig); // true
 * ```
 */
export const ES256: SignatureSuite = /* @__PURE__ */ makeEcSuite({
  id: 'ES256',
  curve: p256,
  coseAlg: -7,
  webcrypto: { namedCurve: 'P-256', hash: 'SHA-256' },
  securityLevel: '128-bit classical',
});

/** ES384: ECDSA P-384 with SHA-384, COSE −35. @example `await ES384.verify(pk, msg, sig)` */
export const ES384: SignatureSuite = /* @__PURE__ */ makeEcSuite({
  id: 'ES384',
  curve: p384,
  coseAlg: -35,
  webcrypto: { namedCurve: 'P-384', hash: 'SHA-384' },
  securityLevel: '192-bit classical',
});

/** ES512: ECDSA P-521 with SHA-512, COSE −36. @example `await ES512.verify(pk, msg, sig)` */
export const ES512: SignatureSuite = /* @__PURE__ */ makeEcSuite({
  id: 'ES512',
  curve: p521,
  coseAlg: -36,
  webcrypto: { namedCurve: 'P-521', hash: 'SHA-512' },
  securityLevel: '256-bit classical',
});

/** ES256K: ECDSA secp256k1 with SHA-256 (RFC 8812 §3.2), COSE −47. @example `await ES256K.sign(sk, msg)` */
export const ES256K: SignatureSuite = /* @__PURE__ */ makeEcSuite({
  id: 'ES256K',
  curve: secp256k1,
  coseAlg: -47,
  webcrypto: undefined,
  nodeCrypto: true,
  securityLevel: '128-bit classical',
});
