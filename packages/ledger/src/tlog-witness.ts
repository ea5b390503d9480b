/**
 * The witness protocol (c2sp.org/tlog-witness): `POST <prefix>/add-checkpoint` with
 *
 * ```
 * old <size>
 * <base64 consistency proof hash>…   (≤ 63 lines)
 * <blank line>
 * <signed checkpoint>
 * ```
 *
 * answered with the witness's cosignature lines. {@link Witness} is the pure protocol logic over a
 * {@link WitnessStore} (its memory of each log's latest cosigned size and root, updated by
 * compare-and-swap); the HTTP handler lives elsewhere and sends `{status, body, contentType}` as
 * given. Status codes are the spec's: 200 cosigned, 400 malformed request or old size above the
 * checkpoint size, 403 no valid signature of a trusted log key (or a bad one), 404 unknown origin,
 * 409 old size ≠ the size the witness cosigned last (body `<size>\n`, `text/x.tlog.size`), 422
 * bad consistency proof, or a size-0 checkpoint whose root is not the empty tree's.
 *
 * @example
 * ```ts
 * const witness = new Witness({ signer: w.signer, store: new MemoryWitnessStore(), logs: [logVkey] });
 * const res = await witness.addCheckpoint(formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint }));
 * // res.status === 200; res.body = '— witness.example/w1 …\n'
 * ```
 */
import { equalBytes, fromBase64, isBytes, toBase64 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { emptyRoot, verifyConsistency } from '@omt/core/merkle';
import type { WitnessStore } from './ports.js';
import { type Checkpoint, parseCheckpoint } from './tlog-checkpoint.js';
import { parseCosignerKey, parseLogKey } from './tlog-cosignature.js';
import {
  formatNote,
  NOTE_MAX_BYTES,
  type Note,
  type NoteSigner,
  type NoteVerifier,
  parseNote,
  signatureLine,
  verifyNoteSignatures,
} from './tlog-note.js';

/** Most consistency proof lines a request may carry (tlog-witness). */
export const MAX_PROOF_LINES = 63;
/** Content type of a 409 answer. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

/** An `add-checkpoint` request body. */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  /** RFC 6962 consistency proof from `oldSize` to the checkpoint's size (32-byte hashes). */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint (note text). */
  readonly checkpoint: string;
}

/** What the HTTP layer sends back. */
export interface WitnessResponse {
  readonly status: 200 | 400 | 403 | 404 | 409 | 422;
  readonly body: string;
  readonly contentType: string;
}

function malformed(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.witness.malformed', message, cause === undefined ? undefined : { cause });
}

const SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/;

/**
 * Parses an add-checkpoint body (string or bytes). Throws `ledger.witness.malformed` (or
 * `ledger.note.malformed` for the note after the blank line).
 * @example `parseAddCheckpointRequest('old 0\n\n' + checkpoint).oldSize // 0`
 */
export function parseAddCheckpointRequest(body: string | Uint8Array): AddCheckpointRequest {
  let text: string;
  if (typeof body === 'string') text = body;
  else if (isBytes(body)) {
    if (body.length > NOTE_MAX_BYTES + 8192) throw malformed('request body is too large');
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
    } catch (e) {
      throw malformed('request body is not UTF-8', e);
    }
  } else throw malformed('request body must be a string or bytes');
  if (text.length > NOTE_MAX_BYTES + 8192) throw malformed('request body is too large');
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw malformed('request has no blank line before the checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  const first = head[0] as string;
  if (!first.startsWith('old ') || !SIZE_RE.test(first.slice(4)))
    throw malformed('request must start with "old <size>"');
  const oldSize = Number(first.slice(4));
  if (!Number.isSafeInteger(oldSize)) throw malformed('old size is too large');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) throw malformed(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  const proof = lines.map((l) => {
    let h: Uint8Array;
    try {
      h = fromBase64(l);
    } catch (e) {
      throw malformed('a consistency proof line is not base64', e);
    }
    if (h.length !== 32) throw malformed('a consistency proof hash must be 32 bytes');
    return h;
  });
  return { oldSize, proof, checkpoint };
}

/**
 * Formats an add-checkpoint body.
 * @example `formatAddCheckpointRequest({ oldSize: 3, proof, checkpoint })`
 */
export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  if (!Number.isSafeInteger(req.oldSize) || req.oldSize < 0)
    throw malformed('old size must be a safe integer ≥ 0');
  if (req.proof.length > MAX_PROOF_LINES) throw malformed(`more than ${MAX_PROOF_LINES} proof hashes`);
  for (const h of req.proof)
    if (!isBytes(h) || h.length !== 32) throw malformed('proof hashes must be 32 bytes');
  parseNote(req.checkpoint);
  return `old ${req.oldSize}\n${req.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${req.checkpoint}`;
}

/** Options of a {@link Witness}. */
export interface WitnessOptions {
  /** The witness's cosigner key (cosignature/v1 or subtree/v1; see tlog-cosignature.ts)… */
  readonly signer?: NoteSigner;
  /** …or several (one line each in the answer). */
  readonly signers?: readonly NoteSigner[];
  readonly store: WitnessStore;
  /** Trusted log keys (vkeys or verifiers); a log's origin is its key's name. */
  readonly logs: readonly (string | NoteVerifier)[];
}

function answer(
  status: WitnessResponse['status'],
  body: string,
  contentType = 'text/plain; charset=utf-8',
): WitnessResponse {
  return { status, body: body.endsWith('\n') ? body : `${body}\n`, contentType };
}

