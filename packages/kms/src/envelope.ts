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
/**
 * Default frame size of streaming mode: 1 MiB. Each frame costs a fixed amount on top of its bytes
 * (two AES-GCM contexts, a tag, a few WHATWG stream hops: ≈ 35 µs per frame encrypted and
 * decrypted on a 2-core VM); at 256 KiB frames that was a fifth of the time raw AES-GCM needs for
 * the same bytes, at 1 MiB about a twentieth (bench/kms.bench.ts). Decryption holds two frames, so a
 * stream being decrypted holds ≈ 2–3 MiB; pass a smaller `frameSize` when many streams run at once.
 */
export const DEFAULT_FRAME_SIZE = 1048576 as const;
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

/**
 * {@link isEncryptionContext} for a context decoded from a header (built with `Object.fromEntries`
 * or as own data properties by the direct reader): no symbol-keyed or hidden members to look for.
 */
function isDecodedContext(v: unknown): v is EncryptionContext {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const keys = Object.keys(v);
  if (keys.length > 32) return false;
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k];
    if (!CONTEXT_KEY_RE.test(k) || typeof x !== 'string' || x.length > 1024) return false;
  }
  return true;
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
  return checkHeaderFields(o, hasRef);
}

/**
 * {@link checkHeaderFast} once the key set is known to be right (`ref` present iff `hasRef`): the
 * fields checked and the header built, or undefined.
 */
function checkHeaderFields(
  o: Readonly<Record<string, unknown>>,
  hasRef: boolean,
): EnvelopeHeader | undefined {
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
    !isDecodedContext(ctx) ||
    (hasRef && !isObjectRef(ref))
  ) {
    return undefined;
  }
  const header: { -readonly [K in keyof EnvelopeHeader]: EnvelopeHeader[K] } = {
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
  };
  if (hasRef) header.objectRef = ref as string;
  return header;
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
  return encodeHeaderFast(header) ?? _encodeEnvelopeHeaderGeneric(header);
}

/** {@link encodeEnvelopeHeader} into a buffer `room` bytes longer; returns it and the header's length. */
function encodeHeaderWithRoom(header: EnvelopeHeader, room: number): { out: Uint8Array; length: number } {
  const fast = encodeHeaderFast(header, room);
  if (fast !== undefined) return { out: fast, length: fast.length - room };
  const head = _encodeEnvelopeHeaderGeneric(header);
  const out = new Uint8Array(head.length + room);
  out.set(head, 0);
  return { out, length: head.length };
}

/**
 * {@link encodeEnvelopeHeader} through core's generic CBOR encoder (the reference of the direct
 * writer; also what it falls back to).
 * @internal
 */
export function _encodeEnvelopeHeaderGeneric(header: EnvelopeHeader): Uint8Array {
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
  return withPrefix(encodeCbor(map));
}

function withPrefix(body: Uint8Array): Uint8Array {
  if (body.length > MAX_HEADER_SIZE) throw fail('kms.input.invalid', 'envelope header too large');
  const out = new Uint8Array(ENVELOPE_PREFIX_SIZE + body.length);
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = ENVELOPE_FORMAT;
  new DataView(out.buffer).setUint32(5, body.length);
  out.set(body, ENVELOPE_PREFIX_SIZE);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The header's CBOR, written and read directly. The generic codec (core cbor.ts) cost a third of a
// warm encrypt+decrypt (a writer per map key and value, a sort, a TextEncoder call per string; on
// the way back a Map, a duplicate-key re-encoding per key). Deterministic CBOR (RFC 8949 §4.2.1)
// has exactly one encoding of a given header, so a writer that emits the keys in their sorted order
// and a reader that accepts only that order give the generic codec's bytes and values. Anything
// else (non-ASCII text, unexpected types, any deviation when reading) takes the generic path, which
// also words the errors. `envelope-header-codec.test.ts` checks both against core's codec.

/** Header keys in deterministic order (§4.2.1: shorter encodings first, then bytewise). */
const K_V = 0;
const K_L1 = 1;
const K_L2 = 2;
const K_L3 = 3;
const K_WK = 4;
const K_CTX = 5;
const K_MID = 6;
const K_REF = 7;
const K_FRAME = 8;
const K_NONCE = 9;
const K_SUITE = 10;
const K_COMMIT = 11;
const K_OBJECT = 12;
const K_TENANT = 13;
const K_SERVICE = 14;
const KEY_NAMES = [
  'v',
  'l1',
  'l2',
  'l3',
  'wk',
  'ctx',
  'mid',
  'ref',
  'frame',
  'nonce',
  'suite',
  'commit',
  'object',
  'tenant',
  'service',
] as const;
/** Each key's CBOR encoding (text strings of ≤ 23 ASCII bytes: one head byte `0x60 + length`). */
const KEY_BYTES: readonly Uint8Array[] = /* @__PURE__ */ KEY_NAMES.map((k) =>
  Uint8Array.from([0x60 + k.length, ...Array.from(k, (c) => c.charCodeAt(0))]),
);

/** Bytes of the 14 keys every header has (all but `ref`). */
const KEYS_SIZE: number = /* @__PURE__ */ KEY_BYTES.reduce((n, b, i) => (i === K_REF ? n : n + b.length), 0);

/** Length of a CBOR head carrying argument `n` (n < 2³²). */
function headSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : 5;
}

