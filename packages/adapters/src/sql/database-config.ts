import { join } from 'node:path';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { z } from 'zod';

/** PostgreSQL identifiers we accept for `schema`: lower-case, unquoted-safe, ≤ 63 bytes (NAMEDATALEN − 1). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function isPostgresUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const pgliteConfigSchema = () =>
  z
    .object({
      kind: z.literal('pglite'),
      /** Directory holding the database files; absent = in-memory. */
      dataDir: z.string().min(1).optional(),
    })
    .strict();

const postgresConfigSchema = () =>
  z
    .object({
      kind: z.literal('postgres'),
      url: z
        .string()
        .refine(isPostgresUrl, { message: 'expected a postgres:// or postgresql:// URL with a host' }),
      /** Schema holding every table (created if missing); default `public`. */
      schema: z
        .string()
        .regex(SCHEMA_NAME, { message: 'expected a lower-case identifier [a-z_][a-z0-9_]*' })
        .optional(),
      /** Maximum pool connections; default 10. */
      poolSize: z.number().int().min(1).max(1000).optional(),
      /** Connect timeout in milliseconds; default 10 000. */
      connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
    })
    .strict();

/** Zod schema of {@link DatabaseConfig}. */
export const DatabaseConfigSchema: z.ZodType<DatabaseConfig> = /* @__PURE__ */ (() =>
  z.discriminatedUnion('kind', [pgliteConfigSchema(), postgresConfigSchema()]))();

/** Embedded PostgreSQL (PGlite, WebAssembly); `dataDir` absent = in-memory. */
export interface PgliteDatabaseConfig {
  readonly kind: 'pglite';
  readonly dataDir?: string;
}

/** A PostgreSQL server reached through a `pg` pool. */
export interface PostgresDatabaseConfig {
  readonly kind: 'postgres';
  readonly url: string;
  readonly schema?: string;
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
}

/** Where the OpenMediaTrust schema lives. */
export type DatabaseConfig = PgliteDatabaseConfig | PostgresDatabaseConfig;

/**
 * Validates an untrusted database configuration.
 * Throws `OmtError('adapters.sql.config-invalid')`; the message names the bad fields, never their values.
 *
 * @example
 * ```ts
 * const config = parseDatabaseConfig(JSON.parse(text));
 * ```
 */
export function parseDatabaseConfig(value: unknown): DatabaseConfig {
  return parseInput(DatabaseConfigSchema, value, 'adapters.sql.config-invalid', 'database config');
}

/**
 * Chooses the database from the environment: `DATABASE_URL` set → PostgreSQL; otherwise
 * PGlite stored in `<omtHome>/db`.
 *
 * @example
 * ```ts
 * const db = await createDatabase(databaseConfigFromEnv(process.env, '/home/me/.omt'));
 * ```
 */
export function databaseConfigFromEnv(
  env: Record<string, string | undefined>,
  omtHome: string,
): DatabaseConfig {
  const url = env.DATABASE_URL;
  if (url !== undefined && url !== '') return parseDatabaseConfig({ kind: 'postgres', url });
  if (typeof omtHome !== 'string' || omtHome === '') {
    throw new OmtError(
      'adapters.sql.config-invalid',
      'invalid database config: omtHome must be a non-empty path',
    );
  }
  return parseDatabaseConfig({ kind: 'pglite', dataDir: join(omtHome, 'db') });
}
