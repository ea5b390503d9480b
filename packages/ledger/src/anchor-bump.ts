/**
 * Block Merkle proofs in the BSV Unified Merkle Path format (BUMP, BRC-74), and Bitcoin's block
 * Merkle tree (double SHA-256, odd levels duplicate their last node — Bitcoin Core
 * `consensus/merkle.cpp`). The same tree serves BTC and BSV, so BUMP carries proofs for both.
 *
 * Binary BUMP (BRC-74): blockHeight (CompactSize) ‖ treeHeight (u8) ‖ for each level 0 … treeHeight−1:
 * nLeaves (CompactSize) ‖ nLeaves × { offset (CompactSize) ‖ flags (u8) ‖ hash (32 B, wire/internal
 * byte order, absent when flags = 1) }. flags: 0 = sibling hash, 1 = "duplicate the working hash",
 * 2 = a txid the proof is about. The JSON form writes hashes in display (reversed) hex.
 *
 * Decoding is strict (`ledger.anchor.bump-malformed`): trailing bytes, unknown flags, leaves out
 * of offset order or repeated, offsets beyond the level's width, a tree higher than 64.
 */
import { equalBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { txidFromBytes, txidToBytes } from './transaction.js';
import { ByteReader, ByteWriter, dsha256 } from './wire.js';

/** One leaf of a BUMP level. `hash` is in wire (internal) byte order. */
export interface BumpLeaf {
  readonly offset: number;
  readonly hash?: Uint8Array;
  readonly txid?: boolean;
  readonly duplicate?: boolean;
}

/** A decoded BUMP. */
export interface Bump {
  readonly blockHeight: number;
  /** path[level] = the leaves given at that level, in offset order. */
  readonly path: readonly (readonly BumpLeaf[])[];
}

function bad(why: string): OmtError {
  return new OmtError('ledger.anchor.bump-malformed', `BUMP: ${why}`);
}

/**
 * Parses a binary BUMP (bytes or hex).
 * @example
 * ```ts
 * const bump = decodeBump(arcResponse.merklePath);
 * ```
 */
export function decodeBump(raw: Uint8Array | string): Bump {
  let bytes: Uint8Array;
  if (typeof raw === 'string') {
    if (raw.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(raw)) throw bad('hex expected');
    bytes = Uint8Array.from(raw.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  } else bytes = raw;
  try {
    const r = new ByteReader(bytes);
    const blockHeight = r.compactSize('block height');
    const treeHeight = r.u8('tree height');
    if (treeHeight > 64) throw bad('tree height above 64');
    const path: BumpLeaf[][] = [];
    for (let level = 0; level < treeHeight; level++) {
      const n = r.compactSize('leaf count');
      // Level 0 holds the txids; a compound BUMP may leave a higher level empty (all computable).
      if ((n === 0 && level === 0) || n > r.remaining / 2)
        throw bad(`level ${level}: impossible leaf count ${n}`);
      const leaves: BumpLeaf[] = [];
      let last = -1;
      for (let k = 0; k < n; k++) {
        const offset = r.compactSize('offset');
        if (offset <= last) throw bad(`level ${level}: offsets not strictly increasing`);
        if (offset >= 2 ** (treeHeight - level))
          throw bad(`level ${level}: offset ${offset} beyond the tree`);
        last = offset;
        const flags = r.u8('flags');
        if (flags === 1) leaves.push({ offset, duplicate: true });
        else if (flags === 0 || flags === 2) {
          const hash = r.bytes(32, 'hash').slice();
          leaves.push(flags === 2 ? { offset, hash, txid: true } : { offset, hash });
        } else throw bad(`level ${level}: unknown flags ${flags}`);
      }
      path.push(leaves);
    }
    if (r.remaining !== 0) throw bad(`${r.remaining} trailing bytes`);
    return { blockHeight, path };
  } catch (e) {
    if (e instanceof OmtError && e.code === 'ledger.anchor.bump-malformed') throw e;
    throw new OmtError('ledger.anchor.bump-malformed', 'BUMP: truncated or non-canonical', { cause: e });
  }
}

/**
 * Serialises a BUMP to its binary form.
 * @example
 * ```ts
 * toHex(encodeBump(bump));
 * ```
 */
export function encodeBump(bump: Bump): Uint8Array {
  const w = new ByteWriter();
  w.compactSize(bump.blockHeight).u8(bump.path.length);
  for (const level of bump.path) {
    w.compactSize(level.length);
    for (const leaf of [...level].sort((a, b) => a.offset - b.offset)) {
      w.compactSize(leaf.offset);
      if (leaf.duplicate === true) w.u8(1);
      else {
        if (leaf.hash === undefined || leaf.hash.length !== 32) throw bad('a leaf needs a 32-byte hash');
        w.u8(leaf.txid === true ? 2 : 0).bytes(leaf.hash);
      }
    }
  }
  return w.finish();
}

/**
 * The Merkle root a BUMP gives for `txid` (display hex), in wire byte order, or throws
 * `ledger.anchor.bump-malformed` (path incomplete) / `ledger.anchor.bump-txid-missing`.
 * Single-path and compound BUMPs alike: a sibling a level does not give is computed from the
 * two nodes below it when those are known (given or themselves computed) — the trimmed form
 * `@bsv/sdk` and BEEF producers emit. Work is linear in the number of leaves given.
 * @example
 * ```ts
 * equalBytes(bumpRoot(bump, txid), headerMerkleRoot(header)); // true when mined in that block
 * ```
 */
export function bumpRoot(bump: Bump, txid: string): Uint8Array {
  const target = txidToBytes(txid);
  const level0 = bump.path[0];
  if (bump.path.length === 0) throw bad('empty path');
  const mine = level0?.find((l) => l.hash !== undefined && equalBytes(l.hash, target));
  if (mine === undefined || mine.txid !== true)
    throw new OmtError('ledger.anchor.bump-txid-missing', 'BUMP: the transaction is not flagged in the path');
  // known[level]: offset → hash, or DUPLICATE (the node equals its left partner).
  const known = knownNodes(bump);
  let offset = mine.offset;
  let working = target;
  for (let level = 0; level < bump.path.length; level++) {
    const sibling = known[level]?.get(offset ^ 1);
    if (sibling === undefined) throw bad(`level ${level}: no sibling for offset ${offset}`);
    const other = sibling === DUPLICATE ? working : sibling;
    // Bitcoin Core `ComputeMerkleRoot`: a duplicated last node is hashed with itself.
    working = offset % 2 === 0 ? dsha256(concat(working, other)) : dsha256(concat(other, working));
    offset = Math.floor(offset / 2);
  }
  if (offset !== 0) throw bad('path does not reach the root');
  return working;
}

const DUPLICATE = 'duplicate';

/**
 * Every node a BUMP gives or implies, level by level, bottom-up: a level's given leaves, plus
 * each parent whose two children are known one level below (a right child flagged duplicate
 * equals the left one). Each level holds at most its given leaves plus half the level below.
 */
function knownNodes(bump: Bump): Map<number, Uint8Array | typeof DUPLICATE>[] {
  const out: Map<number, Uint8Array | typeof DUPLICATE>[] = [];
  let below: Map<number, Uint8Array | typeof DUPLICATE> | undefined;
  for (const leaves of bump.path) {
    const here = new Map<number, Uint8Array | typeof DUPLICATE>();
    for (const l of leaves) here.set(l.offset, l.duplicate === true ? DUPLICATE : (l.hash as Uint8Array));
    if (below !== undefined)
      for (const [off, left] of below) {
        if (off % 2 !== 0 || left === DUPLICATE || here.has(off / 2)) continue;
        const right = below.get(off + 1);
        if (right === undefined) continue;
        here.set(off / 2, dsha256(concat(left, right === DUPLICATE ? left : right)));
      }
    out.push(here);
    below = here;
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(a, 0);
  out.set(b, 32);
  return out;
}

/**
 * Bitcoin's block Merkle root over txids (display hex), in wire byte order.
 * @example
 * ```ts
 * toHex(blockMerkleRoot([coinbaseTxid, txid]).reverse()); // as explorers print it
 * ```
 */
export function blockMerkleRoot(txids: readonly string[]): Uint8Array {
  if (txids.length === 0) throw new OmtError('ledger.anchor.invalid', 'a block has at least one transaction');
  let level = txids.map(txidToBytes);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Uint8Array;
      next.push(dsha256(concat(left, level[i + 1] ?? left)));
    }
    level = next;
  }
  return level[0] as Uint8Array;
}

/**
 * A single-path BUMP proving `txids[index]` in the block whose transactions are `txids` (for
 * tests, regtest, and chains whose nodes return a plain branch).
 * @example
 * ```ts
 * const bump = bumpForTransaction(blockTxids, 3, 850_000);
 * ```
 */
export function bumpForTransaction(txids: readonly string[], index: number, blockHeight: number): Bump {
  if (!Number.isInteger(index) || index < 0 || index >= txids.length)
    throw new OmtError('ledger.anchor.invalid', 'index outside the block');
  let level = txids.map(txidToBytes);
  let offset = index;
  const path: BumpLeaf[][] = [];
  let first = true;
  while (level.length > 1) {
    const sib = offset ^ 1;
    const siblingLeaf: BumpLeaf =
      sib < level.length ? { offset: sib, hash: level[sib] as Uint8Array } : { offset: sib, duplicate: true };
    const leaves: BumpLeaf[] = first
      ? [{ offset, hash: level[offset] as Uint8Array, txid: true }, siblingLeaf]
      : [siblingLeaf];
    path.push(leaves.sort((a, b) => a.offset - b.offset));
    first = false;
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Uint8Array;
      next.push(dsha256(concat(left, level[i + 1] ?? left)));
    }
    level = next;
    offset = Math.floor(offset / 2);
  }
  return { blockHeight, path };
}

/** The JSON form of a BUMP (BRC-74): hashes in display hex. @example `bumpToJson(bump)` */
export function bumpToJson(bump: Bump): {
  blockHeight: number;
  path: { offset: number; hash?: string; txid?: boolean; duplicate?: boolean }[][];
} {
  return {
    blockHeight: bump.blockHeight,
    path: bump.path.map((level) =>
      level.map((l) =>
        l.duplicate === true
          ? { offset: l.offset, duplicate: true }
          : {
              offset: l.offset,
              hash: txidFromBytes(l.hash as Uint8Array),
              ...(l.txid === true ? { txid: true } : {}),
            },
      ),
    ),
  };
}
