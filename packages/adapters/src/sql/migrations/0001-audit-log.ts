import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The hash-chained audit log (core `AuditLogStore` port): entries and signed heads.
 * Both tables are append-only, enforced by the database itself: a trigger rejects every
 * UPDATE, DELETE and TRUNCATE with SQLSTATE `OMT01` and a message containing "append-only".
 */
export const auditLog0001: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('omt_audit_entries')
      .addColumn('log', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull().check(sql`seq >= 0`))
      .addColumn('prev_hash', 'bytea', (c) => c.notNull())
      .addColumn('hash', 'bytea', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('omt_audit_entries_pkey', ['log', 'seq'])
      .execute();
    await db.schema
      .createTable('omt_audit_heads')
      .addColumn('log', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull().check(sql`size >= 0`))
      .addColumn('hash', 'bytea', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      // The port allows equal sizes (a head re-signed later, e.g. with a new key): `revision`
      // numbers the heads of one (log, size) from 0, so (log, size) still leads the key.
      .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0).check(sql`revision >= 0`))
      .addPrimaryKeyConstraint('omt_audit_heads_pkey', ['log', 'size', 'revision'])
      .execute();
    // Created unqualified: it lands in the first schema of search_path, the configured one.
    await sql`
      create function omt_forbid_mutation() returns trigger language plpgsql as $$
      begin
        raise exception 'omt: % on % is forbidden: audit tables are append-only', tg_op, tg_table_name
          using errcode = 'OMT01';
      end
      $$`.execute(db);
    for (const table of ['omt_audit_entries', 'omt_audit_heads']) {
      await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
        for each row execute function omt_forbid_mutation()`.execute(db);
      await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function omt_forbid_mutation()`.execute(db);
    }
  },
};
