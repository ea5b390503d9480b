import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, isBytes } from './bytes.js';
import { OmtError } from './errors.js';
import { sha256Public } from './hash.js';

/**
 * RFC 9162 §2.1 Merkle hash trees over SHA-256 (the Certificate Transparency v2 tree, identical to
 * RFC 6962's): leaf hash `SHA-256(0x00 ‖ data)`, interior node `SHA-256(0x01 ‖ left ‖ right)`, the
 * empty tree's root `SHA-256("")`. Inclusion and consistency proofs (§2.1.3, §2.1.4) are generated
 * from leaf hashes and verified with the iterative algorithms of §2.1.3.2 and §2.1.4.2.
 *
 * Conventions:
 * - Programming errors (a non-byte-array hash, a negative or non-integer size, a 31-byte hash handed
 *   to a *generating* function) throw `OmtError('core.merkle.invalid')`.
 * - Verification treats everything it is handed about a proof as untrusted data: a proof that is
 *   too short or too long, a wrong index, a hash of the wrong length, … make `verify*` return
 *   `false` (`rootFromInclusionProof` throws `core.merkle.proof-invalid` instead, as it has no root
 *   to return). Only bad *types* throw.
 * - As transparency-dev/merkle does, a consistency proof *from* size 0 is always rejected (an empty
 *   tree is consistent with everything, so such a proof proves nothing and usually signals a bug).
 */

/** Length of every hash in the tree (SHA-256). */
export const MERKLE_HASH_SIZE: number = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

function invalid(message: string): OmtError {
  return new OmtError('core.merkle.invalid', message);
}

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!isBytes(h)) throw invalid(`${what} must be a Uint8Array`);
  if (h.length !== MERKLE_HASH_SIZE)
    throw invalid(`${what} must be ${MERKLE_HASH_SIZE} bytes, got ${h.length}`);
}

function checkSize(n: unknown, what: string): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalid(`${what} must be a non-negative safe integer`);
  }
}

function checkProofType(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) throw invalid('proof must be an array of Uint8Array');
  for (const p of proof) if (!isBytes(p)) throw invalid('proof elements must be Uint8Array');
}

function checkLeafHashes(hashes: unknown): asserts hashes is readonly Uint8Array[] {
  if (!Array.isArray(hashes)) throw invalid('leafHashes must be an array of 32-byte Uint8Array');
  for (let i = 0; i < hashes.length; i++) checkHash(hashes[i], `leafHashes[${i}]`);
}

/**
 * The RFC 9162 §2.1.1 leaf hash `SHA-256(0x00 ‖ data)`.
 *
 * @example
 * ```ts
 * toHex(hashLeaf(new Uint8Array())); // '6e340b9c…afa01d'
 * ```
 */
export function hashLeaf(data: Uint8Array): Uint8Array {
  if (!isBytes(data)) throw invalid('leaf data must be a Uint8Array');
  const input = new Uint8Array(data.length + 1);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return sha256Public(input);
}

/**
 * The RFC 9162 §2.1.1 interior node hash `SHA-256(0x01 ‖ left ‖ right)`.
 *
 * @example
 * ```ts
 * const node = hashChildren(hashLeaf(a), hashLeaf(b));
 * ```
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  checkHash(left, 'left');
  checkHash(right, 'right');
  return nodeHash(left, right);
}

/** Scratch input of {@link nodeHash} (public tree data, hashed synchronously). */
const NODE_INPUT = new Uint8Array(65);

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  NODE_INPUT[0] = NODE_PREFIX;
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 33);
  return sha256Public(NODE_INPUT);
}

/** The root of the empty tree, `SHA-256("")` (RFC 9162 §2.1.1). */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** Largest power of two strictly smaller than n (n ≥ 2), the split point `k` of RFC 9162 §2.1.1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** Low bit / right shift on safe integers above 2^31 (bitwise operators would truncate to 32 bits). */
function lsb(n: number): boolean {
  return n % 2 === 1;
}
function shr(n: number): number {
  return Math.floor(n / 2);
}

