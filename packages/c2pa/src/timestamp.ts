/**
 * RFC 3161 timestamp tokens in C2PA claim signatures (C2PA 2.x §10.3.2.5, §15.7): `sigTst`
 * (v1) and `sigTst2` (v2) carry TimeStampTokens — CMS SignedData (RFC 5652) whose content is a
 * TSTInfo. A token verifies when its messageImprint is the hash of the C2PA-defined bytes, the
 * signed attributes bind the TSTInfo (messageDigest), the TSA certificate's signature over the
 * signed attributes verifies, and the TSA chain is judged by `verifyCredential` with role
 * 'timestamp' at the token's genTime. The verified genTime becomes the signing time.
 *
 * The timestamped bytes (c2pa-rs `cose_countersign_data`, checked against C.jpg): the CBOR of
 * `["CounterSignature", body_protected, h'' (external aad), P]` where P is the claim (v1,
 * `sigTst`) or the claim signature's signature bytes (v2, `sigTst2`).
 *
 * Only the few CMS fields needed are read, with a strict DER walker (no CMS library is installed).
 *
 * @example
 * ```ts
 * const v = await verifyTimestampTokens({ tokens, signature: coseBytes, claimBytes, trust, at: new Date() });
 * v.time; // Date of the TSA's genTime when a token verified
 * ```
 */
import { equalBytes, fromUtf8, isBytes } from '@omt/core/bytes';
import { encodeCbor } from '@omt/core/cbor';
import { decodeCoseSign1 } from '@omt/core/cose';
import { type HashAlg, hash } from '@omt/core/hash';
import { parseInput } from '@omt/core/input';
import { getSuite, type SuiteId } from '@omt/core/suites';
import * as z from 'zod/mini';
import { DerError, kids, need, oid, one, type Tlv } from './der-reader.js';
import type { ValidationStatus } from './status-codes.js';
import { type TrustList, verifyCredential } from './trust.js';
import { type Certificate, ecdsaDerToRaw, parseCertificate } from './x509.js';

/** The verdict on a claim signature's timestamp tokens. */
export interface TimestampVerdict {
  /** genTime of the first token that verified (the signing time), else undefined. */
  readonly time: Date | undefined;
  /** `timeStamp.validated` / `timeStamp.mismatch` / `timeStamp.malformed`, then the TSA trust codes. */
  readonly statuses: readonly ValidationStatus[];
  /** TSA trust verdict (role 'timestamp'): `timeStamp.trusted|untrusted|outsideValidity`. */
  readonly verdict:
    | {
        readonly code: string;
        readonly trusted: boolean;
        readonly subject: string | undefined;
        readonly issuer: string | undefined;
        readonly explanation: string;
      }
    | undefined;
}

export interface VerifyTimestampOptions {
  readonly tokens: readonly Uint8Array[];
  /** The COSE_Sign1 bytes of the claim signature. */
  readonly signature: Uint8Array;
  readonly claimBytes: Uint8Array;
  readonly trust?: TrustList;
  /** Fallback time for TSA certificate validity when genTime cannot be read. */
  readonly at: Date;
}

const HASH_OIDS: Readonly<Record<string, HashAlg>> = {
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';

/** GeneralizedTime `YYYYMMDDhhmmss[.f]Z` (RFC 5280 §4.1.2.5.2 form; RFC 3161 §2.4.2). */
function genTime(el: Tlv): Date {
  const s = fromUtf8(need(el, 0x18, 'GeneralizedTime').value);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d{1,9})?Z$/.exec(s);
  if (!m) throw new DerError('bad GeneralizedTime');
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms));
}

interface ParsedToken {
  readonly imprintAlg: HashAlg;
  readonly imprint: Uint8Array;
  readonly time: Date;
  readonly eContent: Uint8Array;
  readonly certificates: Uint8Array[];
  readonly signers: {
    digestAlg: HashAlg;
    signedAttrs: Uint8Array | undefined;
    messageDigest: Uint8Array | undefined;
    sigAlg: string;
    signature: Uint8Array;
  }[];
}

