import { isBytes } from '../bytes.js';
import { CborTag, type CborValue, decodeCbor, encodeCbor } from '../cbor.js';
import { isOmtError, OmtError, wrapErrorsAsync } from '../errors.js';
import type { RandomSource } from '../random.js';
import { suitesForCoseAlg } from '../suites/index.js';
import type { SignatureSuite, SuiteId, VerifyOptions } from '../suites/suite.js';
import { COSE_HEADER, COSE_SIGN1_TAG } from './header-labels.js';
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
import { buildSigStructure1 } from './sig-structure.js';
import { x5chainHeaderValue } from './x5chain.js';

/** Who signs: a suite with a COSE algorithm id and its raw secret key. */
export interface CoseSigner {
  readonly suite: SignatureSuite;
  readonly secretKey: Uint8Array;
  /** Key identifier, placed in the protected header (label 4). */
  readonly kid?: Uint8Array;
  /** Randomness for randomized/hedged signing (default: platform CSPRNG). */
  readonly random?: RandomSource;
}

/** A verification key: the suite and the raw public key. */
export interface CoseVerifyKey {
  readonly suite: SignatureSuite;
  readonly publicKey: Uint8Array;
}

/** Chooses the key for a message, e.g. by kid or x5chain; undefined = no key known. */
export type CoseKeyResolver = (
  alg: CoseLabel,
  message: CoseSign1,
) => CoseVerifyKey | undefined | Promise<CoseVerifyKey | undefined>;

/** A decoded COSE_Sign1 (RFC 9052 §4.2). */
export interface CoseSign1 {
  /** The protected header exactly as received (bstr content; may be zero-length). */
  readonly protectedBytes: Uint8Array;
  readonly protectedHeaders: CoseHeaderMap;
  readonly unprotectedHeaders: CoseHeaderMap;
  /** null when the payload is detached. */
  readonly payload: Uint8Array | null;
  readonly signature: Uint8Array;
  /** Whether the message carried CBOR tag 18. */
  readonly tagged: boolean;
  /** `alg` from the protected header, else the unprotected one. */
  readonly alg: CoseLabel | undefined;
  /** Whether `alg` came from the protected bucket. */
  readonly algProtected: boolean;
  /** `kid` (protected first, then unprotected). */
  readonly kid: Uint8Array | undefined;
}

export interface SignCoseSign1Options {
  readonly signer: CoseSigner;
  /** Extra protected headers; `alg` is set from the suite (a conflicting value throws). */
  readonly protectedHeaders?: CoseHeaderMap;
  readonly unprotectedHeaders?: CoseHeaderMap;
  readonly payload: Uint8Array;
  /** Sign `payload` but carry nil in the message (RFC 9052 §2 detached content). */
  readonly detached?: boolean;
  readonly externalAad?: Uint8Array;
  /** Certificate chain, leaf first (RFC 9360 §2), placed in the protected header. */
  readonly x5chain?: readonly Uint8Array[];
  /** Emit CBOR tag 18 (default true). */
  readonly tagged?: boolean;
}

export interface VerifyCoseSign1Options extends CoseHeaderPolicy {
  readonly externalAad?: Uint8Array;
  /** The payload of a message whose payload field is nil. */
  readonly detachedPayload?: Uint8Array;
  /** Fail (`core.cose.alg-unprotected`) when `alg` is only in the unprotected bucket. Default false. */
  readonly requireProtectedAlg?: boolean;
  /** Passed to the suite (e.g. force the portable implementation). */
  readonly suiteOptions?: VerifyOptions;
}

export type CoseVerifyResult =
  | {
      readonly valid: true;
      readonly alg: number;
      readonly suite: SuiteId;
      readonly kid: Uint8Array | undefined;
      readonly message: CoseSign1;
    }
  | {
      readonly valid: false;
      /** Why: `core.cose.signature-invalid`, `core.cose.alg-mismatch`, `core.alg.unsupported`, … */
      readonly code: string;
      readonly reason: string;
      readonly message: CoseSign1;
    };

function invalidInput(message: string): OmtError {
  return new OmtError('core.input.invalid', message);
}

function checkOptionalBytes(v: unknown, what: string): void {
  if (v !== undefined && !isBytes(v)) throw invalidInput(`${what} must be a Uint8Array`);
}

function checkHeaderArg(v: unknown, what: string): void {
  if (v !== undefined && !(v instanceof Map)) throw invalidInput(`${what} must be a Map`);
}

