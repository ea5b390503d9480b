/**
 * The crypto API (the "muscle"): encrypt and decrypt records and streams under the key pyramid.
 * It decides nothing about keys' lifecycle — that is {@link KmsGovernance} (the "brain"); both are
 * made by {@link createKms} over the same ports and caches.
 *
 * Every call names a `principal`; the tenant's grants (governance) must allow the operation on the
 * (tenant, service), else `kms.policy.denied`. A revoked tenant or a disabled L1 key refuses with
 * `kms.key.revoked`. Denials are written to the audit log before the call returns; allowed data
 * operations are audited in batches (audit-recorder.ts), one entry per operation: `subject`
 * `object:<tenant>/<service>/<objectId>` (names cannot contain `/`), `details.l3` the L3 version.
 */
import type { AuditLog } from '@omt/core/audit-log';
import { concatBytes, toBase64Url } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { z } from 'zod';
import { webCryptoAead } from './aead-web.js';
import { AuditRecorder, type AuditRecorderOptions } from './audit-recorder.js';
import type { KeyCacheLimits } from './cache.js';
import {
  DEFAULT_FRAME_SIZE,
  dataKeyWrapAad,
  deriveEnvelopeKeys,
  type EncryptionContext,
  EncryptionContextSchema,
  EnvelopeCipher,
  type EnvelopeHeader,
  encodeEnvelopeHeader,
  isEncryptionContext,
  MAX_FRAME_SIZE,
  MAX_RECORD_SIZE,
  openEnvelopeBodyNow,
  parseEnvelopeHeader,
  readEnvelopeHeader,
} from './envelope.js';
import {
  ByteReader,
  type ByteSource,
  FrameOpener,
  pullStream,
  readStreamHeader,
  sealedChunks,
} from './envelope-stream.js';
import { KmsGovernance } from './governance.js';
import { KeyHierarchy } from './key-hierarchy.js';
import { unwrapKeyBytes, unwrapKeyBytesNow, wrapKeyBytes, wrapKeyBytesWithNonce } from './key-wrap.js';
import type { AeadEngine, AeadKey, KeyStore, RootKeyProvider } from './ports.js';
import { pooledRandom } from './random-pool.js';
import {
  isObjectId,
  isPrincipal,
  isTenantOrServiceName,
  ObjectIdSchema,
  PrincipalSchema,
  ServiceNameSchema,
  TenantNameSchema,
} from './record-schemas.js';
import { type ActiveServiceKey, type TenantPolicy, Unsealer, type UnsealerStats } from './unsealer.js';

/** Options of {@link createKms}. */
export interface KmsOptions {
  readonly rootKeys: RootKeyProvider;
  readonly keyStore: KeyStore;
  /** The hash-chained audit log (core). Without it nothing is audited — tests only. */
  readonly audit?: AuditLog;
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /** TTL / max-use / size limits of the unsealing caches. */
  readonly cache?: KeyCacheLimits;
  /** How often tenant state and grants are re-read from the store (default 1000 ms). */
  readonly policyRefreshMs?: number;
  /** How often the L1 key state is re-checked with `describe` (default 5000 ms; 0 = never). */
  readonly rootCheckMs?: number;
  /** Batching of audited data operations. */
  readonly auditBatch?: AuditRecorderOptions;
  /** AES-GCM/HKDF implementation of the data path (default `webCryptoAead`). */
  readonly aead?: AeadEngine;
}

/** Options of {@link Kms.encrypt} and {@link Kms.encryptStream}. */
export interface EncryptOptions {
  readonly principal: string;
  readonly tenant: string;
  readonly service: string;
  /** The object's identity; authenticated, and required again (`expect`) when decrypting. */
  readonly objectId: string;
  /** Caller fields authenticated with the data. */
  readonly context?: EncryptionContext;
  /**
   * Also bind the data key to a per-object secret in the KeyStore, so `shredObject` can destroy
   * this one object (costs a store write per encrypt and a read per decrypt).
   */
  readonly shreddable?: boolean;
  /** Streaming only: plaintext bytes per frame (default 1 MiB, at most 4 MiB). */
  readonly frameSize?: number;
}

/** What a decryptor expects of the envelope; any mismatch → `kms.context.mismatch`. */
export interface EnvelopeExpectation {
  readonly tenant?: string;
  readonly service?: string;
  readonly objectId?: string;
  /** Every listed field must be present with this value. */
  readonly context?: EncryptionContext;
}

