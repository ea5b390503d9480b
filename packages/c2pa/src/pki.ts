/**
 * Test PKIs for C2PA signing: root → intermediate → signer, for every signing suite of
 * core — ML-DSA-44/65/87 (RFC 9881) and SLH-DSA (RFC 9909) included. Certificates are built
 * with @peculiar/asn1-x509 and signed by the core suites, so post-quantum certificates work
 * without WebCrypto support for them.
 *
 * Profile (C2PA 2.x §14.5.1 "Certificate Profile", as c2pa-rs checks it): X.509 v3; every
 * certificate has a SubjectKeyIdentifier, every non-root an AuthorityKeyIdentifier; CAs have
 * critical basicConstraints cA=TRUE and critical keyUsage keyCertSign|cRLSign; the signer has
 * critical basicConstraints cA=FALSE, critical keyUsage digitalSignature and an EKU extension
 * (not anyExtendedKeyUsage) with id-kp-documentSigning and id-kp-emailProtection — both on
 * c2pa-rs's default EKU list. Key identifiers are the leftmost 160 bits of SHA-256 of the
 * subjectPublicKey (RFC 7093 §2 method 1).
 *
 * Hybrid suites ('ML-DSA-65+ES256', …) — design choice: TWO independent chains, a classical
 * one the official C2PA SDK accepts and a PQ one, each with its own root and intermediate.
 * The hybrid files are:
 *   root.pem          classical root, then PQ root
 *   intermediate.pem  classical intermediate, then PQ intermediate
 *   signer.pem        classical signer, then PQ signer
 *   chain.pem         classical signer, classical intermediate, PQ signer, PQ intermediate
 *                     (the classical chain is a valid prefix for classical tools)
 *   signer.key.pem    core's two-block hybrid PEM: PQ PKCS#8, then classical PKCS#8
 * {@link splitHybridChain} separates a hybrid chain by key family again.
 *
 * @example
 * ```ts
 * import { createTestPki } from '@omt/c2pa/pki';
 * const pki = await createTestPki({ suite: 'ML-DSA-65' });
 * pki.files['chain.pem']; // signer, then intermediate
 * ```
 */

import { concatBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { parseInput } from '@omt/core/input';
import { exportPrivatePem, exportSpki, type KeyMaterial } from '@omt/core/keys';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { getSuite, isSuiteId, type SuiteId } from '@omt/core/suites';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Certificate as AsnCertificate,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  KeyIdentifier,
  KeyUsage,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
} from '@peculiar/asn1-x509';
import * as z from 'zod/mini';
import { type Certificate, encodeCertificatesPem, OID, parseCertificate, signatureOidOf } from './x509.js';

/** The issuing side of {@link issueCertificate}: its name and signing key. */
export interface CertificateIssuer {
  /** Issuer distinguished name (DER), i.e. the issuer certificate's subject. */
  readonly name: Uint8Array;
  /** Signing key (raw core form, with secretKey). */
  readonly key: KeyMaterial;
  /** The issuer's subject key identifier, written as AKI; omitted when undefined. */
  readonly keyIdentifier: Uint8Array | undefined;
}

/** Which kind of certificate {@link issueCertificate} makes (sets BC, KU, EKU defaults). */
export type CertificateProfile = 'root' | 'ca' | 'signer' | 'tsa';

export interface IssueCertificateOptions {
  /** Undefined = self-signed with `subjectKey` (a root). */
  readonly issuer?: CertificateIssuer;
  /** Attributes of the subject name, e.g. `{ CN: 'Signer', O: 'Example' }` (C, ST, L, O, OU, CN). */
  readonly subject: Readonly<Record<string, string>>;
  /** The subject key; must hold its secretKey when self-signed. */
  readonly subjectKey: KeyMaterial;
  readonly profile: CertificateProfile;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly random?: RandomSource;
  /** Override the EKU purposes (null = no EKU extension), for negative tests. */
  readonly extendedKeyUsage?: readonly string[] | null;
  /** Override the keyUsage flags (RFC 5280 bit values: 1 digitalSignature … 32 keyCertSign, 64 cRLSign). */
  readonly keyUsageFlags?: number;
  /** Override basicConstraints cA. */
  readonly ca?: boolean;
}

const ATTR_OIDS: Readonly<Record<string, string>> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
};

function buildName(attrs: Readonly<Record<string, string>>): Name {
  const rdns: RelativeDistinguishedName[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    const type = ATTR_OIDS[k];
    if (type === undefined)
      throw new OmtError('c2pa.input.invalid', `unsupported name attribute ${k.slice(0, 20)}`);
    // RFC 5280 §4.1.2.4: C is a PrintableString; the rest UTF8String.
    const value =
      k === 'C' ? new AttributeValue({ printableString: v }) : new AttributeValue({ utf8String: v });
    rdns.push(new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]));
  }
  return new Name(rdns);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

