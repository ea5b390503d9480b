/**
 * `@omt/adapters/sql`: the one OpenMediaTrust schema over kysely, on PGlite (embedded
 * default) or PostgreSQL (ARCHITECTURE "Storage"). Node-only (`node` export condition).
 *
 * @example
 * ```ts
 * import { createDatabase, databaseConfigFromEnv, SqlAuditLogStore } from '@omt/adapters/sql';
 * const omt = await createDatabase(databaseConfigFromEnv(process.env, omtHome));
 * await omt.migrate();
 * const audit = new SqlAuditLogStore(omt.db);
 * ```
 */
export { createDatabase, type OmtDatabase } from './create-database.js';
export {
  type DatabaseConfig,
  DatabaseConfigSchema,
  databaseConfigFromEnv,
  type PgliteDatabaseConfig,
  type PostgresDatabaseConfig,
  parseDatabaseConfig,
} from './database-config.js';
export {
  type MigrationReport,
  type MigrationStatus,
  migrateDatabase,
  migrationStatus,
  OMT_MIGRATION_LOCK_TABLE,
  OMT_MIGRATION_TABLE,
} from './migrate-database.js';
export { omtMigrationProvider, omtMigrations } from './migrations/index.js';
export type {
  AuditEntriesTable,
  AuditHeadsTable,
  Int8Column,
  LedgerCheckpointsTable,
  LedgerEventsTable,
  LedgerLogLeavesTable,
  LedgerPayoutsTable,
  LedgerQcNotesTable,
  LedgerVotesTable,
  LedgerWitnessStateTable,
  OmtSchema,
} from './schema.js';
export { SqlAuditLogStore } from './sql-audit-log-store.js';
export { SqlKmsKeyStore } from './sql-kms-key-store.js';
export type {
  KmsGrantsTable,
  KmsJobsTable,
  KmsKeysTable,
  KmsObjectSecretsTable,
  KmsSchema,
  KmsTenantsTable,
  OmtKmsSchema,
} from './sql-kms-schema.js';
export { SqlEventStore } from './sql-ledger-events.js';
export {
  type LedgerBatchesTable,
  type LedgerJobsSchema,
  type LedgerJobsTable,
  SqlJobQueue,
} from './sql-ledger-jobs.js';
export { type LedgerKeyIndexesTable, SqlKeyIndexStore } from './sql-ledger-key-index.js';
export { SqlKeyRegistry } from './sql-ledger-key-registry.js';
export { SqlNonceStore } from './sql-ledger-nonce-store.js';
export type {
  LedgerNoncesTable,
  LedgerSchema,
  LedgerSignersTable,
  LedgerUtxoReservationsTable,
  LedgerUtxosTable,
  OmtLedgerSchema,
} from './sql-ledger-schema.js';
export { SqlUtxoStore } from './sql-ledger-utxo-store.js';
export { SqlVoteLog } from './sql-ledger-vote-log.js';
export { SqlWitnessStore } from './sql-ledger-witness-store.js';