/** Options of {@link Kms.decrypt} and {@link Kms.decryptStream}. */
export interface DecryptOptions {
  readonly principal: string;
  readonly expect?: EnvelopeExpectation;
}

const encryptSchema = z
  .object({
    principal: PrincipalSchema,
    tenant: TenantNameSchema,
    service: ServiceNameSchema,
    objectId: ObjectIdSchema,
    context: EncryptionContextSchema.optional(),
    shreddable: z.boolean().optional(),
    frameSize: z.number().int().min(1).max(MAX_FRAME_SIZE).optional(),
  })
  .strict();

const decryptSchema = z
  .object({
    principal: PrincipalSchema,
    expect: z
      .object({
        tenant: TenantNameSchema.optional(),
        service: ServiceNameSchema.optional(),
        objectId: ObjectIdSchema.optional(),
        context: EncryptionContextSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

type EncryptArgs = z.output<typeof encryptSchema>;
type DecryptArgs = z.output<typeof decryptSchema>;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * True when every key `for…in` yields is listed: what `.strict()` demands (zod finds unknown keys
 * the same way, so symbol-keyed and non-enumerable properties are ignored by both).
 */
function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

const ENCRYPT_KEYS = new Set([
  'principal',
  'tenant',
  'service',
  'objectId',
  'context',
  'shreddable',
  'frameSize',
]);
const DECRYPT_KEYS = new Set(['principal', 'expect']);
const EXPECT_KEYS = new Set(['tenant', 'service', 'objectId', 'context']);

/**
 * The encrypt options when `encryptSchema` accepts them, checked without zod (it dominated the
 * warm path): each field is read once into a copy and the copy is checked, so a getter or a later
 * mutation cannot change what was validated. Undefined → let the schema say what is wrong.
 */
function encryptArgsFast(v: unknown): EncryptArgs | undefined {
  if (!isPlainObject(v) || !onlyKeys(v, ENCRYPT_KEYS)) return undefined;
  const { principal, tenant, service, objectId, context, shreddable, frameSize } = v;
  const ctx = context === undefined ? undefined : isPlainObject(context) ? { ...context } : null;
  if (
    !isPrincipal(principal) ||
    !isTenantOrServiceName(tenant) ||
    !isTenantOrServiceName(service) ||
    !isObjectId(objectId) ||
    (ctx !== undefined && !isEncryptionContext(ctx)) ||
    (shreddable !== undefined && typeof shreddable !== 'boolean') ||
    (frameSize !== undefined &&
      !(
        typeof frameSize === 'number' &&
        Number.isInteger(frameSize) &&
        frameSize >= 1 &&
        frameSize <= MAX_FRAME_SIZE
      ))
  ) {
    return undefined;
  }
  const out: { -readonly [K in keyof EncryptArgs]: EncryptArgs[K] } = {
    principal,
    tenant,
    service,
    objectId,
  };
  if (ctx !== undefined) out.context = ctx as EncryptionContext;
  if (shreddable !== undefined) out.shreddable = shreddable;
  if (frameSize !== undefined) out.frameSize = frameSize as number;
  return out;
}

/** {@link encryptArgsFast} for decrypt options. */
function decryptArgsFast(v: unknown): DecryptArgs | undefined {
  if (!isPlainObject(v) || !onlyKeys(v, DECRYPT_KEYS)) return undefined;
  const { principal, expect } = v;
  if (!isPrincipal(principal)) return undefined;
  if (expect === undefined) return { principal };
  if (!isPlainObject(expect) || !onlyKeys(expect, EXPECT_KEYS)) return undefined;
  const { tenant, service, objectId, context } = expect;
  const ctx = context === undefined ? undefined : isPlainObject(context) ? { ...context } : null;
  if (
    (tenant !== undefined && !isTenantOrServiceName(tenant)) ||
    (service !== undefined && !isTenantOrServiceName(service)) ||
    (objectId !== undefined && !isObjectId(objectId)) ||
    (ctx !== undefined && !isEncryptionContext(ctx))
  ) {
    return undefined;
  }
  const x: { tenant?: string; service?: string; objectId?: string; context?: EncryptionContext } = {};
  if (tenant !== undefined) x.tenant = tenant;
  if (service !== undefined) x.service = service;
  if (objectId !== undefined) x.objectId = objectId;
  if (ctx !== undefined) x.context = ctx as EncryptionContext;
  return { principal, expect: x };
}

const bytesSchema = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');

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

const subjectOf = (h: EnvelopeHeader): string => `object:${h.tenant}/${h.service}/${h.objectId}`;

const EMPTY = new Uint8Array(0);

/** Whether the tenant's policy lets `principal` perform `op` with the keys of `service`. */
function granted(
  policy: TenantPolicy,
  principal: string,
  service: string,
  op: 'encrypt' | 'decrypt',
): boolean {
  return policy.grants.some(
    (g) =>
      (g.principal === principal || g.principal === '*') &&
      (g.service === service || g.service === '*') &&
      g.operations.includes(op),
  );
}

/** True when `header` matches every field of the expectation (else the slow path words the denial). */
function meetsExpectation(header: EnvelopeHeader, x: EnvelopeExpectation | undefined): boolean {
  if (x === undefined) return true;
  if (x.tenant !== undefined && x.tenant !== header.tenant) return false;
  if (x.service !== undefined && x.service !== header.service) return false;
  if (x.objectId !== undefined && x.objectId !== header.objectId) return false;
  if (x.context !== undefined) {
    for (const k of Object.keys(x.context)) if (header.context[k] !== x.context[k]) return false;
  }
  return true;
}

/** Internal wiring shared by the crypto and governance APIs. */
export interface KmsCore {
  readonly rootKeys: RootKeyProvider;
  readonly keyStore: KeyStore;
  readonly unsealer: Unsealer;
  readonly hierarchy: KeyHierarchy;
  readonly audit: AuditRecorder;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly aead: AeadEngine;
}

/**
 * The crypto API.
 *
 * @example
 * ```ts
 * const { kms, governance } = createKms({ rootKeys, keyStore, audit });
 * await governance.createTenant({ actor: 'ops', tenant: 'acme', services: ['media'],
 *   grants: [{ principal: 'svc:dam', service: 'media', operations: ['encrypt', 'decrypt'] }] });
 * const env = await kms.encrypt(bytes, { principal: 'svc:dam', tenant: 'acme', service: 'media', objectId: 'asset-1' });
 * const back = await kms.decrypt(env, { principal: 'svc:dam', expect: { tenant: 'acme', objectId: 'asset-1' } });
 * ```
 */
export class Kms {
  readonly #c: KmsCore;

  constructor(core: KmsCore) {
    this.#c = core;
  }

  /** Counters: L1 calls, describe calls, store reads (tests and benchmarks). */
  get stats(): Readonly<UnsealerStats> {
    return { ...this.#c.unsealer.stats };
  }

  /** Writes queued audit events now (call before shutdown). */
  flushAudit(): Promise<void> {
    return this.#c.audit.flush();
  }

  async #authorize(
    principal: string,
    tenant: string,
    service: string,
    op: 'encrypt' | 'decrypt',
    subject: string,
  ): Promise<void> {
    let policy: Awaited<ReturnType<Unsealer['tenantPolicy']>>;
    try {
      policy = await this.#c.unsealer.tenantPolicy(tenant);
    } catch (e) {
      await this.#deny(principal, op, subject, tenant, service, e);
      throw e;
    }
    if (!granted(policy, principal, service, op)) {
      const e = new OmtError(
        'kms.policy.denied',
        `${principal} may not ${op} with ${tenant}/${service} keys`,
      );
      await this.#deny(principal, op, subject, tenant, service, e);
      throw e;
    }
  }

  /**
   * True when the tenant's policy is warm (cached, fresh: {@link Unsealer.warmPolicy}) and grants
   * the operation — the warm path's authorization, with no I/O. False leaves the verdict (and its
   * audit entry) to {@link #authorize}.
   */
  #authorizedNow(principal: string, tenant: string, service: string, op: 'encrypt' | 'decrypt'): boolean {
    const policy = this.#c.unsealer.warmPolicy(tenant);
    return policy !== undefined && granted(policy, principal, service, op);
  }

  async #deny(
    principal: string,
    op: string,
    subject: string,
    tenant: string,
    service: string,
    e: unknown,
  ): Promise<void> {
    await this.#c.audit.write({
      actor: principal,
      action: `kms.data.${op}`,
      subject,
      outcome: 'deny',
      details: { tenant, service, code: e instanceof OmtError ? e.code : 'unknown' },
    });
  }

  /** Audits a refused decryption of `header`, then rethrows `e`. */
  async #decryptDenied(principal: string, header: EnvelopeHeader, e: unknown): Promise<never> {
    await this.#deny(principal, 'decrypt', subjectOf(header), header.tenant, header.service, e);
    throw e;
  }

  /**
   * Authorizes, draws and wraps a data key, and returns the cipher of a new envelope. Record mode
   * (`frameSize` 0) gives a one-shot cipher: the caller disposes of it once the record is sealed.
   * Warm (policy and keys cached, a synchronous engine, not shreddable) it answers at once, with
   * no promise; otherwise it returns one.
   */
  #seal(o: EncryptArgs, frameSize: number): EnvelopeCipher | Promise<EnvelopeCipher> {
    if (o.shreddable !== true && this.#authorizedNow(o.principal, o.tenant, o.service, 'encrypt')) {
      const subject = `object:${o.tenant}/${o.service}/${o.objectId}`;
      const active = this.#c.unsealer.activeServiceKeyNow(o.tenant, o.service);
      return active instanceof Promise
        ? active.then((a) => this.#sealUnder(o, frameSize, subject, a))
        : this.#sealUnder(o, frameSize, subject, active);
    }
    return this.#sealSlow(o, frameSize);
  }

  async #sealSlow(o: EncryptArgs, frameSize: number): Promise<EnvelopeCipher> {
    const subject = `object:${o.tenant}/${o.service}/${o.objectId}`;
    await this.#authorize(o.principal, o.tenant, o.service, 'encrypt', subject);
    const active = await this.#c.unsealer.activeServiceKey(o.tenant, o.service);
    if (o.shreddable !== true) return this.#sealUnder(o, frameSize, subject, active);
    const rnd = this.#c.random;
    // The draws in the order of the warm path, then the object secret.
    const draw = rnd(64);
    const nonces = rnd(24);
    const secret = rnd(32);
    const objectRef = toBase64Url(rnd(16));
    const now = this.#c.clock().toISOString();
    try {
      await this.#c.keyStore.putObjectSecret({
        tenant: o.tenant,
        service: o.service,
        objectId: o.objectId,
        ref: objectRef,
        state: 'active',
        secret,
        createdAt: now,
        updatedAt: now,
      });
    } catch (e) {
      draw.fill(0);
      secret.fill(0);
      throw e;
    }
    return this.#sealUnder(o, frameSize, subject, active, { draw, nonces, secret, objectRef });
  }

  /**
   * Draws the data key, message id and nonces (unless a shreddable seal drew them with its object
   * secret), derives, wraps the data key under `active` and makes the cipher; the data key and the
   * object secret (which this takes over) are wiped once wrapped.
   */
  #sealUnder(
    o: EncryptArgs,
    frameSize: number,
    subject: string,
    active: ActiveServiceKey,
    shred?: { draw: Uint8Array; nonces: Uint8Array; secret: Uint8Array; objectRef: string },
  ): EnvelopeCipher | Promise<EnvelopeCipher> {
    const rnd = this.#c.random;
    const aead = this.#c.aead;
    // Two small draws (arrays of ≤ 64 bytes live on the JS heap, larger ones cost a backing store):
    // the data key and message id, then the nonce and the L4 wrap nonce.
    const draw = shred?.draw ?? rnd(64);
    const secret = shred?.secret;
    const objectRef = shred?.objectRef;
    const wipe = (): void => {
      draw.fill(0);
      secret?.fill(0);
    };
    let keys: { key: Uint8Array; commitment: Uint8Array } | undefined;
    let header: { -readonly [K in keyof EnvelopeHeader]: EnvelopeHeader[K] };
    let wrapped: Uint8Array | Promise<Uint8Array>;
    try {
      const dataKey = draw.subarray(0, 32);
      const messageId = draw.slice(32, 64);
      const nonces = shred?.nonces ?? rnd(24);
      keys = deriveEnvelopeKeys(dataKey, messageId, secret, aead);
      header = {
        version: 1,
        suite: 1,
        tenant: o.tenant,
        service: o.service,
        objectId: o.objectId,
        rootKeyId: active.rootKeyId,
        tenantKeyVersion: active.tenantKeyVersion,
        serviceKeyVersion: active.serviceKeyVersion,
        messageId,
        // Set once wrapped (the wrap's AAD covers the other fields that name the object).
        wrappedKey: EMPTY,
        nonce: nonces.slice(0, 12),
        frameSize,
        commitment: keys.commitment,
        context: o.context ?? {},
      };
      if (objectRef !== undefined) header.objectRef = objectRef;
      wrapped = wrapKeyBytesWithNonce(
        active.key,
        dataKey,
        dataKeyWrapAad(header),
        nonces.subarray(12, 24),
        aead,
      );
    } catch (e) {
      keys?.key.fill(0);
      wipe();
      throw e;
    }
    const k = keys;
    const h = header;
    if (!(wrapped instanceof Promise)) {
      wipe();
      h.wrappedKey = wrapped;
      return this.#cipherFor(o, subject, h, k);
    }
    return wrapped.then(
      (w) => {
        wipe();
        h.wrappedKey = w;
        return this.#cipherFor(o, subject, h, k);
      },
      (e: unknown) => {
        k.key.fill(0);
        wipe();
        throw e;
      },
    );
  }

  /** The cipher of a sealed header (one-shot for a record), its use noted in the audit log. */
  #cipherFor(
    o: EncryptArgs,
    subject: string,
    header: EnvelopeHeader,
    keys: { key: Uint8Array; commitment: Uint8Array },
  ): EnvelopeCipher | Promise<EnvelopeCipher> {
    const aead = this.#c.aead;
    const note = (cipher: EnvelopeCipher): EnvelopeCipher => {
      try {
        this.#c.audit.note({
          actor: o.principal,
          action: 'kms.data.encrypt',
          subject,
          outcome: 'allow',
          details: { l3: header.serviceKeyVersion },
        });
      } catch (e) {
        cipher.dispose();
        throw e;
      }
      return cipher;
    };
    const c =
      header.frameSize === 0
        ? EnvelopeCipher.createOneShot(header, keys, aead)
        : EnvelopeCipher.create(header, keys, aead);
    return c instanceof Promise ? c.then(note) : note(c);
  }

  /**
   * Checks the expectation, authorizes, unwraps the data key and returns the envelope's cipher; for
   * a record (`oneShot`) a one-shot cipher the caller disposes of. Warm (as {@link #seal}) it answers
   * at once; every refusal is audited before it is thrown.
   */
  #open(header: EnvelopeHeader, o: DecryptArgs, oneShot = false): EnvelopeCipher | Promise<EnvelopeCipher> {
    if (
      header.objectRef === undefined &&
      meetsExpectation(header, o.expect) &&
      this.#authorizedNow(o.principal, header.tenant, header.service, 'decrypt')
    ) {
      try {
        const l3 = this.#c.unsealer.serviceKeyNow(header.tenant, header.service, header.serviceKeyVersion);
        const c =
          l3 instanceof Promise
            ? l3.then((k) => this.#openUnder(header, k, oneShot))
            : this.#openUnder(header, l3, oneShot);
        return c instanceof Promise
          ? c.catch((e: unknown) => this.#decryptDenied(o.principal, header, e))
          : c;
      } catch (e) {
        return this.#decryptDenied(o.principal, header, e);
      }
    }
    return this.#openSlow(header, o, oneShot);
  }

  async #openSlow(header: EnvelopeHeader, o: DecryptArgs, oneShot: boolean): Promise<EnvelopeCipher> {
    const subject = subjectOf(header);
    const x = o.expect;
    if (x !== undefined) {
      const bad: string[] = [];
      if (x.tenant !== undefined && x.tenant !== header.tenant) bad.push('tenant');
      if (x.service !== undefined && x.service !== header.service) bad.push('service');
      if (x.objectId !== undefined && x.objectId !== header.objectId) bad.push('objectId');
      for (const [k, v] of Object.entries(x.context ?? {}))
        if (header.context[k] !== v) bad.push(`context.${k}`);
      if (bad.length > 0) {
        const e = new OmtError(
          'kms.context.mismatch',
          `envelope does not match the expected ${bad.join(', ')}`,
        );
        await this.#deny(o.principal, 'decrypt', subject, header.tenant, header.service, e);
        throw e;
      }
    }
    await this.#authorize(o.principal, header.tenant, header.service, 'decrypt', subject);
    try {
      const l3 = await this.#c.unsealer.serviceKey(header.tenant, header.service, header.serviceKeyVersion);
      const dataKey = await unwrapKeyBytesNow(l3, header.wrappedKey, dataKeyWrapAad(header), this.#c.aead);
      let secret: Uint8Array | undefined;
      try {
        if (header.objectRef !== undefined) {
          const rec = await this.#c.keyStore.getObjectSecret(header.tenant, header.service, header.objectRef);
          if (rec === undefined || rec.state !== 'active' || rec.objectId !== header.objectId) {
            rec?.secret.fill(0);
            throw new OmtError('kms.object.shredded', `object ${header.objectId} was crypto-shredded`);
          }
          secret = rec.secret;
        }
      } catch (e) {
        dataKey.fill(0);
        throw e;
      }
      return await this.#cipherOf(header, dataKey, oneShot, secret);
    } catch (e) {
      await this.#deny(o.principal, 'decrypt', subject, header.tenant, header.service, e);
      throw e;
    }
  }

  /** Unwraps the data key of `header` under its L3 `l3` and makes the cipher. */
  #openUnder(
    header: EnvelopeHeader,
    l3: AeadKey,
    oneShot: boolean,
  ): EnvelopeCipher | Promise<EnvelopeCipher> {
    const dataKey = unwrapKeyBytesNow(l3, header.wrappedKey, dataKeyWrapAad(header), this.#c.aead);
    return dataKey instanceof Promise
      ? dataKey.then((d) => this.#cipherOf(header, d, oneShot))
      : this.#cipherOf(header, dataKey, oneShot);
  }

  /** Derives the keys from the unwrapped data key (and object secret), wipes both, makes the cipher. */
  #cipherOf(
    header: EnvelopeHeader,
    dataKey: Uint8Array,
    oneShot: boolean,
    secret?: Uint8Array,
  ): EnvelopeCipher | Promise<EnvelopeCipher> {
    let keys: { key: Uint8Array; commitment: Uint8Array };
    try {
      keys = deriveEnvelopeKeys(dataKey, header.messageId, secret, this.#c.aead);
    } finally {
      dataKey.fill(0);
      secret?.fill(0);
    }
    return oneShot
      ? EnvelopeCipher.createOneShot(header, keys, this.#c.aead)
      : EnvelopeCipher.create(header, keys, this.#c.aead);
  }

  /**
   * Encrypts a record in one call: returns the whole envelope.
   */
  async encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<Uint8Array> {
    if (!(plaintext instanceof Uint8Array)) parse(bytesSchema, plaintext, 'plaintext');
    if (plaintext.length > MAX_RECORD_SIZE)
      throw new OmtError('kms.input.invalid', 'record too large; stream it');
    const o = encryptArgsFast(options) ?? parse(encryptSchema, options, 'encrypt options');
    const c = this.#seal(o, 0);
    const cipher = c instanceof Promise ? await c : c;
    try {
      const sealed = cipher.sealRecordNow(plaintext);
      return sealed instanceof Promise ? await sealed : sealed;
    } finally {
      cipher.dispose();
    }
  }

  /**
   * Decrypts a record (or any in-memory envelope). Nothing is returned unless every check passed.
   */
  async decrypt(envelope: Uint8Array, options: DecryptOptions): Promise<Uint8Array> {
    if (!(envelope instanceof Uint8Array)) parse(bytesSchema, envelope, 'envelope');
    const o = decryptArgsFast(options) ?? parse(decryptSchema, options, 'decrypt options');
    const { header, headerLength } = readEnvelopeHeader(envelope);
    const c = this.#open(header, o, true);
    const cipher = c instanceof Promise ? await c : c;
    try {
      let plain: Uint8Array;
      try {
        const p = openEnvelopeBodyNow(cipher, envelope.subarray(headerLength));
        plain = p instanceof Promise ? await p : p;
      } finally {
        cipher.dispose();
      }
      this.#c.audit.note({
        actor: o.principal,
        action: 'kms.data.decrypt',
        subject: `object:${header.tenant}/${header.service}/${header.objectId}`,
        outcome: 'allow',
        details: { l3: header.serviceKeyVersion },
      });
      return plain;
    } catch (e) {
      await this.#deny(
        o.principal,
        'decrypt',
        `object:${header.tenant}/${header.service}/${header.objectId}`,
        header.tenant,
        header.service,
        e,
      );
      throw e;
    }
  }

  /**
   * Encrypts a stream: header first, then frames; memory bounded by one frame.
   *
   * @example
   * ```ts
   * const out = kms.encryptStream(file.stream(), { principal, tenant: 'acme', service: 'media', objectId: 'v1' });
   * ```
   */
  encryptStream(source: ByteSource, options: EncryptOptions): ReadableStream<Uint8Array> {
    let frames: ReturnType<typeof sealedChunks> | undefined;
    let cancelled = false;
    return pullStream(
      async () => {
        if (frames !== undefined) return frames.pull();
        const o = encryptArgsFast(options) ?? parse(encryptSchema, options, 'encrypt options');
        const cipher = await this.#seal(o, o.frameSize ?? DEFAULT_FRAME_SIZE);
        frames = sealedChunks(cipher, source);
        if (cancelled) await frames.cancel();
        return [encodeEnvelopeHeader(cipher.header)];
      },
      async () => {
        cancelled = true;
        await frames?.cancel();
      },
    );
  }

  /** Decrypts a stream (record or framed envelope); each frame is released once authenticated. */
  decryptStream(source: ByteSource, options: DecryptOptions): ReadableStream<Uint8Array> {
    let opener: FrameOpener | undefined;
    let reader: ByteReader | undefined;
    let principal = '';
    let header: EnvelopeHeader | undefined;
    const open = async (): Promise<FrameOpener> => {
      const o = decryptArgsFast(options) ?? parse(decryptSchema, options, 'decrypt options');
      principal = o.principal;
      reader = new ByteReader(source);
      const h = (await readStreamHeader(reader)).header;
      const cipher = await this.#open(h, o);
      header = h;
      return new FrameOpener(cipher, reader);
    };
    return pullStream(
      async () => {
        opener ??= await open();
        const h = header as EnvelopeHeader;
        let plain: Uint8Array | undefined;
        try {
          plain = await opener.next();
        } catch (e) {
          await this.#deny(principal, 'decrypt', subjectOf(h), h.tenant, h.service, e);
          throw e;
        }
        if (plain !== undefined) return [plain];
        this.#c.audit.note({
          actor: principal,
          action: 'kms.data.decrypt',
          subject: subjectOf(h),
          outcome: 'allow',
          details: { l3: h.serviceKeyVersion, stream: true },
        });
        return undefined;
      },
      async () => {
        await reader?.cancel();
      },
    );
  }

  /**
   * Re-wraps an envelope's L4 under the active L3 of its service (after `rotateService`) without
   * touching the data: returns the new header bytes. The frames after the old header stay valid
   * behind the new one (they authenticate only key-independent header fields).
   */
  async rewrapEnvelopeHeader(
    envelopeOrHeader: Uint8Array,
    options: { principal: string },
  ): Promise<Uint8Array> {
    parse(bytesSchema, envelopeOrHeader, 'envelope');
    const principal = parse(PrincipalSchema, options?.principal, 'principal');
    const { header } = parseEnvelopeHeader(envelopeOrHeader);
    const subject = `object:${header.tenant}/${header.service}/${header.objectId}`;
    await this.#authorize(principal, header.tenant, header.service, 'decrypt', subject);
    await this.#authorize(principal, header.tenant, header.service, 'encrypt', subject);
    const old = await this.#c.unsealer.serviceKey(header.tenant, header.service, header.serviceKeyVersion);
    const dataKey = await unwrapKeyBytes(old, header.wrappedKey, dataKeyWrapAad(header), this.#c.aead);
    try {
      const active = await this.#c.unsealer.activeServiceKey(header.tenant, header.service);
      const base = {
        ...header,
        rootKeyId: active.rootKeyId,
        tenantKeyVersion: active.tenantKeyVersion,
        serviceKeyVersion: active.serviceKeyVersion,
      };
      const wrappedKey = await wrapKeyBytes(
        active.key,
        dataKey,
        dataKeyWrapAad(base),
        this.#c.random,
        this.#c.aead,
      );
      await this.#c.audit.write({
        actor: principal,
        action: 'kms.data.rewrap',
        subject,
        outcome: 'success',
        details: { from: header.serviceKeyVersion, to: active.serviceKeyVersion },
      });
      return encodeEnvelopeHeader({ ...base, wrappedKey });
    } finally {
      dataKey.fill(0);
    }
  }

  /** Re-wraps a whole in-memory envelope (see {@link rewrapEnvelopeHeader}). */
  async rewrapEnvelope(envelope: Uint8Array, options: { principal: string }): Promise<Uint8Array> {
    parse(bytesSchema, envelope, 'envelope');
    const { headerBytes } = parseEnvelopeHeader(envelope);
    const head = await this.rewrapEnvelopeHeader(envelope, options);
    return concatBytes(head, envelope.subarray(headerBytes.length));
  }

  /**
   * Unwraps an envelope's data key for sharing (recipient.ts): returns the HKDF input the
   * recipient needs. Audited; requires a decrypt grant.
   * @internal used by {@link shareEnvelope}
   */
  async exportDataKeyForSharing(
    envelope: Uint8Array,
    options: { principal: string; recipientId: string },
  ): Promise<{ header: EnvelopeHeader; ikm: Uint8Array }> {
    parse(bytesSchema, envelope, 'envelope');
    const principal = parse(PrincipalSchema, options?.principal, 'principal');
    const recipientId = parse(PrincipalSchema, options?.recipientId, 'recipient id');
    const { header } = parseEnvelopeHeader(envelope);
    const subject = `object:${header.tenant}/${header.service}/${header.objectId}`;
    await this.#authorize(principal, header.tenant, header.service, 'decrypt', subject);
    const l3 = await this.#c.unsealer.serviceKey(header.tenant, header.service, header.serviceKeyVersion);
    const dataKey = await unwrapKeyBytes(l3, header.wrappedKey, dataKeyWrapAad(header), this.#c.aead);
    let ikm = dataKey;
    if (header.objectRef !== undefined) {
      const rec = await this.#c.keyStore.getObjectSecret(header.tenant, header.service, header.objectRef);
      if (rec === undefined || rec.state !== 'active') {
        dataKey.fill(0);
        throw new OmtError('kms.object.shredded', `object ${header.objectId} was crypto-shredded`);
      }
      ikm = concatBytes(dataKey, rec.secret);
      dataKey.fill(0);
      rec.secret.fill(0);
    }
    // The commitment proves the right key is being shared.
    const keys = deriveEnvelopeKeys(ikm, header.messageId);
    keys.key.fill(0);
    await this.#c.audit.write({
      actor: principal,
      action: 'kms.data.share',
      subject,
      outcome: 'success',
      details: { recipient: recipientId },
    });
    return { header, ikm };
  }
}