/** Checks that `suite` is a suite object with a COSE id (outside input). */
export function coseAlgOf(suite: SignatureSuite): number {
  if (
    typeof suite !== 'object' ||
    suite === null ||
    typeof suite.sign !== 'function' ||
    typeof suite.verify !== 'function'
  ) {
    throw invalidInput('suite must be a SignatureSuite');
  }
  if (typeof suite.coseAlg !== 'number') {
    throw new OmtError('core.alg.unsupported', `suite ${String(suite.id)} has no COSE algorithm identifier`);
  }
  return suite.coseAlg;
}

/**
 * Builds the protected/unprotected buckets for a signer: alg from the suite, kid and
 * x5chain into the protected bucket, then the common header checks. Shared with
 * countersigning.
 */
export function signerHeaders(
  signer: CoseSigner,
  protectedHeaders: CoseHeaderMap | undefined,
  unprotectedHeaders: CoseHeaderMap | undefined,
  x5chain?: readonly Uint8Array[],
): { protectedHeaders: Map<CoseLabel, CborValue>; unprotectedHeaders: Map<CoseLabel, CborValue> } {
  if (typeof signer !== 'object' || signer === null) throw invalidInput('signer is required');
  const alg = coseAlgOf(signer.suite);
  if (!isBytes(signer.secretKey)) throw invalidInput('signer.secretKey must be a Uint8Array');
  checkOptionalBytes(signer.kid, 'signer.kid');
  checkHeaderArg(protectedHeaders, 'protectedHeaders');
  checkHeaderArg(unprotectedHeaders, 'unprotectedHeaders');
  const p = new Map<CoseLabel, CborValue>(protectedHeaders ?? []);
  const u = new Map<CoseLabel, CborValue>(unprotectedHeaders ?? []);
  const given = p.get(COSE_HEADER.alg) ?? u.get(COSE_HEADER.alg);
  if (given !== undefined && given !== alg) {
    throw new OmtError(
      'core.cose.alg-mismatch',
      `alg header ${String(given)} does not match the suite's COSE id ${alg}`,
    );
  }
  u.delete(COSE_HEADER.alg);
  p.set(COSE_HEADER.alg, alg); // RFC 9052 §3.1: alg belongs in the protected bucket
  if (signer.kid !== undefined) {
    if (u.has(COSE_HEADER.kid))
      throw invalidInput('kid given both as signer.kid and as an unprotected header');
    p.set(COSE_HEADER.kid, signer.kid);
  }
  if (x5chain !== undefined) {
    if (u.has(COSE_HEADER.x5chain))
      throw invalidInput('x5chain given both as an option and as an unprotected header');
    p.set(COSE_HEADER.x5chain, x5chainHeaderValue(x5chain));
  }
  checkHeaderBuckets(p, u);
  return { protectedHeaders: p, unprotectedHeaders: u };
}

/**
 * Encodes a COSE_Sign1 from its parts (RFC 9052 §4.2); the protected bytes are used as given.
 *
 * @example
 * ```ts
 * const bytes = encodeCoseSign1({ ...decoded, unprotectedHeaders: newHeaders });
 * ```
 */
export function encodeCoseSign1(parts: {
  readonly protectedBytes: Uint8Array;
  readonly unprotectedHeaders: CoseHeaderMap;
  readonly payload: Uint8Array | null;
  readonly signature: Uint8Array;
  readonly tagged?: boolean;
}): Uint8Array {
  const body: CborValue[] = [
    parts.protectedBytes,
    parts.unprotectedHeaders as ReadonlyMap<CborValue, CborValue>,
    parts.payload,
    parts.signature,
  ];
  return encodeCbor(parts.tagged === false ? body : new CborTag(COSE_SIGN1_TAG, body));
}

/**
 * Signs a payload into a COSE_Sign1 (RFC 9052 §4.2, §4.4). `alg` comes from the suite's
 * COSE id and is placed in the protected header, as are `kid` and `x5chain`.
 *
 * @example
 * ```ts
 * const suite = getSuite('ML-DSA-65');
 * const { secretKey } = await suite.generateKeyPair();
 * const msg = await signCoseSign1({ signer: { suite, secretKey, kid: utf8('k1') }, payload: utf8('hello') });
 * ```
 */