function parseToken(token: Uint8Array): ParsedToken {
  let ci = kids(need(one(token), 0x30, 'ContentInfo').value);
  // c2pa-rs stores the whole TimeStampResp (RFC 3161 §2.4.2: status, then the token).
  if (ci[0]?.tag === 0x30) ci = kids(need(ci[1], 0x30, 'TimeStampToken').value);
  if (oid(ci[0]) !== OID_SIGNED_DATA) throw new DerError('not CMS SignedData');
  const sd = kids(need(one(need(ci[1], 0xa0, '[0]').value), 0x30, 'SignedData').value);
  const encap = kids(need(sd[2], 0x30, 'EncapsulatedContentInfo').value);
  if (oid(encap[0]) !== OID_TST_INFO) throw new DerError('content is not a TSTInfo');
  const eContent = need(one(need(encap[1], 0xa0, 'eContent').value), 0x04, 'OCTET STRING').value;
  const tst = kids(need(one(eContent), 0x30, 'TSTInfo').value);
  const mi = kids(need(tst[2], 0x30, 'MessageImprint').value);
  const imprintAlg = HASH_OIDS[oid(kids(need(mi[0], 0x30, 'AlgorithmIdentifier').value)[0])];
  if (imprintAlg === undefined) throw new DerError('unsupported imprint hash');
  const imprint = need(mi[1], 0x04, 'hashedMessage').value;
  const time = genTime(tst[4] as Tlv);
  let i = 3;
  const certificates: Uint8Array[] = [];
  if (sd[i]?.tag === 0xa0) {
    for (const c of kids((sd[i] as Tlv).value)) if (c.tag === 0x30) certificates.push(c.raw);
    i++;
  }
  if (sd[i]?.tag === 0xa1) i++;
  const signers = kids(need(sd[i], 0x31, 'SignerInfos').value).map((si) => {
    const f = kids(need(si, 0x30, 'SignerInfo').value);
    const digestAlg = HASH_OIDS[oid(kids(need(f[2], 0x30, 'digestAlgorithm').value)[0])];
    if (digestAlg === undefined) throw new DerError('unsupported digest');
    let j = 3;
    let signedAttrs: Uint8Array | undefined;
    let messageDigest: Uint8Array | undefined;
    let contentTypeOk = true;
    if (f[j]?.tag === 0xa0) {
      const attrs = f[j] as Tlv;
      // RFC 5652 §5.4: the signature covers the attributes DER-encoded as a SET (tag 0x31).
      signedAttrs = attrs.raw.slice();
      signedAttrs[0] = 0x31;
      for (const a of kids(attrs.value)) {
        const ak = kids(need(a, 0x30, 'Attribute').value);
        const type = oid(ak[0]);
        const values = kids(need(ak[1], 0x31, 'AttributeValues').value);
        if (type === OID_MESSAGE_DIGEST) messageDigest = need(values[0], 0x04, 'messageDigest').value;
        if (type === OID_CONTENT_TYPE) contentTypeOk = oid(values[0]) === OID_TST_INFO;
      }
      j++;
    }
    if (!contentTypeOk) throw new DerError('signed contentType is not TSTInfo');
    const sigAlg = oid(kids(need(f[j], 0x30, 'signatureAlgorithm').value)[0]);
    const signature = need(f[j + 1], 0x04, 'signature').value;
    return { digestAlg, signedAttrs, messageDigest, sigAlg, signature };
  });
  return { imprintAlg, imprint, time, eContent, certificates, signers };
}

const RSA_BY_HASH: Readonly<Record<HashAlg, SuiteId>> = {
  'SHA-256': 'RS256',
  'SHA-384': 'RS384',
  'SHA-512': 'RS512',
} as Readonly<Record<HashAlg, SuiteId>>;
const EC_SIZE: Partial<Record<string, number>> = { ES256: 32, ES384: 48, ES512: 66 };
const PSS = '1.2.840.113549.1.1.10';

/** Verifies a CMS signer's signature over `data` with a certificate's key. */
async function signerVerifies(
  cert: Certificate,
  s: ParsedToken['signers'][number],
  data: Uint8Array,
): Promise<boolean> {
  const key = cert.publicKey;
  if (key === undefined) return false;
  let suite: SuiteId = key.suite;
  let sig = s.signature;
  const family = getSuite(key.suite).family;
  if (family === 'rsa') suite = s.sigAlg === PSS ? (key.suite as SuiteId) : RSA_BY_HASH[s.digestAlg];
  else if (family === 'ecdsa') {
    const size = EC_SIZE[key.suite];
    const raw = size === undefined ? undefined : ecdsaDerToRaw(sig, size);
    if (raw === undefined) return false;
    sig = raw;
  }
  try {
    return await getSuite(suite).verify(key.publicKey, data, sig);
  } catch {
    return false;
  }
}

