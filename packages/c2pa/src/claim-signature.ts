/**
 * C2PA claim signatures (C2PA 2.x §13.2, §14): a tagged COSE_Sign1 with a detached payload —
 * the claim's CBOR bytes — `alg` and `x5chain` (label 33, leaf first) in the protected header,
 * and in the unprotected header what c2pa-rs writes there: `sigTst2` (v2 timestamps over the
 * CBOR-encoded signature bstr: `{ tstTokens: [{ val: TimeStampToken }] }`) and `pad`/`pad2`
 * zero bytes so the store size can be fixed before signing.
 *
 * Algorithms: ES256/384/512, PS256/384/512, Ed25519 (C2PA §13.2); ML-DSA-44/65/87 (RFC 9964
 * COSE ids −48/−49/−50) as our extension.
 *
 * Hybrid (OpenMediaTrust's policy): the claim signature proper is classical (x5chain = the
 * classical chain), so the official SDK validates it; a post-quantum RFC 9338 V2
 * countersignature (label 11) over the same COSE_Sign1 rides in the unprotected header and
 * carries its own x5chain (the PQ chain) in its protected header. Under `hybrid: 'required'`
 * both must verify and the PQ chain must be valid (and trusted, when a trust list is given); a
 * missing, altered or untrusted PQ part fails with `omt.hybridSignature.*` ({@link HYBRID_STATUS}).
 *
 * @example
 * ```ts
 * import { signClaim, verifyClaimSignature } from '@omt/c2pa/claim-signature';
 * const sig = await signClaim({ claimBytes, signer: { suite: 'ES256', secretKey }, chain });
 * const r = await verifyClaimSignature({ signature: sig, claimBytes, at: new Date() });
 * r.statuses.map((s) => s.code); // ['claimSignature.validated', 'claimSignature.insideValidity', 'signingCredential.untrusted']
 * ```
 */
import { equalBytes, isBytes } from '@omt/core/bytes';
import type { CborValue } from '@omt/core/cbor';
import {
  COSE_HEADER,
  type CoseLabel,
  type CoseSign1,
  countersignCoseSign1,
  decodeCoseSign1,
  encodeCoseSign1,
  getX5Chain,
  signCoseSign1,
  verifyCoseCountersignatures,
  verifyCoseSign1,
  x5chainHeaderValue,
} from '@omt/core/cose';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import type { RandomSource } from '@omt/core/random';
import { getSuite, isSuiteId, type SignatureSuite, type SuiteId } from '@omt/core/suites';
import * as z from 'zod/mini';
import type { TimestampAuthority } from './ports.js';
import { stampClaimSignature } from './timestamp.js';
import {
  type CredentialPolicy,
  type CredentialVerdict,
  type TrustList,
  type ValidationStatus,
  verifyCredential,
} from './trust.js';
import { type Certificate, isValidAt, parseCertificate } from './x509.js';

/**
 * Whether `v` is a {@link TimestampAuthority} or a function: the two forms `signClaim` accepts.
 *
 * @example
 * ```ts
 * isTimestamper({ timestamp: async () => token }); // true
 * ```
 */
export function isTimestamper(v: unknown): boolean {
  return (
    typeof v === 'function' ||
    (typeof v === 'object' && v !== null && typeof (v as TimestampAuthority).timestamp === 'function')
  );
}

/** Suites a C2PA claim signature may use (C2PA 2.x §13.2 + ML-DSA, our extension). */
export const CLAIM_SIGNATURE_SUITES: readonly SuiteId[] = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'Ed25519',
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
];

const HYBRID: Partial<Record<SuiteId, { pq: SuiteId; classical: SuiteId; classicalSecret: number }>> = {
  'ML-DSA-44+Ed25519': { pq: 'ML-DSA-44', classical: 'Ed25519', classicalSecret: 32 },
  'ML-DSA-65+ES256': { pq: 'ML-DSA-65', classical: 'ES256', classicalSecret: 32 },
  'ML-DSA-87+ES384': { pq: 'ML-DSA-87', classical: 'ES384', classicalSecret: 48 },
};

