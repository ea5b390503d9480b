import { OmtError } from '@omt/core/errors';
import {
  parseAppendItems,
  parseChainArgument,
  parseChainArguments,
  parseChainListOptions,
  parseCommittedEvent,
  parseEventListOptions,
  parseHeightArgument,
  parsePayouts,
} from '@omt/ledger/event-storage';
import type { AppendItem, AppendOutcome, CommittedEvent, EventStore, Payout } from '@omt/ledger/ports';
import { type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
import type { LedgerEventsTable, OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';
import {
  compactQc,
  NoteCache,
  noteHash,
  qcReferences,
  restoreQc,
  type StoredQc,
} from './sql-ledger-qc-notes.js';

/**
 * Largest text (events, QCs, states; UTF-16 code units) one `appendMany` statement carries; a
 * larger batch is split into several statements, one after another (each item is still atomic,
 * and the outcomes are still those of appending the items in order).
 */
const BATCH_TEXT_LIMIT = 32 * 1024 * 1024;
/**
 * Most distinct checkpoint notes one statement inserts (one bind parameter each; PostgreSQL
 * takes at most 65,535 per statement, the rest of a 1,000-item batch uses ~3,000).
 */
const BATCH_NOTE_LIMIT = 16_384;
/** Total length (UTF-16 code units) of the notes a store keeps in memory: ~1,800 ML-DSA-65 notes. */
const NOTE_CACHE_CHARS = 8 * 1024 * 1024;
/** Batches of at most this many items are appended item by item (see `appendManyQuery`). */
const ITEM_BY_ITEM_MAX = 8;
/** Most hashes of notes known to be stored that a store remembers (~5 MB). */
const KNOWN_NOTES = 32_768;

interface BatchItem {
  readonly k: number;
  readonly event: CommittedEvent;
  /** The QC as stored (compacted, verbatim or as is) with the notes it references. */
  readonly qc: StoredQc;
  readonly payouts: readonly Payout[];
}

/** One `appendMany` statement: its items and every note they reference, by hash. */
interface Chunk {
  readonly items: BatchItem[];
  readonly notes: Map<string, string>;
}

/** The notes of `qc` a statement does not carry yet: their count and total length. */
function notesAdded(chunk: Chunk, qc: StoredQc): { chars: number; count: number } {
  let chars = 0;
  let count = 0;
  for (const [h, n] of qc.notes)
    if (!chunk.notes.has(h)) {
      chars += n.length;
      count++;
    }
  return { chars, count };
}

/**
 * `EventStore` (@omt/ledger port) over SQL (migrations `0005_ledger_events`,
 * `0006_ledger_event_batches`, `0008_ledger_qc_notes`, `0009_ledger_set_based_batches`).
 *
 * `append` and `appendMany` are one statement each — one round trip, one transaction —
 * `omt_ledger_append_many(…)`, a plpgsql function that takes a batch (1 to 1,000 items) as arrays
 * (a batch of at most 8 goes to `omt_ledger_append_each`, 0006's item-by-item form with the same
 * arguments, locks and outcomes, cheaper for a few items). It takes a transaction-scoped advisory lock per chain of the batch
 * (`pg_advisory_xact_lock(ns, hashtext(schema/chain))`, in ascending key order, so concurrent
 * batches never deadlock), so writes to one chain from any number of processes run one after
 * another; then it reads the heads of the batch's chains (and the stored hashes at or below them)
 * in one query, decides each item in array order against its chain's running head (at or below
 * it: same hash → `exists`, another → `ledger.event.conflict`; not continuing it →
 * `ledger.event.out-of-order`; else appended, the new head), and inserts the appended events and
 * their payouts in one statement each (0009; set-based, ~20 % less database time than 0006's
 * per-item statements on PGlite) — each event with its payouts or not at all. So `appendMany`'s
 * outcomes are those of `append` called for each item in order. The database backs this up on its own: the (chain, height)
 * primary key, a trigger that refuses an event not continuing its head, CHECK constraints on
 * payouts, and triggers that refuse UPDATE, DELETE and TRUNCATE of committed rows. PGlite runs
 * the very same SQL.
 *
 * Quorum certificates are stored compacted (migration `0008_ledger_qc_notes`, see
 * sql-ledger-qc-notes.ts): each checkpoint note once in `omt_ledger_qc_notes`, inserted by the
 * statement that appends the events (a data-modifying CTE, `on conflict do nothing`, in hash
 * order so concurrent batches never deadlock), and the QC with references to it; a note this store
 * saw committed is not sent again. Reads give back
 * the original text exactly, fetching the notes missing from a bounded in-memory cache with one
 * query per call; a reference whose note is missing, or does not hash to it, is
 * `adapters.sql.query-failed` (never a wrong QC). Rows written before 0008 are read as they are.
 *
 * @example
 * ```ts
 * const events = new SqlEventStore(omt.db);
 * await events.append(committedEvent, payouts);
 * const outcomes = await events.appendMany([{ event: next }, { event: other, payouts }]);
 * const page = await events.list('item:7f3a', { fromHeight: 0, limit: 100 });
 * ```
 */
export class SqlEventStore implements EventStore {
  readonly #db: Kysely<OmtSchema>;
  readonly #notes = new NoteCache(NOTE_CACHE_CHARS);
  readonly #hashOf = (note: string): string => this.#notes.hashOf(note);
  /**
   * Hashes of notes this store saw committed to its table (inserted by a statement that
   * succeeded, or read back from it): the table is append-only, so they stay there, and the next
   * statements that reference them do not carry their text again (a checkpoint note is ~4.5 KB;
   * single-event appends under one checkpoint sent the same three notes every time). Off on a
   * `Transaction`, whose statements a caller may still roll back.
   */
  readonly #stored: KnownNotes | undefined;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db;
    this.#stored = db.isTransaction ? undefined : new KnownNotes(KNOWN_NOTES);
  }

  /** `compactQc`, with only the notes not known to be stored. */
  #compact(qc: string): StoredQc {
    const c = compactQc(qc, this.#hashOf);
    const stored = this.#stored;
    if (stored === undefined || c.notes.size === 0) return c;
    let notes: Map<string, string> | undefined;
    for (const h of c.notes.keys())
      if (stored.has(h)) {
        notes ??= new Map(c.notes);
        notes.delete(h);
      }
    return notes === undefined ? c : { text: c.text, notes };
  }

  async append(event: CommittedEvent, payouts?: readonly Payout[]): Promise<'appended' | 'exists'> {
    const e = parseCommittedEvent(event);
    const ps = parsePayouts(payouts);
    const qc = this.#compact(e.qc);
    let row: BatchRow | undefined;
    try {
      const result = await appendManyQuery(
        { items: [{ k: 0, event: e, qc, payouts: ps }], notes: new Map(qc.notes) },
        false,
      ).execute(this.#db);
      row = result.rows[0];
      this.#stored?.addAll(qc.notes.keys());
    } catch (err) {
      // One item: the statement's error is this item's (no retry in subtransactions needed).
      throw mapAppendError(err, e.chain, e.height);
    }
    if (row === undefined)
      throw new OmtError('adapters.sql.query-failed', 'appending an event returned no row');
    switch (row.status) {
      case 'appended':
      case 'exists':
        return row.status;
      case 'conflict':
        throw conflict(e.chain, e.height, row.detail ?? '');
      case 'out-of-order':
        throw outOfOrder(e.chain, e.height, Number(row.detail));
      default:
        throw new OmtError(
          'adapters.sql.query-failed',
          `appending an event: unexpected status ${row.status}`,
        );
    }
  }

  async appendMany(items: readonly AppendItem[]): Promise<AppendOutcome[]> {
    const parsed = parseAppendItems(items);
    const outcomes: AppendOutcome[] = new Array(parsed.length);
    const chunks: Chunk[] = [];
    let chunk: Chunk = { items: [], notes: new Map() };
    let size = 0;
    for (const [k, p] of parsed.entries()) {
      if ('error' in p) {
        outcomes[k] = { error: p.error };
        continue;
      }
      const qc = this.#compact(p.event.qc);
      const own = p.event.event.length + qc.text.length + p.event.state.length;
      let added = notesAdded(chunk, qc);
      if (
        chunk.items.length > 0 &&
        (size + own + added.chars > BATCH_TEXT_LIMIT || chunk.notes.size + added.count > BATCH_NOTE_LIMIT)
      ) {
        chunks.push(chunk);
        chunk = { items: [], notes: new Map() };
        size = 0;
        added = notesAdded(chunk, qc);
      }
      chunk.items.push({ k, event: p.event, qc, payouts: p.payouts });
      for (const [h, n] of qc.notes) chunk.notes.set(h, n);
      size += own + added.chars;
    }
    if (chunk.items.length > 0) chunks.push(chunk);
    for (const c of chunks) {
      const rows = await this.#appendBatch(c);
      for (const [j, item] of c.items.entries())
        outcomes[item.k] = toOutcome(rows[j] as BatchRow, item.event);
    }
    return outcomes;
  }

  /**
   * One `omt_ledger_append_many` statement (migration 0006): one round trip, one transaction.
   * The fast form has no subtransaction; when the database refuses one of its inserts (a
   * constraint, a trigger: SQLSTATE class 22, 23 or OMT02) the whole statement is rolled back
   * and run again with each item in its own subtransaction, so only that item is refused.
   */
  async #appendBatch(chunk: Chunk): Promise<BatchRow[]> {
    const run = async (isolate: boolean): Promise<BatchRow[]> => {
      const { rows } = await appendManyQuery(chunk, isolate).execute(this.#db);
      if (rows.length !== chunk.items.length)
        throw new OmtError('adapters.sql.query-failed', `appending events returned ${rows.length} rows`);
      return rows;
    };
    try {
      let rows: BatchRow[];
      try {
        rows = await run(false);
      } catch (e) {
        if (!isItemRefusal(e)) throw e;
        rows = await run(true);
      }
      // The statement committed: the notes it carried are stored (inserted or found).
      this.#stored?.addAll(chunk.notes.keys());
      return rows;
    } catch (e) {
      if (e instanceof OmtError) throw e;
      throw new OmtError(
        'adapters.sql.query-failed',
        `appending events failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  async head(chain: string): Promise<CommittedEvent | undefined> {
    const c = parseChainArgument(chain);
    const row = await runLedgerQuery('reading a chain head', () =>
      this.#db
        .selectFrom('omt_ledger_events')
        .selectAll()
        .where('chain', '=', c)
        .orderBy('height', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : (await this.#toEvents([row]))[0];
  }

  async heads(chains: readonly string[]): Promise<Map<string, CommittedEvent>> {
    const cs = parseChainArguments(chains);
    const out = new Map<string, CommittedEvent>();
    if (cs.length === 0) return out;
    // One statement: an index probe per chain on (chain, height).
    const rows = await runLedgerQuery('reading chain heads', async () => {
      const r = await sql<Selectable<LedgerEventsTable>>`
        select e.* from unnest(${cs}::text[]) as c(chain)
        cross join lateral (
          select * from omt_ledger_events where chain = c.chain order by height desc limit 1
        ) as e`.execute(this.#db);
      return r.rows;
    });
    for (const e of await this.#toEvents(rows)) out.set(e.chain, e);
    return out;
  }

  async get(chain: string, height: number): Promise<CommittedEvent | undefined> {
    const c = parseChainArgument(chain);
    const h = parseHeightArgument(height);
    const row = await runLedgerQuery('reading an event', () =>
      this.#db
        .selectFrom('omt_ledger_events')
        .selectAll()
        .where('chain', '=', c)
        .where('height', '=', String(h))
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : (await this.#toEvents([row]))[0];
  }

  async list(
    chain: string,
    options?: { readonly fromHeight?: number; readonly limit?: number },
  ): Promise<CommittedEvent[]> {
    const c = parseChainArgument(chain);
    const { fromHeight, limit } = parseEventListOptions(options);
    const rows = await runLedgerQuery('listing events', () =>
      this.#db
        .selectFrom('omt_ledger_events')
        .selectAll()
        .where('chain', '=', c)
        .where('height', '>=', String(fromHeight))
        .orderBy('height', 'asc')
        .limit(limit)
        .execute(),
    );
    return this.#toEvents(rows);
  }

  /**
   * Rows as events, each QC restored to its original text: the notes its references name come
   * from the cache or, all those missing, from one query. A missing note, or one that does not
   * hash to its reference, is corruption: `adapters.sql.query-failed` naming the event.
   */
  async #toEvents(rows: readonly Selectable<LedgerEventsTable>[]): Promise<CommittedEvent[]> {
    const notes = new Map<string, string>();
    const missing = new Set<string>();
    for (const row of rows) {
      const refs = qcReferences(row.qc);
      if (refs === undefined) throw corruptQc(row, 'holds a checkpoint value that is not a note reference');
      for (const h of refs) {
        if (notes.has(h) || missing.has(h)) continue;
        const note = this.#notes.get(h);
        if (note === undefined) missing.add(h);
        else notes.set(h, note);
      }
    }
    if (missing.size > 0) {
      const fetched = await runLedgerQuery('reading checkpoint notes', () =>
        this.#db
          .selectFrom('omt_ledger_qc_notes')
          .select(['hash', 'note'])
          .where(sql<boolean>`hash = any(${[...missing]}::text[])`)
          .execute(),
      );
      for (const { hash, note } of fetched) {
        // The table's CHECK guarantees this; checked again so no tampering yields a wrong QC.
        if (!missing.has(hash) || noteHash(note) !== hash) {
          const row = rows.find((r) => qcReferences(r.qc)?.includes(hash)) ?? rows[0];
          throw corruptQc(
            row as Selectable<LedgerEventsTable>,
            `references checkpoint note ${hash}, stored with other text (its hash does not match)`,
          );
        }
        notes.set(hash, note);
        this.#notes.add(hash, note);
        this.#stored?.add(hash);
      }
    }
    return rows.map((row) => {
      const qc = restoreQc(row.qc, (h) => notes.get(h));
      if (qc === undefined) {
        const lost = (qcReferences(row.qc) ?? []).find((h) => !notes.has(h));
        throw corruptQc(row, `references checkpoint note ${lost}, which is not stored`);
      }
      return toEvent(row, qc);
    });
  }

  async payouts(chain: string): Promise<Payout[]> {
    const c = parseChainArgument(chain);
    const rows = await runLedgerQuery('listing payouts', () =>
      this.#db
        .selectFrom('omt_ledger_payouts')
        .select(['invoice', 'party', 'role', 'amount', 'currency'])
        .where('chain', '=', c)
        .orderBy('height', 'asc')
        .orderBy('seq', 'asc')
        .execute(),
    );
    return rows.map((r) => ({
      invoice: r.invoice,
      party: r.party,
      role: r.role,
      amount: BigInt(r.amount),
      currency: r.currency,
    }));
  }

  async chains(options?: {
    readonly after?: string;
    readonly limit?: number;
  }): Promise<{ chain: string; height: number }[]> {
    const { after, limit } = parseChainListOptions(options);
    // One height-0 row per chain (partial index `omt_ledger_events_roots`); the head height is
    // one index probe per listed chain. The column's collation is "C": byte order.
    const rows = await runLedgerQuery('listing chains', () =>
      this.#db
        .selectFrom('omt_ledger_events as r')
        .select((eb) => [
          'r.chain',
          eb
            .selectFrom('omt_ledger_events as e')
            .select((e) => e.fn.max('e.height').as('h'))
            .whereRef('e.chain', '=', 'r.chain')
            .as('height'),
        ])
        .where('r.height', '=', '0')
        .$if(after !== undefined, (q) => q.where('r.chain', '>', after as string))
        .orderBy('r.chain', 'asc')
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({ chain: r.chain, height: Number(r.height) }));
  }
}

/** A bounded set of note hashes: the oldest additions leave first. */
class KnownNotes {
  readonly #set = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  has(hash: string): boolean {
    return this.#set.has(hash);
  }

  add(hash: string): void {
    if (this.#set.has(hash)) return;
    this.#set.add(hash);
    if (this.#set.size > this.#max) for (const h of this.#set) return void this.#set.delete(h);
  }

  addAll(hashes: Iterable<string>): void {
    for (const h of hashes) this.add(h);
  }
}

/** One row of `omt_ledger_append_many`. */
interface BatchRow {
  readonly item: number;
  readonly status: 'appended' | 'exists' | 'conflict' | 'out-of-order' | 'refused';
  /** conflict: the committed hash; out-of-order: the expected height; refused: SQLSTATE and message. */
  readonly detail: string | null;
}

/**
 * The statement of one chunk: `omt_ledger_append_many` (migration 0006) with the QCs as stored,
 * preceded, when they reference notes, by a data-modifying CTE that inserts those notes (all of
 * them: a stored QC never references a note its own transaction did not insert or find). Notes
 * are inserted in hash order, so two concurrent statements wait on each other's notes in one
 * order only (no deadlock); an existing note is left alone (`on conflict do nothing`, which also
 * waits for a concurrent inserter's outcome).
 */
function appendManyQuery(chunk: Chunk, isolate: boolean): RawBuilder<BatchRow> {
  const { items, notes } = chunk;
  const events = items.map((i) => i.event);
  const payouts = items.flatMap((i) => i.payouts);
  const from: number[] = [];
  let next = 1;
  for (const i of items) {
    from.push(next);
    next += i.payouts.length;
  }
  const withNotes =
    notes.size === 0
      ? sql``
      : sql`with notes as (
    insert into omt_ledger_qc_notes (hash, note)
    select n.hash, n.note from unnest(${[...notes.keys()]}::text[], ${texts([...notes.values()])}) as n(hash, note)
    order by n.hash
    on conflict do nothing)
  `;
  // A few items: 0006's item-by-item function, which decides exactly as the set-based one and
  // costs less for them (PGlite, measured: 1 item ≈ 0.85 against ≈ 1.15 ms, 4 items ≈ 0.4 against
  // ≈ 0.6 ms per item; from ≈ 16 on the set-based one is as fast or faster).
  const fn = items.length <= ITEM_BY_ITEM_MAX ? sql`omt_ledger_append_each` : sql`omt_ledger_append_many`;
  return sql<BatchRow>`${withNotes}select item, status, detail from ${fn}(
    ${events.map((e) => e.chain)}::text[], ${events.map((e) => e.height)}::bigint[],
    ${events.map((e) => e.hash)}::text[], ${events.map((e) => e.prev)}::text[],
    ${events.map((e) => e.machine)}::text[], ${events.map((e) => e.type)}::text[],
    ${texts(events.map((e) => e.event))}, ${texts(items.map((i) => i.qc.text))},
    ${texts(events.map((e) => e.state))}, ${events.map((e) => e.committedAt)}::timestamptz[],
    ${from}::int[], ${items.map((i) => i.payouts.length)}::int[],
    ${payouts.map((p) => p.invoice)}::text[], ${payouts.map((p) => p.party)}::text[],
    ${payouts.map((p) => p.role)}::text[], ${payouts.map((p) => p.amount.toString())}::bigint[],
    ${payouts.map((p) => p.currency)}::text[], ${isolate}) order by item`;
}

/**
 * The large texts as `array[$1, $2, …]`: one text parameter each. Measured on 100 events of
 * ~19 KB: a `text[]` literal costs PGlite ~2× the CPU (the server parses the literal character by
 * character) and node-postgres far more when the texts hold quotes (it escapes them one by one).
 */
function texts(values: readonly string[]): RawBuilder<string[]> {
  return sql<string[]>`array[${sql.join(values)}]::text[]`;
}

/** An error the database raised for one item's inserts (constraint, data, head trigger). */
function isItemRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'OMT02' || code.startsWith('22') || code.startsWith('23'));
}

function toOutcome(row: BatchRow, e: CommittedEvent): AppendOutcome {
  switch (row.status) {
    case 'appended':
    case 'exists':
      return row.status;
    case 'conflict':
      return errorOutcome(conflict(e.chain, e.height, row.detail ?? ''));
    case 'out-of-order':
      return errorOutcome(outOfOrder(e.chain, e.height, Number(row.detail)));
    default: {
      // 'refused' (isolated form only): detail = SQLSTATE, a space, the message.
      const detail = row.detail ?? '';
      const space = detail.indexOf(' ');
      return errorOutcome(
        refusal(detail.slice(0, space), detail.slice(space + 1), e.chain, e.height, undefined),
      );
    }
  }
}

function errorOutcome(e: OmtError): AppendOutcome {
  return { error: { code: e.code, message: e.message } };
}

function toEvent(row: Selectable<LedgerEventsTable>, qc: string): CommittedEvent {
  return {
    chain: row.chain,
    height: Number(row.height),
    hash: row.hash,
    prev: row.prev,
    machine: row.machine,
    type: row.type,
    event: row.event,
    qc,
    state: row.state,
    committedAt: row.committed_at,
  };
}

/** A stored QC that cannot be restored exactly: never returned, reported as a query failure. */
function corruptQc(row: Selectable<LedgerEventsTable>, what: string): OmtError {
  const height = Number(row.height);
  return new OmtError(
    'adapters.sql.query-failed',
    `the quorum certificate stored for ${row.chain} height ${height} ${what}`,
    { details: { chain: row.chain, height } },
  );
}

function conflict(chain: string, height: number, committed: string): OmtError {
  return new OmtError('ledger.event.conflict', `another event is committed at ${chain} height ${height}`, {
    details: { chain, height, committed },
  });
}

function outOfOrder(chain: string, height: number, expected: number | undefined): OmtError {
  return new OmtError(
    'ledger.event.out-of-order',
    expected === undefined
      ? `${chain}: event at height ${height} does not continue the head`
      : `${chain}: expected height ${expected} linked to the head, got height ${height}`,
    { details: { chain, height, ...(expected === undefined ? {} : { expected }) } },
  );
}

/**
 * A database error of an append, as `append` throws it and `appendMany` reports it. The locks
 * make the first two unreachable through this class; they guard against other writers of the
 * same tables (raw SQL, a store without the lock): a primary-key race is a conflict, the head
 * trigger (SQLSTATE OMT02) an out-of-order event. Anything else the database refused (a payout
 * constraint, …) is `adapters.sql.query-failed`.
 */
function mapAppendError(e: unknown, chain: string, height: number): OmtError {
  if (e instanceof OmtError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return refusal(typeof code === 'string' ? code : '', message, chain, height, e);
}

function refusal(sqlstate: string, message: string, chain: string, height: number, cause: unknown): OmtError {
  if (sqlstate === '23505')
    return new OmtError('ledger.event.conflict', `another event is committed at ${chain} height ${height}`, {
      cause,
      details: { chain, height },
    });
  if (sqlstate === 'OMT02') return outOfOrder(chain, height, undefined);
  return new OmtError('adapters.sql.query-failed', `appending an event failed: ${message}`, { cause });
}