/**
 * An append-only RFC 9162 Merkle tree over leaf hashes. It keeps every complete, aligned subtree
 * hash (≈ 2n hashes in total), so `append` costs O(1) amortised hashes (O(log n) worst case), the
 * current root O(log n), and roots and proofs for any *earlier* size stay available in
 * O(log² n) lookups without rehashing leaves.
 *
 * @example
 * ```ts
 * const tree = new MerkleTree();
 * for (const d of items) tree.append(d);
 * const proof = tree.inclusionProof(3);            // for the current size
 * verifyInclusion(3, tree.size, tree.leafHash(3), proof, tree.root()); // true
 * const c = tree.consistencyProof(4);              // from size 4 to the current size
 * ```
 */
export class MerkleTree {
  /** levels[l][i] = hash of the complete subtree over leaves [i·2^l, (i+1)·2^l). */
  readonly #levels: Uint8Array[][] = [[]];

  /** Builds a tree from existing leaf hashes (each 32 bytes). */
  static fromLeafHashes(leafHashes: readonly Uint8Array[]): MerkleTree {
    checkLeafHashes(leafHashes);
    const t = new MerkleTree();
    for (const h of leafHashes) t.#push(h);
    return t;
  }

  /** Number of leaves. */
  get size(): number {
    return (this.#levels[0] as Uint8Array[]).length;
  }

  /** Appends a leaf by its data (hashed with {@link hashLeaf}); returns the new leaf's index. */
  append(data: Uint8Array): number {
    return this.#push(hashLeaf(data));
  }

  /** Appends an already computed 32-byte leaf hash; returns the new leaf's index. */
  appendLeafHash(leafHash: Uint8Array): number {
    checkHash(leafHash, 'leafHash');
    return this.#push(leafHash);
  }

  /** The leaf hash at `index` (a copy). */
  leafHash(index: number): Uint8Array {
    checkSize(index, 'index');
    const h = (this.#levels[0] as Uint8Array[])[index];
    if (h === undefined) throw invalid(`index ${index} is outside the tree of size ${this.size}`);
    return h.slice();
  }

  /**
   * The hash of the complete subtree of height `level` over leaves [index·2^level,
   * (index+1)·2^level) — what tlog-tiles serves; level 0 is the leaf hashes. Only complete
   * subtrees exist: `(index+1)·2^level ≤ size`, else `core.merkle.invalid`.
   */
  nodeHash(level: number, index: number): Uint8Array {
    checkSize(level, 'level');
    checkSize(index, 'index');
    const h = this.#levels[level]?.[index];
    if (h === undefined)
      throw invalid(`no complete subtree at level ${level}, index ${index} (size ${this.size})`);
    return h.slice();
  }

  #push(leafHash: Uint8Array): number {
    const index = this.size;
    let h: Uint8Array = leafHash.slice();
    let level = 0;
    let i = index;
    for (;;) {
      let row = this.#levels[level];
      if (row === undefined) {
        row = [];
        this.#levels[level] = row;
      }
      row.push(h);
      if (!lsb(i)) break;
      // A right child completed its parent: hash it up one level.
      h = nodeHash(row[i - 1] as Uint8Array, h);
      level++;
      i = shr(i);
    }
    return index;
  }

  /** MTH over leaves [start, end), end ≤ size, following the recursive split of RFC 9162 §2.1.1. */
  #range(start: number, end: number): Uint8Array {
    const n = end - start;
    if (n === 0) return emptyRoot();
    if (isPowerOfTwo(n) && start % n === 0) {
      return (this.#levels[Math.round(Math.log2(n))] as Uint8Array[])[start / n] as Uint8Array;
    }
    const k = splitPoint(n);
    return nodeHash(this.#range(start, start + k), this.#range(start + k, end));
  }

  #checkTreeSize(size: number | undefined): number {
    if (size === undefined) return this.size;
    checkSize(size, 'size');
    if (size > this.size) throw invalid(`size ${size} exceeds the tree size ${this.size}`);
    return size;
  }

  /** The root hash of the tree at `size` leaves (default: the current size). */
  root(size?: number): Uint8Array {
    return this.#range(0, this.#checkTreeSize(size)).slice();
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves (default: current). */
  inclusionProof(index: number, size?: number): Uint8Array[] {
    const n = this.#checkTreeSize(size);
    checkSize(index, 'index');
    if (index >= n) throw invalid(`index ${index} is outside the tree of size ${n}`);
    // PATH(m, D[start:end]) — iterative from the top; siblings are collected root-first, then reversed.
    const path: Uint8Array[] = [];
    let start = 0;
    let end = n;
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (index < start + k) {
        path.push(this.#range(start + k, end));
        end = start + k;
      } else {
        path.push(this.#range(start, start + k));
        start += k;
      }
    }
    return path.reverse().map((h) => h.slice());
  }

  /**
   * RFC 9162 §2.1.4.1 consistency proof from `oldSize` to `newSize` (default: current size).
   * `oldSize` must satisfy 0 < oldSize ≤ newSize; equal sizes give the empty proof.
   */
  consistencyProof(oldSize: number, newSize?: number): Uint8Array[] {
    const n = this.#checkTreeSize(newSize);
    checkSize(oldSize, 'oldSize');
    if (oldSize === 0 || oldSize > n) throw invalid(`oldSize must be in 1..${n}, got ${oldSize}`);
    const proof: Uint8Array[] = [];
    // SUBPROOF(m, D[start:end], b), unrolled: each step records one sibling, bottom-most last.
    let m = oldSize;
    let start = 0;
    let end = n;
    let complete = true;
    while (m !== end - start) {
      const k = splitPoint(end - start);
      if (m <= k) {
        proof.push(this.#range(start + k, end));
        end = start + k;
      } else {
        proof.push(this.#range(start, start + k));
        start += k;
        m -= k;
        complete = false;
      }
    }
    // m == size of the remaining subtree: SUBPROOF(m, D[m], true) = {}, (…, false) = {MTH(D[m])}.
    if (!complete) proof.push(this.#range(start, end));
    return proof.reverse().map((h) => h.slice());
  }
}

/**
 * The RFC 9162 §2.1.1 Merkle Tree Hash over a list of 32-byte leaf hashes.
 *
 * @example
 * ```ts
 * merkleRoot([hashLeaf(a), hashLeaf(b)]); // = hashChildren(hashLeaf(a), hashLeaf(b))
 * ```
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  return MerkleTree.fromLeafHashes(leafHashes).root();
}

/**
 * RFC 9162 §2.1.3.1 inclusion proof of `leafHashes[index]` in the tree over all of `leafHashes`.
 *
 * @example
 * ```ts
 * const proof = inclusionProof(hashes, 2);
 * verifyInclusion(2, hashes.length, hashes[2], proof, merkleRoot(hashes)); // true
 * ```
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  return MerkleTree.fromLeafHashes(leafHashes).inclusionProof(index);
}

/**
 * Every leaf's RFC 9162 inclusion proof at once, in O(n log n) time with n − 1 node hashes —
 * what a batcher needs when each of n records gets its proof (per-leaf `inclusionProof` costs
 * O(log² n) each). It builds the tree level by level: a node without a right sibling moves up
 * unchanged, which yields exactly the RFC 9162 §2.1.1 tree (left subtree = largest power of two).
 *
 * @example
 * ```ts
 * const proofs = inclusionProofs(hashes);
 * verifyInclusion(5, hashes.length, hashes[5], proofs[5], merkleRoot(hashes)); // true
 * ```
 */
export function inclusionProofs(leafHashes: readonly Uint8Array[]): Uint8Array[][] {
  checkLeafHashes(leafHashes);
  const n = leafHashes.length;
  const proofs: Uint8Array[][] = Array.from({ length: n }, () => []);
  // owners[i] = the leaves under node i of the current level, as a contiguous range [start, end).
  let level: Uint8Array[] = leafHashes.slice();
  let starts: number[] = leafHashes.map((_, i) => i);
  let width = 1;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    const nextStarts: number[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Uint8Array;
      const right = level[i + 1];
      const start = starts[i] as number;
      if (right === undefined) {
        next.push(left);
      } else {
        const rightStart = starts[i + 1] as number;
        const end = Math.min(n, rightStart + width);
        for (let leaf = start; leaf < rightStart; leaf++) (proofs[leaf] as Uint8Array[]).push(right);
        for (let leaf = rightStart; leaf < end; leaf++) (proofs[leaf] as Uint8Array[]).push(left);
        next.push(nodeHash(left, right));
      }
      nextStarts.push(start);
    }
    level = next;
    starts = nextStarts;
    width *= 2;
  }
  return proofs;
}

/**
 * RFC 9162 §2.1.4.1 consistency proof from the tree over the first `oldSize` leaf hashes to the tree
 * over all of `leafHashes` (0 < oldSize ≤ leafHashes.length).
 *
 * @example
 * ```ts
 * const proof = consistencyProof(hashes, 3);
 * verifyConsistency(3, hashes.length, merkleRoot(hashes.slice(0, 3)), merkleRoot(hashes), proof); // true
 * ```
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number): Uint8Array[] {
  return MerkleTree.fromLeafHashes(leafHashes).consistencyProof(oldSize);
}

function proofInvalid(message: string): OmtError {
  return new OmtError('core.merkle.proof-invalid', message);
}

/**
 * Recomputes the root from an inclusion proof (RFC 9162 §2.1.3.2). Throws
 * `core.merkle.proof-invalid` when the proof cannot belong to a tree of `size` leaves (index out of
 * range, proof of the wrong length, element of the wrong length) and `core.merkle.invalid` for bad
 * argument types.
 *
 * @example
 * ```ts
 * equalBytes(rootFromInclusionProof(i, n, leafHash, proof), signedRoot);
 * ```
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkSize(index, 'index');
  checkSize(size, 'size');
  if (!isBytes(leafHash)) throw invalid('leafHash must be a Uint8Array');
  checkProofType(proof);
  if (index >= size) throw proofInvalid(`index ${index} is not below the tree size ${size}`);
  if (leafHash.length !== MERKLE_HASH_SIZE) throw proofInvalid('leaf hash has the wrong length');
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw proofInvalid('inclusion proof is too long');
    if (p.length !== MERKLE_HASH_SIZE) throw proofInvalid('inclusion proof element has the wrong length');
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = shr(fn);
    sn = shr(sn);
  }
  if (sn !== 0) throw proofInvalid('inclusion proof is too short');
  return r;
}

/**
 * Verifies an RFC 9162 §2.1.3.2 inclusion proof. Returns false for any proof that does not verify;
 * throws `core.merkle.invalid` only for bad argument types.
 *
 * @example
 * ```ts
 * verifyInclusion(3, tree.size, tree.leafHash(3), tree.inclusionProof(3), tree.root()); // true
 * ```
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isBytes(root)) throw invalid('root must be a Uint8Array');
  let computed: Uint8Array;
  try {
    computed = rootFromInclusionProof(index, size, leafHash, proof);
  } catch (e) {
    if (e instanceof OmtError && e.code === 'core.merkle.proof-invalid') return false;
    throw e;
  }
  return equalBytes(computed, root);
}

/**
 * Verifies an RFC 9162 §2.1.4.2 consistency proof that the tree of `size2` leaves with root `root2`
 * extends the tree of `size1` leaves with root `root1`. Returns false for any proof that does not
 * verify, and for every proof from size 0 (transparency-dev rule); throws `core.merkle.invalid` only
 * for bad argument types. Equal sizes verify iff the proof is empty and the roots are equal.
 *
 * @example
 * ```ts
 * verifyConsistency(4, tree.size, tree.root(4), tree.root(), tree.consistencyProof(4)); // true
 * ```
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  checkSize(size1, 'size1');
  checkSize(size2, 'size2');
  if (!isBytes(root1)) throw invalid('root1 must be a Uint8Array');
  if (!isBytes(root2)) throw invalid('root2 must be a Uint8Array');
  checkProofType(proof);
  if (size1 === 0 || size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (root1.length !== MERKLE_HASH_SIZE || root2.length !== MERKLE_HASH_SIZE) return false;
  for (const p of proof) if (p.length !== MERKLE_HASH_SIZE) return false;
  // §2.1.4.2 step 2: when size1 is a power of two the old root is the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  const first = path[0];
  if (first === undefined) return false;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (lsb(fn)) {
    fn = shr(fn);
    sn = shr(sn);
  }
  let fr = first;
  let sr = first;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = shr(fn);
    sn = shr(sn);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}
