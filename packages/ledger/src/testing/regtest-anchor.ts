/**
 * Anchoring proofs in a locally mined regtest-difficulty block, for tests and demos that have no
 * Bitcoin node: the proof's transaction, BUMP and header are real encodings that
 * `verifyAnchorProof` checks in full (only the difficulty is regtest's, 0x207fffff).
 */
import { toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { type AnchorProof, anchorProof } from '../anchor.js';
import { blockMerkleRoot, bumpForTransaction, encodeBump } from '../anchor-bump.js';
import { meetsProofOfWork, parseBlockHeader } from '../anchor-header.js';
import { sealBatch } from '../batch.js';
import { intentRecordHash } from '../intent.js';
import { encodeBatchAnchor } from '../op-return.js';
import type { ChainClient } from '../ports.js';
import { decodeTransaction, encodeTransaction, type Transaction, transactionId } from '../transaction.js';

/** Mines a regtest-difficulty header (bits 0x207fffff) over `merkleRoot`. */
export function mineRegtestHeader(merkleRoot: Uint8Array, time: number = 1_767_225_600): string {
  const bytes = new Uint8Array(80);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, 0x20000000, true);
  bytes.set(merkleRoot, 36);
  view.setUint32(68, time, true);
  view.setUint32(72, 0x207fffff, true);
  for (let nonce = 0; ; nonce++) {
    view.setUint32(76, nonce, true);
    if (meetsProofOfWork(parseBlockHeader(bytes))) return toHex(bytes);
  }
}

function randomTxid(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Puts the records (intent records: JSON objects with timestamp and nonce) in one batch, its root
 * in a BSV OP_RETURN transaction, the transaction in a mined block at `height`, and returns each
 * record's complete anchoring proof with the header map a verifier needs.
 */
export function anchorInRegtestBlock(
  records: readonly Record<string, unknown>[],
  options: { readonly height?: number; readonly time?: number } = {},
): { proofs: AnchorProof[]; headers: Map<number, string> } {
  const height = options.height ?? 812_345;
  const time = options.time ?? 1_767_225_600;
  const batch = sealBatch(records.map((r) => intentRecordHash(r)));
  const tx: Transaction = {
    version: 1,
    inputs: [
      { txid: randomTxid(), vout: 0, scriptSig: Uint8Array.of(0x51), sequence: 0xffffffff, witness: [] },
    ],
    outputs: [
      {
        value: 0n,
        script: encodeBatchAnchor({ root: batch.root, n: batch.size, ts: time }, { chain: 'bsv' }),
      },
      { value: 900n, script: Uint8Array.of(0x51) },
    ],
    locktime: 0,
  };
  const raw = toHex(encodeTransaction(tx, { witness: false }));
  const txid = transactionId(tx);
  const blockTxids = [randomTxid(), txid, randomTxid()];
  const headers = new Map([[height, mineRegtestHeader(blockMerkleRoot(blockTxids), time)]]);
  const bump = toHex(encodeBump(bumpForTransaction(blockTxids, 1, height)));
  const proofs = records.map((record, i) =>
    anchorProof({
      batch: batch.inclusion(i),
      tx: { chain: 'bsv', raw, vout: 0 },
      block: { height, bump },
      record,
    }),
  );
  return { proofs, headers };
}

/** A {@link regtestMiningChain}: the chain client, the headers it mined, and its controls. */
export interface RegtestMiningChain {
  readonly chain: ChainClient;
  /** Height → 80-byte header hex of every block mined so far (a `HeaderSource`). */
  readonly headers: Map<number, string>;
  /** When true, broadcasts are refused with `ledger.chain.rejected`. */
  reject: boolean;
  /** Mines what was broadcast since the last block (after a stand-in coinbase); returns its height. */
  mine(): number;
}

/**
 * An in-process BSV chain for tests that have no Bitcoin node: broadcasts wait in a mempool until
 * `mine()` puts them in a regtest-difficulty block; `txStatus`, `merkleProof` (BUMP) and
 * `blockHeader` then answer as a node would, so `PublishWorker.confirm` and `verifyAnchorProof`
 * check real encodings.
 */
export function regtestMiningChain(options: { readonly height?: number } = {}): RegtestMiningChain {
  const mempool: string[] = [];
  const mined = new Map<string, { height: number; bump: string }>();
  const headers = new Map<number, string>();
  let height = options.height ?? 900_000;
  const state: RegtestMiningChain = {
    reject: false,
    headers,
    chain: {
      chain: 'bsv',
      broadcast: async (raw) => {
        if (state.reject) throw new OmtError('ledger.chain.rejected', 'bad-txns (the regtest chain refuses)');
        const txid = transactionId(decodeTransaction(raw));
        mempool.push(txid);
        return { txid, state: 'seen' };
      },
      txStatus: async (txid) => ({ txid, state: mined.has(txid) ? 'mined' : 'unknown' }),
      merkleProof: async (txid) => {
        const m = mined.get(txid);
        return m === undefined ? undefined : { blockHeight: m.height, bump: m.bump };
      },
      blockHeader: async (h) => headers.get(h),
    },
    mine(): number {
      height++;
      const txids = [randomTxid(), ...mempool.splice(0)];
      headers.set(height, mineRegtestHeader(blockMerkleRoot(txids)));
      txids.forEach((txid, i) => {
        if (i > 0) mined.set(txid, { height, bump: toHex(encodeBump(bumpForTransaction(txids, i, height))) });
      });
      return height;
    },
  };
  return state;
}
