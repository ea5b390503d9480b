/**
 * Chain events (docs/event-chains.md "Events"): the signed unit of a per-subject chain.
 *
 * ```json
 * { "v": 1, "chain": "item:7f3a…", "machine": "omt.item/v1", "height": 0, "prev": null,
 *   "type": "registerManufacturer", "payload": { … }, "time": "2026-11-22T10:00:00.000Z",
 *   "signatures": [ { "keyId": "…", "alg": "ML-DSA-65", "pub": "base64url", "sig": "base64url" } ] }
 * ```
 *
 * - Event hash = SHA-256 of the RFC 8785 (JCS) bytes of the event without `signatures`, lower-case
 *   hex: the event's id and the next event's `prev`. Signatures are outside the hash, so parties
 *   may sign one event on separate devices ({@link signEvent} appends).
 * - Each signer signs `utf8("omt.event.v1\n") ‖ eventHash (32 bytes)` with its core suite (ML-DSA
 *   with the empty context; ES256/ES256K are ECDSA-SHA-256 over those bytes, P1363 r‖s).
 * - A party is `{ alg, pub }`; its keyId is the lower-case hex SHA-256 of the raw public key, the
 *   key registry's rule: secp256k1 keys in 33-byte compressed form, P-256 keys uncompressed
 *   (65 B), so either SEC1 spelling of one key has one id.
 * - Limits: event JSON ≤ 64 KiB, ≤ 8 signatures, `time` ISO-8601 UTC with milliseconds, `chain`
 *   `^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9._:-]{1,128}$`.
 *
 * Whether an event may extend a chain (transition, signer rights, height, prev, time) is the
 * state machine's business (machine.ts `applyEvent`); this file only knows the format.
 */
import { p256 } from '@noble/curves/nist.js';
import { concatBytes, fromBase64Url, fromHex, isBytes, toBase64Url, toHex, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256Public } from '@omt/core/hash';
import { canonicalize, canonicalizeToBytes, type JsonValue, parseJson } from '@omt/core/jcs';
import { compressPublicKey, getSuite } from '@omt/core/suites';
import * as z from 'zod/mini';

/** The event format version (`v`). */
export const EVENT_VERSION = 1 as const;
/** Upper bound on an event's JSON (the text given, or the canonical form of an object). */
export const MAX_EVENT_BYTES: number = 64 * 1024;
/** Upper bound on the signatures of one event. */
export const MAX_EVENT_SIGNATURES = 8 as const;
/** A chain id: a subject kind, a colon, the subject's id. */
export const CHAIN_ID_RE: RegExp = /^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9._:-]{1,128}$/;
/** A machine id such as `omt.item/v1`. */
export const MACHINE_ID_RE: RegExp = /^[a-z][a-z0-9.-]{0,63}\/v[1-9][0-9]{0,3}$/;
/** An event type such as `registerManufacturer`. */
export const EVENT_TYPE_RE: RegExp = /^[a-z][A-Za-z0-9]{0,63}$/;
/** `time`: ISO-8601 UTC with exactly three fractional digits (what `Date#toISOString` gives). */
export const EVENT_TIME_RE: RegExp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The domain separator in front of the event hash in {@link eventSigningInput}. */
export const EVENT_SIGNING_CONTEXT = 'omt.event.v1\n' as const;

/** Signature algorithms of event parties (core suites). */
export type EventAlg =
  | 'ML-DSA-44'
  | 'ML-DSA-65'
  | 'ML-DSA-87'
  | 'Ed25519'
  | 'ES256'
  | 'ES256K'
  | 'ML-DSA-44+Ed25519'
  | 'ML-DSA-65+ES256'
  | 'ML-DSA-87+ES384';

/** Every event algorithm. */
export const EVENT_ALGS: readonly EventAlg[] = Object.freeze([
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
  'Ed25519',
  'ES256',
  'ES256K',
  'ML-DSA-44+Ed25519',
  'ML-DSA-65+ES256',
  'ML-DSA-87+ES384',
] as const);

/** The algorithm of a signer that names none. */
export const DEFAULT_EVENT_ALG: EventAlg = 'ML-DSA-65';

/** An actor: a public key (`pub` raw, base64url). */
export interface Party {
  readonly alg: EventAlg;
  readonly pub: string;
}