/** RFC 7093 §2 method 1: leftmost 160 bits of SHA-256 of the subjectPublicKey BIT STRING value. */
function keyIdentifierOf(spki: SubjectPublicKeyInfo): Uint8Array {
  return sha256(new Uint8Array(spki.subjectPublicKey)).slice(0, 20);
}

/** IEEE P1363 r‖s → ECDSA-Sig-Value DER (RFC 3279 §2.2.3), as X.509 carries it. */
function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const int = (v: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const body = v.subarray(i);
    const padded = (body[0] as number) & 0x80 ? concatBytes(Uint8Array.of(0), body) : body;
    return concatBytes(Uint8Array.of(0x02, padded.length), padded);
  };
  const content = concatBytes(int(raw.subarray(0, half)), int(raw.subarray(half)));
  const len = content.length < 0x80 ? Uint8Array.of(content.length) : Uint8Array.of(0x81, content.length);
  return concatBytes(Uint8Array.of(0x30), len, content);
}

function extension(oid: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** A positive, non-zero 16-byte serial number (RFC 5280 §4.1.2.2: ≤ 20 octets). */
function serialNumber(random: RandomSource): ArrayBuffer {
  const s = random(16);
  s[0] = ((s[0] as number) & 0x7f) | 0x01;
  return toArrayBuffer(s);
}

/**
 * Issues one X.509 v3 certificate signed by a core suite (see the file header for the
 * profile each {@link CertificateProfile} gets). Throws `c2pa.pki.alg-unsupported` for
 * suites without a certificate signature algorithm (hybrid, RSA: verify-only).
 *
 * @example
 * ```ts
 * const der = await issueCertificate({ subject: { CN: 'Root' }, subjectKey: rootKey, profile: 'root', notBefore, notAfter });
 * ```
 */
export async function issueCertificate(options: IssueCertificateOptions): Promise<Uint8Array> {
  const random = options.random ?? platformRandom;
  const signerKey = options.issuer?.key ?? options.subjectKey;
  if (signerKey.secretKey === undefined)
    throw new OmtError('c2pa.input.invalid', 'the issuing key needs its secret key');
  let sigOid: string;
  try {
    sigOid = signatureOidOf(signerKey.suite);
  } catch (e) {
    throw new OmtError('c2pa.pki.alg-unsupported', `cannot issue certificates with ${signerKey.suite}`, {
      cause: e,
    });
  }
  const suite = getSuite(signerKey.suite);
  if (!suite.canSign) throw new OmtError('c2pa.pki.alg-unsupported', `${signerKey.suite} cannot sign`);
  const spki = AsnConvert.parse(exportSpki(options.subjectKey), SubjectPublicKeyInfo);
  const subject = buildName(options.subject);
  const issuerName = options.issuer ? AsnConvert.parse(options.issuer.name, Name) : subject;
  const ski = keyIdentifierOf(spki);
  const isCa = options.ca ?? (options.profile === 'root' || options.profile === 'ca');
  const defaultKu = isCa ? 32 | 64 : 1; // keyCertSign|cRLSign, or digitalSignature
  const ku = new KeyUsage(options.keyUsageFlags ?? defaultKu);
  const ekuDefault =
    options.profile === 'signer'
      ? [OID.documentSigning, OID.emailProtection]
      : options.profile === 'tsa'
        ? [OID.timeStamping]
        : null;
  const eku = options.extendedKeyUsage === undefined ? ekuDefault : options.extendedKeyUsage;
  const exts: Extension[] = [
    extension(
      OID.basicConstraints,
      true,
      new BasicConstraints(
        options.profile === 'ca' && isCa ? { cA: true, pathLenConstraint: 0 } : { cA: isCa },
      ),
    ),
    extension(OID.keyUsage, true, ku),
  ];
  // RFC 3161 §2.3: a TSA's EKU must be critical; c2pa-rs's test signers mark theirs critical too.
  if (eku !== null) exts.push(extension(OID.extKeyUsage, true, new ExtendedKeyUsage([...eku])));
  exts.push(extension(OID.subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(ski))));
  const aki = options.issuer ? options.issuer.keyIdentifier : ski;
  if (aki !== undefined) {
    exts.push(
      extension(
        OID.authorityKeyIdentifier,
        false,
        new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(toArrayBuffer(aki)) }),
      ),
    );
  }
  const signatureAlgorithm = new AlgorithmIdentifier({ algorithm: sigOid });
  const tbs = new TBSCertificate({
    version: 2, // v3
    serialNumber: serialNumber(random),
    signature: signatureAlgorithm,
    issuer: issuerName,
    validity: new Validity({ notBefore: options.notBefore, notAfter: options.notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(exts),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  let signature = await suite.sign(signerKey.secretKey, tbsDer, { random });
  if (suite.family === 'ecdsa') signature = ecdsaRawToDer(signature);
  const cert = new AsnCertificate({
    tbsCertificate: tbs,
    signatureAlgorithm,
    signatureValue: toArrayBuffer(signature),
  });
  return new Uint8Array(AsnConvert.serialize(cert));
}

/** One issued certificate with its key pair. */
export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly certificate: Certificate;
  /** The certificate's key pair (raw core form, with secretKey). */
  readonly key: KeyMaterial;
}

/** The PEM files of a test PKI, by file name. */
export interface TestPkiFiles {
  readonly 'root.pem': string;
  readonly 'intermediate.pem': string;
  readonly 'signer.pem': string;
  readonly 'signer.key.pem': string;
  readonly 'chain.pem': string;
}

/** A single-suite test PKI. */
export interface SingleTestPki {
  readonly kind: 'single';
  readonly suite: SuiteId;
  readonly root: IssuedCertificate;
  readonly intermediate: IssuedCertificate;
  readonly signer: IssuedCertificate;
  /** DER chain for x5chain: signer, then intermediate. */
  readonly chain: readonly Uint8Array[];
  readonly files: TestPkiFiles;
}

/** A hybrid test PKI: two independent chains (see the file header). */
export interface HybridTestPki {
  readonly kind: 'hybrid';
  readonly suite: SuiteId;
  readonly classical: SingleTestPki;
  readonly pq: SingleTestPki;
  /** The hybrid signer key (core raw form: pq ‖ classical). */
  readonly signerKey: KeyMaterial;
  readonly files: TestPkiFiles;
}

export type TestPki = SingleTestPki | HybridTestPki;

export interface CreateTestPkiOptions {
  /** Any core suite that can sign, or a hybrid suite. Default 'ML-DSA-65'. */
  readonly suite?: SuiteId;
  /** Prefix of the subject names (default 'OMT Test'). */
  readonly subjectPrefix?: string;
  /** Validity of all three certificates (default: clock() − 1 h … + 365 days). */
  readonly validity?: { readonly notBefore: Date; readonly notAfter: Date };
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

const HYBRID_PARTS: Partial<Record<SuiteId, { pq: SuiteId; classical: SuiteId }>> = {
  'ML-DSA-44+Ed25519': { pq: 'ML-DSA-44', classical: 'Ed25519' },
  'ML-DSA-65+ES256': { pq: 'ML-DSA-65', classical: 'ES256' },
  'ML-DSA-87+ES384': { pq: 'ML-DSA-87', classical: 'ES384' },
};

const OptionsSchema = z.object({
  suite: z.optional(z.string().check(z.refine((s) => isSuiteId(s), 'unknown signature suite'))),
  subjectPrefix: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  validity: z.optional(z.object({ notBefore: z.date(), notAfter: z.date() })),
  clock: z.optional(z.custom<Clock>((v) => typeof v === 'function')),
  random: z.optional(z.custom<RandomSource>((v) => typeof v === 'function')),
});

async function keyPair(suite: SuiteId, random: RandomSource): Promise<KeyMaterial> {
  const kp = await getSuite(suite).generateKeyPair({ random });
  return { suite, publicKey: kp.publicKey, secretKey: kp.secretKey };
}

function issued(der: Uint8Array, key: KeyMaterial): IssuedCertificate {
  const pem = encodeCertificatesPem([der]);
  return { der, pem, certificate: parseCertificate(der), key };
}

async function createSingle(
  suite: SuiteId,
  prefix: string,
  notBefore: Date,
  notAfter: Date,
  random: RandomSource,
): Promise<SingleTestPki> {
  const s = getSuite(suite);
  if (!s.canSign || s.family === 'hybrid' || s.family === 'rsa')
    throw new OmtError('c2pa.pki.alg-unsupported', `${suite} cannot issue certificates here`);
  const [rootKey, caKey, signerKey] = [
    await keyPair(suite, random),
    await keyPair(suite, random),
    await keyPair(suite, random),
  ];
  const base = { notBefore, notAfter, random };
  const org = { O: prefix, OU: 'FOR TESTING ONLY' };
  const rootDer = await issueCertificate({
    ...base,
    subject: { ...org, CN: `${prefix} Root CA (${suite})` },
    subjectKey: rootKey,
    profile: 'root',
  });
  const root = issued(rootDer, rootKey);
  const caDer = await issueCertificate({
    ...base,
    issuer: {
      name: root.certificate.subject.der,
      key: rootKey,
      keyIdentifier: root.certificate.subjectKeyIdentifier,
    },
    subject: { ...org, CN: `${prefix} Intermediate CA (${suite})` },
    subjectKey: caKey,
    profile: 'ca',
  });
  const intermediate = issued(caDer, caKey);
  const signerDer = await issueCertificate({
    ...base,
    issuer: {
      name: intermediate.certificate.subject.der,
      key: caKey,
      keyIdentifier: intermediate.certificate.subjectKeyIdentifier,
    },
    subject: { ...org, CN: `${prefix} C2PA Signer (${suite})` },
    subjectKey: signerKey,
    profile: 'signer',
  });
  const signer = issued(signerDer, signerKey);
  return {
    kind: 'single',
    suite,
    root,
    intermediate,
    signer,
    chain: [signer.der, intermediate.der],
    files: {
      'root.pem': root.pem,
      'intermediate.pem': intermediate.pem,
      'signer.pem': signer.pem,
      'signer.key.pem': exportPrivatePem(signerKey),
      'chain.pem': signer.pem + intermediate.pem,
    },
  };
}

/**
 * Creates a root → intermediate → signer PKI for `suite` (default ML-DSA-65) with the C2PA
 * signing-certificate profile; hybrid suites get two chains (file header). RSA suites are
 * verify-only in core and throw `c2pa.pki.alg-unsupported`.
 *
 * @example
 * ```ts
 * const pki = await createTestPki({ suite: 'ES256', clock: () => new Date('2026-01-01T00:00:00Z') });
 * if (pki.kind === 'single') pki.signer.certificate.subject.text;
 * ```
 */
export async function createTestPki(options: CreateTestPkiOptions = {}): Promise<TestPki> {
  const o = parseInput(OptionsSchema, options, 'c2pa.input.invalid', 'createTestPki options');
  const suite = (o.suite ?? 'ML-DSA-65') as SuiteId;
  const random = o.random ?? platformRandom;
  const now = (o.clock ?? systemClock)();
  const notBefore = o.validity?.notBefore ?? new Date(now.getTime() - 3600_000);
  const notAfter = o.validity?.notAfter ?? new Date(now.getTime() + 365 * 86400_000);
  if (!(notAfter.getTime() > notBefore.getTime()))
    throw new OmtError('c2pa.input.invalid', 'validity.notAfter must be after notBefore');
  const prefix = o.subjectPrefix ?? 'OMT Test';
  const parts = HYBRID_PARTS[suite];
  if (parts === undefined) return createSingle(suite, prefix, notBefore, notAfter, random);
  const classical = await createSingle(parts.classical, prefix, notBefore, notAfter, random);
  const pq = await createSingle(parts.pq, prefix, notBefore, notAfter, random);
  const pqKey = pq.signer.key;
  const clKey = classical.signer.key;
  const signerKey: KeyMaterial = {
    suite,
    publicKey: concatBytes(pqKey.publicKey, clKey.publicKey),
    secretKey: concatBytes(pqKey.secretKey as Uint8Array, clKey.secretKey as Uint8Array),
  };
  return {
    kind: 'hybrid',
    suite,
    classical,
    pq,
    signerKey,
    files: {
      'root.pem': classical.root.pem + pq.root.pem,
      'intermediate.pem': classical.intermediate.pem + pq.intermediate.pem,
      'signer.pem': classical.signer.pem + pq.signer.pem,
      'signer.key.pem': exportPrivatePem(signerKey),
      'chain.pem': classical.files['chain.pem'] + pq.files['chain.pem'],
    },
  };
}

/**
 * Splits a hybrid chain (as in a hybrid `chain.pem`) into its classical and PQ chains by the
 * certificates' key families, keeping order. Throws `c2pa.input.invalid` when either is empty.
 *
 * @example
 * ```ts
 * const { classical, pq } = splitHybridChain(decodeCertificatesPem(files['chain.pem']));
 * ```
 */
export function splitHybridChain(ders: readonly Uint8Array[]): { classical: Uint8Array[]; pq: Uint8Array[] } {
  const classical: Uint8Array[] = [];
  const pq: Uint8Array[] = [];
  for (const der of ders) {
    const suite = parseCertificate(der).publicKey?.suite;
    if (suite === undefined)
      throw new OmtError('c2pa.input.invalid', 'certificate with an unsupported key in chain');
    const family = getSuite(suite).family;
    (family === 'ml-dsa' || family === 'slh-dsa' ? pq : classical).push(der);
  }
  if (classical.length === 0 || pq.length === 0)
    throw new OmtError('c2pa.input.invalid', 'a hybrid chain needs classical and post-quantum certificates');
  return { classical, pq };
}
