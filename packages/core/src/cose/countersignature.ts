import { isBytes } from '../bytes.js';
import { CborTag, type CborValue } from '../cbor.js';
import { isOmtError, OmtError, wrapErrorsAsync } from '../errors.js';
import type { SuiteId } from '../suites/suite.js';
import { COSE_COUNTERSIGNATURE_TAG, COSE_HEADER } from './header-labels.js';
import {
  type CoseHeaderMap,
  type CoseHeaderPolicy,
  type CoseLabel,
  checkHeaderBuckets,
  coseMalformed,
  decodeProtectedHeader,
  encodeProtectedHeader,
  findHeader,
  toHeaderMap,
} from './headers.js';
import { buildCountersignStructure } from './sig-structure.js';
import {
  type CoseSign1,
  type CoseSigner,
  type CoseVerifyKey,
  checkAlgForKey,
  coseAlgOf,
  decodeCoseSign1,
  encodeCoseSign1,
  signedProtectedBytes,
  signerHeaders,
} from './sign1.js';

/*
 * RFC 9338 V2 countersignatures on a COSE_Sign1. The target's fields after the second bstr
 * are `other_fields`; for COSE_Sign1 that is `[signature]` (RFC 9338 §3.3), so the contexts
 * are "CounterSignatureV2" (full, header label 11) and "CounterSignature0V2" (abbreviated,
 * label 12). Countersignatures live in the unprotected bucket, which the main signature
 * does not cover: adding one never invalidates the message signature.
 */

export interface CountersignCoseSign1Options {
  readonly signer: CoseSigner;
  /**
   * Abbreviated countersignature (COSE_Countersignature0, label 12): just the signature
   * bytes, no headers — the verifier must know the algorithm and key. At most one per message.
   */
  readonly abbreviated?: boolean;
  /** Protected headers of a full countersignature (alg is set from the suite). */
  readonly protectedHeaders?: CoseHeaderMap;
  readonly unprotectedHeaders?: CoseHeaderMap;
  readonly externalAad?: Uint8Array;
  /** The payload, when the message's payload is detached. */
  readonly detachedPayload?: Uint8Array;
}

/** What a countersignature key resolver is told about one countersignature. */
export interface CountersignatureInfo {
  readonly kind: 'full' | 'abbreviated';
  /** Position among the message's full countersignatures (0 for the abbreviated one). */
  readonly index: number;
  /** `alg` of a full countersignature; undefined for the abbreviated form (no headers). */
  readonly alg: CoseLabel | undefined;
  readonly kid: Uint8Array | undefined;
  readonly protectedHeaders: CoseHeaderMap;
  readonly unprotectedHeaders: CoseHeaderMap;
}

export type CountersignatureKeyResolver = (
  info: CountersignatureInfo,
) => CoseVerifyKey | undefined | Promise<CoseVerifyKey | undefined>;

export type CountersignatureResult =
  | { readonly info: CountersignatureInfo; readonly valid: true; readonly suite: SuiteId }
  | {
      readonly info: CountersignatureInfo;
      readonly valid: false;
      readonly code: string;
      readonly reason: string;
    };

export interface VerifyCountersignaturesOptions extends CoseHeaderPolicy {
  readonly externalAad?: Uint8Array;
  readonly detachedPayload?: Uint8Array;
}

function targetPayload(message: CoseSign1, detached: Uint8Array | undefined): Uint8Array {
  if (detached !== undefined && !isBytes(detached))
    throw new OmtError('core.input.invalid', 'detachedPayload must be a Uint8Array');
  if (message.payload !== null) {
    if (detached !== undefined)
      throw new OmtError(
        'core.input.invalid',
        'detachedPayload given for a message that carries its payload',
      );
    return message.payload;
  }
  if (detached === undefined)
    throw new OmtError('core.cose.payload-missing', 'payload is detached and no detachedPayload was given');
  return detached;
}

/** Existing full countersignatures under label 11, as a list (RFC 9338 §2: one or an array). */
function fullCountersignatures(value: CborValue): CborValue[] {
  if (value === undefined) return [];
  if (value instanceof CborTag) return [value];
  if (!Array.isArray(value)) return [value];
  // A single COSE_Countersignature starts with its protected bstr; an array of them with arrays/tags.
  if (value.length > 0 && isBytes(value[0])) return [value];
  return [...value];
}

