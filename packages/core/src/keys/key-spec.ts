import { ed448 } from '@noble/curves/ed448.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import type { SuiteId } from '../suites/suite.js';

/**
 * Per-suite facts the key formats need: algorithm OIDs, curve names and
 * identifiers, raw sizes. Raw encodings follow `suites/suite.ts`.
 */

/** The noble primitives we use for deriving public keys and validating points. */
interface MlDsaImpl {
  keygen(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array };
  getPublicKey(secretKey: Uint8Array): Uint8Array;
}
interface EdImpl {
  getPublicKey(secretKey: Uint8Array): Uint8Array;
  Point: { fromBytes(bytes: Uint8Array): unknown };
}
interface EcImpl {
  getPublicKey(secretKey: Uint8Array, isCompressed?: boolean): Uint8Array;
  Point: { fromBytes(bytes: Uint8Array): { toBytes(isCompressed?: boolean): Uint8Array } };
  utils: { isValidSecretKey(secretKey: Uint8Array): boolean };
}

export type EcCurve = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
export type EdCurve = 'Ed25519' | 'Ed448';

export interface MlDsaSpec {
  readonly family: 'ml-dsa';
  readonly oid: string;
  readonly publicKeySize: number;
  readonly expandedSecretKeySize: number;
  readonly impl: MlDsaImpl;
}
export interface SlhDsaSpec {
  readonly family: 'slh-dsa';
  readonly oid: string;
  /** FIPS 205 security parameter n: pk = 2n bytes, sk = 4n bytes. */
  readonly n: number;
}
export interface EdDsaSpec {
  readonly family: 'eddsa';
  readonly oid: string;
  readonly crv: EdCurve;
  /** COSE curve identifier (RFC 9053 §7.1). */
  readonly coseCrv: number;
  readonly size: number;
  readonly impl: EdImpl;
}
export interface EcdsaSpec {
  readonly family: 'ecdsa';
  readonly crv: EcCurve;
  /** DER of the namedCurve OID (RFC 5480 §2.1.1.1). */
  readonly curveOidDer: string;
  readonly curveOid: string;
  readonly coseCrv: number;
  /** Field element / scalar length in bytes. */
  readonly size: number;
  readonly impl: EcImpl;
}
export interface RsaSpec {
  readonly family: 'rsa';
}
export interface HybridSpec {
  readonly family: 'hybrid';
  readonly pq: SuiteId;
  readonly classical: SuiteId;
}
export type KeySpec = MlDsaSpec | SlhDsaSpec | EdDsaSpec | EcdsaSpec | RsaSpec | HybridSpec;

const NIST_SIG = '2.16.840.1.101.3.4.3';

const mlDsa = (
  n: number,
  publicKeySize: number,
  expandedSecretKeySize: number,
  impl: MlDsaImpl,
): MlDsaSpec => ({
  family: 'ml-dsa',
  oid: `${NIST_SIG}.${n}`,
  publicKeySize,
  expandedSecretKeySize,
  impl,
});
// RFC 9909 §3 (NIST CSOR): id-slh-dsa-sha2-128s = sigAlgs 20 … id-slh-dsa-shake-256f = sigAlgs 31.
const slh = (arc: number, n: number): SlhDsaSpec => ({ family: 'slh-dsa', oid: `${NIST_SIG}.${arc}`, n });
const P256: EcdsaSpec = {
  family: 'ecdsa',
  crv: 'P-256',
  curveOid: '1.2.840.10045.3.1.7',
  curveOidDer: '06082a8648ce3d030107',
  coseCrv: 1,
  size: 32,
  impl: p256,
};
const P384: EcdsaSpec = {
  family: 'ecdsa',
  crv: 'P-384',
  curveOid: '1.3.132.0.34',
  curveOidDer: '06052b81040022',
  coseCrv: 2,
  size: 48,
  impl: p384,
};
const P521: EcdsaSpec = {
  family: 'ecdsa',
  crv: 'P-521',
  curveOid: '1.3.132.0.35',
  curveOidDer: '06052b81040023',
  coseCrv: 3,
  size: 66,
  impl: p521,
};
const K256: EcdsaSpec = {
  family: 'ecdsa',
  crv: 'secp256k1',
  curveOid: '1.3.132.0.10',
  curveOidDer: '06052b8104000a',
  coseCrv: 8, // RFC 8812 §3.1
  size: 32,
  impl: secp256k1,
};
const RSA: RsaSpec = { family: 'rsa' };

