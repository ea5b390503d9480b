/**
 * The hash-chained, signed audit log that the other packages write into (KMS decisions, L1 calls,
 * intents, …).
 *
 * ## Entries
 * An entry is a JSON object
 * `{ v: 1, log, seq, time, actor, action, subject?, outcome, details?, prev }`:
 * - `log` names the log (`kms`, `ledger.publisher`); `seq` is its 0-based, gap-free position;
 * - `time` is RFC 3339 UTC with milliseconds (`2026-01-02T03:04:05.678Z`) from an injectable `Clock`;
 * - `actor` who acted, `action` a dotted lower-case verb (`kms.key.unseal`), `subject` what it acted
 *   on, `outcome` one of `allow | deny | success | failure`;
 * - `details` a JSON object of non-secret context. Never put secrets here: members named like
 *   secrets (`secret`, `secretKey`, `privateKey`, `password`, `passphrase`, `seed`, …) and
 *   non-JSON values (byte arrays, Dates, NaN) are refused;
 * - `prev` is the base64url (RFC 4648 §5, unpadded) hash of the previous entry; 32 zero bytes for
 *   seq 0.
 *
 * The entry is stored as its RFC 8785 (JCS) text, and its hash is
 * `SHA-256(0x00 ‖ UTF-8(JCS text))` — exactly the RFC 9162 §2.1.1 *leaf hash* of the text. So the
 * entry hashes chain the log (each entry commits to its predecessor through `prev`) *and* are the
 * leaves of an RFC 9162 Merkle tree: a signed head that carries the tree root proves inclusion of any
 * entry with a log₂(n)-sized proof, and two heads can be proven consistent (append-only).
 *
 * ## Heads
 * A signed head `{ v: 1, log, size, head, root, time, sig: { alg, kid, sig } }` commits to the first
 * `size` entries: `head` is the hash of entry `size − 1` (32 zero bytes for an empty log), `root`
 * the RFC 9162 Merkle root over the entry hashes. The signature is over the JCS bytes of the head
 * *without* `sig` (ARCHITECTURE's `{alg, kid, sig}` convention; `alg` is the suite id, `sig`
 * base64url). Heads are stored through {@link AuditLogStore.putHead} with non-decreasing sizes.
 *
 * ## Writing
 * {@link AuditLog} appends through an {@link AuditLogStore} whose `append` is optimistic: it fails
 * with `core.audit.conflict` when another writer got there first. `AuditLog` serialises its own
 * appends in-process and, on a conflict, reloads the tail and retries — so any number of writers
 * (instances, processes) sharing one store never fork the chain.
 *
 * ## Verifying
 * Verification returns data, not exceptions: {@link verifyAuditLog} reports every problem it finds
 * (`core.audit.entry-malformed`, `.entry-modified`, `.chain-broken`, `.gap`, `.out-of-order`,
 * `.log-mismatch`, `.head-malformed`, `.head-mismatch`, `.signature-invalid`; `.inclusion-invalid` from
 * {@link verifyAuditInclusion}) with the seq concerned.
 */
import * as z from 'zod/mini';
import { equalBytes, fromBase64Url, isBytes, toBase64Url, utf8 } from './bytes.js';
import { OmtError } from './errors.js';
import { parseInput } from './input.js';
import { canonicalize, parseCanonicalJson } from './jcs.js';
import { emptyRoot, hashLeaf, MerkleTree, verifyInclusion } from './merkle.js';
import type { AuditLogStore, StoredAuditEntry, StoredAuditHead } from './ports.js';
import { type Clock, systemClock } from './random.js';
import type { JsonSigner } from './signed-json.js';
import { getSuite, isSuiteId } from './suites/index.js';
import type { SignatureSuite } from './suites/suite.js';

/** Format version of entries and heads. */
export const AUDIT_LOG_VERSION = 1 as const;

/** The hash of "no previous entry" (seq 0's `prev`): 32 zero bytes. */
export const AUDIT_ZERO_HASH: Uint8Array = /* @__PURE__ */ new Uint8Array(32);

export type AuditOutcome = 'allow' | 'deny' | 'success' | 'failure';

