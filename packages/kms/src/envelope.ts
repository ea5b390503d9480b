/**
 * The envelope format: a versioned, self-describing header and AES-256-GCM frames.
 *
 * ```
 * envelope = "OMTE" ‖ format (u8 = 1) ‖ headerLength (u32 BE) ‖ header ‖ frame*
 * header   = deterministic CBOR map (RFC 8949 §4.2.1), see EnvelopeHeader
 * frame    = 0x00 ‖ ciphertext(frameSize) ‖ tag(16)                       (regular)
 *          | 0x01 ‖ length (u32 BE) ‖ ciphertext(length) ‖ tag(16)        (final, exactly one)
 * ```
 * Record mode is a single final frame (`frameSize` 0); streaming mode cuts the plaintext into
 * `frameSize` frames and ends with a final frame (possibly empty).
 *
 * Keys (suite 1, `AES-256-GCM/HKDF-SHA-512/commit`, after the AWS Encryption SDK's committing suite):
 * `okm = HKDF-SHA-512(ikm = L4 [‖ object secret], salt = messageId, info = "OMT-KMS/1 suite 1", 64)`;
 * `okm[0..32]` is the AES-256-GCM data key, `okm[32..64]` the *commitment* stored in the header and
 * compared (constant time) before any decryption — so an envelope decrypts under one data key only.
 *
 * Every frame authenticates `H ‖ index (u64 BE) ‖ kind ‖ length` as AAD, where `H` is the SHA-256 of
 * the header's *key-independent* fields (everything but `l1`, `l2`, `l3`, `wk`: see
 * {@link headerBindingHash}), and uses nonce `header.nonce XOR index` (in the last 8 bytes): a frame
 * moved to another index or file, a regular frame passed off as the final one, or a stream cut
 * short all fail. The key fields stay out of `H` so rotation can re-wrap an envelope's L4 under a
 * new L3 by rewriting only the header (no data re-encrypted); they are protected anyway — a flipped
 * `wk` or version fails to unwrap (its AAD binds the message id and context) or fails the commitment.
 * The data key is fresh per envelope, so nonces never repeat under one key.
 */

import { concatBytes, equalBytes, utf8 } from '@omt/core/bytes';
import { type CborValue, decodeCbor, encodeCbor } from '@omt/core/cbor';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { z } from 'zod';
import { webCryptoAead } from './aead-web.js';
import type { AeadEngine, AeadKey } from './ports.js';
import {
  isObjectId,
  isObjectRef,
  isRootKeyId,
  isTenantOrServiceName,
  ObjectIdSchema,
  ObjectRefSchema,
  RootKeyIdSchema,
  ServiceNameSchema,
  TenantNameSchema,
} from './record-schemas.js';

/** The 4 magic bytes `OMTE`. */
export const ENVELOPE_MAGIC: Uint8Array = /* @__PURE__ */ utf8('OMTE');
/** Outer format version (the byte after the magic). */
export const ENVELOPE_FORMAT = 1 as const;
/** Suite 1: AES-256-GCM, HKDF-SHA-512 key derivation with key commitment. */
export const ENVELOPE_SUITE_AES256GCM_HKDF_SHA512_COMMIT = 1 as const;
/** Default frame size of streaming mode: 64 KiB. */
export const DEFAULT_FRAME_SIZE = 65536 as const;
/** Largest frame size accepted (4 MiB): bounds the memory a decryptor needs. */
export const MAX_FRAME_SIZE: number = 4 * 1024 * 1024;
/** Largest header accepted (64 KiB). */
export const MAX_HEADER_SIZE: number = 64 * 1024;
/** Largest record-mode plaintext (the one final frame): 2³² − 1 bytes. */
export const MAX_RECORD_SIZE: number = 0xffff_ffff;
/** Bytes before the header: magic, format, length. */
export const ENVELOPE_PREFIX_SIZE = 9 as const;
const TAG = 16;

/** Caller fields of the encryption context: up to 32 string pairs. */
export type EncryptionContext = Readonly<Record<string, string>>;

