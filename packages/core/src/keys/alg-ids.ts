import type { SuiteId } from '../suites/suite.js';
import { ALL_SUITES } from './key-spec.js';

/**
 * JOSE `alg` and COSE `alg` values written into JWK / COSE_Key. These mirror
 * the suites' `joseAlg` / `coseAlg` (checked by the keys tests).
 *
 * - JOSE: every suite id is also its JOSE name (RFC 7518 ES256…RS512,
 *   RFC 8812 ES256K, RFC 9864 Ed25519/Ed448, RFC 9964 ML-DSA-*, the
 *   SLH-DSA draft names). Hybrid ids are our own convention.
 * - COSE: IANA "COSE Algorithms". Where none is assigned (hybrid, SLH-DSA
 *   here) a COSE_Key carries the suite id as a text `alg` (RFC 9052 §7.1
 *   allows tstr algorithm values) — our convention.
 */
export function joseAlgOf(suite: SuiteId): string {
  return suite;
}

const COSE_ALGS: Partial<Record<SuiteId, number>> = {
  'ML-DSA-44': -48, // RFC 9964
  'ML-DSA-65': -49,
  'ML-DSA-87': -50,
  Ed25519: -8, // EdDSA, RFC 9053 §2.2
  Ed448: -8,
  ES256: -7, // RFC 9053 §2.1
  ES384: -35,
  ES512: -36,
  ES256K: -47, // RFC 8812 §3.2
  PS256: -37, // RFC 8230 §2
  PS384: -38,
  PS512: -39,
  RS256: -257, // RFC 8812 §2
  RS384: -258,
  RS512: -259,
};

/** The COSE `alg` of a suite: an IANA integer, or the suite id as text where none is assigned. */
export function coseAlgOf(suite: SuiteId): number | string {
  return COSE_ALGS[suite] ?? suite;
}

/** Suites a COSE `alg` value may denote (EdDSA = −8 covers both curves). */
export function suitesForCoseAlgValue(alg: number | string): SuiteId[] {
  return ALL_SUITES.filter((s) => coseAlgOf(s) === alg);
}