function putHead(out: Uint8Array, o: number, major: number, n: number): number {
  const mt = major << 5;
  if (n < 24) {
    out[o] = mt | n;
    return o + 1;
  }
  if (n < 0x100) {
    out[o] = mt | 24;
    out[o + 1] = n;
    return o + 2;
  }
  if (n < 0x1_0000) {
    out[o] = mt | 25;
    out[o + 1] = n >>> 8;
    out[o + 2] = n & 0xff;
    return o + 3;
  }
  out[o] = mt | 26;
  out[o + 1] = n >>> 24;
  out[o + 2] = (n >>> 16) & 0xff;
  out[o + 3] = (n >>> 8) & 0xff;
  out[o + 4] = n & 0xff;
  return o + 5;
}

/** True when every UTF-16 unit of `s` is ASCII (then its UTF-8 bytes are its char codes). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function putAscii(out: Uint8Array, o: number, s: string): number {
  o = putHead(out, o, 3, s.length);
  for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i);
  return o + s.length;
}

function putBytes(out: Uint8Array, o: number, b: Uint8Array): number {
  o = putHead(out, o, 2, b.length);
  out.set(b, o);
  return o + b.length;
}

const isUint32 = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

/** Deterministic order of context keys: by length, then by code unit (all ASCII here). */
function compareAsciiKeys(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The prefixed header when it has the usual shape (ASCII text, integer versions), else undefined;
 * `room` more bytes are left free after it (a record's frame goes there: one buffer, no copy).
 */
function encodeHeaderFast(h: EnvelopeHeader, room = 0): Uint8Array | undefined {
  const { tenant, service, objectId, rootKeyId, messageId, wrappedKey, nonce, commitment, context } = h;
  const ref = h.objectRef;
  if (
    h.version !== 1 ||
    h.suite !== 1 ||
    typeof tenant !== 'string' ||
    typeof service !== 'string' ||
    typeof objectId !== 'string' ||
    typeof rootKeyId !== 'string' ||
    (ref !== undefined && typeof ref !== 'string') ||
    !isUint32(h.tenantKeyVersion) ||
    !isUint32(h.serviceKeyVersion) ||
    !isUint32(h.frameSize) ||
    !(messageId instanceof Uint8Array) ||
    !(wrappedKey instanceof Uint8Array) ||
    !(nonce instanceof Uint8Array) ||
    !(commitment instanceof Uint8Array) ||
    typeof context !== 'object' ||
    context === null ||
    !isAscii(tenant) ||
    !isAscii(service) ||
    !isAscii(objectId) ||
    !isAscii(rootKeyId) ||
    (ref !== undefined && !isAscii(ref))
  ) {
    return undefined;
  }
  const keys = Object.keys(context);
  const values: string[] = [];
  let ctxSize = headSize(keys.length);
  for (const k of keys) {
    const v = (context as Record<string, unknown>)[k];
    if (typeof v !== 'string' || !isAscii(k) || !isAscii(v)) return undefined;
    ctxSize += headSize(k.length) + k.length + headSize(v.length) + v.length;
  }
  keys.sort(compareAsciiKeys);
  for (const k of keys) values.push((context as Record<string, string>)[k] as string);
  const text = (s: string) => headSize(s.length) + s.length;
  const bin = (b: Uint8Array) => headSize(b.length) + b.length;
  let size =
    1 + // map head
    KEYS_SIZE +
    1 + // v
    text(rootKeyId) +
    headSize(h.tenantKeyVersion) +
    headSize(h.serviceKeyVersion) +
    bin(wrappedKey) +
    ctxSize +
    bin(messageId) +
    headSize(h.frameSize) +
    bin(nonce) +
    1 + // suite
    bin(commitment) +
    text(objectId) +
    text(tenant) +
    text(service);
  if (ref !== undefined) size += (KEY_BYTES[K_REF] as Uint8Array).length + text(ref);
  if (size > MAX_HEADER_SIZE) return undefined;
  const out = new Uint8Array(ENVELOPE_PREFIX_SIZE + size + room);
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = ENVELOPE_FORMAT;
  out[5] = size >>> 24;
  out[6] = (size >>> 16) & 0xff;
  out[7] = (size >>> 8) & 0xff;
  out[8] = size & 0xff;
  let o: number = ENVELOPE_PREFIX_SIZE;
  out[o++] = ref === undefined ? 0xae : 0xaf; // map of 14 / 15 pairs
  const key = (k: number): void => {
    const b = KEY_BYTES[k] as Uint8Array;
    out.set(b, o);
    o += b.length;
  };
  key(K_V);
  out[o++] = 0x01;
  key(K_L1);
  o = putAscii(out, o, rootKeyId);
  key(K_L2);
  o = putHead(out, o, 0, h.tenantKeyVersion);
  key(K_L3);
  o = putHead(out, o, 0, h.serviceKeyVersion);
  key(K_WK);
  o = putBytes(out, o, wrappedKey);
  key(K_CTX);
  o = putHead(out, o, 5, keys.length);
  for (let i = 0; i < keys.length; i++) {
    o = putAscii(out, o, keys[i] as string);
    o = putAscii(out, o, values[i] as string);
  }
  key(K_MID);
  o = putBytes(out, o, messageId);
  if (ref !== undefined) {
    key(K_REF);
    o = putAscii(out, o, ref);
  }
  key(K_FRAME);
  o = putHead(out, o, 0, h.frameSize);
  key(K_NONCE);
  o = putBytes(out, o, nonce);
  key(K_SUITE);
  out[o++] = 0x01;
  key(K_COMMIT);
  o = putBytes(out, o, commitment);
  key(K_OBJECT);
  o = putAscii(out, o, objectId);
  key(K_TENANT);
  o = putAscii(out, o, tenant);
  key(K_SERVICE);
  o = putAscii(out, o, service);
  if (o !== out.length - room) throw new Error('envelope header size miscounted'); // unreachable
  return out;
}

/** Reads the deterministic header encoding {@link encodeHeaderFast} writes; undefined on any deviation. */
class HeaderReader {
  pos: number;
  readonly b: Uint8Array;
  readonly end: number;

  constructor(b: Uint8Array, start: number) {
    this.b = b;
    this.pos = start;
    this.end = b.length;
  }

  /** The argument of a head of `major` in shortest form, or -1. */
  head(major: number): number {
    const { b } = this;
    if (this.pos >= this.end) return -1;
    const ib = b[this.pos] as number;
    if (ib >> 5 !== major) return -1;
    const ai = ib & 0x1f;
    if (ai < 24) {
      this.pos += 1;
      return ai;
    }
    let n: number;
    let min: number;
    let len: number;
    if (ai === 24) {
      len = 1;
      min = 24;
    } else if (ai === 25) {
      len = 2;
      min = 0x100;
    } else if (ai === 26) {
      len = 4;
      min = 0x1_0000;
    } else return -1;
    if (this.pos + 1 + len > this.end) return -1;
    n = 0;
    for (let i = 1; i <= len; i++) n = n * 256 + (b[this.pos + i] as number);
    if (n < min) return -1;
    this.pos += 1 + len;
    return n;
  }

  key(k: number): boolean {
    const kb = KEY_BYTES[k] as Uint8Array;
    if (this.pos + kb.length > this.end) return false;
    for (let i = 0; i < kb.length; i++) if (this.b[this.pos + i] !== kb[i]) return false;
    this.pos += kb.length;
    return true;
  }

  /** An ASCII text string (non-ASCII: undefined, the generic path decodes it). */
  text(): string | undefined {
    const n = this.head(3);
    if (n < 0 || this.pos + n > this.end) return undefined;
    const { b } = this;
    let s = '';
    for (let i = this.pos, e = this.pos + n; i < e; i++) {
      const c = b[i] as number;
      if (c > 0x7f) return undefined;
      s += String.fromCharCode(c);
    }
    this.pos += n;
    return s;
  }

  bytes(): Uint8Array | undefined {
    const n = this.head(2);
    if (n < 0 || this.pos + n > this.end) return undefined;
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Raw bytes `[from, to)` of a just-read item compared with the previous one: strictly ascending? */
  ascending(prevFrom: number, prevTo: number, from: number, to: number): boolean {
    const { b } = this;
    const la = prevTo - prevFrom;
    const lb = to - from;
    const n = Math.min(la, lb);
    for (let i = 0; i < n; i++) {
      const d = (b[prevFrom + i] as number) - (b[from + i] as number);
      if (d !== 0) return d < 0;
    }
    return la < lb;
  }
}

/**
 * The header of `body` (the CBOR after the prefix) when it is the deterministic encoding of a
 * header that `checkHeaderFast` accepts, else undefined (the generic path decides and explains).
 */
function parseHeaderFast(body: Uint8Array): EnvelopeHeader | undefined {
  const r = new HeaderReader(body, 0);
  const count = r.head(5);
  if (count !== 14 && count !== 15) return undefined;
  if (!r.key(K_V) || r.head(0) !== 1) return undefined;
  if (!r.key(K_L1)) return undefined;
  const l1 = r.text();
  if (l1 === undefined || !r.key(K_L2)) return undefined;
  const l2 = r.head(0);
  if (!r.key(K_L3)) return undefined;
  const l3 = r.head(0);
  if (!r.key(K_WK)) return undefined;
  const wk = r.bytes();
  if (wk === undefined || !r.key(K_CTX)) return undefined;
  const n = r.head(5);
  if (n < 0 || n > 32) return undefined;
  const ctx: Record<string, string> = {};
  let prevFrom = -1;
  let prevTo = -1;
  for (let i = 0; i < n; i++) {
    const from = r.pos;
    const k = r.text();
    if (k === undefined) return undefined;
    if (i > 0 && !r.ascending(prevFrom, prevTo, from, r.pos)) return undefined;
    prevFrom = from;
    prevTo = r.pos;
    const v = r.text();
    if (v === undefined) return undefined;
    // Own data properties as Object.fromEntries makes them (the generic path), even for `__proto__`.
    if (k === '__proto__')
      Object.defineProperty(ctx, k, { value: v, writable: true, enumerable: true, configurable: true });
    else ctx[k] = v;
  }
  if (!r.key(K_MID)) return undefined;
  const mid = r.bytes();
  if (mid === undefined) return undefined;
  let ref: string | undefined;
  if (count === 15) {
    if (!r.key(K_REF)) return undefined;
    ref = r.text();
    if (ref === undefined) return undefined;
  }
  if (!r.key(K_FRAME)) return undefined;
  const frame = r.head(0);
  if (!r.key(K_NONCE)) return undefined;
  const nonce = r.bytes();
  if (nonce === undefined || !r.key(K_SUITE) || r.head(0) !== 1 || !r.key(K_COMMIT)) return undefined;
  const commit = r.bytes();
  if (commit === undefined || !r.key(K_OBJECT)) return undefined;
  const object = r.text();
  if (object === undefined || !r.key(K_TENANT)) return undefined;
  const tenant = r.text();
  if (tenant === undefined || !r.key(K_SERVICE)) return undefined;
  const service = r.text();
  if (service === undefined || r.pos !== body.length) return undefined;
  // The fields are checked exactly as the generic path's fast check does (the key set is right
  // by construction).
  return checkHeaderFields(
    { v: 1, suite: 1, tenant, service, object, l1, l2, l3, mid, wk, nonce, frame, commit, ctx, ref },
    ref !== undefined,
  );
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
export function parseEnvelopeHeader(input: Uint8Array): { header: EnvelopeHeader; headerBytes: Uint8Array } {
  const { header, headerLength } = readEnvelopeHeader(input);
  return { header, headerBytes: plainView(input).slice(0, headerLength) };
}

/**
 * {@link parseEnvelopeHeader} without copying the header bytes: the header and how many bytes
 * (prefix included) it occupies.
 * @internal
 */
export function readEnvelopeHeader(input: Uint8Array): { header: EnvelopeHeader; headerLength: number } {
  if (!(input instanceof Uint8Array)) throw fail('kms.input.invalid', 'envelope must be a Uint8Array');
  const bytes = plainView(input);
  if (
    bytes.length < ENVELOPE_PREFIX_SIZE &&
    bytes.length >= 4 &&
    equalBytes(bytes.subarray(0, 4), ENVELOPE_MAGIC)
  ) {
    throw fail('kms.envelope.truncated', 'envelope ends inside its prefix');
  }
  // The usual prefix read in place (no views); anything else goes through readEnvelopePrefix.
  const len =
    bytes.length >= ENVELOPE_PREFIX_SIZE &&
    bytes[0] === 0x4f && // O
    bytes[1] === 0x4d && // M
    bytes[2] === 0x54 && // T
    bytes[3] === 0x45 && // E
    bytes[4] === ENVELOPE_FORMAT
      ? getU32(bytes, 5)
      : 0;
  const headerLength =
    ENVELOPE_PREFIX_SIZE +
    (len > 0 && len <= MAX_HEADER_SIZE ? len : readEnvelopePrefix(bytes.subarray(0, ENVELOPE_PREFIX_SIZE)));
  if (bytes.length < headerLength) throw fail('kms.envelope.truncated', 'envelope ends inside its header');
  const quick = parseHeaderFast(bytes.subarray(ENVELOPE_PREFIX_SIZE, headerLength));
  if (quick !== undefined) return { header: quick, headerLength };
  const { header } = _parseEnvelopeHeaderGeneric(bytes);
  return { header, headerLength };
}

/** A plain Uint8Array over the same bytes, so `slice` copies even for a Node Buffer (whose `slice` is a view). */
function plainView(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * {@link parseEnvelopeHeader} through core's generic strict CBOR decoder and the zod schema (the
 * reference of the direct reader; also what words its errors).
 * @internal
 */
export function _parseEnvelopeHeaderGeneric(input: Uint8Array): {
  header: EnvelopeHeader;
  headerBytes: Uint8Array;
} {
  if (!(input instanceof Uint8Array)) throw fail('kms.input.invalid', 'envelope must be a Uint8Array');
  const bytes = plainView(input);
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
  // Written into the scratch when it surely fits (no exact sizing pass), then copied out.
  if (tupleBound(items) <= TUPLE_SCRATCH.length) {
    return TUPLE_SCRATCH.slice(0, writeTuple(TUPLE_SCRATCH, TUPLE_SCRATCH_VIEW, 0, items));
  }
  const out = new Uint8Array(tupleSize(items));
  const end = writeTuple(out, new DataView(out.buffer), 0, items);
  return end === out.length ? out : out.subarray(0, end);
}

/**
 * An upper bound of the encoded size (a UTF-16 unit is at most 3 UTF-8 bytes), cheaper than
 * {@link tupleSize}: no pass over the characters.
 */
function tupleBound(items: readonly TupleItem[]): number {
  let n = 0;
  for (const it of items) {
    n += 5;
    if (it === null) continue;
    if (typeof it === 'string') n += 3 * it.length;
    else if (typeof it === 'number') n += 8;
    else if (it instanceof Uint8Array) n += it.length;
    else for (const k in it) n += 10 + 3 * (k.length + (it[k] as string).length);
  }
  return n;
}

/**
 * Scratch the AAD tuples and the header binding are written into: filled and read (hashed or
 * copied out) within one synchronous call, never handed out. Nothing secret goes into them.
 */
const TUPLE_SCRATCH = /* @__PURE__ */ new Uint8Array(4096);
const TUPLE_SCRATCH_VIEW = /* @__PURE__ */ new DataView(TUPLE_SCRATCH.buffer);

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

/** Writes `s` as UTF-8 at `o` (ASCII directly, else TextEncoder); returns the end. */
function writeUtf8(out: Uint8Array, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return o + textEncoder.encodeInto(s, out.subarray(o)).written;
    out[o + i] = c;
  }
  return o + s.length;
}

function writeTuple(out: Uint8Array, dv: DataView, at: number, items: readonly TupleItem[]): number {
  let o = at;
  for (const it of items) {
    const start = o;
    o += 5;
    let type: number;
    if (it === null) type = 0;
    else if (typeof it === 'string') {
      type = 1;
      o = writeUtf8(out, o, it);
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
      const keys = Object.keys(it).sort();
      for (const k of keys) {
        out[o] = 1;
        const kEnd = writeUtf8(out, o + 5, k);
        dv.setUint32(o + 1, kEnd - o - 5);
        out[kEnd] = 1;
        const vEnd = writeUtf8(out, kEnd + 5, it[k] as string);
        dv.setUint32(kEnd + 1, vEnd - kEnd - 5);
        o = vEnd;
      }
    }
    out[start] = type;
    dv.setUint32(start + 1, o - start - 5);
  }
  return o;
}

/**
 * SHA-256 over the key-independent header fields: what every frame authenticates (with the
 * engine's SHA-256 when it has one).
 */
export function headerBindingHash(header: EnvelopeHeader, engine?: AeadEngine): Uint8Array {
  const items: TupleItem[] = [
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
  ];
  // Hashed at once and never handed out: written into the scratch when it surely fits.
  let bytes: Uint8Array;
  if (tupleBound(items) <= TUPLE_SCRATCH.length) {
    bytes = TUPLE_SCRATCH.subarray(0, writeTuple(TUPLE_SCRATCH, TUPLE_SCRATCH_VIEW, 0, items));
  } else {
    const buf = new Uint8Array(tupleSize(items));
    bytes = buf.subarray(0, writeTuple(buf, new DataView(buf.buffer), 0, items));
  }
  return engine?.sha256 === undefined ? sha256(bytes) : engine.sha256(bytes);
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
  /** The raw key bytes of a one-shot cipher whose engine takes them directly: wiped by `dispose`. */
  readonly #raw: Uint8Array | undefined;
  #disposed = false;

  private constructor(
    header: EnvelopeHeader,
    key: AeadKey,
    engine: AeadEngine,
    headerHash: Uint8Array,
    raw?: Uint8Array,
  ) {
    this.header = header;
    this.#key = key;
    this.#engine = engine;
    this.#headerHash = headerHash;
    this.#raw = raw;
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
      return new EnvelopeCipher(header, key, engine, headerBindingHash(header, engine));
    } finally {
      keys.key.fill(0);
    }
  }

  /**
   * {@link create} for a cipher that seals or opens one record and is then {@link dispose}d (the
   * caller does so in a `finally`). With an engine that takes raw keys (`acceptsRawKeys`) the key
   * bytes are not imported: the cipher keeps `keys.key` itself and `dispose` wipes it, and it is
   * returned at once (no promise); with any other engine this is `create`.
   */
  static createOneShot(
    header: EnvelopeHeader,
    keys: { key: Uint8Array; commitment: Uint8Array },
    engine: AeadEngine = webCryptoAead,
  ): EnvelopeCipher | Promise<EnvelopeCipher> {
    if (engine.acceptsRawKeys !== true) return EnvelopeCipher.create(header, keys, engine);
    if (!sameCommitment(keys.commitment, header.commitment)) {
      keys.key.fill(0);
      throw fail(
        'kms.envelope.commitment-mismatch',
        'the data key does not match the envelope key commitment',
      );
    }
    try {
      return new EnvelopeCipher(header, keys.key, engine, headerBindingHash(header, engine), keys.key);
    } catch (e) {
      keys.key.fill(0);
      throw e;
    }
  }

  /** Wipes the key bytes a one-shot cipher holds; the cipher refuses every later use. */
  dispose(): void {
    this.#disposed = true;
    this.#raw?.fill(0);
  }

  /** The key for the engine (refused once disposed: a wiped raw key would be all zeros). */
  #liveKey(): AeadKey {
    if (this.#disposed) throw fail('kms.input.invalid', 'the envelope cipher was disposed');
    return this.#key;
  }

  /** `nonce XOR index` in the last 8 bytes (index < 2⁵³: the high word is `index / 2³²`). */
  #iv(index: number): Uint8Array {
    const iv = this.header.nonce.slice();
    putU32(iv, 4, getU32(iv, 4) ^ Math.floor(index / 0x1_0000_0000));
    putU32(iv, 8, getU32(iv, 8) ^ (index >>> 0));
    return iv;
  }

  #aad(index: number, final: boolean, length: number): Uint8Array {
    const aad = new Uint8Array(32 + 8 + 1 + 4);
    aad.set(this.#headerHash, 0);
    putU32(aad, 32, Math.floor(index / 0x1_0000_0000));
    putU32(aad, 36, index >>> 0);
    aad[40] = final ? FRAME_FINAL : FRAME_REGULAR;
    putU32(aad, 41, length);
    return aad;
  }

  /** The ciphertext and the tag of frame `index` (views of one buffer unless the engine gives them apart). */
  #seal(
    index: number,
    final: boolean,
    plaintext: Uint8Array,
  ): readonly [Uint8Array, Uint8Array] | Promise<readonly [Uint8Array, Uint8Array]> {
    if (!final && plaintext.length !== this.header.frameSize) {
      throw fail('kms.input.invalid', 'regular frames carry exactly frameSize bytes');
    }
    if (plaintext.length > MAX_RECORD_SIZE) throw fail('kms.input.invalid', 'frame too large');
    const key = this.#liveKey();
    const iv = this.#iv(index);
    const aad = this.#aad(index, final, plaintext.length);
    const e = this.#engine;
    if (e.sealDetached !== undefined) return e.sealDetached(key, iv, aad, plaintext);
    const sealed = e.seal(key, iv, aad, plaintext);
    return sealed instanceof Promise ? sealed.then(splitTag) : splitTag(sealed);
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
    const [head, ct, tag] = await this.sealFrameDetached(index, final, plaintext);
    return [head, joinAdjacent(ct, tag)];
  }

  /**
   * Seals frame `index` as three parts, `[frame head, ciphertext, tag]`: what a stream emits. With
   * an engine that has `sealDetached` (node:crypto) nothing is copied; otherwise `ciphertext` and
   * `tag` are views of the engine's one output.
   */
  async sealFrameDetached(
    index: number,
    final: boolean,
    plaintext: Uint8Array,
  ): Promise<[head: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array]> {
    return this.sealFrameDetachedNow(index, final, plaintext);
  }

  /**
   * {@link sealFrameDetached}, answered at once (no promise) when the engine seals synchronously.
   * @internal the stream path
   */
  sealFrameDetachedNow(
    index: number,
    final: boolean,
    plaintext: Uint8Array,
  ):
    | [head: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array]
    | Promise<[head: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array]> {
    const parts = this.#seal(index, final, plaintext);
    const n = plaintext.length;
    return parts instanceof Promise
      ? parts.then(([ct, tag]) => [frameHead(final, n), ct, tag])
      : [frameHead(final, n), parts[0], parts[1]];
  }

  /** Seals frame `index` into one byte string (see {@link sealFrameParts}). */
  async sealFrame(index: number, final: boolean, plaintext: Uint8Array): Promise<Uint8Array> {
    const [ct, tag] = await this.#seal(index, final, plaintext);
    const head = frameHead(final, plaintext.length);
    const out = new Uint8Array(head.length + ct.length + TAG);
    out.set(head, 0);
    out.set(ct, head.length);
    out.set(tag, head.length + ct.length);
    return out;
  }

  /**
   * A whole record envelope: the encoded header (of this cipher's header, which must be in record
   * mode) followed by the one final frame, written into one buffer.
   */
  async sealRecord(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.sealRecordNow(plaintext);
  }

  /**
   * {@link sealRecord}, answered at once (no promise) when the engine seals synchronously.
   * @internal the warm encrypt path
   */
  sealRecordNow(plaintext: Uint8Array): Uint8Array | Promise<Uint8Array> {
    if (this.header.frameSize !== 0) throw fail('kms.input.invalid', 'not a record envelope');
    const parts = this.#seal(0, true, plaintext);
    const n = plaintext.length;
    return parts instanceof Promise ? parts.then((p) => this.#recordOf(n, p)) : this.#recordOf(n, parts);
  }

  /** The header and the final frame of `length` plaintext bytes, in one buffer. */
  #recordOf(length: number, [ct, tag]: readonly [Uint8Array, Uint8Array]): Uint8Array {
    const { out, length: h } = encodeHeaderWithRoom(this.header, 5 + ct.length + TAG);
    out[h] = FRAME_FINAL;
    putU32(out, h + 1, length);
    out.set(ct, h + 5);
    out.set(tag, h + 5 + ct.length);
    return out;
  }

  /** Opens the ciphertext‖tag of frame `index`; `kms.envelope.auth-failed` when it does not authenticate. */
  async openFrame(index: number, final: boolean, sealed: Uint8Array): Promise<Uint8Array> {
    return this.openFrameNow(index, final, sealed);
  }

  /**
   * {@link openFrame}, answered at once (no promise) when the engine opens synchronously; its
   * errors are thrown (or rejected) as `kms.envelope.auth-failed` all the same.
   * @internal the warm decrypt path
   */
  openFrameNow(index: number, final: boolean, sealed: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const length = sealed.length - TAG;
    if (length < 0) throw fail('kms.envelope.truncated', `frame ${index} is shorter than its tag`);
    const key = this.#liveKey();
    let plain: Uint8Array | Promise<Uint8Array>;
    try {
      plain = this.#engine.open(key, this.#iv(index), this.#aad(index, final, length), sealed);
    } catch (e) {
      throw authFailed(index, e);
    }
    return plain instanceof Promise
      ? plain.catch((e: unknown) => {
          throw authFailed(index, e);
        })
      : plain;
  }

  /**
   * {@link openFrame} with the ciphertext and the 16-byte tag apart (as a stream reader may hold
   * them): handed to the engine apart when it has `openDetached`, else joined (a view when they are
   * adjacent in one buffer, a copy otherwise).
   */
  async openFrameDetached(
    index: number,
    final: boolean,
    ciphertext: Uint8Array,
    tag: Uint8Array,
  ): Promise<Uint8Array> {
    return this.openFrameDetachedNow(index, final, ciphertext, tag);
  }

  /**
   * {@link openFrameDetached}, answered at once (no promise) when the engine opens synchronously;
   * its errors are thrown (or rejected) as `kms.envelope.auth-failed` all the same.
   * @internal the stream path
   */
  openFrameDetachedNow(
    index: number,
    final: boolean,
    ciphertext: Uint8Array,
    tag: Uint8Array,
  ): Uint8Array | Promise<Uint8Array> {
    if (tag.length !== TAG) throw fail('kms.envelope.truncated', `frame ${index} is shorter than its tag`);
    const e = this.#engine;
    if (e.openDetached === undefined) return this.openFrameNow(index, final, joinAdjacent(ciphertext, tag));
    const key = this.#liveKey();
    let plain: Uint8Array | Promise<Uint8Array>;
    try {
      plain = e.openDetached(
        key,
        this.#iv(index),
        this.#aad(index, final, ciphertext.length),
        ciphertext,
        tag,
      );
    } catch (err) {
      throw authFailed(index, err);
    }
    return plain instanceof Promise
      ? plain.catch((err: unknown) => {
          throw authFailed(index, err);
        })
      : plain;
  }
}

