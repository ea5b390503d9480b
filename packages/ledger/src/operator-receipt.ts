/**
 * An operator's vote and its receipt (docs/event-chains.md steps 2–3). An operator records its
 * vote for event `hash` at `height` of `chain` as the leaf
 *
 * ```
 * utf8("omt.vote.v1\n" + chain + "\n" + height + "\n" + hash + "\n")
 * ```
 *
 * of its RFC 9162 log, and answers with a receipt `{ operator, index, checkpoint, proof }`: the
 * leaf's index, a checkpoint of its log signed with its log key (tlog-checkpoint signed note) and
 * the inclusion proof of the leaf in that checkpoint (base64 hashes, leaf sibling first). Anyone
 * with the operator's log key verifies a receipt offline; two valid receipts of one operator for
 * different events at one height are equivocation evidence (equivocation.ts).
 *
 * @example
 * ```ts
 * const statuses = await verifyReceipt(receipt, { chain, height, hash }, operator.logKey);
 * if (statuses.length === 0) … // the operator voted for `hash`
 * ```
 */
import { fromBase64, isBytes, toBase64, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { parseJson } from '@omt/core/jcs';
import { hashLeaf, verifyInclusion } from '@omt/core/merkle';
import * as z from 'zod/mini';
import { isParsedReceipt, rememberReceipt } from './_parsed-receipts.js';
import { CHAIN_ID_RE } from './event.js';
import { type SignedCheckpoint, verifyCheckpoint } from './tlog-checkpoint.js';
import { parseLogKey } from './tlog-cosignature.js';
import { NOTE_MAX_BYTES, type NoteVerifier } from './tlog-note.js';

/** Event hashes: 64 lower-case hex digits. */
export const EVENT_HASH_RE: RegExp = /^[0-9a-f]{64}$/;

/** What an operator voted for. */
export interface Vote {
  readonly chain: string;
  readonly height: number;
  /** The event hash (lower-case hex). */
  readonly hash: string;
}

/** An operator's receipt for one vote. */
export interface OperatorReceipt {
  /** The operator's name = its log origin. */
  readonly operator: string;
  /** Index of the vote leaf in the operator's log. */
  readonly index: number;
  /** A checkpoint covering the leaf, signed by the operator's log key (signed note text). */
  readonly checkpoint: string;
  /** RFC 9162 inclusion proof of the leaf in that checkpoint, base64 hashes. */
  readonly proof: readonly string[];
}

/** One finding of a verifier: a stable code and a message (data, not an exception). */
export interface ReceiptStatus {
  readonly code: string;
  readonly message: string;
  /** The operator concerned, where known. */
  readonly operator?: string;
}

const B64_HASH_RE = /^[A-Za-z0-9+/]{43}=$/;

/** zod schema of an {@link OperatorReceipt} (JSON). */
export const OperatorReceiptSchema: z.ZodMiniType<OperatorReceipt> = z.strictObject({
  operator: z.string().check(z.minLength(1), z.maxLength(1024)),
  index: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
  checkpoint: z.string().check(z.minLength(1), z.maxLength(NOTE_MAX_BYTES)),
  proof: z.array(z.string().check(z.regex(B64_HASH_RE))).check(z.maxLength(63)),
});

/**
 * Parses a receipt (JSON text or value). Throws `ledger.receipt.malformed`. Returns a fresh,
 * frozen copy (derive changed receipts with spreads); given one of the parsers' own results,
 * returns it as it is.
 * @example `const receipt = parseReceipt(answer.receipt);`
 */
export function parseReceipt(input: unknown): OperatorReceipt {
  // One of the parsers' own results: frozen, so still exactly what was checked.
  if (typeof input === 'object' && input !== null && isParsedReceipt(input)) return input as OperatorReceipt;
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseJson(input);
    } catch (e) {
      throw new OmtError('ledger.receipt.malformed', 'a receipt is JSON', { cause: e });
    }
  }
  return rememberReceipt(parseInput(OperatorReceiptSchema, value, 'ledger.receipt.malformed', 'receipt'));
}

