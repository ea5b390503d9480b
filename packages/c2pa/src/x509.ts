/**
 * X.509 certificates (RFC 5280) as C2PA validation needs them: names, validity, the
 * subject public key as a core {@link KeyMaterial}, key usage, EKU, basic constraints,
 * AKI/SKI, and the signature (algorithm, value, exact TBS bytes) so a chain can be checked.
 *
 * Signature algorithms verified through the core suites: ECDSA with SHA-256/384/512
 * (the curve must match the hash as in ES256/ES384/ES512; X.509 carries DER signatures,
 * converted to r‖s), Ed25519/Ed448 (RFC 8410), RSASSA-PSS (RFC 4055, salt = hash length,
 * MGF1 with the same hash) and RSASSA-PKCS1-v1_5 with SHA-2, ML-DSA-44/65/87 (RFC 9881:
 * OIDs 2.16.840.1.101.3.4.3.17/18/19, pure mode, empty context) and SLH-DSA (RFC 9909).
 *
 * @example
 * ```ts
 * import { parseCertificate, verifyCertificateSignature } from '@omt/c2pa/x509';
 * const leaf = parseCertificate(leafPem);
 * const ca = parseCertificate(caDer);
 * (await verifyCertificateSignature(leaf, ca)).valid; // true
 * ```
 */

import { concatBytes, equalBytes, isBytes, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { decodePemBlocks, encodePemBlock, importSpki, type KeyMaterial } from '@omt/core/keys';
import { getSuite, type SuiteId } from '@omt/core/suites';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Certificate as AsnCertificate,
  AuthorityKeyIdentifier,
  BasicConstraints,
  ExtendedKeyUsage,
  KeyUsage,
  type Name,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';

/** Largest certificate we parse (bounds work on hostile input; real ones are < 64 KiB, ML-DSA-87 ≈ 7.5 KiB). */
const MAX_CERT_BYTES = 256 * 1024;

/** One attribute of a distinguished name, e.g. `{ type: '2.5.4.3', name: 'CN', value: 'C2PA Signer' }`. */
export interface NameAttribute {
  readonly type: string;
  readonly name: string | undefined;
  readonly value: string;
}

/** A distinguished name: its DER (compared bytewise in chain building) and a readable form. */
export interface DistinguishedName {
  readonly der: Uint8Array;
  /** `C=US, O=Example, CN=Signer` (RDN order as encoded). */
  readonly text: string;
  readonly attributes: readonly NameAttribute[];
}

/** RFC 5280 §4.2.1.3 key usage bits. */
export interface KeyUsageBits {
  readonly critical: boolean;
  readonly digitalSignature: boolean;
  readonly nonRepudiation: boolean;
  readonly keyEncipherment: boolean;
  readonly dataEncipherment: boolean;
  readonly keyAgreement: boolean;
  readonly keyCertSign: boolean;
  readonly cRLSign: boolean;
  readonly encipherOnly: boolean;
  readonly decipherOnly: boolean;
}

/** One extension as encoded (value = the extnValue octets). */
export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** A certificate signature algorithm and, where the core suites can check it, the suite. */
export interface CertificateSignatureAlgorithm {
  readonly oid: string;
  /** Readable name (`ecdsa-with-SHA256`, `RSASSA-PSS-SHA384`, `ML-DSA-65`, …), or the OID. */
  readonly name: string;
  /** DER of the parameters, undefined when absent. */
  readonly parameters: Uint8Array | undefined;
  /** The core suite that verifies this algorithm, undefined when none does. */
  readonly suite: SuiteId | undefined;
}

/** A parsed certificate. */
export interface Certificate {
  readonly der: Uint8Array;
  /** The TBSCertificate exactly as encoded: what the issuer signed. */
  readonly tbs: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  readonly serialNumber: string;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  readonly publicKeyAlgorithm: string;
  /** The subject key in core raw form; undefined when no core suite handles it (see `publicKeyError`). RSA keys are bound to PS256 unless RSASSA-PSS parameters name another hash. */
  readonly publicKey: KeyMaterial | undefined;
  readonly publicKeyError: string | undefined;
  readonly signatureAlgorithm: CertificateSignatureAlgorithm;
  readonly signatureValue: Uint8Array;
  readonly extensions: readonly CertificateExtension[];
  readonly keyUsage: KeyUsageBits | undefined;
  /** EKU purposes (OIDs) and criticality; undefined when the extension is absent. */
  readonly extendedKeyUsage: { readonly critical: boolean; readonly purposes: readonly string[] } | undefined;
  readonly basicConstraints:
    | { readonly critical: boolean; readonly ca: boolean; readonly pathLength: number | undefined }
    | undefined;
  readonly subjectKeyIdentifier: Uint8Array | undefined;
  readonly authorityKeyIdentifier: Uint8Array | undefined;
  readonly hasUniqueIdentifiers: boolean;
  /** SHA-256 of the DER, lowercase hex. */
  readonly sha256Fingerprint: string;
}

/** Well-known OIDs used by the C2PA certificate profile (C2PA 2.x §14.5.1). */
export const OID: Readonly<{
  keyUsage: '2.5.29.15';
  extKeyUsage: '2.5.29.37';
  basicConstraints: '2.5.29.19';
  subjectKeyIdentifier: '2.5.29.14';
  authorityKeyIdentifier: '2.5.29.35';
  anyExtendedKeyUsage: '2.5.29.37.0';
  emailProtection: '1.3.6.1.5.5.7.3.4';
  timeStamping: '1.3.6.1.5.5.7.3.8';
  ocspSigning: '1.3.6.1.5.5.7.3.9';
  documentSigning: '1.3.6.1.5.5.7.3.36';
  c2paClaimSigning: '1.3.6.1.4.1.62558.2.1';
  msC2paSigning: '1.3.6.1.4.1.311.76.59.1.9';
}> = {
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  anyExtendedKeyUsage: '2.5.29.37.0',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  documentSigning: '1.3.6.1.5.5.7.3.36',
  c2paClaimSigning: '1.3.6.1.4.1.62558.2.1',
  msC2paSigning: '1.3.6.1.4.1.311.76.59.1.9',
};

const NAME_SHORT: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
};

