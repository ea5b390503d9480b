/**
 * The key pyramid's lifecycle: creating L2 tenant keys (wrapped by L1) and L3 service keys (wrapped
 * by L2), rotating them, re-wrapping lower keys without re-encrypting data, retiring and destroying
 * versions, and shredding single objects. The governance API ({@link KmsGovernance}) drives this
 * and audits it; nothing here decides *who* may act.
 *
 * Rotation:
 * - `rotateService`: a new L3 version becomes active; earlier versions turn `decrypt-only`.
 *   Envelopes keep their L4 wrapped under the old L3 until `rewrapEnvelope` moves them.
 * - `rotateTenant`: a new L2 version (optionally under a new L1 key) becomes active and every L3
 *   version is re-wrapped under it by a {@link RewrapJob} whose progress (one service at a time,
 *   each key by compare-and-set) is persisted — after a crash `runRewrapJob(id)` resumes, and
 *   keys re-wrapped before the crash are not touched again. While the job runs, every L3 is
 *   wrapped by either the old or the new L2, and both unwrap, so decryption never stops.
 */
import { OmtError } from '@omt/core/errors';
import { type Clock, platformRandom, type RandomSource } from '@omt/core/random';
import { webCryptoAead } from './aead-web.js';
import { unwrapKeyBytes, wrapKeyBytes } from './key-wrap.js';
import type { AeadEngine, KeyStore, RewrapJob, StoredKey, TenantRecord } from './ports.js';
import { serviceKeyAad, type Unsealer } from './unsealer.js';

export interface KeyHierarchyOptions {
  readonly keyStore: KeyStore;
  readonly unsealer: Unsealer;
  readonly clock: Clock;
  readonly random?: RandomSource;
  /** Must be the engine the unsealer imports keys into. */
  readonly aead?: AeadEngine;
}

/** Result of a re-wrap run. */
export interface RewrapReport {
  readonly job: RewrapJob;
  /** L3 versions re-wrapped by this run. */
  readonly rewrapped: number;
}

/**
 * @example
 * ```ts
 * const h = new KeyHierarchy({ keyStore, unsealer, clock: systemClock });
 * await h.createTenant('acme', rootKeyId);
 * await h.createService('acme', 'media');
 * ```
 */
export class KeyHierarchy {
  readonly #store: KeyStore;
  readonly #unsealer: Unsealer;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #aead: AeadEngine;

  constructor(options: KeyHierarchyOptions) {
    this.#store = options.keyStore;
    this.#unsealer = options.unsealer;
    this.#clock = options.clock;
    this.#random = options.random ?? platformRandom;
    this.#aead = options.aead ?? webCryptoAead;
  }

