/**
 * Anchoring proofs: record → batch inclusion proof → transaction (txid, OP_RETURN) → block Merkle
 * proof (BUMP, BRC-74) → block header. {@link verifyAnchorProof} checks the whole chain offline,
 * in a browser, given block headers the verifier trusts (its own header chain, a header service).
 *
 * ```json
 * { "v": 1,
 *   "record": { "hash": "<hex H>" , "body": { … optional: the record itself } },
 *   "batch": { "recordHash", "index", "size", "root", "proof": [ … ] },
 *   "tx": { "chain": "bsv", "txid": "<display hex>", "raw": "<hex>", "vout": 0 },
 *   "block": { "height": 850000, "bump": "<hex BRC-74 binary>" } }
 * ```
 * `block` is absent until the transaction is mined; such a proof reports `ledger.anchor.unconfirmed`
 * (everything before it still checked).
 */
import { toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { canonicalizeToBytes } from '@omt/core/jcs';
import { z } from 'zod';
import { bumpRoot, decodeBump } from './anchor-bump.js';
import { meetsProofOfWork, parseBlockHeader } from './anchor-header.js';
import { type BatchInclusion, verifyBatchInclusion } from './batch.js';
import { decodeAnchorScript } from './op-return.js';
import { decodeTransaction, transactionId } from './transaction.js';

/** Format version of anchoring proofs. */
export const ANCHOR_PROOF_VERSION = 1 as const;

/** An anchoring proof (see the file header). */
export interface AnchorProof {
  readonly v: typeof ANCHOR_PROOF_VERSION;
  readonly record: { readonly hash: string; readonly body?: Record<string, unknown> };
  readonly batch: BatchInclusion;
  readonly tx: {
    readonly chain: 'bsv' | 'btc';
    readonly txid: string;
    readonly raw: string;
    readonly vout: number;
  };
  readonly block?: { readonly height: number; readonly bump: string };
}

/** One failed check. */
export interface AnchorProblem {
  readonly code: string;
  readonly message: string;
}

/** Result of {@link verifyAnchorProof}: `valid` iff nothing failed and the block part was checked. */
export interface AnchorVerification {
  readonly valid: boolean;
  readonly problems: readonly AnchorProblem[];
  /** Which links were checked successfully. */
  readonly checked: {
    readonly record: boolean;
    readonly batch: boolean;
    readonly tx: boolean;
    readonly opReturn: boolean;
    readonly block: boolean;
    readonly header: boolean;
  };
  /** Block hash (display hex) and time of the anchoring block, when the header was found. */
  readonly blockHash?: string;
  readonly blockTime?: number;
}

/** Trusted headers by height: a lookup function or a map (80-byte header, bytes or hex). */
export type HeaderSource =
  | ((height: number) => Uint8Array | string | undefined | Promise<Uint8Array | string | undefined>)
  | ReadonlyMap<number, Uint8Array | string>;

const HEX = /^[0-9a-f]*$/;
const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const proofSchema = z
  .object({
    v: z.literal(ANCHOR_PROOF_VERSION),
    record: z.object({ hash: hex32, body: z.record(z.string(), z.unknown()).optional() }).strict(),
    batch: z
      .object({
        recordHash: hex32,
        index: z.number().int().min(0),
        size: z
          .number()
          .int()
          .min(1)
          .max(2 ** 32),
        root: hex32,
        proof: z.array(hex32).max(64),
      })
      .strict(),
    tx: z
      .object({
        chain: z.enum(['bsv', 'btc']),
        txid: hex32,
        raw: z.string().max(20_000_000).regex(HEX),
        vout: z.number().int().min(0).max(0xffffffff),
      })
      .strict(),
    block: z
      .object({ height: z.number().int().min(0).max(0xffffffff), bump: z.string().max(1_000_000).regex(HEX) })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Assembles a proof (unconfirmed until `block` is given).
 * @example
 * ```ts
 * const proof = anchorProof({ batch: batch.inclusion(i), tx: { chain: 'bsv', raw: rawHex, vout: 0 } });
 * ```
 */
export function anchorProof(parts: {
  batch: BatchInclusion;
  tx: { chain: 'bsv' | 'btc'; raw: string; vout: number };
  block?: { height: number; bump: string };
  record?: Record<string, unknown>;
}): AnchorProof {
  const tx = decodeTransaction(parts.tx.raw, { witness: parts.tx.chain === 'btc' });
  return {
    v: ANCHOR_PROOF_VERSION,
    record: { hash: parts.batch.recordHash, ...(parts.record === undefined ? {} : { body: parts.record }) },
    batch: parts.batch,
    tx: {
      chain: parts.tx.chain,
      txid: transactionId(tx),
      raw: parts.tx.raw.toLowerCase(),
      vout: parts.tx.vout,
    },
    ...(parts.block === undefined ? {} : { block: parts.block }),
  };
}

/**
 * Verifies every link of an anchoring proof offline. Problems (every one found): `ledger.anchor.schema`,
 * `ledger.anchor.record-mismatch`, `ledger.anchor.batch-proof-invalid`, `ledger.anchor.tx-malformed`,
 * `ledger.anchor.txid-mismatch`, `ledger.anchor.op-return-mismatch`, `ledger.anchor.unconfirmed`,
 * `ledger.anchor.bump-malformed`, `ledger.anchor.bump-txid-missing`, `ledger.anchor.bump-height-mismatch`,
 * `ledger.anchor.header-unknown`, `ledger.anchor.header-malformed`, `ledger.anchor.header-mismatch`,
 * `ledger.anchor.header-pow`.
 * @example
 * ```ts
 * const v = await verifyAnchorProof(proof, { headers: new Map([[850000, headerHex]]) });
 * v.valid; // true: the record was in a block with that header
 * ```
 */
export async function verifyAnchorProof(
  input: unknown,
  options: { headers: HeaderSource; requireProofOfWork?: boolean },
): Promise<AnchorVerification> {
  const checked = { record: false, batch: false, tx: false, opReturn: false, block: false, header: false };
  const problems: AnchorProblem[] = [];
  const fail = (code: string, message: string): void => {
    problems.push({ code, message });
  };
  const parsed = proofSchema.safeParse(input);
  if (!parsed.success) {
    const why = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return {
      valid: false,
      problems: [{ code: 'ledger.anchor.schema', message: `invalid proof: ${why}` }],
      checked,
    };
  }
  const p = parsed.data;

  // 1. record → H
  let recordOk = p.batch.recordHash === p.record.hash;
  if (recordOk && p.record.body !== undefined) {
    try {
      // H = SHA-256(JCS(record)) as in intent.ts (computed here so the verifier bundle skips the signature suites).
      recordOk = toHex(sha256(canonicalizeToBytes(p.record.body))) === p.record.hash;
    } catch {
      recordOk = false;
    }
  }
  if (recordOk) checked.record = true;
  else fail('ledger.anchor.record-mismatch', 'the record does not hash to the proven record hash');

  // 2. H → batch root
  if (verifyBatchInclusion(p.batch)) checked.batch = true;
  else fail('ledger.anchor.batch-proof-invalid', 'the batch inclusion proof does not lead to the batch root');

  // 3. raw tx → txid; 4. OP_RETURN output → batch root
  let txOk = false;
  try {
    const tx = decodeTransaction(p.tx.raw, { witness: p.tx.chain === 'btc' });
    if (transactionId(tx) !== p.tx.txid)
      fail('ledger.anchor.txid-mismatch', 'the raw transaction has another txid');
    else {
      txOk = true;
      checked.tx = true;
    }
    const out = tx.outputs[p.tx.vout];
    let committed = false;
    if (out !== undefined) {
      try {
        const a = decodeAnchorScript(out.script);
        committed =
          a.kind === 'batch' && toHex(a.payload.root) === p.batch.root && a.payload.n === p.batch.size;
      } catch {
        committed = false;
      }
    }
    if (committed) checked.opReturn = true;
    else
      fail(
        'ledger.anchor.op-return-mismatch',
        `output ${p.tx.vout} does not commit to this batch root and size`,
      );
  } catch (e) {
    fail('ledger.anchor.tx-malformed', e instanceof OmtError ? e.message : 'undecodable transaction');
  }

  // 5. txid → block Merkle root (BUMP); 6. root → trusted header
  let blockHash: string | undefined;
  let blockTime: number | undefined;
  if (p.block === undefined) {
    fail('ledger.anchor.unconfirmed', 'the transaction is not yet proven in a block');
  } else if (txOk) {
    let root: Uint8Array | undefined;
    try {
      const bump = decodeBump(p.block.bump);
      if (bump.blockHeight !== p.block.height)
        fail('ledger.anchor.bump-height-mismatch', 'the BUMP is for another block height');
      else {
        root = bumpRoot(bump, p.tx.txid);
        checked.block = true;
      }
    } catch (e) {
      if (e instanceof OmtError && e.code.startsWith('ledger.anchor.')) fail(e.code, e.message);
      else fail('ledger.anchor.bump-malformed', 'undecodable BUMP');
    }
    if (root !== undefined) {
      const raw =
        options.headers instanceof Map
          ? options.headers.get(p.block.height)
          : await (options.headers as Exclude<HeaderSource, ReadonlyMap<number, unknown>>)(p.block.height);
      if (raw === undefined)
        fail('ledger.anchor.header-unknown', `no trusted header at height ${p.block.height}`);
      else {
        try {
          const header = parseBlockHeader(raw);
          blockHash = header.hash;
          blockTime = header.time;
          if (toHex(header.merkleRoot) !== toHex(root))
            fail('ledger.anchor.header-mismatch', "the block Merkle root is not the header's");
          else if ((options.requireProofOfWork ?? true) && !meetsProofOfWork(header))
            fail('ledger.anchor.header-pow', 'the header does not meet its own proof-of-work target');
          else checked.header = true;
        } catch (e) {
          fail('ledger.anchor.header-malformed', e instanceof OmtError ? e.message : 'malformed header');
        }
      }
    }
  }
  return {
    valid: problems.length === 0,
    problems,
    checked,
    ...(blockHash === undefined ? {} : { blockHash }),
    ...(blockTime === undefined ? {} : { blockTime }),
  };
}