function checkVote(chain: string, height: number, hash: string): void {
  if (typeof chain !== 'string' || !CHAIN_ID_RE.test(chain))
    throw new OmtError('ledger.vote.invalid', 'bad chain id');
  if (!Number.isSafeInteger(height) || height < 0)
    throw new OmtError('ledger.vote.invalid', 'height must be a safe integer ≥ 0');
  if (typeof hash !== 'string' || !EVENT_HASH_RE.test(hash))
    throw new OmtError('ledger.vote.invalid', 'bad event hash');
}

/**
 * The vote leaf `omt.vote.v1\n<chain>\n<height>\n<hash>\n` (UTF-8). Throws `ledger.vote.invalid`
 * for a malformed chain id, height or hash (so a leaf is never ambiguous).
 * @example `voteLeaf('item:42', 0, eventHashHex)`
 */
export function voteLeaf(chain: string, height: number, hash: string): Uint8Array {
  checkVote(chain, height, hash);
  return utf8(`omt.vote.v1\n${chain}\n${height}\n${hash}\n`);
}

/** A log key given as a vkey, a verifier, or an operator record with a `logKey`. */
export type LogKeyInput = string | NoteVerifier | { readonly logKey: string };

/** Parses a log key input (cached by tlog-note / tlog-cosignature). */
export function logVerifier(key: LogKeyInput): NoteVerifier {
  if (typeof key === 'string') return parseLogKey(key);
  if ('verify' in key) return key;
  return parseLogKey(key.logKey);
}

// Receipts of one batch share a checkpoint: remember the verifications (key + exact text) — the
// promise, so that concurrent receipts of one checkpoint wait for one signature check instead of
// each starting its own. A failed check is forgotten at once (it is retried next time).
// Keyed by key, then by the note text itself (no concatenated key: receipts unpacked from one wire
// message share one string, whose hash V8 computes once, while a new `${vkey}\n${text}` string per
// receipt — ~7 KB with ML-DSA — was flattened and hashed again each time).
const VERIFIED_LIMIT = 1024;
const verified = new Map<string, Map<string, Promise<SignedCheckpoint>>>();
let verifiedCount = 0;

/**
 * `verifyCheckpoint(text, key)` with the process-wide cache of successful verifications (by key,
 * then exact text; at most 1,024, failures not kept): receipts, quorum certificates and
 * equivocation checks of one client share it, so each checkpoint's signature is checked once.
 * @example `const { checkpoint } = await verifyCheckpointCached(receipt.checkpoint, logVerifier(op));`
 */
export async function verifyCheckpointCached(text: string, key: NoteVerifier): Promise<SignedCheckpoint> {
  let byText = verified.get(key.vkey);
  let pending = byText?.get(text);
  if (pending === undefined) {
    if (verifiedCount >= VERIFIED_LIMIT) {
      verified.clear();
      verifiedCount = 0;
      byText = undefined;
    }
    if (byText === undefined) {
      byText = new Map();
      verified.set(key.vkey, byText);
    }
    const p = verifyCheckpoint(text, key);
    pending = p;
    byText.set(text, p);
    verifiedCount++;
    const owner = byText;
    p.catch(() => {
      if (owner.get(text) === p) {
        owner.delete(text);
        verifiedCount--;
      }
    });
  }
  const hit = await pending;
  // Callers get their own copy of the root (bytes are mutable).
  return { ...hit, checkpoint: { ...hit.checkpoint, root: hit.checkpoint.root.slice() } };
}

/** A receipt's verification, with the verified checkpoint when the signature held. */
export interface ReceiptVerification {
  readonly statuses: ReceiptStatus[];
  readonly checkpoint?: SignedCheckpoint;
  /** The RFC 9162 leaf hash of the vote. */
  readonly leafHash?: Uint8Array;
}