/**
 * OpenMediaTrust's hybrid-policy status codes (beside the C2PA ones): the PQ countersignature
 * verified / is missing / does not verify, and — under `hybrid: 'required'` — its certificate
 * chain is invalid or expired (`credentialInvalid`) or reaches no anchor of the configured trust
 * list (`untrusted`). Every code but `validated` is a failure.
 */
export const HYBRID_STATUS: Readonly<{
  validated: 'omt.hybridSignature.validated';
  missing: 'omt.hybridSignature.missing';
  mismatch: 'omt.hybridSignature.mismatch';
  untrusted: 'omt.hybridSignature.untrusted';
  credentialInvalid: 'omt.hybridSignature.credentialInvalid';
}> = {
  validated: 'omt.hybridSignature.validated',
  missing: 'omt.hybridSignature.missing',
  mismatch: 'omt.hybridSignature.mismatch',
  untrusted: 'omt.hybridSignature.untrusted',
  credentialInvalid: 'omt.hybridSignature.credentialInvalid',
};

/** Whether a trust list trusts anything at all (anchors or allowed end-entity certificates). */
function trustConfigured(trust: TrustList | undefined): boolean {
  return trust !== undefined && (trust.anchors.length > 0 || trust.allowedFingerprints.size > 0);
}

/** Unprotected header labels c2pa-rs uses (text labels). */
export const C2PA_COSE_LABEL: Readonly<{
  sigTst: 'sigTst';
  sigTst2: 'sigTst2';
  pad: 'pad';
  pad2: 'pad2';
  rVals: 'rVals';
}> = { sigTst: 'sigTst', sigTst2: 'sigTst2', pad: 'pad', pad2: 'pad2', rVals: 'rVals' };

export interface SignClaimOptions {
  /** The claim's CBOR bytes (the detached payload). */
  readonly claimBytes: Uint8Array;
  /** Signing suite and raw secret key; a hybrid suite takes core's pq ‖ classical secret. */
  readonly signer: { readonly suite: SuiteId; readonly secretKey: Uint8Array };
  /** DER chain for x5chain, leaf first (hybrid: the classical chain). */
  readonly chain: readonly Uint8Array[];
  /** Hybrid only: the PQ DER chain, leaf first, carried in the countersignature. */
  readonly pqChain?: readonly Uint8Array[];
  /**
   * An RFC 3161 time-stamping authority (the {@link TimestampAuthority} port), or a function
   * returning a TimeStampToken over the exact bytes given (`claimSignatureTimestampMessage`):
   * the token goes in `sigTst2` (C2PA v2 timestamps). Omitted = no timestamp.
   */
  readonly timestamp?: TimestampAuthority | ((data: Uint8Array) => Promise<Uint8Array>);
  /** Pad the COSE_Sign1 to exactly this many bytes (`c2pa.signature.too-small` if it cannot fit). */
  readonly padTo?: number;
  readonly random?: RandomSource;
}

const bytesSchema = z.custom<Uint8Array>((v) => isBytes(v), 'must be a Uint8Array');
const SignSchema = z.object({
  claimBytes: bytesSchema,
  signer: z.object({
    suite: z.string().check(z.refine((s) => isSuiteId(s), 'unknown signature suite')),
    secretKey: bytesSchema,
  }),
  chain: z.array(bytesSchema).check(z.minLength(1)),
  pqChain: z.optional(z.array(bytesSchema).check(z.minLength(1))),
  timestamp: z.optional(
    z.custom<TimestampAuthority | ((d: Uint8Array) => Promise<Uint8Array>)>(isTimestamper),
  ),
  padTo: z.optional(z.number().check(z.int(), z.positive(), z.maximum(1 << 24))),
  random: z.optional(z.custom<RandomSource>((v) => typeof v === 'function')),
});

