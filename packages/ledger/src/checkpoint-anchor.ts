/**
 * Bitcoin/BSV anchoring of operator checkpoints: a checkpoint is published as a record through
 * the publishing pipeline (intent → batch → OP_RETURN transaction → block), and its anchoring
 * proof (anchor.ts) shows that the operator's log — every vote up to that size — existed before
 * the block. A client that sees a receipt in an anchored prefix of the log knows the event was
 * voted for before that block's time, whatever the operator says later.
 *
 * The record: `{ kind: 'omt.checkpoint/v1', rid: 'omt:checkpoint:<origin>:<size>', origin, size,
 * root (base64), timestamp, nonce }` (the publishing intent's record; timestamp and nonce as
 * intents add them). Its SHA-256 over JCS is what the batch commits to.
 */
import { toBase64 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { type AnchorProof, type HeaderSource, verifyAnchorProof } from './anchor.js';
import { type Checkpoint, parseCheckpoint, verifyCheckpoint } from './tlog-checkpoint.js';
import { parseNote } from './tlog-note.js';

/** Kind tag of checkpoint records. */
export const CHECKPOINT_RECORD_KIND = 'omt.checkpoint/v1' as const;

/** A checkpoint with the anchoring proof of its record. */
export interface AnchoredCheckpoint {
  /** The signed checkpoint (note text). */
  readonly checkpoint: string;
  /** The anchoring proof; `record.body` must be the checkpoint record. */
  readonly proof: AnchorProof;
}

/** The record fields of a checkpoint (before `timestamp` and `nonce` are added by the intent). */
export interface CheckpointRecord {
  readonly kind: typeof CHECKPOINT_RECORD_KIND;
  readonly rid: string;
  readonly origin: string;
  readonly size: number;
  /** base64 root hash. */
  readonly root: string;
}

/**
 * The record to publish for a checkpoint (signed note text or its parsed body).
 * @example
 * ```ts
 * const intent = await createIntent({ ...checkpointRecord(note) }, operatorPublishingSigner);
 * ```
 */
export function checkpointRecord(checkpoint: string | Checkpoint): CheckpointRecord {
  const cp = typeof checkpoint === 'string' ? parseCheckpoint(parseNote(checkpoint).text) : checkpoint;
  return {
    kind: CHECKPOINT_RECORD_KIND,
    rid: `omt:checkpoint:${cp.origin}:${cp.size}`,
    origin: cp.origin,
    size: cp.size,
    root: toBase64(cp.root),
  };
}

/** Result of {@link verifyCheckpointAnchor}. */
export interface CheckpointAnchorVerification {
  readonly ok: boolean;
  readonly statuses: readonly { readonly code: string; readonly message: string }[];
  readonly origin?: string;
  readonly size?: number;
  readonly blockHeight?: number;
  /** Block time (seconds since the epoch) from the trusted header. */
  readonly blockTime?: number;
}

/**
 * Verifies an anchored checkpoint offline: the checkpoint is signed by `logKey` (the operator's
 * log key, vkey text), the proof's record is this checkpoint's record, and the anchoring proof
 * holds up to a trusted block header. Statuses: `ledger.anchor.checkpoint-invalid` (signature),
 * `ledger.anchor.record-mismatch` (another checkpoint's record, or none), and every code of
 * `verifyAnchorProof` (`ledger.anchor.unconfirmed`, `ledger.anchor.header-unknown`, …).
 * @example
 * ```ts
 * const v = await verifyCheckpointAnchor(anchored, logKey, { headers });
 * if (v.ok) console.log(`log ${v.origin} had ${v.size} leaves by block ${v.blockHeight}`);
 * ```
 */
export async function verifyCheckpointAnchor(
  anchored: AnchoredCheckpoint,
  logKey: string,
  options: { readonly headers: HeaderSource; readonly requireProofOfWork?: boolean },
): Promise<CheckpointAnchorVerification> {
  const statuses: { code: string; message: string }[] = [];
  let cp: Checkpoint;
  try {
    cp = (await verifyCheckpoint(anchored.checkpoint, logKey)).checkpoint;
  } catch (e) {
    return {
      ok: false,
      statuses: [
        {
          code: 'ledger.anchor.checkpoint-invalid',
          message: `the anchored checkpoint: ${(e as Error).message}`,
        },
      ],
    };
  }
  const expected = checkpointRecord(cp);
  const body = (anchored.proof as { record?: { body?: Record<string, unknown> } } | undefined)?.record?.body;
  const same =
    body !== undefined &&
    body.kind === expected.kind &&
    body.rid === expected.rid &&
    body.origin === expected.origin &&
    body.size === expected.size &&
    body.root === expected.root;
  if (!same)
    statuses.push({
      code: 'ledger.anchor.record-mismatch',
      message: 'the proof anchors another record than this checkpoint',
    });
  const v = await verifyAnchorProof(anchored.proof, {
    headers: options.headers,
    ...(options.requireProofOfWork === undefined ? {} : { requireProofOfWork: options.requireProofOfWork }),
  });
  statuses.push(...v.problems);
  const block = (anchored.proof as { block?: { height?: number } }).block;
  return {
    ok: statuses.length === 0 && v.valid,
    statuses,
    origin: cp.origin,
    size: cp.size,
    ...(typeof block?.height === 'number' ? { blockHeight: block.height } : {}),
    ...(v.blockTime === undefined ? {} : { blockTime: v.blockTime }),
  };
}

/** Parses an anchored checkpoint's shape (`ledger.anchor.schema` otherwise); the proof is checked by the verifier. */
export function parseAnchoredCheckpoint(input: unknown): AnchoredCheckpoint {
  const v = input as { checkpoint?: unknown; proof?: unknown } | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.checkpoint !== 'string' ||
    typeof v.proof !== 'object' ||
    v.proof === null
  )
    throw new OmtError('ledger.anchor.schema', 'an anchored checkpoint is {checkpoint, proof}');
  return { checkpoint: v.checkpoint, proof: v.proof as AnchorProof };
}