/** The parsed header of an envelope. Everything here is authenticated; nothing here is secret. */
export interface EnvelopeHeader {
  readonly version: 1;
  readonly suite: 1;
  readonly tenant: string;
  readonly service: string;
  readonly objectId: string;
  /** L1 key that wrapped the L2 version used. */
  readonly rootKeyId: string;
  /** L2 (tenant key) version. */
  readonly tenantKeyVersion: number;
  /** L3 (service key) version that wrapped `wrappedKey`. */
  readonly serviceKeyVersion: number;
  /** 32 random bytes: HKDF salt and the envelope's identity. */
  readonly messageId: Uint8Array;
  /** L4 wrapped by L3 (key-wrap.ts blob), bound to this header's context. */
  readonly wrappedKey: Uint8Array;
  /** 12-byte base nonce. */
  readonly nonce: Uint8Array;
  /** 0 in record mode, else the plaintext size of regular frames. */
  readonly frameSize: number;
  /** The key commitment (HKDF output, 32 bytes). */
  readonly commitment: Uint8Array;
  /** Caller fields of the encryption context. */
  readonly context: EncryptionContext;
  /** Reference of the object secret of a shreddable envelope. */
  readonly objectRef?: string;
}

const bytesOf = (n: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === n, `expected ${n} bytes`);

/** Context keys: `[A-Za-z0-9._:-]`, 1–64 characters; values up to 1024 characters. */
export const EncryptionContextSchema: z.ZodType<EncryptionContext> = z
  .record(
    z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'context key: [A-Za-z0-9._:-]{1,64}'),
    z.string().max(1024),
  )
  .refine((c) => Object.keys(c).length <= 32, 'at most 32 context fields');

const CONTEXT_KEY_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * True when {@link EncryptionContextSchema} accepts `v` (a plain object; exactly its rules). Hot
 * paths check with this and use the schema only to report what is wrong.
 */
export function isEncryptionContext(v: unknown): v is EncryptionContext {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
  let n = 0;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (!CONTEXT_KEY_RE.test(k) || typeof x !== 'string' || x.length > 1024 || ++n > 32) return false;
  }
  // Symbol keys or non-enumerable properties: leave the verdict to the schema.
  return Reflect.ownKeys(v).length === n;
}

const isVersion = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 2 ** 31 - 1;
const isBytesOf = (v: unknown, min: number, max: number): v is Uint8Array =>
  v instanceof Uint8Array && v.length >= min && v.length <= max;
const HEADER_KEYS = /* @__PURE__ */ new Set([
  'v',
  'suite',
  'tenant',
  'service',
  'object',
  'l1',
  'l2',
  'l3',
  'mid',
  'wk',
  'nonce',
  'frame',
  'commit',
  'ctx',
  'ref',
]);

/** The header fields when `headerSchema` would accept `o` unchanged, else undefined (then ask it why). */
function checkHeaderFast(o: Record<string, unknown>): EnvelopeHeader | undefined {
  if (Object.getPrototypeOf(o) !== Object.prototype) return undefined;
  let n = 0;
  for (const k in o) {
    if (!HEADER_KEYS.has(k)) return undefined;
    n++;
  }
  const hasRef = 'ref' in o;
  if (n !== (hasRef ? 15 : 14)) return undefined;
  const { tenant, service, object, l1, l2, l3, mid, wk, nonce, frame, commit, ctx, ref } = o;
  if (
    o.v !== 1 ||
    o.suite !== 1 ||
    !isTenantOrServiceName(tenant) ||
    !isTenantOrServiceName(service) ||
    !isObjectId(object) ||
    !isRootKeyId(l1) ||
    !isVersion(l2) ||
    !isVersion(l3) ||
    !isBytesOf(mid, 32, 32) ||
    !isBytesOf(wk, 30, 256) ||
    !isBytesOf(nonce, 12, 12) ||
    typeof frame !== 'number' ||
    !Number.isInteger(frame) ||
    frame < 0 ||
    frame > MAX_FRAME_SIZE ||
    !isBytesOf(commit, 32, 32) ||
    !isEncryptionContext(ctx) ||
    (hasRef && !isObjectRef(ref))
  ) {
    return undefined;
  }
  return {
    version: 1,
    suite: 1,
    tenant,
    service,
    objectId: object,
    rootKeyId: l1,
    tenantKeyVersion: l2,
    serviceKeyVersion: l3,
    messageId: mid,
    wrappedKey: wk,
    nonce,
    frameSize: frame,
    commitment: commit,
    context: ctx,
    ...(hasRef ? { objectRef: ref as string } : {}),
  };
}