/**
 * The halves of a hybrid secret (pq ‖ classical) as views of it, the same view objects for the
 * same key object: core memoises the imported or expanded key per key object (WebCrypto import,
 * ML-DSA key expansion), which fresh views would miss on every signature. Views share the key's
 * memory, so a key changed in place is seen (and re-imported) by core as before.
 */
const hybridHalves = new WeakMap<Uint8Array, { classical: Uint8Array; pq: Uint8Array }>();

function splitHybridSecret(
  sk: Uint8Array,
  classicalLength: number,
): { classical: Uint8Array; pq: Uint8Array } {
  const known = hybridHalves.get(sk);
  if (
    known !== undefined &&
    known.classical.length === classicalLength &&
    known.pq.length === sk.length - classicalLength
  )
    return known;
  const halves = {
    classical: sk.subarray(sk.length - classicalLength),
    pq: sk.subarray(0, sk.length - classicalLength),
  };
  hybridHalves.set(sk, halves);
  return halves;
}

/** Encoded size of a CBOR head for a length (RFC 8949 §3). */
function headSize(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

/**
 * Re-encodes `msg` with `pad` (and if need be `pad2`) zero byte strings in the unprotected
 * header so the encoding is exactly `target` bytes (what c2pa-rs does to fill a reserved box).
 */
function padMessage(msg: CoseSign1, target: number): Uint8Array {
  const encode = (u: Map<CoseLabel, CborValue>): Uint8Array =>
    encodeCoseSign1({ ...msg, unprotectedHeaders: u });
  const base = new Map<CoseLabel, CborValue>(msg.unprotectedHeaders);
  base.delete(C2PA_COSE_LABEL.pad);
  base.delete(C2PA_COSE_LABEL.pad2);
  const tooSmall = (size: number): OmtError =>
    new OmtError(
      'c2pa.signature.too-small',
      `the signature needs ${size} bytes, more than the ${target} reserved`,
    );
  const current = encode(base);
  if (current.length === target) return current;
  for (const pad2 of [undefined, 0, 1, 2]) {
    const u = new Map(base);
    if (pad2 !== undefined) u.set(C2PA_COSE_LABEL.pad2, new Uint8Array(pad2));
    u.set(C2PA_COSE_LABEL.pad, new Uint8Array(0));
    const withEmpty = encode(u).length; // "pad" label + a 1-byte head for the empty bstr
    const need = target - withEmpty; // extra bytes: (head(L) - 1) + L
    if (need < 0) {
      if (pad2 === undefined) throw tooSmall(withEmpty);
      continue;
    }
    for (const h of [1, 2, 3, 5]) {
      const len = need - (h - 1);
      if (len >= 0 && headSize(len) === h) {
        u.set(C2PA_COSE_LABEL.pad, new Uint8Array(len));
        const out = encode(u);
        if (out.length === target) return out;
      }
    }
  }
  throw tooSmall(current.length);
}

/**
 * Signs a claim into a C2PA COSE_Sign1 the way c2pa-rs writes it (tagged, detached payload,
 * protected alg + x5chain). Hybrid suites add a PQ countersignature (file header).
 *
 * @example
 * ```ts
 * const cose = await signClaim({ claimBytes, signer: { suite: 'ML-DSA-65', secretKey }, chain: pki.chain, padTo: 20000 });
 * ```
 */
export async function signClaim(options: SignClaimOptions): Promise<Uint8Array> {
  const o = parseInput(SignSchema, options, 'c2pa.input.invalid', 'signClaim options');
  const suiteId = o.signer.suite as SuiteId;
  const hybrid = HYBRID[suiteId];
  const random = o.random;
  let classicalSuite: SignatureSuite;
  let classicalSecret: Uint8Array;
  let pqSecret: Uint8Array | undefined;
  if (hybrid !== undefined) {
    if (o.pqChain === undefined) throw new OmtError('c2pa.input.invalid', `${suiteId} needs pqChain`);
    const sk = o.signer.secretKey;
    if (sk.length <= hybrid.classicalSecret)
      throw new OmtError('c2pa.input.invalid', 'hybrid secret key too short');
    classicalSuite = getSuite(hybrid.classical);
    ({ classical: classicalSecret, pq: pqSecret } = splitHybridSecret(sk, hybrid.classicalSecret));
  } else {
    if (!CLAIM_SIGNATURE_SUITES.includes(suiteId))
      throw new OmtError(
        'c2pa.signature.alg-unsupported',
        `${suiteId} is not a C2PA claim signature algorithm`,
      );
    if (o.pqChain !== undefined)
      throw new OmtError('c2pa.input.invalid', 'pqChain is only for hybrid suites');
    classicalSuite = getSuite(suiteId);
    classicalSecret = o.signer.secretKey;
  }
  let bytes = await signCoseSign1({
    signer: { suite: classicalSuite, secretKey: classicalSecret, ...(random ? { random } : {}) },
    payload: o.claimBytes,
    detached: true,
    x5chain: o.chain,
  });
  if (hybrid !== undefined && pqSecret !== undefined && o.pqChain !== undefined) {
    bytes = await countersignCoseSign1(bytes, {
      signer: { suite: getSuite(hybrid.pq), secretKey: pqSecret, ...(random ? { random } : {}) },
      protectedHeaders: new Map<CoseLabel, CborValue>([[COSE_HEADER.x5chain, x5chainHeaderValue(o.pqChain)]]),
      detachedPayload: o.claimBytes,
    });
  }
  // C2PA v2 timestamps (sigTst2) cover the countersignature structure over the signature.
  if (o.timestamp !== undefined) bytes = await stampClaimSignature(bytes, o.timestamp);
  return o.padTo === undefined ? bytes : padMessage(decodeCoseSign1(bytes), o.padTo);
}

/** The post-quantum half of a hybrid claim signature, as found. */
export interface PqCountersignatureResult {
  readonly present: boolean;
  readonly valid: boolean;
  readonly suite: SuiteId | undefined;
  /** Trust verdict of the PQ chain (role signer), undefined when absent. */
  readonly credential: CredentialVerdict | undefined;
  readonly reason: string;
}

export interface VerifyClaimSignatureOptions {
  /** The COSE_Sign1 bytes from the `c2pa.signature` box. */
  readonly signature: Uint8Array | undefined;
  /** The claim's CBOR bytes. */
  readonly claimBytes: Uint8Array;
  readonly trust?: TrustList;
  /** Validity time: a verified timestamp's time, else now. */
  readonly at: Date;
  /** 'required': the PQ countersignature must be present and verify; 'if-present' (default): checked when present; 'ignore'. */
  readonly hybrid?: 'required' | 'if-present' | 'ignore';
  /** Role of this credential (an ingredient's manifest signer = 'ingredient'). */
  readonly role?: 'signer' | 'ingredient';
  readonly policy?: CredentialPolicy;
}

export interface ClaimSignatureResult {
  /** True when the claim signature (and, by policy, the PQ part) verified — trust aside. */
  readonly valid: boolean;
  /** Every status found, C2PA codes (plus `omt.hybridSignature.*`). */
  readonly statuses: readonly ValidationStatus[];
  readonly suite: SuiteId | undefined;
  readonly certificate: Certificate | undefined;
  readonly credential: CredentialVerdict | undefined;
  readonly pq: PqCountersignatureResult | undefined;
  /** Raw timestamp tokens found under sigTst / sigTst2 (not verified here). */
  readonly timestampTokens: readonly Uint8Array[];
}

const VerifySchema = z.object({
  signature: z.optional(bytesSchema),
  claimBytes: bytesSchema,
  trust: z.optional(z.custom<TrustList>((v) => typeof v === 'object' && v !== null)),
  at: z.date(),
  hybrid: z.optional(z.enum(['required', 'if-present', 'ignore'])),
  role: z.optional(z.enum(['signer', 'ingredient'])),
  policy: z.optional(z.custom<CredentialPolicy>((v) => typeof v === 'object' && v !== null)),
});

function tokensOf(msg: CoseSign1): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const label of [C2PA_COSE_LABEL.sigTst, C2PA_COSE_LABEL.sigTst2]) {
    const v = msg.unprotectedHeaders.get(label);
    if (!(v instanceof Map)) continue;
    const list = v.get('tstTokens');
    if (!Array.isArray(list)) continue;
    for (const t of list) if (t instanceof Map && isBytes(t.get('val'))) out.push(t.get('val') as Uint8Array);
  }
  return out;
}

