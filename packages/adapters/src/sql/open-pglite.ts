import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OmtError } from '@omt/core/errors';
import { type Dialect, PGliteDialect } from 'kysely';
import type { PgliteDatabaseConfig } from './database-config.js';

/** A kysely dialect plus what `close()` must do after `Kysely.destroy()`. */
export interface OpenedDialect {
  readonly dialect: Dialect;
  /** The PostgreSQL schema every table lives in. */
  readonly schema: string;
  /** Releases what `Kysely.destroy()` may have left open (idempotent). */
  readonly release: () => Promise<void>;
}

/** PostgreSQL type OID of `int8` (pg_type.dat). */
const INT8_OID = 20;

/**
 * Starts PGlite (in memory, or in `dataDir`) and waits until it answers.
 * `@electric-sql/pglite` is loaded only here, so PostgreSQL-only deployments never load it.
 * Failure → `OmtError('adapters.sql.unavailable')`.
 *
 * @example
 * ```ts
 * const { dialect } = await openPglite({ kind: 'pglite' });
 * ```
 */
export async function openPglite(config: PgliteDatabaseConfig): Promise<OpenedDialect> {
  const where = config.dataDir === undefined ? 'in memory' : `in ${config.dataDir}`;
  let pglite: import('@electric-sql/pglite').PGlite | undefined;
  try {
    // PGlite creates the data directory itself but not its parents (e.g. a fresh $OMT_HOME).
    if (config.dataDir !== undefined)
      await mkdir(dirname(resolve(config.dataDir)), { recursive: true, mode: 0o700 });
    const { PGlite } = await import('@electric-sql/pglite');
    // int8 as a decimal string, like pg does, so both backends return identical rows.
    const options = { parsers: { [INT8_OID]: (value: string): string => value } };
    pglite =
      config.dataDir === undefined
        ? new PGlite(options)
        : new PGlite({ ...options, dataDir: config.dataDir });
    await pglite.waitReady;
    await pglite.query('select 1');
  } catch (e) {
    if (pglite !== undefined && !pglite.closed) await pglite.close().catch(() => undefined);
    throw new OmtError('adapters.sql.unavailable', `cannot start PGlite ${where}: ${describe(e)}`, {
      cause: e,
      details: { kind: 'pglite' },
    });
  }
  const instance = pglite;
  return {
    dialect: new PGliteDialect({ pglite: instance }),
    schema: 'public',
    release: async (): Promise<void> => {
      if (!instance.closed) await instance.close();
    },
  };
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