/** What a caller records; the log adds `v`, `log`, `seq`, `time` and `prev`. */
export interface AuditEvent {
  readonly actor: string;
  readonly action: string;
  readonly subject?: string;
  readonly outcome: AuditOutcome;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One entry of the log, as hashed and stored (see the file header). */
export interface AuditEntry {
  readonly v: 1;
  readonly log: string;
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly action: string;
  readonly subject?: string;
  readonly outcome: AuditOutcome;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly prev: string;
}

/** An appended entry: the stored record plus the parsed entry. */
export interface AppendedAuditEntry extends StoredAuditEntry {
  readonly entry: AuditEntry;
}

/** The signed fields of a head. */
export interface AuditHead {
  readonly v: 1;
  readonly log: string;
  readonly size: number;
  /** base64url hash of entry `size − 1` (32 zero bytes when size is 0). */
  readonly head: string;
  /** base64url RFC 9162 Merkle root over the first `size` entry hashes. */
  readonly root: string;
  readonly time: string;
}

/** `{ alg, kid, sig }` beside JCS-canonical JSON (ARCHITECTURE, Formats). */
export interface AuditSignature {
  readonly alg: string;
  readonly kid: string;
  readonly sig: string;
}

export interface SignedAuditHead extends AuditHead {
  readonly sig: AuditSignature;
}

/** A signer whose key lives elsewhere (KMS, HSM): it signs the given bytes with algorithm `alg`. */
export interface ExternalAuditSigner {
  readonly alg: string;
  readonly kid: string;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Signs heads: a suite with a raw secret key, or an external signer. */
export type AuditHeadSigner = JsonSigner | ExternalAuditSigner;

export interface AuditLogOptions {
  /** Log name: lower-case letters, digits, `.`, `_`, `-`; 1–128 characters. */
  readonly log: string;
  /** Time source for entries and heads (default: the platform clock). */
  readonly clock?: Clock;
  /** How often an append is retried after `core.audit.conflict` (default 100). */
  readonly maxRetries?: number;
}

/** One problem found by a verifier; `seq` is null for problems of the head as a whole. */
export interface AuditProblem {
  readonly seq: number | null;
  readonly code: string;
  readonly message: string;
}

/** Result of {@link verifyAuditLog}. `valid` is true iff `problems` is empty. */
export interface AuditVerification {
  readonly valid: boolean;
  /** Number of entries examined. */
  readonly size: number;
  readonly problems: readonly AuditProblem[];
  /** A head was given and compared with the entries. */
  readonly headChecked: boolean;
  /** The head's signature was checked against a public key. */
  readonly signatureChecked: boolean;
}

/** Options of {@link verifyAuditLog} and {@link verifyAuditInclusion}. */
export interface AuditVerifyOptions {
  /** A head to check against the entries: stored form, parsed object, or its JSON text. */
  readonly head?: StoredAuditHead | SignedAuditHead | string;
  /** Raw public key of the head signer; without it the head signature is not checked. */
  readonly publicKey?: Uint8Array;
  /**
   * The suite of `publicKey`. Recommended: pins the algorithm. When omitted, the head's `sig.alg`
   * selects it (it must name a suite of this library).
   */
  readonly suite?: SignatureSuite;
  /** When set, the head's `sig.kid` must equal it. */
  readonly kid?: string;
}

/** An inclusion proof of one entry in the tree of the first `size` entries (JSON-friendly). */
export interface AuditInclusionProof {
  readonly log: string;
  readonly seq: number;
  readonly size: number;
  /** base64url entry hash (the RFC 9162 leaf hash). */
  readonly leafHash: string;
  /** base64url RFC 9162 §2.1.3.1 audit path, bottom-up. */
  readonly proof: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Schemas

const LOG_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const ACTION_RE = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const NO_CONTROL_RE = /^[^\u0000-\u001f\u007f]+$/;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HASH_RE = /^[A-Za-z0-9_-]{43}$/;
/** Member names that suggest a secret; refused anywhere inside `details`. */
const SECRET_NAME_RE =
  /^(?:secret|secret[-_]?key|private[-_]?key|priv[-_]?key|password|passwd|passphrase|pin|seed|sk|api[-_]?key|access[-_]?token|refresh[-_]?token)$/i;
let batchSchema: z.ZodMiniType<AuditEvent[]> | undefined;
/** The schema of an `appendBatch` argument, built once (not per call: it is on the hot path). */
function eventBatchSchema(): z.ZodMiniType<AuditEvent[]> {
  batchSchema ??= z.array(eventSchema).check(z.maxLength(10_000)) as unknown as z.ZodMiniType<AuditEvent[]>;
  return batchSchema;
}

/** Upper bound on the canonical size of `details` (entries are meant to be small). */
const MAX_DETAILS_CHARS = 64 * 1024;

const logSchema = z.string().check(z.regex(LOG_RE, 'log name: [a-z0-9][a-z0-9._-]{0,127}'));
const actorSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(256), z.regex(NO_CONTROL_RE, 'no control characters'));
const actionSchema = z
  .string()
  .check(z.maxLength(128), z.regex(ACTION_RE, 'dotted lower-case action, e.g. kms.key.unseal'));
const subjectSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(1024), z.regex(NO_CONTROL_RE, 'no control characters'));
const outcomeSchema = z.enum(['allow', 'deny', 'success', 'failure']);
const detailsSchema = z.record(z.string(), z.unknown());

const eventSchema = z.strictObject({
  actor: actorSchema,
  action: actionSchema,
  subject: z.optional(subjectSchema),
  outcome: outcomeSchema,
  details: z.optional(detailsSchema),
});

const entrySchema = z.strictObject({
  v: z.literal(1),
  log: logSchema,
  seq: z.int().check(z.gte(0)),
  time: z.string().check(z.regex(TIME_RE)),
  actor: actorSchema,
  action: actionSchema,
  subject: z.optional(subjectSchema),
  outcome: outcomeSchema,
  details: z.optional(detailsSchema),
  prev: z.string().check(z.regex(HASH_RE)),
});

const sigSchema = z.strictObject({
  alg: z.string().check(z.minLength(1), z.maxLength(64)),
  kid: z.string().check(z.maxLength(512)),
  sig: z.string().check(z.minLength(1)),
});

const headSchema = z.strictObject({
  v: z.literal(1),
  log: logSchema,
  size: z.int().check(z.gte(0)),
  head: z.string().check(z.regex(HASH_RE)),
  root: z.string().check(z.regex(HASH_RE)),
  time: z.string().check(z.regex(TIME_RE)),
  sig: sigSchema,
});

const optionsSchema = z.strictObject({
  log: logSchema,
  clock: z.optional(z.custom<Clock>((v) => typeof v === 'function', 'clock must be a function')),
  maxRetries: z.optional(z.int().check(z.gte(0), z.lte(100_000))),
});

// ---------------------------------------------------------------------------------------------
// Entries

/**
 * The hash of an entry from its stored JCS text: `SHA-256(0x00 ‖ UTF-8(body))`, the RFC 9162 leaf hash.
 *
 * @example
 * ```ts
 * equalBytes(auditEntryHash(stored.body), stored.hash); // true for an untouched entry
 * ```
 */
export function auditEntryHash(body: string): Uint8Array {
  if (typeof body !== 'string') throw new OmtError('core.audit.invalid', 'entry body must be a string');
  return nativeLeafHash(body) ?? hashLeaf(utf8(body));
}

type OneShotHash = (alg: string, data: string, enc: 'latin1') => string;
let oneShotHash: OneShotHash | null | undefined;

/**
 * `SHA-256(0x00 ‖ UTF-8(text))` in one native call where node:crypto's one-shot `hash` exists (it
 * encodes the string itself: no TextEncoder array, no prefixed copy), for well-formed text only
 * (a lone surrogate's encoding is left to {@link utf8}); undefined elsewhere (browsers).
 */
function nativeLeafHash(text: string): Uint8Array | undefined {
  return leafHashOf(`\u0000${text}`);
}

/** SHA-256 of `input` (`0x00 ‖ text`) natively when it is well-formed, else undefined. */
function leafHashOf(input: string): Uint8Array | undefined {
  if (oneShotHash === undefined) {
    const crypto = (
      globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
    ).process?.getBuiltinModule?.('crypto') as { hash?: OneShotHash } | undefined;
    const hash = crypto?.hash;
    oneShotHash =
      typeof hash === 'function' &&
      typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
        ? hash
        : null;
  }
  if (oneShotHash === null || !(input as unknown as { isWellFormed(): boolean }).isWellFormed())
    return undefined;
  // The digest as latin1 text (one character per byte) copied into a small array: a Buffer result
  // would cost an off-heap allocation the garbage collector tracks, more than the hash at this size.
  const digest = oneShotHash('sha256', input, 'latin1');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = digest.charCodeAt(i);
  return out;
}

/** The base64url alphabet (RFC 4648 §5) as character codes. */
const B64URL_CODES: readonly number[] = /* @__PURE__ */ Array.from(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  (c) => c.charCodeAt(0),
);
/** The 43 character codes of a 32-byte hash's text, reused (a string is made of them at once). */
const HASH_TEXT_CODES: number[] = /* @__PURE__ */ new Array<number>(43).fill(0);

/**
 * Unpadded base64url of a hash: {@link toBase64Url}'s text, for 32 bytes written straight into one
 * string (entries name their predecessor's hash; this runs for every entry).
 */
function base64Url(b: Uint8Array): string {
  if (b.length !== 32) return toBase64Url(b);
  const out = HASH_TEXT_CODES;
  const A = B64URL_CODES;
  let o = 0;
  let i = 0;
  for (; i < 30; i += 3) {
    const n = ((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number);
    out[o++] = A[n >>> 18] as number;
    out[o++] = A[(n >>> 12) & 63] as number;
    out[o++] = A[(n >>> 6) & 63] as number;
    out[o++] = A[n & 63] as number;
  }
  const n = ((b[30] as number) << 8) | (b[31] as number);
  out[o++] = A[n >>> 10] as number;
  out[o++] = A[(n >>> 4) & 63] as number;
  out[o] = A[(n & 15) << 2] as number;
  return String.fromCharCode.apply(null, out);
}

/** An event as validated, then its details copied (as their canonical text parses) with that text. */
interface CheckedEvent {
  readonly actor: string;
  readonly action: string;
  readonly subject: string | undefined;
  readonly outcome: AuditOutcome;
  details: Record<string, unknown> | undefined;
  detailsText: string | undefined;
}

const EVENT_KEYS = /* @__PURE__ */ new Set(['actor', 'action', 'subject', 'outcome', 'details']);
const OUTCOMES = /* @__PURE__ */ new Set(['allow', 'deny', 'success', 'failure']);

const isPlainRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * The events when `eventBatchSchema` accepts them (plain objects, each field read once), else
 * undefined — then the schema decides and words the error. As the schema: unknown keys are what
 * `for…in` yields; details must be a plain object without enumerable symbol keys (its copy skips
 * non-enumerable ones; one named `__proto__` is left to the schema). Details are not checked here.
 */
function eventsFast(events: unknown): CheckedEvent[] | undefined {
  if (!Array.isArray(events) || events.length > 10_000) return undefined;
  const out: CheckedEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    const v: unknown = events[i];
    if (!isPlainRecord(v)) return undefined;
    for (const k in v) if (!EVENT_KEYS.has(k)) return undefined;
    const { actor, action, subject, outcome, details } = v;
    if (
      typeof actor !== 'string' ||
      actor.length > 256 ||
      !NO_CONTROL_RE.test(actor) ||
      typeof action !== 'string' ||
      action.length > 128 ||
      !ACTION_RE.test(action) ||
      (subject !== undefined &&
        (typeof subject !== 'string' || subject.length > 1024 || !NO_CONTROL_RE.test(subject))) ||
      typeof outcome !== 'string' ||
      !OUTCOMES.has(outcome) ||
      (details !== undefined &&
        (!isPlainRecord(details) ||
          Object.hasOwn(details, '__proto__') ||
          Object.getOwnPropertySymbols(details).some((k) =>
            Object.prototype.propertyIsEnumerable.call(details, k),
          )))
    ) {
      return undefined;
    }
    out.push({
      actor,
      action,
      subject: subject as string | undefined,
      outcome: outcome as AuditOutcome,
      details: details as Record<string, unknown> | undefined,
      detailsText: undefined,
    });
  }
  return out;
}

/**
 * The details checked and copied: as the schema's record copy (own enumerable string keys,
 * `__proto__` left out, each member read once) then {@link checkDetails}. Flat details (string,
 * finite number, boolean and null members) are written directly — the same copy and text —
 * anything else goes through `checkDetails`.
 */
function checkDetailsOf(d: Record<string, unknown>): { copy: Record<string, unknown>; text: string } {
  // §3.2.3: sorted by UTF-16 code units, Array.prototype.sort's default order.
  const keys = Object.keys(d).sort();
  // The snapshot, in sorted order; for flat details it becomes the copy itself.
  const copy: Record<string, unknown> = {};
  let text = '{';
  let flat = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (k === '__proto__') continue;
    const v = d[k];
    copy[k] = v === 0 ? 0 : v; // -0 becomes 0, as JSON.parse of its canonical text gives
    if (!flat) continue;
    let t: string;
    if (typeof v === 'string' && isWellFormed(v)) t = JSON.stringify(v);
    else if (typeof v === 'number' && Number.isFinite(v)) t = String(v);
    else if (typeof v === 'boolean') t = v ? 'true' : 'false';
    else if (v === null) t = 'null';
    else {
      flat = false;
      continue;
    }
    if (SECRET_NAME_RE.test(k) || !isWellFormed(k)) flat = false;
    else text += `${text.length > 1 ? ',' : ''}${JSON.stringify(k)}:${t}`;
  }
  text += '}';
  return !flat || text.length > MAX_DETAILS_CHARS ? checkDetails(copy) : { copy, text };
}

