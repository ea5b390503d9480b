import { parseWitnessOrigin, parseWitnessState } from '@omt/ledger/event-storage';
import type { WitnessStore } from '@omt/ledger/ports';
import { type Kysely, sql } from 'kysely';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';

/**
 * `WitnessStore` (@omt/ledger port) over SQL (migration `0005_ledger_events`): the latest
 * checkpoint size and root a witness cosigned, per log origin. `compareAndSwap` is one atomic
 * statement — `INSERT … ON CONFLICT DO NOTHING` when nothing is expected, else `UPDATE … WHERE
 * size = expected.size AND root = expected.root` — so of concurrent swaps from one state exactly
 * one succeeds, across processes too. (This table is updatable: it holds the latest state only.)
 *
 * @example
 * ```ts
 * const witness = new SqlWitnessStore(omt.db);
 * const ok = await witness.compareAndSwap('op1.omt.example', previous, { size: 12, root });
 * ```
 */
export class SqlWitnessStore implements WitnessStore {
  readonly #db: Kysely<OmtSchema>;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db;
  }

  async get(origin: string): Promise<{ readonly size: number; readonly root: Uint8Array } | undefined> {
    const o = parseWitnessOrigin(origin);
    const row = await runLedgerQuery('reading a witness state', () =>
      this.#db
        .selectFrom('omt_ledger_witness_state')
        .select(['size', 'root'])
        .where('origin', '=', o)
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : { size: Number(row.size), root: new Uint8Array(row.root) };
  }

  async compareAndSwap(
    origin: string,
    expected: { readonly size: number; readonly root: Uint8Array } | undefined,
    next: { readonly size: number; readonly root: Uint8Array },
  ): Promise<boolean> {
    const o = parseWitnessOrigin(origin);
    const n = parseWitnessState(next, 'next');
    const root = new Uint8Array(n.root);
    if (expected === undefined) {
      const inserted = await runLedgerQuery('storing a witness state', () =>
        this.#db
          .insertInto('omt_ledger_witness_state')
          .values({ origin: o, size: n.size, root })
          .onConflict((oc) => oc.column('origin').doNothing())
          .returning('origin')
          .executeTakeFirst(),
      );
      return inserted !== undefined;
    }
    const e = parseWitnessState(expected, 'expected');
    const updated = await runLedgerQuery('swapping a witness state', () =>
      this.#db
        .updateTable('omt_ledger_witness_state')
        .set({ size: n.size, root, updated_at: sql<Date>`now()` })
        .where('origin', '=', o)
        .where('size', '=', String(e.size))
        .where('root', '=', new Uint8Array(e.root))
        .returning('origin')
        .executeTakeFirst(),
    );
    return updated !== undefined;
  }
}
