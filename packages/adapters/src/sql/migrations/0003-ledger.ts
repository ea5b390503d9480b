import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * @omt/ledger ports over SQL: intent nonces (`NonceStore`), the signer key registry
 * (`KeyRegistry`) and the UTXO pool (`UtxoStore`) with its reservations.
 * - nonces: the primary key (signer, nonce) makes "use once" atomic (INSERT … ON CONFLICT DO NOTHING);
 * - utxos: one row per (pool, txid, vout); reservation takes rows with
 *   `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on or share an output;
 * - utxo reservations: every reservation ever granted (ids are never reused), with its input count,
 *   so `markSpent` can check that the reservation still holds *all* its outputs.
 */
export const ledger0003: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('omt_ledger_nonces')
      .addColumn('signer', 'text', (c) => c.notNull())
      .addColumn('nonce', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('timestamp', 'timestamptz', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('omt_ledger_nonces_pkey', ['signer', 'nonce'])
      .execute();
    await db.schema
      .createIndex('omt_ledger_nonces_timestamp')
      .on('omt_ledger_nonces')
      .column('timestamp')
      .execute();

    await db.schema
      .createTable('omt_ledger_signers')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('alg', 'text', (c) => c.notNull())
      .addColumn('public_key', 'bytea', (c) => c.notNull())
      .addColumn('valid_from', 'timestamptz', (c) => c.notNull())
      .addColumn('valid_until', 'timestamptz')
      .addColumn('label', 'text')
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'revoked')`))
      .addColumn('registered_at', 'timestamptz', (c) => c.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('revocation_reason', 'text')
      .execute();

    await db.schema
      .createTable('omt_ledger_utxos')
      .addColumn('pool', 'text', (c) => c.notNull())
      .addColumn('txid', 'text', (c) => c.notNull())
      .addColumn('vout', 'bigint', (c) => c.notNull().check(sql`vout >= 0 and vout <= 4294967295`))
      .addColumn('satoshis', 'bigint', (c) => c.notNull().check(sql`satoshis >= 0`))
      .addColumn('script', 'bytea', (c) => c.notNull())
      .addColumn('key_path', 'text')
      .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('available', 'reserved', 'spent')`))
      .addColumn('reservation_id', 'text')
      .addColumn('reserved_by', 'text')
      .addColumn('reserved_until', 'timestamptz')
      .addColumn('spent_by', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('omt_ledger_utxos_pkey', ['pool', 'txid', 'vout'])
      // A reserved row names its reservation; other states name none.
      .addCheckConstraint(
        'omt_ledger_utxos_reservation',
        sql`(state = 'reserved') = (reservation_id is not null and reserved_until is not null)`,
      )
      .addCheckConstraint('omt_ledger_utxos_spent', sql`(state = 'spent') = (spent_by is not null)`)
      .execute();
    await db.schema
      .createIndex('omt_ledger_utxos_pick')
      .on('omt_ledger_utxos')
      .columns(['pool', 'state', 'satoshis'])
      .execute();
    await db.schema
      .createIndex('omt_ledger_utxos_reservation_idx')
      .on('omt_ledger_utxos')
      .columns(['pool', 'reservation_id'])
      .execute();

    await db.schema
      .createTable('omt_ledger_utxo_reservations')
      .addColumn('pool', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('worker', 'text', (c) => c.notNull())
      .addColumn('inputs', 'integer', (c) => c.notNull().check(sql`inputs >= 1`))
      .addColumn('total', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('omt_ledger_utxo_reservations_pkey', ['pool', 'id'])
      .execute();
  },
};
