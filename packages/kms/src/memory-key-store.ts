/**
 * An in-memory {@link KeyStore}: the reference implementation of the port (it passes
 * `keyStoreContract`), for tests, browsers and single-process tools. Records are copied in and out
 * so callers can never mutate stored state.
 */
import { OmtError } from '@omt/core/errors';
import { z } from 'zod';
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
} from './ports.js';
import {
  KeyGrantSchema,
  ObjectIdSchema,
  ObjectRefSchema,
  ObjectSecretRecordSchema,
  parseKeyLocator,
  parseKmsInput,
  RewrapJobSchema,
  ServiceNameSchema,
  StoredKeyPatchSchema,
  StoredKeySchema,
  TenantNameSchema,
  TenantRecordSchema,
  TimeSchema,
} from './record-schemas.js';

const keyOf = (...parts: (string | number)[]): string => JSON.stringify(parts);
const copyKey = (k: StoredKey): StoredKey => ({ ...k, wrapped: k.wrapped.slice() });
const copySecret = (r: ObjectSecretRecord): ObjectSecretRecord => ({ ...r, secret: r.secret.slice() });
const conflict = (what: string): OmtError => new OmtError('kms.store.conflict', `${what} already exists`);
const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * @example
 * ```ts
 * const kms = createKms({ rootKeys: new MemoryRootKeyProvider(), keyStore: new MemoryKeyStore(), audit });
 * ```
 */
export class MemoryKeyStore implements KeyStore {
  readonly #tenants = new Map<string, TenantRecord>();
  readonly #keys = new Map<string, StoredKey>();
  readonly #grants = new Map<string, KeyGrant>();
  readonly #secrets = new Map<string, ObjectSecretRecord>();
  readonly #jobs = new Map<string, RewrapJob>();

  async putTenant(record: TenantRecord): Promise<void> {
    const r = parseKmsInput(TenantRecordSchema, record, 'tenant record');
    if (this.#tenants.has(r.tenant)) throw conflict(`tenant ${r.tenant}`);
    this.#tenants.set(r.tenant, { ...r });
  }

  async getTenant(tenant: string): Promise<TenantRecord | undefined> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    const r = this.#tenants.get(tenant);
    return r && { ...r };
  }

