/**
 * A small typed layer over pkcs11js: one Cryptoki module per process, a token found by slot index
 * or label, a user login with a PIN read from an environment variable, and a pool of sessions of
 * which each runs one operation at a time (PKCS#11 v2.40 §5.6: a session is not safe for
 * concurrent use; an operation such as C_FindObjectsInit…Final or C_EncryptInit…C_Encrypt is state
 * in the session).
 */
import { createRequire } from 'node:module';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import type * as Pkcs11Js from 'pkcs11js';
import { z } from 'zod';
import { ckrOf, toPkcs11Error } from './pkcs11-errors.js';

/** The pkcs11js module: the `PKCS11` class and the `CK*` constants. */
export type Pkcs11Binding = typeof Pkcs11Js;
/** A PKCS#11 attribute template as pkcs11js takes it. */
export type Pkcs11Template = Pkcs11Js.Template;
/** A PKCS#11 mechanism as pkcs11js takes it. */
export type Pkcs11Mechanism = Pkcs11Js.Mechanism;
/** An object or session handle (pkcs11js encodes CK_ULONG handles as 8-byte Buffers). */
export type Pkcs11Handle = Buffer;

// CK_STATE values (PKCS#11 v2.40 §5.4, pkcs11t.h); pkcs11js does not export them.
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKR_USER_ALREADY_LOGGED_IN = 0x100;

/** Options of {@link openPkcs11Token}. Exactly one of `slot` / `tokenLabel`. */
export interface Pkcs11TokenOptions {
  /** Path of the Cryptoki library, e.g. `/usr/lib/softhsm/libsofthsm2.so`. */
  readonly modulePath: string;
  /** Index into the list of slots with a token present (C_GetSlotList(true)). */
  readonly slot?: number;
  /** Token label (CKA_LABEL of the token, trailing blanks ignored). */
  readonly tokenLabel?: string;
  /** Name of the environment variable holding the user PIN (the PIN itself is never logged or kept). */
  readonly pinEnv: string;
  /** Environment to read `pinEnv` from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Sessions opened at most (default 2): one operation per session at a time, others queue. */
  readonly maxSessions?: number;
}

const OptionsSchema = z
  .object({
    modulePath: z.string().min(1).max(4096),
    slot: z.number().int().min(0).max(0xffff).optional(),
    tokenLabel: z.string().min(1).max(32).optional(),
    pinEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name'),
    env: z.record(z.string(), z.string().optional()).optional(),
    maxSessions: z.number().int().min(1).max(64).optional(),
  })
  .refine((o) => (o.slot === undefined) !== (o.tokenLabel === undefined), {
    message: 'exactly one of slot or tokenLabel',
  });

/** What the token says about itself (C_GetTokenInfo), trailing blanks removed. */
export interface Pkcs11TokenInfo {
  readonly label: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serialNumber: string;
  /** Index of the slot in C_GetSlotList(true). */
  readonly slotIndex: number;
}

/**
 * One open session, lent to a {@link Pkcs11Token.withSession} callback. Every method maps
 * `CKR_*` failures to `adapters.pkcs11.*` OmtErrors. Do not keep it after the callback returns.
 */
export class Pkcs11Session {
  /** @internal */
  constructor(
    private readonly p11: Pkcs11Js.PKCS11,
    /** The raw session handle (for pkcs11js calls this class does not wrap). */
    readonly handle: Pkcs11Handle,
    /** The `CK*` constants. */
    readonly ck: Pkcs11Binding,
  ) {}

  /** Every object matching `template` (C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal). */
  findObjects(template: Pkcs11Template, max = 1000): Pkcs11Handle[] {
    try {
      this.p11.C_FindObjectsInit(this.handle, template);
    } catch (e) {
      throw toPkcs11Error(e, 'C_FindObjectsInit', 'search objects');
    }
    try {
      const out: Pkcs11Handle[] = [];
      while (out.length < max) {
        const batch = this.p11.C_FindObjects(this.handle, Math.min(64, max - out.length));
        if (batch.length === 0) break;
        out.push(...batch);
      }
      return out;
    } catch (e) {
      throw toPkcs11Error(e, 'C_FindObjects', 'search objects');
    } finally {
      try {
        this.p11.C_FindObjectsFinal(this.handle);
      } catch {
        // The search state dies with the session anyway; the first error is the one worth reporting.
      }
    }
  }

