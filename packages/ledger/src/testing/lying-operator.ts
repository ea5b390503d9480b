/**
 * A lying operator, for fault tests and the demo: an operator whose key signs statements that
 * contradict what it signed honestly. It is not a fake of something real — it *is* the operator's
 * own key misused — so clients are tested against exactly what a compromised operator can do.
 */
import { toBase64 } from '@omt/core/bytes';
import { MerkleTree } from '@omt/core/merkle';
import { type ChainEvent, eventHash } from '../event.js';
import type { ChainView, CommittedEntry, OperatorApi } from '../operator-api.js';
import { type OperatorReceipt, voteLeaf } from '../operator-receipt.js';
import { signCheckpoint } from '../tlog-checkpoint.js';
import type { NoteSigner } from '../tlog-note.js';

/**
 * A receipt for a vote the operator never cast in its real log: a one-leaf forked log holding the
 * vote for `event`, with a checkpoint signed by the operator's own log key.
 */
export async function forgeReceipt(logSigner: NoteSigner, event: ChainEvent): Promise<OperatorReceipt> {
  const tree = new MerkleTree();
  tree.append(voteLeaf(event.chain, event.height, eventHash(event)));
  const checkpoint = await signCheckpoint({ origin: logSigner.name, size: 1, root: tree.root() }, [
    logSigner,
  ]);
  return { operator: logSigner.name, index: 0, checkpoint, proof: tree.inclusionProof(0).map(toBase64) };
}

/**
 * Wraps an honest operator's API; for `chain` it serves a history in which height `height` is
 * replaced by `forged` with a quorum certificate holding only the liar's forged receipt (it
 * cannot forge the others'). Everything else passes through.
 */
export function lyingOperator(
  honest: OperatorApi,
  logSigner: NoteSigner,
  lie: { readonly chain: string; readonly height: number; readonly forged: ChainEvent },
): OperatorApi {
  return {
    name: honest.name,
    submit: (events, signal) => honest.submit(events, signal),
    commit: (entries, signal) => honest.commit(entries, signal),
    checkpoint: (signal) => honest.checkpoint(signal),
    consistency: (from, to, signal) => honest.consistency(from, to, signal),
    status: (signal) => honest.status(signal),
    async chain(chain, options): Promise<ChainView> {
      const view = await honest.chain(chain, options);
      if (chain !== lie.chain) return view;
      const receipt = await forgeReceipt(logSigner, lie.forged);
      const events: CommittedEntry[] = view.events.map((e, i) =>
        i === lie.height
          ? {
              event: lie.forged,
              qc: { chain: lie.chain, height: lie.height, event: eventHash(lie.forged), receipts: [receipt] },
            }
          : e,
      );
      return { ...view, events };
    },
  };
}
