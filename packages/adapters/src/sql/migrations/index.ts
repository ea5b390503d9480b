/*
 * How to add a migration (ARCHITECTURE "Storage": one schema shared by every store):
 *   1. Create `NNNN-<topic>.ts` in this folder exporting `const <topic>NNNN: Migration = { up }`
 *      (NNNN = next number, zero-padded; never edit or rename a migration that has shipped).
 *   2. Add ONE line to `omtMigrations` below: `'NNNN_<topic>': <topic>NNNN,`.
 *   3. Add the new tables' interfaces to `OmtSchema` in `../schema.ts`.
 * Names sort lexically, and kysely refuses to run them out of order, so numbers only grow.
 * Migrations are imported statically (no filesystem scanning) so a bundled build still has them.
 */
import type { Migration, MigrationProvider } from 'kysely/migration';
import { auditLog0001 } from './0001-audit-log.js';
import { kms0002 } from './0002-kms.js';
import { ledger0003 } from './0003-ledger.js';
import { ledgerJobs0004 } from './0004-ledger-jobs.js';
import { ledgerEvents0005 } from './0005-ledger-events.js';
import { ledgerEventBatches0006 } from './0006-ledger-event-batches.js';
import { ledgerAnchors0007 } from './0007-ledger-anchors.js';
import { ledgerQcNotes0008 } from './0008-ledger-qc-notes.js';
import { ledgerSetBasedBatches0009 } from './0009-ledger-set-based-batches.js';
import { ledgerCheckpointStorage0010 } from './0010-ledger-checkpoint-storage.js';

/** Every migration, by name, in order. */
export const omtMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_audit_log': auditLog0001,
  '0002_kms': kms0002,
  '0003_ledger': ledger0003,
  '0004_ledger_jobs': ledgerJobs0004,
  '0005_ledger_events': ledgerEvents0005,
  '0006_ledger_event_batches': ledgerEventBatches0006,
  '0007_ledger_anchors': ledgerAnchors0007,
  '0008_ledger_qc_notes': ledgerQcNotes0008,
  '0009_ledger_set_based_batches': ledgerSetBasedBatches0009,
  '0010_ledger_checkpoint_storage': ledgerCheckpointStorage0010,
});

/**
 * The static, in-code migration provider.
 *
 * @example
 * ```ts
 * new Migrator({ db, provider: omtMigrationProvider, migrationTableName: 'omt_migration' });
 * ```
 */
export const omtMigrationProvider: MigrationProvider = {
  getMigrations: async (): Promise<Record<string, Migration>> => ({ ...omtMigrations }),
};
