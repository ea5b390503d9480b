/**
 * The signature suites of OpenMediaTrust behind one interface ({@link SignatureSuite}).
 * One file per family: ml-dsa.ts, slh-dsa.ts, eddsa.ts, ecdsa.ts (+ secp256k1.ts for
 * Bitcoin encodings), rsa.ts (verify only), hybrid.ts.
 *
 * @example
 * ```ts
 * import { getSuite, DEFAULT_SUITE } from '@omt/core/suites';
 * const suite = getSuite(DEFAULT_SUITE); // ML-DSA-65
 * const kp = await suite.generateKeyPair();
 * const sig = await suite.sign(kp.secretKey, msg);
 * await suite.verify(kp.publicKey, msg, sig); // true
 * ```
 */
import { OmtError } from '../errors.js';
import { ES256, ES256K, ES384, ES512 } from './ecdsa.js';
import { ED448, ED25519 } from './eddsa.js';
import { ML_DSA_44_ED25519, ML_DSA_65_ES256, ML_DSA_87_ES384 } from './hybrid.js';
import { ML_DSA_44, ML_DSA_65, ML_DSA_87 } from './ml-dsa.js';
import { PS256, PS384, PS512, RS256, RS384, RS512 } from './rsa.js';
import {
  SLH_DSA_SHA2_128F,
  SLH_DSA_SHA2_128S,
  SLH_DSA_SHA2_192F,
  SLH_DSA_SHA2_192S,
  SLH_DSA_SHA2_256F,
  SLH_DSA_SHA2_256S,
  SLH_DSA_SHAKE_128F,
  SLH_DSA_SHAKE_128S,
  SLH_DSA_SHAKE_192F,
  SLH_DSA_SHAKE_192S,
  SLH_DSA_SHAKE_256F,
  SLH_DSA_SHAKE_256S,
} from './slh-dsa.js';
import type { SignatureSuite, SuiteId } from './suite.js';

export { ES256, ES256K, ES384, ES512, normalizeLowS } from './ecdsa.js';
export { ED448, ED25519 } from './eddsa.js';
export { hybridMessage, ML_DSA_44_ED25519, ML_DSA_65_ES256, ML_DSA_87_ES384 } from './hybrid.js';
export { ML_DSA_44, ML_DSA_65, ML_DSA_87 } from './ml-dsa.js';
export { PS256, PS384, PS512, parseRsaPublicKey, RS256, RS384, RS512 } from './rsa.js';
export * from './secp256k1.js';
export {
  SLH_DSA_SHA2_128F,
  SLH_DSA_SHA2_128S,
  SLH_DSA_SHA2_192F,
  SLH_DSA_SHA2_192S,
  SLH_DSA_SHA2_256F,
  SLH_DSA_SHA2_256S,
  SLH_DSA_SHAKE_128F,
  SLH_DSA_SHAKE_128S,
  SLH_DSA_SHAKE_192F,
  SLH_DSA_SHAKE_192S,
  SLH_DSA_SHAKE_256F,
  SLH_DSA_SHAKE_256S,
} from './slh-dsa.js';
export type {
  GenerateOptions,
  KeyPair,
  SignatureSuite,
  SignOptions,
  SuiteFamily,
  SuiteId,
  VerifyOptions,
} from './suite.js';
export { DEFAULT_SUITE } from './suite.js';

function buildRegistry(): ReadonlyMap<SuiteId, SignatureSuite> {
  const all: SignatureSuite[] = [
    ML_DSA_44,
    ML_DSA_65,
    ML_DSA_87,
    SLH_DSA_SHA2_128S,
    SLH_DSA_SHA2_128F,
    SLH_DSA_SHA2_192S,
    SLH_DSA_SHA2_192F,
    SLH_DSA_SHA2_256S,
    SLH_DSA_SHA2_256F,
    SLH_DSA_SHAKE_128S,
    SLH_DSA_SHAKE_128F,
    SLH_DSA_SHAKE_192S,
    SLH_DSA_SHAKE_192F,
    SLH_DSA_SHAKE_256S,
    SLH_DSA_SHAKE_256F,
    ED25519,
    ED448,
    ES256,
    ES384,
    ES512,
    ES256K,
    PS256,
    PS384,
    PS512,
    RS256,
    RS384,
    RS512,
    ML_DSA_44_ED25519,
    ML_DSA_65_ES256,
    ML_DSA_87_ES384,
  ];
  return new Map(all.map((s) => [s.id, s]));
}

let registry: ReadonlyMap<SuiteId, SignatureSuite> | undefined;
function suites(): ReadonlyMap<SuiteId, SignatureSuite> {
  registry ??= buildRegistry();
  return registry;
}

// RFC 9864 §2.1 / §2.2 (thunks: no work at import time).
const FULLY_SPECIFIED: Readonly<Record<number, () => SignatureSuite>> = {
  [-19]: () => ED25519,
  [-53]: () => ED448,
  [-9]: () => ES256,
  [-51]: () => ES384,
  [-52]: () => ES512,
};

/** True when `x` names a suite of this library. @example `isSuiteId('ML-DSA-65') // true` */
export function isSuiteId(x: unknown): x is SuiteId {
  return typeof x === 'string' && suites().has(x as SuiteId);
}

/**
 * The suite with this id; anything else throws `core.alg.unsupported`.
 * @example
 * ```ts
 * const es256 = getSuite('ES256');
 * ```
 */
export function getSuite(id: SuiteId): SignatureSuite {
  const s = typeof id === 'string' ? suites().get(id) : undefined;
  if (s === undefined) {
    throw new OmtError(
      'core.alg.unsupported',
      `unknown signature suite ${JSON.stringify(String(id)).slice(0, 80)}`,
      {
        details: { suite: String(id).slice(0, 80) },
      },
    );
  }
  return s;
}

/** Every suite, in a stable order (PQ first, then classical, then hybrid). @example `listSuites().map((s) => s.id)` */
export function listSuites(): SignatureSuite[] {
  return [...suites().values()];
}

/**
 * Suites a COSE `alg` value may denote. −8 (EdDSA, RFC 9053 §2.2) is polymorphic:
 * Ed25519 and Ed448. RFC 9864 §2 fully-specified ids (IANA COSE registry) map to one
 * suite: −19 Ed25519, −53 Ed448, −9 ESP256, −51 ESP384, −52 ESP512 (the ES* suites:
 * same algorithm, curve fixed by the id). Unknown ids give an empty list.
 * @example
 * ```ts
 * suitesForCoseAlg(-49); // [ML_DSA_65]
 * suitesForCoseAlg(-8);  // [ED25519, ED448]
 * ```
 */
export function suitesForCoseAlg(alg: number): SignatureSuite[] {
  const fullySpecified = FULLY_SPECIFIED[alg];
  if (fullySpecified !== undefined) return [fullySpecified()];
  return listSuites().filter((s) => s.coseAlg === alg);
}
