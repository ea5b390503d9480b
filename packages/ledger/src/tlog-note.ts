/**
 * C2SP signed notes (c2sp.org/signed-note@v1.0.0): text signed by one or more keys, the envelope
 * of checkpoints, cosignatures and witness answers.
 *
 * ```
 * <text ending in a newline>
 * <blank line>
 * — <key name> base64(uint32 key ID ‖ signature)
 * ```
 *
 * Rules kept here (signed-note §Format, §Signatures): the note is valid UTF-8 without ASCII control
 * characters other than newline; the text is separated from the signature lines by the *last* empty
 * line; key names are non-empty without Unicode white space or `+`; a signature decodes to 4 + n ≥ 5
 * bytes. Verifiers ignore signatures of unknown keys (a key is its name *and* key ID); a signature
 * of a known key that does not verify rejects the whole note; a note with no verified signature is
 * rejected. Limits: {@link NOTE_MAX_BYTES} (1 MiB) and {@link NOTE_MAX_SIGNATURES} (100, as
 * golang.org/x/mod/sumdb/note; the spec requires at least 16).
 *
 * Key IDs: `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]` (big-endian uint32). Verifier keys
 * (*vkeys*): `<name>+<hex key ID>+<base64(type ‖ public key)>`; signer keys (*skeys*, the x/mod
 * format): `PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ secret)>`.
 *
 * Signature types of this file:
 * - `Ed25519` — type byte `0x01`, RFC 8032 over the note text; secret = 32-byte seed.
 * - `ML-DSA-44` / `ML-DSA-65` / `ML-DSA-87` — **OpenMediaTrust types**: signed-note assigns no
 *   byte to plain ML-DSA note signatures, so these use the reserved `0xff` byte followed by a
 *   newline-terminated identifier (signed-note §Signature types: "It is RECOMMENDED that this
 *   byte be followed by a longer identifier that is unlikely to collide"): the type is the bytes
 *   `0xff ‖ "omt/ML-DSA-65/v1\n"` (resp. 44, 87). The signature is FIPS 204 pure ML-DSA with the
 *   empty context over the note text; secret = the 32-byte seed ξ (core suites). Operators' log
 *   keys are ML-DSA-65 by default (docs/event-chains.md).
 *
 * The cosignature types (`0x04` Ed25519 cosignature/v1, `0x06` ML-DSA-44 subtree/v1) are in
 * tlog-cosignature.ts; their verifiers and signers implement the same {@link NoteVerifier} and
 * {@link NoteSigner} interfaces, so {@link openNote} takes them all.
 *
 * @example
 * ```ts
 * const { signer, verifier } = await newNoteKey('op1.omt.example', 'ML-DSA-65');
 * const signed = await signNote('hello\n', [signer]);
 * const opened = await openNote(signed, [verifier]); // opened.text === 'hello\n'
 * ```
 */
import { concatBytes, equalBytes, fromBase64, isBytes, toBase64, toHex, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256, sha256Public } from '@omt/core/hash';
import { type Clock, platformRandom, type RandomSource } from '@omt/core/random';
import { getSuite } from '@omt/core/suites';

/** Upper bound on a signed note, in UTF-8 bytes. */
export const NOTE_MAX_BYTES: number = 1024 * 1024;
/** Upper bound on the signature lines of a note. */
export const NOTE_MAX_SIGNATURES: number = 100;

/** The signature types OpenMediaTrust speaks (see the file comment for the bytes of each). */
export type NoteKeyType =
  | 'Ed25519'
  | 'ML-DSA-44'
  | 'ML-DSA-65'
  | 'ML-DSA-87'
  | 'cosignature/v1'
  | 'subtree/v1';

/** The plain note signature types of this file (log keys). */
export type NoteKeyAlg = 'Ed25519' | 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';

/** signed-note type byte of Ed25519 note signatures. */
export const NOTE_TYPE_ED25519 = 0x01;
/** signed-note type byte of timestamped Ed25519 cosignatures (tlog-cosignature). */
export const NOTE_TYPE_COSIGNATURE_V1 = 0x04;
/** signed-note type byte of timestamped ML-DSA-44 (sub)tree cosignatures (tlog-cosignature). */
export const NOTE_TYPE_SUBTREE_V1 = 0x06;
/** signed-note type byte reserved for types with a longer identifier. */
export const NOTE_TYPE_EXTENDED = 0xff;