const version = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);
const headerSchema = z
  .object({
    v: z.literal(1),
    suite: z.literal(1),
    tenant: TenantNameSchema,
    service: ServiceNameSchema,
    object: ObjectIdSchema,
    l1: RootKeyIdSchema,
    l2: version,
    l3: version,
    mid: bytesOf(32),
    wk: z.custom<Uint8Array>(
      (v) => v instanceof Uint8Array && v.length >= 30 && v.length <= 256,
      'wrapped key',
    ),
    nonce: bytesOf(12),
    frame: z.number().int().min(0).max(MAX_FRAME_SIZE),
    commit: bytesOf(32),
    ctx: EncryptionContextSchema,
    ref: ObjectRefSchema.optional(),
  })
  .strict();

function fail(code: string, message: string, cause?: unknown): OmtError {
  return new OmtError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Encodes the header with its prefix (`OMTE`, format, length). The result is the exact byte
 * string every frame authenticates.
 *
 * @example
 * ```ts
 * const head = encodeEnvelopeHeader(header); // Uint8Array starting with "OMTE"
 * ```
 */
export function encodeEnvelopeHeader(header: EnvelopeHeader): Uint8Array {
  const map: Record<string, CborValue> = {
    v: header.version,
    suite: header.suite,
    tenant: header.tenant,
    service: header.service,
    object: header.objectId,
    l1: header.rootKeyId,
    l2: header.tenantKeyVersion,
    l3: header.serviceKeyVersion,
    mid: header.messageId,
    wk: header.wrappedKey,
    nonce: header.nonce,
    frame: header.frameSize,
    commit: header.commitment,
    ctx: { ...header.context },
  };
  if (header.objectRef !== undefined) map.ref = header.objectRef;
  const body = encodeCbor(map);
  if (body.length > MAX_HEADER_SIZE) throw fail('kms.input.invalid', 'envelope header too large');
  const out = new Uint8Array(ENVELOPE_PREFIX_SIZE + body.length);
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = ENVELOPE_FORMAT;
  new DataView(out.buffer).setUint32(5, body.length);
  out.set(body, ENVELOPE_PREFIX_SIZE);
  return out;
}

/**
 * Reads the header length from the first 9 bytes; throws `kms.envelope.malformed` when they are
 * not an envelope prefix and `kms.envelope.unsupported` for an unknown format.
 */
export function readEnvelopePrefix(prefix: Uint8Array): number {
  if (prefix.length < ENVELOPE_PREFIX_SIZE || !equalBytes(prefix.subarray(0, 4), ENVELOPE_MAGIC)) {
    throw fail('kms.envelope.malformed', 'not an OMT envelope (bad magic)');
  }
  if (prefix[4] !== ENVELOPE_FORMAT) {
    throw fail('kms.envelope.unsupported', `unsupported envelope format ${prefix[4]}`);
  }
  const len = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).getUint32(5);
  if (len === 0 || len > MAX_HEADER_SIZE)
    throw fail('kms.envelope.malformed', 'envelope header length out of range');
  return len;
}

/**
 * Parses the header of an envelope (prefix included). Returns the header and the number of bytes
 * it occupies; throws `kms.envelope.malformed` / `kms.envelope.unsupported`.
 *
 * @example
 * ```ts
 * const { header } = parseEnvelopeHeader(envelope);
 * header.tenant; // 'acme'
 * ```
 */
