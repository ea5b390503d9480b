/**
 * RFC 3161 timestamp tokens in C2PA claim signatures (C2PA 2.x §10.3.2.5, §15.7): `sigTst`
 * (v1) and `sigTst2` (v2) carry TimeStampTokens — CMS SignedData (RFC 5652) whose content is a
 * TSTInfo. A token verifies when its messageImprint is the hash of the C2PA-defined bytes, the
 * signed attributes bind the TSTInfo (messageDigest), the TSA certificate's signature over the
 * signed attributes verifies, and the TSA chain is judged by `verifyCredential` with role
 * 'timestamp' at the token's genTime. The verified genTime becomes the signing time.
 *
 * The timestamped bytes (c2pa-rs `cose_countersign_data`; v1 checked against C.jpg, v2 against
 * the official reader with a real OpenSSL TSA): the CBOR of the countersignature structure
 * `["CounterSignature", body_protected, h'' (external aad), P]` (RFC 9338 §3.3 without
 * sign_protected) where P is the claim (v1, `sigTst`) or, for v2 (`sigTst2`, what we write), the
 * CBOR encoding of the signature bstr — so the payload is a bstr holding a bstr. Creation goes
 * through the {@link TimestampAuthority} port (`stampClaimSignature`).
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
import { type CborValue, encodeCbor } from '@omt/core/cbor';
import { type CoseLabel, decodeCoseSign1, encodeCoseSign1 } from '@omt/core/cose';
import { isOmtError, OmtError } from '@omt/core/errors';
import { type HashAlg, hash } from '@omt/core/hash';
import { parseInput } from '@omt/core/input';
import { getSuite, type SuiteId } from '@omt/core/suites';
import * as z from 'zod/mini';
import { DerError, kids, need, oid, one, type Tlv } from './der-reader.js';
import type { TimestampAuthority, TimestampHashAlg, TimestampRequest } from './ports.js';
import type { ValidationStatus } from './status-codes.js';
import { type TrustList, verifyCredential } from './trust.js';
import { type Certificate, ecdsaDerToRaw, parseCertificate } from './x509.js';

export type { TimestampAuthority, TimestampHashAlg, TimestampRequest } from './ports.js';

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

/**
 * The bytes a C2PA v2 timestamp (`sigTst2`) covers for a claim signature with protected header
 * `protectedBytes` and signature `signature`: `["CounterSignature", protected, h'', bstr(bstr(sig))]`
 * in CBOR (c2pa-rs `sign_v2_embedded` → `cose_countersign_data` over the CBOR of the signature).
 *
 * @example
 * ```ts
 * const msg = decodeCoseSign1(cose);
 * const imprint = sha256(claimSignatureTimestampMessage(msg.protectedBytes, msg.signature));
 * ```
 */
export function claimSignatureTimestampMessage(
  protectedBytes: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  return encodeCbor(['CounterSignature', protectedBytes, new Uint8Array(0), encodeCbor(signature)]);
}

/** The bytes C2PA timestamps: a Countersign_structure over the claim (v1) or the signature (v2). */
function timestampedBytes(signature: Uint8Array, claimBytes: Uint8Array): Uint8Array[] {
  const msg = decodeCoseSign1(signature);
  const v1 = encodeCbor(['CounterSignature', msg.protectedBytes, new Uint8Array(0), claimBytes]);
  return [v1, claimSignatureTimestampMessage(msg.protectedBytes, msg.signature)];
}

const TIMESTAMP_HASHES: readonly string[] = ['SHA-256', 'SHA-384', 'SHA-512'];

/**
 * The DER `TimeStampToken` in what a TSA returned: the token itself, or the token inside a
 * `TimeStampResp` whose status is granted (0) or grantedWithMods (1) (RFC 3161 §2.4.2). Throws
 * `c2pa.timestamp.rejected` for another status, `c2pa.timestamp.malformed` for anything else.
 *
 * @example
 * ```ts
 * const token = timeStampTokenOf(await tsa.timestamp(request)); // what sigTst2 stores
 * ```
 */
