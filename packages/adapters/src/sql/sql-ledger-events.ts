import { OmtError } from '@omt/core/errors';
import {
  parseChainArgument,
  parseChainListOptions,
  parseCommittedEvent,
  parseEventListOptions,
  parseHeightArgument,
  parsePayouts,
} from '@omt/ledger/event-storage';
import type { CommittedEvent, EventStore, Payout } from '@omt/ledger/ports';
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { LedgerEventsTable, OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';

/** Advisory-lock namespace (first key of the two-key form) of event appends, per chain. */
const EVENTS_LOCK = 0x6f6d7410;
/** Rows per payout INSERT (8 parameters each). */
const PAYOUT_CHUNK = 1000;

/**
 * `EventStore` (@omt/ledger port) over SQL (migration `0005_ledger_events`).
 *
 * `append` is one transaction under a transaction-scoped advisory lock per chain
 * (`pg_advisory_xact_lock(ns, hashtext(schema/chain))`), so appends to one chain from any number
 * of processes run one after another: it reads the row at the height (same hash → `exists`,
 * another → `ledger.event.conflict`) and the head (`ledger.event.out-of-order` unless the event
 * continues it), then inserts the event and its payouts — together or not at all. The database
 * backs this up on its own: the (chain, height) primary key, a trigger that refuses an event not
 * continuing its head, CHECK constraints on payouts, and triggers that refuse UPDATE, DELETE and
 * TRUNCATE of committed rows. PGlite runs the very same SQL.
 *
 * @example
 * ```ts
 * const events = new SqlEventStore(omt.db);
 * await events.append(committedEvent, payouts);
 * const page = await events.list('item:7f3a', { fromHeight: 0, limit: 100 });
 * ```
 */
export class SqlEventStore implements EventStore {
  readonly #db: Kysely<OmtSchema>;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db;
  }

  async append(event: CommittedEvent, payouts?: readonly Payout[]): Promise<'appended' | 'exists'> {
    const e = parseCommittedEvent(event);
    const ps = parsePayouts(payouts);
    try {
      return await this.#db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${sql.lit(EVENTS_LOCK)}, hashtext(current_schema() || '/' || ${e.chain}))`.execute(
          trx,
        );
        const at = await trx
          .selectFrom('omt_ledger_events')
          .select('hash')
          .where('chain', '=', e.chain)
          .where('height', '=', String(e.height))
          .executeTakeFirst();
        if (at !== undefined) {
          if (at.hash === e.hash) return 'exists';
          throw conflict(e.chain, e.height, at.hash);
        }
        const head = await headRow(trx, e.chain);
        const expected = head === undefined ? 0 : Number(head.height) + 1;
        if (e.height !== expected || e.prev !== (head?.hash ?? null))
          throw outOfOrder(e.chain, e.height, expected);
        await trx
          .insertInto('omt_ledger_events')
          .values({
            chain: e.chain,
            height: e.height,
            hash: e.hash,
            prev: e.prev,
            machine: e.machine,
            type: e.type,
            event: e.event,
            qc: e.qc,
            state: e.state,
            committed_at: e.committedAt,
          })
          .execute();
        for (let i = 0; i < ps.length; i += PAYOUT_CHUNK) {
          await trx
            .insertInto('omt_ledger_payouts')
            .values(
              ps.slice(i, i + PAYOUT_CHUNK).map((p, j) => ({
                chain: e.chain,
                height: e.height,
                seq: i + j,
                invoice: p.invoice,
                party: p.party,
                role: p.role,
                amount: p.amount,
                currency: p.currency,
              })),
            )
            .execute();
        }
        return 'appended' as const;
      });
    } catch (err) {
      throw mapAppendError(err, e.chain, e.height);
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
    return row === undefined ? undefined : toEvent(row);
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
    return row === undefined ? undefined : toEvent(row);
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
    return rows.map(toEvent);
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

async function headRow(
  trx: Transaction<OmtSchema>,
  chain: string,
): Promise<{ height: string; hash: string } | undefined> {
  return trx
    .selectFrom('omt_ledger_events')
    .select(['height', 'hash'])
    .where('chain', '=', chain)
    .orderBy('height', 'desc')
    .limit(1)
    .executeTakeFirst();
}

function toEvent(row: Selectable<LedgerEventsTable>): CommittedEvent {
  return {
    chain: row.chain,
    height: Number(row.height),
    hash: row.hash,
    prev: row.prev,
    machine: row.machine,
    type: row.type,
    event: row.event,
    qc: row.qc,
    state: row.state,
    committedAt: row.committed_at,
  };
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
 * The lock makes these unreachable through this class; they guard against other writers of the
 * same tables (raw SQL, a store without the lock): a primary-key race is a conflict, the
 * head trigger (SQLSTATE OMT02) an out-of-order event.
 */
function mapAppendError(e: unknown, chain: string, height: number): unknown {
  if (e instanceof OmtError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (code === '23505')
    return new OmtError('ledger.event.conflict', `another event is committed at ${chain} height ${height}`, {
      cause: e,
      details: { chain, height },
    });
  if (code === 'OMT02') return outOfOrder(chain, height, undefined);
  return new OmtError(
    'adapters.sql.query-failed',
    `appending an event failed: ${e instanceof Error ? e.message : String(e)}`,
    { cause: e },
  );
}
