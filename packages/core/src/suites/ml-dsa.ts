/**
 * ML-DSA suites (FIPS 204): ML-DSA-44/65/87, pure mode with the empty context
 * (FIPS 204 §5.2, Algorithm 2 with ctx = ''), hedged signing (§3.4, rnd from the
 * RandomSource; an all-zero source gives the deterministic variant).
 *
 * Keys: public = FIPS 204 pkEncode; secret = the 32-byte seed ξ (RFC 9881 "seed"
 * form, as generated). The expanded FIPS 204 skEncode is accepted on input too.
 * Expansion seed → (pk, sk) costs about as much as a signature, so expanded keys
 * are memoised per key object (a WeakMap; see `_key-cache.ts`).
 *
 * COSE: RFC 9964 (ML-DSA-44 = −48, −49, −50); JOSE names are the parameter set names.
 * Native path: WebCrypto 'ML-DSA-44/65/87' ('raw-seed' / 'raw-public' formats, e.g.
 * Node ≥ 24.7) when the runtime has it — detected by trying, never assumed.
 * WebAssembly path: liboqs (`_liboqs.ts`) on Node without the native one — ≈ 12× faster than
 * noble; 'auto' prefers native, then WebAssembly, then noble. Browsers use native or noble.
 */
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
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
import { KeyCache } from './_key-cache.js';
import { liboqsAvailable, liboqsFor } from './_liboqs.js';
import { detectOnce, ownBuffer, portableVerify, webcryptoSign, webcryptoVerify } from './_webcrypto.js';
import type { GenerateOptions, KeyPair, SignatureSuite, SignOptions, VerifyOptions } from './suite.js';

type MlDsaId = 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';
type NobleMlDsa = typeof ml_dsa44;

const SEED_SIZE = 32;

// WebCrypto's typings predate the ML-DSA key formats; call through a widened signature.
type ImportKeyLoose = (
  format: string,
  keyData: Uint8Array<ArrayBuffer>,
  algorithm: { name: string },
  extractable: boolean,
  usages: KeyUsage[],
) => Promise<CryptoKey>;

function importLoose(subtle: SubtleCrypto): ImportKeyLoose {
  return subtle.importKey.bind(subtle) as unknown as ImportKeyLoose;
}