export function parseEnvelopeHeader(bytes: Uint8Array): { header: EnvelopeHeader; headerBytes: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw fail('kms.input.invalid', 'envelope must be a Uint8Array');
  if (
    bytes.length < ENVELOPE_PREFIX_SIZE &&
    bytes.length >= 4 &&
    equalBytes(bytes.subarray(0, 4), ENVELOPE_MAGIC)
  ) {
    throw fail('kms.envelope.truncated', 'envelope ends inside its prefix');
  }
  const len = readEnvelopePrefix(bytes.subarray(0, ENVELOPE_PREFIX_SIZE));
  if (bytes.length < ENVELOPE_PREFIX_SIZE + len)
    throw fail('kms.envelope.truncated', 'envelope ends inside its header');
  const headerBytes = bytes.subarray(0, ENVELOPE_PREFIX_SIZE + len);
  let decoded: CborValue;
  try {
    decoded = decodeCbor(headerBytes.subarray(ENVELOPE_PREFIX_SIZE), {
      maxDepth: 4,
      requireDeterministic: true,
    });
  } catch (e) {
    throw fail('kms.envelope.malformed', 'envelope header is not deterministic CBOR', e);
  }
  if (!(decoded instanceof Map)) throw fail('kms.envelope.malformed', 'envelope header is not a map');
  const obj: Record<string, unknown> = {};
  for (const [k, v] of decoded) {
    if (typeof k !== 'string') throw fail('kms.envelope.malformed', 'envelope header keys must be text');
    obj[k] = v instanceof Map ? Object.fromEntries(v) : v;
  }
  if (obj.v !== undefined && obj.v !== 1)
    throw fail('kms.envelope.unsupported', `unsupported header version`);
  if (obj.suite !== undefined && obj.suite !== 1) throw fail('kms.envelope.unsupported', `unsupported suite`);
  const fast = checkHeaderFast(obj);
  if (fast !== undefined) return { header: fast, headerBytes: headerBytes.slice() };
  const r = headerSchema.safeParse(obj);
  if (!r.success) {
    const where = r.error.issues[0]?.path.join('.') ?? '';
    throw fail('kms.envelope.malformed', `envelope header field ${where} is invalid`, r.error);
  }
  const h = r.data;
  const header: EnvelopeHeader = {
    version: 1,
    suite: 1,
    tenant: h.tenant,
    service: h.service,
    objectId: h.object,
    rootKeyId: h.l1,
    tenantKeyVersion: h.l2,
    serviceKeyVersion: h.l3,
    messageId: h.mid,
    wrappedKey: h.wk,
    nonce: h.nonce,
    frameSize: h.frame,
    commitment: h.commit,
    context: h.ctx,
    ...(h.ref === undefined ? {} : { objectRef: h.ref }),
  };
  return { header, headerBytes: headerBytes.slice() };
}

/**
 * The AAD under which L3 wraps an envelope's L4: everything that names the object, so a wrapped
 * key moved into another envelope (other message id, object, context or tenant) fails to unwrap.
 * It also covers the informational key fields (`l1`, `l2`: the versions at wrapping time), so a
 * flipped bit there fails too.
 */
export function dataKeyWrapAad(
  header: Pick<
    EnvelopeHeader,
    | 'tenant'
    | 'service'
    | 'objectId'
    | 'rootKeyId'
    | 'tenantKeyVersion'
    | 'serviceKeyVersion'
    | 'messageId'
    | 'context'
    | 'objectRef'
  >,
): Uint8Array {
  return encodeTuple([
    'OMT-KMS/1 L4',
    header.tenant,
    header.service,
    header.objectId,
    header.rootKeyId,
    header.tenantKeyVersion,
    header.serviceKeyVersion,
    header.messageId,
    header.context,
    header.objectRef ?? null,
  ]);
}

/** The HKDF output of suite 1: the AES key bytes and the commitment. Caller wipes `key`. */
export function deriveEnvelopeKeys(
  dataKey: Uint8Array,
  messageId: Uint8Array,
  objectSecret?: Uint8Array,
  engine: AeadEngine = webCryptoAead,
): { key: Uint8Array; commitment: Uint8Array } {
  const ikm = objectSecret === undefined ? dataKey : concatBytes(dataKey, objectSecret);
  const okm = engine.hkdfSha512(ikm, messageId, SUITE_INFO, 64);
  if (ikm !== dataKey) ikm.fill(0);
  const out = { key: okm.slice(0, 32), commitment: okm.slice(32, 64) };
  okm.fill(0);
  return out;
}

/**
 * An unambiguous, fast encoding of AAD tuples: each item as a type byte, a u32 BE length and its
 * bytes (text UTF-8, integers as u64 BE, context maps as sorted key/value pairs). Cheaper than CBOR
 * on the hot path, and injective, which is all AAD needs. Sized first and written in one pass
 * into one buffer (no per-item arrays, no BigInt).
 */
type TupleItem = string | number | Uint8Array | EncryptionContext | null;

function encodeTuple(items: readonly TupleItem[]): Uint8Array {
  const out = new Uint8Array(tupleSize(items));
  const end = writeTuple(out, new DataView(out.buffer), 0, items);
  return end === out.length ? out : out.subarray(0, end);
}

/** UTF-8 length of a string (exact: lone surrogates count as U+FFFD, as TextEncoder writes them). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 2 UTF-16 units → 4 bytes
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

function tupleSize(items: readonly TupleItem[]): number {
  let n = 0;
  for (const it of items) {
    n += 5;
    if (it === null) continue;
    if (typeof it === 'string') n += utf8Length(it);
    else if (typeof it === 'number') n += 8;
    else if (it instanceof Uint8Array) n += it.length;
    else for (const k in it) n += 10 + utf8Length(k) + utf8Length(it[k] as string);
  }
  return n;
}

const textEncoder = /* @__PURE__ */ new TextEncoder();

