import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * `omt_ledger_anchors`: an operator's anchored checkpoints (the JSON of `AnchoredCheckpoint`) by
 * checkpoint size, so they are served again after a restart. A later save for a size replaces
 * the row (a proof with a newer block, after a reorg): upsert, no append-only trigger.
 */
export const ledgerAnchors0007: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('omt_ledger_anchors')
      .addColumn('size', 'bigint', (c) => c.primaryKey().check(sql`size >= 0`))
      .addColumn('anchored', 'text', (c) => c.notNull().check(sql`length(anchored) between 2 and 1048576`))
      .addColumn('saved_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
