/**
 * Recursive unsealing of the key pyramid with caches: an L3 service key is unwrapped by its L2
 * tenant key, which is unwrapped by the tenant's L1 root key in the customer's KMS/HSM. Unwrapped
 * keys are imported as non-extractable WebCrypto keys (the raw bytes are wiped at once) and kept in
 * {@link KeyCache}s, so warm paths make no L1 call. Concurrent misses share one load.
 *
 * Tenant state (enabled/revoked) and grants are cached too and re-read every `policyRefreshMs`
 * (another process may have revoked the tenant); the L1 key state is re-checked with `describe`
 * every `rootCheckMs` (someone may have disabled the key directly in the HSM). Revocation seen by
 * this process purges every cached key of the tenant at once.
 */
import { encodeCbor } from '@omt/core/cbor';
import { OmtError } from '@omt/core/errors';
import { type Clock, systemClock } from '@omt/core/random';
import { webCryptoAead } from './aead-web.js';
import type { AuditRecorder } from './audit-recorder.js';
import { KeyCache, type KeyCacheLimits } from './cache.js';
import { importWrappingKey, unwrapKeyBytes } from './key-wrap.js';
import type {
  AeadEngine,
  AeadKey,
  KeyGrant,
  KeyStore,
  RootKeyProvider,
  StoredKey,
  TenantRecord,
} from './ports.js';

/** AAD of an L2 version under L1. */
export function tenantKeyAad(tenant: string, version: number): Uint8Array {
  return encodeCbor(['OMT-KMS/1 L2', tenant, version]);
}

/** AAD of an L3 version under L2 (independent of the L2 version, so re-wrapping keeps it). */
export function serviceKeyAad(tenant: string, service: string, version: number): Uint8Array {
  return encodeCbor(['OMT-KMS/1 L3', tenant, service, version]);
}

/** The cached policy of one tenant. */
export interface TenantPolicy {
  readonly record: TenantRecord;
  readonly grants: readonly KeyGrant[];
}

/** The active L3 of a (tenant, service): what new envelopes are sealed under. */
export interface ActiveServiceKey {
  readonly key: AeadKey;
  readonly rootKeyId: string;
  readonly tenantKeyVersion: number;
  readonly serviceKeyVersion: number;
}

export interface UnsealerOptions {
  readonly rootKeys: RootKeyProvider;
  readonly keyStore: KeyStore;
  readonly audit: AuditRecorder;
  readonly clock: Clock;
  readonly cache?: KeyCacheLimits;
  /** How often cached tenant state and grants are re-read (default 1000 ms). */
  readonly policyRefreshMs?: number;
  /** How often the L1 key state is re-checked with `describe` (default 5000 ms; 0 = never). */
  readonly rootCheckMs?: number;
  /** Actor named in audit entries of L1 calls. */
  readonly actor?: string;
  /** Engine the unwrapped L2/L3 keys are imported into (default WebCrypto, non-extractable). */
  readonly aead?: AeadEngine;
}

/** Counters for tests and benchmarks. */
export interface UnsealerStats {
  /** wrap/unwrap calls that reached the RootKeyProvider. */
  l1KeyCalls: number;
  /** describe calls that reached the RootKeyProvider. */
  l1DescribeCalls: number;
  /** KeyStore reads. */
  storeReads: number;
}

interface PolicyEntry {
  policy: TenantPolicy;
  fetchedAt: number;
  rootCheckedAt: number;
}

function keyStateError(k: StoredKey): OmtError | undefined {
  const name = `${k.tenant}/${k.service === '' ? '(tenant key)' : k.service}/v${k.version}`;
  if (k.state === 'retired') return new OmtError('kms.key.retired', `key ${name} is retired`);
  if (k.state === 'destroyed')
    return new OmtError('kms.key.destroyed', `key ${name} is destroyed (crypto-shredded)`);
  return undefined;
}

/**
 * @example
 * ```ts
 * const unsealer = new Unsealer({ rootKeys, keyStore, audit: new AuditRecorder(log), clock: systemClock });
 * const l3 = await unsealer.serviceKey('acme', 'media', 1); // AeadKey; warm calls hit the cache
 * ```
 */
