/**
 * The governance API (the "brain"): who may use which tenant/service keys, and the keys' lifecycle
 * — create, revoke/reinstate a tenant, disable/enable its L1 root (the kill switch), rotate,
 * retire, destroy (crypto-shred), shred single objects, list and report status. Separate from the
 * crypto API ({@link Kms}); every action is parsed, executed and written to the audit log (with
 * its actor) before the call returns — failures too.
 *
 * Authenticating the actor is the host's job (it knows its admins); this API records who acted.
 */
import { OmtError } from '@omt/core/errors';
import { z } from 'zod';
import type { RewrapReport } from './key-hierarchy.js';
import type { KmsCore } from './kms.js';
import type { KeyGrant, RewrapJob, RootKeyDescription, StoredKey, TenantRecord } from './ports.js';
import {
  ObjectIdSchema,
  PrincipalSchema,
  RootKeyIdSchema,
  ServiceNameSchema,
  TenantNameSchema,
} from './record-schemas.js';

const actor = PrincipalSchema;
const operations = z
  .array(z.enum(['encrypt', 'decrypt']))
  .min(1)
  .max(2);
const grantInput = z
  .object({ principal: PrincipalSchema, service: z.union([z.literal('*'), ServiceNameSchema]), operations })
  .strict();

const schemas = {
  createTenant: z
    .object({
      actor,
      tenant: TenantNameSchema,
      rootKeyId: RootKeyIdSchema.optional(),
      services: z.array(ServiceNameSchema).max(100).optional(),
      grants: z.array(grantInput).max(100).optional(),
    })
    .strict(),
  tenant: z.object({ actor, tenant: TenantNameSchema, reason: z.string().max(512).optional() }).strict(),
  service: z.object({ actor, tenant: TenantNameSchema, service: ServiceNameSchema }).strict(),
  rotateTenant: z
    .object({
      actor,
      tenant: TenantNameSchema,
      rootKeyId: RootKeyIdSchema.optional(),
      jobId: z.string().min(1).max(200).optional(),
    })
    .strict(),
  job: z.object({ actor, jobId: z.string().min(1).max(256) }).strict(),
  retire: z
    .object({
      actor,
      tenant: TenantNameSchema,
      service: z.union([z.literal(''), ServiceNameSchema]),
      version: z.number().int().min(1),
    })
    .strict(),
  destroy: z
    .object({
      actor,
      tenant: TenantNameSchema,
      service: ServiceNameSchema,
      version: z.number().int().min(1).optional(),
    })
    .strict(),
  shred: z
    .object({ actor, tenant: TenantNameSchema, service: ServiceNameSchema, objectId: ObjectIdSchema })
    .strict(),
  grant: z.object({ actor, tenant: TenantNameSchema }).extend(grantInput.shape).strict(),
  revokeGrant: z
    .object({
      actor,
      tenant: TenantNameSchema,
      service: z.union([z.literal('*'), ServiceNameSchema]),
      principal: PrincipalSchema,
    })
    .strict(),
};

/** What {@link KmsGovernance.status} reports for one tenant. Never key material. */
export interface TenantStatus {
  readonly tenant: TenantRecord;
  readonly rootKey: RootKeyDescription | { readonly keyId: string; readonly error: string };
  /** L2 versions (wrapped bytes omitted). */
  readonly tenantKeys: readonly Omit<StoredKey, 'wrapped'>[];
  /** L3 versions per service. */
  readonly services: Readonly<Record<string, readonly Omit<StoredKey, 'wrapped'>[]>>;
  readonly grants: readonly KeyGrant[];
  readonly jobs: readonly RewrapJob[];
}

function parse<S extends z.ZodType>(schema: S, v: unknown, what: string): z.output<S> {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new OmtError(
    'kms.input.invalid',
    `invalid ${what}: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : ''}`,
    {
      cause: r.error,
    },
  );
}

const strip = ({ wrapped: _w, ...rest }: StoredKey): Omit<StoredKey, 'wrapped'> => rest;

/**
 * @example
 * ```ts
 * const { governance } = createKms({ rootKeys, keyStore, audit });
 * await governance.createTenant({ actor: 'ops', tenant: 'acme', services: ['media'],
 *   grants: [{ principal: 'svc:dam', service: '*', operations: ['encrypt', 'decrypt'] }] });
 * await governance.disableRoot({ actor: 'acme-ciso', tenant: 'acme' }); // kill switch
 * ```
 */