export async function signCoseSign1(options: SignCoseSign1Options): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw invalidInput('options are required');
  if (!isBytes(options.payload)) throw invalidInput('payload must be a Uint8Array');
  checkOptionalBytes(options.externalAad, 'externalAad');
  if (
    options.x5chain !== undefined &&
    (!Array.isArray(options.x5chain) || !options.x5chain.every((c) => isBytes(c)))
  ) {
    throw invalidInput('x5chain must be an array of Uint8Array');
  }
  const { signer } = options;
  const headers = signerHeaders(
    signer,
    options.protectedHeaders,
    options.unprotectedHeaders,
    options.x5chain,
  );
  const protectedBytes = encodeProtectedHeader(headers.protectedHeaders);
  const tbs = buildSigStructure1({
    bodyProtected: protectedBytes,
    payload: options.payload,
    ...(options.externalAad ? { externalAad: options.externalAad } : {}),
  });
  const signature = await wrapErrorsAsync('core.cose.sign-failed', 'COSE signing failed', () =>
    signer.suite.sign(signer.secretKey, tbs, signer.random ? { random: signer.random } : undefined),
  );
  return encodeCoseSign1({
    protectedBytes,
    unprotectedHeaders: headers.unprotectedHeaders,
    payload: options.detached === true ? null : options.payload,
    signature,
    tagged: options.tagged !== false,
  });
}

/**
 * Strictly decodes a COSE_Sign1 (RFC 9052 §4.2): optional tag 18 (any other tag is
 * malformed), a 4-element array `[bstr protected, map unprotected, bstr / nil payload,
 * bstr signature]`, header checks per {@link checkHeaderBuckets}. Throws
 * `core.cose.malformed` (CBOR errors kept as `cause`) or `core.cose.crit-unsupported`.
 *
 * @example
 * ```ts
 * const msg = decodeCoseSign1(bytes);
 * msg.alg; // -7
 * ```
 */
export function decodeCoseSign1(bytes: Uint8Array, policy?: CoseHeaderPolicy): CoseSign1 {
  if (!isBytes(bytes)) throw invalidInput('decodeCoseSign1 expects a Uint8Array');
  let value: CborValue;
  try {
    value = decodeCbor(bytes);
  } catch (e) {
    if (isOmtError(e) && e.code.startsWith('core.cbor.')) throw coseMalformed('not well-formed CBOR', e);
    throw e;
  }
  let tagged = false;
  if (value instanceof CborTag) {
    if (value.tag !== COSE_SIGN1_TAG)
      throw coseMalformed(`unexpected CBOR tag ${String(value.tag)} (COSE_Sign1 is 18)`);
    tagged = true;
    value = value.value;
  }
  return fromStructure(value, tagged, policy);
}

/** Interprets an already-decoded COSE_Sign1 array. */
function fromStructure(value: CborValue, tagged: boolean, policy?: CoseHeaderPolicy): CoseSign1 {
  if (!Array.isArray(value) || value.length !== 4)
    throw coseMalformed('COSE_Sign1 must be an array of 4 elements');
  const [p, u, payload, signature] = value as readonly CborValue[];
  if (!isBytes(p)) throw coseMalformed('protected header must be a byte string');
  if (!(payload === null || isBytes(payload))) throw coseMalformed('payload must be a byte string or nil');
  if (!isBytes(signature)) throw coseMalformed('signature must be a byte string');
  const protectedHeaders = decodeProtectedHeader(p);
  const unprotectedHeaders = toHeaderMap(u as CborValue, 'unprotected');
  checkHeaderBuckets(protectedHeaders, unprotectedHeaders, policy);
  const alg = findHeader(protectedHeaders, unprotectedHeaders, COSE_HEADER.alg) as CoseLabel | undefined;
  const kid = findHeader(protectedHeaders, unprotectedHeaders, COSE_HEADER.kid) as Uint8Array | undefined;
  return {
    protectedBytes: p,
    protectedHeaders,
    unprotectedHeaders,
    payload,
    signature,
    tagged,
    alg,
    algProtected: protectedHeaders.has(COSE_HEADER.alg),
    kid,
  };
}

/**
 * The body_protected value the signature covers: the received bytes, except that a protected
 * bucket with no parameters is always the zero-length bstr (RFC 9052 §4.4 "If there are no
 * protected attributes, a zero-length byte string is used"; cose-wg sign-pass-01 carries
 * h'A0' over a signature made with h'').
 *
 * @example
 * ```ts
 * buildSigStructure1({ bodyProtected: signedProtectedBytes(msg), payload });
 * ```
 */
export function signedProtectedBytes(
  message: Pick<CoseSign1, 'protectedBytes' | 'protectedHeaders'>,
): Uint8Array {
  return message.protectedHeaders.size === 0 ? new Uint8Array(0) : message.protectedBytes;
}