export const KEY_SPECS: Readonly<Record<SuiteId, KeySpec>> = {
  'ML-DSA-44': mlDsa(17, 1312, 2560, ml_dsa44),
  'ML-DSA-65': mlDsa(18, 1952, 4032, ml_dsa65),
  'ML-DSA-87': mlDsa(19, 2592, 4896, ml_dsa87),
  'SLH-DSA-SHA2-128s': slh(20, 16),
  'SLH-DSA-SHA2-128f': slh(21, 16),
  'SLH-DSA-SHA2-192s': slh(22, 24),
  'SLH-DSA-SHA2-192f': slh(23, 24),
  'SLH-DSA-SHA2-256s': slh(24, 32),
  'SLH-DSA-SHA2-256f': slh(25, 32),
  'SLH-DSA-SHAKE-128s': slh(26, 16),
  'SLH-DSA-SHAKE-128f': slh(27, 16),
  'SLH-DSA-SHAKE-192s': slh(28, 24),
  'SLH-DSA-SHAKE-192f': slh(29, 24),
  'SLH-DSA-SHAKE-256s': slh(30, 32),
  'SLH-DSA-SHAKE-256f': slh(31, 32),
  // RFC 8410 §3
  Ed25519: { family: 'eddsa', oid: '1.3.101.112', crv: 'Ed25519', coseCrv: 6, size: 32, impl: ed25519 },
  Ed448: { family: 'eddsa', oid: '1.3.101.113', crv: 'Ed448', coseCrv: 7, size: 57, impl: ed448 },
  ES256: P256,
  ES384: P384,
  ES512: P521,
  ES256K: K256,
  PS256: RSA,
  PS384: RSA,
  PS512: RSA,
  RS256: RSA,
  RS384: RSA,
  RS512: RSA,
  'ML-DSA-44+Ed25519': { family: 'hybrid', pq: 'ML-DSA-44', classical: 'Ed25519' },
  'ML-DSA-65+ES256': { family: 'hybrid', pq: 'ML-DSA-65', classical: 'ES256' },
  'ML-DSA-87+ES384': { family: 'hybrid', pq: 'ML-DSA-87', classical: 'ES384' },
};

/** Every suite id, in table order. */
export const ALL_SUITES: readonly SuiteId[] = Object.keys(KEY_SPECS) as SuiteId[];

/** True when `id` names a suite. */
export function isSuiteId(id: unknown): id is SuiteId {
  return typeof id === 'string' && Object.hasOwn(KEY_SPECS, id);
}

/** The suite implied by an EC curve (RFC 7518 §3.4 / RFC 8812 pairings). */
export const ECDSA_SUITE_BY_CURVE: Readonly<Record<EcCurve, SuiteId>> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  secp256k1: 'ES256K',
};

/** The hybrid suite made of a PQ and a classical component suite, if any. */
export function hybridSuiteOf(pq: SuiteId, classical: SuiteId): SuiteId | undefined {
  for (const id of ALL_SUITES) {
    const s = KEY_SPECS[id];
    if (s.family === 'hybrid' && s.pq === pq && s.classical === classical) return id;
  }
  return undefined;
}

export const RSA_SUITES: readonly SuiteId[] = ['PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'];

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1'; // RFC 5480 §2.1.1
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1'; // RFC 8017 Appendix C
export const OID_RSASSA_PSS = '1.2.840.113549.1.1.10'; // RFC 4055 §3.1