const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';

/** No lone surrogates (what JCS requires of strings); false when the runtime cannot tell quickly. */
function isWellFormed(s: string): boolean {
  return hasIsWellFormed && (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Validates a batch argument: the schema's verdicts, then the details checked and copied. */
function checkEvents(events: readonly AuditEvent[]): CheckedEvent[] {
  let list = eventsFast(events);
  if (list === undefined) {
    list = parseInput(eventBatchSchema(), events, 'core.audit.invalid', 'audit events').map(
      (e): CheckedEvent => ({
        actor: e.actor,
        action: e.action,
        subject: e.subject,
        outcome: e.outcome,
        details: e.details as Record<string, unknown> | undefined,
        detailsText: undefined,
      }),
    );
  }
  for (const e of list) {
    if (e.details === undefined) continue;
    const d = checkDetailsOf(e.details);
    e.details = d.copy;
    e.detailsText = d.text;
  }
  return list;
}

/**
 * `0x00 ‖ JCS text of entry` — the input of its leaf hash, the text after the first character —
 * written directly (members in their sorted order) when every string in it is well-formed;
 * `detailsText` is the canonical text of `entry.details`. Else through the generic canonicalizer
 * (which also words the error). One flat string serves both the hash and the stored text (a slice
 * of it), so neither is built twice.
 */
function leafInput(entry: AuditEntry, detailsText: string | undefined): string {
  const { actor, subject } = entry;
  if (
    (entry.details !== undefined && detailsText === undefined) ||
    !isWellFormed(actor) ||
    (subject !== undefined && !isWellFormed(subject))
  ) {
    return `\u0000${canonicalize(entry)}`;
  }
  // action, log, outcome, prev and time match ASCII patterns without characters JSON escapes.
  return `\u0000{"action":"${entry.action}","actor":${JSON.stringify(actor)}${
    detailsText === undefined ? '' : `,"details":${detailsText}`
  },"log":"${entry.log}","outcome":"${entry.outcome}","prev":"${entry.prev}","seq":${entry.seq}${
    subject === undefined ? '' : `,"subject":${JSON.stringify(subject)}`
  },"time":"${entry.time}","v":1}`;
}

function checkDetails(details: Readonly<Record<string, unknown>>): {
  copy: Record<string, unknown>;
  text: string;
} {
  let text: string;
  try {
    text = canonicalize(details, { maxDepth: 32 });
  } catch (e) {
    throw new OmtError('core.audit.invalid', 'details must be a plain JSON object (no bytes, Dates or NaN)', {
      cause: e,
    });
  }
  if (text.length > MAX_DETAILS_CHARS) {
    throw new OmtError(
      'core.audit.invalid',
      `details exceed ${MAX_DETAILS_CHARS} characters in canonical form`,
    );
  }
  const copy = JSON.parse(text) as Record<string, unknown>;
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, `${path}[${i}]`);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (SECRET_NAME_RE.test(k)) {
          throw new OmtError('core.audit.invalid', `${path}.${k}: secrets never go into the audit log`);
        }
        walk(x, `${path}.${k}`);
      }
    }
  };
  walk(copy, 'details');
  return { copy, text };
}