/**
 * Adds an RFC 9338 countersignature to a COSE_Sign1 and returns the re-encoded message
 * (protected bytes, payload and signature unchanged). Full countersignatures go under
 * label 11 (several become an array); the abbreviated one under label 12 (at most one:
 * a second throws `core.cose.countersignature-exists`). This does not verify the message.
 *
 * @example
 * ```ts
 * const withCs = await countersignCoseSign1(msg, { signer: { suite: getSuite('Ed25519'), secretKey, kid } });
 * ```
 */
export async function countersignCoseSign1(
  message: Uint8Array | CoseSign1,
  options: CountersignCoseSign1Options,
): Promise<Uint8Array> {
  const msg = isBytes(message) ? decodeCoseSign1(message) : message;
  if (typeof options !== 'object' || options === null)
    throw new OmtError('core.input.invalid', 'options are required');
  if (options.externalAad !== undefined && !isBytes(options.externalAad)) {
    throw new OmtError('core.input.invalid', 'externalAad must be a Uint8Array');
  }
  const payload = targetPayload(msg, options.detachedPayload);
  const { signer } = options;
  const unprotected = new Map<CoseLabel, CborValue>(msg.unprotectedHeaders);
  const common = {
    bodyProtected: signedProtectedBytes(msg),
    payload,
    otherFields: [msg.signature],
    ...(options.externalAad ? { externalAad: options.externalAad } : {}),
  };
  const sign = (tbs: Uint8Array): Promise<Uint8Array> =>
    wrapErrorsAsync('core.cose.sign-failed', 'COSE countersigning failed', () =>
      signer.suite.sign(signer.secretKey, tbs, signer.random ? { random: signer.random } : undefined),
    );

  if (options.abbreviated === true) {
    coseAlgOf(signer.suite);
    if (!isBytes(signer.secretKey))
      throw new OmtError('core.input.invalid', 'signer.secretKey must be a Uint8Array');
    if (options.protectedHeaders !== undefined || options.unprotectedHeaders !== undefined) {
      throw new OmtError('core.input.invalid', 'an abbreviated countersignature carries no headers');
    }
    if (unprotected.has(COSE_HEADER.countersignature0)) {
      throw new OmtError(
        'core.cose.countersignature-exists',
        'the message already has an abbreviated countersignature (label 12)',
      );
    }
    unprotected.set(COSE_HEADER.countersignature0, await sign(buildCountersignStructure(common)));
  } else {
    const headers = signerHeaders(signer, options.protectedHeaders, options.unprotectedHeaders);
    const signProtected = encodeProtectedHeader(headers.protectedHeaders);
    const signature = await sign(buildCountersignStructure({ ...common, signProtected }));
    const entry: CborValue = [
      signProtected,
      headers.unprotectedHeaders as ReadonlyMap<CborValue, CborValue>,
      signature,
    ];
    const existing = fullCountersignatures(unprotected.get(COSE_HEADER.countersignature));
    unprotected.set(COSE_HEADER.countersignature, existing.length === 0 ? entry : [...existing, entry]);
  }
  return encodeCoseSign1({
    protectedBytes: msg.protectedBytes,
    unprotectedHeaders: unprotected,
    payload: msg.payload,
    signature: msg.signature,
    tagged: msg.tagged,
  });
}

interface ParsedCountersignature {
  readonly info: CountersignatureInfo;
  readonly signProtected?: Uint8Array;
  readonly signature: Uint8Array;
}

const NO_HEADERS: CoseHeaderMap = new Map();

function parseFull(value: CborValue, index: number, policy?: CoseHeaderPolicy): ParsedCountersignature {
  let v = value;
  if (v instanceof CborTag) {
    if (v.tag !== COSE_COUNTERSIGNATURE_TAG)
      throw coseMalformed(`unexpected tag ${String(v.tag)} on a countersignature`);
    v = v.value;
  }
  if (!Array.isArray(v) || v.length !== 3)
    throw coseMalformed('COSE_Countersignature must be an array of 3 elements');
  const [p, u, signature] = v as readonly CborValue[];
  if (!isBytes(p) || !isBytes(signature))
    throw coseMalformed('COSE_Countersignature protected header and signature must be byte strings');
  const protectedHeaders = decodeProtectedHeader(p);
  const unprotectedHeaders = toHeaderMap(u as CborValue, 'countersignature unprotected');
  checkHeaderBuckets(protectedHeaders, unprotectedHeaders, policy);
  const info: CountersignatureInfo = {
    kind: 'full',
    index,
    alg: findHeader(protectedHeaders, unprotectedHeaders, COSE_HEADER.alg) as CoseLabel | undefined,
    kid: findHeader(protectedHeaders, unprotectedHeaders, COSE_HEADER.kid) as Uint8Array | undefined,
    protectedHeaders,
    unprotectedHeaders,
  };
  return { info, signProtected: protectedHeaders.size === 0 ? new Uint8Array(0) : p, signature };
}

