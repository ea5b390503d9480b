import { parseNonceUse } from '@omt/ledger/intent-nonce';
import type { NonceStore, NonceUse } from '@omt/ledger/ports';
import type { Kysely } from 'kysely';
import { GroupCommit } from './group-commit.js';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';
import type { LedgerSchema, OmtLedgerSchema } from './sql-ledger-schema.js';

/**
 * `NonceStore` (@omt/ledger port) over SQL (migration `0003_ledger`). `consume` is an
 * `INSERT … ON CONFLICT DO NOTHING RETURNING`: the primary key (signer, nonce) lets exactly one of
 * any number of concurrent callers, in any number of processes, insert the row.
 *
 * Group commit: at most two INSERTs per store are in flight; calls made meanwhile queue and go
 * as one multi-row INSERT whose RETURNING rows say, row by row, who inserted. Within a batch the
 * first call for a (signer, nonce) is the one inserted; later ones for the same pair lose (false),
 * so exactly-once holds inside a batch as between batches and processes. If a batch fails on one
 * row's data (SQLSTATE 22/23), its rows are retried one by one (a failed statement inserted
 * nothing), so one bad row fails only its own call; any other failure rejects the whole batch.
 *
 * @example
 * ```ts
 * const nonces = new SqlNonceStore(omt.db);
 * await verifyIntent(intent, { registry, nonces });
 * ```
 */
export class SqlNonceStore implements NonceStore {
  readonly #db: Kysely<OmtLedgerSchema>;
  /** Group commit: ≤ 500 rows per INSERT (4 parameters each), 2 INSERTs in flight. */
  readonly #consumes = new GroupCommit((uses: readonly NonceUse[]) => this.#consumeMany(uses), {
    maxBatch: 500,
  });

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db.withTables<LedgerSchema>();
  }

  async consume(use: NonceUse): Promise<boolean> {
    return this.#consumes.add(parseNonceUse(use));
  }

  /** One INSERT for the distinct pairs; per use whether it was the one that inserted its pair. */
  async #consumeMany(uses: readonly NonceUse[]): Promise<boolean[]> {
    const key = (u: NonceUse): string => `${u.signer}\u0000${u.nonce}`;
    const first = new Map<string, NonceUse>();
    for (const u of uses) if (!first.has(key(u))) first.set(key(u), u);
    const won = await this.#insert([...first.values()]);
    // Within a batch the first use of a pair is the one inserted; later ones lose.
    return uses.map((u) => first.get(key(u)) === u && won.has(key(u)));
  }

  /** Inserts the rows (distinct pairs); returns the `signer\0nonce` keys this INSERT created. */
  async #insert(uses: NonceUse[]): Promise<Set<string>> {
    const rows = await runLedgerQuery('consuming a nonce', () =>
      this.#db
        .insertInto('omt_ledger_nonces')
        .values(uses.map((u) => ({ signer: u.signer, nonce: u.nonce, hash: u.hash, timestamp: u.timestamp })))
        .onConflict((oc) => oc.columns(['signer', 'nonce']).doNothing())
        .returning(['signer', 'nonce'])
        .execute(),
    );
    return new Set(rows.map((r) => `${r.signer}\u0000${r.nonce}`));
  }

  async has(signer: string, nonce: string): Promise<boolean> {
    if (typeof signer !== 'string' || typeof nonce !== 'string') return false;
    if (signer.includes('\u0000') || nonce.includes('\u0000')) return false;
    const row = await runLedgerQuery('looking up a nonce', () =>
      this.#db
        .selectFrom('omt_ledger_nonces')
        .select('signer')
        .where('signer', '=', signer)
        .where('nonce', '=', nonce)
        .executeTakeFirst(),
    );
    return row !== undefined;
  }

  async prune(before: Date): Promise<number> {
    const r = await runLedgerQuery('pruning nonces', () =>
      this.#db.deleteFrom('omt_ledger_nonces').where('timestamp', '<', before).executeTakeFirst(),
    );
    return Number(r.numDeletedRows);
  }
}
