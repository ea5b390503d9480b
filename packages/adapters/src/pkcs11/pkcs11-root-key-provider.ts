/**
 * `RootKeyProvider` over a PKCS#11 token: L1 is an AES-256 secret key generated inside the token,
 * `CKA_SENSITIVE` true and `CKA_EXTRACTABLE` false, so its value never leaves the token; wrapping
 * and unwrapping are C_Encrypt / C_Decrypt calls the token performs.
 *
 * Mechanism choice: CKM_AES_GCM (PKCS#11 v2.40 §2.10.6, NIST SP 800-38D) with the caller's aad as
 * GCM additional data. GCM authenticates the context in one token call, and its blob layout is the
 * one the software providers use (`0x01 ‖ nonce(12) ‖ ciphertext ‖ tag(16)`). The alternative,
 * CKM_AES_KEY_WRAP_PAD (RFC 5649), binds no context, would need a second keyed step (a MAC over
 * the aad) for the binding, and in C_WrapKey form only wraps key *objects* — while an L2 arrives
 * here as bytes. SoftHSM2 2.6 offers CKM_AES_GCM for encrypt/decrypt (not for C_WrapKey), which is
 * all this needs; the key carries CKA_ENCRYPT/CKA_DECRYPT true and CKA_WRAP/CKA_UNWRAP false.
 * Nonces are 96-bit random (SP 800-38D §8.2.2): an L1 wraps only L2 versions, far below 2³².
 *
 * Kill switch: PKCS#11 has no "disabled" key state, so `disable` sets CKA_ENCRYPT and CKA_DECRYPT
 * to false with C_SetAttributeValue; the token itself then refuses C_EncryptInit / C_DecryptInit
 * with CKR_KEY_FUNCTION_NOT_PERMITTED (verified against SoftHSM2), in every process that uses it.
 * `enable` sets them back. `destroy` is C_DestroyObject.
 *
 * Key ids: `keyId` is the key's CKA_ID (its UTF-8 bytes); CKA_LABEL is the optional label. Each
 * key has a companion private data object (CKO_DATA, CKA_APPLICATION {@link PKCS11_METADATA_APPLICATION},
 * CKA_LABEL = keyId) holding `{ v, keyId, createdAt, label }` as JSON, since PKCS#11 records no
 * creation time; it outlives the key, which is how a destroyed key is told apart from one that
 * never existed. A key provisioned by other tools (e.g. `pkcs11-tool --keygen --key-type AES:32
 * --id <hex of the key id>`) works too; without a metadata object its `createdAt` reads as the epoch.
 */
