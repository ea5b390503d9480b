import { Kysely } from 'kysely';
import { type DatabaseConfig, parseDatabaseConfig } from './database-config.js';
import {
  type MigrationReport,
  type MigrationStatus,
  migrateDatabase,
  migrationStatus,
} from './migrate-database.js';
import { type OpenedDialect, openPglite } from './open-pglite.js';
import { openPostgres } from './open-postgres.js';
import type { OmtSchema } from './schema.js';

/** An open OpenMediaTrust database. */
export interface OmtDatabase {
  /** Typed query builder over the one shared schema. */
  readonly db: Kysely<OmtSchema>;
  readonly kind: DatabaseConfig['kind'];
  /** The PostgreSQL schema holding the tables (`public` unless configured). */
  readonly schema: string;
  /** Applies pending migrations; idempotent and safe to run from several processes at once. */
  migrate(): Promise<MigrationReport>;
  /** Which migrations are applied and which are pending; changes nothing. */
  status(): Promise<MigrationStatus>;
  /** Closes the pool or the PGlite instance; idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the database described by `config` (validated first) and checks that it answers.
 * Only the chosen driver is loaded (`@electric-sql/pglite` or `pg`).
 * Errors: `adapters.sql.config-invalid`, `adapters.sql.unavailable`.
 *
 * @example
 * ```ts
 * const omt = await createDatabase({ kind: 'pglite', dataDir: '/var/lib/omt/db' });
 * await omt.migrate();
 * const heads = await omt.db.selectFrom('omt_audit_heads').selectAll().execute();
 * await omt.close();
 * ```
 */
export async function createDatabase(config: DatabaseConfig): Promise<OmtDatabase> {
  const parsed = parseDatabaseConfig(config);
  const opened: OpenedDialect =
    parsed.kind === 'pglite' ? await openPglite(parsed) : await openPostgres(parsed);
  const db = new Kysely<OmtSchema>({ dialect: opened.dialect });
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: parsed.kind,
    schema: opened.schema,
    migrate: (): Promise<MigrationReport> => migrateDatabase(db as Kysely<unknown>, opened.schema),
    status: (): Promise<MigrationStatus> => migrationStatus(db as Kysely<unknown>, opened.schema),
    close: (): Promise<void> => {
      closing ??= (async () => {
        try {
          await db.destroy();
        } finally {
          await opened.release();
        }
      })();
      return closing;
    },
  };
}