export class Unsealer {
  readonly #o: UnsealerOptions;
  readonly #keys: KeyCache<AeadKey>;
  readonly #active: KeyCache<{ service: number; tenant: number; rootKeyId: string }>;
  readonly #policies = new Map<string, PolicyEntry>();
  readonly #inflight = new Map<string, Promise<AeadKey>>();
  readonly #generation = new Map<string, number>();
  readonly #policyRefreshMs: number;
  readonly #rootCheckMs: number;
  readonly stats: UnsealerStats = { l1KeyCalls: 0, l1DescribeCalls: 0, storeReads: 0 };
  readonly #aead: AeadEngine;
  readonly #now: () => number;

  constructor(options: UnsealerOptions) {
    this.#o = options;
    this.#aead = options.aead ?? webCryptoAead;
    // The platform clock without a Date per cache lookup (the warm path reads the time several times).
    const clock = options.clock;
    const now = clock === systemClock ? Date.now : (): number => clock().getTime();
    this.#now = now;
    this.#keys = new KeyCache<AeadKey>(options.cache, now);
    this.#active = new KeyCache(options.cache, now);
    this.#policyRefreshMs = options.policyRefreshMs ?? 1000;
    this.#rootCheckMs = options.rootCheckMs ?? 5000;
  }

  get #actor(): string {
    return this.#o.actor ?? 'kms';
  }

  #gen(tenant: string): number {
    return this.#generation.get(tenant) ?? 0;
  }

  /** Number of cached keys (tests: proves the purge). */
  get cachedKeys(): number {
    return this.#keys.size;
  }

  /**
   * Drops every cached key, active pointer, policy and in-flight load of `tenant` at once.
   * Loads already running finish but their results are not cached.
   */
  purgeTenant(tenant: string): number {
    this.#generation.set(tenant, this.#gen(tenant) + 1);
    this.#policies.delete(tenant);
    const mark = `|${tenant}|`;
    for (const k of [...this.#inflight.keys()]) if (k.includes(mark)) this.#inflight.delete(k);
    this.#active.purge((k) => k.includes(mark));
    return this.#keys.purge((k) => k.includes(mark));
  }

  /** Forgets the policy of `tenant` (after a grant change) without purging keys. */
  forgetPolicy(tenant: string): void {
    this.#policies.delete(tenant);
  }

  /** Forgets cached versions of one (tenant, service) after rotation, retirement or destruction. */
  forgetService(tenant: string, service: string): void {
    const mark = `|${tenant}|${service}|`;
    this.#active.purge((k) => k.includes(mark));
    this.#keys.purge((k) => k.includes(mark));
    for (const k of [...this.#inflight.keys()]) if (k.includes(mark)) this.#inflight.delete(k);
  }

  /**
   * The tenant's policy, from cache when fresh. Throws `kms.tenant.not-found`, and
   * `kms.key.revoked` (purging the tenant's keys) when the tenant is revoked or its L1 key is not
   * enabled.
   */
  async tenantPolicy(tenant: string): Promise<TenantPolicy> {
    return this.tenantPolicyNow(tenant);
  }

  /**
   * {@link tenantPolicy}, answered at once (no promise) when the cached policy is fresh, no L1
   * check is due and the tenant is enabled — the warm path; otherwise its promise.
   */
  tenantPolicyNow(tenant: string): TenantPolicy | Promise<TenantPolicy> {
    return this.warmPolicy(tenant) ?? this.#tenantPolicy(tenant);
  }

  /**
   * The policy {@link tenantPolicy} would return without any I/O — cached, fresh, no L1 check due,
   * tenant enabled — or undefined (nothing is loaded or counted).
   */
  warmPolicy(tenant: string): TenantPolicy | undefined {
    const e = this.#policies.get(tenant);
    if (e === undefined || e.policy.record.state !== 'enabled') return undefined;
    const now = this.#now();
    if (now - e.fetchedAt >= this.#policyRefreshMs) return undefined;
    if (this.#rootCheckMs > 0 && now - e.rootCheckedAt >= this.#rootCheckMs) return undefined;
    return e.policy;
  }

  async #tenantPolicy(tenant: string): Promise<TenantPolicy> {
    const now = this.#now();
    let e = this.#policies.get(tenant);
    if (e === undefined || now - e.fetchedAt >= this.#policyRefreshMs) {
      const gen = this.#gen(tenant);
      this.stats.storeReads += 2;
      const [record, grants] = await Promise.all([
        this.#o.keyStore.getTenant(tenant),
        this.#o.keyStore.listGrants(tenant),
      ]);
      if (record === undefined) throw new OmtError('kms.tenant.not-found', `no tenant ${tenant}`);
      const fresh: PolicyEntry = {
        policy: { record, grants },
        fetchedAt: now,
        rootCheckedAt: e?.rootCheckedAt ?? now,
      };
      if (record.state !== 'enabled') {
        this.purgeTenant(tenant);
        throw new OmtError('kms.key.revoked', `tenant ${tenant} is revoked`);
      }
      if (e !== undefined && e.policy.record.rootKeyId !== record.rootKeyId) this.purgeTenant(tenant);
      if (gen === this.#gen(tenant)) this.#policies.set(tenant, fresh);
      e = fresh;
    }
    if (this.#rootCheckMs > 0 && now - e.rootCheckedAt >= this.#rootCheckMs) {
      e.rootCheckedAt = now;
      await this.#checkRoot(tenant, e.policy.record.rootKeyId);
    }
    if (e.policy.record.state !== 'enabled')
      throw new OmtError('kms.key.revoked', `tenant ${tenant} is revoked`);
    return e.policy;
  }

  async #checkRoot(tenant: string, rootKeyId: string): Promise<void> {
    this.stats.l1DescribeCalls++;
    const d = await this.#o.rootKeys.describe(rootKeyId);
    if (d.state !== 'enabled') {
      this.purgeTenant(tenant);
      await this.#o.audit.write({
        actor: this.#actor,
        action: 'kms.root.state-changed',
        subject: `root:${rootKeyId}`,
        outcome: 'deny',
        details: { tenant, state: d.state },
      });
      throw new OmtError(
        d.state === 'destroyed' ? 'kms.key.destroyed' : 'kms.key.revoked',
        `root key of tenant ${tenant} is ${d.state}`,
      );
    }
  }

  /** Maps an L1 refusal to the kill switch: the tenant's caches go at once. */
  async #rootCall<T>(
    tenant: string,
    rootKeyId: string,
    op: 'wrap' | 'unwrap',
    fn: () => Promise<T>,
  ): Promise<T> {
    this.stats.l1KeyCalls++;
    try {
      const r = await fn();
      await this.#o.audit.write({
        actor: this.#actor,
        action: `kms.root.${op}`,
        subject: `root:${rootKeyId}`,
        outcome: 'success',
        details: { tenant },
      });
      return r;
    } catch (e) {
      if (e instanceof OmtError && (e.code === 'kms.key.revoked' || e.code === 'kms.key.destroyed')) {
        this.purgeTenant(tenant);
      }
      await this.#o.audit.write({
        actor: this.#actor,
        action: `kms.root.${op}`,
        subject: `root:${rootKeyId}`,
        outcome: 'failure',
        details: { tenant, code: e instanceof OmtError ? e.code : 'unknown' },
      });
      throw e;
    }
  }

  /** Wraps fresh L2 bytes under the tenant's L1 (used by the key hierarchy). */
  async wrapTenantKey(
    tenant: string,
    rootKeyId: string,
    version: number,
    raw: Uint8Array,
  ): Promise<Uint8Array> {
    return this.#rootCall(tenant, rootKeyId, 'wrap', () =>
      this.#o.rootKeys.wrap(rootKeyId, raw, tenantKeyAad(tenant, version)),
    );
  }

  /** Loads `key` once for concurrent callers; caches the result unless the tenant was purged meanwhile. */
  #load(tenant: string, cacheKey: string, load: () => Promise<AeadKey>): AeadKey | Promise<AeadKey> {
    const hit = this.#keys.take(cacheKey);
    if (hit !== undefined) return hit;
    const running = this.#inflight.get(cacheKey);
    if (running !== undefined) return running;
    const gen = this.#gen(tenant);
    const p: Promise<AeadKey> = load().then(
      (key) => {
        if (gen === this.#gen(tenant)) this.#keys.set(cacheKey, key);
        if (this.#inflight.get(cacheKey) === p) this.#inflight.delete(cacheKey);
        return key;
      },
      (e: unknown) => {
        if (this.#inflight.get(cacheKey) === p) this.#inflight.delete(cacheKey);
        throw e;
      },
    );
    this.#inflight.set(cacheKey, p);
    return p;
  }

  async #storedKey(tenant: string, service: string, version: number): Promise<StoredKey> {
    this.stats.storeReads++;
    const k = await this.#o.keyStore.getKey(tenant, service, version);
    if (k === undefined) {
      throw new OmtError(
        'kms.key.not-found',
        `no key ${tenant}/${service === '' ? '(tenant key)' : service}/v${version}`,
      );
    }
    const err = keyStateError(k);
    if (err !== undefined) throw err;
    return k;
  }

  /** The L2 tenant key `version` (unwrapped by L1 on a miss). */
  async tenantKey(tenant: string, version: number): Promise<AeadKey> {
    return await this.#load(tenant, `l2|${tenant}||${version}`, async () => {
      await this.tenantPolicy(tenant);
      const k = await this.#storedKey(tenant, '', version);
      // An older L2 version may sit under an earlier root of the tenant: unwrappable while that key lives.
      const rootKeyId = k.wrappedBy;
      const raw = await this.#rootCall(tenant, rootKeyId, 'unwrap', () =>
        this.#o.rootKeys.unwrap(rootKeyId, k.wrapped, tenantKeyAad(tenant, version)),
      );
      try {
        return await importWrappingKey(raw, this.#aead);
      } finally {
        raw.fill(0);
      }
    });
  }

  /** The L3 service key `version` (unwrapped by its L2 on a miss). */
  async serviceKey(tenant: string, service: string, version: number): Promise<AeadKey> {
    return this.serviceKeyNow(tenant, service, version);
  }

  /** {@link serviceKey}, answered at once (no promise) from the cache; otherwise its promise. */
  serviceKeyNow(tenant: string, service: string, version: number): AeadKey | Promise<AeadKey> {
    return this.#load(tenant, `l3|${tenant}|${service}|${version}`, async () => {
      const k = await this.#storedKey(tenant, service, version);
      const l2 = await this.tenantKey(tenant, Number(k.wrappedBy));
      const raw = await unwrapKeyBytes(l2, k.wrapped, serviceKeyAad(tenant, service, version), this.#aead);
      try {
        return await importWrappingKey(raw, this.#aead);
      } finally {
        raw.fill(0);
      }
    });
  }

  /** The active L3 of (tenant, service) with the versions that name it in a header. */
  async activeServiceKey(tenant: string, service: string): Promise<ActiveServiceKey> {
    return this.activeServiceKeyNow(tenant, service);
  }

  /**
   * {@link activeServiceKey}, answered at once (no promise) when the active pointer and the key are
   * cached; otherwise its promise. Each cache counts one use either way.
   */
  activeServiceKeyNow(tenant: string, service: string): ActiveServiceKey | Promise<ActiveServiceKey> {
    const ptr = this.#active.take(`active|${tenant}|${service}|`);
    if (ptr !== undefined) {
      const key = this.serviceKeyNow(tenant, service, ptr.service);
      if (!(key instanceof Promise)) return activeOf(key, ptr);
      return key.then((k) => activeOf(k, ptr));
    }
    return this.#activeServiceKey(tenant, service);
  }

  async #activeServiceKey(tenant: string, service: string): Promise<ActiveServiceKey> {
    const gen = this.#gen(tenant);
    this.stats.storeReads++;
    const versions = await this.#o.keyStore.listKeys(tenant, service);
    const active = versions.filter((k) => k.state === 'active').at(-1);
    if (active === undefined) {
      throw new OmtError('kms.key.not-found', `no active key for service ${service} of tenant ${tenant}`);
    }
    const policy = await this.tenantPolicy(tenant);
    const ptr = {
      service: active.version,
      tenant: Number(active.wrappedBy),
      rootKeyId: policy.record.rootKeyId,
    };
    if (gen === this.#gen(tenant)) this.#active.set(`active|${tenant}|${service}|`, ptr);
    return activeOf(await this.serviceKeyNow(tenant, service, ptr.service), ptr);
  }
}

function activeOf(
  key: AeadKey,
  ptr: { readonly service: number; readonly tenant: number; readonly rootKeyId: string },
): ActiveServiceKey {
  return { key, rootKeyId: ptr.rootKeyId, tenantKeyVersion: ptr.tenant, serviceKeyVersion: ptr.service };
}