/** One actor signature of an event. */
export interface EventSignature {
  /** {@link partyKeyId} of `{ alg, pub }`. */
  readonly keyId: string;
  readonly alg: EventAlg;
  /** Raw public key, base64url. */
  readonly pub: string;
  /** Signature over {@link eventSigningInput}, base64url. */
  readonly sig: string;
}

/** An event before signing: everything the hash covers. */
export interface UnsignedChainEvent {
  readonly v: typeof EVENT_VERSION;
  readonly chain: string;
  readonly machine: string;
  readonly height: number;
  /** Hex event hash of height − 1; null at height 0. */
  readonly prev: string | null;
  readonly type: string;
  readonly payload: { readonly [member: string]: JsonValue };
  /** ISO-8601 UTC with milliseconds. */
  readonly time: string;
}

/** A signed event. */
export interface ChainEvent extends UnsignedChainEvent {
  readonly signatures: readonly EventSignature[];
}

/** One finding of a validator (statuses are data, not exceptions). */
export interface EventStatus {
  readonly code: string;
  readonly message: string;
}

/** A key that signs events: raw suite encodings; `alg` defaults to ML-DSA-65. */
export interface EventSigner {
  readonly alg?: EventAlg;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

const HEX64_RE = /^[0-9a-f]{64}$/;
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

/** Date.parse rolls 2026-02-30 over to March; require the fields to survive the round trip. */
function isRealTime(t: string): boolean {
  const d = new Date(t);
  return !Number.isNaN(d.getTime()) && d.toISOString() === t;
}

const timeSchema = z
  .string()
  .check(
    z.regex(EVENT_TIME_RE, 'time: ISO-8601 UTC with milliseconds, e.g. 2026-11-22T10:00:00.000Z'),
    z.refine(isRealTime, 'time: not a real date and time'),
  );

/** zod/mini schema of an event time (also for times inside payloads, such as an offer's expiry). */
export const EventTimeSchema: z.ZodMiniType<string> = timeSchema;

/** zod/mini schema of a party keyId (64 lower-case hex characters). */
export const PartyKeyIdSchema: z.ZodMiniType<string> = z
  .string()
  .check(z.regex(HEX64_RE, 'a party keyId: 64 lower-case hex characters'));

const algSchema = z.enum(EVENT_ALGS as unknown as [EventAlg, ...EventAlg[]]);

const signatureSchema = z.strictObject({
  keyId: z.string().check(z.regex(HEX64_RE, 'keyId: 64 lower-case hex characters')),
  alg: algSchema,
  pub: z.string().check(z.minLength(1), z.maxLength(8192), z.regex(B64URL_RE, 'pub: base64url')),
  sig: z.string().check(z.minLength(1), z.maxLength(16_384), z.regex(B64URL_RE, 'sig: base64url')),
});

const unsignedShape = {
  v: z.literal(EVENT_VERSION),
  chain: z.string().check(z.regex(CHAIN_ID_RE, 'chain: kind:id, e.g. item:7f3a')),
  machine: z.string().check(z.regex(MACHINE_ID_RE, 'machine: name/vN, e.g. omt.item/v1')),
  height: z.int().check(z.gte(0), z.lte(Number.MAX_SAFE_INTEGER)),
  prev: z.nullable(z.string().check(z.regex(HEX64_RE, 'prev: 64 lower-case hex characters'))),
  type: z.string().check(z.regex(EVENT_TYPE_RE, 'type: an identifier such as mint')),
  payload: z.record(z.string(), z.unknown()),
  time: timeSchema,
};

const prevMatchesHeight = z.refine((e: unknown) => {
  const { height, prev } = e as { height: number; prev: string | null };
  return (height === 0) === (prev === null);
}, 'prev must be null exactly at height 0');

// Signatures optional here: signEvent appends to an event that may already carry some.
const signableSchema = z
  .strictObject({
    ...unsignedShape,
    signatures: z.optional(z.array(signatureSchema).check(z.maxLength(MAX_EVENT_SIGNATURES))),
  })
  .check(prevMatchesHeight);
const eventSchema = z
  .strictObject({
    ...unsignedShape,
    signatures: z.array(signatureSchema).check(z.minLength(1), z.maxLength(MAX_EVENT_SIGNATURES)),
  })
  .check(prevMatchesHeight);

/** The zod (mini) schema of a signed event's shape; {@link parseEvent} adds the size and JSON rules. */
export const ChainEventSchema: z.ZodMiniType<unknown> = eventSchema;

function malformed(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.event.malformed', message, cause === undefined ? undefined : { cause });
}

function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** A fresh JSON copy of a value (I-JSON per JCS) and its canonical byte length. */
function jsonCopy(value: unknown): { value: JsonValue; size: number } {
  const bytes = canonicalizeToBytes(value);
  return { value: parseJson(bytes), size: bytes.length };
}

function duplicateKeyId(signatures: readonly { keyId: string }[]): string | undefined {
  const seen = new Set<string>();
  for (const s of signatures) {
    if (seen.has(s.keyId)) return s.keyId;
    seen.add(s.keyId);
  }
  return undefined;
}

/**
 * Parses outside input (JSON text, UTF-8 bytes or a value) into a {@link ChainEvent}: strict JSON
 * (no duplicate member names), ≤ {@link MAX_EVENT_BYTES}, the exact format (no unknown members),
 * 1–8 signatures with distinct keyIds. Signatures are not verified here
 * ({@link verifyEventSignatures}). Anything else throws `ledger.event.malformed`. Returns a fresh,
 * deep-frozen copy (derive changed events with spreads, e.g. `{ ...event, height: 1 }`); given one
 * of its own results, returns it as it is.
 * @example
 * ```ts
 * const event = parseEvent(await request.text());
 * ```
 */
export function parseEvent(input: unknown): ChainEvent {
  // One of this function's own results: frozen, so still exactly what was checked.
  if (typeof input === 'object' && input !== null && parsedEvents.has(input)) return input as ChainEvent;
  let value: unknown = input;
  if (typeof input === 'string' || isBytes(input)) {
    const size = typeof input === 'string' ? utf8(input).length : input.length;
    if (size > MAX_EVENT_BYTES) throw malformed(`event exceeds ${MAX_EVENT_BYTES} bytes`);
    try {
      value = parseJson(input);
    } catch (e) {
      throw malformed(`event is not strict JSON: ${e instanceof Error ? e.message : 'unreadable'}`, e);
    }
  }
  const parsed = z.safeParse(eventSchema, value);
  if (!parsed.success) throw malformed(`invalid event: ${issuesOf(parsed.error)}`, parsed.error);
  let copy: { value: JsonValue; size: number };
  try {
    copy = jsonCopy(value);
  } catch (e) {
    throw malformed('event is not canonicalizable JSON (RFC 8785)', e);
  }
  if (copy.size > MAX_EVENT_BYTES) throw malformed(`event exceeds ${MAX_EVENT_BYTES} bytes`);
  const event = copy.value as unknown as ChainEvent;
  const dup = duplicateKeyId(event.signatures);
  if (dup !== undefined) throw malformed(`two signatures by one key ${dup.slice(0, 16)}…`);
  deepFreeze(event);
  parsedEvents.set(event, { hash: undefined });
  return event;
}

/**
 * The events {@link parseEvent} returned, with their hash once computed. They are deep-frozen
 * fresh copies, so parsing one again returns it as it is, and its hash (JCS and SHA-256, which an
 * operator otherwise computes 4–5 times per event) is computed once.
 */
const parsedEvents = new WeakMap<object, { hash: Uint8Array | undefined }>();

/** Freezes a JSON value (a fresh copy: plain objects, arrays and primitives) all the way down. */
function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** The event without `signatures` (what the hash covers). */
function unsignedPart(event: UnsignedChainEvent | ChainEvent): UnsignedChainEvent {
  const { signatures: _, ...rest } = event as ChainEvent;
  return rest;
}

function hashBytes(event: UnsignedChainEvent | ChainEvent): Uint8Array {
  const memo = parsedEvents.get(event);
  if (memo?.hash !== undefined) return memo.hash;
  let bytes: Uint8Array;
  try {
    bytes = canonicalizeToBytes(unsignedPart(event));
  } catch (e) {
    throw malformed('event is not canonicalizable JSON (RFC 8785)', e);
  }
  const hash = sha256Public(bytes);
  if (memo !== undefined) memo.hash = hash;
  return hash;
}

/**
 * The event hash: lower-case hex SHA-256 of the JCS bytes of the event without `signatures`.
 * Key order and whitespace never change it. Throws `ledger.event.malformed` for a value JCS
 * cannot canonicalize.
 * @example
 * ```ts
 * const next = { ...draft, height: event.height + 1, prev: eventHash(event) };
 * ```
 */
export function eventHash(event: UnsignedChainEvent | ChainEvent): string {
  return toHex(hashBytes(event));
}

/**
 * The bytes each actor signs: `utf8("omt.event.v1\n") ‖ eventHash` (the 32 hash bytes), from an
 * event or its hex hash.
 * @example
 * ```ts
 * await getSuite('ML-DSA-65').verify(pk, eventSigningInput(event), sig);
 * ```
 */
export function eventSigningInput(event: UnsignedChainEvent | ChainEvent | string): Uint8Array {
  let hash: Uint8Array;
  if (typeof event === 'string') {
    if (!HEX64_RE.test(event)) throw malformed('event hash must be 64 lower-case hex characters');
    hash = fromHex(event);
  } else {
    hash = hashBytes(event);
  }
  return concatBytes(utf8(EVENT_SIGNING_CONTEXT), hash);
}

/** The raw public key in the form its keyId is computed from; `ledger.event.malformed` otherwise. */
function normalizePublicKey(alg: EventAlg, publicKey: Uint8Array): Uint8Array {
  try {
    if (alg === 'ES256K') return compressPublicKey(publicKey);
    if (alg === 'ES256') return p256.Point.fromBytes(publicKey).toBytes(false);
  } catch (e) {
    throw malformed(`not a valid ${alg} public key`, e);
  }
  const size = getSuite(alg).publicKeySize;
  if (size !== undefined && publicKey.length !== size)
    throw malformed(`${alg} public key must be ${size} bytes, got ${publicKey.length}`);
  return publicKey;
}

function requireAlg(alg: unknown): EventAlg {
  if (typeof alg !== 'string' || !(EVENT_ALGS as readonly string[]).includes(alg))
    throw malformed(`unsupported event signature algorithm ${JSON.stringify(String(alg)).slice(0, 40)}`);
  return alg as EventAlg;
}

/**
 * A party's keyId: lower-case hex SHA-256 of its raw public key (secp256k1 compressed, P-256
 * uncompressed). Throws `ledger.event.malformed` for an unknown alg or a key of the wrong size.
 * @example
 * ```ts
 * partyKeyId({ alg: 'ML-DSA-65', pub: toBase64Url(kp.publicKey) }); // '3f1c…' (64 hex)
 * ```
 */
export function partyKeyId(party: Party): string {
  const alg = requireAlg(party?.alg);
  let pub: Uint8Array;
  try {
    pub = fromBase64Url(party.pub);
  } catch (e) {
    throw malformed('party pub is not base64url', e);
  }
  return toHex(sha256Public(normalizePublicKey(alg, pub)));
}

/**
 * The {@link Party} of a signer (its public key, base64url).
 * @example
 * ```ts
 * const owner = partyKeyId(partyOf(ownerSigner));
 * ```
 */
export function partyOf(signer: { readonly alg?: EventAlg; readonly publicKey: Uint8Array }): Party {
  const alg = requireAlg(signer.alg ?? DEFAULT_EVENT_ALG);
  if (!isBytes(signer.publicKey)) throw malformed('signer publicKey must be bytes');
  return { alg, pub: toBase64Url(signer.publicKey) };
}

/**
 * Signs an event with each signer and returns it with their signatures appended to any it
 * already carries (parties of a multi-signer event sign on their own devices, one after the
 * other). Checks the event's format and that each signer's public key belongs to its secret
 * key; a second signature by one key, more than 8 signatures or a malformed event throw
 * `ledger.event.malformed`, a bad signer `ledger.event.signer-invalid`.
 * @example
 * ```ts
 * const event = await signEvent(
 *   { v: 1, chain: 'item:abc', machine: 'omt.item/v1', height: 0, prev: null,
 *     type: 'registerManufacturer', payload: { manufacturer, name: 'ACME' }, time: now.toISOString() },
 *   [registrar],
 * );
 * ```
 */
export async function signEvent(
  event: UnsignedChainEvent | ChainEvent,
  signers: readonly EventSigner[],
): Promise<ChainEvent> {
  const parsed = z.safeParse(signableSchema, event);
  if (!parsed.success) throw malformed(`invalid event: ${issuesOf(parsed.error)}`, parsed.error);
  if (!Array.isArray(signers) || signers.length === 0)
    throw new OmtError('ledger.event.signer-invalid', 'signEvent needs at least one signer');
  let copy: { value: JsonValue; size: number };
  try {
    copy = jsonCopy(event);
  } catch (e) {
    throw malformed('event is not canonicalizable JSON (RFC 8785)', e);
  }
  const base = copy.value as unknown as UnsignedChainEvent & { signatures?: EventSignature[] };
  const existing = base.signatures ?? [];
  const unsigned = unsignedPart(base as ChainEvent);
  const message = eventSigningInput(unsigned);
  const added: EventSignature[] = [];
  for (const signer of signers) {
    const alg = requireSignerAlg(signer);
    const suite = getSuite(alg);
    let derived: Uint8Array;
    try {
      derived = await suite.publicKeyFromSecret(signer.secretKey);
    } catch (e) {
      throw new OmtError('ledger.event.signer-invalid', `not a ${alg} secret key`, { cause: e });
    }
    const party = partyOf({ alg, publicKey: signer.publicKey });
    const keyId = partyKeyId(party);
    if (toHex(sha256Public(normalizePublicKey(alg, derived))) !== keyId)
      throw new OmtError(
        'ledger.event.signer-invalid',
        'a signer public key does not belong to its secret key',
      );
    const sig = await suite.sign(signer.secretKey, message);
    added.push({ keyId, alg, pub: party.pub, sig: toBase64Url(sig) });
  }
  const signatures = [...existing, ...added];
  if (signatures.length > MAX_EVENT_SIGNATURES)
    throw malformed(`an event carries at most ${MAX_EVENT_SIGNATURES} signatures`);
  const dup = duplicateKeyId(signatures);
  if (dup !== undefined) throw malformed(`two signatures by one key ${dup.slice(0, 16)}…`);
  const signed: ChainEvent = { ...unsigned, signatures };
  if (utf8(canonicalize(signed)).length > MAX_EVENT_BYTES)
    throw malformed(`event exceeds ${MAX_EVENT_BYTES} bytes`);
  return signed;
}

function requireSignerAlg(signer: EventSigner): EventAlg {
  if (
    typeof signer !== 'object' ||
    signer === null ||
    !isBytes(signer.secretKey) ||
    !isBytes(signer.publicKey)
  )
    throw new OmtError(
      'ledger.event.signer-invalid',
      'a signer is { alg?, secretKey: bytes, publicKey: bytes }',
    );
  try {
    return requireAlg(signer.alg ?? DEFAULT_EVENT_ALG);
  } catch (e) {
    throw new OmtError('ledger.event.signer-invalid', (e as Error).message, { cause: e });
  }
}

/**
 * Verifies every signature of an event: the keyId is that of `{ alg, pub }` and the signature
 * verifies over {@link eventSigningInput}. Returns one `ledger.event.signature` status per bad
 * signature (empty: all verify). Which keys *should* have signed is the machine's question.
 * @example
 * ```ts
 * const statuses = await verifyEventSignatures(event);
 * if (statuses.length > 0) refuse(statuses);
 * ```
 */
export async function verifyEventSignatures(event: ChainEvent): Promise<EventStatus[]> {
  let message: Uint8Array;
  try {
    message = eventSigningInput(event);
  } catch (e) {
    return [{ code: 'ledger.event.malformed', message: (e as Error).message }];
  }
  const results = await Promise.all(
    event.signatures.map(async (s, i): Promise<EventStatus | undefined> => {
      const who = `signature ${i} (${String(s.keyId).slice(0, 16)}…)`;
      let keyId: string;
      try {
        keyId = partyKeyId({ alg: s.alg, pub: s.pub });
      } catch (e) {
        return { code: 'ledger.event.signature', message: `${who}: ${(e as Error).message}` };
      }
      if (keyId !== s.keyId)
        return { code: 'ledger.event.signature', message: `${who}: keyId is not the hash of pub` };
      let ok = false;
      try {
        ok = await getSuite(s.alg).verify(fromBase64Url(s.pub), message, fromBase64Url(s.sig));
      } catch {
        ok = false;
      }
      return ok
        ? undefined
        : { code: 'ledger.event.signature', message: `${who}: the signature does not verify` };
    }),
  );
  return results.filter((r): r is EventStatus => r !== undefined);
}