/**
 * Resolves `alg` to the key's suite: unsupported when no suite of ours has that COSE id,
 * a mismatch when the key's suite is not one of them (RFC 9052 §8.1 binds alg and key).
 */
export function checkAlgForKey(
  alg: CborValue,
  suite: SignatureSuite,
): { code: string; reason: string } | undefined {
  if (typeof alg !== 'number') {
    return {
      code: 'core.alg.unsupported',
      reason:
        alg === undefined ? 'no alg header' : `unsupported alg ${JSON.stringify(String(alg)).slice(0, 60)}`,
    };
  }
  const candidates = suitesForCoseAlg(alg);
  if (candidates.length === 0) return { code: 'core.alg.unsupported', reason: `unsupported COSE alg ${alg}` };
  if (!candidates.some((s) => s.id === suite.id)) {
    return {
      code: 'core.cose.alg-mismatch',
      reason: `alg ${alg} does not match the key's suite ${String(suite.id)}`,
    };
  }
  return undefined;
}

function checkVerifyKey(key: unknown): CoseVerifyKey {
  const k = key as CoseVerifyKey;
  if (typeof k !== 'object' || k === null || !isBytes(k.publicKey) || typeof k.suite?.verify !== 'function') {
    throw invalidInput('verification key must be { suite, publicKey: Uint8Array }');
  }
  return k;
}

/**
 * Verifies a COSE_Sign1 (RFC 9052 §4.4). Returns `{ valid: true, … }` or
 * `{ valid: false, code, reason }` — `core.cose.signature-invalid`, `core.cose.alg-mismatch`,
 * `core.alg.unsupported`, `core.cose.alg-unprotected`, `core.cose.payload-missing`,
 * `core.cose.key-unknown`. Structural problems throw `core.cose.malformed`; an unparsable
 * public key throws `core.key.malformed` (from the suite). ECDSA high-S signatures are
 * accepted (the suites do not enforce low-S for verification).
 *
 * @example
 * ```ts
 * const r = await verifyCoseSign1(bytes, { suite: getSuite('ES256'), publicKey });
 * if (!r.valid) console.log(r.code, r.reason);
 * ```
 */
export async function verifyCoseSign1(
  input: Uint8Array | CoseSign1,
  key: CoseVerifyKey | CoseKeyResolver,
  options?: VerifyCoseSign1Options,
): Promise<CoseVerifyResult> {
  const message = isBytes(input) ? decodeCoseSign1(input, options) : input;
  checkOptionalBytes(options?.externalAad, 'externalAad');
  checkOptionalBytes(options?.detachedPayload, 'detachedPayload');
  const fail = (code: string, reason: string): CoseVerifyResult => ({ valid: false, code, reason, message });
  if (options?.requireProtectedAlg === true && message.alg !== undefined && !message.algProtected) {
    return fail('core.cose.alg-unprotected', 'alg is not in the protected header');
  }
  const alg = message.alg;
  if (typeof alg !== 'number' || suitesForCoseAlg(alg).length === 0) {
    return fail(
      'core.alg.unsupported',
      alg === undefined ? 'no alg header' : `unsupported alg ${JSON.stringify(alg).slice(0, 60)}`,
    );
  }
  const resolved = typeof key === 'function' ? await key(alg, message) : key;
  if (resolved === undefined) return fail('core.cose.key-unknown', 'no verification key for this message');
  const k = checkVerifyKey(resolved);
  const mismatch = checkAlgForKey(alg, k.suite);
  if (mismatch) return fail(mismatch.code, mismatch.reason);
  let payload = message.payload;
  if (payload !== null && options?.detachedPayload !== undefined) {
    throw invalidInput('detachedPayload given for a message that carries its payload');
  }
  payload ??= options?.detachedPayload ?? null;
  if (payload === null)
    return fail('core.cose.payload-missing', 'payload is detached and no detachedPayload was given');
  const tbs = buildSigStructure1({
    bodyProtected: signedProtectedBytes(message),
    payload,
    ...(options?.externalAad ? { externalAad: options.externalAad } : {}),
  });
  const ok = await wrapErrorsAsync('core.cose.verify-failed', 'COSE verification failed', () =>
    k.suite.verify(k.publicKey, tbs, message.signature, options?.suiteOptions),
  );
  if (!ok) return fail('core.cose.signature-invalid', `${String(k.suite.id)} signature does not verify`);
  return { valid: true, alg, suite: k.suite.id, kid: message.kid, message };
}