  #now(): string {
    return this.#clock().toISOString();
  }

  async #newTenantKey(tenant: string, rootKeyId: string, version: number): Promise<StoredKey> {
    const raw = this.#random(32);
    try {
      const wrapped = await this.#unsealer.wrapTenantKey(tenant, rootKeyId, version, raw);
      const now = this.#now();
      const key: StoredKey = {
        tenant,
        service: '',
        level: 2,
        version,
        state: 'active',
        wrappedBy: rootKeyId,
        wrapped,
        createdAt: now,
        updatedAt: now,
      };
      await this.#store.putKey(key);
      return key;
    } finally {
      raw.fill(0);
    }
  }

  /** Creates a tenant bound to L1 key `rootKeyId` with L2 version 1. */
  async createTenant(tenant: string, rootKeyId: string): Promise<TenantRecord> {
    const now = this.#now();
    const record: TenantRecord = { tenant, rootKeyId, state: 'enabled', createdAt: now, updatedAt: now };
    await this.#store.putTenant(record);
    await this.#newTenantKey(tenant, rootKeyId, 1);
    return record;
  }

  async #activeVersion(tenant: string, service: string): Promise<StoredKey | undefined> {
    return (await this.#store.listKeys(tenant, service)).filter((k) => k.state === 'active').at(-1);
  }

  async #newServiceKey(tenant: string, service: string, version: number): Promise<StoredKey> {
    const l2 = await this.#activeVersion(tenant, '');
    if (l2 === undefined)
      throw new OmtError('kms.key.not-found', `tenant ${tenant} has no active tenant key`);
    const l2Key = await this.#unsealer.tenantKey(tenant, l2.version);
    const raw = this.#random(32);
    try {
      const wrapped = await wrapKeyBytes(
        l2Key,
        raw,
        serviceKeyAad(tenant, service, version),
        this.#random,
        this.#aead,
      );
      const now = this.#now();
      const key: StoredKey = {
        tenant,
        service,
        level: 3,
        version,
        state: 'active',
        wrappedBy: String(l2.version),
        wrapped,
        createdAt: now,
        updatedAt: now,
      };
      await this.#store.putKey(key);
      return key;
    } finally {
      raw.fill(0);
    }
  }

  /** Creates L3 version 1 of (tenant, service); `kms.store.conflict` when it exists. */
  async createService(tenant: string, service: string): Promise<StoredKey> {
    await this.#unsealer.tenantPolicy(tenant);
    return this.#newServiceKey(tenant, service, 1);
  }

  async #demote(k: StoredKey): Promise<void> {
    await this.#store.updateKey(
      k.tenant,
      k.service,
      k.version,
      { state: 'active', wrappedBy: k.wrappedBy },
      { state: 'decrypt-only', updatedAt: this.#now() },
    );
  }

  /** New active L3 version; the previous one becomes decrypt-only. */
  async rotateService(tenant: string, service: string): Promise<StoredKey> {
    await this.#unsealer.tenantPolicy(tenant);
    const all = await this.#store.listKeys(tenant, service);
    const last = all.at(-1);
    if (last === undefined)
      throw new OmtError('kms.key.not-found', `no key for service ${service} of tenant ${tenant}`);
    const next = await this.#newServiceKey(tenant, service, last.version + 1);
    for (const k of all) if (k.state === 'active') await this.#demote(k);
    this.#unsealer.forgetService(tenant, service);
    return next;
  }

  /**
   * New active L2 version (under `rootKeyId`, default the tenant's current L1), previous one
   * decrypt-only, then a re-wrap job moving every L3 under it. Returns the finished (or, after a
   * failure, resumable) job's report.
   */
  async rotateTenant(
    tenant: string,
    options: { rootKeyId?: string; jobId?: string } = {},
  ): Promise<RewrapReport> {
    const policy = await this.#unsealer.tenantPolicy(tenant);
    const all = await this.#store.listKeys(tenant, '');
    const from = all.filter((k) => k.state === 'active').at(-1);
    const last = all.at(-1);
    if (from === undefined || last === undefined) {
      throw new OmtError('kms.key.not-found', `tenant ${tenant} has no active tenant key`);
    }
    const rootKeyId = options.rootKeyId ?? policy.record.rootKeyId;
    const next = await this.#newTenantKey(tenant, rootKeyId, last.version + 1);
    await this.#demote(from);
    if (rootKeyId !== policy.record.rootKeyId) {
      await this.#store.updateTenant(tenant, 'enabled', { rootKeyId, updatedAt: this.#now() });
    }
    this.#unsealer.forgetPolicy(tenant);
    const now = this.#now();
    const job: RewrapJob = {
      id: options.jobId ?? `rewrap-${tenant}-v${from.version}-v${next.version}-${Date.parse(now)}`,
      tenant,
      kind: 'tenant',
      fromVersion: from.version,
      toVersion: next.version,
      state: 'running',
      cursor: '',
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.putJob(job);
    return this.runRewrapJob(job.id);
  }

  /**
   * Runs (or resumes) a re-wrap job: every L3 version wrapped by the job's `fromVersion` L2 is
   * re-wrapped under `toVersion`, service by service in name order; the cursor is persisted after
   * each service.
   */
  async runRewrapJob(id: string): Promise<RewrapReport> {
    let job = await this.#store.getJob(id);
    if (job === undefined) throw new OmtError('kms.key.not-found', `no re-wrap job ${id}`);
    let rewrapped = 0;
    if (job.state === 'done') return { job, rewrapped };
    const { tenant } = job;
    const fromKey = await this.#unsealer.tenantKey(tenant, job.fromVersion);
    const toKey = await this.#unsealer.tenantKey(tenant, job.toVersion);
    const services = (await this.#store.listServices(tenant)).filter((s) => s > (job as RewrapJob).cursor);
    for (const service of services) {
      for (const k of await this.#store.listKeys(tenant, service)) {
        if (k.wrappedBy !== String(job.fromVersion) || k.state === 'destroyed') continue;
        const aad = serviceKeyAad(tenant, service, k.version);
        const raw = await unwrapKeyBytes(fromKey, k.wrapped, aad, this.#aead);
        let wrapped: Uint8Array;
        try {
          wrapped = await wrapKeyBytes(toKey, raw, aad, this.#random, this.#aead);
        } finally {
          raw.fill(0);
        }
        const done = await this.#store.updateKey(
          tenant,
          service,
          k.version,
          { state: k.state, wrappedBy: k.wrappedBy },
          { wrappedBy: String(job.toVersion), wrapped, updatedAt: this.#now() },
        );
        if (done !== undefined) rewrapped++;
      }
      const advanced = await this.#store.updateJob(id, job.cursor, {
        cursor: service,
        state: 'running',
        updatedAt: this.#now(),
      });
      if (advanced === undefined)
        throw new OmtError('kms.store.conflict', `re-wrap job ${id} advanced by another worker`);
      job = advanced;
    }
    const finished = await this.#store.updateJob(id, job.cursor, {
      cursor: job.cursor,
      state: 'done',
      updatedAt: this.#now(),
    });
    if (finished === undefined)
      throw new OmtError('kms.store.conflict', `re-wrap job ${id} advanced by another worker`);
    return { job: finished, rewrapped };
  }

  /**
   * Retires a non-active version: it no longer decrypts. An L2 version still wrapping L3 keys is
   * refused with `kms.key.in-use` (run its re-wrap job first).
   */
  async retireKey(tenant: string, service: string, version: number): Promise<StoredKey> {
    const k = await this.#store.getKey(tenant, service, version);
    if (k === undefined) throw new OmtError('kms.key.not-found', `no key ${tenant}/${service}/v${version}`);
    if (k.state === 'active')
      throw new OmtError('kms.key.in-use', 'the active version cannot be retired; rotate first');
    if (k.state !== 'decrypt-only') throw new OmtError('kms.key.retired', `key is already ${k.state}`);
    if (service === '') {
      for (const s of await this.#store.listServices(tenant)) {
        for (const l3 of await this.#store.listKeys(tenant, s)) {
          if (l3.wrappedBy === String(version) && l3.state !== 'destroyed') {
            throw new OmtError('kms.key.in-use', `tenant key v${version} still wraps ${s}/v${l3.version}`);
          }
        }
      }
    }
    const r = await this.#store.updateKey(
      tenant,
      service,
      version,
      { state: k.state, wrappedBy: k.wrappedBy },
      { state: 'retired', updatedAt: this.#now() },
    );
    if (r === undefined) throw new OmtError('kms.store.conflict', 'the key changed concurrently; retry');
    if (service === '') this.#unsealer.purgeTenant(tenant);
    else this.#unsealer.forgetService(tenant, service);
    return r;
  }

  /**
   * Crypto-shreds L3 versions of (tenant, service) — every version when `version` is omitted: the
   * wrapped bytes are erased, so every L4 under them (and the data) becomes unrecoverable.
   */
  async destroyServiceKey(tenant: string, service: string, version?: number): Promise<number> {
    let n = 0;
    for (const k of await this.#store.listKeys(tenant, service)) {
      if (version !== undefined && k.version !== version) continue;
      if (k.state === 'destroyed') continue;
      const r = await this.#store.updateKey(
        tenant,
        service,
        k.version,
        { state: k.state, wrappedBy: k.wrappedBy },
        { state: 'destroyed', wrapped: new Uint8Array(0), updatedAt: this.#now() },
      );
      if (r === undefined) throw new OmtError('kms.store.conflict', 'the key changed concurrently; retry');
      n++;
    }
    this.#unsealer.forgetService(tenant, service);
    if (n === 0) throw new OmtError('kms.key.not-found', `no destroyable key for ${tenant}/${service}`);
    return n;
  }

  /** Crypto-shreds one object (every shreddable envelope of it): returns how many secrets were erased. */
  async shredObject(tenant: string, service: string, objectId: string): Promise<number> {
    return this.#store.destroyObjectSecrets(tenant, service, objectId, this.#now());
  }
}
