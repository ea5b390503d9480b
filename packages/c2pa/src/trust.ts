/**
 * Trust in C2PA signing credentials: trust anchors from a PEM bundle (optionally pinned by
 * the SHA-256 of the bundle or per-certificate fingerprints), an allowed list of end-entity
 * certificates trusted directly (as c2pa-rs's `allowed_list`), path building from an x5chain
 * (leaf first) to an anchor, validity at a given time (the signing or timestamp time), and the
 * C2PA certificate profile (C2PA 2.x §14.5.1; the checks c2pa-rs makes in
 * `check_end_entity_certificate_profile`).
 *
 * Verdicts are data with the specification's status codes, and they are kept apart by role
 * (signer, timestamp authority, ingredient signer) so a caller sees which one failed:
 *   signer / ingredient: signingCredential.trusted | .untrusted | .invalid | .expired
 *   timestamp:           timeStamp.trusted | timeStamp.untrusted | timeStamp.outsideValidity
 * Revocation (OCSP, `signingCredential.ocsp.*` / `.revoked`) is not checked here.
 *
 * @example
 * ```ts
 * import { createTrustList, verifyCredential } from '@omt/c2pa/trust';
 * const trust = createTrustList({ anchorsPem: bundleText });
 * const verdict = await verifyCredential(x5chain, { trust, at: signingTime });
 * verdict.code; // 'signingCredential.trusted'
 * ```
 */