export function timeStampTokenOf(der: Uint8Array): Uint8Array {
  if (!isBytes(der)) throw new OmtError('c2pa.timestamp.malformed', 'the TSA returned no bytes');
  try {
    const top = kids(need(one(der), 0x30, 'SEQUENCE').value);
    if (top[0]?.tag === 0x06) {
      if (oid(top[0]) !== OID_SIGNED_DATA) throw new DerError('not CMS SignedData');
      return der;
    }
    // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
    const status = kids(need(top[0], 0x30, 'PKIStatusInfo').value);
    const code = need(status[0], 0x02, 'PKIStatus').value;
    const granted = code.length === 1 && (code[0] === 0 || code[0] === 1);
    if (!granted)
      throw new OmtError(
        'c2pa.timestamp.rejected',
        `the TSA refused the request (PKIStatus ${code.length === 1 ? code[0] : '?'})`,
      );
    const token = need(top[1], 0x30, 'TimeStampToken');
    if (oid(kids(token.value)[0]) !== OID_SIGNED_DATA) throw new DerError('token is not CMS SignedData');
    return token.raw.slice();
  } catch (e) {
    if (isOmtError(e)) throw e;
    throw new OmtError('c2pa.timestamp.malformed', 'the TSA response is not an RFC 3161 token', {
      cause: e,
    });
  }
}

/**
 * Adds an RFC 3161 timestamp to a C2PA claim signature (C2PA 2.x v2 timestamps): asks `tsa` for a
 * token over {@link claimSignatureTimestampMessage}, checks the token's messageImprint is what was
 * asked, and stores it in the unprotected header as `sigTst2: { tstTokens: [{ val: token }] }`.
 * `tsa` is the {@link TimestampAuthority} port, or a function given the exact bytes to stamp.
 * Throws `c2pa.timestamp.failed` (the TSA failed), `c2pa.timestamp.rejected`,
 * `c2pa.timestamp.malformed`, `c2pa.timestamp.mismatch` (the token covers other bytes).
 *
 * @example
 * ```ts
 * const stamped = await stampClaimSignature(cose, tsaAdapter);
 * ```
 */
export async function stampClaimSignature(
  cose: Uint8Array,
  tsa: TimestampAuthority | ((data: Uint8Array) => Promise<Uint8Array>),
  hashAlg: TimestampHashAlg = 'SHA-256',
): Promise<Uint8Array> {
  if (!TIMESTAMP_HASHES.includes(hashAlg))
    throw new OmtError('c2pa.input.invalid', `unsupported timestamp hash ${String(hashAlg).slice(0, 20)}`);
  const msg = decodeCoseSign1(cose);
  const data = claimSignatureTimestampMessage(msg.protectedBytes, msg.signature);
  const request: TimestampRequest = { hashAlg, messageImprint: hash(hashAlg, data) };
  let raw: unknown;
  try {
    raw = typeof tsa === 'function' ? await tsa(data) : await tsa.timestamp(request);
  } catch (e) {
    if (isOmtError(e) && e.code.startsWith('c2pa.timestamp.')) throw e;
    throw new OmtError('c2pa.timestamp.failed', 'the time-stamping authority failed', { cause: e });
  }
  if (!isBytes(raw)) throw new OmtError('c2pa.timestamp.malformed', 'the TSA must return DER bytes');
  const token = timeStampTokenOf(raw);
  let parsed: ParsedToken;
  try {
    parsed = parseToken(token);
  } catch (e) {
    throw new OmtError('c2pa.timestamp.malformed', 'the TSA token does not parse', { cause: e });
  }
  if (!equalBytes(hash(parsed.imprintAlg, data), parsed.imprint))
    throw new OmtError('c2pa.timestamp.mismatch', 'the TSA token covers other bytes than requested');
  const u = new Map<CoseLabel, CborValue>(msg.unprotectedHeaders);
  u.set('sigTst2', new Map<CborValue, CborValue>([['tstTokens', [new Map([['val', token]])]]]));
  return encodeCoseSign1({ ...msg, unprotectedHeaders: u });
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
 * time and the TSA verdict. Never throws on bad tokens: `timeStamp.malformed` / `.mismatch` /
 * `.untrusted` (a TSA signature that does not verify, as c2pa-rs reports it). The official reader
 * treats all of these as informational (the claim is then judged without a timestamp time);
 * `validateAsset` does the same.
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
    let digestMatched = false;
    for (const s of t.signers) {
      if (s.signedAttrs === undefined || s.messageDigest === undefined) continue;
      if (!equalBytes(hash(s.digestAlg, t.eContent), s.messageDigest)) continue;
      digestMatched = true;
      for (const c of certs) {
        if (await signerVerifies(c, s, s.signedAttrs)) {
          leaf = c;
          break;
        }
      }
      if (leaf) break;
    }
    if (leaf === undefined) {
      // As c2pa-rs: signed attributes that do not bind the TSTInfo → mismatch; a TSA signature
      // that does not verify → untrusted.
      statuses.push(
        digestMatched
          ? { code: 'timeStamp.untrusted', explanation: 'the TSA signature over the token does not verify' }
          : { code: 'timeStamp.mismatch', explanation: 'the token signature does not cover its TSTInfo' },
      );
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