/** One signature line of a note. */
export interface NoteSignature {
  /** The key name. */
  readonly name: string;
  /** The key ID (uint32). */
  readonly keyId: number;
  /** The signature proper: the decoded bytes after the 4-byte key ID. */
  readonly signature: Uint8Array;
  /** base64(keyId ‖ signature), as on the line. */
  readonly base64: string;
}

/** A parsed (not yet verified) note. */
export interface Note {
  /** The text, including its final newline but not the separating blank line. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/**
 * A public key that verifies note signatures of one type. Implementations cache what they
 * parsed; `verify` never throws for a bad signature (it returns false).
 */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyType;
  /** The vkey text of this key. */
  readonly vkey: string;
  /** The raw public key (a copy). */
  readonly publicKey: Uint8Array;
  /** Verifies `signature` (the bytes after the key ID) over the note text `text`. */
  verify(text: string, signature: Uint8Array): Promise<boolean>;
}

/** A secret key that signs notes (its secret stays inside). */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyType;
  /** The vkey of the matching public key. */
  readonly vkey: string;
  readonly verifier: NoteVerifier;
  /** Signs the note text; returns the signature bytes without the key ID. */
  sign(text: string): Promise<Uint8Array>;
}

/** A new key pair in both text forms and as objects. */
export interface NoteKeyPair {
  /** The signer key text (`PRIVATE+KEY+…`): a secret, store it like one. */
  readonly skey: string;
  readonly vkey: string;
  readonly signer: NoteSigner;
  readonly verifier: NoteVerifier;
}

/** Options of key generation and signer-key parsing. */
export interface NoteKeyOptions {
  /** Deterministic key from this 32-byte seed (tests, derived keys). */
  readonly seed?: Uint8Array;
  /** Randomness for key generation and hedged ML-DSA signing (default: the platform CSPRNG). */
  readonly random?: RandomSource;
  /** Clock of timestamped (cosignature) types; default the platform clock. */
  readonly clock?: Clock;
}

/** Result of {@link verifyNoteSignatures}: every signature line sorted into one bucket. */
export interface NoteVerification {
  readonly note: Note;
  /** Signatures of known keys that verified (first line per key). */
  readonly verified: readonly { readonly signature: NoteSignature; readonly verifier: NoteVerifier }[];
  /** Signatures of known keys that did not verify. */
  readonly invalid: readonly { readonly signature: NoteSignature; readonly verifier: NoteVerifier }[];
  /** Signatures of unknown keys (ignored, as the spec says), without repeats. */
  readonly unknown: readonly NoteSignature[];
}

// ─── errors ─────────────────────────────────────────────────────────────────────────────────────

function malformed(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.note.malformed', message, cause === undefined ? undefined : { cause });
}
function keyInvalid(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.note.key-invalid', message, cause === undefined ? undefined : { cause });
}

// ─── names, key IDs, text checks ────────────────────────────────────────────────────────────────

const WHITE_SPACE = /\p{White_Space}/u;

/**
 * True for a valid key name: non-empty, well-formed UTF-16 (so valid UTF-8), no Unicode white
 * space (Unicode `White_Space`, as Go's `unicode.IsSpace`), no `+`, no control character.
 * @example `isValidKeyName('example.com/log') // true`
 */
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 1024 &&
    !name.includes('+') &&
    !WHITE_SPACE.test(name) &&
    checkTextChars(name, false) === undefined
  );
}

/**
 * The signed-note key ID: `SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4]` as a big-endian uint32.
 * `type` is the type byte, or the type bytes of an extended (`0xff`) type.
 * @example `noteKeyId('example.com/foo', Uint8Array.of(1), pk) // 0x530d903a for the spec's key`
 */
export function noteKeyId(name: string, type: Uint8Array, publicKey: Uint8Array): number {
  const d = sha256(concatBytes(utf8(name), Uint8Array.of(0x0a), type, publicKey));
  return (
    ((d[0] as number) * 0x1000000 + ((d[1] as number) << 16) + ((d[2] as number) << 8) + (d[3] as number)) >>>
    0
  );
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

function keyIdBytes(keyId: number): Uint8Array {
  return Uint8Array.of(keyId >>> 24, (keyId >>> 16) & 0xff, (keyId >>> 8) & 0xff, keyId & 0xff);
}

/** Index of the first bad character, or undefined. Newline allowed only when `allowNewline`. */
function checkTextChars(text: string, allowNewline: boolean): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) {
      if (c === 0x0a && allowNewline) continue;
      return i;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate is not UTF-8 encodable.
      if (c >= 0xdc00) return i;
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return i;
      i++;
    }
  }
  return undefined;
}