/**
 * Verifies every RFC 9338 countersignature on a COSE_Sign1 (full ones under label 11,
 * the abbreviated one under label 12) and returns one result per countersignature, in
 * order (full ones first). A countersignature that cannot be parsed gets a result with
 * `core.cose.malformed`; no key from the resolver gives `core.cose.key-unknown`. The
 * message's own signature is not checked here (use {@link verifyCoseSign1}).
 *
 * @example
 * ```ts
 * const results = await verifyCoseCountersignatures(bytes, (info) => keysByKid.get(toHex(info.kid ?? new Uint8Array())));
 * results.every((r) => r.valid);
 * ```
 */
export async function verifyCoseCountersignatures(
  message: Uint8Array | CoseSign1,
  resolve: CountersignatureKeyResolver,
  options?: VerifyCountersignaturesOptions,
): Promise<CountersignatureResult[]> {
  const msg = isBytes(message) ? decodeCoseSign1(message, options) : message;
  if (typeof resolve !== 'function')
    throw new OmtError('core.input.invalid', 'a key resolver function is required');
  if (options?.externalAad !== undefined && !isBytes(options.externalAad)) {
    throw new OmtError('core.input.invalid', 'externalAad must be a Uint8Array');
  }
  const payload = targetPayload(msg, options?.detachedPayload);
  const results: CountersignatureResult[] = [];
  const common = {
    bodyProtected: signedProtectedBytes(msg),
    payload,
    otherFields: [msg.signature],
    ...(options?.externalAad ? { externalAad: options.externalAad } : {}),
  };

  const check = async (parsed: ParsedCountersignature): Promise<CountersignatureResult> => {
    const { info } = parsed;
    const key = await resolve(info);
    if (key === undefined)
      return {
        info,
        valid: false,
        code: 'core.cose.key-unknown',
        reason: 'no key for this countersignature',
      };
    if (
      typeof key !== 'object' ||
      key === null ||
      !isBytes(key.publicKey) ||
      typeof key.suite?.verify !== 'function'
    ) {
      throw new OmtError('core.input.invalid', 'verification key must be { suite, publicKey: Uint8Array }');
    }
    if (info.kind === 'full') {
      const mismatch = checkAlgForKey(info.alg, key.suite);
      if (mismatch) return { info, valid: false, ...mismatch };
    }
    const tbs = buildCountersignStructure(
      parsed.signProtected === undefined ? common : { ...common, signProtected: parsed.signProtected },
    );
    const ok = await wrapErrorsAsync('core.cose.verify-failed', 'countersignature verification failed', () =>
      key.suite.verify(key.publicKey, tbs, parsed.signature),
    );
    return ok
      ? { info, valid: true, suite: key.suite.id }
      : {
          info,
          valid: false,
          code: 'core.cose.signature-invalid',
          reason: `${String(key.suite.id)} countersignature does not verify`,
        };
  };

  const full = fullCountersignatures(msg.unprotectedHeaders.get(COSE_HEADER.countersignature));
  for (let i = 0; i < full.length; i++) {
    let parsed: ParsedCountersignature;
    try {
      parsed = parseFull(full[i] as CborValue, i, options);
    } catch (e) {
      if (!isOmtError(e) || !e.code.startsWith('core.cose.')) throw e;
      const info: CountersignatureInfo = {
        kind: 'full',
        index: i,
        alg: undefined,
        kid: undefined,
        protectedHeaders: NO_HEADERS,
        unprotectedHeaders: NO_HEADERS,
      };
      results.push({ info, valid: false, code: e.code, reason: e.message });
      continue;
    }
    results.push(await check(parsed));
  }
  const abbreviated = msg.unprotectedHeaders.get(COSE_HEADER.countersignature0);
  if (abbreviated !== undefined) {
    const info: CountersignatureInfo = {
      kind: 'abbreviated',
      index: 0,
      alg: undefined,
      kid: undefined,
      protectedHeaders: NO_HEADERS,
      unprotectedHeaders: NO_HEADERS,
    };
    results.push(
      isBytes(abbreviated)
        ? await check({ info, signature: abbreviated })
        : {
            info,
            valid: false,
            code: 'core.cose.malformed',
            reason: 'Countersignature0 must be a byte string',
          },
    );
  }
  return results;
}
