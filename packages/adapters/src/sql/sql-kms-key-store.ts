import { OmtError } from '@omt/core/errors';
import type {
  KeyGrant,
  KeyStore,
  ObjectSecretRecord,
  RewrapJob,
  StoredKey,
  StoredKeyPatch,
  StoredKeyState,
  TenantRecord,
  TenantState,
} from '@omt/kms/ports';
import {
  KeyGrantSchema,
  ObjectIdSchema,
  ObjectRefSchema,
  ObjectSecretRecordSchema,
  parseKeyLocator,
  parseKmsInput,
  RewrapJobSchema,
  RootKeyIdSchema,
  ServiceNameSchema,
  StoredKeyPatchSchema,
  StoredKeySchema,
  TenantNameSchema,
  TenantRecordSchema,
  TimeSchema,
} from '@omt/kms/record-schemas';
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { OmtSchema } from './schema.js';
import type {
  KmsJobsTable,
  KmsKeysTable,
  KmsObjectSecretsTable,
  KmsSchema,
  KmsTenantsTable,
  OmtKmsSchema,
} from './sql-kms-schema.js';

const jobIdSchema = z.string().min(1).max(256);

function mapError(e: unknown, what: string): unknown {
  if (e instanceof OmtError) return e;
  if ((e as { code?: unknown } | null)?.code === '23505') {
    return new OmtError('kms.store.conflict', `${what}: already exists`, { cause: e });
  }
  return new OmtError(
    'adapters.sql.query-failed',
    `${what} failed: ${e instanceof Error ? e.message : String(e)}`,
    {
      cause: e,
    },
  );
}

async function run<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapError(e, what);
  }
}

/** pg returns `Buffer`; callers get plain `Uint8Array`s on both backends. */
const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);