function utf8Length(text: string): number {
  // Exact only when needed: most notes are far below the limit.
  return text.length * 3 <= NOTE_MAX_BYTES ? text.length : utf8(text).length;
}

const strictUtf8 = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes a note given as bytes (strict UTF-8) or checks a string; enforces size and characters. */
function readNoteInput(input: string | Uint8Array, what: string): string {
  let text: string;
  if (typeof input === 'string') {
    if (utf8Length(input) > NOTE_MAX_BYTES) throw malformed(`${what} is larger than ${NOTE_MAX_BYTES} bytes`);
    text = input;
  } else if (isBytes(input)) {
    if (input.length > NOTE_MAX_BYTES) throw malformed(`${what} is larger than ${NOTE_MAX_BYTES} bytes`);
    try {
      text = strictUtf8.decode(input);
    } catch (e) {
      throw malformed(`${what} is not valid UTF-8`, e);
    }
  } else {
    throw malformed(`${what} must be a string or a Uint8Array`);
  }
  const bad = checkTextChars(text, true);
  if (bad !== undefined) throw malformed(`${what} has a control character or invalid UTF-8 at offset ${bad}`);
  return text;
}

function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}

// ─── note codec ─────────────────────────────────────────────────────────────────────────────────

const SIG_PREFIX = '\u2014 ';

/**
 * Parses a signed note (not verifying anything). Throws `ledger.note.malformed` for anything the
 * spec forbids: invalid UTF-8, control characters, no blank line before the signatures, a
 * signature block not ending in a newline, a bad signature line, more than
 * {@link NOTE_MAX_SIGNATURES} lines, over {@link NOTE_MAX_BYTES}.
 *
 * @example
 * ```ts
 * const note = parseNote('hello\n\n— example.com/k AAAAAQ==\n'); // note.signatures[0].keyId === 1
 * ```
 */
export function parseNote(input: string | Uint8Array): Note {
  const msg = readNoteInput(input, 'note');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw malformed('note has no blank line before its signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw malformed('note signatures must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > NOTE_MAX_SIGNATURES)
    throw malformed(`note has more than ${NOTE_MAX_SIGNATURES} signatures`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw malformed('signature line must start with "— "');
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed('signature line has no signature');
  const name = rest.slice(0, space);
  const b64 = rest.slice(space + 1);
  if (!isValidKeyName(name)) throw malformed('signature line has an invalid key name');
  const raw = decodeBase64Strict(b64);
  if (raw === undefined || raw.length < 5) throw malformed('signature line has an invalid signature');
  const keyId =
    (((raw[0] as number) << 24) |
      ((raw[1] as number) << 16) |
      ((raw[2] as number) << 8) |
      (raw[3] as number)) >>>
    0;
  return { name, keyId, signature: raw.slice(4), base64: b64 };
}

/** Checks note text: ends in a newline, valid characters, within the size limit. */
function checkNoteText(text: unknown): string {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw malformed('note text must end with a newline');
  const bad = checkTextChars(text, true);
  if (bad !== undefined)
    throw malformed(`note text has a control character or invalid UTF-8 at offset ${bad}`);
  if (utf8Length(text) > NOTE_MAX_BYTES) throw malformed(`note text is larger than ${NOTE_MAX_BYTES} bytes`);
  return text;
}

/**
 * The signature line `— <name> base64(keyId ‖ signature)\n`.
 * @example `signatureLine({ name: 'k', keyId: 1, signature: sig }) // '— k AAAAA…\n'`
 */
export function signatureLine(sig: {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}): string {
  if (!isValidKeyName(sig.name)) throw malformed('invalid key name');
  return `${SIG_PREFIX}${sig.name} ${toBase64(concatBytes(keyIdBytes(sig.keyId), sig.signature))}\n`;
}

/**
 * Formats a note: text, blank line, one line per signature (at least one).
 * @example `formatNote(parseNote(text)) === text // for any valid note`
 */
export function formatNote(note: Note): string {
  const text = checkNoteText(note.text);
  if (note.signatures.length === 0) throw malformed('a signed note needs at least one signature');
  if (note.signatures.length > NOTE_MAX_SIGNATURES)
    throw malformed(`more than ${NOTE_MAX_SIGNATURES} signatures`);
  let out = `${text}\n`;
  for (const s of note.signatures) out += signatureLine(s);
  return out;
}

/**
 * Signs `text` (or adds signatures to a parsed note) with every signer; the new signature lines
 * follow the existing ones, and an existing line of a signer's key (same name and key ID) is
 * replaced, as golang.org/x/mod/sumdb/note does.
 *
 * @example
 * ```ts
 * const signed = await signNote('origin\n1\nAAAA…=\n', [logSigner]);
 * ```
 */
export async function signNote(text: string | Note, signers: readonly NoteSigner[]): Promise<string> {
  const note: Note = typeof text === 'string' ? { text, signatures: [] } : text;
  const body = checkNoteText(note.text);
  if (!Array.isArray(signers) || signers.length === 0) throw keyInvalid('signNote needs at least one signer');
  const mine = new Set(signers.map((s) => `${s.name}\n${s.keyId}`));
  const kept = note.signatures.filter((s) => !mine.has(`${s.name}\n${s.keyId}`));
  const added = await Promise.all(
    signers.map(async (s) => ({ name: s.name, keyId: s.keyId, signature: await s.sign(body), base64: '' })),
  );
  return formatNote({ text: body, signatures: [...kept, ...added] });
}

function verifierMap(verifiers: readonly NoteVerifier[]): Map<string, NoteVerifier> {
  const map = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const k = `${v.name}\n${v.keyId}`;
    const known = map.get(k);
    if (known !== undefined && known.vkey !== v.vkey) {
      throw keyInvalid(`two different keys share the name and key ID ${v.name}+${keyIdHex(v.keyId)}`);
    }
    map.set(k, v);
  }
  return map;
}