/** The bytes C2PA timestamps: a Countersign_structure over the claim (v1) or the signature (v2). */
function timestampedBytes(signature: Uint8Array, claimBytes: Uint8Array): Uint8Array[] {
  const msg = decodeCoseSign1(signature);
  const cs = (payload: Uint8Array): Uint8Array =>
    encodeCbor(['CounterSignature', msg.protectedBytes, new Uint8Array(0), payload]);
  // v1 over the claim, v2 over the signature; the last form is what `signClaim`'s
  // timestamp callback is handed (the CBOR bstr of the signature).
  return [cs(claimBytes), cs(msg.signature), encodeCbor(msg.signature)];
}

const OptionsSchema = z.object({
  tokens: z.array(z.custom<Uint8Array>((v) => isBytes(v))),
  signature: z.custom<Uint8Array>((v) => isBytes(v)),
  claimBytes: z.custom<Uint8Array>((v) => isBytes(v)),
  trust: z.optional(z.custom<TrustList>((v) => typeof v === 'object' && v !== null)),
  at: z.date(),
});

/**
 * Verifies the RFC 3161 tokens of a claim signature; the first token that verifies gives the
 * time and the TSA verdict. Never throws on bad tokens: `timeStamp.malformed` / `.mismatch`.
 *
 * @example
 * ```ts
 * const r = await verifyTimestampTokens({ tokens, signature, claimBytes, at: new Date() });
 * r.statuses[0]?.code; // 'timeStamp.validated'
 * ```
 */
export async function verifyTimestampTokens(options: VerifyTimestampOptions): Promise<TimestampVerdict> {
  const o = parseInput(OptionsSchema, options, 'c2pa.input.invalid', 'verifyTimestampTokens options');
  const statuses: ValidationStatus[] = [];
  let candidates: Uint8Array[];
  try {
    candidates = timestampedBytes(o.signature, o.claimBytes);
  } catch {
    return { time: undefined, statuses: [], verdict: undefined };
  }
  for (const token of o.tokens.slice(0, 8)) {
    let t: ParsedToken;
    try {
      t = parseToken(token);
    } catch (e) {
      statuses.push({
        code: 'timeStamp.malformed',
        explanation: e instanceof Error ? e.message : 'bad token',
      });
      continue;
    }
    if (!candidates.some((c) => equalBytes(hash(t.imprintAlg, c), t.imprint))) {
      statuses.push({
        code: 'timeStamp.mismatch',
        explanation: 'the token does not cover this claim signature',
      });
      continue;
    }
    const certs: Certificate[] = [];
    for (const der of t.certificates.slice(0, 16)) {
      try {
        certs.push(parseCertificate(der));
      } catch {
        // unusable certificate in the token: ignored (path building uses what parses)
      }
    }
    let leaf: Certificate | undefined;
    for (const s of t.signers) {
      if (s.signedAttrs === undefined || s.messageDigest === undefined) continue;
      if (!equalBytes(hash(s.digestAlg, t.eContent), s.messageDigest)) continue;
      for (const c of certs) {
        if (await signerVerifies(c, s, s.signedAttrs)) {
          leaf = c;
          break;
        }
      }
      if (leaf) break;
    }
    if (leaf === undefined) {
      statuses.push({
        code: 'timeStamp.mismatch',
        explanation: 'the TSA signature over the token does not verify',
      });
      continue;
    }
    statuses.push({ code: 'timeStamp.validated', explanation: `timestamp ${t.time.toISOString()}` });
    const chain = [leaf.der, ...certs.filter((c) => c !== leaf).map((c) => c.der)];
    const v = await verifyCredential(chain, {
      ...(o.trust ? { trust: o.trust } : {}),
      at: t.time,
      role: 'timestamp',
    });
    statuses.push(...v.statuses);
    return {
      time: t.time,
      statuses,
      verdict: {
        code: v.code,
        trusted: v.trusted,
        subject: v.leaf?.subject.text,
        issuer: v.leaf?.issuer.text,
        explanation: v.statuses[0]?.explanation ?? '',
      },
    };
  }
  return { time: undefined, statuses, verdict: undefined };
}
