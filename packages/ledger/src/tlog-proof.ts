/**
 * Offline proofs of logging (c2sp.org/tlog-proof@v1): an entry's index, its inclusion proof and
 * the (cosigned) checkpoint, verifiable with no log online — a "spicy signature".
 *
 * ```
 * c2sp.org/tlog-proof@v1
 * [extra <base64 opaque data>]
 * index <decimal>
 * <base64 inclusion proof hash>…   (leaf sibling first)
 * <blank line>
 * <checkpoint, verbatim>
 * ```
 *
 * Verification (§Verifying a tlog proof): compute the leaf hash (the caller's job: application
 * specific), check the checkpoint against a policy (trusted log, witness quorum; tlog-policy.ts),
 * then the inclusion proof against the checkpoint's root. The `extra` data is not authenticated.
 * Files: extension `.tlog-proof`.
 *
 * @example
 * ```ts
 * const text = await buildTlogProof({ index, leafHash, proof, checkpoint: cosigned });
 * const r = await verifyTlogProof(text, leafHash, policy); // r.ok
 * ```
 */
import { fromBase64, isBytes, toBase64 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { hashLeaf, verifyInclusion } from '@omt/core/merkle';
import type { Checkpoint } from './tlog-checkpoint.js';
import { parseCheckpoint } from './tlog-checkpoint.js';
import { NOTE_MAX_BYTES, type NoteVerifier, parseNote } from './tlog-note.js';
import { evaluatePolicy, type PolicyStatus, type TlogPolicy } from './tlog-policy.js';

/** The first line of a tlog proof. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** A parsed tlog proof. */
export interface TlogProof {
  readonly index: number;
  /** Inclusion proof hashes (32 bytes each), leaf sibling first. */
  readonly proof: readonly Uint8Array[];
  /** The checkpoint as included (signed note text). */
  readonly checkpoint: string;
  /** Opaque, unauthenticated extra data. */
  readonly extra?: Uint8Array;
}

/** Result of {@link verifyTlogProof}. */
export interface TlogProofVerification {
  /** True iff the policy is satisfied and the leaf is included at `index`. */
  readonly ok: boolean;
  readonly statuses: readonly PolicyStatus[];
  readonly proof?: TlogProof;
  readonly checkpoint?: Checkpoint;
  /** Policy names of the witnesses whose cosignature verified. */
  readonly witnesses: readonly string[];
}

function malformed(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.proof.malformed', message, cause === undefined ? undefined : { cause });
}

const INDEX_RE = /^index (0|[1-9][0-9]{0,15})$/;

function b64(text: string, what: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch (e) {
    throw malformed(`${what} is not base64`, e);
  }
}

/**
 * Parses a tlog proof. The checkpoint is kept verbatim (checked when verifying). Throws
 * `ledger.proof.malformed`.
 * @example `parseTlogProof(text).index`
 */
export function parseTlogProof(text: string | Uint8Array): TlogProof {
  let s: string;
  if (typeof text === 'string') s = text;
  else if (isBytes(text)) {
    try {
      s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(text);
    } catch (e) {
      throw malformed('tlog proof is not UTF-8', e);
    }
  } else throw malformed('a tlog proof is text');
  if (s.length > NOTE_MAX_BYTES + 8192) throw malformed('tlog proof is too large');
  const blank = s.indexOf('\n\n');
  if (blank < 0) throw malformed('tlog proof has no blank line before the checkpoint');
  const lines = s.slice(0, blank).split('\n');
  const checkpoint = s.slice(blank + 2);
  if (lines[0] !== TLOG_PROOF_HEADER) throw malformed('tlog proof missing expected header');
  let i = 1;
  let extra: Uint8Array | undefined;
  if (lines[i]?.startsWith('extra ')) {
    extra = b64((lines[i] as string).slice(6), 'extra data');
    i++;
  }
  const m = INDEX_RE.exec(lines[i] ?? '');
  if (m === null || !Number.isSafeInteger(Number(m[1]))) throw malformed('tlog proof missing required index');
  const index = Number(m[1]);
  const hashes = lines.slice(i + 1);
  if (hashes.length > 63) throw malformed('more than 63 inclusion proof hashes');
  const proof = hashes.map((l) => {
    const h = b64(l, 'an inclusion proof hash');
    if (h.length !== 32) throw malformed(`inclusion proof hash length was ${h.length}, expected 32`);
    return h;
  });
  return extra === undefined ? { index, proof, checkpoint } : { index, proof, checkpoint, extra };
}

/**
 * Formats a tlog proof.
 * @example `formatTlogProof({ index: 5, proof: [h1, h2], checkpoint })`
 */
export function formatTlogProof(p: TlogProof): string {
  if (!Number.isSafeInteger(p.index) || p.index < 0) throw malformed('index must be a safe integer ≥ 0');
  if (p.proof.length > 63) throw malformed('more than 63 inclusion proof hashes');
  for (const h of p.proof) if (!isBytes(h) || h.length !== 32) throw malformed('proof hashes are 32 bytes');
  if (typeof p.checkpoint !== 'string' || !p.checkpoint.endsWith('\n'))
    throw malformed('checkpoint text must end with a newline');
  const extra = p.extra === undefined ? '' : `extra ${toBase64(p.extra)}\n`;
  return `${TLOG_PROOF_HEADER}\n${extra}index ${p.index}\n${p.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${p.checkpoint}`;
}

/**
 * Builds a tlog proof after checking that the proof binds `leafHash` at `index` to the
 * checkpoint's root (so a broken proof is never written). Throws `ledger.proof.malformed` /
 * `ledger.proof.invalid`.
 * @example
 * ```ts
 * await buildTlogProof({ index, leafHash: hashLeaf(entry), proof: tree.inclusionProof(index, size), checkpoint });
 * ```
 */
export async function buildTlogProof(input: {
  readonly index: number;
  readonly leafHash: Uint8Array;
  readonly proof: readonly Uint8Array[];
  readonly checkpoint: string;
  readonly extra?: Uint8Array;
}): Promise<string> {
  const cp = parseCheckpoint(parseNote(input.checkpoint).text);
  if (!isBytes(input.leafHash) || !Array.isArray(input.proof) || !input.proof.every(isBytes)) {
    throw malformed('leafHash and proof hashes must be bytes');
  }
  if (!verifyInclusion(input.index, cp.size, input.leafHash, input.proof, cp.root)) {
    throw new OmtError('ledger.proof.invalid', `the proof does not include the leaf at index ${input.index}`);
  }
  return formatTlogProof(input);
}

/**
 * Verifies a tlog proof for a leaf: the checkpoint satisfies `policy` (trusted log signature,
 * witness quorum), and the leaf is included at the proof's index. `leaf` is the RFC 9162 leaf
 * hash, or `{ data }` to hash entry data (SHA-256(0x00 ‖ data)). `extraLogs` are log keys trusted
 * besides the policy's (for policies without `log` lines). Returns data; never throws for bad input.
 *
 * @example
 * ```ts
 * const r = await verifyTlogProof(text, { data: entry }, policy);
 * ```
 */
export async function verifyTlogProof(
  text: string | Uint8Array,
  leaf: Uint8Array | { readonly data: Uint8Array },
  policy: TlogPolicy,
  extraLogs: readonly NoteVerifier[] = [],
): Promise<TlogProofVerification> {
  let p: TlogProof;
  try {
    p = parseTlogProof(text);
  } catch (e) {
    return {
      ok: false,
      statuses: [{ code: 'ledger.proof.malformed', message: (e as Error).message }],
      witnesses: [],
    };
  }
  const evaluation = await evaluatePolicy(policy, p.checkpoint, extraLogs);
  const statuses = [...evaluation.statuses];
  const cp = evaluation.checkpoint;
  if (cp !== undefined) {
    const leafHash = isBytes(leaf) ? leaf : isBytes(leaf?.data) ? hashLeaf(leaf.data) : undefined;
    if (leafHash === undefined || leafHash.length !== 32) {
      statuses.push({ code: 'ledger.proof.invalid', message: 'the leaf hash must be 32 bytes' });
    } else if (!verifyInclusion(p.index, cp.size, leafHash, p.proof, cp.root)) {
      statuses.push({
        code: 'ledger.proof.invalid',
        message: `the leaf is not included at index ${p.index}`,
      });
    }
  }
  return {
    ok: evaluation.satisfied && statuses.length === 0,
    statuses,
    proof: p,
    ...(cp === undefined ? {} : { checkpoint: cp }),
    witnesses: evaluation.witnesses,
  };
}