/**
 * Verifies every signature of a known key and sorts the lines: verified, invalid (known key, bad
 * signature) and unknown. Never throws for a bad signature; throws `ledger.note.malformed` for a
 * malformed note and `ledger.note.key-invalid` when two different verifiers share a name and key ID.
 *
 * @example
 * ```ts
 * const v = await verifyNoteSignatures(text, [logKey, ...witnessKeys]);
 * v.verified.map((s) => s.verifier.name);
 * ```
 */
export async function verifyNoteSignatures(
  input: string | Uint8Array | Note,
  verifiers: readonly NoteVerifier[],
): Promise<NoteVerification> {
  const note = typeof input === 'string' || isBytes(input) ? parseNote(input) : input;
  const known = verifierMap(verifiers);
  const seen = new Set<string>();
  const unknownSeen = new Set<string>();
  const unknown: NoteSignature[] = [];
  const checks: { signature: NoteSignature; verifier: NoteVerifier; ok: Promise<boolean> }[] = [];
  for (const s of note.signatures) {
    const k = `${s.name}\n${s.keyId}`;
    const v = known.get(k);
    if (v === undefined) {
      if (!unknownSeen.has(`${s.name} ${s.base64}`)) {
        unknownSeen.add(`${s.name} ${s.base64}`);
        unknown.push(s);
      }
      continue;
    }
    if (seen.has(k)) continue; // one signature per key counts (x/mod drops repeats)
    seen.add(k);
    checks.push({ signature: s, verifier: v, ok: v.verify(note.text, s.signature).catch(() => false) });
  }
  const results = await Promise.all(checks.map((c) => c.ok));
  const verified: { signature: NoteSignature; verifier: NoteVerifier }[] = [];
  const invalid: { signature: NoteSignature; verifier: NoteVerifier }[] = [];
  checks.forEach((c, i) => {
    (results[i] ? verified : invalid).push({ signature: c.signature, verifier: c.verifier });
  });
  return { note, verified, invalid, unknown };
}

/**
 * Opens a signed note as the spec says: signatures of unknown keys are ignored; a known key's
 * signature that fails rejects the note (`ledger.note.signature-invalid`); a note without any
 * verified signature is rejected (`ledger.note.unverified`). Malformed notes throw
 * `ledger.note.malformed`.
 *
 * @example
 * ```ts
 * const { text, verified } = await openNote(signed, [verifier]);
 * ```
 */
