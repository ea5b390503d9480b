/**
 * SLH-DSA suites (FIPS 205): the twelve SHA2/SHAKE parameter sets, pure mode with
 * the empty context (FIPS 205 §10.2.1), randomized signing (opt_rand = n bytes
 * from the RandomSource, §10.2.1; FIPS 205 allows PK.seed for the deterministic
 * variant). No runtime offers SLH-DSA natively: on Node 'auto' signs and verifies through
 * liboqs compiled to WebAssembly (`_liboqs.ts`, ≈ 3.5× faster signing, ≈ 4.5× verification),
 * elsewhere — and with a caller's RandomSource — through @noble/post-quantum.
 *
 * Keys: public = PK.seed‖PK.root (2n); secret = SK.seed‖SK.prf‖PK.seed‖PK.root (4n);
 * generation seed = SK.seed‖SK.prf‖PK.seed (3n, FIPS 205 Algorithm 18 inputs).
 *
 * COSE/JOSE ids: none final. draft-ietf-cose-sphincs-plus (cose-wg, 2025) lists only
 * SLH-DSA-SHA2-128s / SHAKE-128s / SHA2-128f with "TBD (requested assignment −51/−52/−53)";
 * IANA has not registered them, so `coseAlg` and `joseAlg` are undefined for all twelve.
 */
import {
  slh_dsa_sha2_128f,
  slh_dsa_sha2_128s,
  slh_dsa_sha2_192f,
  slh_dsa_sha2_192s,
  slh_dsa_sha2_256f,
  slh_dsa_sha2_256s,
  slh_dsa_shake_128f,
  slh_dsa_shake_128s,
  slh_dsa_shake_192f,
  slh_dsa_shake_192s,
  slh_dsa_shake_256f,
  slh_dsa_shake_256s,
} from '@noble/post-quantum/slh-dsa.js';
import { isBytes } from '../bytes.js';
import { wrapErrors } from '../errors.js';
import {
  choosePath,
  drawRandom,
  readImplementation,
  readSeed,
  requireKeyBytes,
  requireMessage,
} from './_guards.js';
import { liboqsAvailable, liboqsFor } from './_liboqs.js';
import type {
  GenerateOptions,
  KeyPair,
  SignatureSuite,
  SignOptions,
  SuiteId,
  VerifyOptions,
} from './suite.js';

type NobleSlh = typeof slh_dsa_sha2_128f;

const noNative = (): Promise<boolean> => Promise.resolve(false);

function makeSlhSuite(id: SuiteId, noble: NobleSlh, securityLevel: string): SignatureSuite {
  const pkLen = noble.lengths.publicKey as number;
  const skLen = noble.lengths.secretKey as number;
  const sigLen = noble.lengths.signature as number;
  const seedLen = noble.lengths.seed as number;
  const n = pkLen / 2;
  const wasmAvailable = (): Promise<boolean> => liboqsAvailable(id);
  return {
    id,
    family: 'slh-dsa',
    coseAlg: undefined,
    joseAlg: undefined,
    publicKeySize: pkLen,
    secretKeySize: skLen,
    signatureSize: sigLen,
    seedSize: seedLen,
    canSign: true,
    securityLevel,
    async generateKeyPair(options?: GenerateOptions): Promise<KeyPair> {
      const seed = readSeed(id, options, seedLen);
      const { secretKey, publicKey } = wrapErrors('core.key.malformed', `${id}: key generation failed`, () =>
        noble.keygen(seed),
      );
      return { suite: id, publicKey, secretKey };
    },
    async publicKeyFromSecret(secretKey: Uint8Array): Promise<Uint8Array> {
      const sk = requireKeyBytes(id, 'secret key', secretKey, [skLen]);
      // The last 2n bytes of the FIPS 205 secret key are the public key (§9.1).
      return sk.slice(2 * n);
    },
    async sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Promise<Uint8Array> {
      const sk = requireKeyBytes(id, 'secret key', secretKey, [skLen]);
      const msg = requireMessage(id, message);
      const impl = readImplementation(id, options);
      const path = await choosePath(id, impl, noNative, wasmAvailable);
      const wasm = await liboqsFor(id, path, impl, msg, options?.random);
      if (wasm !== null)
        return wrapErrors('core.key.malformed', `${id}: malformed secret key`, () => wasm.sign(msg, sk));
      const rnd = drawRandom(options?.random, n);
      return wrapErrors('core.key.malformed', `${id}: malformed secret key`, () =>
        noble.sign(msg, sk, { extraEntropy: rnd }),
      );
    },
    async verify(
      publicKey: Uint8Array,
      message: Uint8Array,
      signature: Uint8Array,
      options?: VerifyOptions,
    ): Promise<boolean> {
      const pk = requireKeyBytes(id, 'public key', publicKey, [pkLen]);
      const msg = requireMessage(id, message);
      const impl = readImplementation(id, options);
      const path = await choosePath(id, impl, noNative, wasmAvailable);
      if (!isBytes(signature) || signature.length !== sigLen) return false;
      const wasm = await liboqsFor(id, path, impl, msg);
      try {
        if (wasm !== null) return wasm.verify(msg, signature, pk);
        return noble.verify(signature, msg, pk);
      } catch {
        return false;
      }
    },
    nativeAvailable: noNative,
  };
}