const NIST_SIG = '2.16.840.1.101.3.4.3';
const NIST_HASH = '2.16.840.1.101.3.4.2';
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';

/** Signature OIDs whose parameters must be absent, with their suite (RFC 5758 §3.2, RFC 8410 §3, RFC 9881 §3, RFC 9909 §3). */
const SIG_ABSENT_PARAMS: Readonly<Record<string, { name: string; suite: SuiteId }>> = {
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', suite: 'ES256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', suite: 'ES384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', suite: 'ES512' },
  '1.3.101.112': { name: 'Ed25519', suite: 'Ed25519' },
  '1.3.101.113': { name: 'Ed448', suite: 'Ed448' },
  [`${NIST_SIG}.17`]: { name: 'ML-DSA-44', suite: 'ML-DSA-44' },
  [`${NIST_SIG}.18`]: { name: 'ML-DSA-65', suite: 'ML-DSA-65' },
  [`${NIST_SIG}.19`]: { name: 'ML-DSA-87', suite: 'ML-DSA-87' },
  [`${NIST_SIG}.20`]: { name: 'SLH-DSA-SHA2-128s', suite: 'SLH-DSA-SHA2-128s' },
  [`${NIST_SIG}.21`]: { name: 'SLH-DSA-SHA2-128f', suite: 'SLH-DSA-SHA2-128f' },
  [`${NIST_SIG}.22`]: { name: 'SLH-DSA-SHA2-192s', suite: 'SLH-DSA-SHA2-192s' },
  [`${NIST_SIG}.23`]: { name: 'SLH-DSA-SHA2-192f', suite: 'SLH-DSA-SHA2-192f' },
  [`${NIST_SIG}.24`]: { name: 'SLH-DSA-SHA2-256s', suite: 'SLH-DSA-SHA2-256s' },
  [`${NIST_SIG}.25`]: { name: 'SLH-DSA-SHA2-256f', suite: 'SLH-DSA-SHA2-256f' },
  [`${NIST_SIG}.26`]: { name: 'SLH-DSA-SHAKE-128s', suite: 'SLH-DSA-SHAKE-128s' },
  [`${NIST_SIG}.27`]: { name: 'SLH-DSA-SHAKE-128f', suite: 'SLH-DSA-SHAKE-128f' },
  [`${NIST_SIG}.28`]: { name: 'SLH-DSA-SHAKE-192s', suite: 'SLH-DSA-SHAKE-192s' },
  [`${NIST_SIG}.29`]: { name: 'SLH-DSA-SHAKE-192f', suite: 'SLH-DSA-SHAKE-192f' },
  [`${NIST_SIG}.30`]: { name: 'SLH-DSA-SHAKE-256s', suite: 'SLH-DSA-SHAKE-256s' },
  [`${NIST_SIG}.31`]: { name: 'SLH-DSA-SHAKE-256f', suite: 'SLH-DSA-SHAKE-256f' },
};

