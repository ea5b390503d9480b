/**
 * Compound BUMPs (BRC-74: several txids of one block in one path, nodes that can be computed
 * from the level below left out). @bsv/sdk's MerklePath — an independent implementation — merges
 * and trims single paths into compound ones; ours must give every flagged txid the block's root,
 * the same root as @bsv/sdk, and must refuse a path with a hole.
 */
import { MerklePath } from '@bsv/sdk';
import { toHex } from '@omt/core/bytes';
import {
  blockMerkleRoot,
  bumpForTransaction,
  bumpRoot,
  decodeBump,
  encodeBump,
} from '@omt/ledger/anchor-bump';
import { txidFromBytes } from '@omt/ledger/transaction';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const txidArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));

describe('compound BUMPs', () => {
  it('@bsv/sdk combine + trim: every flagged txid gives the block root, as @bsv/sdk computes it', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(txidArb, { minLength: 2, maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 2, maxLength: 8 }),
        (txids, picks) => {
          const chosen = [...new Set(picks.map((p) => p % txids.length))];
          const height = 800_000 + txids.length;
          const paths = chosen.map((i) =>
            MerklePath.fromHex(toHex(encodeBump(bumpForTransaction(txids, i, height)))),
          );
          const compound = paths[0] as MerklePath;
          for (const p of paths.slice(1)) compound.combine(p); // combine() trims
          const ours = decodeBump(compound.toHex());
          const root = txidFromBytes(blockMerkleRoot(txids));
          for (const i of chosen) {
            const txid = txids[i] as string;
            expect(txidFromBytes(bumpRoot(ours, txid))).toBe(root);
            expect(compound.computeRoot(txid)).toBe(root);
          }
          // Re-encoded by us, read by @bsv/sdk: the same root.
          expect(MerklePath.fromHex(toHex(encodeBump(ours))).computeRoot(txids[chosen[0] as number])).toBe(
            root,
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a trimmed compound path really omits computable siblings (the case single-path readers fail)', () => {
    const txids = Array.from({ length: 8 }, (_, i) => (i + 1).toString(16).padStart(64, '0'));
    const compound = MerklePath.fromHex(toHex(encodeBump(bumpForTransaction(txids, 0, 1))));
    compound.combine(MerklePath.fromHex(toHex(encodeBump(bumpForTransaction(txids, 2, 1)))));
    const ours = decodeBump(compound.toHex());
    // Level 1 gives no node: offsets 0 and 1 follow from level 0.
    expect(ours.path[1]?.length ?? 0).toBe(0);
    const root = txidFromBytes(blockMerkleRoot(txids));
    expect(txidFromBytes(bumpRoot(ours, txids[0] as string))).toBe(root);
    expect(txidFromBytes(bumpRoot(ours, txids[2] as string))).toBe(root);
  });

  it('a hole no level can fill is ledger.anchor.bump-malformed; a wrong sibling gives another root', () => {
    const txids = Array.from({ length: 8 }, (_, i) => (i + 1).toString(16).padStart(64, '0'));
    const bump = bumpForTransaction(txids, 5, 1);
    const holed = { ...bump, path: bump.path.map((l, i) => (i === 1 ? [] : l)) };
    expect(() => bumpRoot(holed, txids[5] as string)).toThrow(
      expect.objectContaining({ code: 'ledger.anchor.bump-malformed' }),
    );
    const wrong = {
      ...bump,
      path: bump.path.map((l, i) =>
        i === 2 ? l.map((x) => ({ ...x, hash: new Uint8Array(32).fill(9) })) : l,
      ),
    };
    expect(txidFromBytes(bumpRoot(wrong, txids[5] as string))).not.toBe(
      txidFromBytes(blockMerkleRoot(txids)),
    );
  });
});