function makeMlDsaSuite(
  id: MlDsaId,
  noble: NobleMlDsa,
  coseAlg: number,
  securityLevel: string,
): SignatureSuite {
  const pkLen = noble.lengths.publicKey as number;
  const skLen = noble.lengths.secretKey as number;
  const sigLen = noble.lengths.signature as number;
  const expanded = new KeyCache<{ secretKey: Uint8Array; publicKey: Uint8Array }>();
  const signKeys = new KeyCache<Promise<CryptoKey>>();
  const verifyKeys = new KeyCache<Promise<CryptoKey>>({ public: true });

  const nativeAvailable = (): Promise<boolean> =>
    detectOnce(id, (subtle) =>
      importLoose(subtle)('raw-seed', new Uint8Array(SEED_SIZE), { name: id }, false, ['sign']),
    );

  const wasmAvailable = (): Promise<boolean> => liboqsAvailable(id);

  /** Expanded FIPS 204 secret key for a seed or an expanded key (memoised per key object). */
  const expand = (sk: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } =>
    expanded.get(sk, () =>
      wrapErrors('core.key.malformed', `${id}: malformed secret key`, () => {
        if (sk.length === SEED_SIZE) return noble.keygen(sk);
        return { secretKey: sk.slice(), publicKey: noble.getPublicKey(sk) };
      }),
    );

  return {
    id,
    family: 'ml-dsa',
    coseAlg,
    joseAlg: id,
    publicKeySize: pkLen,
    secretKeySize: SEED_SIZE,
    signatureSize: sigLen,
    seedSize: SEED_SIZE,
    canSign: true,
    securityLevel,
    async generateKeyPair(options?: GenerateOptions): Promise<KeyPair> {
      // FIPS 204 Algorithm 1: ξ ← B^32, then ML-DSA.KeyGen_internal(ξ).
      const seed = readSeed(id, options, SEED_SIZE).slice();
      return { suite: id, publicKey: expand(seed).publicKey.slice(), secretKey: seed };
    },
    async publicKeyFromSecret(secretKey: Uint8Array): Promise<Uint8Array> {
      const sk = requireKeyBytes(id, 'secret key', secretKey, [SEED_SIZE, skLen]);
      return expand(sk).publicKey.slice();
    },
    async sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Promise<Uint8Array> {
      const sk = requireKeyBytes(id, 'secret key', secretKey, [SEED_SIZE, skLen]);
      const msg = requireMessage(id, message);
      const impl = readImplementation(id, options);
      // The native import takes the seed form only; an expanded key stays on the portable path.
      const path = await choosePath(id, impl, nativeAvailable, wasmAvailable);
      if (path === 'native' && sk.length === SEED_SIZE && options?.random === undefined) {
        const importSk = (subtle: SubtleCrypto): Promise<CryptoKey> =>
          importLoose(subtle)('raw-seed', ownBuffer(sk), { name: id }, false, ['sign']);
        return webcryptoSign(id, signKeys, sk, importSk, { name: id }, msg);
      }
      const wasm = await liboqsFor(id, path, impl, msg, options?.random);
      if (wasm !== null) {
        const expandedSk = expand(sk).secretKey;
        return wrapErrors('core.key.malformed', `${id}: signing rejected the secret key`, () =>
          wasm.sign(msg, expandedSk),
        );
      }
      const rnd = drawRandom(options?.random, 32); // FIPS 204 §3.4 hedged: rnd ← B^32
      return noble.sign(msg, expand(sk).secretKey, { extraEntropy: rnd });
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
      const path = await choosePath(id, impl, nativeAvailable, wasmAvailable);
      if (!isBytes(signature) || signature.length !== sigLen) return false;
      if (path === 'native') {
        const importPk = (subtle: SubtleCrypto): Promise<CryptoKey> =>
          importLoose(subtle)('raw-public', ownBuffer(pk), { name: id }, false, ['verify']);
        return webcryptoVerify(verifyKeys, pk, importPk, { name: id }, signature, msg);
      }
      const wasm = await liboqsFor(id, path, impl, msg);
      if (wasm !== null) return portableVerify(() => wasm.verify(msg, signature, pk));
      return portableVerify(() => noble.verify(signature, msg, pk));
    },
    nativeAvailable,
  };
}

/**
 * ML-DSA-44 (FIPS 204, NIST category 2), COSE −48 (RFC 9964).
 * @example
 * ```ts
 * const kp = await ML_DSA_44.generateKeyPair(); // secretKey = 32-byte seed
 * await ML_DSA_44.verify(kp.publicKey, msg, await ML_DSA_44.sign(kp.secretKey, msg)); // true
 * ```
 */
export const ML_DSA_44: SignatureSuite = /* @__PURE__ */ makeMlDsaSuite(
  'ML-DSA-44',
  ml_dsa44,
  -48,
  'NIST category 2',
);

/** ML-DSA-65 (FIPS 204, NIST category 3), COSE −49 — the OpenMediaTrust default. @example `await ML_DSA_65.sign(seed, msg)` */
export const ML_DSA_65: SignatureSuite = /* @__PURE__ */ makeMlDsaSuite(
  'ML-DSA-65',
  ml_dsa65,
  -49,
  'NIST category 3',
);

/** ML-DSA-87 (FIPS 204, NIST category 5), COSE −50. @example `await ML_DSA_87.sign(seed, msg)` */
export const ML_DSA_87: SignatureSuite = /* @__PURE__ */ makeMlDsaSuite(
  'ML-DSA-87',
  ml_dsa87,
  -50,
  'NIST category 5',
);
