/**
 * An in-memory software {@link RootKeyProvider}: L1 keys are non-extractable WebCrypto AES-256-GCM
 * keys that live as long as the object. For tests, browsers and ephemeral tools; production uses a
 * customer KMS/HSM (`@omt/adapters/pkcs11`) or the local key file (`@omt/adapters/kms-local`).
 */
import { OmtError } from '@omt/core/errors';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { z } from 'zod';
import { importWrappingKey, rootWrapAad, unwrapKeyBytes, wrapKeyBytes } from './key-wrap.js';
import type {
  AeadKey,
  CreateRootKeyOptions,
  RootKeyDescription,
  RootKeyProvider,
  RootKeyState,
} from './ports.js';
import {
  AadSchema,
  PlaintextKeySchema,
  parseKmsInput,
  RootKeyIdSchema,
  WrappedBlobSchema,
} from './record-schemas.js';

interface MemoryRootKey {
  description: RootKeyDescription;
  key: AeadKey | undefined;
}

const createSchema = z
  .object({ keyId: RootKeyIdSchema.optional(), label: z.string().max(256).optional() })
  .strict()
  .optional();

/**
 * @example
 * ```ts
 * const l1 = new MemoryRootKeyProvider();
 * const { keyId } = await l1.createKey();
 * ```
 */
export class MemoryRootKeyProvider implements RootKeyProvider {
  readonly kind: string = 'memory';
  readonly #keys = new Map<string, MemoryRootKey>();
  readonly #random: RandomSource;
  readonly #clock: Clock;
  #counter = 0;

  constructor(options: { random?: RandomSource; clock?: Clock } = {}) {
    this.#random = options.random ?? platformRandom;
    this.#clock = options.clock ?? systemClock;
  }

  async createKey(options?: CreateRootKeyOptions): Promise<RootKeyDescription> {
    const o = parseKmsInput(createSchema, options, 'createKey options');
    this.#counter++;
    const keyId =
      o?.keyId ??
      `memory-${this.#counter}-${Array.from(this.#random(4), (b) => b.toString(16).padStart(2, '0')).join('')}`;
    if (this.#keys.has(keyId)) throw new OmtError('kms.key.exists', `root key ${keyId} exists`);
    const raw = this.#random(32);
    const key = await importWrappingKey(raw);
    raw.fill(0);
    const description: RootKeyDescription = {
      keyId,
      state: 'enabled',
      algorithm: 'AES-256-GCM',
      version: 1,
      createdAt: this.#clock().toISOString(),
      provider: this.kind,
      ...(o?.label === undefined ? {} : { label: o.label }),
    };
    this.#keys.set(keyId, { description, key });
    return description;
  }

  async describe(keyId: string): Promise<RootKeyDescription> {
    return this.#get(keyId).description;
  }

  async listKeys(): Promise<RootKeyDescription[]> {
    return [...this.#keys.values()].map((k) => k.description);
  }

  async wrap(keyId: string, plaintextKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const key = this.#usable(keyId);
    parseKmsInput(PlaintextKeySchema, plaintextKey, 'plaintext key');
    parseKmsInput(AadSchema, aad, 'aad');
    return wrapKeyBytes(key, plaintextKey, rootWrapAad(keyId, aad), this.#random);
  }

  async unwrap(keyId: string, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const key = this.#usable(keyId);
    parseKmsInput(WrappedBlobSchema, wrapped, 'wrapped key');
    parseKmsInput(AadSchema, aad, 'aad');
    return unwrapKeyBytes(key, wrapped, rootWrapAad(keyId, aad));
  }

  async disable(keyId: string): Promise<void> {
    this.#setState(keyId, 'disabled');
  }

  async enable(keyId: string): Promise<void> {
    this.#setState(keyId, 'enabled');
  }

  async destroy(keyId: string): Promise<void> {
    const k = this.#get(keyId);
    k.key = undefined;
    k.description = { ...k.description, state: 'destroyed' };
  }

  #get(keyId: string): MemoryRootKey {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    const k = this.#keys.get(keyId);
    if (k === undefined) throw new OmtError('kms.key.not-found', `no root key ${keyId}`);
    return k;
  }

  #usable(keyId: string): AeadKey {
    const k = this.#get(keyId);
    if (k.description.state === 'disabled')
      throw new OmtError('kms.key.revoked', `root key ${keyId} is disabled`);
    if (k.key === undefined) throw new OmtError('kms.key.destroyed', `root key ${keyId} is destroyed`);
    return k.key;
  }

  #setState(keyId: string, state: RootKeyState): void {
    const k = this.#get(keyId);
    if (k.description.state === 'destroyed')
      throw new OmtError('kms.key.destroyed', `root key ${keyId} is destroyed`);
    k.description = { ...k.description, state };
  }
}