  /** Attribute values as pkcs11js returns them (Buffers). A sensitive attribute fails with `adapters.pkcs11.attribute-sensitive`. */
  getAttributes(object: Pkcs11Handle, types: readonly number[]): Map<number, Buffer> {
    try {
      const got = this.p11.C_GetAttributeValue(
        this.handle,
        object,
        types.map((type) => ({ type })),
      );
      return new Map(got.map((a) => [a.type, a.value]));
    } catch (e) {
      throw toPkcs11Error(e, 'C_GetAttributeValue', 'read object attributes');
    }
  }

  /** C_SetAttributeValue. */
  setAttributes(object: Pkcs11Handle, template: Pkcs11Template): void {
    try {
      this.p11.C_SetAttributeValue(this.handle, object, template);
    } catch (e) {
      throw toPkcs11Error(e, 'C_SetAttributeValue', 'change object attributes');
    }
  }

  /** C_CreateObject (data objects; secret keys should be generated inside the token instead). */
  createObject(template: Pkcs11Template): Pkcs11Handle {
    try {
      return this.p11.C_CreateObject(this.handle, template);
    } catch (e) {
      throw toPkcs11Error(e, 'C_CreateObject', 'create object');
    }
  }

  /** C_DestroyObject. */
  destroyObject(object: Pkcs11Handle): void {
    try {
      this.p11.C_DestroyObject(this.handle, object);
    } catch (e) {
      throw toPkcs11Error(e, 'C_DestroyObject', 'destroy object');
    }
  }

  /** C_GenerateKey inside the token (off the event loop). */
  async generateKey(mechanism: Pkcs11Mechanism, template: Pkcs11Template): Promise<Pkcs11Handle> {
    try {
      return await this.p11.C_GenerateKeyAsync(this.handle, mechanism, template);
    } catch (e) {
      throw toPkcs11Error(e, 'C_GenerateKey', 'generate key');
    }
  }

  /** Single-part C_EncryptInit + C_Encrypt; `outLength` is the output buffer size. */
  async encrypt(
    mechanism: Pkcs11Mechanism,
    key: Pkcs11Handle,
    data: Uint8Array,
    outLength: number,
  ): Promise<Uint8Array> {
    try {
      this.p11.C_EncryptInit(this.handle, mechanism, key);
    } catch (e) {
      throw toPkcs11Error(e, 'C_EncryptInit', 'encrypt');
    }
    try {
      const out = await this.p11.C_EncryptAsync(this.handle, asBuffer(data), Buffer.alloc(outLength));
      return new Uint8Array(out);
    } catch (e) {
      throw toPkcs11Error(e, 'C_Encrypt', 'encrypt');
    }
  }

  /**
   * Single-part C_DecryptInit + C_Decrypt. The plaintext is copied into a plain Uint8Array and
   * the binding's output buffer is zeroed, so only the returned copy holds it.
   */
  async decrypt(
    mechanism: Pkcs11Mechanism,
    key: Pkcs11Handle,
    data: Uint8Array,
    outLength: number,
  ): Promise<Uint8Array> {
    try {
      this.p11.C_DecryptInit(this.handle, mechanism, key);
    } catch (e) {
      throw toPkcs11Error(e, 'C_DecryptInit', 'decrypt');
    }
    const buffer = Buffer.alloc(outLength);
    try {
      const out = await this.p11.C_DecryptAsync(this.handle, asBuffer(data), buffer);
      return new Uint8Array(out);
    } catch (e) {
      throw toPkcs11Error(e, 'C_Decrypt', 'decrypt');
    } finally {
      buffer.fill(0);
    }
  }
}