/**
 * The raw timestamp tokens (sigTst / sigTst2) of a claim signature, as
 * {@link verifyClaimSignature} reports them in `timestampTokens`; empty when the signature is
 * absent or not a COSE_Sign1. Lets a validator verify the timestamp first and then the claim
 * signature once, at the timestamp's time (§15.7).
 *
 * @example
 * ```ts
 * const tokens = claimSignatureTimestampTokens(manifest.signature);
 * ```
 */
export function claimSignatureTimestampTokens(signature: Uint8Array | undefined): Uint8Array[] {
  if (signature === undefined || !isBytes(signature) || signature.length === 0) return [];
  try {
    return tokensOf(decodeCoseSign1(signature, { understoodCritLabels: [] }));
  } catch {
    return [];
  }
}

/**
 * The x5chain of a claim signature: label 33 (RFC 9360; protected, else unprotected), else the
 * text label "x5chain" that c2pa-rs wrote in the unprotected header before label 33 was
 * assigned (C2PA 1.x files such as c2pa-rs's boxhash.jpg).
 */
function x5chainOf(msg: CoseSign1): Uint8Array[] | undefined {
  const chain = getX5Chain(msg);
  if (chain !== undefined) return chain;
  const legacy = msg.protectedHeaders.get('x5chain') ?? msg.unprotectedHeaders.get('x5chain');
  if (legacy === undefined) return undefined;
  return getX5Chain({
    protectedHeaders: new Map([[COSE_HEADER.x5chain, legacy]]),
    unprotectedHeaders: new Map(),
  });
}