export async function openNote(
  input: string | Uint8Array | Note,
  verifiers: readonly NoteVerifier[],
): Promise<NoteVerification & { readonly text: string }> {
  const v = await verifyNoteSignatures(input, verifiers);
  const bad = v.invalid[0];
  if (bad !== undefined) {
    throw new OmtError(
      'ledger.note.signature-invalid',
      `the signature of ${bad.verifier.name}+${keyIdHex(bad.verifier.keyId)} does not verify`,
      { details: { name: bad.verifier.name, keyId: keyIdHex(bad.verifier.keyId) } },
    );
  }
  if (v.verified.length === 0)
    throw new OmtError('ledger.note.unverified', 'the note has no signature of a known key');
  return { ...v, text: v.note.text };
}

// ─── key text forms ─────────────────────────────────────────────────────────────────────────────

/** The parts of a vkey (`name+hex+base64`), unchecked beyond syntax. */
export interface VerifierKeyParts {
  readonly name: string;
  readonly keyId: number;
  /** type ‖ public key. */
  readonly key: Uint8Array;
}

/**
 * Splits a vkey into name, key ID and `type ‖ key` bytes (syntax only; the type-specific parser
 * checks the key and recomputes the key ID). Throws `ledger.note.key-invalid`.
 * @example `splitVerifierKey('example.com/foo+530d903a+Aeky…').keyId // 0x530d903a`
 */
export function splitVerifierKey(vkey: string): VerifierKeyParts {
  if (typeof vkey !== 'string' || vkey.length > 16_384) throw keyInvalid('a vkey must be a string');
  const plus = vkey.indexOf('+');
  if (plus <= 0) throw keyInvalid('vkey has no key name');
  const name = vkey.slice(0, plus);
  const hex = vkey.slice(plus + 1, plus + 9);
  if (vkey.charAt(plus + 9) !== '+' || !/^[0-9a-f]{8}$/.test(hex))
    throw keyInvalid('vkey has a malformed key ID');
  if (!isValidKeyName(name)) throw keyInvalid('vkey has an invalid key name');
  const key = decodeBase64Strict(vkey.slice(plus + 10));
  if (key === undefined || key.length < 2) throw keyInvalid('vkey has malformed key bytes');
  return { name, keyId: Number.parseInt(hex, 16) >>> 0, key };
}

/**
 * Formats a vkey from its name, type bytes and raw public key (the key ID is computed).
 * @example `formatVerifierKey('example.com/foo', Uint8Array.of(1), pk) // 'example.com/foo+530d903a+Aeky…'`
 */
export function formatVerifierKey(name: string, type: Uint8Array, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  return `${name}+${keyIdHex(noteKeyId(name, type, publicKey))}+${toBase64(concatBytes(type, publicKey))}`;
}

/** The parts of an skey (`PRIVATE+KEY+name+hex+base64`). */
export function splitSignerKey(skey: string): VerifierKeyParts {
  if (typeof skey !== 'string' || !skey.startsWith('PRIVATE+KEY+'))
    throw keyInvalid('an skey starts with PRIVATE+KEY+');
  return splitVerifierKey(skey.slice('PRIVATE+KEY+'.length));
}

/**
 * Formats an skey: `PRIVATE+KEY+<name>+<hex key ID>+base64(type ‖ secret)`. The text holds the
 * secret: store it like one.
 * @example `formatSignerKey('k', keyId, Uint8Array.of(1), seed) // 'PRIVATE+KEY+k+…'`
 */
export function formatSignerKey(name: string, keyId: number, type: Uint8Array, secret: Uint8Array): string {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  return `PRIVATE+KEY+${name}+${keyIdHex(keyId)}+${toBase64(concatBytes(type, secret))}`;
}

// ─── the plain signature types ──────────────────────────────────────────────────────────────────

type MlDsaAlg = 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';
const ML_DSA_ALGS: readonly MlDsaAlg[] = ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'];

/**
 * The signed-note type bytes of a plain note signature type: `0x01` for Ed25519, and
 * `0xff ‖ "omt/<alg>/v1\n"` for the OpenMediaTrust ML-DSA types.
 * @example `noteTypeBytes('ML-DSA-65') // 0xff ‖ utf8('omt/ML-DSA-65/v1\n')`
 */
