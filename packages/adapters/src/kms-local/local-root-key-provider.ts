/**
 * The local software KMS, the embedded default: L1 root keys in a passphrase-protected key file.
 *
 * File (JSON, written atomically: temp file, fsync, rename, fsync of the directory):
 * ```json
 * { "format": "omt-kms-local/1",
 *   "kdf": { "alg": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<b64url 32>" },
 *   "keys": [{ "keyId", "state", "algorithm", "version", "createdAt", "label"?, "material": "<b64url>" | null }],
 *   "mac": "<b64url HMAC-SHA-256 over the JCS text of everything but mac>" }
 * ```
 * scrypt (RFC 7914, memory-hard; @noble/hashes) turns the passphrase into 64 bytes: an AES-256-GCM
 * key that wraps every root key's material (AAD = key id) and an HMAC key that authenticates the
 * whole file, so nobody without the passphrase can re-enable a disabled key or swap materials by
 * editing the file. Root keys live in memory as non-extractable WebCrypto keys.
 *
 * Several processes may share the file (the CLI disables a key while a server runs): every L1 call
 * first checks the file's mtime/size and reloads it when it changed; mutations re-read, apply and
 * write under an in-process queue. Two processes mutating at the same instant can lose one update
 * (last rename wins) — use the PKCS#11 or a cloud KMS adapter where that matters.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { fromBase64Url, toBase64Url, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { canonicalize } from '@omt/core/jcs';
import { type Clock, systemClock } from '@omt/core/random';
import { importWrappingKey, rootWrapAad, unwrapKeyBytes, wrapKeyBytes } from '@omt/kms/key-wrap';
import type {
  AeadKey,
  CreateRootKeyOptions,
  RootKeyDescription,
  RootKeyProvider,
  RootKeyState,
} from '@omt/kms/ports';
import {
  AadSchema,
  PlaintextKeySchema,
  parseKmsInput,
  RootKeyIdSchema,
  WrappedBlobSchema,
} from '@omt/kms/record-schemas';
import { z } from 'zod';

const FORMAT = 'omt-kms-local/1' as const;

/** scrypt cost parameters. Defaults N = 2¹⁷, r = 8, p = 1 (128 MiB, OWASP's recommendation). */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** Options of {@link openLocalRootKeyProvider}. */
export interface LocalRootKeyProviderOptions {
  /** Path of the key file. */
  readonly path: string;
  /** The passphrase (e.g. from `OMT_KMS_PASSPHRASE`); at least 8 characters. */
  readonly passphrase: string;
  /** Create the file when missing (default false → `kms.local.not-found`). */
  readonly create?: boolean;
  /** KDF cost for a new file (existing files keep theirs). N ≥ 2¹⁰ (tests), power of two. */
  readonly scrypt?: ScryptParams;
  readonly clock?: Clock;
}

const keySchema = z
  .object({
    keyId: RootKeyIdSchema,
    state: z.enum(['enabled', 'disabled', 'destroyed']),
    algorithm: z.literal('AES-256-GCM'),
    version: z.number().int().min(1),
    createdAt: z.string().max(64),
    label: z.string().max(256).optional(),
    material: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .nullable(),
  })
  .strict();

/** The KDF record of a key file. */
export interface LocalKdfParams {
  readonly alg: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** base64url, 32 bytes. */
  readonly salt: string;
}

const fileSchema: z.ZodType<{ format: typeof FORMAT; kdf: LocalKdfParams; keys: KeyEntry[]; mac: string }> = z
  .object({
    format: z.literal(FORMAT),
    kdf: z
      .object({
        alg: z.literal('scrypt'),
        N: z
          .number()
          .int()
          .min(1024)
          .max(2 ** 22),
        r: z.number().int().min(1).max(32),
        p: z.number().int().min(1).max(16),
        salt: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
      })
      .strict(),
    keys: z.array(keySchema).max(100_000),
    mac: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  })
  .strict();

type KeyEntry = z.output<typeof keySchema>;
type KeyFile = { format: typeof FORMAT; kdf: LocalKdfParams; keys: KeyEntry[]; mac: string };