/** The two faces of one KMS instance. */
export interface KmsInstance {
  /** Crypto API (encrypt/decrypt). */
  readonly kms: Kms;
  /** Governance API (tenants, keys, grants, kill switch, rotation, shredding). */
  readonly governance: KmsGovernance;
}

/**
 * Wires a KMS over a root key provider (L1) and a key store.
 *
 * @example
 * ```ts
 * const { kms, governance } = createKms({
 *   rootKeys: new MemoryRootKeyProvider(), keyStore: new MemoryKeyStore(),
 *   audit: new AuditLog(new MemoryAuditLogStore(), { log: 'kms' }),
 * });
 * ```
 */
export function createKms(options: KmsOptions): KmsInstance {
  if (typeof options !== 'object' || options === null)
    throw new OmtError('kms.input.invalid', 'options required');
  const { rootKeys, keyStore } = options;
  if (typeof rootKeys?.unwrap !== 'function')
    throw new OmtError('kms.input.invalid', 'rootKeys must be a RootKeyProvider');
  if (typeof keyStore?.getKey !== 'function')
    throw new OmtError('kms.input.invalid', 'keyStore must be a KeyStore');
  const clock = options.clock ?? systemClock;
  const random = options.random ?? pooledRandom(platformRandom);
  const audit = new AuditRecorder(options.audit, options.auditBatch);
  const aead = options.aead ?? webCryptoAead;
  const unsealer = new Unsealer({
    aead,
    rootKeys,
    keyStore,
    audit,
    clock,
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...(options.policyRefreshMs === undefined ? {} : { policyRefreshMs: options.policyRefreshMs }),
    ...(options.rootCheckMs === undefined ? {} : { rootCheckMs: options.rootCheckMs }),
  });
  const hierarchy = new KeyHierarchy({ keyStore, unsealer, clock, random, aead });
  const core: KmsCore = { rootKeys, keyStore, unsealer, hierarchy, audit, clock, random, aead };
  return { kms: new Kms(core), governance: new KmsGovernance(core) };
}