export function noteTypeBytes(alg: NoteKeyAlg): Uint8Array {
  if (alg === 'Ed25519') return Uint8Array.of(NOTE_TYPE_ED25519);
  if (!ML_DSA_ALGS.includes(alg)) throw keyInvalid(`unknown note key type ${String(alg).slice(0, 40)}`);
  return concatBytes(Uint8Array.of(NOTE_TYPE_EXTENDED), utf8(`omt/${alg}/v1\n`));
}

/** Splits `type ‖ key` of a plain type; undefined when the type is not one of this file. */
function readPlainType(key: Uint8Array): { alg: NoteKeyAlg; typeLength: number } | undefined {
  if (key[0] === NOTE_TYPE_ED25519) return { alg: 'Ed25519', typeLength: 1 };
  if (key[0] !== NOTE_TYPE_EXTENDED) return undefined;
  for (const alg of ML_DSA_ALGS) {
    const t = noteTypeBytes(alg);
    if (key.length > t.length && equalBytes(key.subarray(0, t.length), t))
      return { alg, typeLength: t.length };
  }
  return undefined;
}

// Signatures known to be valid: one successful check per (key, text, signature), whichever path
// asks — quorum certificates, receipts, witness add-checkpoint requests, cosigning answers — and
// the signatures this process made itself (a note key's own checkpoints arrive back inside
// quorum certificates). ML-DSA-65 verification costs milliseconds, the lookup a SHA-256 of the
// text and signature. Bounded: cleared when full. Only successes are kept.
const KNOWN_VALID_LIMIT = 4096;
const knownValid = new Set<string>();

/** `vkey ‖ SHA-256(len(text) ‖ text ‖ signature)`: the length keeps text and signature apart. */
function signatureMemoKey(vkey: string, t: Uint8Array, signature: Uint8Array): string {
  const len = Uint8Array.of(
    t.length >>> 24,
    (t.length >>> 16) & 0xff,
    (t.length >>> 8) & 0xff,
    t.length & 0xff,
  );
  return `${vkey}\n${toHex(sha256Public(concatBytes(len, t, signature)))}`;
}

function rememberValid(key: string): void {
  if (knownValid.size >= KNOWN_VALID_LIMIT) knownValid.clear();
  knownValid.add(key);
}

class PlainVerifier implements NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyAlg;
  readonly vkey: string;
  readonly #publicKey: Uint8Array;

  constructor(name: string, alg: NoteKeyAlg, publicKey: Uint8Array) {
    const size = getSuite(alg).publicKeySize;
    if (publicKey.length !== size) throw keyInvalid(`${alg} public key must be ${size} bytes`);
    const type = noteTypeBytes(alg);
    this.name = name;
    this.type = alg;
    this.#publicKey = publicKey.slice();
    this.keyId = noteKeyId(name, type, publicKey);
    this.vkey = formatVerifierKey(name, type, publicKey);
  }

  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  verify(text: string, signature: Uint8Array): Promise<boolean> {
    const message = utf8(text);
    const memo = signatureMemoKey(this.vkey, message, signature);
    if (knownValid.has(memo)) return Promise.resolve(true);
    return getSuite(this.type)
      .verify(this.#publicKey, message, signature)
      .then(
        (ok) => {
          if (ok) rememberValid(memo);
          return ok;
        },
        () => false,
      );
  }
}

class PlainSigner implements NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly type: NoteKeyAlg;
  readonly vkey: string;
  readonly verifier: NoteVerifier;
  readonly #secret: Uint8Array;
  readonly #random: RandomSource | undefined;

  constructor(verifier: PlainVerifier, secret: Uint8Array, random: RandomSource | undefined) {
    this.name = verifier.name;
    this.keyId = verifier.keyId;
    this.type = verifier.type;
    this.vkey = verifier.vkey;
    this.verifier = verifier;
    this.#secret = secret.slice();
    this.#random = random;
  }

  async sign(text: string): Promise<Uint8Array> {
    const message = utf8(checkNoteText(text));
    const signature = await getSuite(this.type).sign(
      this.#secret,
      message,
      this.#random === undefined ? undefined : { random: this.#random },
    );
    // Valid by construction: verifying it later (own checkpoints come back in quorum
    // certificates) needs no second check in this process.
    rememberValid(signatureMemoKey(this.vkey, message, signature));
    return signature;
  }
}