/**
 * Parses an entry's stored text strictly: it must be canonical RFC 8785 JSON and a well-formed
 * entry. Throws `core.audit.entry-malformed`.
 *
 * @example
 * ```ts
 * const entry = parseAuditEntry(stored.body); // { v: 1, log: 'kms', seq: 0, … }
 * ```
 */
export function parseAuditEntry(body: string): AuditEntry {
  let value: unknown;
  try {
    value = parseCanonicalJson(body);
  } catch (e) {
    throw new OmtError('core.audit.entry-malformed', 'entry is not canonical (RFC 8785) JSON', { cause: e });
  }
  return parseInput(entrySchema, value, 'core.audit.entry-malformed', 'audit entry') as AuditEntry;
}

/**
 * Parses a signed head from its stored text (canonical JSON) or object. Throws
 * `core.audit.head-malformed`.
 *
 * @example
 * ```ts
 * const head = parseAuditHead((await store.latestHead('kms'))!.body);
 * ```
 */
export function parseAuditHead(head: string | SignedAuditHead): SignedAuditHead {
  let value: unknown = head;
  if (typeof head === 'string') {
    try {
      value = parseCanonicalJson(head);
    } catch (e) {
      throw new OmtError('core.audit.head-malformed', 'head is not canonical (RFC 8785) JSON', { cause: e });
    }
  }
  return parseInput(headSchema, value, 'core.audit.head-malformed', 'audit head') as SignedAuditHead;
}

/**
 * The bytes a head signature covers: the JCS form of the head without `sig`.
 *
 * @example
 * ```ts
 * await suite.verify(publicKey, auditHeadSigningInput(head), fromBase64Url(head.sig.sig));
 * ```
 */
export function auditHeadSigningInput(head: AuditHead | SignedAuditHead): Uint8Array {
  const { v, log, size, head: h, root, time } = head;
  return utf8(canonicalize({ v, log, size, head: h, root, time }));
}

/**
 * Checks a head's signature. Returns data: `{ valid: true }` or `{ valid: false, code, reason }`
 * with code `core.audit.signature-invalid`. Throws only for a malformed public key
 * (`core.key.malformed`, from the suite).
 *
 * @example
 * ```ts
 * const r = await verifyAuditHeadSignature(head, { suite: getSuite('ML-DSA-65'), publicKey });
 * ```
 */
export async function verifyAuditHeadSignature(
  head: SignedAuditHead,
  key: { readonly publicKey: Uint8Array; readonly suite?: SignatureSuite; readonly kid?: string },
): Promise<
  { readonly valid: true } | { readonly valid: false; readonly code: string; readonly reason: string }
