import { OmtError } from '@omt/core/errors';
import { CompiledQuery, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { PostgresDatabaseConfig } from './database-config.js';
import type { OpenedDialect } from './open-pglite.js';

/** The subset of `pg.Pool` we use: kysely's `PostgresPool` plus the `error` event. */
interface PgPool extends PostgresPool {
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly ended: boolean;
}

/** The subset of `pg.PoolConfig` we pass. */
interface PgPoolConfig {
  connectionString: string;
  max: number;
  connectionTimeoutMillis: number;
  application_name: string;
}

interface PgModule {
  Pool: new (config: PgPoolConfig) => PgPool;
}

/** Where a URL points, without credentials: safe for messages and logs. */
export function describePostgresUrl(url: string): string {
  const u = new URL(url);
  const port = u.port === '' ? '5432' : u.port;
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
  return `${u.hostname}:${port}/${database}`;
}

const DUPLICATE_SCHEMA = new Set(['23505', '42P06']);

/**
 * Opens a `pg` pool, checks that the server answers, creates `schema` if missing, and
 * sets `search_path` to it on every pool connection. `pg` is loaded only here.
 * Failure → `OmtError('adapters.sql.unavailable')` naming host:port/database, never the password.
 *
 * @example
 * ```ts
 * const { dialect } = await openPostgres({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' });
 * ```
 */
export async function openPostgres(config: PostgresDatabaseConfig): Promise<OpenedDialect> {
  const where = describePostgresUrl(config.url);
  const schema = config.schema ?? 'public';
  const mod = (await import('pg')) as unknown as PgModule & { default?: PgModule };
  const { Pool } = mod.default ?? mod;
  const pool = new Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    connectionTimeoutMillis: config.connectTimeoutMs ?? 10_000,
    application_name: 'openmediatrust',
  });
  // An idle client dropped by the server emits here; without a listener Node would crash.
  // The pool discards that client and the next checkout reconnects.
  pool.on('error', () => undefined);
  let client: PostgresPoolClient | undefined;
  try {
    client = await pool.connect();
    await ensureSchema(client, schema);
    client.release();
  } catch (e) {
    client?.release(true);
    await pool.end().catch(() => undefined);
    throw new OmtError('adapters.sql.unavailable', `cannot use PostgreSQL at ${where}: ${describe(e)}`, {
      cause: e,
      details: { kind: 'postgres', server: where },
    });
  }
  const setPath = CompiledQuery.raw(`set search_path to ${quoteIdent(schema)}`);
  return {
    dialect: new PostgresDialect({
      pool,
      onCreateConnection: async (connection): Promise<void> => {
        await connection.executeQuery(setPath);
      },
    }),
    schema,
    // Kysely ends the pool only if it ever used it.
    release: async (): Promise<void> => {
      if (!pool.ended) await pool.end();
    },
  };
}

async function ensureSchema(client: PostgresPoolClient, schema: string): Promise<void> {
  const exists = async (): Promise<boolean> =>
    (await client.query('select 1 from pg_namespace where nspname = $1', [schema])).rows.length > 0;
  if (await exists()) return;
  try {
    await client.query(`create schema if not exists ${quoteIdent(schema)}`, []);
  } catch (e) {
    // Two processes creating it at once: `if not exists` can still raise a duplicate error.
    const code = (e as { code?: unknown }).code;
    if (!(typeof code === 'string' && DUPLICATE_SCHEMA.has(code) && (await exists()))) throw e;
  }
}

/** Schema names are validated to [a-z_][a-z0-9_]*; quoting still guards reserved words. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function describe(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map(describe).join('; ');
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