// Parsed vkeys are cached (verifying a quorum certificate parses the same few keys again and again).
const CACHE_LIMIT = 1024;
const plainCache = new Map<string, NoteVerifier>();

/** Remembers `value` under `key` in a bounded map (cleared when full: simple and O(1)). */
export function cacheVerifier(
  cache: Map<string, NoteVerifier>,
  key: string,
  value: NoteVerifier,
): NoteVerifier {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

/**
 * Parses a vkey of a plain note type (Ed25519 `0x01`, the OMT ML-DSA types). The key ID in the
 * text must be the one computed from name, type and key. Parsed keys are cached. Throws
 * `ledger.note.key-invalid` (cosignature keys: `parseCosignerKey` in tlog-cosignature.ts).
 *
 * @example
 * ```ts
 * const v = parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
 * ```
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const cached = typeof vkey === 'string' ? plainCache.get(vkey) : undefined;
  if (cached !== undefined) return cached;
  const { name, keyId, key } = splitVerifierKey(vkey);
  const t = readPlainType(key);
  if (t === undefined) throw keyInvalid(`unsupported note signature type 0x${toHex(key.subarray(0, 1))}`);
  const v = new PlainVerifier(name, t.alg, key.subarray(t.typeLength));
  if (v.keyId !== keyId) throw keyInvalid('vkey key ID does not match its name and key');
  return cacheVerifier(plainCache, vkey, v);
}

/**
 * Parses an skey of a plain note type (`PRIVATE+KEY+<name>+<id>+base64(type ‖ 32-byte seed)`,
 * the x/mod format for Ed25519). Throws `ledger.note.key-invalid`.
 *
 * @example
 * ```ts
 * const signer = await parseSignerKey('PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz');
 * ```
 */
export async function parseSignerKey(skey: string, options?: NoteKeyOptions): Promise<NoteSigner> {
  const { name, keyId, key } = splitSignerKey(skey);
  const t = readPlainType(key);
  if (t === undefined) throw keyInvalid(`unsupported note signature type 0x${toHex(key.subarray(0, 1))}`);
  const seed = key.subarray(t.typeLength);
  if (seed.length !== 32) throw keyInvalid(`${t.alg} skey must hold a 32-byte seed`);
  let pk: Uint8Array;
  try {
    pk = await getSuite(t.alg).publicKeyFromSecret(seed);
  } catch (e) {
    throw keyInvalid('skey does not hold a valid secret key', e);
  }
  const v = new PlainVerifier(name, t.alg, pk);
  if (v.keyId !== keyId) throw keyInvalid('skey key ID does not match its name and key');
  return new PlainSigner(v, seed, options?.random);
}

/** Draws or takes the 32-byte seed of a new key. */
export function keySeed(options: NoteKeyOptions | undefined): Uint8Array {
  const seed = options?.seed ?? (options?.random ?? platformRandom)(32);
  if (!isBytes(seed) || seed.length !== 32) throw keyInvalid('a key seed must be 32 bytes');
  return seed;
}

/**
 * Generates a note key of a plain type (`Ed25519`, `ML-DSA-44|65|87`; cosigner keys:
 * `newCosignerKey` in tlog-cosignature.ts).
 *
 * @example
 * ```ts
 * const { skey, vkey, signer } = await newNoteKey('op1.omt.example', 'ML-DSA-65');
 * ```
 */
export async function newNoteKey(
  name: string,
  alg: NoteKeyAlg,
  options?: NoteKeyOptions,
): Promise<NoteKeyPair> {
  if (!isValidKeyName(name)) throw keyInvalid('invalid key name');
  const type = noteTypeBytes(alg);
  const seed = keySeed(options);
  const pk = await getSuite(alg).publicKeyFromSecret(seed);
  const verifier = new PlainVerifier(name, alg, pk);
  const signer = new PlainSigner(verifier, seed, options?.random);
  return { skey: formatSignerKey(name, verifier.keyId, type, seed), vkey: verifier.vkey, signer, verifier };
}

/** `keyId` as 8 lower-case hex digits. @example `formatKeyId(0x530d903a) // '530d903a'` */
export function formatKeyId(keyId: number): string {
  return keyIdHex(keyId);
}