import { endianness } from 'node:os';
import { fromUtf8, toHex, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import type { CreateRootKeyOptions, RootKeyDescription, RootKeyProvider } from '@omt/kms/ports';
import {
  AadSchema,
  PlaintextKeySchema,
  parseKmsInput,
  RootKeyIdSchema,
  WrappedBlobSchema,
} from '@omt/kms/record-schemas';
import { z } from 'zod';
import {
  openPkcs11Token,
  type Pkcs11Handle,
  type Pkcs11Mechanism,
  type Pkcs11Session,
  type Pkcs11Token,
  type Pkcs11TokenOptions,
} from './pkcs11-session.js';

/** CKA_APPLICATION of the metadata data objects. */
export const PKCS11_METADATA_APPLICATION = 'org.openmediatrust.kms.root-key';

const BLOB_FORMAT = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Domain separation of the GCM additional data, so a blob made by another user of the same key for another purpose never unwraps here. */
const AAD_DOMAIN = /* @__PURE__ */ utf8('omt/pkcs11-l1-wrap/v1');
const EPOCH = '1970-01-01T00:00:00.000Z';

const CreateSchema = z
  .object({ keyId: RootKeyIdSchema.optional(), label: z.string().max(256).optional() })
  .strict()
  .optional();

const MetadataSchema = z.object({
  v: z.literal(1),
  keyId: z.string(),
  createdAt: z.string(),
  label: z.string().optional(),
});
type Metadata = z.output<typeof MetadataSchema>;

/** Options of {@link Pkcs11RootKeyProvider}. */
export interface Pkcs11RootKeyProviderOptions {
  /** Nonces and generated key ids; default the platform CSPRNG. */
  readonly random?: RandomSource;
  /** `createdAt` of new keys; default the system clock. */
  readonly clock?: Clock;
  /** Close the token when the provider is closed (default true for {@link openPkcs11RootKeyProvider}, false otherwise). */
  readonly closeToken?: boolean;
}

interface FoundKey {
  readonly handle: Pkcs11Handle | undefined;
  readonly metadata: Metadata | undefined;
}

/**
 * @example
 * ```ts
 * const l1 = await openPkcs11RootKeyProvider({
 *   modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'omt', pinEnv: 'OMT_PKCS11_PIN',
 * });
 * const { keyId } = await l1.createKey({ label: 'tenant roots' });
 * const blob = await l1.wrap(keyId, l2Bytes, aad);
 * await l1.close();
 * ```
 */
export class Pkcs11RootKeyProvider implements RootKeyProvider {
  readonly kind: string = 'pkcs11';
  readonly token: Pkcs11Token;
  readonly #random: RandomSource;
  readonly #clock: Clock;
  readonly #closeToken: boolean;

  constructor(token: Pkcs11Token, options: Pkcs11RootKeyProviderOptions = {}) {
    this.token = token;
    this.#random = options.random ?? platformRandom;
    this.#clock = options.clock ?? systemClock;
    this.#closeToken = options.closeToken ?? false;
  }

  async createKey(options?: CreateRootKeyOptions): Promise<RootKeyDescription> {
    const o = parseKmsInput(CreateSchema, options, 'createKey options');
    const keyId = o?.keyId ?? `pkcs11-${toHex(this.#random(10))}`;
    const metadata: Metadata = {
      v: 1,
      keyId,
      createdAt: this.#clock().toISOString(),
      ...(o?.label === undefined ? {} : { label: o.label }),
    };
    return this.token.withSession(async (s) => {
      const before = this.#find(s, keyId);
      if (before.handle !== undefined || before.metadata !== undefined) {
        throw new OmtError('kms.key.exists', `root key ${keyId} exists in the token`);
      }
      const ck = s.ck;
      const handle = await s.generateKey({ mechanism: ck.CKM_AES_KEY_GEN }, [
        { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
        { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
        { type: ck.CKA_VALUE_LEN, value: 32 },
        { type: ck.CKA_TOKEN, value: true },
        { type: ck.CKA_PRIVATE, value: true },
        { type: ck.CKA_SENSITIVE, value: true },
        { type: ck.CKA_EXTRACTABLE, value: false },
        { type: ck.CKA_ENCRYPT, value: true },
        { type: ck.CKA_DECRYPT, value: true },
        { type: ck.CKA_WRAP, value: false },
        { type: ck.CKA_UNWRAP, value: false },
        { type: ck.CKA_SIGN, value: false },
        { type: ck.CKA_VERIFY, value: false },
        { type: ck.CKA_DERIVE, value: false },
        // Must stay modifiable: disable/enable flip CKA_ENCRYPT/CKA_DECRYPT.
        { type: ck.CKA_MODIFIABLE, value: true },
        { type: ck.CKA_ID, value: Buffer.from(utf8(keyId)) },
        { type: ck.CKA_LABEL, value: o?.label ?? keyId },
      ]);
      // Another process may have created the same id between the check and the generation.
      if (this.#findKeys(s, keyId).length > 1) {
        s.destroyObject(handle);
        throw new OmtError('kms.key.exists', `root key ${keyId} exists in the token`);
      }
      try {
        s.createObject([
          { type: ck.CKA_CLASS, value: ck.CKO_DATA },
          { type: ck.CKA_TOKEN, value: true },
          { type: ck.CKA_PRIVATE, value: true },
          { type: ck.CKA_MODIFIABLE, value: true },
          { type: ck.CKA_APPLICATION, value: PKCS11_METADATA_APPLICATION },
          { type: ck.CKA_LABEL, value: keyId },
          { type: ck.CKA_VALUE, value: Buffer.from(utf8(JSON.stringify(metadata))) },
        ]);
      } catch (e) {
        s.destroyObject(handle);
        throw e;
      }
      return this.#describeFound(s, keyId, { handle, metadata });
    });
  }

  async describe(keyId: string): Promise<RootKeyDescription> {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    return this.token.withSession((s) => this.#describeFound(s, keyId, this.#find(s, keyId)));
  }

  async listKeys(): Promise<RootKeyDescription[]> {
    return this.token.withSession((s) => {
      const ck = s.ck;
      const ids = new Set<string>();
      for (const h of s.findObjects([
        { type: ck.CKA_CLASS, value: ck.CKO_DATA },
        { type: ck.CKA_APPLICATION, value: PKCS11_METADATA_APPLICATION },
      ])) {
        const label = s.getAttributes(h, [ck.CKA_LABEL]).get(ck.CKA_LABEL);
        if (label !== undefined) ids.add(label.toString('utf8'));
      }
      for (const h of s.findObjects([
        { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
        { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
      ])) {
        const id = s.getAttributes(h, [ck.CKA_ID]).get(ck.CKA_ID);
        if (id !== undefined) ids.add(id.toString('utf8'));
      }
      const out: RootKeyDescription[] = [];
      for (const keyId of [...ids].sort()) {
        // Keys of other applications whose CKA_ID is not a key id of ours are left out.
        if (!RootKeyIdSchema.safeParse(keyId).success) continue;
        out.push(this.#describeFound(s, keyId, this.#find(s, keyId)));
      }
      return out;
    });
  }

  async wrap(keyId: string, plaintextKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    return this.token.withSession(async (s) => {
      const handle = this.#usableKey(s, keyId);
      parseKmsInput(PlaintextKeySchema, plaintextKey, 'plaintext key');
      parseKmsInput(AadSchema, aad, 'aad');
      const nonce = this.#random(NONCE_BYTES);
      let sealed: Uint8Array;
      try {
        sealed = await s.encrypt(
          gcm(s, nonce, wrapAad(keyId, aad)),
          handle,
          plaintextKey,
          plaintextKey.length + 2 * TAG_BYTES,
        );
      } catch (e) {
        throw mapKeyUseError(e, keyId);
      }
      const blob = new Uint8Array(1 + NONCE_BYTES + sealed.length);
      blob[0] = BLOB_FORMAT;
      blob.set(nonce, 1);
      blob.set(sealed, 1 + NONCE_BYTES);
      return blob;
    });
  }

  async unwrap(keyId: string, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    return this.token.withSession(async (s) => {
      const handle = this.#usableKey(s, keyId);
      parseKmsInput(WrappedBlobSchema, wrapped, 'wrapped key');
      parseKmsInput(AadSchema, aad, 'aad');
      const sealedLength = wrapped.length - 1 - NONCE_BYTES;
      if (wrapped[0] !== BLOB_FORMAT || sealedLength < TAG_BYTES + 16 || sealedLength > TAG_BYTES + 64) {
        throw new OmtError('kms.unwrap.failed', 'wrapped key is malformed');
      }
      const nonce = wrapped.subarray(1, 1 + NONCE_BYTES);
      try {
        return await s.decrypt(
          gcm(s, nonce, wrapAad(keyId, aad)),
          handle,
          wrapped.subarray(1 + NONCE_BYTES),
          sealedLength,
        );
      } catch (e) {
        throw mapKeyUseError(e, keyId);
      }
    });
  }

  async disable(keyId: string): Promise<void> {
    await this.#setUsable(keyId, false);
  }

  async enable(keyId: string): Promise<void> {
    await this.#setUsable(keyId, true);
  }

  async destroy(keyId: string): Promise<void> {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    await this.token.withSession((s) => {
      const found = this.#find(s, keyId);
      if (found.handle === undefined) {
        if (found.metadata !== undefined) return; // already destroyed
        throw notFound(keyId);
      }
      // The metadata object is what remembers the key as destroyed, so a key provisioned
      // elsewhere gets one before its material goes.
      if (found.metadata === undefined) {
        const ck = s.ck;
        const metadata: Metadata = { v: 1, keyId, createdAt: EPOCH };
        s.createObject([
          { type: ck.CKA_CLASS, value: ck.CKO_DATA },
          { type: ck.CKA_TOKEN, value: true },
          { type: ck.CKA_PRIVATE, value: true },
          { type: ck.CKA_APPLICATION, value: PKCS11_METADATA_APPLICATION },
          { type: ck.CKA_LABEL, value: keyId },
          { type: ck.CKA_VALUE, value: Buffer.from(utf8(JSON.stringify(metadata))) },
        ]);
      }
      s.destroyObject(found.handle);
    });
  }

  /** Closes the token when this provider owns it. */
  async close(): Promise<void> {
    if (this.#closeToken) await this.token.close();
  }

  async #setUsable(keyId: string, usable: boolean): Promise<void> {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    await this.token.withSession((s) => {
      const found = this.#find(s, keyId);
      if (found.handle === undefined) throw found.metadata === undefined ? notFound(keyId) : destroyed(keyId);
      const ck = s.ck;
      s.setAttributes(found.handle, [
        { type: ck.CKA_ENCRYPT, value: usable },
        { type: ck.CKA_DECRYPT, value: usable },
      ]);
      // A token that accepted the change but kept the old value would leave the kill switch open.
      const got = readUsable(s, found.handle);
      if (got.encrypt !== usable || got.decrypt !== usable) {
        throw new OmtError(
          'adapters.pkcs11.attribute-read-only',
          `the token did not apply CKA_ENCRYPT/CKA_DECRYPT=${usable} to root key ${keyId}`,
        );
      }
    });
  }

  /** The key's handle, or `kms.key.destroyed` / `kms.key.not-found`. Disabled keys are refused by the token itself. */
  #usableKey(s: Pkcs11Session, keyId: string): Pkcs11Handle {
    const handles = this.#findKeys(s, keyId);
    const handle = single(handles, keyId);
    if (handle !== undefined) return handle;
    throw this.#findMetadata(s, keyId).metadata === undefined ? notFound(keyId) : destroyed(keyId);
  }

  #findKeys(s: Pkcs11Session, keyId: string): Pkcs11Handle[] {
    const ck = s.ck;
    return s.findObjects(
      [
        { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
        { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
        { type: ck.CKA_ID, value: Buffer.from(utf8(keyId)) },
      ],
      2,
    );
  }

  #findMetadata(s: Pkcs11Session, keyId: string): { metadata: Metadata | undefined } {
    const ck = s.ck;
    const [handle] = s.findObjects(
      [
        { type: ck.CKA_CLASS, value: ck.CKO_DATA },
        { type: ck.CKA_APPLICATION, value: PKCS11_METADATA_APPLICATION },
        { type: ck.CKA_LABEL, value: keyId },
      ],
      1,
    );
    if (handle === undefined) return { metadata: undefined };
    const value = s.getAttributes(handle, [ck.CKA_VALUE]).get(ck.CKA_VALUE);
    let metadata: Metadata = { v: 1, keyId, createdAt: EPOCH };
    if (value !== undefined) {
      try {
        const parsed = MetadataSchema.safeParse(JSON.parse(fromUtf8(new Uint8Array(value))));
        if (parsed.success && parsed.data.keyId === keyId) metadata = parsed.data;
      } catch {
        // Unreadable metadata still marks the id as known; only its createdAt/label are lost.
      }
    }
    return { metadata };
  }

  #find(s: Pkcs11Session, keyId: string): FoundKey {
    const handle = single(this.#findKeys(s, keyId), keyId);
    return { handle, metadata: this.#findMetadata(s, keyId).metadata };
  }

  #describeFound(s: Pkcs11Session, keyId: string, found: FoundKey): RootKeyDescription {
    if (found.handle === undefined && found.metadata === undefined) throw notFound(keyId);
    const base = {
      keyId,
      version: 1,
      createdAt: found.metadata?.createdAt ?? EPOCH,
      provider: this.kind,
      ...(found.metadata?.label === undefined ? {} : { label: found.metadata.label }),
    };
    if (found.handle === undefined) return { ...base, state: 'destroyed', algorithm: 'AES-256-GCM' };
    const ck = s.ck;
    const { encrypt, decrypt } = readUsable(s, found.handle);
    const len = s.getAttributes(found.handle, [ck.CKA_VALUE_LEN]).get(ck.CKA_VALUE_LEN);
    const bits = len === undefined ? 256 : readUlong(len) * 8;
    return { ...base, state: encrypt && decrypt ? 'enabled' : 'disabled', algorithm: `AES-${bits}-GCM` };
  }
}

/**
 * Opens the token ({@link openPkcs11Token}) and a provider over it; `close()` closes both.
 *
 * @example
 * ```ts
 * const l1 = await openPkcs11RootKeyProvider({
 *   modulePath: '/usr/lib/softhsm/libsofthsm2.so', slot: 0, pinEnv: 'OMT_PKCS11_PIN',
 * });
 * ```
 */
export async function openPkcs11RootKeyProvider(
  options: Pkcs11TokenOptions & Omit<Pkcs11RootKeyProviderOptions, 'closeToken'>,
): Promise<Pkcs11RootKeyProvider> {
  const { random, clock, ...tokenOptions } = options;
  const token = await openPkcs11Token(tokenOptions);
  return new Pkcs11RootKeyProvider(token, {
    closeToken: true,
    ...(random === undefined ? {} : { random }),
    ...(clock === undefined ? {} : { clock }),
  });
}

function gcm(s: Pkcs11Session, nonce: Uint8Array, aad: Uint8Array): Pkcs11Mechanism {
  // The v2.40 CK_GCM_PARAMS (with ulIvBits) is the layout SoftHSM2 and current HSMs expect.
  return {
    mechanism: s.ck.CKM_AES_GCM,
    parameter: {
      type: s.ck.CK_PARAMS_AES_GCM_v240,
      iv: Buffer.from(nonce),
      ivBits: NONCE_BYTES * 8,
      aad: Buffer.from(aad),
      tagBits: TAG_BYTES * 8,
    } as Pkcs11Mechanism['parameter'],
  };
}

/** GCM additional data: domain ‖ u16 length of the key id ‖ key id ‖ caller aad (length-prefixed, so no two pairs collide). */
function wrapAad(keyId: string, aad: Uint8Array): Uint8Array {
  const id = utf8(keyId);
  const out = new Uint8Array(AAD_DOMAIN.length + 2 + id.length + aad.length);
  out.set(AAD_DOMAIN, 0);
  let o = AAD_DOMAIN.length;
  out[o++] = id.length >> 8;
  out[o++] = id.length & 0xff;
  out.set(id, o);
  out.set(aad, o + id.length);
  return out;
}

/** The token's answers to a key use, in the port's terms. */
function mapKeyUseError(e: unknown, keyId: string): unknown {
  if (!(e instanceof OmtError)) return e;
  const fn = e.details?.fn;
  switch (e.code) {
    case 'adapters.pkcs11.key-disabled':
      return new OmtError('kms.key.revoked', `root key ${keyId} is disabled in the token`, { cause: e });
    case 'adapters.pkcs11.key-not-found':
      return new OmtError('kms.key.not-found', `root key ${keyId} is no longer in the token`, { cause: e });
    case 'adapters.pkcs11.decrypt-failed':
    case 'adapters.pkcs11.data-invalid':
      return new OmtError(
        'kms.unwrap.failed',
        'wrapped key does not authenticate under this key and context',
        {
          cause: e,
        },
      );
    case 'adapters.pkcs11.failed':
      // SoftHSM2 reports a GCM tag mismatch in C_Decrypt as CKR_GENERAL_ERROR rather than
      // CKR_ENCRYPTED_DATA_INVALID.
      if (fn === 'C_Decrypt' && e.details?.ckr === 'CKR_GENERAL_ERROR') {
        return new OmtError(
          'kms.unwrap.failed',
          'wrapped key does not authenticate under this key and context',
          {
            cause: e,
          },
        );
      }
      return e;
    default:
      return e;
  }
}

function readUsable(s: Pkcs11Session, handle: Pkcs11Handle): { encrypt: boolean; decrypt: boolean } {
  const ck = s.ck;
  const a = s.getAttributes(handle, [ck.CKA_ENCRYPT, ck.CKA_DECRYPT]);
  return { encrypt: a.get(ck.CKA_ENCRYPT)?.[0] === 1, decrypt: a.get(ck.CKA_DECRYPT)?.[0] === 1 };
}

/** A CK_ULONG attribute value (native byte order, 4 or 8 bytes). */
function readUlong(b: Buffer): number {
  const n = Math.min(b.length, 6);
  return endianness() === 'LE' ? b.readUIntLE(0, n) : b.readUIntBE(b.length - n, n);
}

function single(handles: Pkcs11Handle[], keyId: string): Pkcs11Handle | undefined {
  if (handles.length > 1) {
    throw new OmtError(
      'adapters.pkcs11.key-ambiguous',
      `more than one AES key in the token has CKA_ID "${keyId}"; remove the duplicate`,
    );
  }
  return handles[0];
}

function notFound(keyId: string): OmtError {
  return new OmtError('kms.key.not-found', `no root key ${keyId} in the token`);
}

function destroyed(keyId: string): OmtError {
  return new OmtError('kms.key.destroyed', `root key ${keyId} was destroyed`);
}