  async updateTenant(
    tenant: string,
    expectedState: TenantState,
    patch: { readonly state?: TenantState; readonly rootKeyId?: string; readonly updatedAt: string },
  ): Promise<TenantRecord | undefined> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    const cur = this.#tenants.get(tenant);
    if (cur === undefined) throw new OmtError('kms.key.not-found', `no tenant ${tenant}`);
    if (cur.state !== expectedState) return undefined;
    const next = parseKmsInput(TenantRecordSchema, { ...cur, ...patch }, 'tenant record');
    this.#tenants.set(tenant, next);
    return { ...next };
  }

  async listTenants(): Promise<TenantRecord[]> {
    return [...this.#tenants.values()].sort((a, b) => byString(a.tenant, b.tenant)).map((r) => ({ ...r }));
  }

  async putKey(key: StoredKey): Promise<void> {
    const k = parseKmsInput(StoredKeySchema, key, 'stored key');
    const id = keyOf(k.tenant, k.service, k.version);
    if (this.#keys.has(id)) throw conflict(`key ${k.tenant}/${k.service}/v${k.version}`);
    this.#keys.set(id, copyKey(k));
  }

  async getKey(tenant: string, service: string, version: number): Promise<StoredKey | undefined> {
    parseKeyLocator(tenant, service, version);
    const k = this.#keys.get(keyOf(tenant, service, version));
    return k && copyKey(k);
  }

  async listKeys(tenant: string, service: string): Promise<StoredKey[]> {
    parseKeyLocator(tenant, service);
    return [...this.#keys.values()]
      .filter((k) => k.tenant === tenant && k.service === service)
      .sort((a, b) => a.version - b.version)
      .map(copyKey);
  }

  async listServices(tenant: string): Promise<string[]> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    const s = new Set<string>();
    for (const k of this.#keys.values()) if (k.tenant === tenant && k.service !== '') s.add(k.service);
    return [...s].sort(byString);
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
    const id = keyOf(tenant, service, version);
    const cur = this.#keys.get(id);
    if (cur === undefined) throw new OmtError('kms.key.not-found', `no key ${tenant}/${service}/v${version}`);
    if (cur.state !== expected.state || cur.wrappedBy !== expected.wrappedBy) return undefined;
    const next: StoredKey = {
      ...cur,
      ...(p.state === undefined ? {} : { state: p.state }),
      ...(p.wrappedBy === undefined ? {} : { wrappedBy: p.wrappedBy }),
      ...(p.wrapped === undefined ? {} : { wrapped: p.wrapped.slice() }),
      updatedAt: p.updatedAt,
    };
    if (p.wrapped !== undefined) cur.wrapped.fill(0);
    this.#keys.set(id, next);
    return copyKey(next);
  }

  async putGrant(grant: KeyGrant): Promise<void> {
    const g = parseKmsInput(KeyGrantSchema, grant, 'grant');
    const id = keyOf(g.tenant, g.service, g.principal);
    if (this.#grants.has(id)) throw conflict(`grant ${g.tenant}/${g.service}/${g.principal}`);
    this.#grants.set(id, { ...g, operations: [...g.operations] });
  }

  async deleteGrant(tenant: string, service: string, principal: string): Promise<boolean> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    return this.#grants.delete(keyOf(tenant, service, principal));
  }

  async listGrants(tenant: string): Promise<KeyGrant[]> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    return [...this.#grants.values()]
      .filter((g) => g.tenant === tenant)
      .sort((a, b) => byString(a.service, b.service) || byString(a.principal, b.principal))
      .map((g) => ({ ...g, operations: [...g.operations] }));
  }

  async putObjectSecret(record: ObjectSecretRecord): Promise<void> {
    const r = parseKmsInput(ObjectSecretRecordSchema, record, 'object secret');
    const id = keyOf(r.tenant, r.service, r.ref);
    if (this.#secrets.has(id)) throw conflict(`object secret ${r.ref}`);
    this.#secrets.set(id, copySecret(r));
  }

  async getObjectSecret(
    tenant: string,
    service: string,
    ref: string,
  ): Promise<ObjectSecretRecord | undefined> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    parseKmsInput(ServiceNameSchema, service, 'service');
    parseKmsInput(ObjectRefSchema, ref, 'object ref');
    const r = this.#secrets.get(keyOf(tenant, service, ref));
    return r && copySecret(r);
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
    let n = 0;
    for (const [id, r] of this.#secrets) {
      if (r.tenant === tenant && r.service === service && r.objectId === objectId && r.state === 'active') {
        r.secret.fill(0);
        this.#secrets.set(id, { ...r, state: 'destroyed', secret: new Uint8Array(0), updatedAt });
        n++;
      }
    }
    return n;
  }

  async putJob(job: RewrapJob): Promise<void> {
    const j = parseKmsInput(RewrapJobSchema, job, 'rewrap job');
    if (this.#jobs.has(j.id)) throw conflict(`job ${j.id}`);
    this.#jobs.set(j.id, { ...j });
  }

  async getJob(id: string): Promise<RewrapJob | undefined> {
    parseKmsInput(z.string().min(1).max(256), id, 'job id');
    const j = this.#jobs.get(id);
    return j && { ...j };
  }

  async updateJob(
    id: string,
    expectedCursor: string,
    patch: { readonly cursor: string; readonly state: RewrapJob['state']; readonly updatedAt: string },
  ): Promise<RewrapJob | undefined> {
    const cur = this.#jobs.get(id);
    if (cur === undefined) throw new OmtError('kms.key.not-found', `no job ${id}`);
    if (cur.cursor !== expectedCursor) return undefined;
    const next = parseKmsInput(RewrapJobSchema, { ...cur, ...patch }, 'rewrap job');
    this.#jobs.set(id, next);
    return { ...next };
  }

  async listJobs(tenant: string): Promise<RewrapJob[]> {
    parseKmsInput(TenantNameSchema, tenant, 'tenant');
    return [...this.#jobs.values()]
      .filter((j) => j.tenant === tenant)
      .sort((a, b) => byString(a.id, b.id))
      .map((j) => ({ ...j }));
  }
}
