/**
 * Checkpoint cosignatures (c2sp.org/tlog-cosignature): a witness's timestamped statement that a
 * checkpoint is consistent with everything it saw of that log. Two note signature types:
 *
 * - `cosignature/v1` — type byte `0x04`, Ed25519. Signed message:
 *   `"cosignature/v1\n" ‖ "time <t>\n" ‖ <checkpoint note text>` (extension lines included).
 *   Key ID `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ 32-byte key)[:4]`.
 * - `subtree/v1` — type byte `0x06`, ML-DSA-44 (FIPS 204, pure, empty context). Signed message:
 *   the `cosigned_message` struct `"subtree/v1\n\0" ‖ u8 len ‖ cosigner name ‖ u64 timestamp ‖
 *   u8 len ‖ origin ‖ u64 start ‖ u64 end ‖ hash[32]` (a checkpoint: start 0, end = size; a
 *   subtree with start ≠ 0 has timestamp 0). Extension lines are not signed.
 *
 * Either signature is `u64 timestamp ‖ signature` (POSIX seconds, big-endian). Cosigner keys are
 * {@link NoteVerifier}s / {@link NoteSigner}s, so `openNote` and `verifyNoteSignatures` take them;
 * their timestamps come from an injectable clock.
 *
 * @example
 * ```ts
 * const w = await newCosignerKey('witness.example/w1', 'ML-DSA-44');
 * const cosigned = await cosignCheckpoint(signedCheckpoint, [w.signer]);
 * const { cosignatures } = await verifyCosignatures(cosigned, [w.vkey]);
 * ```
 */
