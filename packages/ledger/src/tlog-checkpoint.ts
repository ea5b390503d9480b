/**
 * Transparency log checkpoints (c2sp.org/tlog-checkpoint@v1.0.0): a signed note whose text is
 *
 * ```
 * <origin>
 * <tree size, decimal, no leading zeros>
 * <base64 RFC 6962 root hash>
 * [extension lines…]
 * ```
 *
 * The log's key name must equal the origin (tlog-policy: "This name MUST correspond to the log's
 * origin line"), so {@link verifyCheckpoint} only uses log keys named like the origin. Sizes are
 * JavaScript safe integers (≤ 2^53 − 1); roots are 32-byte SHA-256 hashes.
 *
 * @example
 * ```ts
 * const text = await signCheckpoint({ origin: 'op1.omt.example', size: 3, root }, [logSigner]);
 * const { checkpoint } = await verifyCheckpoint(text, logSigner.verifier);
 * ```
 */
import { fromBase64, isBytes, toBase64 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import {
  isValidKeyName,
  type Note,
  type NoteSigner,
  type NoteVerification,
  type NoteVerifier,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
} from './tlog-note.js';

/** A checkpoint's content. */
export interface Checkpoint {
  /** The log identity, e.g. `op1.omt.example`. */
  readonly origin: string;
  /** Number of leaves. */
  readonly size: number;
  /** RFC 6962 / RFC 9162 root hash (32 bytes). */
  readonly root: Uint8Array;
  /** Extension lines (opaque, non-empty, without newline); usually none. */
  readonly extensions?: readonly string[];
}

/** A checkpoint whose log signature verified. */
export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The parsed note (text and every signature line, cosignatures included). */
  readonly note: Note;
  /** The whole signed note text. */
  readonly text: string;
  /** The verification of the log key(s): `verified` holds at least one log signature. */
  readonly log: NoteVerification;
}

function malformed(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.checkpoint.malformed', message, cause === undefined ? undefined : { cause });
}

const SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/;

/**
 * Parses checkpoint note text (the body, not the signatures). Throws `ledger.checkpoint.malformed`.
 * @example `parseCheckpoint('example.com/log\n1\nKgAA…=\n').size // 1`
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string' || !text.endsWith('\n'))
    throw malformed('checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('a checkpoint has at least three lines');
  const [origin, size, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed('checkpoint origin is empty');
  if (!SIZE_RE.test(size) || !Number.isSafeInteger(Number(size)))
    throw malformed('checkpoint size is not a decimal tree size');
  let root: Uint8Array;
  try {
    root = fromBase64(rootLine);
  } catch (e) {
    throw malformed('checkpoint root hash is not base64', e);
  }
  if (root.length !== 32) throw malformed('checkpoint root hash must be 32 bytes');
  if (extensions.some((l) => l.length === 0)) throw malformed('checkpoint extension lines must not be empty');
  return { origin, size: Number(size), root, extensions };
}

/**
 * Formats a checkpoint's note text.
 * @example `formatCheckpoint({ origin: 'Log', size: 123, root }) // 'Log\n123\n<base64>\n'`
 */
export function formatCheckpoint(cp: Checkpoint): string {
  if (typeof cp?.origin !== 'string' || cp.origin.length === 0 || cp.origin.includes('\n')) {
    throw malformed('checkpoint origin must be a non-empty line');
  }
  if (!Number.isSafeInteger(cp.size) || cp.size < 0)
    throw malformed('checkpoint size must be a safe integer ≥ 0');
  if (!isBytes(cp.root) || cp.root.length !== 32) throw malformed('checkpoint root hash must be 32 bytes');
  const ext = cp.extensions ?? [];
  for (const l of ext) {
    if (typeof l !== 'string' || l.length === 0 || l.includes('\n'))
      throw malformed('bad checkpoint extension line');
  }
  return [cp.origin, String(cp.size), toBase64(cp.root), ...ext].map((l) => `${l}\n`).join('');
}

/**
 * Signs a checkpoint with the log's key(s); returns the signed note text. The signer's key name
 * must be the origin.
 * @example `await signCheckpoint({ origin, size, root }, [logSigner])`
 */
export async function signCheckpoint(cp: Checkpoint, signers: readonly NoteSigner[]): Promise<string> {
  const text = formatCheckpoint(cp);
  for (const s of signers) {
    if (s.name !== cp.origin) {
      throw new OmtError(
        'ledger.checkpoint.origin-mismatch',
        `log key ${s.name} does not match origin ${cp.origin}`,
      );
    }
  }
  return signNote(text, signers);
}

function toVerifiers(keys: NoteVerifier | string | readonly (NoteVerifier | string)[]): NoteVerifier[] {
  const list = Array.isArray(keys) ? keys : [keys];
  return list.map((k) => (typeof k === 'string' ? parseVerifierKey(k) : (k as NoteVerifier)));
}

/**
 * Verifies a signed checkpoint against the log's key(s) (vkeys or verifiers; only those named
 * like the origin count). Signatures of other keys — cosignatures — are left for the caller
 * (tlog-cosignature.ts, tlog-policy.ts). Throws `ledger.note.malformed` /
 * `ledger.checkpoint.malformed` for bad text, `ledger.checkpoint.origin-mismatch` when no log key
 * has the origin's name, `ledger.note.signature-invalid` when a log signature fails and
 * `ledger.note.unverified` when the log did not sign.
 *
 * @example
 * ```ts
 * const { checkpoint } = await verifyCheckpoint(text, 'op1.omt.example+1234abcd+…');
 * ```
 */
export async function verifyCheckpoint(
  signed: string | Uint8Array,
  logKeys: NoteVerifier | string | readonly (NoteVerifier | string)[],
): Promise<SignedCheckpoint> {
  const note = parseNote(signed);
  const checkpoint = parseCheckpoint(note.text);
  if (!isValidKeyName(checkpoint.origin)) {
    throw new OmtError('ledger.checkpoint.origin-mismatch', 'checkpoint origin cannot be a key name');
  }
  const keys = toVerifiers(logKeys).filter((k) => k.name === checkpoint.origin);
  if (keys.length === 0) {
    throw new OmtError(
      'ledger.checkpoint.origin-mismatch',
      `no log key for origin ${checkpoint.origin.slice(0, 200)}`,
    );
  }
  const log = await openNote(note, keys);
  return { checkpoint, note, text: typeof signed === 'string' ? signed : noteText(note), log };
}

function noteText(note: Note): string {
  // Parsing is lossless (lines keep their base64), so this is the input text.
  let out = `${note.text}\n`;
  for (const s of note.signatures) out += `\u2014 ${s.name} ${s.base64}\n`;
  return out;
}