/** RSASSA-PKCS1-v1_5 OIDs: parameters NULL (RFC 4055 §5). */
const SIG_RSA_PKCS1: Readonly<Record<string, { name: string; suite: SuiteId }>> = {
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', suite: 'RS256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', suite: 'RS384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', suite: 'RS512' },
};

/** The signature OID a suite writes into certificates it issues (for pki.ts). */
export function signatureOidOf(suite: SuiteId): string {
  for (const [oid, v] of Object.entries(SIG_ABSENT_PARAMS)) if (v.suite === suite) return oid;
  throw new OmtError('c2pa.x509.alg-unsupported', `no certificate signature algorithm for ${suite}`);
}

function malformed(message: string, cause?: unknown): OmtError {
  return new OmtError(
    'c2pa.x509.malformed',
    `malformed certificate: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

// --- minimal DER walking for RSASSA-PSS-params and ECDSA-Sig-Value (X.690 §8, §10) ---

interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly end: number;
}

function readTlv(bytes: Uint8Array, at: number): Tlv | undefined {
  if (at + 2 > bytes.length) return undefined;
  const tag = bytes[at] as number;
  let len = bytes[at + 1] as number;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > bytes.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (bytes[start + i] as number);
    if (len < 0x80 || bytes[start] === 0) return undefined; // non-minimal length
    start += n;
  }
  if (start + len > bytes.length) return undefined;
  return { tag, value: bytes.subarray(start, start + len), end: start + len };
}

function children(content: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let at = 0; at < content.length; ) {
    const t = readTlv(content, at);
    if (t === undefined) return undefined;
    out.push(t);
    at = t.end;
  }
  return out;
}

function decodeOid(content: Uint8Array): string | undefined {
  if (content.length === 0 || content.length > 64) return undefined;
  const arcs: number[] = [];
  let v = 0;
  for (const b of content) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  if ((content[content.length - 1] as number) & 0x80) return undefined;
  const first = arcs.shift() as number;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

const HASHES: Readonly<Record<string, { name: string; len: number }>> = {
  [`${NIST_HASH}.1`]: { name: 'SHA256', len: 32 },
  [`${NIST_HASH}.2`]: { name: 'SHA384', len: 48 },
  [`${NIST_HASH}.3`]: { name: 'SHA512', len: 64 },
};

/** Reads the hash OID of an AlgorithmIdentifier TLV (parameters absent or NULL). */
function hashOf(alg: Tlv): string | undefined {
  const kids = alg.tag === 0x30 ? children(alg.value) : undefined;
  const oid = kids?.[0];
  if (kids === undefined || oid?.tag !== 0x06 || kids.length > 2) return undefined;
  if (kids.length === 2 && !(kids[1]?.tag === 0x05 && kids[1].value.length === 0)) return undefined;
  return decodeOid(oid.value);
}

/**
 * RSASSA-PSS-params (RFC 4055 §3.1) → PS256/384/512 when hash = MGF1 hash ∈ SHA-2 and
 * salt length = hash length (the only PSS the core suites verify; RFC 8230 §2).
 */
function pssSuite(params: Uint8Array | undefined): { name: string; suite: SuiteId | undefined } {
  const fallback = { name: 'RSASSA-PSS', suite: undefined };
  if (params === undefined) return fallback;
  const seq = readTlv(params, 0);
  const kids = seq && seq.tag === 0x30 && seq.end === params.length ? children(seq.value) : undefined;
  if (kids === undefined) return fallback;
  let hash = '1.3.14.3.2.26'; // default SHA-1
  let mgfHash = hash;
  let salt = 20;
  for (const k of kids) {
    const inner = readTlv(k.value, 0);
    if (k.tag === 0xa0 && inner) hash = hashOf(inner) ?? '';
    else if (k.tag === 0xa1 && inner) {
      const mgf = inner.tag === 0x30 ? children(inner.value) : undefined;
      const mgfOid = mgf?.[0];
      const mgfParams = mgf?.[1];
      if (mgfOid?.tag !== 0x06 || decodeOid(mgfOid.value) !== MGF1 || mgfParams === undefined)
        return fallback;
      mgfHash = hashOf(mgfParams) ?? '';
    } else if (k.tag === 0xa2 && inner?.tag === 0x02 && inner.value.length <= 2) {
      salt = inner.value.reduce((a, b) => a * 256 + b, 0);
    } else if (k.tag === 0xa3 && inner?.tag === 0x02 && inner.value.length === 1 && inner.value[0] === 1) {
      // trailerField 1 (RFC 4055 §3.1: the only value)
    } else return fallback;
  }
  const h = HASHES[hash];
  if (h === undefined || mgfHash !== hash) return fallback;
  const name = `RSASSA-PSS-${h.name}`;
  if (salt !== h.len) return { name, suite: undefined };
  return { name, suite: h.len === 32 ? 'PS256' : h.len === 48 ? 'PS384' : 'PS512' };
}

/** DER bytes of AlgorithmIdentifier parameters as @peculiar/asn1-schema stores them. */
function paramsDer(p: ArrayBuffer | null | undefined): Uint8Array | undefined {
  if (p === undefined) return undefined;
  if (p === null) return Uint8Array.of(0x05, 0x00);
  return new Uint8Array(p);
}

function classifySignature(oid: string, parameters: Uint8Array | undefined): CertificateSignatureAlgorithm {
  const absent = SIG_ABSENT_PARAMS[oid];
  if (absent !== undefined) {
    return { oid, name: absent.name, parameters, suite: parameters === undefined ? absent.suite : undefined };
  }
  const pkcs1 = SIG_RSA_PKCS1[oid];
  if (pkcs1 !== undefined) {
    const nullOrAbsent =
      parameters === undefined || (parameters.length === 2 && parameters[0] === 5 && parameters[1] === 0);
    return { oid, name: pkcs1.name, parameters, suite: nullOrAbsent ? pkcs1.suite : undefined };
  }
  if (oid === RSASSA_PSS) return { oid, parameters, ...pssSuite(parameters) };
  return { oid, name: oid, parameters, suite: undefined };
}

function nameOf(name: Name): DistinguishedName {
  const attributes: NameAttribute[] = [];
  for (const rdn of name) {
    for (const atv of rdn) {
      let value: string;
      try {
        value = atv.value.toString();
      } catch {
        value = '';
      }
      attributes.push({ type: atv.type, name: NAME_SHORT[atv.type], value });
    }
  }
  return {
    der: new Uint8Array(AsnConvert.serialize(name)),
    text: attributes.map((a) => `${a.name ?? a.type}=${a.value}`).join(', '),
    attributes,
  };
}

function keyUsageOf(ext: CertificateExtension): KeyUsageBits {
  const ku = AsnConvert.parse(ext.value, KeyUsage);
  const flags = ku.toNumber();
  const bit = (n: number): boolean => (flags & n) !== 0;
  return {
    critical: ext.critical,
    digitalSignature: bit(1),
    nonRepudiation: bit(2),
    keyEncipherment: bit(4),
    dataEncipherment: bit(8),
    keyAgreement: bit(16),
    keyCertSign: bit(32),
    cRLSign: bit(64),
    encipherOnly: bit(128),
    decipherOnly: bit(256),
  };
}

/** The subject key as KeyMaterial; RSA keys get a suite from the PSS parameters or PS256. */
function subjectKey(spki: Uint8Array, alg: string, params: Uint8Array | undefined): KeyMaterial {
  if (alg === '1.2.840.113549.1.1.1' || alg === RSASSA_PSS) {
    const suite = alg === RSASSA_PSS ? (pssSuite(params).suite ?? 'PS256') : 'PS256';
    return importSpki(spki, { suite });
  }
  return importSpki(spki);
}

/** Decodes PEM text holding certificates ("CERTIFICATE" blocks) into DER, in order. */
export function decodeCertificatesPem(pem: string): Uint8Array[] {
  if (typeof pem !== 'string') throw new OmtError('c2pa.input.invalid', 'PEM input must be a string');
  let blocks: ReturnType<typeof decodePemBlocks>;
  try {
    blocks = decodePemBlocks(pem);
  } catch (e) {
    throw malformed('invalid PEM', e);
  }
  return blocks.map((b) => {
    if (b.label !== 'CERTIFICATE') throw malformed(`unexpected PEM label ${b.label.slice(0, 40)}`);
    return b.der;
  });
}

/** Encodes DER certificates as PEM text ("CERTIFICATE" blocks, 64-column lines). @example `encodeCertificatesPem([leaf.der, ca.der])` */
export function encodeCertificatesPem(ders: readonly Uint8Array[]): string {
  return ders.map((d) => encodePemBlock('CERTIFICATE', d)).join('');
}

/**
 * Parses one certificate from DER bytes or PEM text (exactly one block). Malformed input
 * throws `c2pa.x509.malformed`; an unsupported key algorithm does not throw (the key is
 * then undefined and `publicKeyError` says why).
 *
 * @example
 * ```ts
 * const cert = parseCertificate(der);
 * cert.subject.text; // 'C=US, …, CN=C2PA Signer'
 * cert.publicKey?.suite; // 'ES256'
 * ```
 */
export function parseCertificate(input: Uint8Array | string): Certificate {
  if (isBytes(input)) {
    // The same certificates recur (an x5chain is parsed for the signature, the credential and
    // each ingredient; a TSA chain per token): parse each DER once.
    const cached = parsedCertificates.get(input);
    if (cached !== undefined) return cached;
    const cert = parseCertificateUncached(input);
    parsedCertificates.set(cert.der, cert);
    return cert;
  }
  return parseCertificateUncached(input);
}

/**
 * A bounded cache of parsed certificates keyed by DER content (FNV-1a of the bytes, confirmed
 * bytewise). Certificates are immutable results of their bytes; callers must not mutate them.
 */
class CertificateCache {
  private readonly map = new Map<string, Certificate>();
  constructor(private readonly limit: number) {}
  private static key(der: Uint8Array): string {
    let h = 0x811c9dc5;
    for (let i = 0; i < der.length; i++) h = Math.imul(h ^ (der[i] as number), 0x01000193);
    return `${der.length}:${h >>> 0}`;
  }
  get(der: Uint8Array): Certificate | undefined {
    const k = CertificateCache.key(der);
    const c = this.map.get(k);
    if (c === undefined || !equalBytes(c.der, der)) return undefined;
    this.map.delete(k); // LRU: most recently used last
    this.map.set(k, c);
    return c;
  }
  set(der: Uint8Array, cert: Certificate): void {
    const k = CertificateCache.key(der);
    this.map.delete(k);
    this.map.set(k, cert);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as string);
  }
}
const parsedCertificates = new CertificateCache(256);

function parseCertificateUncached(input: Uint8Array | string): Certificate {
  let der: Uint8Array;
  if (typeof input === 'string') {
    const all = decodeCertificatesPem(input);
    if (all.length !== 1) throw malformed(`expected one certificate, found ${all.length}`);
    der = all[0] as Uint8Array;
  } else if (isBytes(input)) {
    der = input;
  } else {
    throw new OmtError('c2pa.input.invalid', 'certificate must be DER bytes or PEM text');
  }
  if (der.length > MAX_CERT_BYTES) throw malformed('certificate too large');
  const outer = readTlv(der, 0);
  if (outer === undefined || outer.tag !== 0x30 || outer.end !== der.length)
    throw malformed('not one DER SEQUENCE');
  const tbsTlv = readTlv(outer.value, 0);
  if (tbsTlv === undefined || tbsTlv.tag !== 0x30) throw malformed('no TBSCertificate');
  const tbsOffset = outer.value.byteOffset - der.byteOffset;
  const tbs = der.slice(tbsOffset, tbsOffset + tbsTlv.end);
  let asn: AsnCertificate;
  try {
    asn = AsnConvert.parse(der, AsnCertificate);
  } catch (e) {
    throw malformed('ASN.1 structure', e);
  }
  const t = asn.tbsCertificate;
  let notBefore: Date;
  let notAfter: Date;
  try {
    notBefore = t.validity.notBefore.getTime();
    notAfter = t.validity.notAfter.getTime();
  } catch (e) {
    throw malformed('validity', e);
  }
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) throw malformed('validity time');
  // The outer signatureAlgorithm must equal the signed one (RFC 5280 §4.1.1.2).
  const sigParams = paramsDer(asn.signatureAlgorithm.parameters);
  const innerParams = paramsDer(t.signature.parameters);
  if (
    asn.signatureAlgorithm.algorithm !== t.signature.algorithm ||
    (sigParams === undefined) !== (innerParams === undefined) ||
    (sigParams !== undefined && innerParams !== undefined && !equalBytes(sigParams, innerParams))
  ) {
    throw malformed('signatureAlgorithm differs from tbsCertificate.signature');
  }
  // Re-encoding what parsed can still fail (a string whose type does not allow its characters).
  let spki: Uint8Array;
  let issuer: DistinguishedName;
  let subject: DistinguishedName;
  try {
    spki = new Uint8Array(AsnConvert.serialize(t.subjectPublicKeyInfo));
    issuer = nameOf(t.issuer);
    subject = nameOf(t.subject);
  } catch (e) {
    throw malformed('subject public key or names', e);
  }
  const pkAlg = t.subjectPublicKeyInfo.algorithm.algorithm;
  let publicKey: KeyMaterial | undefined;
  let publicKeyError: string | undefined;
  try {
    publicKey = subjectKey(spki, pkAlg, paramsDer(t.subjectPublicKeyInfo.algorithm.parameters));
  } catch (e) {
    publicKeyError = e instanceof Error ? e.message : 'unsupported public key';
  }
  const extensions: CertificateExtension[] = (t.extensions ?? []).map((e) => ({
    oid: e.extnID,
    critical: e.critical === true,
    value: new Uint8Array(e.extnValue.buffer),
  }));
  const seen = new Set<string>();
  for (const e of extensions) {
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(e.oid)) throw malformed(`duplicate extension ${e.oid}`);
    seen.add(e.oid);
  }
  const find = (oid: string): CertificateExtension | undefined => extensions.find((e) => e.oid === oid);
  let keyUsage: KeyUsageBits | undefined;
  let extendedKeyUsage: Certificate['extendedKeyUsage'];
  let basicConstraints: Certificate['basicConstraints'];
  let subjectKeyIdentifier: Uint8Array | undefined;
  let authorityKeyIdentifier: Uint8Array | undefined;
  try {
    const ku = find(OID.keyUsage);
    if (ku) keyUsage = keyUsageOf(ku);
    const eku = find(OID.extKeyUsage);
    if (eku)
      extendedKeyUsage = {
        critical: eku.critical,
        purposes: [...AsnConvert.parse(eku.value, ExtendedKeyUsage)],
      };
    const bc = find(OID.basicConstraints);
    if (bc) {
      const v = AsnConvert.parse(bc.value, BasicConstraints);
      basicConstraints = { critical: bc.critical, ca: v.cA === true, pathLength: v.pathLenConstraint };
    }
    const ski = find(OID.subjectKeyIdentifier);
    if (ski) subjectKeyIdentifier = new Uint8Array(AsnConvert.parse(ski.value, SubjectKeyIdentifier).buffer);
    const aki = find(OID.authorityKeyIdentifier);
    if (aki) {
      const v = AsnConvert.parse(aki.value, AuthorityKeyIdentifier);
      if (v.keyIdentifier) authorityKeyIdentifier = new Uint8Array(v.keyIdentifier.buffer);
    }
  } catch (e) {
    throw malformed('extension value', e);
  }
  const copy = der.slice();
  return {
    der: copy,
    tbs,
    version: t.version + 1,
    serialNumber: toHex(new Uint8Array(t.serialNumber)),
    issuer,
    subject,
    notBefore,
    notAfter,
    spki,
    publicKeyAlgorithm: pkAlg,
    publicKey,
    publicKeyError,
    signatureAlgorithm: classifySignature(asn.signatureAlgorithm.algorithm, sigParams),
    signatureValue: new Uint8Array(asn.signatureValue),
    extensions,
    keyUsage,
    extendedKeyUsage,
    basicConstraints,
    subjectKeyIdentifier,
    authorityKeyIdentifier,
    hasUniqueIdentifiers: t.issuerUniqueID !== undefined || t.subjectUniqueID !== undefined,
    sha256Fingerprint: toHex(sha256(copy)),
  };
}

/** Parses every certificate in PEM text, in order. @example `parseCertificatesPem(chainPem).map((c) => c.subject.text)` */
export function parseCertificatesPem(pem: string): Certificate[] {
  return decodeCertificatesPem(pem).map((d) => parseCertificate(d));
}

/** Whether `at` lies within [notBefore, notAfter] (RFC 5280 §4.1.2.5, inclusive). @example `isValidAt(cert, new Date())` */
export function isValidAt(cert: Certificate, at: Date): boolean {
  const t = at.getTime();
  return t >= cert.notBefore.getTime() && t <= cert.notAfter.getTime();
}

/** Field size of the ECDSA suites' curves (r‖s halves). */
const EC_SIZE: Partial<Record<SuiteId, number>> = { ES256: 32, ES384: 48, ES512: 66 };

/**
 * ECDSA-Sig-Value DER (RFC 3279 §2.2.3) → IEEE P1363 r‖s of the curve's field size, as the
 * core ECDSA suites take it. Returns undefined when the DER is not strict or r/s too long.
 */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | undefined {
  const seq = readTlv(der, 0);
  if (seq === undefined || seq.tag !== 0x30 || seq.end !== der.length) return undefined;
  const kids = children(seq.value);
  if (kids === undefined || kids.length !== 2) return undefined;
  const out: Uint8Array[] = [];
  for (const k of kids) {
    let v = k.value;
    if (k.tag !== 0x02 || v.length === 0 || (v[0] as number) & 0x80) return undefined;
    if (v.length > 1 && v[0] === 0 && !((v[1] as number) & 0x80)) return undefined; // non-minimal
    if (v[0] === 0 && v.length > 1) v = v.subarray(1);
    if (v.length > size) return undefined;
    const padded = new Uint8Array(size);
    padded.set(v, size - v.length);
    out.push(padded);
  }
  return concatBytes(out[0] as Uint8Array, out[1] as Uint8Array);
}

/** Result of {@link verifyCertificateSignature}. */
export type CertificateSignatureResult =
  | { readonly valid: true; readonly suite: SuiteId }
  | {
      readonly valid: false;
      /** `c2pa.x509.signature-invalid`, `c2pa.x509.alg-unsupported` or `c2pa.x509.key-mismatch`. */
      readonly code: string;
      readonly reason: string;
    };

/**
 * Verifies `cert`'s signature with the issuer's public key (a certificate or KeyMaterial).
 * ECDSA requires the issuer key on the curve that matches the hash (P-256/SHA-256, …).
 *
 * @example
 * ```ts
 * const r = await verifyCertificateSignature(leaf, intermediate);
 * if (!r.valid) console.log(r.code, r.reason);
 * ```
 */
export async function verifyCertificateSignature(
  cert: Certificate,
  issuer: Certificate | KeyMaterial,
): Promise<CertificateSignatureResult> {
  if (!('der' in issuer)) return verifyCertificateSignatureUncached(cert, issuer);
  // A chain is checked again for every manifest, ingredient and timestamp that carries it, and
  // parseCertificate hands out the same objects for the same DER: remember the verdict per pair
  // of certificate objects (a modified copy is a new object, so it is verified afresh).
  let byIssuer = verifiedSignatures.get(cert);
  const cached = byIssuer?.get(issuer);
  if (cached !== undefined) return cached;
  const result = await verifyCertificateSignatureUncached(cert, issuer);
  if (byIssuer === undefined) {
    byIssuer = new WeakMap();
    verifiedSignatures.set(cert, byIssuer);
  }
  byIssuer.set(issuer, result);
  return result;
}

const verifiedSignatures = new WeakMap<Certificate, WeakMap<Certificate, CertificateSignatureResult>>();

async function verifyCertificateSignatureUncached(
  cert: Certificate,
  issuer: Certificate | KeyMaterial,
): Promise<CertificateSignatureResult> {
  const suiteId = cert.signatureAlgorithm.suite;
  if (suiteId === undefined) {
    return {
      valid: false,
      code: 'c2pa.x509.alg-unsupported',
      reason: `unsupported certificate signature algorithm ${cert.signatureAlgorithm.name}`,
    };
  }
  const key: KeyMaterial | undefined = 'der' in issuer ? issuer.publicKey : issuer;
  if (key === undefined) {
    return {
      valid: false,
      code: 'c2pa.x509.alg-unsupported',
      reason: 'issuer public key algorithm is unsupported',
    };
  }
  const rsa = (s: SuiteId): boolean => s.startsWith('PS') || s.startsWith('RS');
  const keySuite: SuiteId = rsa(key.suite) && rsa(suiteId) ? suiteId : key.suite;
  if (keySuite !== suiteId) {
    return {
      valid: false,
      code: 'c2pa.x509.key-mismatch',
      reason: `a ${key.suite} issuer key cannot verify ${cert.signatureAlgorithm.name}`,
    };
  }
  let signature = cert.signatureValue;
  const ecSize = EC_SIZE[suiteId];
  if (ecSize !== undefined) {
    const raw = ecdsaDerToRaw(signature, ecSize);
    if (raw === undefined)
      return {
        valid: false,
        code: 'c2pa.x509.signature-invalid',
        reason: 'ECDSA signature is not strict DER',
      };
    signature = raw;
  }
  const suite = getSuite(suiteId);
  let ok: boolean;
  try {
    ok = await suite.verify(key.publicKey, cert.tbs, signature);
  } catch (e) {
    return {
      valid: false,
      code: 'c2pa.x509.signature-invalid',
      reason: e instanceof Error ? e.message : 'verification failed',
    };
  }
  return ok
    ? { valid: true, suite: suiteId }
    : {
        valid: false,
        code: 'c2pa.x509.signature-invalid',
        reason: `${suiteId} certificate signature does not verify`,
      };
}
