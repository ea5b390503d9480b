/**
 * Signed publishing intents. A rights holder signs on their own device; the server only verifies.
 *
 * ```json
 * { "protocol": "omt-publish", "version": 1,
 *   "record": { …, "timestamp": "2026-01-02T03:04:05.678Z", "nonce": "q3V0cR2m8yq1kXkz3QmE7w" },
 *   "signer": { "pubkey": "<base64url raw public key>" },
 *   "signature": { "alg": "ES256K-DER", "hash": "<hex SHA-256>", "sig": "<base64url>" } }
 * ```
 *
 * Signed bytes: H = SHA-256(RFC 8785 JCS(record)); `signature.hash` is hex(H). Key order,
 * whitespace and number spelling of the record therefore never change H.
 *
 * Signature algorithms (`signature.alg`), each over H:
 * - `ES256K-DER` — the original design and what Bitcoin wallets produce: ECDSA secp256k1 directly
 *   over the 32-byte H (no second hash, as Bitcoin signs a sighash), strict BIP66 DER, low-S
 *   required (BIP62 rule 5). Public key: SEC1, compressed (33 B) or uncompressed (65 B). Both
 *   ES256K forms are computed as ECDSA-SHA-256 over the JCS bytes, which is the same ECDSA over
 *   H, so core's `*Secp256k1MessageAsync` serve them — on Node natively (node:crypto on libuv's
 *   threadpool, so concurrent verifications use every core): {@link intentSigner} then signs with
 *   OpenSSL's random nonce (RFC 6979, hedged, where it runs portable or is given a RandomSource);
 *   `IntentSigner.sign(H)` stays RFC 6979 over H for wallets' sake.
 * - `ES256K` — the same ECDSA over H but as raw r‖s (64 B), low-S. Because ECDSA-SHA-256 over the
 *   JCS bytes *is* ECDSA over H, this equals JOSE/COSE ES256K over the JCS text of the record.
 * - `ML-DSA-44|65|87`, `Ed25519`, `ML-DSA-44+Ed25519|ML-DSA-65+ES256|ML-DSA-87+ES384`: the core
 *   suite (`getSuite(alg)`) signs the 32 bytes of H as its message (ML-DSA with an empty context;
 *   hybrid per core suites/hybrid.ts). ML-DSA-65 is the default for new signers.
 *
 * Verification ({@link verifyIntent}) returns data listing every failure; the nonce is consumed
 * (atomically, through the `NonceStore` port) only when everything else passed, and every
 * decision is appended to the audit log when one is given.
 */
