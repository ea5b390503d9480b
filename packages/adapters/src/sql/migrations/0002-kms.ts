import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * @omt/kms `KeyStore` over SQL: tenants (with the governance kill switch), wrapped L2/L3 key
 * versions, grants, per-object secrets of shreddable envelopes, and re-wrap job progress.
 * Times are kept as the RFC 3339 text the port hands over, so they round-trip exactly.
 * Compare-and-set updates (`UPDATE … WHERE state = $expected …`) make concurrent writers safe.
 */
export const kms0002: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('omt_kms_tenants')
      .addColumn('tenant', 'text', (c) => c.primaryKey())
      .addColumn('root_key_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('enabled', 'revoked')`))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('omt_kms_keys')
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull().check(sql`version >= 1`))
      .addColumn('level', 'smallint', (c) => c.notNull().check(sql`level in (2, 3)`))
      .addColumn('state', 'text', (c) =>
        c.notNull().check(sql`state in ('active', 'decrypt-only', 'retired', 'destroyed')`),
      )
      .addColumn('wrapped_by', 'text', (c) => c.notNull())
      .addColumn('wrapped', 'bytea', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('omt_kms_keys_pkey', ['tenant', 'service', 'version'])
      .execute();
    await db.schema
      .createTable('omt_kms_grants')
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('principal', 'text', (c) => c.notNull())
      .addColumn('operations', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('omt_kms_grants_pkey', ['tenant', 'service', 'principal'])
      .execute();
    await db.schema
      .createTable('omt_kms_object_secrets')
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('ref', 'text', (c) => c.notNull())
      .addColumn('object_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('active', 'destroyed')`))
      .addColumn('secret', 'bytea', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('omt_kms_object_secrets_pkey', ['tenant', 'service', 'ref'])
      .execute();
    await db.schema
      .createIndex('omt_kms_object_secrets_object')
      .on('omt_kms_object_secrets')
      .columns(['tenant', 'service', 'object_id'])
      .execute();
    await db.schema
      .createTable('omt_kms_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('from_version', 'integer', (c) => c.notNull())
      .addColumn('to_version', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('running', 'done')`))
      .addColumn('cursor', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('omt_kms_jobs_tenant').on('omt_kms_jobs').column('tenant').execute();
  },
};
