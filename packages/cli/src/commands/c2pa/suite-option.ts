import { DEFAULT_SUITE, getSuite, isSuiteId, type SuiteId } from '@omt/core/suites';
import { UsageError } from '../../context.js';

/** `--alg hybrid` is short for the default hybrid suite: ML-DSA-65 countersigning an ES256 claim signature. */
export const DEFAULT_HYBRID_SUITE: SuiteId = 'ML-DSA-65+ES256';

/** Suites a C2PA claim can be signed with here (C2PA 2.x §13.2, ML-DSA by RFC 9964, and our hybrids). */
export const C2PA_SIGNING_SUITES: readonly SuiteId[] = [
  'ML-DSA-65',
  'ML-DSA-44',
  'ML-DSA-87',
  'ES256',
  'ES384',
  'ES512',
  'Ed25519',
  'ML-DSA-65+ES256',
  'ML-DSA-44+Ed25519',
  'ML-DSA-87+ES384',
];

/**
 * Resolves an `--alg` value: a suite id, `hybrid`, or undefined (→ `fallback`, default ML-DSA-65).
 * Unknown names and suites C2PA cannot sign with are usage errors (exit 2).
 */
export function resolveC2paSuite(
  alg: string | undefined,
  fallback: SuiteId = DEFAULT_SUITE,
  opts: { rsa?: boolean } = {},
): SuiteId {
  if (alg === undefined) return fallback;
  const id = alg.toLowerCase() === 'hybrid' ? DEFAULT_HYBRID_SUITE : alg;
  const allowed = opts.rsa === true ? [...C2PA_SIGNING_SUITES, ...RSA_SIGNING_SUITES] : C2PA_SIGNING_SUITES;
  if (!isSuiteId(id)) {
    throw new UsageError(`unknown algorithm "${alg.slice(0, 40)}" (one of: ${allowed.join(', ')}, hybrid)`);
  }
  if (!allowed.includes(id) || (!getSuite(id).canSign && !RSA_SIGNING_SUITES.includes(id))) {
    throw new UsageError(`${id} cannot sign C2PA manifests here (one of: ${allowed.join(', ')}, hybrid)`);
  }
  return id;
}

/** RSA-PSS: signing goes through WebCrypto with an existing PKCS#8 key (no test PKI for RSA here). */
export const RSA_SIGNING_SUITES: readonly SuiteId[] = ['PS256', 'PS384', 'PS512'];
