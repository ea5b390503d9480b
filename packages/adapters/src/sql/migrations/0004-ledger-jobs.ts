import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The publisher's job queue and the HD wallet's key indexes (@omt/ledger `JobQueue`,
 * `KeyIndexStore`):
 * - jobs: one row per verified intent; workers claim due rows with `FOR UPDATE SKIP LOCKED`
 *   and hold them by a lease (`lease_owner`, `lease_until`) that lapses if the worker dies;
 * - batches: one row per signed OP_RETURN transaction, leased the same way while it is broadcast;
 * - key indexes: the next unused BIP32 index per (wallet, chain), allocated with an atomic upsert.
 */
export const ledgerJobs0004: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('omt_ledger_batches')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) =>
        c.notNull().check(sql`status in ('signed', 'stored', 'sent', 'confirmed', 'abandoned')`),
      )
      .addColumn('chain', 'text', (c) => c.notNull().check(sql`chain in ('bsv', 'btc')`))
      .addColumn('txid', 'text', (c) => c.notNull())
      .addColumn('raw_tx', 'text', (c) => c.notNull())
      .addColumn('vout', 'integer', (c) => c.notNull())
      .addColumn('reservation_id', 'text', (c) => c.notNull())
      .addColumn('change_vout', 'integer')
      .addColumn('change_key_path', 'text')
      .addColumn('root', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'timestamptz')
      .addColumn('block_height', 'integer')
      .addColumn('bump', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('omt_ledger_batches_due')
      .on('omt_ledger_batches')
      .columns(['status', 'next_attempt_at'])
      .execute();
    await db.schema.createIndex('omt_ledger_batches_txid').on('omt_ledger_batches').column('txid').execute();

    await db.schema
      .createTable('omt_ledger_jobs')
      .addColumn('seq', 'bigserial', (c) => c.notNull().unique())
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) =>
        c.notNull().check(sql`status in ('queued', 'signed', 'sent', 'confirmed', 'failed')`),
      )
      .addColumn('record_id', 'text', (c) => c.notNull())
      .addColumn('record_hash', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('intent', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'timestamptz')
      .addColumn('batch_id', 'text', (c) => c.references('omt_ledger_batches.id'))
      .addColumn('inclusion', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      // A job past `queued` (other than failed) belongs to a batch and has its inclusion proof.
      .addCheckConstraint(
        'omt_ledger_jobs_batch',
        sql`(status in ('signed', 'sent', 'confirmed')) = (batch_id is not null and inclusion is not null)`,
      )
      .execute();
    await db.schema
      .createIndex('omt_ledger_jobs_due')
      .on('omt_ledger_jobs')
      .columns(['status', 'next_attempt_at', 'seq'])
      .execute();
    await db.schema
      .createIndex('omt_ledger_jobs_record')
      .on('omt_ledger_jobs')
      .columns(['record_id', 'seq'])
      .execute();
    await db.schema
      .createIndex('omt_ledger_jobs_batch_idx')
      .on('omt_ledger_jobs')
      .column('batch_id')
      .execute();

    await db.schema
      .createTable('omt_ledger_key_indexes')
      .addColumn('wallet_id', 'text', (c) => c.notNull())
      .addColumn('chain', 'text', (c) => c.notNull().check(sql`chain in ('funding', 'change')`))
      .addColumn('next_index', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('omt_ledger_key_indexes_pkey', ['wallet_id', 'chain'])
      .execute();
  },
};
