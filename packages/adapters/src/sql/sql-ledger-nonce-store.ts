import { parseNonceUse } from '@omt/ledger/intent-nonce';
import type { NonceStore, NonceUse } from '@omt/ledger/ports';
import type { Kysely } from 'kysely';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';
import type { LedgerSchema, OmtLedgerSchema } from './sql-ledger-schema.js';

/**
 * `NonceStore` (@omt/ledger port) over SQL (migration `0003_ledger`). `consume` is a single
 * `INSERT … ON CONFLICT DO NOTHING RETURNING`: the primary key (signer, nonce) lets exactly one of
 * any number of concurrent callers, in any number of processes, insert the row.
 *
 * @example
 * ```ts
 * const nonces = new SqlNonceStore(omt.db);
 * await verifyIntent(intent, { registry, nonces });
 * ```
 */
export class SqlNonceStore implements NonceStore {
  readonly #db: Kysely<OmtLedgerSchema>;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db.withTables<LedgerSchema>();
  }

  async consume(use: NonceUse): Promise<boolean> {
    const u = parseNonceUse(use);
    const row = await runLedgerQuery('consuming a nonce', () =>
      this.#db
        .insertInto('omt_ledger_nonces')
        .values({ signer: u.signer, nonce: u.nonce, hash: u.hash, timestamp: u.timestamp })
        .onConflict((oc) => oc.columns(['signer', 'nonce']).doNothing())
        .returning('signer')
        .executeTakeFirst(),
    );
    return row !== undefined;
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