import { equalBytes, isBytes, toHex, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import {
  type Certificate,
  decodeCertificatesPem,
  isValidAt,
  OID,
  parseCertificate,
  verifyCertificateSignature,
} from './x509.js';

/** A validation status entry (C2PA 2.x §15.2): a code and a human explanation. */
export interface ValidationStatus {
  readonly code: string;
  readonly explanation: string;
}

/** Trust anchors and directly trusted end-entity certificates. */
export interface TrustList {
  readonly anchors: readonly Certificate[];
  /** End-entity certificates trusted directly (c2pa-rs "allowed list"). */
  readonly allowed: readonly Certificate[];
  /** SHA-256 fingerprints (hex) of end-entity certificates trusted directly. */
  readonly allowedFingerprints: ReadonlySet<string>;
  /** SHA-256 (hex) of the anchors PEM text as given (UTF-8), undefined when none was. */
  readonly anchorsSha256: string | undefined;
}

export interface CreateTrustListOptions {
  /** PEM bundle of trust anchors ("CERTIFICATE" blocks). */
  readonly anchorsPem?: string;
  /** Trust anchors as DER. */
  readonly anchors?: readonly Uint8Array[];
  /** PEM bundle of end-entity certificates trusted directly. */
  readonly allowedPem?: string;
  /** SHA-256 fingerprints (hex) of end-entity certificates trusted directly. */
  readonly allowedFingerprints?: readonly string[];
  /** Pin: the SHA-256 (hex) the anchors PEM text must hash to (`c2pa.trust.pin-mismatch` otherwise). */
  readonly anchorsPemSha256?: string;
  /** Pin: every anchor's SHA-256 fingerprint must be one of these (`c2pa.trust.pin-mismatch` otherwise). */
  readonly anchorFingerprints?: readonly string[];
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const bytes = z.custom<Uint8Array>((v) => isBytes(v), 'must be a Uint8Array');
const TrustOptionsSchema = z.object({
  anchorsPem: z.optional(z.string()),
  anchors: z.optional(z.array(bytes)),
  allowedPem: z.optional(z.string()),
  allowedFingerprints: z.optional(z.array(z.string().check(z.regex(HEX64)))),
  anchorsPemSha256: z.optional(z.string().check(z.regex(HEX64))),
  anchorFingerprints: z.optional(z.array(z.string().check(z.regex(HEX64)))),
});

function pinMismatch(message: string): OmtError {
  return new OmtError('c2pa.trust.pin-mismatch', message);
}

/**
 * Builds a {@link TrustList}. Malformed PEM or certificates throw `c2pa.x509.malformed`;
 * a failed pin throws `c2pa.trust.pin-mismatch`.
 *
 * @example
 * ```ts
 * const trust = createTrustList({ anchorsPem, anchorsPemSha256: 'ab12…', allowedPem });
 * ```
 */
export function createTrustList(options: CreateTrustListOptions): TrustList {
  const o = parseInput(TrustOptionsSchema, options, 'c2pa.input.invalid', 'trust list options');
  let anchorsSha256: string | undefined;
  const anchorDers: Uint8Array[] = [...(o.anchors ?? [])];
  if (o.anchorsPem !== undefined) {
    anchorsSha256 = toHex(sha256(utf8(o.anchorsPem)));
    if (o.anchorsPemSha256 !== undefined && o.anchorsPemSha256.toLowerCase() !== anchorsSha256) {
      throw pinMismatch('the trust anchor bundle does not match its pinned SHA-256');
    }
    anchorDers.push(...decodeCertificatesPem(o.anchorsPem));
  } else if (o.anchorsPemSha256 !== undefined) {
    throw new OmtError('c2pa.input.invalid', 'anchorsPemSha256 given without anchorsPem');
  }
  const anchors = anchorDers.map((d) => parseCertificate(d));
  if (o.anchorFingerprints !== undefined) {
    const pins = new Set(o.anchorFingerprints.map((f) => f.toLowerCase()));
    for (const a of anchors) {
      if (!pins.has(a.sha256Fingerprint))
        throw pinMismatch(
          `trust anchor ${a.subject.text.slice(0, 120)} is not among the pinned fingerprints`,
        );
    }
  }
  const allowed =
    o.allowedPem === undefined ? [] : decodeCertificatesPem(o.allowedPem).map((d) => parseCertificate(d));
  const allowedFingerprints = new Set<string>([
    ...allowed.map((c) => c.sha256Fingerprint),
    ...(o.allowedFingerprints ?? []).map((f) => f.toLowerCase()),
  ]);
  return { anchors, allowed, allowedFingerprints, anchorsSha256 };
}

/** Whose credential is judged; the codes differ for timestamp authorities. */
export type CredentialRole = 'signer' | 'timestamp' | 'ingredient';

/** Signature algorithms C2PA 2.x §13.2 allows for certificates (c2pa-rs's list). */
const C2PA_CERT_ALGS: ReadonlySet<string> = new Set([
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
  '1.2.840.113549.1.1.10',
  '1.3.101.112',
]);
/** Our extension: ML-DSA (RFC 9881) and SLH-DSA (RFC 9909) certificates. */
const PQ_CERT_ALG_PREFIX = '2.16.840.1.101.3.4.3.';

/** EKUs c2pa-rs accepts by default for signing credentials (its valid_eku_oids.cfg, plus the C2PA claim-signing EKU). */
export const DEFAULT_SIGNER_EKUS: readonly string[] = [
  OID.emailProtection,
  OID.documentSigning,
  OID.timeStamping,
  OID.ocspSigning,
  OID.msC2paSigning,
  OID.c2paClaimSigning,
];

/** Extensions whose criticality we handle (RFC 5280 §4.2: an unrecognised critical extension rejects). */
const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set([
  OID.keyUsage,
  OID.extKeyUsage,
  OID.basicConstraints,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  '2.5.29.17', // subjectAltName
  '2.5.29.18', // issuerAltName
  '2.5.29.30', // nameConstraints
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies
  '2.5.29.33', // policyMappings
  '2.5.29.36', // policyConstraints
  '2.5.29.54', // inhibitAnyPolicy
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
]);

export interface CredentialPolicy {
  /** EKUs of which the end-entity certificate needs at least one (default {@link DEFAULT_SIGNER_EKUS}; timestamp role: id-kp-timeStamping). */
  readonly allowedEkus?: readonly string[];
  /** Accept ML-DSA / SLH-DSA certificates (our extension of §13.2). Default true. */
  readonly allowPostQuantum?: boolean;
  /** Longest path accepted, anchor included (default 10). */
  readonly maxPathLength?: number;
}

export interface VerifyCredentialOptions {
  /** Trust anchors; undefined = nothing is trusted (the verdict is untrusted). */
  readonly trust?: TrustList;
  /** The time validity is judged at: a verified timestamp's time, else now. */
  readonly at: Date;
  readonly role?: CredentialRole;
  readonly policy?: CredentialPolicy;
}

/** The verdict on one credential (an x5chain). */
export interface CredentialVerdict {
  readonly role: CredentialRole;
  /** The primary code: trusted / untrusted / invalid / expired (or the timeStamp.* forms). */
  readonly code: string;
  /** True only for the `*.trusted` code. */
  readonly trusted: boolean;
  /** Every status found, primary first. */
  readonly statuses: readonly ValidationStatus[];
  /** The parsed leaf, undefined when it could not be parsed. */
  readonly leaf: Certificate | undefined;
  /** The path built, leaf first, ending at the anchor (or the leaf alone for allowed-list trust). */
  readonly path: readonly Certificate[];
  readonly trustedBy: 'anchor' | 'allowed-list' | undefined;
  readonly at: Date;
}

interface RoleCodes {
  readonly trusted: string;
  readonly untrusted: string;
  readonly invalid: string;
  readonly expired: string;
}

const SIGNER_CODES: RoleCodes = {
  trusted: 'signingCredential.trusted',
  untrusted: 'signingCredential.untrusted',
  invalid: 'signingCredential.invalid',
  expired: 'signingCredential.expired',
};
// c2pa-rs reports a TSA chain that does not verify or is not trusted as timeStamp.untrusted,
// and a TSA certificate outside its validity as timeStamp.outsideValidity.
const TSA_CODES: RoleCodes = {
  trusted: 'timeStamp.trusted',
  untrusted: 'timeStamp.untrusted',
  invalid: 'timeStamp.untrusted',
  expired: 'timeStamp.outsideValidity',
};

function isPqAlg(oid: string): boolean {
  return oid.startsWith(PQ_CERT_ALG_PREFIX);
}

/**
 * Checks the C2PA end-entity certificate profile (C2PA 2.x §14.5.1) and returns the
 * problems found (empty = conforms). Mirrors c2pa-rs: v3; an allowed signature algorithm
 * (+ ML-DSA/SLH-DSA by policy); EC keys on P-256/384/521; no unique identifiers; not a CA;
 * keyUsage with digitalSignature and without keyCertSign; an EKU extension without
 * anyExtendedKeyUsage holding an allowed purpose, with timeStamping / OCSPSigning exclusive;
 * an AKI; no unrecognised critical extension.
 *
 * @example
 * ```ts
 * checkEndEntityProfile(leaf); // [] when it conforms
 * ```
 */
export function checkEndEntityProfile(
  cert: Certificate,
  role: CredentialRole = 'signer',
  policy: CredentialPolicy = {},
): string[] {
  const problems: string[] = [];
  if (cert.version !== 3) problems.push('certificate must be X.509 v3');
  const alg = cert.signatureAlgorithm;
  const pqOk = policy.allowPostQuantum !== false && isPqAlg(alg.oid);
  if (!C2PA_CERT_ALGS.has(alg.oid) && !pqOk)
    problems.push(`certificate signature algorithm ${alg.name} is not allowed`);
  else if (alg.suite === undefined)
    problems.push(`certificate signature algorithm ${alg.name} has unsupported parameters`);
  if (cert.publicKey === undefined)
    problems.push(`unsupported public key: ${cert.publicKeyError ?? 'unknown'}`);
  else if (cert.publicKey.suite === 'ES256K') problems.push('EC curve secp256k1 is not allowed');
  else if (policy.allowPostQuantum === false && isPqAlg(cert.publicKeyAlgorithm))
    problems.push('post-quantum keys are not allowed by policy');
  if (cert.hasUniqueIdentifiers) problems.push('issuer/subject unique identifiers are not allowed');
  if (cert.basicConstraints?.ca === true) problems.push('expected an end-entity certificate, found a CA');
  const ku = cert.keyUsage;
  if (ku === undefined) problems.push('keyUsage extension is missing');
  else {
    if (!ku.digitalSignature) problems.push('keyUsage lacks digitalSignature');
    if (ku.keyCertSign) problems.push('keyUsage keyCertSign is not allowed on an end-entity certificate');
  }
  const eku = cert.extendedKeyUsage;
  if (eku === undefined) problems.push('extendedKeyUsage extension is missing');
  else {
    const p = new Set(eku.purposes);
    if (p.has(OID.anyExtendedKeyUsage)) problems.push('anyExtendedKeyUsage is not allowed');
    const allowed = policy.allowedEkus ?? (role === 'timestamp' ? [OID.timeStamping] : DEFAULT_SIGNER_EKUS);
    if (!allowed.some((e) => p.has(e))) problems.push('no allowed extendedKeyUsage purpose');
    const ts = p.has(OID.timeStamping);
    const ocsp = p.has(OID.ocspSigning);
    if ((ts && ocsp) || ((ts || ocsp) && p.size > 1))
      problems.push('timeStamping / OCSPSigning must be the only extendedKeyUsage purpose');
  }
  if (cert.authorityKeyIdentifier === undefined) problems.push('authorityKeyIdentifier is missing');
  for (const e of cert.extensions) {
    if (e.critical && !KNOWN_EXTENSIONS.has(e.oid)) problems.push(`unrecognised critical extension ${e.oid}`);
  }
  return problems;
}

/** Whether `issuer` may have issued `cert`: names match, key identifiers agree when both present. */
function mayIssue(issuer: Certificate, cert: Certificate): boolean {
  if (!equalBytes(issuer.subject.der, cert.issuer.der)) return false;
  const aki = cert.authorityKeyIdentifier;
  const ski = issuer.subjectKeyIdentifier;
  return aki === undefined || ski === undefined || equalBytes(aki, ski);
}

/** RFC 5280 §6.1.4 (k), (n): an intermediate must be a CA allowed to sign certificates. */
function caProblem(ca: Certificate, below: number): string | undefined {
  if (ca.basicConstraints?.ca !== true) return `${ca.subject.text.slice(0, 80)} is not a CA`;
  if (ca.keyUsage !== undefined && !ca.keyUsage.keyCertSign)
    return `${ca.subject.text.slice(0, 80)} lacks keyCertSign`;
  const pl = ca.basicConstraints.pathLength;
  if (pl !== undefined && below > pl)
    return `${ca.subject.text.slice(0, 80)} path length constraint exceeded`;
  return undefined;
}

interface PathResult {
  readonly path: Certificate[] | undefined;
  readonly reason: string;
}

/** Depth-first path building from `leaf` through `pool` to an anchor, verifying each signature. */
async function buildPath(
  leaf: Certificate,
  pool: readonly Certificate[],
  anchors: readonly Certificate[],
  maxLength: number,
): Promise<PathResult> {
  let reason = 'no path to a trust anchor';
  const anchorPrints = new Set(anchors.map((a) => a.sha256Fingerprint));
  const walk = async (path: Certificate[]): Promise<Certificate[] | undefined> => {
    const current = path[path.length - 1] as Certificate;
    if (path.length > 1 && anchorPrints.has(current.sha256Fingerprint)) return path;
    if (path.length >= maxLength) {
      reason = 'certificate path too long';
      return undefined;
    }
    // Anchors first, so a presented copy of the root does not decide trust.
    for (const next of [...anchors, ...pool]) {
      if (path.some((c) => c.sha256Fingerprint === next.sha256Fingerprint)) continue;
      if (!mayIssue(next, current)) continue;
      const problem = caProblem(next, path.length - 1);
      if (problem !== undefined) {
        reason = problem;
        continue;
      }
      const sig = await verifyCertificateSignature(current, next);
      if (!sig.valid) {
        reason = `signature of ${current.subject.text.slice(0, 80)}: ${sig.reason}`;
        continue;
      }
      const found = await walk([...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  // A leaf that is itself an anchor is trusted as such.
  if (anchorPrints.has(leaf.sha256Fingerprint)) return { path: [leaf], reason: '' };
  const path = await walk([leaf]);
  return { path, reason };
}

const PolicySchema = z.optional(
  z.object({
    allowedEkus: z.optional(z.array(z.string())),
    allowPostQuantum: z.optional(z.boolean()),
    maxPathLength: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(32))),
  }),
);
const VerifyOptionsSchema = z.object({
  trust: z.optional(z.custom<TrustList>((v) => typeof v === 'object' && v !== null && 'anchors' in v)),
  at: z.date(),
  role: z.optional(z.enum(['signer', 'timestamp', 'ingredient'])),
  policy: PolicySchema,
});

/**
 * Judges a credential: an x5chain (DER, leaf first) at time `at`. Returns every status found
 * (profile problems → invalid, validity → expired, trust → trusted/untrusted) with the
 * primary code first; never throws for bad certificates.
 *
 * @example
 * ```ts
 * const v = await verifyCredential(chain, { trust, at: new Date('2026-01-01'), role: 'signer' });
 * v.code; // 'signingCredential.untrusted'
 * ```
 */
export async function verifyCredential(
  x5chain: readonly Uint8Array[],
  options: VerifyCredentialOptions,
): Promise<CredentialVerdict> {
  const o = parseInput(VerifyOptionsSchema, options, 'c2pa.input.invalid', 'verifyCredential options');
  if (!Array.isArray(x5chain) || !x5chain.every((c) => isBytes(c)))
    throw new OmtError('c2pa.input.invalid', 'x5chain must be an array of DER certificates');
  const role: CredentialRole = o.role ?? 'signer';
  const codes = role === 'timestamp' ? TSA_CODES : SIGNER_CODES;
  const at = o.at;
  const verdict = (
    code: string,
    statuses: ValidationStatus[],
    leaf: Certificate | undefined,
    path: Certificate[],
    trustedBy: CredentialVerdict['trustedBy'],
  ): CredentialVerdict => ({
    role,
    code,
    trusted: code === codes.trusted,
    statuses,
    leaf,
    path,
    trustedBy,
    at,
  });

  if (x5chain.length === 0) {
    return verdict(
      codes.invalid,
      [{ code: codes.invalid, explanation: 'no signing certificate' }],
      undefined,
      [],
      undefined,
    );
  }
  let leaf: Certificate;
  try {
    leaf = parseCertificate(x5chain[0] as Uint8Array);
  } catch (e) {
    const why = e instanceof Error ? e.message : 'unparsable';
    return verdict(codes.invalid, [{ code: codes.invalid, explanation: why }], undefined, [], undefined);
  }
  const pool: Certificate[] = [];
  for (const der of x5chain.slice(1)) {
    try {
      pool.push(parseCertificate(der));
    } catch {
      // An unparsable extra certificate cannot help build a path; it is ignored (RFC 9360 §2: untrusted input).
    }
  }
  const statuses: ValidationStatus[] = [];
  const invalid = checkEndEntityProfile(leaf, role, o.policy ?? {});
  for (const p of invalid) statuses.push({ code: codes.invalid, explanation: p });

  // Trust: the allowed list first (end-entity trusted directly), then a path to an anchor.
  let path: Certificate[] = [leaf];
  let trustedBy: CredentialVerdict['trustedBy'];
  const trust = o.trust;
  let untrustedWhy = 'no trust anchors configured';
  if (trust !== undefined) {
    if (trust.allowedFingerprints.has(leaf.sha256Fingerprint)) trustedBy = 'allowed-list';
    else if (trust.anchors.length > 0) {
      const built = await buildPath(leaf, pool, trust.anchors, o.policy?.maxPathLength ?? 10);
      if (built.path) {
        path = built.path;
        trustedBy = 'anchor';
      } else untrustedWhy = built.reason;
    }
  }
  // Validity at `at` of every certificate on the path (RFC 5280 §6.1.3 (a)(2)).
  const outside = path.filter((c) => !isValidAt(c, at));
  for (const c of outside) {
    statuses.push({
      code: codes.expired,
      explanation: `${c.subject.text.slice(0, 80)} is not valid at ${at.toISOString()} (${c.notBefore.toISOString()} – ${c.notAfter.toISOString()})`,
    });
  }
  if (trustedBy === undefined) statuses.push({ code: codes.untrusted, explanation: untrustedWhy });
  if (statuses.length === 0) {
    const how =
      trustedBy === 'allowed-list'
        ? 'allowed list'
        : `anchor ${path[path.length - 1]?.subject.text.slice(0, 80)}`;
    return verdict(
      codes.trusted,
      [{ code: codes.trusted, explanation: `trusted via ${how}` }],
      leaf,
      path,
      trustedBy,
    );
  }
  const rank = (c: string): number =>
    c === codes.invalid ? 0 : c === codes.expired ? 1 : c === codes.untrusted ? 2 : 3;
  statuses.sort((a, b) => rank(a.code) - rank(b.code));
  return verdict((statuses[0] as ValidationStatus).code, statuses, leaf, path, trustedBy);
}