import { concatBytes, isBytes, toHex, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { type Clock, type RandomSource, systemClock } from '@omt/core/random';
import { getSuite } from '@omt/core/suites';
import { type Checkpoint, parseCheckpoint } from './tlog-checkpoint.js';
import {
  cacheVerifier,
  formatSignerKey,
  formatVerifierKey,
  isValidKeyName,
  keySeed,
  NOTE_TYPE_COSIGNATURE_V1,
  NOTE_TYPE_ED25519,
  NOTE_TYPE_SUBTREE_V1,
  type Note,
  type NoteKeyOptions,
  type NoteKeyPair,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  noteKeyId,
  parseNote,
  parseVerifierKey,
  signatureLine,
  signNote,
  splitSignerKey,
  splitVerifierKey,
  verifyNoteSignatures,
} from './tlog-note.js';

/** The algorithm of a cosigner key: Ed25519 (`cosignature/v1`) or ML-DSA-44 (`subtree/v1`). */
export type CosignerAlg = 'Ed25519' | 'ML-DSA-44';

/** The header line of the Ed25519 cosignature message. */
export const COSIGNATURE_V1_HEADER = 'cosignature/v1';
/** The 12-byte label of the ML-DSA-44 `cosigned_message`. */
export const SUBTREE_V1_LABEL: Uint8Array = /* @__PURE__ */ utf8('subtree/v1\n\0');

const TIMESTAMP_SIZE = 8;
const ED25519_SIG = 64;
const ML_DSA_44_SIG = 2420;
const ML_DSA_44_PK = 1312;

/** What a `subtree/v1` cosignature states: the tree hash of leaves [start, end) of a log. */
export interface SubtreeStatement {
  readonly origin: string;
  readonly start: number;
  readonly end: number;
  /** The subtree's Merkle Tree Hash (32 bytes). */
  readonly hash: Uint8Array;
}

/** A cosignature that verified. */
export interface Cosignature {
  readonly name: string;
  readonly keyId: number;
  /** POSIX seconds the cosigner put in its signature. */
  readonly timestamp: number;
  readonly verifier: NoteVerifier;
  readonly signature: NoteSignature;
}

function invalidInput(message: string): OmtError {
  return new OmtError('ledger.cosignature.invalid', message);
}
function keyInvalid(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.note.key-invalid', message, cause === undefined ? undefined : { cause });
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function readTimestamp(sig: Uint8Array): number | undefined {
  if (sig.length < TIMESTAMP_SIZE) return undefined;
  const t = new DataView(sig.buffer, sig.byteOffset, TIMESTAMP_SIZE).getBigUint64(0);
  return t <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(t) : undefined;
}

function checkTimestamp(t: number): number {
  if (!Number.isSafeInteger(t) || t < 0)
    throw invalidInput('timestamp must be a safe integer ≥ 0 (POSIX seconds)');
  return t;
}

/**
 * The Ed25519 `cosignature/v1` signed message over checkpoint note text.
 * @example `cosignatureV1Message(1679315147, 'example.com/behind-the-sofa\n20852163\nCsUY…=\n')`
 */
export function cosignatureV1Message(timestamp: number, checkpointText: string): Uint8Array {
  if (typeof checkpointText !== 'string' || !checkpointText.endsWith('\n')) {
    throw invalidInput('checkpoint text must end with a newline');
  }
  return utf8(`${COSIGNATURE_V1_HEADER}\ntime ${checkTimestamp(timestamp)}\n${checkpointText}`);
}

function opaque8(text: string, what: string): Uint8Array {
  const b = utf8(text);
  if (b.length < 1 || b.length > 255) throw invalidInput(`${what} must be 1–255 bytes`);
  return concatBytes(Uint8Array.of(b.length), b);
}

/**
 * The ML-DSA-44 `subtree/v1` `cosigned_message` (tlog-cosignature §ML-DSA-44 signed message).
 * @example `subtreeV1Message('witness.example/w1', t, { origin, start: 0, end: size, hash: root })`
 */
export function subtreeV1Message(cosigner: string, timestamp: number, s: SubtreeStatement): Uint8Array {
  checkTimestamp(timestamp);
  if (!Number.isSafeInteger(s.start) || !Number.isSafeInteger(s.end) || s.start < 0 || s.end <= s.start) {
    throw invalidInput('subtree must have 0 ≤ start < end');
  }
  if (s.start !== 0 && timestamp !== 0) throw invalidInput('a subtree with start ≠ 0 must have timestamp 0');
  if (!isBytes(s.hash) || s.hash.length !== 32) throw invalidInput('subtree hash must be 32 bytes');
  return concatBytes(
    SUBTREE_V1_LABEL,
    opaque8(cosigner, 'cosigner name'),
    u64(timestamp),
    opaque8(s.origin, 'log origin'),
    u64(s.start),
    u64(s.end),
    s.hash,
  );
}

/**
 * The timestamp of a cosignature (either type), without verifying it; undefined when the bytes
 * are too short or the time exceeds 2^53 − 1.
 * @example `cosignatureTimestamp(note.signatures[1].signature) // 1679315147`
 */
export function cosignatureTimestamp(signature: Uint8Array): number | undefined {
  if (!isBytes(signature) || signature.length < TIMESTAMP_SIZE + ED25519_SIG) return undefined;
  return readTimestamp(signature);
}

function checkpointStatement(text: string): SubtreeStatement | undefined {
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(text);
  } catch {
    return undefined;
  }
  if (cp.size === 0) return undefined; // cosigned_message has end > start; an empty tree has no subtree
  return { origin: cp.origin, start: 0, end: cp.size, hash: cp.root };
}

/** A cosigner's public key; `verifySubtree` checks `subtree/v1` statements outside checkpoints. */
export interface CosignerVerifier extends NoteVerifier {
  readonly type: 'cosignature/v1' | 'subtree/v1';
  /** Verifies a `subtree/v1` signature (`u64 timestamp ‖ sig`) over a statement; false for Ed25519 keys. */
  verifySubtree(statement: SubtreeStatement, signature: Uint8Array): Promise<boolean>;
}

/** A cosigner's secret key. */
export interface CosignerSigner extends NoteSigner {
  readonly type: 'cosignature/v1' | 'subtree/v1';
  readonly verifier: CosignerVerifier;
  /** Signs a `subtree/v1` statement (ML-DSA-44 keys only); timestamp 0 unless given for start 0. */
  signSubtree(statement: SubtreeStatement, timestamp?: number): Promise<Uint8Array>;
}

class CosignerKey implements CosignerVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: 'cosignature/v1' | 'subtree/v1';
  readonly vkey: string;
  readonly #publicKey: Uint8Array;

  constructor(name: string, alg: CosignerAlg, publicKey: Uint8Array) {
    const size = alg === 'Ed25519' ? 32 : ML_DSA_44_PK;
    if (publicKey.length !== size) throw keyInvalid(`${alg} cosigner key must be ${size} bytes`);
    if (!isValidKeyName(name) || utf8(name).length > 255) throw keyInvalid('invalid cosigner name');
    const type = Uint8Array.of(alg === 'Ed25519' ? NOTE_TYPE_COSIGNATURE_V1 : NOTE_TYPE_SUBTREE_V1);
    this.name = name;
    this.type = alg === 'Ed25519' ? 'cosignature/v1' : 'subtree/v1';
    this.#publicKey = publicKey.slice();
    this.keyId = noteKeyId(name, type, publicKey);
    this.vkey = formatVerifierKey(name, type, publicKey);
  }

  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  async verify(text: string, signature: Uint8Array): Promise<boolean> {
    const t = readTimestamp(signature);
    if (t === undefined) return false;
    const sig = signature.subarray(TIMESTAMP_SIZE);
    try {
      if (this.type === 'cosignature/v1') {
        if (sig.length !== ED25519_SIG) return false;
        return await getSuite('Ed25519').verify(this.#publicKey, cosignatureV1Message(t, text), sig);
      }
      const statement = checkpointStatement(text);
      if (statement === undefined || sig.length !== ML_DSA_44_SIG) return false;
      return await getSuite('ML-DSA-44').verify(
        this.#publicKey,
        subtreeV1Message(this.name, t, statement),
        sig,
      );
    } catch {
      return false;
    }
  }

  async verifySubtree(statement: SubtreeStatement, signature: Uint8Array): Promise<boolean> {
    if (
      this.type !== 'subtree/v1' ||
      !isBytes(signature) ||
      signature.length !== TIMESTAMP_SIZE + ML_DSA_44_SIG
    ) {
      return false;
    }
    const t = readTimestamp(signature);
    if (t === undefined) return false;
    try {
      const msg = subtreeV1Message(this.name, t, statement);
      return await getSuite('ML-DSA-44').verify(this.#publicKey, msg, signature.subarray(TIMESTAMP_SIZE));
    } catch {
      return false;
    }
  }
}

class CosignerSecret implements CosignerSigner {
  readonly name: string;
  readonly keyId: number;
  readonly type: 'cosignature/v1' | 'subtree/v1';
  readonly vkey: string;
  readonly verifier: CosignerVerifier;
  readonly #seed: Uint8Array;
  readonly #clock: Clock;
  readonly #random: RandomSource | undefined;

  constructor(verifier: CosignerKey, seed: Uint8Array, options: NoteKeyOptions | undefined) {
    this.name = verifier.name;
    this.keyId = verifier.keyId;
    this.type = verifier.type;
    this.vkey = verifier.vkey;
    this.verifier = verifier;
    this.#seed = seed.slice();
    this.#clock = options?.clock ?? systemClock;
    this.#random = options?.random;
  }

  #now(): number {
    return checkTimestamp(Math.floor(this.#clock().getTime() / 1000));
  }

  async sign(text: string): Promise<Uint8Array> {
    const t = this.#now();
    if (this.type === 'cosignature/v1') {
      const sig = await getSuite('Ed25519').sign(this.#seed, cosignatureV1Message(t, text));
      return concatBytes(u64(t), sig);
    }
    const statement = checkpointStatement(text);
    if (statement === undefined)
      throw invalidInput('a subtree/v1 cosigner signs only checkpoints of size ≥ 1');
    return this.signSubtree(statement, t);
  }

  async signSubtree(statement: SubtreeStatement, timestamp = 0): Promise<Uint8Array> {
    if (this.type !== 'subtree/v1') throw invalidInput('only ML-DSA-44 (subtree/v1) cosigners sign subtrees');
    const msg = subtreeV1Message(this.name, timestamp, statement);
    const sig = await getSuite('ML-DSA-44').sign(
      this.#seed,
      msg,
      this.#random === undefined ? undefined : { random: this.#random },
    );
    return concatBytes(u64(timestamp), sig);
  }
}

const cosignerCache = new Map<string, NoteVerifier>();

/**
 * Parses a cosigner vkey: type `0x04` (Ed25519 cosignature/v1) or `0x06` (ML-DSA-44
 * subtree/v1). For interoperability with transparency-dev witness configurations, an Ed25519
 * vkey of type `0x01` is accepted as the same key used for cosignature/v1 (its key ID is then
 * recomputed with `0x04`, as `VKeyToCosignatureV1` of transparency-dev/formats does). Cached.
 * Throws `ledger.note.key-invalid`.
 *
 * @example
 * ```ts
 * const w = parseCosignerKey('remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2');
 * ```
 */
export function parseCosignerKey(vkey: string): CosignerVerifier {
  const cached = typeof vkey === 'string' ? cosignerCache.get(vkey) : undefined;
  if (cached !== undefined) return cached as CosignerVerifier;
  const { name, keyId, key } = splitVerifierKey(vkey);
  const type = key[0];
  const pk = key.subarray(1);
  let v: CosignerKey;
  if (type === NOTE_TYPE_COSIGNATURE_V1 || type === NOTE_TYPE_ED25519) {
    v = new CosignerKey(name, 'Ed25519', pk);
    const expected =
      type === NOTE_TYPE_ED25519 ? noteKeyId(name, Uint8Array.of(NOTE_TYPE_ED25519), pk) : v.keyId;
    if (expected !== keyId) throw keyInvalid('vkey key ID does not match its name and key');
  } else if (type === NOTE_TYPE_SUBTREE_V1) {
    v = new CosignerKey(name, 'ML-DSA-44', pk);
    if (v.keyId !== keyId) throw keyInvalid('vkey key ID does not match its name and key');
  } else {
    throw keyInvalid(`not a cosigner key type: 0x${toHex(key.subarray(0, 1))}`);
  }
  cacheVerifier(cosignerCache, vkey, v);
  return v;
}

/**
 * Parses a vkey of any type this package speaks: the plain note types (tlog-note.ts) and the
 * cosigner types (`0x04`, `0x06`). `0x01` stays a plain Ed25519 key here.
 * @example `parseAnyVerifierKey(vkey).type // 'ML-DSA-65' | 'subtree/v1' | …`
 */
export function parseAnyVerifierKey(vkey: string): NoteVerifier {
  const { key } = splitVerifierKey(vkey);
  return key[0] === NOTE_TYPE_COSIGNATURE_V1 || key[0] === NOTE_TYPE_SUBTREE_V1
    ? parseCosignerKey(vkey)
    : parseVerifierKey(vkey);
}

/**
 * Parses a *log* key: a plain note key (Ed25519 `0x01`, the OMT ML-DSA types) or an ML-DSA-44
 * `subtree/v1` key, with which tlog-checkpoint recommends logs sign their checkpoints. Ed25519
 * cosignature/v1 keys are refused (they are witness keys). Throws `ledger.note.key-invalid`.
 * @example `parseLogKey('op1.omt.example+…').name // 'op1.omt.example'`
 */
export function parseLogKey(vkey: string): NoteVerifier {
  // Cached: an ML-DSA log key is ~2.6 KB of base64, and clients check every receipt against one.
  const hit = logKeys.get(vkey);
  if (hit !== undefined) return hit;
  const { key } = splitVerifierKey(vkey);
  const verifier = key[0] === NOTE_TYPE_SUBTREE_V1 ? parseCosignerKey(vkey) : parseVerifierKey(vkey);
  if (logKeys.size >= LOG_KEYS_KEPT) logKeys.clear();
  logKeys.set(vkey, verifier);
  return verifier;
}

/** Parsed log keys (verifiers are immutable), by vkey text. */
const logKeys = new Map<string, NoteVerifier>();
const LOG_KEYS_KEPT = 256;

async function cosignerPublicKey(alg: CosignerAlg, seed: Uint8Array): Promise<Uint8Array> {
  try {
    return await getSuite(alg).publicKeyFromSecret(seed);
  } catch (e) {
    throw keyInvalid('invalid cosigner secret key', e);
  }
}

/**
 * Generates a cosigner (witness) key: Ed25519 (`cosignature/v1`) or ML-DSA-44 (`subtree/v1`,
 * which the spec recommends for new deployments). The skey is `PRIVATE+KEY+<name>+<id>+
 * base64(type ‖ 32-byte seed)`, the format of transparency-dev/formats.
 *
 * @example
 * ```ts
 * const { signer, vkey } = await newCosignerKey('op2.omt.example/witness', 'Ed25519', { clock });
 * ```
 */
export async function newCosignerKey(
  name: string,
  alg: CosignerAlg,
  options?: NoteKeyOptions,
): Promise<NoteKeyPair & { readonly signer: CosignerSigner; readonly verifier: CosignerVerifier }> {
  if (alg !== 'Ed25519' && alg !== 'ML-DSA-44') throw keyInvalid('a cosigner key is Ed25519 or ML-DSA-44');
  const seed = keySeed(options);
  const verifier = new CosignerKey(name, alg, await cosignerPublicKey(alg, seed));
  const signer = new CosignerSecret(verifier, seed, options);
  const type = Uint8Array.of(alg === 'Ed25519' ? NOTE_TYPE_COSIGNATURE_V1 : NOTE_TYPE_SUBTREE_V1);
  return { skey: formatSignerKey(name, verifier.keyId, type, seed), vkey: verifier.vkey, signer, verifier };
}

/**
 * Parses a cosigner skey (type `0x04` or `0x06` followed by the 32-byte seed; `0x01` Ed25519 seeds
 * are accepted as cosignature/v1 keys, as transparency-dev/formats does). Throws
 * `ledger.note.key-invalid`.
 * @example `const signer = await parseCosignerSignerKey(skey, { clock });`
 */
export async function parseCosignerSignerKey(
  skey: string,
  options?: NoteKeyOptions,
): Promise<CosignerSigner> {
  const { name, keyId, key } = splitSignerKey(skey);
  const type = key[0];
  const seed = key.subarray(1);
  if (seed.length !== 32) throw keyInvalid('a cosigner skey holds a 32-byte seed');
  const alg: CosignerAlg | undefined =
    type === NOTE_TYPE_COSIGNATURE_V1 || type === NOTE_TYPE_ED25519
      ? 'Ed25519'
      : type === NOTE_TYPE_SUBTREE_V1
        ? 'ML-DSA-44'
        : undefined;
  if (alg === undefined) throw keyInvalid(`not a cosigner key type: 0x${toHex(key.subarray(0, 1))}`);
  const pk = await cosignerPublicKey(alg, seed);
  const verifier = new CosignerKey(name, alg, pk);
  const expected =
    type === NOTE_TYPE_ED25519 ? noteKeyId(name, Uint8Array.of(NOTE_TYPE_ED25519), pk) : verifier.keyId;
  if (expected !== keyId) throw keyInvalid('skey key ID does not match its name and key');
  return new CosignerSecret(verifier, seed, options);
}

function toCosigners(keys: readonly (NoteVerifier | string)[]): NoteVerifier[] {
  return keys.map((k) => (typeof k === 'string' ? parseCosignerKey(k) : k));
}

/**
 * Adds the cosigners' signatures to a signed checkpoint (replacing earlier lines of the same
 * keys). It does not verify the log's signature: a witness does that first (tlog-witness.ts).
 * @example `const cosigned = await cosignCheckpoint(signedCheckpoint, [witnessSigner]);`
 */
export async function cosignCheckpoint(
  signed: string | Uint8Array | Note,
  cosigners: readonly NoteSigner[],
): Promise<string> {
  const note = typeof signed === 'string' || isBytes(signed) ? parseNote(signed) : signed;
  parseCheckpoint(note.text);
  return signNote(note, cosigners);
}

/**
 * The cosignature lines of `cosigners` over checkpoint note text (what a witness answers).
 * @example `await cosignatureLines(checkpointText, [w.signer]) // '— w … \n'`
 */
export async function cosignatureLines(
  checkpointText: string,
  cosigners: readonly NoteSigner[],
): Promise<string> {
  parseCheckpoint(checkpointText);
  const sigs = await Promise.all(
    cosigners.map(async (s) => ({ name: s.name, keyId: s.keyId, signature: await s.sign(checkpointText) })),
  );
  return sigs.map(signatureLine).join('');
}

/** Result of {@link verifyCosignatures}. */
export interface CosignatureVerification {
  readonly checkpoint: Checkpoint;
  readonly note: Note;
  /** Cosignatures of known cosigners that verified (one per key). */
  readonly cosignatures: readonly Cosignature[];
  /** Known cosigners whose signature line did not verify. */
  readonly invalid: readonly NoteVerifier[];
}

/**
 * Verifies the cosignatures of known cosigners on a checkpoint (the log's own signature is
 * {@link verifyCheckpoint}'s job). Returns data; throws only for a malformed note or checkpoint.
 * @example `(await verifyCosignatures(text, witnessVkeys)).cosignatures.map((c) => c.name)`
 */
export async function verifyCosignatures(
  signed: string | Uint8Array | Note,
  cosigners: readonly (NoteVerifier | string)[],
): Promise<CosignatureVerification> {
  const note = typeof signed === 'string' || isBytes(signed) ? parseNote(signed) : signed;
  const checkpoint = parseCheckpoint(note.text);
  const v = await verifyNoteSignatures(note, toCosigners(cosigners));
  return {
    checkpoint,
    note,
    cosignatures: v.verified.map(({ signature, verifier }) => ({
      name: verifier.name,
      keyId: verifier.keyId,
      timestamp: readTimestamp(signature.signature) ?? 0,
      verifier,
      signature,
    })),
    invalid: v.invalid.map((i) => i.verifier),
  };
}