function writeTuple(out: Uint8Array, dv: DataView, at: number, items: readonly TupleItem[]): number {
  let o = at;
  for (const it of items) {
    const start = o;
    o += 5;
    let type: number;
    if (it === null) type = 0;
    else if (typeof it === 'string') {
      type = 1;
      o += textEncoder.encodeInto(it, out.subarray(o)).written;
    } else if (typeof it === 'number') {
      type = 2;
      if (!Number.isSafeInteger(it) || it < 0) throw fail('kms.input.invalid', 'AAD integer out of range');
      dv.setUint32(o, Math.floor(it / 0x1_0000_0000));
      dv.setUint32(o + 4, it >>> 0);
      o += 8;
    } else if (it instanceof Uint8Array) {
      type = 3;
      out.set(it, o);
      o += it.length;
    } else {
      type = 4;
      const flat: string[] = [];
      for (const k of Object.keys(it).sort()) flat.push(k, it[k] as string);
      o = writeTuple(out, dv, o, flat);
    }
    out[start] = type;
    dv.setUint32(start + 1, o - start - 5);
  }
  return o;
}

/**
 * SHA-256 over the key-independent header fields: what every frame authenticates.
 */
export function headerBindingHash(header: EnvelopeHeader): Uint8Array {
  return sha256(
    encodeTuple([
      'OMT-KMS/1 header',
      header.version,
      header.suite,
      header.tenant,
      header.service,
      header.objectId,
      header.messageId,
      header.nonce,
      header.frameSize,
      header.commitment,
      header.context,
      header.objectRef ?? null,
    ]),
  );
}

/** Constant-time comparison of commitments. */
function sameCommitment(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

const SUITE_INFO = /* @__PURE__ */ utf8('OMT-KMS/1 suite 1');
const FRAME_REGULAR = 0x00;
const FRAME_FINAL = 0x01;

/**
 * Frame sealing and opening for one envelope: holds the non-extractable data key, the header
 * hash and the base nonce.
 */
export class EnvelopeCipher {
  readonly header: EnvelopeHeader;
  readonly #key: AeadKey;
  readonly #engine: AeadEngine;
  readonly #headerHash: Uint8Array;

  private constructor(header: EnvelopeHeader, key: AeadKey, engine: AeadEngine, headerHash: Uint8Array) {
    this.header = header;
    this.#key = key;
    this.#engine = engine;
    this.#headerHash = headerHash;
  }

  /**
   * Builds the cipher for sealing or opening. `keys.key` (from {@link deriveEnvelopeKeys}) is
   * imported (non-extractable with WebCrypto) and wiped. When opening, the commitment derived from
   * the key must equal the header's or `kms.envelope.commitment-mismatch` is thrown before anything
   * is decrypted.
   */
  static async create(
    header: EnvelopeHeader,
    keys: { key: Uint8Array; commitment: Uint8Array },
    engine: AeadEngine = webCryptoAead,
  ): Promise<EnvelopeCipher> {
    if (!sameCommitment(keys.commitment, header.commitment)) {
      keys.key.fill(0);
      throw fail(
        'kms.envelope.commitment-mismatch',
        'the data key does not match the envelope key commitment',
      );
    }
    try {
      const key = await engine.importKey(keys.key);
      return new EnvelopeCipher(header, key, engine, headerBindingHash(header));
    } finally {
      keys.key.fill(0);
    }
  }

  /** `nonce XOR index` in the last 8 bytes (index < 2⁵³: the high word is `index / 2³²`). */
  #iv(index: number): Uint8Array {
    const iv = this.header.nonce.slice();
    const v = new DataView(iv.buffer);
    v.setUint32(4, v.getUint32(4) ^ Math.floor(index / 0x1_0000_0000));
    v.setUint32(8, v.getUint32(8) ^ (index >>> 0));
    return iv;
  }

  #aad(index: number, final: boolean, length: number): Uint8Array {
    const aad = new Uint8Array(32 + 8 + 1 + 4);
    aad.set(this.#headerHash, 0);
    const v = new DataView(aad.buffer);
    v.setUint32(32, Math.floor(index / 0x1_0000_0000));
    v.setUint32(36, index >>> 0);
    aad[40] = final ? FRAME_FINAL : FRAME_REGULAR;
    v.setUint32(41, length);
    return aad;
  }

  /**
   * Seals frame `index` as two parts, `[frame head, ciphertext ‖ tag]` (streams emit them without
   * copying); regular frames must be exactly `frameSize` bytes.
   */
  async sealFrameParts(
    index: number,
    final: boolean,
    plaintext: Uint8Array,
  ): Promise<[Uint8Array, Uint8Array]> {
    if (!final && plaintext.length !== this.header.frameSize) {
      throw fail('kms.input.invalid', 'regular frames carry exactly frameSize bytes');
    }
    if (plaintext.length > MAX_RECORD_SIZE) throw fail('kms.input.invalid', 'frame too large');
    const ct = await this.#engine.seal(
      this.#key,
      this.#iv(index),
      this.#aad(index, final, plaintext.length),
      plaintext,
    );
    const head = new Uint8Array(final ? 5 : 1);
    head[0] = final ? FRAME_FINAL : FRAME_REGULAR;
    if (final) new DataView(head.buffer).setUint32(1, plaintext.length);
    return [head, ct];
  }

  /** Seals frame `index` into one byte string (see {@link sealFrameParts}). */
  async sealFrame(index: number, final: boolean, plaintext: Uint8Array): Promise<Uint8Array> {
    const [head, ct] = await this.sealFrameParts(index, final, plaintext);
    const out = new Uint8Array(head.length + ct.length);
    out.set(head, 0);
    out.set(ct, head.length);
    return out;
  }

  /** Opens the ciphertext‖tag of frame `index`; `kms.envelope.auth-failed` when it does not authenticate. */
  async openFrame(index: number, final: boolean, sealed: Uint8Array): Promise<Uint8Array> {
    const length = sealed.length - TAG;
    if (length < 0) throw fail('kms.envelope.truncated', `frame ${index} is shorter than its tag`);
    try {
      return await this.#engine.open(this.#key, this.#iv(index), this.#aad(index, final, length), sealed);
    } catch (e) {
      throw fail(
        'kms.envelope.auth-failed',
        `frame ${index} does not authenticate (tampered, reordered, truncated or from another envelope)`,
        e,
      );
    }
  }
}

