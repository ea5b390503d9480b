import { OmtError } from '@omt/core/errors';
import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { omtMigrationProvider } from './migrations/index.js';

/** Names of kysely's bookkeeping tables (prefixed like every table of ours). */
export const OMT_MIGRATION_TABLE: string = 'omt_migration';
export const OMT_MIGRATION_LOCK_TABLE: string = 'omt_migration_lock';

/** What one `migrate()` did. */
export interface MigrationReport {
  /** Migrations executed by this call, in order (empty when already up to date). */
  readonly applied: readonly string[];
  /** Every migration the database now has, in order. */
  readonly current: readonly string[];
}

function createMigrator(db: Kysely<unknown>, schema: string): Migrator {
  return new Migrator({
    db,
    provider: omtMigrationProvider,
    migrationTableName: OMT_MIGRATION_TABLE,
    migrationLockTableName: OMT_MIGRATION_LOCK_TABLE,
    // Explicit schema: kysely otherwise finds a migration table in ANY schema and skips creating ours.
    migrationTableSchema: schema,
  });
}

/** Every known migration and whether (and when) it has been applied. */
export interface MigrationStatus {
  readonly migrations: readonly { readonly name: string; readonly appliedAt: string | null }[];
  /** Names not yet applied, in order. */
  readonly pending: readonly string[];
}

/**
 * Reports which migrations `schema` has, without changing anything (a database never
 * migrated reports every migration pending).
 *
 * @example
 * ```ts
 * const { pending } = await migrationStatus(db, 'public');
 * ```
 */
export async function migrationStatus(db: Kysely<unknown>, schema: string): Promise<MigrationStatus> {
  try {
    const migrator = createMigrator(db, schema);
    const all = await despiteForeignDrops(schema, () => migrator.getMigrations());
    const migrations = all.map((m) => ({ name: m.name, appliedAt: m.executedAt?.toISOString() ?? null }));
    return { migrations, pending: migrations.filter((m) => m.appliedAt === null).map((m) => m.name) };
  } catch (error) {
    throw new OmtError(
      'adapters.sql.query-failed',
      `cannot read the migration state: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Brings `schema` up to the latest migration. Idempotent; concurrent callers are serialised
 * by kysely's migration lock (a PostgreSQL advisory lock; PGlite has one connection), and each
 * migration runs in its own transaction with its bookkeeping row.
 * Failure → `OmtError('adapters.sql.migration-failed')`.
 *
 * @example
 * ```ts
 * const report = await migrateDatabase(db, 'public'); // { applied: ['0001_audit_log'], current: [...] }
 * ```
 */
export async function migrateDatabase(db: Kysely<unknown>, schema: string): Promise<MigrationReport> {
  const migrator = createMigrator(db, schema);
  // migrateToLatest reports its failure in the outcome rather than throwing it.
  const { error, results } = await despiteForeignDrops(
    schema,
    () => migrator.migrateToLatest(),
    (outcome) => outcome.error,
  );
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new OmtError(
      'adapters.sql.migration-failed',
      failed === undefined ? `migration failed: ${reason}` : `migration ${failed} failed: ${reason}`,
      { cause: error, details: failed === undefined ? {} : { migration: failed } },
    );
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  const current = (await despiteForeignDrops(schema, () => migrator.getMigrations()))
    .filter((m) => m.executedAt !== undefined)
    .map((m) => m.name);
  return { applied, current };
}

/**
 * Runs `run` again, at most three more times, when another client's schema vanished under it.
 * kysely's migration-table checks (in `migrateToLatest` and `getMigrations`) introspect the tables
 * of every schema, and a schema dropped meanwhile fails that query (SQLSTATE 3F000) without
 * anything being wrong here. The failure is what `run` throws, or what `failed` finds in its result.
 */
async function despiteForeignDrops<T>(
  schema: string,
  run: () => Promise<T>,
  failed: (result: T) => unknown = () => undefined,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let result: T;
    try {
      result = await run();
    } catch (e) {
      if (attempt >= 3 || !isForeignSchemaGone(e, schema)) throw e;
      continue;
    }
    if (attempt >= 3 || !isForeignSchemaGone(failed(result), schema)) return result;
  }
}

function isForeignSchemaGone(error: unknown, schema: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  return (
    e?.code === '3F000' &&
    typeof e.message === 'string' &&
    /^schema ".*" does not exist$/.test(e.message) &&
    !e.message.includes(`"${schema}"`)
  );
}
