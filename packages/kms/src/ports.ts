/**
 * Ports of @omt/kms (ARCHITECTURE rule 2). Adapters implement them; `@omt/kms/testing` exports a
 * contract test suite for each (`rootKeyProviderContract`, `keyStoreContract`).
 *
 * The key pyramid:
 * - L1 root keys stay inside the customer's KMS or HSM. Only {@link RootKeyProvider} touches them,
 *   and it only wraps, unwraps, describes and changes the state of a key — never exports one.
 * - L2 tenant keys (wrapped by L1) and L3 service keys (tenant × service, wrapped by L2) are kept
 *   wrapped in a {@link KeyStore}, with versions and states.
 * - L4 data keys travel wrapped (by L3) inside each envelope; a *shreddable* object additionally
 *   has a per-object secret in the {@link KeyStore} without which its L4 cannot be unwrapped.
 */

/** Lifecycle state of an L1 root key (AWS KMS `KeyState`, PKCS#11 object presence). */
export type RootKeyState = 'enabled' | 'disabled' | 'destroyed';

/** What {@link RootKeyProvider.describe} reports. Never contains key material. */
export interface RootKeyDescription {
  /** Provider-scoped key identifier (`[A-Za-z0-9._:/-]`, 1–256 characters). */
  readonly keyId: string;
  readonly state: RootKeyState;
  /** How the provider wraps, e.g. `AES-256-GCM`, `AES-256-KWP`, `aws-kms:SYMMETRIC_DEFAULT`. */
  readonly algorithm: string;
  /**
   * Current key version (1, 2, …). A provider that rotates its key material internally keeps
   * unwrapping blobs made under older versions (AWS KMS, Cloud KMS and Key Vault all do).
   */
  readonly version: number;
  /** RFC 3339 creation time. */
  readonly createdAt: string;
  /** Provider kind, e.g. `local`, `pkcs11`, `memory`, `aws-kms`. */
  readonly provider: string;
  /** Optional human label. */
  readonly label?: string;
}

/** Options of {@link RootKeyProvider.createKey}. */
export interface CreateRootKeyOptions {
  /** Requested id; the provider picks a fresh one when omitted. */
  readonly keyId?: string;
  readonly label?: string;
}

/**
 * The customer's root of trust (L1), AWS-KMS-like: `Encrypt`/`Decrypt` with an encryption context
 * become {@link wrap}/{@link unwrap} with `aad`; `DisableKey`/`EnableKey`/`ScheduleKeyDeletion`
 * become {@link disable}/{@link enable}/{@link destroy}.
 *
 * Contract (checked by `rootKeyProviderContract`):
 * - `wrap(keyId, key, aad)` returns an opaque blob (≤ 1024 bytes) that only `unwrap(keyId, blob,
 *   aad)` with the same key and the *same* `aad` turns back into `key`; any other aad, key id or a
 *   modified blob fails with `kms.unwrap.failed`. Wrapping the same key twice gives different
 *   blobs (randomised).
 * - `plaintextKey` is 16–64 bytes; `aad` 0–4096 bytes; bad input → `kms.input.invalid`.
 * - Unknown key id → `kms.key.not-found`. A disabled key refuses wrap and unwrap with
 *   `kms.key.revoked` (the kill switch) until enabled again; a destroyed key refuses them with
 *   `kms.key.destroyed` forever and cannot be enabled (`kms.key.destroyed`).
 * - `disable` / `enable` are idempotent; `describe` works in every state.
 * - The provider never returns key material other than the unwrapped L2 from `unwrap`, and never
 *   puts secrets in error messages.
 */