/** Big-endian u32 at `o` (no DataView: these run for every frame). */
function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function getU32(b: Uint8Array, o: number): number {
  return (
    (((b[o] as number) << 24) |
      ((b[o + 1] as number) << 16) |
      ((b[o + 2] as number) << 8) |
      (b[o + 3] as number)) >>>
    0
  );
}

function authFailed(index: number, cause: unknown): OmtError {
  return fail(
    'kms.envelope.auth-failed',
    `frame ${index} does not authenticate (tampered, reordered, truncated or from another envelope)`,
    cause,
  );
}

/** The kind byte (and, for the final frame, the u32 BE length) that starts a frame. */
function frameHead(final: boolean, length: number): Uint8Array {
  if (!final) return Uint8Array.of(FRAME_REGULAR);
  const head = new Uint8Array(5);
  head[0] = FRAME_FINAL;
  new DataView(head.buffer).setUint32(1, length);
  return head;
}

/** A sealed frame as `[ciphertext, tag]` views. */
function splitTag(sealed: Uint8Array): readonly [Uint8Array, Uint8Array] {
  return [sealed.subarray(0, sealed.length - TAG), sealed.subarray(sealed.length - TAG)];
}

/** `a ‖ b`: a view when `b` directly follows `a` in the same buffer, else a copy. */
function joinAdjacent(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset) {
    return new Uint8Array(a.buffer, a.byteOffset, a.length + b.length);
  }
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
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
  return openEnvelopeBodyNow(cipher, body);
}

