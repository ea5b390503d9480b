/**
 * PostgreSQL test environment: `DATABASE_URL` (CI: postgres://postgres@127.0.0.1:5432/test).
 * In CI (`CI=true`) a missing DATABASE_URL FAILS the PostgreSQL tests; elsewhere they skip
 * with the reason in the test name. Every test file works in its own random schema.
 */
import { randomBytes } from 'node:crypto';
import { createDatabase, type DatabaseConfig, type OmtDatabase } from '@omt/adapters/sql';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';

export const databaseUrl: string | undefined = process.env.DATABASE_URL || undefined;

/** A fresh schema name no other run uses, e.g. `omt_test_sql_1a2b3c4d5e6f`. */
export function randomSchema(label: string): string {
  return `omt_test_${label}_${randomBytes(6).toString('hex')}`;
}

/** Drops test schemas (and everything in them) through a short-lived client. */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of schemas) {
      if (!/^omt_test_[a-z0-9_]+$/.test(s)) throw new Error(`refusing to drop ${s}`);
      await client.query(`drop schema if exists "${s}" cascade`);
    }
  } finally {
    await client.end();
  }
}

/**
 * `describe` for PostgreSQL-backed tests: runs `body(url)` when DATABASE_URL is set; otherwise
 * fails in CI and skips (saying why) elsewhere.
 */
export function describePostgres(name: string, body: (url: string) => void): void {
  const url = databaseUrl;
  if (url !== undefined) {
    describe(name, () => body(url));
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('requires DATABASE_URL in CI', () => {
        throw new Error('DATABASE_URL is not set: PostgreSQL tests must run in CI');
      });
    });
  } else {
    describe(name, () => {
      it.skip('skipped: DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)', () => {});
    });
  }
}

/** Opens a database and applies every migration. */
export async function openMigrated(config: DatabaseConfig): Promise<OmtDatabase> {
  const omt = await createDatabase(config);
  await omt.migrate();
  return omt;
}

/**
 * A factory of fresh schema names for one `describe` block (`omt_test_<label>_…`); every schema
 * it handed out is dropped after the block.
 */
export function schemaFactory(url: string, label: string): () => string {
  const schemas: string[] = [];
  afterAll(async () => {
    await dropSchemas(url, schemas);
  });
  return () => {
    const s = randomSchema(label);
    schemas.push(s);
    return s;
  };
}
