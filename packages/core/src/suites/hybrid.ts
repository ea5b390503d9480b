/**
 * Hybrid (composite) suites: a post-quantum ML-DSA signature and a classical one
 * over the same message; both must verify (AND composition).
 *
 *   'ML-DSA-44+Ed25519'  'ML-DSA-65+ES256'  'ML-DSA-87+ES384'
 *
 * Encodings (suite.ts): publicKey = pq.pk ‖ classical.pk, secretKey = pq.sk ‖
 * classical.sk, signature = pq.sig ‖ classical.sig; all components are fixed-size
 * (the classical public key is the uncompressed/raw form), so splitting is by length.
 * The ML-DSA part of a secret key may be the 32-byte seed or the expanded key.
 *
 * Domain separation (anti-stripping): neither component signs M itself. Each signs
 *
 *   M′ = utf8('OMT-HYBRID-SIG-v1') ‖ 0x00 ‖ utf8(suiteId) ‖ 0x00 ‖ M
 *
 * so a component cut out of a hybrid signature does not verify as a standalone
 * ML-DSA / Ed25519 / ECDSA signature over M (nor under another hybrid suite).
 * This is OpenMediaTrust's own construction (in the spirit of the IETF composite
 * signature drafts' prefix + label), not an interoperable standard: `coseAlg` and
 * `joseAlg` are undefined.
 *
 * Generation seed: pq seed (32) ‖ classical seed (its suite's seedSize).
 */
import { concatBytes, isBytes, utf8 } from '../bytes.js';
import {
  algUnsupported,
  keyMalformed,
  readImplementation,
  readSeed,
  requireKeyBytes,
  requireMessage,
} from './_guards.js';
import { KeyCache } from './_key-cache.js';
import { ES256, ES384 } from './ecdsa.js';
import { ED25519 } from './eddsa.js';
import { ML_DSA_44, ML_DSA_65, ML_DSA_87 } from './ml-dsa.js';
import type {
  GenerateOptions,
  KeyPair,
  SignatureSuite,
  SignOptions,
  SuiteId,
  VerifyOptions,
} from './suite.js';

type HybridId = 'ML-DSA-44+Ed25519' | 'ML-DSA-65+ES256' | 'ML-DSA-87+ES384';

const HYBRID_LABEL = 'OMT-HYBRID-SIG-v1';

/**
 * The message each component of a hybrid signature signs (see file header).
 * @example
 * ```ts
 * hybridMessage('ML-DSA-65+ES256', msg); // utf8('OMT-HYBRID-SIG-v1') ‖ 0 ‖ utf8(id) ‖ 0 ‖ msg
 * ```
 */
export function hybridMessage(suiteId: SuiteId, message: Uint8Array): Uint8Array {
  return concatBytes(utf8(HYBRID_LABEL), Uint8Array.of(0), utf8(suiteId), Uint8Array.of(0), message);
}

function size(v: number | undefined): number {
  if (v === undefined) throw new Error('hybrid component without a fixed size');
  return v;
}