const optionsSchema = z
  .object({
    path: z.string().min(1).max(4096),
    passphrase: z.string().min(8, 'passphrase: at least 8 characters').max(1024),
    create: z.boolean().optional(),
    scrypt: z
      .object({
        N: z
          .number()
          .int()
          .min(1024)
          .max(2 ** 22)
          .refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
        r: z.number().int().min(1).max(32),
        p: z.number().int().min(1).max(16),
      })
      .strict()
      .optional(),
    clock: z.custom<Clock>((v) => typeof v === 'function').optional(),
  })
  .strict();

/** The passphrase-derived keys of an open key file (non-extractable). */
export interface LocalMasterKeys {
  readonly enc: AeadKey;
  readonly mac: CryptoKey;
}
type Master = LocalMasterKeys;

async function deriveMaster(passphrase: string, kdf: KeyFile['kdf']): Promise<Master> {
  const out = await scryptAsync(utf8(passphrase.normalize('NFKC')), fromBase64Url(kdf.salt), {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    dkLen: 64,
    maxmem: 1024 * kdf.r * (kdf.N + kdf.p + 2) + 1024,
  });
  try {
    const enc = await importWrappingKey(out.slice(0, 32));
    const mac = await globalThis.crypto.subtle.importKey(
      'raw',
      out.slice(32, 64),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    return { enc, mac };
  } finally {
    out.fill(0);
  }
}

function macInput(file: Omit<KeyFile, 'mac'>): Uint8Array {
  return utf8(canonicalize({ format: file.format, kdf: file.kdf, keys: file.keys }));
}

/**
 * A {@link RootKeyProvider} over a local key file. Create it with {@link openLocalRootKeyProvider}.
 */
export class LocalRootKeyProvider implements RootKeyProvider {
  readonly kind: string = 'local';
  readonly path: string;
  readonly #master: Master;
  readonly #kdf: KeyFile['kdf'];
  readonly #clock: Clock;
  #entries = new Map<string, KeyEntry>();
  #keys = new Map<string, AeadKey>();
  #stamp = '';
  #queue: Promise<unknown> = Promise.resolve();

  /** @internal use {@link openLocalRootKeyProvider} */
  constructor(path: string, master: LocalMasterKeys, kdf: LocalKdfParams, clock: Clock) {
    this.path = path;
    this.#master = master;
    this.#kdf = kdf;
    this.#clock = clock;
  }

  async #fileStamp(): Promise<string> {
    try {
      const s = await stat(this.path);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch (e) {
      throw new OmtError('kms.local.unavailable', `cannot read the key file ${this.path}`, { cause: e });
    }
  }

  /** Reads, authenticates and loads the file (only when it changed since the last load). */
  async load(force = false): Promise<void> {
    const stamp = await this.#fileStamp();
    if (!force && stamp === this.#stamp) return;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      throw new OmtError('kms.local.unavailable', `cannot read the key file ${this.path}`, { cause: e });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new OmtError('kms.local.malformed', 'key file is not JSON', { cause: e });
    }
    const r = fileSchema.safeParse(json);
    if (!r.success)
      throw new OmtError('kms.local.malformed', 'key file does not have the omt-kms-local/1 shape', {
        cause: r.error,
      });
    const file = r.data;
    if (canonicalize(file.kdf) !== canonicalize(this.#kdf)) {
      throw new OmtError('kms.local.changed', 'the key file was re-keyed by another process; reopen it');
    }
    const ok = await globalThis.crypto.subtle.verify(
      'HMAC',
      this.#master.mac,
      fromBase64Url(file.mac) as Uint8Array<ArrayBuffer>,
      macInput(file) as Uint8Array<ArrayBuffer>,
    );
    if (!ok) throw new OmtError('kms.local.passphrase', 'wrong passphrase or the key file was modified');
    const entries = new Map<string, KeyEntry>();
    const keys = new Map<string, AeadKey>();
    for (const k of file.keys) {
      entries.set(k.keyId, k);
      if (k.material !== null && k.state !== 'destroyed') {
        const raw = await unwrapKeyBytes(this.#master.enc, fromBase64Url(k.material), utf8(k.keyId));
        try {
          keys.set(k.keyId, await importWrappingKey(raw));
        } finally {
          raw.fill(0);
        }
      }
    }
    this.#entries = entries;
    this.#keys = keys;
    this.#stamp = stamp;
  }

  async #write(entries: KeyEntry[]): Promise<void> {
    const body = { format: FORMAT, kdf: this.#kdf, keys: entries } as const;
    const mac = new Uint8Array(
      await globalThis.crypto.subtle.sign(
        'HMAC',
        this.#master.mac,
        macInput(body) as Uint8Array<ArrayBuffer>,
      ),
    );
    const text = `${JSON.stringify({ ...body, mac: toBase64Url(mac) }, null, 2)}\n`;
    await writeFileAtomic(this.path, text);
  }

  /** Re-reads, applies `fn` to the entries, writes atomically, reloads. */
  #mutate<T>(fn: (entries: Map<string, KeyEntry>) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      await this.load();
      const next = new Map(this.#entries);
      const r = await fn(next);
      await this.#write([...next.values()]);
      await this.load(true);
      return r;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #describe(k: KeyEntry): RootKeyDescription {
    return {
      keyId: k.keyId,
      state: k.state,
      algorithm: k.algorithm,
      version: k.version,
      createdAt: k.createdAt,
      provider: this.kind,
      ...(k.label === undefined ? {} : { label: k.label }),
    };
  }

  async createKey(options?: CreateRootKeyOptions): Promise<RootKeyDescription> {
    const o = parseKmsInput(
      z
        .object({ keyId: RootKeyIdSchema.optional(), label: z.string().max(256).optional() })
        .strict()
        .optional(),
      options,
      'createKey options',
    );
    return this.#mutate(async (entries) => {
      const keyId = o?.keyId ?? `local-${randomBytes(8).toString('hex')}`;
      if (entries.has(keyId)) throw new OmtError('kms.key.exists', `root key ${keyId} exists`);
      const raw = new Uint8Array(randomBytes(32));
      try {
        const material = await wrapKeyBytes(this.#master.enc, raw, utf8(keyId));
        const entry: KeyEntry = {
          keyId,
          state: 'enabled',
          algorithm: 'AES-256-GCM',
          version: 1,
          createdAt: this.#clock().toISOString(),
          ...(o?.label === undefined ? {} : { label: o.label }),
          material: toBase64Url(material),
        };
        entries.set(keyId, entry);
        return this.#describe(entry);
      } finally {
        raw.fill(0);
      }
    });
  }

  async #entry(keyId: string): Promise<KeyEntry> {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    await this.load();
    const k = this.#entries.get(keyId);
    if (k === undefined) throw new OmtError('kms.key.not-found', `no root key ${keyId}`);
    return k;
  }

  async describe(keyId: string): Promise<RootKeyDescription> {
    return this.#describe(await this.#entry(keyId));
  }

  async listKeys(): Promise<RootKeyDescription[]> {
    await this.load();
    return [...this.#entries.values()].map((k) => this.#describe(k));
  }

  async #usable(keyId: string): Promise<AeadKey> {
    const k = await this.#entry(keyId);
    if (k.state === 'disabled') throw new OmtError('kms.key.revoked', `root key ${keyId} is disabled`);
    const key = this.#keys.get(keyId);
    if (k.state === 'destroyed' || key === undefined)
      throw new OmtError('kms.key.destroyed', `root key ${keyId} is destroyed`);
    return key;
  }

  async wrap(keyId: string, plaintextKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const key = await this.#usable(keyId);
    parseKmsInput(PlaintextKeySchema, plaintextKey, 'plaintext key');
    parseKmsInput(AadSchema, aad, 'aad');
    return wrapKeyBytes(key, plaintextKey, rootWrapAad(keyId, aad));
  }

  async unwrap(keyId: string, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const key = await this.#usable(keyId);
    parseKmsInput(WrappedBlobSchema, wrapped, 'wrapped key');
    parseKmsInput(AadSchema, aad, 'aad');
    return unwrapKeyBytes(key, wrapped, rootWrapAad(keyId, aad));
  }

  #setState(keyId: string, state: RootKeyState): Promise<void> {
    parseKmsInput(RootKeyIdSchema, keyId, 'root key id');
    return this.#mutate(async (entries) => {
      const k = entries.get(keyId);
      if (k === undefined) throw new OmtError('kms.key.not-found', `no root key ${keyId}`);
      if (k.state === 'destroyed') throw new OmtError('kms.key.destroyed', `root key ${keyId} is destroyed`);
      entries.set(keyId, state === 'destroyed' ? { ...k, state, material: null } : { ...k, state });
    });
  }

  disable(keyId: string): Promise<void> {
    return this.#setState(keyId, 'disabled');
  }

  enable(keyId: string): Promise<void> {
    return this.#setState(keyId, 'enabled');
  }

  /** Removes the key's material from the file (a filesystem may keep old blocks; see README). */
  destroy(keyId: string): Promise<void> {
    return this.#setState(keyId, 'destroyed');
  }
}

