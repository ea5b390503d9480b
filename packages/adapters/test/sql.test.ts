import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDatabase,
  type DatabaseConfig,
  databaseConfigFromEnv,
  migrateDatabase,
  migrationStatus,
  type OmtDatabase,
  omtMigrations,
  parseDatabaseConfig,
} from '@omt/adapters/sql';
import { isOmtError } from '@omt/core/errors';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  Kysely,
  PGliteDialect,
  sql,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePostgres, dropSchemas, randomSchema } from './pg-env.js';

const ALL_MIGRATIONS = Object.keys(omtMigrations).sort();

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

/** The behaviour every backend must share. `open` is called once per suite. */
function databaseSuite(open: () => Promise<OmtDatabase>): void {
  let omt: OmtDatabase;
  beforeAll(async () => {
    omt = await open();
  });
  afterAll(async () => {
    await omt?.close();
  });

  it('migrate applies every migration once, then is a no-op', async () => {
    // Two callers at once on one handle: serialised by the migration lock, each migration runs once.
    const [first, racer] = await Promise.all([omt.migrate(), omt.migrate()]);
    expect([...first.applied, ...racer.applied]).toEqual(ALL_MIGRATIONS);
    expect(first.current).toEqual(ALL_MIGRATIONS);
    expect(racer.current).toEqual(ALL_MIGRATIONS);
    const second = await omt.migrate();
    expect(second.applied).toEqual([]);
    expect(second.current).toEqual(ALL_MIGRATIONS);
  });

  it('status lists every migration as applied after migrate, with its time', async () => {
    const status = await omt.status();
    expect(status.migrations.map((m) => m.name)).toEqual(ALL_MIGRATIONS);
    expect(status.pending).toEqual([]);
    for (const m of status.migrations) expect(Number.isNaN(Date.parse(m.appliedAt ?? 'x'))).toBe(false);
  });

  it('creates the tables (and the omt_ bookkeeping tables) in the configured schema', async () => {
    const rows = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = ${omt.schema} order by table_name`.execute(
      omt.db,
    );
    const names = rows.rows.map((r) => r.table_name);
    expect(names).toEqual(
      expect.arrayContaining(['omt_audit_entries', 'omt_audit_heads', 'omt_migration', 'omt_migration_lock']),
    );
    expect(names.filter((n) => n.startsWith('kysely'))).toEqual([]);
  });

  it('stores signature-heavy texts without a compression attempt (storage external)', async () => {
    const rows = await sql<{ col: string; storage: string }>`
      select c.relname || '.' || a.attname as col, a.attstorage as storage
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${omt.schema} and a.attnum > 0 and not a.attisdropped and (
        (c.relname = 'omt_ledger_checkpoints' and a.attname = 'note') or
        (c.relname = 'omt_ledger_qc_notes' and a.attname = 'note') or
        (c.relname = 'omt_ledger_events' and a.attname in ('event', 'qc')))
      order by 1`.execute(omt.db);
    expect(rows.rows).toEqual([
      { col: 'omt_ledger_checkpoints.note', storage: 'e' },
      { col: 'omt_ledger_events.event', storage: 'e' },
      { col: 'omt_ledger_events.qc', storage: 'e' },
      { col: 'omt_ledger_qc_notes.note', storage: 'e' },
    ]);
  });

  it('inserts and selects rows through kysely (bigint as string, bytea as bytes, default timestamp)', async () => {
    const before = Date.now();
    await omt.db
      .insertInto('omt_audit_entries')
      .values([
        { log: 'suite.rows', seq: 0, prev_hash: bytes(32, 0), hash: bytes(32, 0xab), body: '{"n":0}' },
        { log: 'suite.rows', seq: 1, prev_hash: bytes(32, 0xab), hash: bytes(32, 0xcd), body: '{"n":1}' },
      ])
      .execute();
    const rows = await omt.db
      .selectFrom('omt_audit_entries')
      .selectAll()
      .where('log', '=', 'suite.rows')
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => r.seq)).toEqual(['0', '1']);
    expect(Array.from(rows[1]?.prev_hash ?? [])).toEqual(Array.from(bytes(32, 0xab)));
    expect(Array.from(rows[1]?.hash ?? [])).toEqual(Array.from(bytes(32, 0xcd)));
    expect(rows[0]?.body).toBe('{"n":0}');
    expect(rows[0]?.created_at).toBeInstanceOf(Date);
    expect(rows[0]?.created_at.getTime()).toBeGreaterThan(before - 60_000);
    // The primary key (log, seq) refuses a duplicate.
    await expect(
      omt.db
        .insertInto('omt_audit_entries')
        .values({ log: 'suite.rows', seq: 1, prev_hash: bytes(32, 0), hash: bytes(32, 1), body: '{}' })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('the database itself rejects UPDATE, DELETE and TRUNCATE on the audit tables', async () => {
    await omt.db
      .insertInto('omt_audit_heads')
      .values({ log: 'suite.trigger', size: 1, hash: bytes(32, 7), body: '{"head":1}' })
      .execute();
    await omt.db
      .insertInto('omt_audit_entries')
      .values({ log: 'suite.trigger', seq: 0, prev_hash: bytes(32, 0), hash: bytes(32, 7), body: '{}' })
      .execute();
    const attempts = [
      sql`update omt_audit_entries set body = '{"forged":true}' where log = 'suite.trigger'`,
      sql`update omt_audit_heads set size = 9 where log = 'suite.trigger'`,
      sql`delete from omt_audit_entries where log = 'suite.trigger'`,
      sql`delete from omt_audit_heads`,
      sql`truncate omt_audit_entries`,
      sql`truncate omt_audit_heads`,
    ];
    for (const attempt of attempts) {
      await expect(attempt.execute(omt.db)).rejects.toThrow(/append-only/);
    }
    const entry = await omt.db
      .selectFrom('omt_audit_entries')
      .selectAll()
      .where('log', '=', 'suite.trigger')
      .execute();
    expect(entry.map((e) => e.body)).toEqual(['{}']);
    const head = await omt.db
      .selectFrom('omt_audit_heads')
      .selectAll()
      .where('log', '=', 'suite.trigger')
      .execute();
    expect(head.map((h) => h.size)).toEqual(['1']);
  });

  it('a failed transaction rolls back everything it wrote', async () => {
    await expect(
      omt.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('omt_audit_entries')
          .values({ log: 'suite.rollback', seq: 0, prev_hash: bytes(32, 0), hash: bytes(32, 1), body: '{}' })
          .execute();
        const seen = await trx
          .selectFrom('omt_audit_entries')
          .select('seq')
          .where('log', '=', 'suite.rollback')
          .execute();
        expect(seen).toHaveLength(1);
        throw new Error('abort on purpose');
      }),
    ).rejects.toThrow('abort on purpose');
    // A database error inside the transaction rolls back too.
    await expect(
      omt.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('omt_audit_entries')
          .values({ log: 'suite.rollback', seq: 0, prev_hash: bytes(32, 0), hash: bytes(32, 1), body: '{}' })
          .execute();
        await sql`select 1 / 0`.execute(trx);
      }),
    ).rejects.toThrow(/division by zero/);
    const after = await omt.db
      .selectFrom('omt_audit_entries')
      .select('seq')
      .where('log', '=', 'suite.rollback')
      .execute();
    expect(after).toEqual([]);
    // The connection is usable afterwards.
    expect((await sql<{ one: number }>`select 1 as one`.execute(omt.db)).rows).toEqual([{ one: 1 }]);
  });
}

describe('database config', () => {
  it('accepts the documented shapes', () => {
    expect(parseDatabaseConfig({ kind: 'pglite' })).toEqual({ kind: 'pglite' });
    expect(parseDatabaseConfig({ kind: 'pglite', dataDir: '/var/lib/omt/db' })).toEqual({
      kind: 'pglite',
      dataDir: '/var/lib/omt/db',
    });
    const pgConfig = {
      kind: 'postgres',
      url: 'postgresql://u:p@db.example:6543/omt',
      schema: 'omt',
      poolSize: 4,
    };
    expect(parseDatabaseConfig(pgConfig)).toEqual(pgConfig);
  });

  it.each([
    ['null', null],
    ['a string', 'pglite'],
    ['unknown kind', { kind: 'sqlite' }],
    ['missing url', { kind: 'postgres' }],
    ['non-postgres url', { kind: 'postgres', url: 'mysql://root@127.0.0.1/test' }],
    ['not a url', { kind: 'postgres', url: 'host=127.0.0.1 dbname=test' }],
    ['upper-case schema', { kind: 'postgres', url: 'postgres://h/db', schema: 'Omt' }],
    ['injection in schema', { kind: 'postgres', url: 'postgres://h/db', schema: 'x"; drop table y; --' }],
    ['pool size 0', { kind: 'postgres', url: 'postgres://h/db', poolSize: 0 }],
    ['fractional pool size', { kind: 'postgres', url: 'postgres://h/db', poolSize: 1.5 }],
    ['empty dataDir', { kind: 'pglite', dataDir: '' }],
    ['unknown key', { kind: 'pglite', dataDri: '/tmp/x' }],
  ])('rejects %s with adapters.sql.config-invalid', async (_what, value) => {
    expect(await codeOf(() => parseDatabaseConfig(value))).toBe('adapters.sql.config-invalid');
    expect(await codeOf(createDatabase(value as DatabaseConfig))).toBe('adapters.sql.config-invalid');
  });

  it('never echoes a password from a rejected config', async () => {
    try {
      parseDatabaseConfig({ kind: 'postgres', url: 'postgres://u:s3cret-pw@h/db', poolSize: -1 });
      expect.unreachable();
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('s3cret-pw');
      expect(JSON.stringify(e)).not.toContain('s3cret-pw');
    }
  });

  it('databaseConfigFromEnv: DATABASE_URL → postgres, otherwise PGlite in <omtHome>/db', async () => {
    expect(databaseConfigFromEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' }, '/h')).toEqual({
      kind: 'postgres',
      url: 'postgres://postgres@127.0.0.1:5432/test',
    });
    expect(databaseConfigFromEnv({}, '/home/me/.omt')).toEqual({
      kind: 'pglite',
      dataDir: '/home/me/.omt/db',
    });
    expect(databaseConfigFromEnv({ DATABASE_URL: '' }, '/h')).toEqual({ kind: 'pglite', dataDir: '/h/db' });
    expect(await codeOf(() => databaseConfigFromEnv({ DATABASE_URL: 'mysql://x/y' }, '/h'))).toBe(
      'adapters.sql.config-invalid',
    );
    expect(await codeOf(() => databaseConfigFromEnv({}, ''))).toBe('adapters.sql.config-invalid');
  });
});

describe('PGlite in memory', () => {
  databaseSuite(() => createDatabase({ kind: 'pglite' }));
  it('status on a fresh database reports every migration pending and changes nothing', async () => {
    const fresh = await createDatabase({ kind: 'pglite' });
    try {
      const status = await fresh.status();
      expect(status.pending).toEqual(ALL_MIGRATIONS);
      expect(status.migrations.every((m) => m.appliedAt === null)).toBe(true);
      expect((await fresh.status()).pending).toEqual(ALL_MIGRATIONS);
    } finally {
      await fresh.close();
    }
  });
});

describe('PGlite in a directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omt-sql-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  describe('shared suite', () => {
    databaseSuite(() => createDatabase({ kind: 'pglite', dataDir: join(dir, 'db') }));
  });

  it('data and migrations persist across close and reopen', async () => {
    // Runs after the shared suite's afterAll closed its instance: one PGlite per directory at a time.
    const again = await createDatabase({ kind: 'pglite', dataDir: join(dir, 'db') });
    try {
      expect((await again.migrate()).applied).toEqual([]);
      const rows = await again.db
        .selectFrom('omt_audit_entries')
        .select(['seq', 'body'])
        .where('log', '=', 'suite.rows')
        .orderBy('seq')
        .execute();
      expect(rows).toEqual([
        { seq: '0', body: '{"n":0}' },
        { seq: '1', body: '{"n":1}' },
      ]);
      await expect(sql`delete from omt_audit_entries`.execute(again.db)).rejects.toThrow(/append-only/);
    } finally {
      await again.close();
      await again.close(); // idempotent
    }
  });

  it('an unusable directory → adapters.sql.unavailable', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    expect(await codeOf(createDatabase({ kind: 'pglite', dataDir: join(file, 'db') }))).toBe(
      'adapters.sql.unavailable',
    );
  });
});

describePostgres('PostgreSQL', (url) => {
  const schemas: string[] = [];
  const schema = (label: string): string => {
    const s = randomSchema(label);
    schemas.push(s);
    return s;
  };
  afterAll(async () => {
    await dropSchemas(url, schemas);
  });

  describe('shared suite', () => {
    databaseSuite(() => createDatabase({ kind: 'postgres', url, schema: schema('sql'), poolSize: 3 }));
  });

  it('two processes migrating at once: both succeed, the migrations run exactly once', async () => {
    const s = schema('race');
    const [a, b] = await Promise.all([
      createDatabase({ kind: 'postgres', url, schema: s, poolSize: 2 }),
      createDatabase({ kind: 'postgres', url, schema: s, poolSize: 2 }),
    ]);
    try {
      const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
      expect([...ra.applied, ...rb.applied]).toEqual(ALL_MIGRATIONS);
      expect(ra.current).toEqual(ALL_MIGRATIONS);
      expect(rb.current).toEqual(ALL_MIGRATIONS);
      const done = await sql<{ n: string }>`select count(*) as n from omt_migration`.execute(a.db);
      expect(done.rows[0]?.n).toBe(String(ALL_MIGRATIONS.length));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a schema is created if missing and isolates its tables', async () => {
    const s1 = schema('iso');
    const s2 = schema('iso');
    const a = await createDatabase({ kind: 'postgres', url, schema: s1 });
    const b = await createDatabase({ kind: 'postgres', url, schema: s2 });
    try {
      await a.migrate();
      await b.migrate();
      await a.db
        .insertInto('omt_audit_heads')
        .values({ log: 'iso', size: 3, hash: bytes(32, 1), body: '{}' })
        .execute();
      expect(await b.db.selectFrom('omt_audit_heads').selectAll().execute()).toEqual([]);
      expect(await a.db.selectFrom('omt_audit_heads').select('size').execute()).toEqual([{ size: '3' }]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an unreachable server → adapters.sql.unavailable quickly, naming host:port but never the password', async () => {
    const started = Date.now();
    let error: unknown;
    try {
      await createDatabase({
        kind: 'postgres',
        url: 'postgres://omt:hunter2-secret@127.0.0.1:1/test',
        connectTimeoutMs: 3000,
      });
    } catch (e) {
      error = e;
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isOmtError(error, 'adapters.sql.unavailable')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('127.0.0.1:1/test');
    expect(message).not.toContain('hunter2');
    expect(JSON.stringify(error)).not.toContain('hunter2');
  });

  it('a missing database → adapters.sql.unavailable', async () => {
    const u = new URL(url);
    u.pathname = '/omt_no_such_database_here';
    expect(await codeOf(createDatabase({ kind: 'postgres', url: u.toString() }))).toBe(
      'adapters.sql.unavailable',
    );
  });
});

describe('migrations while another client drops its own schema', () => {
  it('reads the migration state again when kysely’s whole-database introspection loses a foreign schema (3F000)', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = new PGlite();
    const base = new PGliteDialect({ pglite });
    // Fails kysely's introspection query (it lists every schema's tables) as PostgreSQL does when
    // another client drops its schema meanwhile — `left` times.
    let left = 0;
    const flaky = (c: DatabaseConnection): DatabaseConnection =>
      new Proxy(c, {
        get(target, key) {
          if (key === 'executeQuery')
            return async (q: CompiledQuery) => {
              if (left > 0 && q.sql.includes('has_schema_privilege')) {
                left--;
                throw Object.assign(new Error('schema "omt_someone_elses" does not exist'), {
                  code: '3F000',
                });
              }
              return target.executeQuery(q);
            };
          const v = Reflect.get(target, key, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    const dialect: Dialect = {
      createAdapter: () => base.createAdapter(),
      createQueryCompiler: () => base.createQueryCompiler(),
      createIntrospector: (db) => base.createIntrospector(db),
      createDriver: () => {
        const driver = base.createDriver();
        return new Proxy(driver, {
          get(target, key) {
            if (key === 'acquireConnection') return async () => flaky(await target.acquireConnection());
            const v = Reflect.get(target, key, target);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        });
      },
    };
    const db = new Kysely<unknown>({ dialect });
    try {
      left = 2;
      const report = await migrateDatabase(db, 'public');
      expect(report.current).toEqual(ALL_MIGRATIONS);
      expect(left).toBe(0);
      left = 2;
      expect((await migrationStatus(db, 'public')).pending).toEqual([]);
      expect(left).toBe(0);
      // More than three losses in a row are reported.
      left = 10;
      expect(await codeOf(migrationStatus(db, 'public'))).toBe('adapters.sql.query-failed');
    } finally {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    }
  });
});
