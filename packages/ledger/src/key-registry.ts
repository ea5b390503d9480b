/**
 * The signer key registry model: key ids, registration parsing and the "may this key sign at
 * time t" decision. Storage is the `KeyRegistry` port (ports.ts).
 *
 * keyId = lower-case hex SHA-256 of the raw public key (core suites/suite.ts encodings); secp256k1
 * keys are first normalised to the 33-byte compressed SEC1 form, so a compressed and an
 * uncompressed encoding of one key share one id (and one nonce space).
 */
import { isBytes, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { parseInput } from '@omt/core/input';
import { compressPublicKey, getSuite } from '@omt/core/suites';
import { z } from 'zod';
import type { KeyRegistry, SignerKey, SignerKeyAlg, SignerRegistration } from './ports.js';

/** Every key algorithm the registry accepts. */
export const SIGNER_KEY_ALGS: readonly SignerKeyAlg[] = Object.freeze([
  'ES256K',
  'Ed25519',
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
  'ML-DSA-44+Ed25519',
  'ML-DSA-65+ES256',
  'ML-DSA-87+ES384',
] as const);

/** A keyId: 64 lower-case hex characters. */
export const KEY_ID_RE: RegExp = /^[0-9a-f]{64}$/;

const bytesSchema = z.custom<Uint8Array>((v) => isBytes(v), 'expected a Uint8Array');
const dateSchema = z.date().refine((d) => !Number.isNaN(d.getTime()), 'invalid date');
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const TEXT_RE = /^[^\u0000-\u001f\u007f]*$/;

/** zod schema of a {@link SignerRegistration} (shape only; {@link parseSignerRegistration} checks the key). */
export const SignerRegistrationSchema: z.ZodType<SignerRegistration> = z
  .object({
    keyId: z.string().regex(KEY_ID_RE, 'keyId: 64 lower-case hex characters'),
    alg: z.enum(SIGNER_KEY_ALGS as unknown as [SignerKeyAlg, ...SignerKeyAlg[]]),
    publicKey: bytesSchema,
    validFrom: dateSchema,
    validUntil: dateSchema.optional(),
    label: z.string().max(256).regex(TEXT_RE, 'no control characters').optional(),
  })
  .strict();

/**
 * Compressed secp256k1 keys by the bytes they were given as (public data, so a bounded global map
 * is safe): checking a point costs a square root (~70 µs), and a verifier sees the same few
 * signers' keys over and over, each time as fresh bytes. Only valid keys are stored; callers get
 * copies.
 */
const compressedKeys = new Map<string, Uint8Array>();
const MAX_COMPRESSED_KEYS = 1024;

function compressedSecp256k1(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 33 && publicKey.length !== 65) return compressPublicKey(publicKey); // throws
  const id = toHex(publicKey);
  const hit = compressedKeys.get(id);
  if (hit !== undefined) return hit.slice();
  const key = compressPublicKey(publicKey);
  if (compressedKeys.size >= MAX_COMPRESSED_KEYS)
    compressedKeys.delete(compressedKeys.keys().next().value as string);
  compressedKeys.set(id, key.slice());
  return key;
}

/**
 * Normalises a raw public key for `alg` (secp256k1 → 33-byte compressed) after checking it parses.
 * Throws `ledger.signer.key-malformed`.
 * @example
 * ```ts
 * normalizeSignerKey('ES256K', uncompressed65); // 33 bytes
 * ```
 */
export function normalizeSignerKey(alg: SignerKeyAlg, publicKey: Uint8Array): Uint8Array {
  if (!isBytes(publicKey)) throw new OmtError('ledger.signer.key-malformed', 'public key must be bytes');
  try {
    if (alg === 'ES256K') return compressedSecp256k1(publicKey);
    const suite = getSuite(alg);
    if (suite.publicKeySize !== undefined && publicKey.length !== suite.publicKeySize) {
      throw new OmtError(
        'ledger.signer.key-malformed',
        `${alg} public key must be ${suite.publicKeySize} bytes, got ${publicKey.length}`,
      );
    }
    return publicKey.slice();
  } catch (e) {
    if (e instanceof OmtError && e.code === 'ledger.signer.key-malformed') throw e;
    throw new OmtError('ledger.signer.key-malformed', `not a valid ${alg} public key`, { cause: e });
  }
}

/**
 * The keyId of a public key: lower-case hex SHA-256 of its normalised raw form.
 * @example
 * ```ts
 * signerKeyId('ML-DSA-65', kp.publicKey); // '3f1c…' (64 hex chars)
 * ```
 */
export function signerKeyId(alg: SignerKeyAlg, publicKey: Uint8Array): string {
  return toHex(sha256(normalizeSignerKey(alg, publicKey)));
}