/** Frame kind bytes (exported for the stream reader). */
export const FRAME_KIND: { readonly regular: 0; readonly final: 1 } = {
  regular: FRAME_REGULAR,
  final: FRAME_FINAL,
};
/** GCM tag length in bytes. */
export const FRAME_TAG_SIZE: 16 = TAG;

/**
 * Opens a whole in-memory envelope body (every frame after the header). Throws on truncation,
 * trailing bytes, or a frame that does not authenticate; returns the concatenated plaintext.
 */
export async function openEnvelopeBody(cipher: EnvelopeCipher, body: Uint8Array): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const fs = cipher.header.frameSize;
  let off = 0;
  for (let index = 0; ; index++) {
    if (off >= body.length) throw fail('kms.envelope.truncated', 'envelope ends before its final frame');
    const kind = body[off];
    if (kind === FRAME_REGULAR) {
      if (fs === 0) throw fail('kms.envelope.malformed', 'a record envelope has only a final frame');
      const end = off + 1 + fs + TAG;
      if (end > body.length) throw fail('kms.envelope.truncated', `frame ${index} is cut short`);
      parts.push(await cipher.openFrame(index, false, body.subarray(off + 1, end)));
      off = end;
    } else if (kind === FRAME_FINAL) {
      if (off + 5 > body.length) throw fail('kms.envelope.truncated', 'final frame is cut short');
      const len = new DataView(body.buffer, body.byteOffset + off + 1, 4).getUint32(0);
      if (fs !== 0 && len > fs) throw fail('kms.envelope.malformed', 'final frame longer than frameSize');
      const end = off + 5 + len + TAG;
      if (end > body.length) throw fail('kms.envelope.truncated', 'final frame is cut short');
      parts.push(await cipher.openFrame(index, true, body.subarray(off + 5, end)));
      if (end !== body.length) throw fail('kms.envelope.trailing-data', 'bytes follow the final frame');
      return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(...parts);
    } else {
      throw fail('kms.envelope.malformed', `unknown frame kind at frame ${index}`);
    }
  }
}
