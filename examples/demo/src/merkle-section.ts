import { toHex, utf8 } from '@omt/core/bytes';
import { MerkleTree, verifyConsistency, verifyInclusion } from '@omt/core/merkle';

export interface MerkleReport {
  size: number;
  root: string;
  ok: boolean;
}

/** Builds a 1,000-leaf tree and checks an inclusion and a consistency proof (and that tampering fails). */
export function demoMerkle(log: (s: string) => void): MerkleReport {
  const tree = new MerkleTree();
  for (let i = 0; i < 1000; i++) tree.append(utf8(`record ${i}`));
  const root = tree.root();
  const leaf = tree.leafHash(123);
  const inclusion = tree.inclusionProof(123);
  const included = verifyInclusion(123, 1000, leaf, inclusion, root);
  const wrongLeaf = verifyInclusion(123, 1000, tree.leafHash(124), inclusion, root);
  const oldRoot = tree.root(600);
  const consistency = tree.consistencyProof(600, 1000);
  const consistent = verifyConsistency(600, 1000, oldRoot, root, consistency);
  const forked = verifyConsistency(600, 1000, tree.root(601), root, consistency);
  log(`   1000 leaves, root ${toHex(root).slice(0, 16)}…`);
  log(
    `   inclusion of leaf 123: ${inclusion.length} hashes → ${included ? 'valid' : 'INVALID'}; with leaf 124 → ${wrongLeaf ? 'ACCEPTED (bug)' : 'rejected'}`,
  );
  log(
    `   consistency 600 → 1000: ${consistency.length} hashes → ${consistent ? 'valid' : 'INVALID'}; against a forked old root → ${forked ? 'ACCEPTED (bug)' : 'rejected'}`,
  );
  return { size: 1000, root: toHex(root), ok: included && !wrongLeaf && consistent && !forked };
}