/** Suite of a leaf certificate key for a COSE alg (RSA keys are re-bound to the PSx alg). */
function leafSuiteFor(alg: number, leaf: Certificate): SuiteId | undefined {
  const key = leaf.publicKey;
  if (key === undefined) return undefined;
  const byAlg: Record<number, SuiteId> = { [-37]: 'PS256', [-38]: 'PS384', [-39]: 'PS512' };
  const rsa = byAlg[alg];
  if (rsa !== undefined && (key.suite.startsWith('PS') || key.suite.startsWith('RS'))) return rsa;
  return key.suite;
}

async function verifyPq(
  msg: CoseSign1,
  claimBytes: Uint8Array,
  trust: TrustList | undefined,
  at: Date,
  role: 'signer' | 'ingredient',
  policy: CredentialPolicy | undefined,
): Promise<PqCountersignatureResult> {
  const raw = msg.unprotectedHeaders.get(COSE_HEADER.countersignature);
  if (raw === undefined)
    return {
      present: false,
      valid: false,
      suite: undefined,
      credential: undefined,
      reason: 'no PQ countersignature',
    };
  let chain: Uint8Array[] | undefined;
  let reason = 'no ML-DSA countersignature verifies';
  const results = await verifyCoseCountersignatures(
    msg,
    (info) => {
      if (typeof info.alg !== 'number' || ![-48, -49, -50].includes(info.alg)) return undefined;
      try {
        const c = getX5Chain(info);
        const l = c?.[0] ? parseCertificate(c[0]) : undefined;
        if (c === undefined || l?.publicKey === undefined) return undefined;
        chain = c;
        return { suite: getSuite(l.publicKey.suite), publicKey: l.publicKey.publicKey };
      } catch (e) {
        reason = e instanceof Error ? e.message : reason;
        return undefined;
      }
    },
    { detachedPayload: claimBytes },
  );
  const ok = results.find((r) => r.valid);
  if (ok === undefined || !ok.valid || chain === undefined) {
    const first = results.find((r) => !r.valid);
    return {
      present: true,
      valid: false,
      suite: undefined,
      credential: undefined,
      reason: first && !first.valid ? first.reason : reason,
    };
  }
  const credential = await verifyCredential(chain, {
    ...(trust ? { trust } : {}),
    at,
    role,
    ...(policy ? { policy } : {}),
  });
  return { present: true, valid: true, suite: ok.suite, credential, reason: '' };
}