export class KmsGovernance {
  readonly #c: KmsCore;

  constructor(core: KmsCore) {
    this.#c = core;
  }

  #now(): string {
    return this.#c.clock().toISOString();
  }

  /** Runs an action and audits its outcome (success with details, or failure with the code). */
  async #act<T>(
    who: string,
    action: string,
    subject: string,
    fn: () => Promise<T>,
    details: (r: T) => Record<string, unknown> = () => ({}),
  ): Promise<T> {
    let r: T;
    try {
      r = await fn();
    } catch (e) {
      await this.#c.audit.write({
        actor: who,
        action,
        subject,
        outcome: 'failure',
        details: { code: e instanceof OmtError ? e.code : 'unknown' },
      });
      throw e;
    }
    await this.#c.audit.write({ actor: who, action, subject, outcome: 'success', details: details(r) });
    return r;
  }

  /**
   * Creates a tenant: its L1 key (created in the provider unless `rootKeyId` names an existing
   * one), L2 v1, L3 v1 of each listed service, and the listed grants.
   */
  async createTenant(input: {
    actor: string;
    tenant: string;
    rootKeyId?: string;
    services?: readonly string[];
    grants?: readonly {
      principal: string;
      service: string;
      operations: readonly ('encrypt' | 'decrypt')[];
    }[];
  }): Promise<TenantRecord> {
    const o = parse(schemas.createTenant, input, 'createTenant input');
    return this.#act(
      o.actor,
      'kms.tenant.create',
      `tenant:${o.tenant}`,
      async () => {
        let rootKeyId = o.rootKeyId;
        if (rootKeyId === undefined) {
          rootKeyId = (await this.#c.rootKeys.createKey({ label: `omt tenant ${o.tenant}` })).keyId;
        } else {
          const d = await this.#c.rootKeys.describe(rootKeyId);
          if (d.state !== 'enabled')
            throw new OmtError('kms.key.revoked', `root key ${rootKeyId} is ${d.state}`);
        }
        const rec = await this.#c.hierarchy.createTenant(o.tenant, rootKeyId);
        for (const s of new Set(o.services ?? [])) await this.#c.hierarchy.createService(o.tenant, s);
        for (const g of o.grants ?? [])
          await this.#c.keyStore.putGrant({ tenant: o.tenant, ...g, createdAt: this.#now() });
        this.#c.unsealer.forgetPolicy(o.tenant);
        return rec;
      },
      (r) => ({ rootKeyId: r.rootKeyId, services: o.services ?? [] }),
    );
  }

  /** Creates L3 v1 of a service. */
  async createService(input: {
    actor: string;
    tenant: string;
    service: string;
  }): Promise<Omit<StoredKey, 'wrapped'>> {
    const o = parse(schemas.service, input, 'createService input');
    return this.#act(o.actor, 'kms.service.create', `service:${o.tenant}/${o.service}`, async () =>
      strip(await this.#c.hierarchy.createService(o.tenant, o.service)),
    );
  }

  /** Governance kill switch: the tenant is revoked (persisted); this process's caches are purged at once. */
  async revokeTenant(input: { actor: string; tenant: string; reason?: string }): Promise<TenantRecord> {
    const o = parse(schemas.tenant, input, 'revokeTenant input');
    return this.#act(
      o.actor,
      'kms.tenant.revoke',
      `tenant:${o.tenant}`,
      async () => {
        // Purge first: no operation that starts from now on can use a cached key.
        this.#c.unsealer.purgeTenant(o.tenant);
        const r = await this.#c.keyStore.updateTenant(o.tenant, 'enabled', {
          state: 'revoked',
          updatedAt: this.#now(),
        });
        this.#c.unsealer.purgeTenant(o.tenant);
        if (r === undefined) {
          const cur = await this.#c.keyStore.getTenant(o.tenant);
          if (cur === undefined) throw new OmtError('kms.tenant.not-found', `no tenant ${o.tenant}`);
          return cur;
        }
        return r;
      },
      () => (o.reason === undefined ? {} : { reason: o.reason }),
    );
  }

  /** Lifts {@link revokeTenant}. */
  async reinstateTenant(input: { actor: string; tenant: string; reason?: string }): Promise<TenantRecord> {
    const o = parse(schemas.tenant, input, 'reinstateTenant input');
    return this.#act(o.actor, 'kms.tenant.reinstate', `tenant:${o.tenant}`, async () => {
      const r = await this.#c.keyStore.updateTenant(o.tenant, 'revoked', {
        state: 'enabled',
        updatedAt: this.#now(),
      });
      this.#c.unsealer.purgeTenant(o.tenant);
      return r ?? (await this.#tenant(o.tenant));
    });
  }

  async #tenant(tenant: string): Promise<TenantRecord> {
    const t = await this.#c.keyStore.getTenant(tenant);
    if (t === undefined) throw new OmtError('kms.tenant.not-found', `no tenant ${tenant}`);
    return t;
  }

  /** Customer kill switch: disables the tenant's L1 key in the provider and purges caches at once. */
  async disableRoot(input: { actor: string; tenant: string; reason?: string }): Promise<RootKeyDescription> {
    const o = parse(schemas.tenant, input, 'disableRoot input');
    return this.#act(o.actor, 'kms.root.disable', `tenant:${o.tenant}`, async () => {
      const t = await this.#tenant(o.tenant);
      this.#c.unsealer.purgeTenant(o.tenant);
      await this.#c.rootKeys.disable(t.rootKeyId);
      this.#c.unsealer.purgeTenant(o.tenant);
      return this.#c.rootKeys.describe(t.rootKeyId);
    });
  }

  /** Re-enables the tenant's L1 key. */
  async enableRoot(input: { actor: string; tenant: string; reason?: string }): Promise<RootKeyDescription> {
    const o = parse(schemas.tenant, input, 'enableRoot input');
    return this.#act(o.actor, 'kms.root.enable', `tenant:${o.tenant}`, async () => {
      const t = await this.#tenant(o.tenant);
      await this.#c.rootKeys.enable(t.rootKeyId);
      this.#c.unsealer.purgeTenant(o.tenant);
      return this.#c.rootKeys.describe(t.rootKeyId);
    });
  }

  /** New L2 version (optionally under a new L1 key) and a re-wrap of every L3 under it. */
  async rotateTenant(input: {
    actor: string;
    tenant: string;
    rootKeyId?: string;
    jobId?: string;
  }): Promise<RewrapReport> {
    const o = parse(schemas.rotateTenant, input, 'rotateTenant input');
    return this.#act(
      o.actor,
      'kms.tenant.rotate',
      `tenant:${o.tenant}`,
      () =>
        this.#c.hierarchy.rotateTenant(o.tenant, {
          ...(o.rootKeyId === undefined ? {} : { rootKeyId: o.rootKeyId }),
          ...(o.jobId === undefined ? {} : { jobId: o.jobId }),
        }),
      (r) => ({ job: r.job.id, from: r.job.fromVersion, to: r.job.toVersion, rewrapped: r.rewrapped }),
    );
  }

  /** Resumes a re-wrap job after a crash. */
  async resumeRewrap(input: { actor: string; jobId: string }): Promise<RewrapReport> {
    const o = parse(schemas.job, input, 'resumeRewrap input');
    return this.#act(
      o.actor,
      'kms.rewrap.resume',
      `job:${o.jobId}`,
      () => this.#c.hierarchy.runRewrapJob(o.jobId),
      (r) => ({ state: r.job.state, rewrapped: r.rewrapped }),
    );
  }

  /** New active L3 version of a service; old versions keep decrypting until retired. */
  async rotateService(input: {
    actor: string;
    tenant: string;
    service: string;
  }): Promise<Omit<StoredKey, 'wrapped'>> {
    const o = parse(schemas.service, input, 'rotateService input');
    return this.#act(
      o.actor,
      'kms.service.rotate',
      `service:${o.tenant}/${o.service}`,
      async () => strip(await this.#c.hierarchy.rotateService(o.tenant, o.service)),
      (r) => ({ version: r.version }),
    );
  }

  /** Retires a decrypt-only version (service '' = an L2 version): data under it stops decrypting. */
  async retireKey(input: {
    actor: string;
    tenant: string;
    service: string;
    version: number;
  }): Promise<Omit<StoredKey, 'wrapped'>> {
    const o = parse(schemas.retire, input, 'retireKey input');
    return this.#act(o.actor, 'kms.key.retire', `key:${o.tenant}/${o.service}/v${o.version}`, async () =>
      strip(await this.#c.hierarchy.retireKey(o.tenant, o.service, o.version)),
    );
  }

  /** Crypto-shreds L3 versions (all when `version` is omitted): their data becomes unrecoverable. */
  async destroyServiceKey(input: {
    actor: string;
    tenant: string;
    service: string;
    version?: number;
  }): Promise<number> {
    const o = parse(schemas.destroy, input, 'destroyServiceKey input');
    return this.#act(
      o.actor,
      'kms.key.destroy',
      `service:${o.tenant}/${o.service}${o.version === undefined ? '' : `/v${o.version}`}`,
      () => this.#c.hierarchy.destroyServiceKey(o.tenant, o.service, o.version),
      (n) => ({ destroyed: n }),
    );
  }

  /** Crypto-shreds one object's shreddable envelopes (right to be forgotten). */
  async shredObject(input: {
    actor: string;
    tenant: string;
    service: string;
    objectId: string;
  }): Promise<number> {
    const o = parse(schemas.shred, input, 'shredObject input');
    return this.#act(
      o.actor,
      'kms.object.shred',
      `object:${o.tenant}/${o.service}/${o.objectId}`,
      () => this.#c.hierarchy.shredObject(o.tenant, o.service, o.objectId),
      (n) => ({ secretsDestroyed: n }),
    );
  }

  /** Grants `principal` operations on a tenant's service keys (`service` '*' = all). */
  async grant(input: {
    actor: string;
    tenant: string;
    service: string;
    principal: string;
    operations: readonly ('encrypt' | 'decrypt')[];
  }): Promise<KeyGrant> {
    const o = parse(schemas.grant, input, 'grant input');
    return this.#act(
      o.actor,
      'kms.grant.create',
      `grant:${o.tenant}/${o.service}/${o.principal}`,
      async () => {
        await this.#tenant(o.tenant);
        const g: KeyGrant = {
          tenant: o.tenant,
          service: o.service,
          principal: o.principal,
          operations: o.operations,
          createdAt: this.#now(),
        };
        await this.#c.keyStore.putGrant(g);
        this.#c.unsealer.forgetPolicy(o.tenant);
        return g;
      },
      (g) => ({ operations: [...g.operations] }),
    );
  }

  /** Removes a grant; effective at once in this process, within `policyRefreshMs` elsewhere. */
  async revokeGrant(input: {
    actor: string;
    tenant: string;
    service: string;
    principal: string;
  }): Promise<boolean> {
    const o = parse(schemas.revokeGrant, input, 'revokeGrant input');
    return this.#act(
      o.actor,
      'kms.grant.revoke',
      `grant:${o.tenant}/${o.service}/${o.principal}`,
      async () => {
        const r = await this.#c.keyStore.deleteGrant(o.tenant, o.service, o.principal);
        this.#c.unsealer.forgetPolicy(o.tenant);
        return r;
      },
    );
  }

  /** Every tenant. */
  async listTenants(): Promise<TenantRecord[]> {
    return this.#c.keyStore.listTenants();
  }

  /** Status of one tenant: records, root key state, versions, grants, jobs. */
  async status(tenant: string): Promise<TenantStatus> {
    parse(TenantNameSchema, tenant, 'tenant');
    const t = await this.#tenant(tenant);
    let rootKey: TenantStatus['rootKey'];
    try {
      rootKey = await this.#c.rootKeys.describe(t.rootKeyId);
    } catch (e) {
      rootKey = { keyId: t.rootKeyId, error: e instanceof OmtError ? e.code : 'unknown' };
    }
    const services: Record<string, Omit<StoredKey, 'wrapped'>[]> = {};
    for (const s of await this.#c.keyStore.listServices(tenant)) {
      services[s] = (await this.#c.keyStore.listKeys(tenant, s)).map(strip);
    }
    return {
      tenant: t,
      rootKey,
      tenantKeys: (await this.#c.keyStore.listKeys(tenant, '')).map(strip),
      services,
      grants: await this.#c.keyStore.listGrants(tenant),
      jobs: await this.#c.keyStore.listJobs(tenant),
    };
  }
}