/** A Uint8Array viewed as a Buffer without copying (pkcs11js only takes Buffers). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const trimPadded = (s: string): string => s.replace(/[\s\0]+$/, '');

// ---------------------------------------------------------------------------------------------
// One C_Initialize per module per process: Cryptoki state is global to the library (v2.40 §5.4),
// so two tokens on the same module share it and the last one out calls C_Finalize.

interface LoadedModule {
  readonly p11: Pkcs11Js.PKCS11;
  readonly binding: Pkcs11Binding;
  refs: number;
  /** False when something else in this process had already initialised the library. */
  readonly ownsInit: boolean;
}

const modules = new Map<string, LoadedModule>();

function loadBinding(): Pkcs11Binding {
  try {
    return createRequire(import.meta.url)('pkcs11js') as Pkcs11Binding;
  } catch (e) {
    throw new OmtError(
      'adapters.pkcs11.binding-missing',
      'the pkcs11js package is not installed (npm install pkcs11js) or its native addon failed to load',
      { cause: e },
    );
  }
}

function acquireModule(modulePath: string): LoadedModule {
  const existing = modules.get(modulePath);
  if (existing !== undefined) {
    existing.refs++;
    return existing;
  }
  const binding = loadBinding();
  const p11 = new binding.PKCS11();
  try {
    p11.load(modulePath);
  } catch (e) {
    throw new OmtError(
      'adapters.pkcs11.module-not-found',
      `cannot load PKCS#11 module ${JSON.stringify(modulePath)}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e, details: { modulePath } },
    );
  }
  let ownsInit = true;
  try {
    // OS locking: pkcs11js runs the *Async calls on libuv worker threads.
    p11.C_Initialize({ flags: binding.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckrOf(e) === CKR_CRYPTOKI_ALREADY_INITIALIZED) ownsInit = false;
    else {
      try {
        p11.close();
      } catch {
        // nothing more to release
      }
      throw toPkcs11Error(e, 'C_Initialize', `initialise module ${modulePath}`);
    }
  }
  const loaded: LoadedModule = { p11, binding, refs: 1, ownsInit };
  modules.set(modulePath, loaded);
  return loaded;
}

function releaseModule(modulePath: string, loaded: LoadedModule): void {
  loaded.refs--;
  if (loaded.refs > 0) return;
  modules.delete(modulePath);
  try {
    if (loaded.ownsInit) loaded.p11.C_Finalize();
  } finally {
    loaded.p11.close();
  }
}

/**
 * An open, logged-in token. Operations borrow a session through {@link withSession}; at most
 * `maxSessions` run at once and each session serves one operation at a time.
 */
export class Pkcs11Token {
  /** The `CK*` constants of the binding. */
  readonly ck: Pkcs11Binding;
  readonly info: Pkcs11TokenInfo;
  readonly #module: LoadedModule;
  readonly #modulePath: string;
  readonly #slot: Pkcs11Handle;
  readonly #pinEnv: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #maxSessions: number;
  readonly #idle: Pkcs11Handle[] = [];
  #open = 0;
  readonly #waiters: Array<(s: Pkcs11Handle | Error) => void> = [];
  #closed = false;

  /** @internal use {@link openPkcs11Token} */
  constructor(args: {
    module: LoadedModule;
    modulePath: string;
    slot: Pkcs11Handle;
    info: Pkcs11TokenInfo;
    pinEnv: string;
    env: Readonly<Record<string, string | undefined>>;
    maxSessions: number;
  }) {
    this.#module = args.module;
    this.ck = args.module.binding;
    this.#modulePath = args.modulePath;
    this.#slot = args.slot;
    this.info = args.info;
    this.#pinEnv = args.pinEnv;
    this.#env = args.env;
    this.#maxSessions = args.maxSessions;
  }

  /** Mechanisms the token offers (C_GetMechanismList). */
  mechanisms(): number[] {
    this.#assertOpen();
    try {
      return this.#module.p11.C_GetMechanismList(this.#slot);
    } catch (e) {
      throw toPkcs11Error(e, 'C_GetMechanismList', 'list mechanisms');
    }
  }

  /**
   * Runs `fn` with a session of its own. A session that broke (closed, handle invalid, token
   * removed) is dropped rather than returned to the pool.
   *
   * @example
   * ```ts
   * const handles = await token.withSession((s) => s.findObjects([{ type: s.ck.CKA_LABEL, value: 'root' }]));
   * ```
   */
  async withSession<T>(fn: (session: Pkcs11Session) => T | Promise<T>): Promise<T> {
    const handle = await this.#acquire();
    let broken = false;
    try {
      return await fn(new Pkcs11Session(this.#module.p11, handle, this.ck));
    } catch (e) {
      const code = e instanceof OmtError ? e.code : undefined;
      broken =
        code === 'adapters.pkcs11.session-invalid' ||
        code === 'adapters.pkcs11.token-unavailable' ||
        code === 'adapters.pkcs11.not-logged-in';
      throw e;
    } finally {
      this.#release(handle, broken);
    }
  }

  /** Closes every session (which also logs out, v2.40 §5.6) and releases the module. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closedError = new OmtError('adapters.pkcs11.closed', 'the PKCS#11 token was closed');
    for (const w of this.#waiters.splice(0)) w(closedError);
    // Sessions still lent out are closed when their operation returns (see #release).
    for (const h of this.#idle.splice(0)) this.#closeSession(h);
    if (this.#open === 0) releaseModule(this.#modulePath, this.#module);
  }

  #assertOpen(): void {
    if (this.#closed) throw new OmtError('adapters.pkcs11.closed', 'the PKCS#11 token was closed');
  }

  async #acquire(): Promise<Pkcs11Handle> {
    this.#assertOpen();
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    if (this.#open < this.#maxSessions) {
      this.#open++;
      try {
        return this.#openSession();
      } catch (e) {
        this.#open--;
        throw e;
      }
    }
    const got = await new Promise<Pkcs11Handle | Error>((resolve) => this.#waiters.push(resolve));
    if (got instanceof Error) throw got;
    return got;
  }

  #release(handle: Pkcs11Handle, broken: boolean): void {
    if (broken || this.#closed) {
      this.#closeSession(handle);
      this.#open--;
      if (this.#closed) {
        if (this.#open === 0) releaseModule(this.#modulePath, this.#module);
        return;
      }
      // A waiter gets a fresh session instead of the broken one.
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) {
        this.#open++;
        try {
          waiter(this.#openSession());
        } catch (e) {
          this.#open--;
          waiter(e instanceof Error ? e : new Error(String(e)));
        }
      }
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(handle);
    else this.#idle.push(handle);
  }

  /** Opens a read/write session and makes sure the token is logged in (login state is per token, shared by all sessions of the process). */
  #openSession(): Pkcs11Handle {
    const { p11, binding } = this.#module;
    let handle: Pkcs11Handle;
    try {
      handle = p11.C_OpenSession(this.#slot, binding.CKF_SERIAL_SESSION | binding.CKF_RW_SESSION);
    } catch (e) {
      throw toPkcs11Error(e, 'C_OpenSession', `open a session on token "${this.info.label}"`);
    }
    try {
      const state = p11.C_GetSessionInfo(handle).state;
      if (state !== CKS_RW_USER_FUNCTIONS && state !== CKS_RO_USER_FUNCTIONS) this.#login(handle);
      return handle;
    } catch (e) {
      this.#closeSession(handle);
      throw toPkcs11Error(e, 'C_GetSessionInfo', `open a session on token "${this.info.label}"`);
    }
  }

  #login(handle: Pkcs11Handle): void {
    const pin = this.#env[this.#pinEnv];
    if (pin === undefined || pin === '') {
      throw new OmtError(
        'adapters.pkcs11.pin-missing',
        `the PKCS#11 user PIN is expected in environment variable ${this.#pinEnv}, which is not set`,
        { details: { pinEnv: this.#pinEnv } },
      );
    }
    try {
      this.#module.p11.C_Login(handle, this.ck.CKU_USER, pin);
    } catch (e) {
      if (ckrOf(e) === CKR_USER_ALREADY_LOGGED_IN) return;
      // The message names the CKR and the variable, never the PIN.
      throw toPkcs11Error(
        e,
        'C_Login',
        `log in to token "${this.info.label}" with the PIN from ${this.#pinEnv}`,
      );
    }
  }

  #closeSession(handle: Pkcs11Handle): void {
    try {
      this.#module.p11.C_CloseSession(handle);
    } catch {
      // Already closed or the token is gone: nothing left to release.
    }
  }
}