/**
 * {@link openEnvelopeBody}, answered at once (no promise) for a record (one final frame) when the
 * engine opens synchronously.
 * @internal the warm decrypt path
 */
export function openEnvelopeBodyNow(
  cipher: EnvelopeCipher,
  body: Uint8Array,
): Uint8Array | Promise<Uint8Array> {
  if (cipher.header.frameSize !== 0 || body[0] !== FRAME_FINAL) return openFrames(cipher, body);
  // A record: exactly one final frame, the checks as below.
  if (body.length < 5) throw fail('kms.envelope.truncated', 'final frame is cut short');
  const len = getU32(body, 1);
  const end = 5 + len + TAG;
  if (end > body.length) throw fail('kms.envelope.truncated', 'final frame is cut short');
  if (end !== body.length) {
    // Authenticate first (as below), then refuse the trailing bytes.
    const plain = cipher.openFrameNow(0, true, body.subarray(5, end));
    const trailing = (): never => {
      throw fail('kms.envelope.trailing-data', 'bytes follow the final frame');
    };
    return plain instanceof Promise ? plain.then(trailing) : trailing();
  }
  return cipher.openFrameNow(0, true, body.subarray(5, end));
}

async function openFrames(cipher: EnvelopeCipher, body: Uint8Array): Promise<Uint8Array> {
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