const toTenant = (r: Selectable<KmsTenantsTable>): TenantRecord => ({
  tenant: r.tenant,
  rootKeyId: r.root_key_id,
  state: r.state,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toKey = (r: Selectable<KmsKeysTable>): StoredKey => ({
  tenant: r.tenant,
  service: r.service,
  level: r.level === 2 ? 2 : 3,
  version: Number(r.version),
  state: r.state,
  wrappedBy: r.wrapped_by,
  wrapped: copy(r.wrapped),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toSecret = (r: Selectable<KmsObjectSecretsTable>): ObjectSecretRecord => ({
  tenant: r.tenant,
  service: r.service,
  objectId: r.object_id,
  ref: r.ref,
  state: r.state,
  secret: copy(r.secret),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toJob = (r: Selectable<KmsJobsTable>): RewrapJob => ({
  id: r.id,
  tenant: r.tenant,
  kind: 'tenant',
  fromVersion: Number(r.from_version),
  toVersion: Number(r.to_version),
  state: r.state,
  cursor: r.cursor,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * The @omt/kms `KeyStore` port over the shared SQL schema (migration `0002_kms`), on PGlite or
 * PostgreSQL. Inserts rely on primary keys (`23505` → `kms.store.conflict`); updates are
 * compare-and-set in a single `UPDATE … WHERE … RETURNING`, so concurrent processes never lose a
 * write. Passes `keyStoreContract` from `@omt/kms/testing`.
 *
 * @example
 * ```ts
 * const omt = await createDatabase({ kind: 'pglite', dataDir });
 * await omt.migrate();
 * const { kms, governance } = createKms({ rootKeys, keyStore: new SqlKmsKeyStore(omt.db), audit });
 * ```
 */
export class SqlKmsKeyStore implements KeyStore {
  readonly #db: Kysely<OmtKmsSchema>;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db.withTables<KmsSchema>();
  }

  async putTenant(record: TenantRecord): Promise<void> {
    const r = parseKmsInput(TenantRecordSchema, record, 'tenant record');
    await run(`insert tenant ${r.tenant}`, () =>
      this.#db
        .insertInto('omt_kms_tenants')
        .values({
          tenant: r.tenant,
          root_key_id: r.rootKeyId,
          state: r.state,
          created_at: r.createdAt,
          updated_at: r.updatedAt,
        })
        .execute(),
    );
  }

  async getTenant(tenant: string): Promise<TenantRecord | undefined> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    const row = await run('read tenant', () =>
      this.#db.selectFrom('omt_kms_tenants').selectAll().where('tenant', '=', tenant).executeTakeFirst(),
    );
    return row && toTenant(row);
  }

  async updateTenant(
    tenant: string,
    expectedState: TenantState,
    patch: { readonly state?: TenantState; readonly rootKeyId?: string; readonly updatedAt: string },
  ): Promise<TenantRecord | undefined> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    parseKmsInput(z.enum(['enabled', 'revoked']), expectedState, 'expected state');
    const p = parseKmsInput(
      z
        .object({
          state: z.enum(['enabled', 'revoked']).optional(),
          rootKeyId: RootKeyIdSchema.optional(),
          updatedAt: TimeSchema,
        })
        .strict(),
      patch,
      'tenant patch',
    );
    const row = await run('update tenant', () =>
      this.#db
        .updateTable('omt_kms_tenants')
        .set({
          updated_at: p.updatedAt,
          ...(p.state === undefined ? {} : { state: p.state }),
          ...(p.rootKeyId === undefined ? {} : { root_key_id: p.rootKeyId }),
        })
        .where('tenant', '=', tenant)
        .where('state', '=', expectedState)
        .returningAll()
        .executeTakeFirst(),
    );
    if (row !== undefined) return toTenant(row);
    if ((await this.getTenant(tenant)) === undefined)
      throw new OmtError('kms.key.not-found', `no tenant ${tenant}`);
    return undefined;
  }

  async listTenants(): Promise<TenantRecord[]> {
    const rows = await run('list tenants', () =>
      this.#db.selectFrom('omt_kms_tenants').selectAll().orderBy('tenant').execute(),
    );
    return rows.map(toTenant);
  }

  async putKey(key: StoredKey): Promise<void> {
    const k = parseKmsInput(StoredKeySchema, key, 'stored key');
    await run(`insert key ${k.tenant}/${k.service}/v${k.version}`, () =>
      this.#db
        .insertInto('omt_kms_keys')
        .values({
          tenant: k.tenant,
          service: k.service,
          version: k.version,
          level: k.level,
          state: k.state,
          wrapped_by: k.wrappedBy,
          wrapped: k.wrapped,
          created_at: k.createdAt,
          updated_at: k.updatedAt,
        })
        .execute(),
    );
  }

  async getKey(tenant: string, service: string, version: number): Promise<StoredKey | undefined> {
    parseKeyLocator(tenant, service, version);
    const row = await run('read key', () =>
      this.#db
        .selectFrom('omt_kms_keys')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('service', '=', service)
        .where('version', '=', version)
        .executeTakeFirst(),
    );
    return row && toKey(row);
  }

  async listKeys(tenant: string, service: string): Promise<StoredKey[]> {
    parseKeyLocator(tenant, service);
    const rows = await run('list keys', () =>
      this.#db
        .selectFrom('omt_kms_keys')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('service', '=', service)
        .orderBy('version')
        .execute(),
    );
    return rows.map(toKey);
  }

  async listServices(tenant: string): Promise<string[]> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    const rows = await run('list services', () =>
      this.#db
        .selectFrom('omt_kms_keys')
        .select('service')
        .distinct()
        .where('tenant', '=', tenant)
        .where('service', '<>', '')
        .orderBy('service')
        .execute(),
    );
    // Byte order, like the memory store (the database collation may differ).
    return rows.map((r) => r.service).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async updateKey(
    tenant: string,
    service: string,
    version: number,
    expected: { readonly state: StoredKeyState; readonly wrappedBy: string },
    patch: StoredKeyPatch,
  ): Promise<StoredKey | undefined> {
    parseKeyLocator(tenant, service, version);
    const p = parseKmsInput(StoredKeyPatchSchema, patch, 'key patch');
    const row = await run('update key', () =>
      this.#db
        .updateTable('omt_kms_keys')
        .set({
          updated_at: p.updatedAt,
          ...(p.state === undefined ? {} : { state: p.state }),
          ...(p.wrappedBy === undefined ? {} : { wrapped_by: p.wrappedBy }),
          ...(p.wrapped === undefined ? {} : { wrapped: p.wrapped }),
        })
        .where('tenant', '=', tenant)
        .where('service', '=', service)
        .where('version', '=', version)
        .where('state', '=', expected.state)
        .where('wrapped_by', '=', expected.wrappedBy)
        .returningAll()
        .executeTakeFirst(),
    );
    if (row !== undefined) return toKey(row);
    if ((await this.getKey(tenant, service, version)) === undefined) {
      throw new OmtError('kms.key.not-found', `no key ${tenant}/${service}/v${version}`);
    }
    return undefined;
  }

  async putGrant(grant: KeyGrant): Promise<void> {
    const g = parseKmsInput(KeyGrantSchema, grant, 'grant');
    await run(`insert grant ${g.tenant}/${g.service}/${g.principal}`, () =>
      this.#db
        .insertInto('omt_kms_grants')
        .values({
          tenant: g.tenant,
          service: g.service,
          principal: g.principal,
          operations: g.operations.join(','),
          created_at: g.createdAt,
        })
        .execute(),
    );
  }

  async deleteGrant(tenant: string, service: string, principal: string): Promise<boolean> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    parseKmsInput(z.string().max(256), service, 'service');
    parseKmsInput(z.string().max(256), principal, 'principal');
    const r = await run('delete grant', () =>
      this.#db
        .deleteFrom('omt_kms_grants')
        .where('tenant', '=', tenant)
        .where('service', '=', service)
        .where('principal', '=', principal)
        .executeTakeFirst(),
    );
    return Number(r.numDeletedRows) > 0;
  }

  async listGrants(tenant: string): Promise<KeyGrant[]> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    const rows = await run('list grants', () =>
      this.#db.selectFrom('omt_kms_grants').selectAll().where('tenant', '=', tenant).execute(),
    );
    const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return rows
      .map((r) => ({
        tenant: r.tenant,
        service: r.service,
        principal: r.principal,
        operations: r.operations.split(',') as ('encrypt' | 'decrypt')[],
        createdAt: r.created_at,
      }))
      .sort((a, b) => cmp(a.service, b.service) || cmp(a.principal, b.principal));
  }

  async putObjectSecret(record: ObjectSecretRecord): Promise<void> {
    const r = parseKmsInput(ObjectSecretRecordSchema, record, 'object secret');
    await run('insert object secret', () =>
      this.#db
        .insertInto('omt_kms_object_secrets')
        .values({
          tenant: r.tenant,
          service: r.service,
          ref: r.ref,
          object_id: r.objectId,
          state: r.state,
          secret: r.secret,
          created_at: r.createdAt,
          updated_at: r.updatedAt,
        })
        .execute(),
    );
  }

  async getObjectSecret(
    tenant: string,
    service: string,
    ref: string,
  ): Promise<ObjectSecretRecord | undefined> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    parseKmsInput(ServiceNameSchema, service, 'service');
    parseKmsInput(ObjectRefSchema, ref, 'object ref');
    const row = await run('read object secret', () =>
      this.#db
        .selectFrom('omt_kms_object_secrets')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('service', '=', service)
        .where('ref', '=', ref)
        .executeTakeFirst(),
    );
    return row && toSecret(row);
  }

  async destroyObjectSecrets(
    tenant: string,
    service: string,
    objectId: string,
    updatedAt: string,
  ): Promise<number> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    parseKmsInput(ServiceNameSchema, service, 'service');
    parseKmsInput(ObjectIdSchema, objectId, 'object id');
    parseKmsInput(TimeSchema, updatedAt, 'time');
    // The row is overwritten in place; PostgreSQL's old tuple version is reclaimed by VACUUM
    // (run VACUUM on omt_kms_object_secrets to make the erasure physical, see the KMS README).
    const r = await run('destroy object secrets', () =>
      this.#db
        .updateTable('omt_kms_object_secrets')
        .set({ state: 'destroyed', secret: new Uint8Array(0), updated_at: updatedAt })
        .where('tenant', '=', tenant)
        .where('service', '=', service)
        .where('object_id', '=', objectId)
        .where('state', '=', 'active')
        .executeTakeFirst(),
    );
    return Number(r.numUpdatedRows);
  }

  async putJob(job: RewrapJob): Promise<void> {
    const j = parseKmsInput(RewrapJobSchema, job, 'rewrap job');
    await run(`insert job ${j.id}`, () =>
      this.#db
        .insertInto('omt_kms_jobs')
        .values({
          id: j.id,
          tenant: j.tenant,
          kind: j.kind,
          from_version: j.fromVersion,
          to_version: j.toVersion,
          state: j.state,
          cursor: j.cursor,
          created_at: j.createdAt,
          updated_at: j.updatedAt,
        })
        .execute(),
    );
  }

  async getJob(id: string): Promise<RewrapJob | undefined> {
    parseKmsInput(jobIdSchema, id, 'job id');
    const row = await run('read job', () =>
      this.#db.selectFrom('omt_kms_jobs').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && toJob(row);
  }

  async updateJob(
    id: string,
    expectedCursor: string,
    patch: { readonly cursor: string; readonly state: RewrapJob['state']; readonly updatedAt: string },
  ): Promise<RewrapJob | undefined> {
    parseKmsInput(jobIdSchema, id, 'job id');
    parseKmsInput(z.string().max(256), expectedCursor, 'cursor');
    const p = parseKmsInput(
      z
        .object({ cursor: z.string().max(256), state: z.enum(['running', 'done']), updatedAt: TimeSchema })
        .strict(),
      patch,
      'job patch',
    );
    const row = await run('update job', () =>
      this.#db
        .updateTable('omt_kms_jobs')
        .set({ cursor: p.cursor, state: p.state, updated_at: p.updatedAt })
        .where('id', '=', id)
        .where('cursor', '=', expectedCursor)
        .returningAll()
        .executeTakeFirst(),
    );
    if (row !== undefined) return toJob(row);
    if ((await this.getJob(id)) === undefined) throw new OmtError('kms.key.not-found', `no job ${id}`);
    return undefined;
  }

  async listJobs(tenant: string): Promise<RewrapJob[]> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    const rows = await run('list jobs', () =>
      this.#db.selectFrom('omt_kms_jobs').selectAll().where('tenant', '=', tenant).execute(),
    );
    return rows.map(toJob).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