/**
 * Loads the Cryptoki module (once per process), finds the token, opens a first session and logs
 * in with the PIN from `env[pinEnv]`.
 *
 * @example
 * ```ts
 * const token = await openPkcs11Token({
 *   modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'omt', pinEnv: 'OMT_PKCS11_PIN',
 * });
 * try { … } finally { await token.close(); }
 * ```
 */
export async function openPkcs11Token(options: Pkcs11TokenOptions): Promise<Pkcs11Token> {
  const o = parseInput(OptionsSchema, options, 'adapters.pkcs11.options-invalid', 'PKCS#11 options');
  const loaded = acquireModule(o.modulePath);
  let token: Pkcs11Token | undefined;
  try {
    const { p11 } = loaded;
    let slots: Pkcs11Handle[];
    try {
      slots = p11.C_GetSlotList(true);
    } catch (e) {
      throw toPkcs11Error(e, 'C_GetSlotList', 'list slots');
    }
    let slotIndex = -1;
    let tokenInfo: Pkcs11Js.TokenInfo | undefined;
    if (o.slot !== undefined) {
      slotIndex = o.slot;
      const slot = slots[o.slot];
      if (slot !== undefined) tokenInfo = readTokenInfo(p11, slot);
    } else {
      for (let i = 0; i < slots.length; i++) {
        const info = readTokenInfo(p11, slots[i] as Pkcs11Handle);
        if (trimPadded(info.label) === o.tokenLabel) {
          slotIndex = i;
          tokenInfo = info;
          break;
        }
      }
    }
    const slot = slots[slotIndex];
    if (slot === undefined || tokenInfo === undefined) {
      const which =
        o.slot !== undefined ? `slot index ${o.slot}` : `token label ${JSON.stringify(o.tokenLabel)}`;
      throw new OmtError(
        'adapters.pkcs11.slot-not-found',
        `no PKCS#11 token with ${which} (${slots.length} slot(s) with a token present)`,
        { details: { slots: slots.length } },
      );
    }
    token = new Pkcs11Token({
      module: loaded,
      modulePath: o.modulePath,
      slot,
      info: {
        label: trimPadded(tokenInfo.label),
        manufacturer: trimPadded(tokenInfo.manufacturerID),
        model: trimPadded(tokenInfo.model),
        serialNumber: trimPadded(tokenInfo.serialNumber),
        slotIndex,
      },
      pinEnv: o.pinEnv,
      env: o.env ?? (process.env as Record<string, string | undefined>),
      maxSessions: o.maxSessions ?? 2,
    });
    // Log in now, so a wrong PIN surfaces at open time, not at the first unwrap.
    await token.withSession(() => undefined);
    return token;
  } catch (e) {
    // A built token owns the module reference and gives it back in close().
    if (token !== undefined) await token.close();
    else releaseModule(o.modulePath, loaded);
    throw e;
  }
}

function readTokenInfo(p11: Pkcs11Js.PKCS11, slot: Pkcs11Handle): Pkcs11Js.TokenInfo {
  try {
    return p11.C_GetTokenInfo(slot);
  } catch (e) {
    throw toPkcs11Error(e, 'C_GetTokenInfo', 'read token info');
  }
}