/** Writes `text` to `path` atomically: a temp file in the same directory, fsync, rename, fsync dir. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new OmtError('kms.local.unavailable', `cannot write the key file ${path}`, { cause: e });
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await d.close();
  }
}

/**
 * Opens (or creates) a local key file. Wrong passphrase or a modified file → `kms.local.passphrase`.
 *
 * @example
 * ```ts
 * const rootKeys = await openLocalRootKeyProvider({
 *   path: `${omtHome}/kms/root-keys.json`, passphrase: process.env.OMT_KMS_PASSPHRASE!, create: true,
 * });
 * const { kms, governance } = createKms({ rootKeys, keyStore: new SqlKmsKeyStore(omt.db), audit });
 * ```
 */
export async function openLocalRootKeyProvider(
  options: LocalRootKeyProviderOptions,
): Promise<LocalRootKeyProvider> {
  const o = parseKmsInput(optionsSchema, options, 'local KMS options');
  const clock = o.clock ?? systemClock;
  let exists = true;
  try {
    await stat(o.path);
  } catch {
    exists = false;
  }
  if (!exists) {
    if (o.create !== true) throw new OmtError('kms.local.not-found', `no key file at ${o.path}`);
    const p = o.scrypt ?? DEFAULT_SCRYPT;
    const kdf = {
      alg: 'scrypt' as const,
      N: p.N,
      r: p.r,
      p: p.p,
      salt: toBase64Url(new Uint8Array(randomBytes(32))),
    };
    const master = await deriveMaster(o.passphrase, kdf);
    const provider = new LocalRootKeyProvider(o.path, master, kdf, clock);
    const body = { format: FORMAT, kdf, keys: [] as KeyEntry[] } as const;
    const mac = new Uint8Array(
      await globalThis.crypto.subtle.sign('HMAC', master.mac, macInput(body) as Uint8Array<ArrayBuffer>),
    );
    try {
      // 'wx' semantics: never overwrite a file another process created meanwhile.
      const fh = await open(o.path, 'wx', 0o600).catch(async (e: { code?: string }) => {
        if (e.code === 'ENOENT') {
          await mkdir(dirname(o.path), { recursive: true });
          return open(o.path, 'wx', 0o600);
        }
        throw e;
      });
      try {
        await fh.writeFile(`${JSON.stringify({ ...body, mac: toBase64Url(mac) }, null, 2)}\n`, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw new OmtError('kms.local.unavailable', `cannot create the key file ${o.path}`, { cause: e });
    }
    await provider.load(true);
    return provider;
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(o.path, 'utf8'));
  } catch (e) {
    throw new OmtError('kms.local.malformed', 'key file is not readable JSON', { cause: e });
  }
  const r = fileSchema.safeParse(json);
  if (!r.success)
    throw new OmtError('kms.local.malformed', 'key file does not have the omt-kms-local/1 shape', {
      cause: r.error,
    });
  const master = await deriveMaster(o.passphrase, r.data.kdf);
  const provider = new LocalRootKeyProvider(o.path, master, r.data.kdf, clock);
  await provider.load(true);
  return provider;
}
