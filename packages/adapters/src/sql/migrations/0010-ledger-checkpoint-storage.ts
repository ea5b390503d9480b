import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * `omt_ledger_checkpoints.note` without a compression attempt (`storage external`, as 0006 and
 * 0008 do for QCs and their notes). A checkpoint note is mostly a base64 ML-DSA signature (~4.5 KB
 * with ML-DSA-65), which pglz cannot shrink by the quarter it asks for, so every insert paid for a
 * failed attempt: measured in PGlite, saving a checkpoint took ≈ 1.09 ms of CPU with it and
 * ≈ 0.74 ms without. An operator saves one per signed batch. Applies to rows written from now on.
 */
export const ledgerCheckpointStorage0010: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`alter table omt_ledger_checkpoints alter column note set storage external`.execute(db);
  },
};