/**
 * SLH-DSA-SHA2-128s (FIPS 205 Table 2, category 1, small signatures).
 * @example
 * ```ts
 * const kp = await SLH_DSA_SHA2_128S.generateKeyPair();
 * const sig = await SLH_DSA_SHA2_128S.sign(kp.secretKey, msg); // 7856 bytes, slow
 * ```
 */
export const SLH_DSA_SHA2_128S: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHA2-128s',
  slh_dsa_sha2_128s,
  'NIST category 1',
);
/** SLH-DSA-SHA2-128f (category 1, fast signing). @example `await SLH_DSA_SHA2_128F.sign(sk, msg)` */
export const SLH_DSA_SHA2_128F: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHA2-128f',
  slh_dsa_sha2_128f,
  'NIST category 1',
);
/** SLH-DSA-SHA2-192s (category 3). @example `await SLH_DSA_SHA2_192S.sign(sk, msg)` */
export const SLH_DSA_SHA2_192S: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHA2-192s',
  slh_dsa_sha2_192s,
  'NIST category 3',
);
/** SLH-DSA-SHA2-192f (category 3). @example `await SLH_DSA_SHA2_192F.sign(sk, msg)` */
export const SLH_DSA_SHA2_192F: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHA2-192f',
  slh_dsa_sha2_192f,
  'NIST category 3',
);
/** SLH-DSA-SHA2-256s (category 5). @example `await SLH_DSA_SHA2_256S.sign(sk, msg)` */
export const SLH_DSA_SHA2_256S: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHA2-256s',
  slh_dsa_sha2_256s,
  'NIST category 5',
);
/** SLH-DSA-SHA2-256f (category 5). @example `await SLH_DSA_SHA2_256F.sign(sk, msg)` */
export const SLH_DSA_SHA2_256F: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHA2-256f',
  slh_dsa_sha2_256f,
  'NIST category 5',
);
/** SLH-DSA-SHAKE-128s (category 1). @example `await SLH_DSA_SHAKE_128S.sign(sk, msg)` */
export const SLH_DSA_SHAKE_128S: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHAKE-128s',
  slh_dsa_shake_128s,
  'NIST category 1',
);
/** SLH-DSA-SHAKE-128f (category 1). @example `await SLH_DSA_SHAKE_128F.sign(sk, msg)` */
export const SLH_DSA_SHAKE_128F: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHAKE-128f',
  slh_dsa_shake_128f,
  'NIST category 1',
);
/** SLH-DSA-SHAKE-192s (category 3). @example `await SLH_DSA_SHAKE_192S.sign(sk, msg)` */
export const SLH_DSA_SHAKE_192S: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHAKE-192s',
  slh_dsa_shake_192s,
  'NIST category 3',
);
/** SLH-DSA-SHAKE-192f (category 3). @example `await SLH_DSA_SHAKE_192F.sign(sk, msg)` */
export const SLH_DSA_SHAKE_192F: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHAKE-192f',
  slh_dsa_shake_192f,
  'NIST category 3',
);
/** SLH-DSA-SHAKE-256s (category 5). @example `await SLH_DSA_SHAKE_256S.sign(sk, msg)` */
export const SLH_DSA_SHAKE_256S: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHAKE-256s',
  slh_dsa_shake_256s,
  'NIST category 5',
);
/** SLH-DSA-SHAKE-256f (category 5). @example `await SLH_DSA_SHAKE_256F.sign(sk, msg)` */
export const SLH_DSA_SHAKE_256F: SignatureSuite = /* @__PURE__ */ makeSlhSuite(
  'SLH-DSA-SHAKE-256f',
  slh_dsa_shake_256f,
  'NIST category 5',
);