export interface RootKeyProvider {
  /** Provider kind, as in {@link RootKeyDescription.provider}. */
  readonly kind: string;
  /** Creates a new enabled root key (local/HSM provisioning; cloud KMSs may refuse with `kms.unsupported`). */
  createKey(options?: CreateRootKeyOptions): Promise<RootKeyDescription>;
  /** State, algorithm and version of a key. */
  describe(keyId: string): Promise<RootKeyDescription>;
  /** Every key the provider holds (destroyed ones included while the provider remembers them). */
  listKeys(): Promise<RootKeyDescription[]>;
  /** Encrypts (wraps) a lower-level key under root key `keyId`, binding `aad`. */
  wrap(keyId: string, plaintextKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Decrypts (unwraps) a blob from {@link wrap}; `aad` must match exactly. */
  unwrap(keyId: string, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Kill switch: every later wrap/unwrap under `keyId` fails with `kms.key.revoked`. */
  disable(keyId: string): Promise<void>;
  /** Lifts {@link disable}. */
  enable(keyId: string): Promise<void>;
  /** Irreversibly destroys the key material: everything below it becomes unrecoverable. */
  destroy(keyId: string): Promise<void>;
}

// -------------------------------------------------------------------------------------------------
// KeyStore

/**
 * State of a stored L2/L3 key version:
 * - `active`: the one version new data is encrypted under (at most one per tenant/service);
 * - `decrypt-only`: superseded by rotation, still decrypts existing data;
 * - `retired`: no longer decrypts (its data must have been re-wrapped first); the wrapped bytes
 *   are kept so an operator can reactivate it;
 * - `destroyed`: crypto-shredded; the wrapped bytes are gone (stored as empty).
 */
export type StoredKeyState = 'active' | 'decrypt-only' | 'retired' | 'destroyed';

/** One version of an L2 tenant key (`level` 2, `service` '') or an L3 service key (`level` 3). */
export interface StoredKey {
  readonly tenant: string;
  /** `''` for L2 tenant keys. */
  readonly service: string;
  readonly level: 2 | 3;
  /** 1, 2, … per (tenant, service). */
  readonly version: number;
  readonly state: StoredKeyState;
  /**
   * What wrapped it: for L2 the L1 key id; for L3 the L2 version as a decimal string. Rotation of
   * the parent re-wraps the key and changes this (compare-and-set through {@link KeyStore.updateKey}).
   */
  readonly wrappedBy: string;
  /** The wrapped key bytes (empty once destroyed). */
  readonly wrapped: Uint8Array;
  /** RFC 3339. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The changeable fields of a stored key. */
export interface StoredKeyPatch {
  readonly state?: StoredKeyState;
  readonly wrappedBy?: string;
  readonly wrapped?: Uint8Array;
  readonly updatedAt: string;
}

/** Tenant state: `revoked` is the governance kill switch (persisted, seen by every process). */
export type TenantState = 'enabled' | 'revoked';

export interface TenantRecord {
  readonly tenant: string;
  /** The L1 key (in the RootKeyProvider) that wraps this tenant's L2 versions. */
  readonly rootKeyId: string;
  readonly state: TenantState;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A grant of the governance policy: `principal` may perform `operations` with the keys of
 * `tenant` × `service` (`service` '*' = every service of the tenant, `principal` '*' = anyone).
 */
export interface KeyGrant {
  readonly tenant: string;
  readonly service: string;
  readonly principal: string;
  readonly operations: readonly ('encrypt' | 'decrypt')[];
  readonly createdAt: string;
}

/**
 * The per-object secret of a shreddable envelope: the L4 is wrapped under a key derived from L3
 * *and* this secret, so destroying it (the record keeps `state: 'destroyed'` and empty bytes)
 * crypto-shreds that one object while L3 lives on.
 */
export interface ObjectSecretRecord {
  readonly tenant: string;
  readonly service: string;
  /** The caller's object id (encryption context). */
  readonly objectId: string;
  /** Random per-envelope reference (base64url, 22 chars) carried in the envelope header. */
  readonly ref: string;
  readonly state: 'active' | 'destroyed';
  /** 32 bytes while active; empty once destroyed. */
  readonly secret: Uint8Array;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Persistent progress of a re-wrap (rotation) job, so a crash resumes where it stopped. */
export interface RewrapJob {
  /** Caller-chosen unique id. */
  readonly id: string;
  readonly tenant: string;
  /** `tenant`: re-wrap L3 keys under a new L2 version. */
  readonly kind: 'tenant';
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly state: 'running' | 'done';
  /** Opaque resume position (the last service done, '' at the start). */
  readonly cursor: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * Persistence for the wrapped middle of the pyramid and the governance state. Stores are dumb but
 * safe; the contract (`keyStoreContract`) fixes the behaviour:
 * - `putX` inserts and fails with `kms.store.conflict` when the primary key exists.
 * - `updateKey` is compare-and-set: it applies `patch` only when the stored state and `wrappedBy`
 *   equal `expected`, and returns the new record, or `undefined` when the expectation failed
 *   (another writer won). Unknown key → `kms.key.not-found`.
 * - `getX` returns `undefined` when absent; lists are ordered (keys by version ascending,
 *   tenants/grants/jobs by id ascending).
 * - Bytes come back as plain `Uint8Array`; every call is atomic.
 * - Bad input → `kms.input.invalid`; a backend failure → an OmtError from the adapter.
 */
export interface KeyStore {
  putTenant(record: TenantRecord): Promise<void>;
  getTenant(tenant: string): Promise<TenantRecord | undefined>;
  /** Compare-and-set on `state`; returns the updated record or undefined when `expectedState` did not match. */
  updateTenant(
    tenant: string,
    expectedState: TenantState,
    patch: { readonly state?: TenantState; readonly rootKeyId?: string; readonly updatedAt: string },
  ): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;

  putKey(key: StoredKey): Promise<void>;
  getKey(tenant: string, service: string, version: number): Promise<StoredKey | undefined>;
  /** Every version of (tenant, service), ascending. */
  listKeys(tenant: string, service: string): Promise<StoredKey[]>;
  /** Every service of a tenant that has L3 keys, ascending. */
  listServices(tenant: string): Promise<string[]>;
  updateKey(
    tenant: string,
    service: string,
    version: number,
    expected: { readonly state: StoredKeyState; readonly wrappedBy: string },
    patch: StoredKeyPatch,
  ): Promise<StoredKey | undefined>;

  putGrant(grant: KeyGrant): Promise<void>;
  /** Removes a grant; true when one existed. */
  deleteGrant(tenant: string, service: string, principal: string): Promise<boolean>;
  listGrants(tenant: string): Promise<KeyGrant[]>;

  putObjectSecret(record: ObjectSecretRecord): Promise<void>;
  getObjectSecret(tenant: string, service: string, ref: string): Promise<ObjectSecretRecord | undefined>;
  /** Destroys every secret of `objectId` (bytes erased, state `destroyed`); returns how many changed. */
  destroyObjectSecrets(tenant: string, service: string, objectId: string, updatedAt: string): Promise<number>;

  /** Inserts a job (`kms.store.conflict` when the id exists). */
  putJob(job: RewrapJob): Promise<void>;
  getJob(id: string): Promise<RewrapJob | undefined>;
  /** Compare-and-set on `cursor`: advances the job only when its stored cursor is `expectedCursor`. */
  updateJob(
    id: string,
    expectedCursor: string,
    patch: { readonly cursor: string; readonly state: RewrapJob['state']; readonly updatedAt: string },
  ): Promise<RewrapJob | undefined>;
  listJobs(tenant: string): Promise<RewrapJob[]>;
}

// -------------------------------------------------------------------------------------------------
// AeadEngine

/** An engine's opaque handle of an imported AES-256 key. */
export type AeadKey = object;

/**
 * The data-path primitives — AES-256-GCM (16-byte tags) and HKDF-SHA-512 — as a port, so a host can
 * plug its platform's fastest implementation. The default (`webCryptoAead`, aead-web.ts) is WebCrypto
 * plus @noble/hashes and runs everywhere; Node hosts may plug `nodeAead` from
 * `@omt/adapters/kms-local` (node:crypto, synchronous, no thread-pool hop). Engines are
 * interchangeable: the same inputs give the same bytes (checked by `aeadEngineContract`).
 */
export interface AeadEngine {
  readonly name: string;
  /** Imports 32 raw bytes (the caller wipes them afterwards). */
  importKey(raw: Uint8Array): AeadKey | Promise<AeadKey>;
  /** `ciphertext ‖ tag`. */
  seal(
    key: AeadKey,
    iv: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
  ): Uint8Array | Promise<Uint8Array>;
  /** The plaintext; throws (any error) when `sealed` does not authenticate. */
  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * Optional: {@link seal} with the ciphertext and the tag handed back apart (same bytes). An engine
   * whose platform produces them apart (node:crypto) saves joining them — a copy of every frame —
   * since streams emit them as separate chunks anyway.
   */
  sealDetached?(
    key: AeadKey,
    iv: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
  ): readonly [ciphertext: Uint8Array, tag: Uint8Array] | Promise<readonly [Uint8Array, Uint8Array]>;
  /** Optional: {@link open} with the tag apart (same verdicts), so a reader need not join them. */
  openDetached?(
    key: AeadKey,
    iv: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
  ): Uint8Array | Promise<Uint8Array>;
  /**
   * Optional: true when `seal`, `open`, `sealDetached` and `openDetached` also take the 32 raw key
   * bytes in place of an imported key, keeping no reference to them (node:crypto copies them into
   * the cipher context). A caller with a key for one operation (a record's data key) then skips
   * {@link importKey} and wipes the bytes itself right after the call.
   */
  readonly acceptsRawKeys?: boolean;
  /** HKDF-SHA-512 (RFC 5869). */
  hkdfSha512(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** Optional: SHA-256 (the header binding every envelope computes); default @noble/hashes. */
  sha256?(data: Uint8Array): Uint8Array;
}