> {
  const fail = (reason: string) => ({ valid: false as const, code: 'core.audit.signature-invalid', reason });
  if (!isBytes(key.publicKey)) throw new OmtError('core.audit.invalid', 'publicKey must be a Uint8Array');
  const { alg, kid, sig } = head.sig;
  let suite = key.suite;
  if (suite === undefined) {
    if (!isSuiteId(alg)) return fail(`unknown signature algorithm ${JSON.stringify(alg.slice(0, 64))}`);
    suite = getSuite(alg);
  }
  if (alg !== suite.id) return fail(`head signed with ${alg}, but the key is ${suite.id}`);
  if (key.kid !== undefined && kid !== key.kid) return fail(`head signed by kid ${kid}, expected ${key.kid}`);
  let sigBytes: Uint8Array;
  try {
    sigBytes = fromBase64Url(sig);
  } catch {
    return fail('sig is not base64url');
  }
  const ok = await suite.verify(key.publicKey, auditHeadSigningInput(head), sigBytes);
  return ok ? { valid: true } : fail(`the ${alg} head signature does not verify`);
}

async function signHeadWith(head: AuditHead, signer: AuditHeadSigner): Promise<SignedAuditHead> {
  const input = auditHeadSigningInput(head);
  let alg: string;
  let sig: Uint8Array;
  if ('suite' in signer) {
    alg = signer.suite.id;
    sig = await signer.suite.sign(signer.secretKey, input);
  } else {
    alg = signer.alg;
    sig = await signer.sign(input);
  }
  if (typeof signer.kid !== 'string') throw new OmtError('core.audit.invalid', 'signer.kid must be a string');
  return parseInput(
    headSchema,
    { ...head, sig: { alg, kid: signer.kid, sig: toBase64Url(sig) } },
    'core.audit.invalid',
    'signed head',
  ) as SignedAuditHead;
}

function rfc3339(clock: Clock): string {
  const d = clock();
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new OmtError('core.audit.invalid', 'the clock returned an invalid date');
  const s = new Date(t).toISOString();
  if (!TIME_RE.test(s))
    throw new OmtError('core.audit.invalid', 'the clock returned a date outside years 0000–9999');
  return s;
}

// ---------------------------------------------------------------------------------------------
// The log

const READ_PAGE = 1000;

/**
 * A hash-chained audit log over an {@link AuditLogStore} (see the file header).
 *
 * @example
 * ```ts
 * const log = new AuditLog(new MemoryAuditLogStore(), { log: 'kms' });
 * await log.append({ actor: 'svc:api', action: 'kms.key.unseal', subject: 'key:42', outcome: 'allow' });
 * const head = await log.signHead({ suite: getSuite('ML-DSA-65'), secretKey, kid: 'audit-1' });
 * const report = await verifyAuditLog(await log.entries(), { head, publicKey, suite: getSuite('ML-DSA-65') });
 * report.valid; // true
 * ```
 */