/**
 * A witness: verifies submitted checkpoints of known logs against its memory and cosigns the
 * consistent ones. Stateless apart from the store, so several instances may share one store
 * (compare-and-swap keeps them from rolling a log back).
 */
export class Witness {
  readonly #signers: readonly NoteSigner[];
  readonly #store: WitnessStore;
  readonly #logs = new Map<string, NoteVerifier[]>();

  constructor(options: WitnessOptions) {
    const signers = [...(options.signer === undefined ? [] : [options.signer]), ...(options.signers ?? [])];
    if (signers.length === 0)
      throw new OmtError('ledger.witness.config-invalid', 'a witness needs a cosigner key');
    for (const s of signers) {
      if (s.type !== 'cosignature/v1' && s.type !== 'subtree/v1') {
        throw new OmtError('ledger.witness.config-invalid', `witness key ${s.name} is not a cosignature key`);
      }
    }
    if (options.store === undefined)
      throw new OmtError('ledger.witness.config-invalid', 'a witness needs a store');
    this.#signers = signers;
    this.#store = options.store;
    for (const k of options.logs ?? []) {
      const v = typeof k === 'string' ? parseLogKey(k) : k;
      const list = this.#logs.get(v.name) ?? [];
      list.push(v);
      this.#logs.set(v.name, list);
    }
  }

  /** The origins this witness cosigns. */
  get origins(): string[] {
    return [...this.#logs.keys()];
  }

  /**
   * Handles one add-checkpoint request body. Never throws for bad input: every outcome is a
   * response (store failures do propagate).
   * @example `const { status, body, contentType } = await witness.addCheckpoint(requestBody);`
   */
  async addCheckpoint(body: string | Uint8Array): Promise<WitnessResponse> {
    let req: AddCheckpointRequest;
    let note: Note;
    let cp: Checkpoint;
    try {
      req = parseAddCheckpointRequest(body);
      note = parseNote(req.checkpoint);
      cp = parseCheckpoint(note.text);
    } catch (e) {
      return answer(400, `malformed request: ${(e as Error).message}`);
    }
    const keys = this.#logs.get(cp.origin);
    if (keys === undefined) return answer(404, 'unknown log origin');
    const v = await verifyNoteSignatures(note, keys);
    if (v.invalid.length > 0) return answer(403, 'invalid signature of a trusted log key');
    if (v.verified.length === 0) return answer(403, 'no signature of a trusted log key');
    if (req.oldSize > cp.size) return answer(400, 'old size exceeds the checkpoint size');

    const stored = await this.#store.get(cp.origin);
    const storedSize = stored?.size ?? 0;
    if (req.oldSize !== storedSize) return answer(409, `${storedSize}`, TLOG_SIZE_CONTENT_TYPE);
    if (cp.size === 0 && !equalBytes(cp.root, emptyRoot())) {
      return answer(422, 'a checkpoint of size 0 must have the empty tree root');
    }
    if (req.oldSize === 0) {
      if (req.proof.length > 0) return answer(422, 'a consistency proof from size 0 must be empty');
    } else if (req.oldSize === cp.size) {
      if (req.proof.length > 0 || stored === undefined || !equalBytes(stored.root, cp.root)) {
        return answer(422, 'same size as the cosigned checkpoint but another root');
      }
    } else if (
      stored === undefined ||
      !verifyConsistency(req.oldSize, cp.size, stored.root, cp.root, req.proof)
    ) {
      return answer(422, 'the consistency proof does not verify');
    }
    // Size 0 with nothing stored: keep the empty state (nothing to remember).
    if (!(cp.size === 0 && stored === undefined)) {
      const swapped = await this.#store.compareAndSwap(cp.origin, stored, { size: cp.size, root: cp.root });
      if (!swapped) {
        const now = await this.#store.get(cp.origin);
        return answer(409, `${now?.size ?? 0}`, TLOG_SIZE_CONTENT_TYPE);
      }
    }
    const lines = await Promise.all(
      this.#signers.map(async (s) =>
        signatureLine({ name: s.name, keyId: s.keyId, signature: await s.sign(note.text) }),
      ),
    );
    return answer(200, lines.join(''));
  }
}

/**
 * Client side: adds the witness's answer (cosignature lines) to a signed checkpoint, keeping only
 * lines of the trusted witness keys that verify (unknown lines are ignored, as the spec says).
 * Throws `ledger.note.malformed` for a malformed answer and `ledger.note.signature-invalid`
 * when a trusted witness's line does not verify.
 *
 * @example
 * ```ts
 * const cosigned = await applyWitnessResponse(checkpoint, res.body, [witnessVkey]);
 * ```
 */
export async function applyWitnessResponse(
  signedCheckpoint: string,
  responseBody: string,
  witnesses: readonly (string | NoteVerifier)[],
): Promise<string> {
  const note = parseNote(signedCheckpoint);
  const keys = witnesses.map((k) => (typeof k === 'string' ? parseCosignerKey(k) : k));
  const response = parseNote(`${note.text}\n${responseBody}`);
  const v = await verifyNoteSignatures(response, keys);
  const bad = v.invalid[0];
  if (bad !== undefined) {
    throw new OmtError(
      'ledger.note.signature-invalid',
      `the cosignature of ${bad.verifier.name} does not verify`,
    );
  }
  const fresh = new Set(v.verified.map((x) => `${x.signature.name}\n${x.signature.keyId}`));
  const kept = note.signatures.filter((s) => !fresh.has(`${s.name}\n${s.keyId}`));
  return formatNote({ text: note.text, signatures: [...kept, ...v.verified.map((x) => x.signature)] });
}