/**
 * Verifies a C2PA claim signature and judges its credential. Returns every status found:
 * `claimSignature.missing` (no signature), `claimSignature.mismatch` (malformed, alg/key
 * mismatch, signature does not verify), `algorithm.unsupported`, `claimSignature.validated`,
 * `claimSignature.insideValidity`, then the credential's `signingCredential.*`, and for hybrid
 * `omt.hybridSignature.validated | .missing | .mismatch`, and under `hybrid: 'required'`
 * `omt.hybridSignature.credentialInvalid | .untrusted` for the PQ chain (`untrusted` only when
 * the trust list has anchors or allowed certificates: with none, nothing is trusted and the
 * classical signer is `signingCredential.untrusted` alike).
 *
 * @example
 * ```ts
 * const r = await verifyClaimSignature({ signature, claimBytes, trust, at: new Date(), hybrid: 'required' });
 * r.valid; // true
 * ```
 */
export async function verifyClaimSignature(
  options: VerifyClaimSignatureOptions,
): Promise<ClaimSignatureResult> {
  const o = parseInput(VerifySchema, options, 'c2pa.input.invalid', 'verifyClaimSignature options');
  const statuses: ValidationStatus[] = [];
  const fail = (
    code: string,
    explanation: string,
    extra?: Partial<ClaimSignatureResult>,
  ): ClaimSignatureResult => ({
    valid: false,
    statuses: [...statuses, { code, explanation }],
    suite: undefined,
    certificate: undefined,
    credential: undefined,
    pq: undefined,
    timestampTokens: [],
    ...extra,
  });
  if (o.signature === undefined || o.signature.length === 0)
    return fail('claimSignature.missing', 'no claim signature');
  let msg: CoseSign1;
  try {
    msg = decodeCoseSign1(o.signature, { understoodCritLabels: [] });
  } catch (e) {
    return fail('claimSignature.mismatch', `malformed COSE_Sign1: ${e instanceof Error ? e.message : ''}`);
  }
  const timestampTokens = tokensOf(msg);
  const alg = msg.alg;
  const candidates = CLAIM_SIGNATURE_SUITES.filter((s) => getSuite(s).coseAlg === alg);
  if (typeof alg !== 'number' || candidates.length === 0)
    return fail(
      'algorithm.unsupported',
      `claim signature algorithm ${String(alg).slice(0, 40)} is not supported`,
      {
        timestampTokens,
      },
    );
  let chain: Uint8Array[] | undefined;
  try {
    chain = x5chainOf(msg);
  } catch (e) {
    return fail('claimSignature.mismatch', e instanceof Error ? e.message : 'bad x5chain', {
      timestampTokens,
    });
  }
  if (chain === undefined || chain.length === 0)
    return fail('signingCredential.invalid', 'no x5chain in the claim signature', { timestampTokens });
  let leaf: Certificate;
  try {
    leaf = parseCertificate(chain[0] as Uint8Array);
  } catch (e) {
    return fail('signingCredential.invalid', e instanceof Error ? e.message : 'bad certificate', {
      timestampTokens,
    });
  }
  const suiteId = leafSuiteFor(alg, leaf);
  if (suiteId === undefined || !candidates.includes(suiteId)) {
    return fail('claimSignature.mismatch', `alg ${alg} does not match the signing certificate's key`, {
      certificate: leaf,
      timestampTokens,
    });
  }
  const key = leaf.publicKey as NonNullable<Certificate['publicKey']>;
  const r = await verifyCoseSign1(
    msg,
    { suite: getSuite(suiteId), publicKey: key.publicKey },
    msg.payload === null ? { detachedPayload: o.claimBytes } : {},
  );
  const payloadMatches = msg.payload === null || equalBytes(msg.payload, o.claimBytes);
  const role = o.role ?? 'signer';
  const judge = (): Promise<CredentialVerdict> =>
    verifyCredential(chain as Uint8Array[], {
      ...(o.trust ? { trust: o.trust } : {}),
      at: o.at,
      role,
      ...(o.policy ? { policy: o.policy } : {}),
    });
  if (!r.valid || !payloadMatches) {
    // The credential is still judged and reported (as c2pa-rs does: signingCredential.untrusted
    // beside claimSignature.mismatch), so a tampered claim does not hide who claims to sign it.
    const credential = await judge();
    for (const st of credential.statuses) if (!statuses.some((x) => x.code === st.code)) statuses.push(st);
    return fail('claimSignature.mismatch', r.valid ? 'embedded payload is not the claim' : r.reason, {
      certificate: leaf,
      suite: suiteId,
      credential,
      timestampTokens,
    });
  }
  statuses.push({ code: 'claimSignature.validated', explanation: `${suiteId} claim signature valid` });
  if (isValidAt(leaf, o.at))
    statuses.push({
      code: 'claimSignature.insideValidity',
      explanation: 'signing certificate valid at the signing time',
    });
  const credential = await judge();
  // One status per code here (the credential verdict keeps every finding).
  for (const st of credential.statuses) if (!statuses.some((x) => x.code === st.code)) statuses.push(st);
  let valid = true;
  let pq: PqCountersignatureResult | undefined;
  const hybridMode = o.hybrid ?? 'if-present';
  if (hybridMode !== 'ignore') {
    pq = await verifyPq(msg, o.claimBytes, o.trust, o.at, role, o.policy);
    if (pq.present && pq.valid) {
      statuses.push({
        code: HYBRID_STATUS.validated,
        explanation: `${pq.suite} countersignature valid`,
      });
      // Under 'required' the PQ credential counts as much as the classical one: a PQ chain that is
      // invalid or expired fails, and so does one that reaches no anchor of a configured trust
      // list (else a forged classical signature could ride with a self-made PQ certificate).
      const v = pq.credential;
      if (hybridMode === 'required' && v !== undefined && !v.trusted) {
        const why = v.statuses[0]?.explanation ?? v.code;
        if (v.code !== 'signingCredential.untrusted')
          statuses.push({
            code: HYBRID_STATUS.credentialInvalid,
            explanation: `PQ certificate chain: ${why}`,
          });
        else if (trustConfigured(o.trust))
          statuses.push({ code: HYBRID_STATUS.untrusted, explanation: `PQ certificate chain: ${why}` });
      }
    } else if (pq.present) {
      valid = false;
      statuses.push({ code: HYBRID_STATUS.mismatch, explanation: pq.reason });
    } else if (hybridMode === 'required') {
      valid = false;
      statuses.push({
        code: HYBRID_STATUS.missing,
        explanation: 'hybrid policy requires a PQ countersignature',
      });
    }
  }
  return { valid, statuses, suite: suiteId, certificate: leaf, credential, pq, timestampTokens };
}