export class AuditLog {
  readonly log: string;
  readonly #store: AuditLogStore;
  readonly #clock: Clock;
  readonly #maxRetries: number;
  /** Last known tail of the log: its size and last hash (undefined until loaded). */
  #tail: { size: number; hash: Uint8Array } | undefined;
  /** Merkle tree over entry hashes, loaded lazily for heads and proofs. */
  #tree: MerkleTree | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: AuditLogStore, options: AuditLogOptions) {
    const o = parseInput(optionsSchema, options, 'core.audit.invalid', 'audit log options');
    if (typeof store !== 'object' || store === null || typeof store.append !== 'function') {
      throw new OmtError('core.audit.invalid', 'store must implement AuditLogStore');
    }
    this.log = o.log;
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
    this.#maxRetries = o.maxRetries ?? 100;
  }

  /** Runs `fn` after every earlier operation of this instance (in-process serialisation). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #loadTail(): Promise<{ size: number; hash: Uint8Array }> {
    const last = await this.#store.last(this.log);
    if (last === undefined) return { size: 0, hash: AUDIT_ZERO_HASH };
    // Never chain onto a tail whose text no longer matches its hash.
    if (!equalBytes(auditEntryHash(last.body), last.hash)) {
      throw new OmtError(
        'core.audit.entry-modified',
        `entry ${last.seq} of '${this.log}' does not match its hash`,
      );
    }
    return { size: last.seq + 1, hash: last.hash.slice() };
  }

  /**
   * Appends one event; returns the stored entry. Validates the event (`core.audit.invalid`), then
   * retries on `core.audit.conflict` with a reloaded tail up to `maxRetries` times.
   */
  async append(event: AuditEvent): Promise<AppendedAuditEntry> {
    const [one] = await this.appendBatch([event]);
    return one as AppendedAuditEntry;
  }

  /** Appends several events atomically (all or none) as consecutive entries. */
  async appendBatch(events: readonly AuditEvent[]): Promise<AppendedAuditEntry[]> {
    const checked = checkEvents(events);
    if (checked.length === 0) return [];
    return this.#exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        this.#tail ??= await this.#loadTail();
        const built = this.#build(checked, this.#tail);
        try {
          await this.#store.append(built);
        } catch (e) {
          if (e instanceof OmtError && e.code === 'core.audit.conflict' && attempt < this.#maxRetries) {
            this.#tail = undefined;
            continue;
          }
          this.#tail = undefined;
          throw e;
        }
        const lastBuilt = built[built.length - 1] as AppendedAuditEntry;
        this.#tail = { size: lastBuilt.seq + 1, hash: lastBuilt.hash };
        if (this.#tree !== undefined && this.#tree.size === (built[0] as AppendedAuditEntry).seq) {
          for (const b of built) this.#tree.appendLeafHash(b.hash);
        }
        return built;
      }
    });
  }

  #build(events: readonly CheckedEvent[], tail: { size: number; hash: Uint8Array }): AppendedAuditEntry[] {
    const time = rfc3339(this.#clock);
    let prevHash = tail.hash;
    return events.map((ev, i) => {
      const entry: AuditEntry = {
        v: AUDIT_LOG_VERSION,
        log: this.log,
        seq: tail.size + i,
        time,
        actor: ev.actor,
        action: ev.action,
        ...(ev.subject === undefined ? {} : { subject: ev.subject }),
        outcome: ev.outcome,
        ...(ev.details === undefined ? {} : { details: ev.details }),
        prev: base64Url(prevHash),
      };
      const input = leafInput(entry, ev.detailsText);
      const body = input.slice(1);
      const hash = leafHashOf(input) ?? auditEntryHash(body);
      const stored: AppendedAuditEntry = { log: this.log, seq: entry.seq, prevHash, hash, body, entry };
      prevHash = hash;
      return stored;
    });
  }

  /** Brings the Merkle tree up to the store's current size, checking hashes and links on the way. */
  async #syncTree(): Promise<MerkleTree> {
    const tree = this.#tree ?? new MerkleTree();
    this.#tree = tree;
    for (;;) {
      const page = await this.#store.read(this.log, tree.size, READ_PAGE);
      for (const e of page) {
        const expectedPrev = tree.size === 0 ? AUDIT_ZERO_HASH : tree.leafHash(tree.size - 1);
        if (e.seq !== tree.size) {
          throw new OmtError('core.audit.gap', `store returned seq ${e.seq} where ${tree.size} was expected`);
        }
        const hash = auditEntryHash(e.body);
        if (!equalBytes(hash, e.hash)) {
          throw new OmtError(
            'core.audit.entry-modified',
            `entry ${e.seq} of '${this.log}' does not match its hash`,
          );
        }
        if (!equalBytes(e.prevHash, expectedPrev)) {
          throw new OmtError(
            'core.audit.chain-broken',
            `entry ${e.seq} of '${this.log}' does not link to its predecessor`,
          );
        }
        tree.appendLeafHash(hash);
      }
      if (page.length < READ_PAGE) return tree;
    }
  }

  /**
   * Signs a head over every entry currently in the store and records it with `putHead`.
   * Entries are re-hashed and their links checked while the Merkle tree is (incrementally) loaded,
   * so a head is never signed over a tampered store.
   */
  async signHead(signer: AuditHeadSigner): Promise<SignedAuditHead> {
    if (typeof signer !== 'object' || signer === null)
      throw new OmtError('core.audit.invalid', 'signer is required');
    return this.#exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        const tree = await this.#syncTree();
        const size = tree.size;
        const head: AuditHead = {
          v: AUDIT_LOG_VERSION,
          log: this.log,
          size,
          head: toBase64Url(size === 0 ? AUDIT_ZERO_HASH : tree.leafHash(size - 1)),
          root: toBase64Url(size === 0 ? emptyRoot() : tree.root()),
          time: rfc3339(this.#clock),
        };
        const signed = await signHeadWith(head, signer);
        try {
          await this.#store.putHead({
            log: this.log,
            size,
            hash: size === 0 ? AUDIT_ZERO_HASH.slice() : tree.leafHash(size - 1),
            body: canonicalize(signed),
          });
          return signed;
        } catch (e) {
          // A writer elsewhere stored a larger head meanwhile: catch up and sign again.
          if (e instanceof OmtError && e.code === 'core.audit.conflict' && attempt < this.#maxRetries)
            continue;
          throw e;
        }
      }
    });
  }

  /** The latest stored head, parsed (`core.audit.head-malformed` if its text is damaged). */
  async latestHead(): Promise<SignedAuditHead | undefined> {
    const h = await this.#store.latestHead(this.log);
    return h === undefined ? undefined : parseAuditHead(h.body);
  }

  /** Reads entries `[fromSeq, fromSeq + limit)` (default: to the end) in order. */
  async entries(fromSeq = 0, limit: number = Number.MAX_SAFE_INTEGER): Promise<StoredAuditEntry[]> {
    const out: StoredAuditEntry[] = [];
    let next = fromSeq;
    while (out.length < limit) {
      const want = Math.min(READ_PAGE, limit - out.length);
      const page = await this.#store.read(this.log, next, want);
      out.push(...page);
      if (page.length < want) break;
      next += page.length;
    }
    return out;
  }

  /** Inclusion proof of entry `seq` in the tree of the first `size` entries (default: all). */
  async inclusionProof(seq: number, size?: number): Promise<AuditInclusionProof> {
    return this.#exclusive(async () => {
      const tree = await this.#syncTree();
      const n = size ?? tree.size;
      return {
        log: this.log,
        seq,
        size: n,
        leafHash: toBase64Url(tree.leafHash(seq)),
        proof: tree.inclusionProof(seq, n).map(toBase64Url),
      };
    });
  }

  /** RFC 9162 consistency proof (base64url) from the first `oldSize` entries to `newSize` (default: all). */
  async consistencyProof(oldSize: number, newSize?: number): Promise<string[]> {
    return this.#exclusive(async () => {
      const tree = await this.#syncTree();
      return tree.consistencyProof(oldSize, newSize).map(toBase64Url);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Verification

type EntryInput = StoredAuditEntry | string;

const entryInputSchema = z.union([
  z.string(),
  z.object({
    log: z.string(),
    seq: z.number(),
    prevHash: z.custom<Uint8Array>(isBytes),
    hash: z.custom<Uint8Array>(isBytes),
    body: z.string(),
  }),
]);

function headFromInput(head: StoredAuditHead | SignedAuditHead | string): {
  parsed: SignedAuditHead;
  stored?: StoredAuditHead;
} {
  if (typeof head === 'string') return { parsed: parseAuditHead(head) };
  if (typeof head === 'object' && head !== null && 'body' in head && typeof head.body === 'string') {
    return { parsed: parseAuditHead(head.body), stored: head as StoredAuditHead };
  }
  return { parsed: parseAuditHead(head as SignedAuditHead) };
}

/**
 * Verifies a whole log (entries from seq 0, in order), optionally against a signed head and its
 * key. Returns every problem found — never throws for bad data (only `core.audit.invalid` when
 * the arguments have the wrong types, and `core.key.malformed` for an unparsable public key).
 *
 * Detects: an entry whose text no longer matches its stored hash (`core.audit.entry-modified`), text
 * that is not a canonical well-formed entry (`entry-malformed`), a `prev` that does not match the
 * previous entry's hash (`chain-broken`), missing entries (`gap`), entries out of order or
 * duplicated (`out-of-order`), entries of another log (`log-mismatch`); with a head: a head whose
 * size, last hash or Merkle root disagree with the entries (`head-mismatch`, e.g. a truncated
 * log or rewritten history), an unreadable head (`head-malformed`), and with a public key a bad
 * signature, wrong algorithm or kid (`signature-invalid`).
 *
 * @example
 * ```ts
 * const r = await verifyAuditLog(await store.read('kms', 0, 1e6), { head: await store.latestHead('kms'), publicKey, suite });
 * if (!r.valid) console.error(r.problems); // [{ seq: 7, code: 'core.audit.chain-broken', … }]
 * ```
 */
export async function verifyAuditLog(
  entries: readonly EntryInput[],
  opts: AuditVerifyOptions = {},
): Promise<AuditVerification> {
  const list = parseInput(
    z.array(entryInputSchema),
    entries,
    'core.audit.invalid',
    'audit entries',
  ) as EntryInput[];
  const problems: AuditProblem[] = [];
  const add = (seq: number | null, code: string, message: string): void => {
    problems.push({ seq, code, message });
  };

  const hashes: Uint8Array[] = [];
  const parsed: (AuditEntry | undefined)[] = [];
  for (const item of list) {
    const body = typeof item === 'string' ? item : item.body;
    let entry: AuditEntry | undefined;
    try {
      entry = parseAuditEntry(body);
    } catch (e) {
      entry = undefined;
      const pos = typeof item === 'string' ? hashes.length : item.seq;
      add(pos, 'core.audit.entry-malformed', e instanceof Error ? e.message : String(e));
    }
    hashes.push(auditEntryHash(body));
    parsed.push(entry);
  }

  // The seq each position claims: the parsed entry's, else the stored record's.
  const seqOf = (i: number): number | undefined => {
    const item = list[i] as EntryInput;
    return parsed[i]?.seq ?? (typeof item === 'string' ? undefined : item.seq);
  };
  const present = new Set<number>();
  for (let i = 0; i < list.length; i++) {
    const s = seqOf(i);
    if (s !== undefined) present.add(s);
  }

  const logName =
    parsed.find((e) => e !== undefined)?.log ??
    (list.find((x) => typeof x !== 'string') as StoredAuditEntry | undefined)?.log;
  let expected = 0;
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as EntryInput;
    const entry = parsed[i];
    const hash = hashes[i] as Uint8Array;
    const seq = seqOf(i) ?? expected;
    const stored = typeof item === 'string' ? undefined : item;

    if (stored !== undefined) {
      if (!equalBytes(stored.hash, hash)) {
        add(seq, 'core.audit.entry-modified', `entry ${seq}: the text does not match its recorded hash`);
      }
      if (entry !== undefined && (entry.seq !== stored.seq || entry.log !== stored.log)) {
        add(seq, 'core.audit.entry-modified', `entry ${seq}: the text names seq/log other than its record`);
      }
    }
    const entryLog = entry?.log ?? stored?.log;
    if (entryLog !== undefined && logName !== undefined && entryLog !== logName) {
      add(seq, 'core.audit.log-mismatch', `entry ${seq} belongs to log '${entryLog}', not '${logName}'`);
    }

    if (seq > expected) {
      let missingLater = false;
      for (let s = expected; s < seq && !missingLater; s++) missingLater = present.has(s);
      if (missingLater) add(seq, 'core.audit.out-of-order', `entry ${seq} appears before entry ${expected}`);
      else add(seq, 'core.audit.gap', `entries ${expected}..${seq - 1} are missing before entry ${seq}`);
    } else if (seq < expected) {
      add(
        seq,
        'core.audit.out-of-order',
        `entry ${seq} appears after entry ${expected - 1} (reordered or duplicated)`,
      );
    }
    expected = Math.max(expected, seq + 1);

    // Link to the entry physically before it (seq 0: the zero hash).
    const prevActual = i === 0 ? AUDIT_ZERO_HASH : (hashes[i - 1] as Uint8Array);
    if (entry !== undefined) {
      const prevClaimed = fromBase64Url(entry.prev);
      const mustBe = i === 0 && seq !== 0 ? undefined : prevActual; // a first entry other than 0 is a gap already
      if (mustBe !== undefined && !equalBytes(prevClaimed, mustBe)) {
        add(
          seq,
          'core.audit.chain-broken',
          `entry ${seq}: prev does not match the hash of the entry before it`,
        );
      } else if (stored !== undefined && !equalBytes(stored.prevHash, prevClaimed)) {
        add(seq, 'core.audit.chain-broken', `entry ${seq}: recorded prevHash differs from the entry's prev`);
      }
    }
  }

  let headChecked = false;
  let signatureChecked = false;
  if (opts.head !== undefined) {
    headChecked = true;
    let head: SignedAuditHead | undefined;
    let storedHead: StoredAuditHead | undefined;
    try {
      const h = headFromInput(opts.head);
      head = h.parsed;
      storedHead = h.stored;
    } catch (e) {
      add(null, 'core.audit.head-malformed', e instanceof Error ? e.message : String(e));
    }
    if (head !== undefined) {
      const mismatch = (message: string): void => add(null, 'core.audit.head-mismatch', message);
      if (storedHead !== undefined && (storedHead.size !== head.size || storedHead.log !== head.log)) {
        mismatch('the stored head record disagrees with its signed text');
      }
      if (logName !== undefined && head.log !== logName)
        mismatch(`head is for log '${head.log}', entries for '${logName}'`);
      if (head.size > list.length) {
        mismatch(`head covers ${head.size} entries but only ${list.length} are present (log truncated?)`);
      } else {
        const covered = hashes.slice(0, head.size);
        const last = head.size === 0 ? AUDIT_ZERO_HASH : (covered[head.size - 1] as Uint8Array);
        if (toBase64Url(last) !== head.head)
          mismatch(`head hash differs from the hash of entry ${head.size - 1}`);
        if (storedHead !== undefined && !equalBytes(storedHead.hash, fromBase64Url(head.head))) {
          mismatch('the stored head hash differs from its signed text');
        }
        const root = MerkleTree.fromLeafHashes(covered).root();
        if (toBase64Url(root) !== head.root)
          mismatch(`Merkle root over the first ${head.size} entries differs from the head's`);
      }
      if (opts.publicKey !== undefined) {
        signatureChecked = true;
        const r = await verifyAuditHeadSignature(head, {
          publicKey: opts.publicKey,
          ...(opts.suite === undefined ? {} : { suite: opts.suite }),
          ...(opts.kid === undefined ? {} : { kid: opts.kid }),
        });
        if (!r.valid) add(null, r.code, r.reason);
      }
    }
  }

  return { valid: problems.length === 0, size: list.length, problems, headChecked, signatureChecked };
}