import type { AuditLog } from '@omt/core/audit-log';
import { fromBase64Url, isBytes, toBase64Url, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { parseInput } from '@omt/core/input';
import { canonicalizeToBytes, type JsonValue, parseJson } from '@omt/core/jcs';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import {
  getSuite,
  signSecp256k1,
  signSecp256k1MessageAsync,
  verifySecp256k1MessageAsync,
} from '@omt/core/suites';
import { z } from 'zod';
import { generateNonce, NONCE_RE } from './intent-nonce.js';
import { normalizeSignerKey, signerKeyId, signerProblems } from './key-registry.js';
import type { KeyRegistry, NonceStore, SignerKeyAlg } from './ports.js';

/** The `protocol` of an intent. */
export const INTENT_PROTOCOL = 'omt-publish' as const;
/** The `version` of the intent format. */
export const INTENT_VERSION = 1 as const;
/** Default allowed clock skew between the record's timestamp and the verifier's clock: ±10 min. */
export const DEFAULT_INTENT_SKEW_MS = 600_000;
/** Upper bound on the canonical size of a record. */
export const MAX_RECORD_BYTES: number = 64 * 1024;

/** Signature algorithms of intents (see the file header). */
export type IntentAlg =
  | 'ES256K'
  | 'ES256K-DER'
  | 'Ed25519'
  | 'ML-DSA-44'
  | 'ML-DSA-65'
  | 'ML-DSA-87'
  | 'ML-DSA-44+Ed25519'
  | 'ML-DSA-65+ES256'
  | 'ML-DSA-87+ES384';

/** Every intent algorithm. */
export const INTENT_ALGS: readonly IntentAlg[] = Object.freeze([
  'ES256K',
  'ES256K-DER',
  'Ed25519',
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
  'ML-DSA-44+Ed25519',
  'ML-DSA-65+ES256',
  'ML-DSA-87+ES384',
] as const);

/** The record: any JSON object with a `timestamp` (RFC 3339, UTC) and a `nonce`. */
export interface IntentRecord {
  readonly timestamp: string;
  readonly nonce: string;
  readonly [member: string]: JsonValue;
}

/** A signed intent (see the file header). */
export interface Intent {
  readonly protocol: typeof INTENT_PROTOCOL;
  readonly version: typeof INTENT_VERSION;
  readonly record: IntentRecord;
  readonly signer: { readonly pubkey: string };
  readonly signature: { readonly alg: IntentAlg; readonly hash: string; readonly sig: string };
}

/** Signs H on the client; {@link intentSigner} builds one from a raw secret key. */
export interface IntentSigner {
  readonly alg: IntentAlg;
  /** Raw public key (suite encoding; secp256k1 SEC1). */
  readonly publicKey: Uint8Array;
  sign(hash: Uint8Array): Promise<Uint8Array>;
  /**
   * Optional: signs the canonical (JCS) record bytes themselves, giving the same signature
   * format as `sign(SHA-256(bytes))`. {@link createIntent} prefers it: ECDSA over H equals
   * ECDSA-SHA-256 over the bytes, which lets ES256K run on the platform's native ECDSA.
   */
  signCanonical?(canonical: Uint8Array): Promise<Uint8Array>;
}

/** The key algorithm behind an intent algorithm (`ES256K-DER` keys are `ES256K` keys). */
export function keyAlgOf(alg: IntentAlg): SignerKeyAlg {
  return alg === 'ES256K-DER' ? 'ES256K' : alg;
}

/**
 * The intent algorithm a key of `suite` signs with: secp256k1 keys sign DER (`ES256K-DER`, as
 * Bitcoin tooling expects) unless `compact` asks for the 64-byte form; other suites sign as
 * themselves. Throws `ledger.signature.alg-unsupported` for a suite no intent algorithm covers.
 * @example `intentSigner(intentAlgFor(importPem(pem).suite), key.secretKey)`
 */
export function intentAlgFor(suite: string, options?: { readonly compact?: boolean }): IntentAlg {
  const alg = suite === 'ES256K' ? (options?.compact === true ? 'ES256K' : 'ES256K-DER') : suite;
  if (!(INTENT_ALGS as readonly string[]).includes(alg))
    throw new OmtError(
      'ledger.signature.alg-unsupported',
      `${suite} keys cannot sign intents (one of: ${INTENT_ALGS.join(', ')})`,
    );
  return alg as IntentAlg;
}

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

const timestampSchema = z
  .string()
  .regex(TIMESTAMP_RE, 'timestamp: RFC 3339 UTC, e.g. 2026-01-02T03:04:05.678Z')
  .refine(isRealTimestamp, 'timestamp: not a real date and time');

/** Date.parse rolls 2026-02-30 over to March; require the fields to survive the round trip. */
function isRealTimestamp(t: string): boolean {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return false;
  return d.toISOString().slice(0, 19) === t.slice(0, 19);
}

const recordSchema = z.looseObject({
  timestamp: timestampSchema,
  nonce: z.string().regex(NONCE_RE, 'nonce: 8–128 base64url characters'),
});

const intentSchema = z
  .object({
    protocol: z.string().max(64),
    version: z.number(),
    record: recordSchema,
    signer: z.object({ pubkey: z.string().min(1).max(8192).regex(B64URL_RE, 'pubkey: base64url') }).strict(),
    signature: z
      .object({
        alg: z.string().max(64),
        hash: z.string().regex(/^[0-9a-f]{64}$/, 'hash: 64 lower-case hex characters'),
        sig: z.string().min(1).max(16_384).regex(B64URL_RE, 'sig: base64url'),
      })
      .strict(),
  })
  .strict();

// Built once: a zod schema costs more to construct than to run.
const skewSchema = z.number().int().min(0).max(31_536_000_000).optional();

/**
 * H = SHA-256(JCS(record)), the bytes an intent signs. Throws `ledger.intent.schema` for a value
 * JCS cannot canonicalize (not I-JSON) or a record larger than {@link MAX_RECORD_BYTES}.
 * @example
 * ```ts
 * toHex(intentRecordHash({ b: 1, a: 2 })) === toHex(intentRecordHash({ a: 2, b: 1 })); // true
 * ```
 */
export function intentRecordHash(record: unknown): Uint8Array {
  return canonicalRecord(record).hash;
}

/** JCS(record) and its SHA-256; errors as {@link intentRecordHash}. */
function canonicalRecord(record: unknown): { bytes: Uint8Array; hash: Uint8Array } {
  let bytes: Uint8Array;
  try {
    bytes = canonicalizeToBytes(record);
  } catch (e) {
    throw new OmtError('ledger.intent.schema', 'record is not canonicalizable JSON (RFC 8785)', { cause: e });
  }
  if (bytes.length > MAX_RECORD_BYTES)
    throw new OmtError('ledger.intent.schema', `record exceeds ${MAX_RECORD_BYTES} bytes in canonical form`);
  return { bytes, hash: sha256(bytes) };
}

/**
 * An {@link IntentSigner} over a raw secret key (core suite encodings; secp256k1: 32-byte scalar).
 * @example
 * ```ts
 * const kp = await getSuite('ML-DSA-65').generateKeyPair();
 * const signer = await intentSigner('ML-DSA-65', kp.secretKey);
 * ```
 */
export async function intentSigner(
  alg: IntentAlg,
  secretKey: Uint8Array,
  options?: { random?: RandomSource },
): Promise<IntentSigner> {
  const a = parseInput(z.enum(INTENT_ALGS as unknown as [IntentAlg]), alg, 'ledger.intent.invalid', 'alg');
  if (!isBytes(secretKey)) throw new OmtError('ledger.intent.invalid', 'secret key must be bytes');
  const sk = secretKey.slice();
  const suite = getSuite(keyAlgOf(a));
  const publicKey = await suite.publicKeyFromSecret(sk);
  const random = options?.random;
  const sign = async (hash: Uint8Array): Promise<Uint8Array> => {
    if (a === 'ES256K' || a === 'ES256K-DER')
      return signSecp256k1(sk, hash, {
        format: a === 'ES256K' ? 'compact' : 'der',
        ...(random === undefined ? {} : { random }),
      });
    return suite.sign(sk, hash, random === undefined ? undefined : { random });
  };
  if (a !== 'ES256K' && a !== 'ES256K-DER') return { alg: a, publicKey, sign };
  // ECDSA-SHA-256 over the JCS bytes = ECDSA over H (see the file header): native where core
  // has node:crypto; low-S on every path. An injected RandomSource keeps the portable (hedged
  // RFC 6979) path, so the caller's randomness is what is used.
  const format = a === 'ES256K' ? 'compact' : 'der';
  const signCanonical = (canonical: Uint8Array): Promise<Uint8Array> =>
    signSecp256k1MessageAsync(sk, canonical, {
      format,
      publicKey,
      ...(random === undefined ? {} : { random }),
    });
  return { alg: a, publicKey, sign, signCanonical };
}

/**
 * Signs a record client-side. Adds `timestamp` (from `clock`) and `nonce` (16 random bytes)
 * when the record lacks them. Throws `ledger.intent.schema` for a record that is not a JSON
 * object, has a malformed timestamp/nonce, or is not canonicalizable.
 * @example
 * ```ts
 * const intent = await createIntent({ rid: 'urn:uuid:…', uri: 'https://…' }, signer);
 * ```
 */
export async function createIntent(
  record: Record<string, unknown>,
  signer: IntentSigner,
  options?: { clock?: Clock; random?: RandomSource },
): Promise<Intent> {
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    throw new OmtError('ledger.intent.schema', 'record must be a JSON object');
  const clock = options?.clock ?? systemClock;
  const full: Record<string, unknown> = {
    ...record,
    timestamp: record.timestamp ?? clock().toISOString(),
    nonce: record.nonce ?? generateNonce(options?.random ?? platformRandom),
  };
  const checked = recordSchema.safeParse(full);
  if (!checked.success)
    throw new OmtError('ledger.intent.schema', `invalid record: ${checked.error.issues[0]?.message}`);
  const { bytes, hash } = canonicalRecord(full);
  const sig =
    signer.signCanonical === undefined ? await signer.sign(hash) : await signer.signCanonical(bytes);
  // Round-trip through JSON so the intent holds exactly what a verifier will parse.
  const canonical = parseJson(canonicalizeToBytes(full)) as unknown as IntentRecord;
  return {
    protocol: INTENT_PROTOCOL,
    version: INTENT_VERSION,
    record: canonical,
    signer: { pubkey: toBase64Url(signer.publicKey) },
    signature: { alg: signer.alg, hash: toHex(hash), sig: toBase64Url(sig) },
  };
}

/** One failed check. */
export interface IntentProblem {
  readonly code: string;
  readonly message: string;
}

/** Result of {@link verifyIntent}; `valid` iff `problems` is empty (and then the nonce was consumed). */
export interface IntentVerification {
  readonly valid: boolean;
  readonly problems: readonly IntentProblem[];
  /** The parsed intent, when it passed the schema. */
  readonly intent?: Intent;
  /** hex H, when the record could be canonicalized. */
  readonly hash?: string;
  /** The signer's keyId, when the public key parsed. */
  readonly keyId?: string;
}

/** Options of {@link verifyIntent}. */
export interface VerifyIntentOptions {
  readonly registry: KeyRegistry;
  readonly nonces: NonceStore;
  /** Default: the platform clock. */
  readonly clock?: Clock;
  /** Allowed |record.timestamp − now| in ms; default {@link DEFAULT_INTENT_SKEW_MS}. */
  readonly skewMs?: number;
  /** When given, every decision is appended (action `ledger.intent.verify`). */
  readonly audit?: AuditLog;
}

function problem(code: string, message: string): IntentProblem {
  return { code, message };
}

async function checkSignature(
  alg: IntentAlg,
  publicKey: Uint8Array,
  record: { bytes: Uint8Array; hash: Uint8Array },
  sig: Uint8Array,
): Promise<boolean> {
  if (alg === 'ES256K' || alg === 'ES256K-DER') {
    // Strict BIP66 DER (or r‖s) with 0 < r, s < n and low-S (BIP62 rule 5) for both encodings;
    // then ECDSA over H = ECDSA-SHA-256 over the canonical bytes — natively where core can.
    return verifySecp256k1MessageAsync(publicKey, record.bytes, sig, {
      format: alg === 'ES256K' ? 'compact' : 'der',
    });
  }
  return getSuite(alg).verify(publicKey, record.hash, sig);
}

/** {@link checkSignature} where anything thrown (bad base64url, malformed key) is `false`. */
async function checkSignatureSafely(
  alg: IntentAlg,
  publicKey: Uint8Array,
  record: { bytes: Uint8Array; hash: Uint8Array },
  sig: string,
): Promise<boolean> {
  try {
    return await checkSignature(alg, publicKey, record, fromBase64Url(sig));
  } catch {
    return false;
  }
}

/**
 * Verifies an intent (object or JSON text) and, when everything else passes, consumes its nonce.
 * Problems (all that apply are reported): `ledger.intent.schema`, `ledger.intent.protocol`,
 * `ledger.intent.hash-mismatch`, `ledger.signature.alg-unsupported`, `ledger.signer.key-malformed`,
 * `ledger.signature.invalid`, `ledger.timestamp.skew`, `ledger.signer.unknown`,
 * `ledger.signer.revoked`, `ledger.signer.not-yet-valid`, `ledger.signer.expired`,
 * `ledger.signer.alg-mismatch`, `ledger.nonce.replayed`. Store failures (database down) throw.
 * @example
 * ```ts
 * const v = await verifyIntent(body, { registry, nonces, audit });
 * if (!v.valid) return json(400, v.problems);
 * ```
 */
export async function verifyIntent(
  input: unknown,
  options: VerifyIntentOptions,
): Promise<IntentVerification> {
  const clock = options.clock ?? systemClock;
  const skewMs =
    parseInput(skewSchema, options.skewMs, 'ledger.intent.invalid', 'skewMs') ?? DEFAULT_INTENT_SKEW_MS;
  const result = await evaluate(input, options, clock, skewMs);
  if (options.audit !== undefined) {
    const i = result.intent;
    await options.audit.append({
      actor: result.keyId ?? 'unknown',
      action: 'ledger.intent.verify',
      subject: result.hash ?? 'unparsed',
      outcome: result.valid ? 'allow' : 'deny',
      details: {
        codes: result.problems.map((p) => p.code),
        ...(i === undefined
          ? {}
          : { alg: i.signature.alg, nonce: i.record.nonce, timestamp: i.record.timestamp }),
      },
    });
  }
  return result;
}

async function evaluate(
  input: unknown,
  options: VerifyIntentOptions,
  clock: Clock,
  skewMs: number,
): Promise<IntentVerification> {
  let value = input;
  if (typeof input === 'string' || isBytes(input)) {
    try {
      value = parseJson(input);
    } catch (e) {
      const why = e instanceof OmtError ? e.message : 'not JSON';
      return {
        valid: false,
        problems: [problem('ledger.intent.schema', `intent is not strict JSON: ${why}`)],
      };
    }
  }
  const parsed = intentSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return { valid: false, problems: [problem('ledger.intent.schema', `invalid intent: ${issues}`)] };
  }
  const raw = parsed.data;
  let record: { bytes: Uint8Array; hash: Uint8Array };
  try {
    record = canonicalRecord(raw.record);
  } catch (e) {
    return { valid: false, problems: [problem('ledger.intent.schema', (e as Error).message)] };
  }
  const intent = raw as unknown as Intent;
  const hashHex = toHex(record.hash);
  const problems: IntentProblem[] = [];
  if (raw.protocol !== INTENT_PROTOCOL || raw.version !== INTENT_VERSION)
    problems.push(
      problem('ledger.intent.protocol', `expected protocol ${INTENT_PROTOCOL} version ${INTENT_VERSION}`),
    );
  if (raw.signature.hash !== hashHex)
    problems.push(
      problem('ledger.intent.hash-mismatch', 'signature.hash is not SHA-256 of the canonical record'),
    );

  const alg = (INTENT_ALGS as readonly string[]).includes(raw.signature.alg)
    ? (raw.signature.alg as IntentAlg)
    : undefined;
  let keyId: string | undefined;
  let publicKey: Uint8Array | undefined;
  if (alg === undefined) {
    problems.push(problem('ledger.signature.alg-unsupported', 'unsupported signature algorithm'));
  } else {
    try {
      publicKey = normalizeSignerKey(keyAlgOf(alg), fromBase64Url(raw.signer.pubkey));
      keyId = signerKeyId(keyAlgOf(alg), publicKey);
    } catch (e) {
      problems.push(
        problem('ledger.signer.key-malformed', `signer.pubkey is not a ${keyAlgOf(alg)} public key`),
      );
      void e;
    }
  }
  // The signature check (threadpool) and the registry lookup (database) run side by side;
  // Promise.all handles both at once, so a failing lookup is never an unhandled rejection.
  const signatureCheck =
    alg !== undefined && publicKey !== undefined
      ? checkSignatureSafely(alg, publicKey, record, raw.signature.sig)
      : undefined;
  const lookup = keyId !== undefined && alg !== undefined ? options.registry.lookup(keyId) : undefined;
  const [signatureOk, key] = await Promise.all([signatureCheck, lookup]);
  if (signatureOk === false)
    problems.push(problem('ledger.signature.invalid', 'the signature does not verify over the record hash'));

  const signedAt = new Date(raw.record.timestamp);
  const now = clock().getTime();
  if (Math.abs(signedAt.getTime() - now) > skewMs)
    problems.push(
      problem(
        'ledger.timestamp.skew',
        `record timestamp is more than ${skewMs} ms from the verifier's clock`,
      ),
    );

  if (keyId !== undefined && alg !== undefined) {
    problems.push(...signerProblems(key, signedAt));
    if (key !== undefined && key.alg !== keyAlgOf(alg))
      problems.push(problem('ledger.signer.alg-mismatch', `signer is registered for ${key.alg}, not ${alg}`));
  }

  const nonce = raw.record.nonce;
  if (keyId !== undefined) {
    if (problems.length === 0) {
      const fresh = await options.nonces.consume({
        signer: keyId,
        nonce,
        hash: hashHex,
        timestamp: signedAt,
      });
      if (!fresh)
        problems.push(problem('ledger.nonce.replayed', 'this nonce was already used by this signer'));
    } else if (await options.nonces.has(keyId, nonce)) {
      problems.push(problem('ledger.nonce.replayed', 'this nonce was already used by this signer'));
    }
  }
  return {
    valid: problems.length === 0,
    problems,
    intent,
    hash: hashHex,
    ...(keyId === undefined ? {} : { keyId }),
  };
}