/**
 * Builds a registration for a raw public key (keyId computed, key normalised and checked).
 * @example
 * ```ts
 * await registry.register(signerRegistration('ES256K', pk, { validFrom: new Date() }), new Date());
 * ```
 */
export function signerRegistration(
  alg: SignerKeyAlg,
  publicKey: Uint8Array,
  options: { validFrom: Date; validUntil?: Date; label?: string },
): SignerRegistration {
  const key = normalizeSignerKey(alg, publicKey);
  return parseSignerRegistration({
    keyId: toHex(sha256(key)),
    alg,
    publicKey: key,
    validFrom: options.validFrom,
    ...(options.validUntil === undefined ? {} : { validUntil: options.validUntil }),
    ...(options.label === undefined ? {} : { label: options.label }),
  });
}

/**
 * Parses outside input into a registration whose keyId matches its (normalised) key and whose
 * validity interval is not empty. Errors: `ledger.signer.invalid`, `ledger.signer.key-malformed`.
 * @example
 * ```ts
 * const reg = parseSignerRegistration(untrusted);
 * ```
 */
export function parseSignerRegistration(input: unknown): SignerRegistration {
  const r = parseInput(SignerRegistrationSchema, input, 'ledger.signer.invalid', 'signer registration');
  const key = normalizeSignerKey(r.alg, r.publicKey);
  if (toHex(sha256(key)) !== r.keyId)
    throw new OmtError('ledger.signer.invalid', 'keyId is not the SHA-256 of the normalised public key');
  if (r.validUntil !== undefined && r.validUntil.getTime() <= r.validFrom.getTime())
    throw new OmtError('ledger.signer.invalid', 'validUntil must be after validFrom');
  return {
    keyId: r.keyId,
    alg: r.alg,
    publicKey: key,
    validFrom: new Date(r.validFrom.getTime()),
    ...(r.validUntil === undefined ? {} : { validUntil: new Date(r.validUntil.getTime()) }),
    ...(r.label === undefined ? {} : { label: r.label }),
  };
}

/** True when two registrations are the same (what makes `register` idempotent). */
export function sameRegistration(a: SignerRegistration, b: SignerRegistration): boolean {
  return (
    a.keyId === b.keyId &&
    a.alg === b.alg &&
    toHex(a.publicKey) === toHex(b.publicKey) &&
    a.validFrom.getTime() === b.validFrom.getTime() &&
    (a.validUntil?.getTime() ?? null) === (b.validUntil?.getTime() ?? null) &&
    (a.label ?? null) === (b.label ?? null)
  );
}

/** One reason a signer may not sign at a given time. */
export interface SignerProblem {
  readonly code:
    | 'ledger.signer.unknown'
    | 'ledger.signer.revoked'
    | 'ledger.signer.not-yet-valid'
    | 'ledger.signer.expired';
  readonly message: string;
}

/**
 * Why `key` may not sign something dated `at` (empty: it may). A revoked key signs nothing, whatever
 * the date (a revocation usually means the key leaked, so back-dated signatures are not trusted).
 * @example
 * ```ts
 * signerProblems(await registry.lookup(keyId), new Date(record.timestamp)); // []
 * ```
 */
export function signerProblems(key: SignerKey | undefined, at: Date): SignerProblem[] {
  if (key === undefined) return [{ code: 'ledger.signer.unknown', message: 'signer is not registered' }];
  const out: SignerProblem[] = [];
  if (key.status === 'revoked') out.push({ code: 'ledger.signer.revoked', message: 'signer key is revoked' });
  if (at.getTime() < key.validFrom.getTime())
    out.push({ code: 'ledger.signer.not-yet-valid', message: 'signed before the key became valid' });
  if (key.validUntil !== undefined && at.getTime() >= key.validUntil.getTime())
    out.push({ code: 'ledger.signer.expired', message: 'signed after the key stopped being valid' });
  return out;
}

/** Parses a keyId argument (`ledger.signer.invalid`). */
export function parseKeyId(keyId: unknown): string {
  return parseInput(z.string().regex(KEY_ID_RE), keyId, 'ledger.signer.invalid', 'keyId');
}

/** Parses a revocation reason argument (`ledger.signer.invalid`). */
export function parseRevocationReason(reason: unknown): string | undefined {
  return parseInput(
    z.string().max(256).regex(TEXT_RE, 'no control characters').optional(),
    reason,
    'ledger.signer.invalid',
    'revocation reason',
  );
}

/** Parses a date argument (`code`). */
export function parseDate(value: unknown, code: string, what: string): Date {
  return parseInput(dateSchema, value, code, what);
}

/** A registry that can be used where a KeyRegistry is required (type guard for outside input). */
export function isKeyRegistry(v: unknown): v is KeyRegistry {
  const r = v as Partial<KeyRegistry> | null;
  return typeof r === 'object' && r !== null && typeof r.lookup === 'function';
}
