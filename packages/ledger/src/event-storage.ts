/**
 * Event-chain storage: the input parsers every `EventStore`, `VoteLog` and `WitnessStore`
 * implementation (ports.ts) shares (memory here, SQL in `@omt/adapters/sql`), so all
 * of them refuse the same malformed input with the same codes before touching any state:
 * `ledger.event.invalid`, `ledger.vote.invalid`, `ledger.log.invalid`, `ledger.witness.invalid`.
 * Stores check shapes and limits only; whether an event is valid for its chain (signatures,
 * machine, QC) is the operator's business before it appends.
 */
import { isBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import { CHAIN_ID_RE } from './event.js';
import type { CommittedEvent, Payout, VoteRequest } from './ports.js';

/** An `appendMany` item after parsing: its event and payouts, or why `append` would refuse it. */
export type ParsedAppendItem =
  | { readonly event: CommittedEvent; readonly payouts: Payout[] }
  | { readonly error: { readonly code: string; readonly message: string } };

const HASH_RE = /^[0-9a-f]{64}$/;
/** Machine ids (`omt.item/v1`) and event types (`registerManufacturer`). */
const MACHINE_RE = /^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$/;
const TYPE_RE = /^[A-Za-z][A-Za-z0-9._:-]{0,63}$/;
/** Invoice ids: 1–256 printable ASCII characters without spaces. */
const INVOICE_RE = /^[\x21-\x7e]{1,256}$/;
const ROLE_RE = /^[\x21-\x7e]{1,32}$/;
const CURRENCY_RE = /^[A-Z]{3,8}$/;
/** Lone UTF-16 surrogates (text drivers would silently replace them) and NUL (PostgreSQL text refuses it). */
const UNSTORABLE_RE = /[\0]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * Any NUL or surrogate at all: a plain character-class scan, ~3× faster than UNSTORABLE_RE on a
 * 20 KB two-byte string (a QC holds `—`), so the full check runs only when it can matter.
 */
const MAYBE_UNSTORABLE_RE = /[\0\uD800-\uDFFF]/;
/** Largest amount a store keeps (PostgreSQL `bigint`). */
const MAX_AMOUNT = 2n ** 63n - 1n;

/** Longest event JSON text (docs/event-chains.md: 64 KiB), quorum certificate and state texts. */
export const EVENT_TEXT_LIMITS: Readonly<{ event: number; qc: number; state: number }> = Object.freeze({
  event: 65_536,
  qc: 1_048_576,
  state: 1_048_576,
});
/** At most this many payouts per event. */
export const MAX_PAYOUTS = 256;
/** Default and largest `limit` of `EventStore.list` and `EventStore.chains`. */
export const EVENT_LIST_LIMITS: Readonly<{ default: number; max: number }> = Object.freeze({
  default: 1000,
  max: 10_000,
});
/** Most items of one `EventStore.appendMany` and requests of one `VoteLog.voteMany` call. */
export const MAX_STORE_BATCH = 1000;
/** Longest vote-log leaf and checkpoint note (a C2SP signed note is at most 1 MiB). */
export const VOTE_LOG_LIMITS: Readonly<{ leaf: number; note: number }> = Object.freeze({
  leaf: 65_536,
  note: 1_048_576,
});

const date = () => z.date().check(z.refine((d) => !Number.isNaN(d.getTime()), 'invalid date'));
const height = () => z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const hash = () => z.string().check(z.regex(HASH_RE, 'expected 64 lower-case hex characters'));
const chainId = () => z.string().check(z.regex(CHAIN_ID_RE, 'expected a chain id <kind>:<subject>'));
const text = (max: number) =>
  z.string().check(
    z.minLength(1),
    z.maxLength(max),
    z.refine(
      (s) => !MAYBE_UNSTORABLE_RE.test(s) || !UNSTORABLE_RE.test(s),
      'contains NUL or a lone surrogate',
    ),
  );
const bytes = (max: number) =>
  z
    .custom<Uint8Array>(isBytes, 'expected a Uint8Array')
    .check(z.refine((b) => b.length >= 1 && b.length <= max, `expected 1–${max} bytes`));

const CommittedEventSchema = z.strictObject({
  chain: chainId(),
  height: height(),
  hash: hash(),
  prev: z.nullable(hash()),
  machine: z.string().check(z.regex(MACHINE_RE)),
  type: z.string().check(z.regex(TYPE_RE)),
  event: text(EVENT_TEXT_LIMITS.event),
  qc: text(EVENT_TEXT_LIMITS.qc),
  state: text(EVENT_TEXT_LIMITS.state),
  committedAt: date(),
});

const PayoutSchema = z.strictObject({
  invoice: z.string().check(z.regex(INVOICE_RE)),
  party: hash(),
  role: z.string().check(z.regex(ROLE_RE)),
  amount: z.bigint().check(z.gte(0n), z.lte(MAX_AMOUNT)),
  currency: z.string().check(z.regex(CURRENCY_RE, 'expected 3–8 upper-case letters')),
});

const PayoutsSchema = z.array(PayoutSchema).check(z.maxLength(MAX_PAYOUTS));

const listLimit = () => z.number().check(z.int(), z.minimum(1), z.maximum(EVENT_LIST_LIMITS.max));

const ListOptionsSchema = z.strictObject({
  fromHeight: z.optional(height()),
  limit: z.optional(listLimit()),
});

const ChainsOptionsSchema = z.strictObject({
  after: z.optional(z.string().check(z.maxLength(200))),
  limit: z.optional(listLimit()),
});

const VoteRequestSchema = z.strictObject({
  chain: chainId(),
  height: height(),
  hash: hash(),
  leaf: bytes(VOTE_LOG_LIMITS.leaf),
  at: date(),
});

const BatchSchema = z.array(z.unknown()).check(z.maxLength(MAX_STORE_BATCH));
const AppendItemSchema = z.strictObject({ event: z.unknown(), payouts: z.optional(z.unknown()) });
const VoteRequestsSchema = z.array(VoteRequestSchema).check(z.maxLength(MAX_STORE_BATCH));
const ChainIdsSchema = z.array(chainId()).check(z.maxLength(MAX_STORE_BATCH));

const CheckpointSchema = z.strictObject({
  size: height(),
  note: text(VOTE_LOG_LIMITS.note),
  at: date(),
});

const AnchorSaveSchema = z.strictObject({
  size: height(),
  anchored: text(1_048_576).check(
    z.refine((t: string) => {
      try {
        const v: unknown = JSON.parse(t);
        return typeof v === 'object' && v !== null && !Array.isArray(v);
      } catch {
        return false;
      }
    }, 'a JSON object'),
  ),
  at: date(),
});

const WitnessStateSchema = z.strictObject({
  size: height(),
  root: z
    .custom<Uint8Array>(isBytes, 'expected a Uint8Array')
    .check(z.refine((b) => b.length === 32, 'expected 32 bytes')),
});
const OriginSchema = z.string().check(
  z.minLength(1),
  z.maxLength(1024),
  z.refine((s) => !/\p{Cc}/u.test(s), 'control character'),
);

/**
 * Parses a committed event to append (`ledger.event.invalid`). `prev` must be a hash or null;
 * whether it matches the head is the store's check (`ledger.event.out-of-order`).
 * @example
 * ```ts
 * const e = parseCommittedEvent({ chain: 'item:7f3a', height: 0, hash, prev: null, machine: 'omt.item/v1',
 *   type: 'mint', event, qc, state, committedAt: new Date() });
 * ```
 */
export function parseCommittedEvent(value: unknown): CommittedEvent {
  return parseInput(CommittedEventSchema, value, 'ledger.event.invalid', 'committed event');
}

/**
 * Parses the payouts stored with an event (`ledger.event.invalid`): amounts are `bigint` minor
 * units in [0, 2^63 − 1], currencies 3–8 upper-case letters, parties keyIds.
 * @example
 * ```ts
 * parsePayouts([{ invoice: 'inv-1', party: keyId, role: 'seller', amount: 9_500n, currency: 'EUR' }]);
 * ```
 */
export function parsePayouts(value: unknown): Payout[] {
  if (value === undefined) return [];
  return parseInput(PayoutsSchema, value, 'ledger.event.invalid', 'payouts') as Payout[];
}

/**
 * Parses a chain id argument (`ledger.event.invalid`).
 * @example
 * ```ts
 * parseChainArgument('item:7f3a'); // 'item:7f3a'
 * ```
 */
export function parseChainArgument(value: unknown): string {
  return parseInput(chainId(), value, 'ledger.event.invalid', 'chain id');
}

/**
 * Parses the chain ids of one `EventStore.heads` call: an array of at most
 * {@link MAX_STORE_BATCH} chain ids (`ledger.event.invalid`); duplicates are dropped.
 * @example
 * ```ts
 * parseChainArguments(['item:a', 'item:a', 'item:b']); // ['item:a', 'item:b']
 * ```
 */
export function parseChainArguments(value: unknown): string[] {
  const chains = parseInput(
    ChainIdsSchema,
    value,
    'ledger.event.invalid',
    `chain ids (at most ${MAX_STORE_BATCH})`,
  );
  return [...new Set(chains)];
}

/**
 * Parses a height argument: an integer in [0, 2^53 − 1] (`ledger.event.invalid`).
 * @example
 * ```ts
 * parseHeightArgument(3); // 3
 * ```
 */
export function parseHeightArgument(value: unknown): number {
  return parseInput(height(), value, 'ledger.event.invalid', 'height');
}

/**
 * Parses `EventStore.list` options with their defaults (`ledger.event.invalid`).
 * @example
 * ```ts
 * parseEventListOptions(undefined); // { fromHeight: 0, limit: 1000 }
 * ```
 */
export function parseEventListOptions(value: unknown): { fromHeight: number; limit: number } {
  const o = parseInput(ListOptionsSchema, value ?? {}, 'ledger.event.invalid', 'list options');
  return { fromHeight: o.fromHeight ?? 0, limit: o.limit ?? EVENT_LIST_LIMITS.default };
}

/**
 * Parses `EventStore.chains` options with their defaults (`ledger.event.invalid`);
 * `after` absent = from the first chain.
 * @example
 * ```ts
 * parseChainListOptions({ after: 'item:a', limit: 10 }); // { after: 'item:a', limit: 10 }
 * ```
 */
export function parseChainListOptions(value: unknown): { after: string | undefined; limit: number } {
  const o = parseInput(ChainsOptionsSchema, value ?? {}, 'ledger.event.invalid', 'chain list options');
  return { after: o.after, limit: o.limit ?? EVENT_LIST_LIMITS.default };
}

/**
 * Parses a vote request (`ledger.vote.invalid`): leaf 1–65,536 bytes.
 * @example
 * ```ts
 * parseVoteRequest({ chain: 'item:7f3a', height: 0, hash, leaf, at: new Date() });
 * ```
 */
export function parseVoteRequest(value: unknown): VoteRequest {
  return parseInput(VoteRequestSchema, value, 'ledger.vote.invalid', 'vote request');
}

/**
 * Parses the items of `EventStore.appendMany`. The list itself must be an array of at most
 * {@link MAX_STORE_BATCH} items, else it throws `ledger.event.invalid`; each item
 * `{ event, payouts? }` parses to its event and payouts, or — validation as data — to the
 * `ledger.event.invalid` error `append` would have thrown for it, so one bad item refuses only itself.
 * @example
 * ```ts
 * const parsed = parseAppendItems([{ event }, { event: next, payouts }]);
 * const bad = parsed.filter((p) => 'error' in p);
 * ```
 */
export function parseAppendItems(value: unknown): ParsedAppendItem[] {
  const items = parseInput(
    BatchSchema,
    value,
    'ledger.event.invalid',
    `append batch (at most ${MAX_STORE_BATCH} items)`,
  );
  return items.map((item) => {
    try {
      const i = parseInput(AppendItemSchema, item, 'ledger.event.invalid', 'append item {event, payouts?}');
      return { event: parseCommittedEvent(i.event), payouts: parsePayouts(i.payouts) };
    } catch (e) {
      if (!(e instanceof OmtError)) throw e;
      return { error: { code: e.code, message: e.message } };
    }
  });
}

/**
 * Parses the requests of `VoteLog.voteMany` (`ledger.vote.invalid`, naming the index of the
 * first bad request): an array of at most {@link MAX_STORE_BATCH} vote requests.
 * @example
 * ```ts
 * parseVoteRequests([{ chain: 'item:7f3a', height: 0, hash, leaf, at: new Date() }]);
 * ```
 */
export function parseVoteRequests(value: unknown): VoteRequest[] {
  return parseInput(
    VoteRequestsSchema,
    value,
    'ledger.vote.invalid',
    `vote batch (at most ${MAX_STORE_BATCH} requests)`,
  );
}

/**
 * Checks a leaf range `[from, to)` against the log's current `size` (`ledger.log.invalid`).
 * @example
 * ```ts
 * parseLogRange(0, 4, 10); // { from: 0, to: 4 }
 * ```
 */
export function parseLogRange(from: unknown, to: unknown, size: number): { from: number; to: number } {
  const f = parseInput(height(), from, 'ledger.log.invalid', 'from');
  const t = parseInput(height(), to, 'ledger.log.invalid', 'to');
  if (f > t || t > size)
    throw new OmtError('ledger.log.invalid', `invalid leaf range [${f}, ${t}) for a log of size ${size}`);
  return { from: f, to: t };
}

/**
 * Parses a checkpoint to save (`ledger.log.invalid`). A store also refuses a size beyond its
 * log (a checkpoint can only commit to leaves the log holds).
 * @example
 * ```ts
 * parseCheckpointSave(12, noteText, new Date());
 * ```
 */
export function parseCheckpointSave(
  size: unknown,
  note: unknown,
  at: unknown,
): { size: number; note: string; at: Date } {
  return parseInput(CheckpointSchema, { size, note, at }, 'ledger.log.invalid', 'checkpoint');
}

/**
 * Parses `VoteLog.saveAnchor` arguments (`ledger.log.invalid`): the checkpoint size, the anchored
 * checkpoint as JSON object text (≤ 1 MiB), the time.
 * @example
 * ```ts
 * parseAnchorSave(12, JSON.stringify(anchored), new Date());
 * ```
 */
export function parseAnchorSave(
  size: unknown,
  anchored: unknown,
  at: unknown,
): { size: number; anchored: string; at: Date } {
  return parseInput(AnchorSaveSchema, { size, anchored, at }, 'ledger.log.invalid', 'anchor');
}

/**
 * Parses `VoteLog.anchors`' limit (`ledger.log.invalid`): an integer in 1…1,000.
 * @example
 * ```ts
 * parseAnchorLimit(16); // 16
 * ```
 */
export function parseAnchorLimit(value: unknown): number {
  return parseInput(
    z.number().check(z.int(), z.minimum(1), z.maximum(1000)),
    value,
    'ledger.log.invalid',
    'anchor limit',
  );
}

/**
 * Parses a checkpoint size argument (`ledger.log.invalid`).
 * @example
 * ```ts
 * parseCheckpointSize(12); // 12
 * ```
 */
export function parseCheckpointSize(value: unknown): number {
  return parseInput(height(), value, 'ledger.log.invalid', 'checkpoint size');
}

/**
 * Parses a witness's log origin (`ledger.witness.invalid`): 1–1024 characters, no control characters (Unicode Cc).
 * @example
 * ```ts
 * parseWitnessOrigin('op1.omt.example'); // 'op1.omt.example'
 * ```
 */
export function parseWitnessOrigin(value: unknown): string {
  return parseInput(OriginSchema, value, 'ledger.witness.invalid', 'origin');
}

/**
 * Parses a witness state `{ size, root }` (`ledger.witness.invalid`): root 32 bytes (SHA-256).
 * @example
 * ```ts
 * parseWitnessState({ size: 12, root }, 'next');
 * ```
 */
export function parseWitnessState(
  value: unknown,
  what = 'witness state',
): { readonly size: number; readonly root: Uint8Array } {
  return parseInput(WitnessStateSchema, value, 'ledger.witness.invalid', what);
}