function makeHybridSuite(
  id: HybridId,
  pq: SignatureSuite,
  classical: SignatureSuite,
  securityLevel: string,
): SignatureSuite {
  const pqPk = size(pq.publicKeySize);
  const clPk = size(classical.publicKeySize);
  const pqSeed = size(pq.seedSize);
  const pqSkExpanded = pqPk === 1312 ? 2560 : pqPk === 1952 ? 4032 : 4896; // FIPS 204 Table 2
  const clSk = size(classical.secretKeySize);
  const pqSig = size(pq.signatureSize);
  const clSig = size(classical.signatureSize);
  const clSeed = size(classical.seedSize);

  // Native where at least one component runs natively; the other stays portable.
  const nativeAvailable = async (): Promise<boolean> => {
    const [a, b] = await Promise.all([pq.nativeAvailable(), classical.nativeAvailable()]);
    return a || b;
  };

  // The halves are the same objects for the same key object, so the components' per-key caches
  // (the expanded ML-DSA key, the imported CryptoKey) hit: a fresh subarray per call missed them
  // and re-expanded the ML-DSA key on every signature.
  const halves = new KeyCache<[Uint8Array, Uint8Array]>();
  const splitSecret = (secretKey: unknown): [Uint8Array, Uint8Array] => {
    const sk = requireKeyBytes(id, 'secret key', secretKey, [pqSeed + clSk, pqSkExpanded + clSk]);
    const cut = sk.length - clSk;
    return halves.get(sk, () => [sk.slice(0, cut), sk.slice(cut)]);
  };

  return {
    id,
    family: 'hybrid',
    coseAlg: undefined,
    joseAlg: undefined,
    publicKeySize: pqPk + clPk,
    secretKeySize: pqSeed + clSk,
    signatureSize: pqSig + clSig,
    seedSize: pqSeed + clSeed,
    canSign: true,
    securityLevel,
    async generateKeyPair(options?: GenerateOptions): Promise<KeyPair> {
      const seed = readSeed(id, options, pqSeed + clSeed);
      const a = await pq.generateKeyPair({ seed: seed.subarray(0, pqSeed) });
      const b = await classical.generateKeyPair({ seed: seed.subarray(pqSeed) });
      return {
        suite: id,
        publicKey: concatBytes(a.publicKey, b.publicKey),
        secretKey: concatBytes(a.secretKey, b.secretKey),
      };
    },
    async publicKeyFromSecret(secretKey: Uint8Array): Promise<Uint8Array> {
      const [a, b] = splitSecret(secretKey);
      return concatBytes(await pq.publicKeyFromSecret(a), await classical.publicKeyFromSecret(b));
    },
    async sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Promise<Uint8Array> {
      const [a, b] = splitSecret(secretKey);
      const m = hybridMessage(id, requireMessage(id, message));
      const impl = readImplementation(id, options);
      // 'native' means: each component on its native path where it has one; 'wasm' is the PQ
      // component's WebAssembly path (the classical one runs as under 'auto').
      const compOpts = async (s: SignatureSuite): Promise<SignOptions> => {
        if (impl === 'native')
          return { ...options, implementation: (await s.nativeAvailable()) ? 'native' : 'portable' };
        return { ...options, implementation: impl === 'wasm' && s === classical ? 'auto' : impl };
      };
      const [sa, sb] = await Promise.all([
        pq.sign(a, m, await compOpts(pq)),
        classical.sign(b, m, await compOpts(classical)),
      ]);
      return concatBytes(sa, sb);
    },
    async verify(
      publicKey: Uint8Array,
      message: Uint8Array,
      signature: Uint8Array,
      options?: VerifyOptions,
    ): Promise<boolean> {
      const pk = requireKeyBytes(id, 'public key', publicKey, [pqPk + clPk]);
      const m = hybridMessage(id, requireMessage(id, message));
      const impl = readImplementation(id, options);
      if (impl === 'native' && !(await nativeAvailable()))
        throw algUnsupported(id, 'no native implementation in this runtime');
      const pkA = pk.subarray(0, pqPk);
      const pkB = pk.subarray(pqPk);
      const compImpl = impl === 'portable' ? 'portable' : 'auto';
      const pqImpl = impl === 'wasm' ? 'wasm' : compImpl;
      // Check both public keys first so a malformed one always throws, whatever the signature.
      if (!isBytes(signature) || signature.length !== pqSig + clSig) {
        await Promise.all([
          pq.verify(pkA, m, new Uint8Array(0), { implementation: 'portable' }),
          classical.verify(pkB, m, new Uint8Array(0), { implementation: 'portable' }),
        ]).catch((e: unknown) => {
          throw keyMalformedFrom(id, e);
        });
        return false;
      }
      const [okA, okB] = await Promise.all([
        pq.verify(pkA, m, signature.subarray(0, pqSig), { implementation: pqImpl }),
        classical.verify(pkB, m, signature.subarray(pqSig), { implementation: compImpl }),
      ]).catch((e: unknown) => {
        throw keyMalformedFrom(id, e);
      });
      return okA && okB;
    },
    nativeAvailable,
  };
}

function keyMalformedFrom(id: SuiteId, e: unknown): Error {
  return keyMalformed(
    id,
    'public key',
    'a valid ML-DSA public key followed by a valid classical public key',
    undefined,
    e,
  );
}

/**
 * ML-DSA-44 + Ed25519 (category 2 / 128-bit classical).
 * @example
 * ```ts
 * const kp = await ML_DSA_44_ED25519.generateKeyPair();
 * await ML_DSA_44_ED25519.verify(kp.publicKey, msg, await ML_DSA_44_ED25519.sign(kp.secretKey, msg)); // true
 * ```
 */
export const ML_DSA_44_ED25519: SignatureSuite = /* @__PURE__ */ makeHybridSuite(
  'ML-DSA-44+Ed25519',
  ML_DSA_44,
  ED25519,
  'NIST category 2 + 128-bit classical',
);
/** ML-DSA-65 + ES256 (category 3 / 128-bit classical). @example `await ML_DSA_65_ES256.sign(sk, msg)` */
export const ML_DSA_65_ES256: SignatureSuite = /* @__PURE__ */ makeHybridSuite(
  'ML-DSA-65+ES256',
  ML_DSA_65,
  ES256,
  'NIST category 3 + 128-bit classical',
);
/** ML-DSA-87 + ES384 (category 5 / 192-bit classical). @example `await ML_DSA_87_ES384.sign(sk, msg)` */
export const ML_DSA_87_ES384: SignatureSuite = /* @__PURE__ */ makeHybridSuite(
  'ML-DSA-87+ES384',
  ML_DSA_87,
  ES384,
  'NIST category 5 + 192-bit classical',
);