/**
 * Inclusion proof of entry `seq` in the tree of the first `size` entries (default: all given).
 * `entries` are the log from seq 0 (stored records or their texts); hashes are recomputed from the
 * texts. Throws `core.merkle.invalid` for a seq/size outside the entries.
 *
 * @example
 * ```ts
 * const proof = auditInclusionProof(entries, 5, head.size);
 * (await verifyAuditInclusion(entries[5], proof, head, { publicKey, suite })).valid; // true
 * ```
 */
export function auditInclusionProof(
  entries: readonly EntryInput[],
  seq: number,
  size?: number,
): AuditInclusionProof {
  const list = parseInput(
    z.array(entryInputSchema),
    entries,
    'core.audit.invalid',
    'audit entries',
  ) as EntryInput[];
  const bodies = list.map((x) => (typeof x === 'string' ? x : x.body));
  const tree = MerkleTree.fromLeafHashes(bodies.map(auditEntryHash));
  const n = size ?? tree.size;
  const first = bodies[0];
  let log = '';
  if (first !== undefined) {
    try {
      log = parseAuditEntry(first).log;
    } catch {
      log = typeof list[0] === 'string' ? '' : (list[0] as StoredAuditEntry).log;
    }
  }
  return {
    log,
    seq,
    size: n,
    leafHash: toBase64Url(tree.leafHash(seq)),
    proof: tree.inclusionProof(seq, n).map(toBase64Url),
  };
}

