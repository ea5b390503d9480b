import { OmtError } from '@omt/core/errors';
import { type KeyChain, type KeyIndexStore, MAX_KEY_INDEX } from '@omt/ledger/hd-wallet';
import { type ColumnType, type Kysely, sql } from 'kysely';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';

/** `omt_ledger_key_indexes` (migration 0004): the next unused index per (wallet, chain). */
export interface LedgerKeyIndexesTable {
  wallet_id: string;
  chain: KeyChain;
  next_index: ColumnType<string, number | bigint | string, number | bigint | string>;
}

type Db = OmtSchema & { omt_ledger_key_indexes: LedgerKeyIndexesTable };

const WALLET_ID_RE = /^[0-9a-f]{40}$/;

/**
 * `KeyIndexStore` (@omt/ledger hd-wallet) over SQL (migration `0004_ledger_jobs`). `allocate`
 * is one upsert (`INSERT … ON CONFLICT DO UPDATE SET next_index = next_index + 1 RETURNING`), so
 * every index goes to exactly one caller across any number of processes: keys are never reused.
 * @example
 * ```ts
 * const wallet = HdWallet.fromSeed(seed, { network: 'bsv', store: new SqlKeyIndexStore(omt.db) });
 * ```
 */
export class SqlKeyIndexStore implements KeyIndexStore {
  readonly #db: Kysely<Db>;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db.withTables<{ omt_ledger_key_indexes: LedgerKeyIndexesTable }>();
  }

  async allocate(walletId: string, chain: KeyChain): Promise<number> {
    check(walletId, chain);
    const row = await runLedgerQuery('allocating a key index', () =>
      this.#db
        .insertInto('omt_ledger_key_indexes')
        .values({ wallet_id: walletId, chain, next_index: 1 })
        .onConflict((oc) =>
          oc
            .columns(['wallet_id', 'chain'])
            .doUpdateSet({ next_index: sql`omt_ledger_key_indexes.next_index + 1` }),
        )
        .returning('next_index')
        .executeTakeFirstOrThrow(),
    );
    const index = Number(row.next_index) - 1;
    if (index > MAX_KEY_INDEX)
      throw new OmtError(
        'ledger.wallet.exhausted',
        `wallet: the ${chain} chain has no unused non-hardened index left`,
      );
    return index;
  }

  async peek(walletId: string, chain: KeyChain): Promise<number> {
    check(walletId, chain);
    const row = await runLedgerQuery('reading a key index', () =>
      this.#db
        .selectFrom('omt_ledger_key_indexes')
        .select('next_index')
        .where('wallet_id', '=', walletId)
        .where('chain', '=', chain)
        .executeTakeFirst(),
    );
    return row === undefined ? 0 : Number(row.next_index);
  }
}

function check(walletId: string, chain: KeyChain): void {
  if (typeof walletId !== 'string' || !WALLET_ID_RE.test(walletId))
    throw new OmtError('ledger.wallet.store', 'wallet id: 40 lower-case hex characters');
  if (chain !== 'funding' && chain !== 'change')
    throw new OmtError('ledger.wallet.store', "chain must be 'funding' or 'change'");
}