/**
 * Verifies a receipt and reports every failure: malformed receipt or vote, the receipt names
 * another operator than the checkpoint's origin or the key's name, the checkpoint is not signed
 * by the operator's log key, the index is outside the checkpoint, the inclusion proof does not
 * verify. `verifyReceipt` returns the statuses only (empty = valid).
 * @example `const { statuses, checkpoint } = await checkReceipt(r, vote, logKey);`
 */
export async function checkReceipt(
  receipt: unknown,
  vote: Vote,
  logKey: LogKeyInput,
): Promise<ReceiptVerification> {
  let r: OperatorReceipt;
  try {
    r = parseReceipt(receipt);
  } catch (e) {
    return { statuses: [{ code: 'ledger.receipt.malformed', message: (e as Error).message }] };
  }
  const at = (code: string, message: string): ReceiptVerification => ({
    statuses: [{ code, message, operator: r.operator }],
  });
  let leaf: Uint8Array;
  try {
    leaf = voteLeaf(vote.chain, vote.height, vote.hash);
  } catch (e) {
    return at('ledger.vote.invalid', (e as Error).message);
  }
  let key: NoteVerifier;
  try {
    key = logVerifier(logKey);
  } catch (e) {
    return at('ledger.receipt.key-invalid', `the operator's log key does not parse: ${(e as Error).message}`);
  }
  if (key.name !== r.operator)
    return at('ledger.receipt.operator-mismatch', `the receipt names ${r.operator}, the key ${key.name}`);
  let signed: SignedCheckpoint;
  try {
    signed = await verifyCheckpointCached(r.checkpoint, key);
  } catch (e) {
    const code =
      e instanceof OmtError && e.code === 'ledger.checkpoint.origin-mismatch'
        ? 'ledger.receipt.operator-mismatch'
        : 'ledger.receipt.signature-invalid';
    return at(code, `the receipt's checkpoint: ${(e as Error).message}`);
  }
  const leafHash = hashLeaf(leaf);
  const { size, root } = signed.checkpoint;
  if (r.index >= size) {
    return {
      statuses: [
        {
          code: 'ledger.receipt.inclusion-invalid',
          message: `index ${r.index} is outside the checkpoint of size ${size}`,
          operator: r.operator,
        },
      ],
      checkpoint: signed,
      leafHash,
    };
  }
  const proof = r.proof.map((p) => fromBase64(p));
  if (!verifyInclusion(r.index, size, leafHash, proof, root)) {
    return {
      statuses: [
        {
          code: 'ledger.receipt.inclusion-invalid',
          message: `the vote is not at index ${r.index} of the checkpoint`,
          operator: r.operator,
        },
      ],
      checkpoint: signed,
      leafHash,
    };
  }
  return { statuses: [], checkpoint: signed, leafHash };
}

/**
 * Verifies that `receipt` proves the operator with log key `logKey` voted for `vote`. Returns
 * every failure as a status (empty list = valid); never throws for bad input.
 * @example
 * ```ts
 * const statuses = await verifyReceipt(receipt, { chain: 'item:42', height: 3, hash }, 'op1.omt.example+…');
 * ```
 */
export async function verifyReceipt(
  receipt: unknown,
  vote: Vote,
  logKey: LogKeyInput,
): Promise<ReceiptStatus[]> {
  return (await checkReceipt(receipt, vote, logKey)).statuses;
}

/**
 * Builds a receipt from an operator's log state (its checkpoint text and the proof hashes).
 * @example `buildReceipt('op1.omt.example', 7, checkpointText, tree.inclusionProof(7, size))`
 */
export function buildReceipt(
  operator: string,
  index: number,
  checkpoint: string,
  proof: readonly Uint8Array[],
): OperatorReceipt {
  return parseReceipt({
    operator,
    index,
    checkpoint,
    proof: proof.map((h) => {
      if (!isBytes(h) || h.length !== 32)
        throw new OmtError('ledger.receipt.malformed', 'proof hashes are 32 bytes');
      return toBase64(h);
    }),
  });
}