const inclusionProofSchema = z.strictObject({
  log: z.string(),
  seq: z.int().check(z.gte(0)),
  size: z.int().check(z.gte(0)),
  leafHash: z.string(),
  proof: z.array(z.string()).check(z.maxLength(64)),
});

/**
 * Verifies that an entry is included in the log a (signed) head commits to. Returns
 * `{ valid, problems }`: `core.audit.inclusion-invalid` when the proof does not lead from the
 * entry to the head's root, `entry-malformed`/`head-malformed` for unreadable input,
 * `head-mismatch` when proof and head disagree on log or size, and — with a public key —
 * `signature-invalid`.
 *
 * @example
 * ```ts
 * const r = await verifyAuditInclusion(stored, await log.inclusionProof(stored.seq), head, { publicKey, suite });
 * ```
 */
export async function verifyAuditInclusion(
  entry: EntryInput,
  proof: AuditInclusionProof,
  head: StoredAuditHead | SignedAuditHead | string,
  opts: Omit<AuditVerifyOptions, 'head'> = {},
): Promise<{
  readonly valid: boolean;
  readonly problems: readonly AuditProblem[];
  readonly signatureChecked: boolean;
}> {
  const problems: AuditProblem[] = [];
  const add = (seq: number | null, code: string, message: string): void => {
    problems.push({ seq, code, message });
  };
  const body = parseInput(entryInputSchema, entry, 'core.audit.invalid', 'audit entry') as EntryInput;
  const text = typeof body === 'string' ? body : body.body;
  const p = parseInput(inclusionProofSchema, proof, 'core.audit.invalid', 'inclusion proof');
  let parsedEntry: AuditEntry | undefined;
  try {
    parsedEntry = parseAuditEntry(text);
  } catch (e) {
    add(p.seq, 'core.audit.entry-malformed', e instanceof Error ? e.message : String(e));
  }
  let h: SignedAuditHead | undefined;
  try {
    h = headFromInput(head).parsed;
  } catch (e) {
    add(null, 'core.audit.head-malformed', e instanceof Error ? e.message : String(e));
  }
  const leaf = auditEntryHash(text);
  if (parsedEntry !== undefined && parsedEntry.seq !== p.seq) {
    add(
      p.seq,
      'core.audit.inclusion-invalid',
      `the proof is for seq ${p.seq}, the entry is seq ${parsedEntry.seq}`,
    );
  }
  let signatureChecked = false;
  if (h !== undefined) {
    if (parsedEntry !== undefined && parsedEntry.log !== h.log) {
      add(null, 'core.audit.head-mismatch', `entry of log '${parsedEntry.log}', head of '${h.log}'`);
    }
    if (p.size !== h.size)
      add(null, 'core.audit.head-mismatch', `proof for size ${p.size}, head size ${h.size}`);
    let proofBytes: Uint8Array[] | undefined;
    try {
      proofBytes = p.proof.map(fromBase64Url);
    } catch {
      add(p.seq, 'core.audit.inclusion-invalid', 'proof elements are not base64url');
    }
    if (
      proofBytes !== undefined &&
      !verifyInclusion(p.seq, h.size, leaf, proofBytes, fromBase64Url(h.root))
    ) {
      add(
        p.seq,
        'core.audit.inclusion-invalid',
        `entry ${p.seq} is not proven included in the head of size ${h.size}`,
      );
    }
    if (opts.publicKey !== undefined) {
      signatureChecked = true;
      const r = await verifyAuditHeadSignature(h, {
        publicKey: opts.publicKey,
        ...(opts.suite === undefined ? {} : { suite: opts.suite }),
        ...(opts.kid === undefined ? {} : { kid: opts.kid }),
      });
      if (!r.valid) add(null, r.code, r.reason);
    }
  }
  return { valid: problems.length === 0, problems, signatureChecked };
}
