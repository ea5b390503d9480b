import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isOmtError } from '@omt/core/errors';
import {
  consistencyProof,
  emptyRoot,
  hashChildren,
  hashLeaf,
  inclusionProof,
  inclusionProofs,
  MerkleTree,
  merkleRoot,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from '@omt/core/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../../testdata/merkle/', import.meta.url);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (s: string | null | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64'));

function listJson(sub: string): string[] {
  const root = new URL(sub, dir);
  const out: string[] = [];
  const walk = (p: string): void => {
    for (const name of readdirSync(p)) {
      const full = `${p}/${name}`;
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.json')) out.push(full);
    }
  };
  walk(root.pathname.replace(/\/$/, ''));
  return out.sort();
}

/** Independent RFC 9162 §2.1 reference (recursive definitions, node:crypto). */
const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const k = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function refMth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha();
  if (d.length === 1) return d[0] as Uint8Array;
  const s = k(d.length);
  return sha(Uint8Array.of(1), refMth(d.slice(0, s)), refMth(d.slice(s)));
}
function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s
    ? [...refPath(m, d.slice(0, s)), refMth(d.slice(s))]
    : [...refPath(m - s, d.slice(s)), refMth(d.slice(0, s))];
}
function refSubproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const s = k(d.length);
  return m <= s
    ? [...refSubproof(m, d.slice(0, s), b), refMth(d.slice(s))]
    : [...refSubproof(m - s, d.slice(s), false), refMth(d.slice(0, s))];
}

const ref = JSON.parse(readFileSync(new URL('reference_tree.json', dir), 'utf8')) as {
  leaf_inputs_hex: string[];
  leaf_hashes_hex: string[];
  node_hashes_by_level_hex: { levels: string[][] };
  root_hashes_by_tree_size_hex: Record<string, string>;
  empty_tree_root_hex: string;
};

describe('reference tree (transparency-dev testonly/constants.go)', () => {
  const leaves = ref.leaf_inputs_hex.map(unhex);
  it('leaf hashes', () => {
    expect(leaves.map((l) => hex(hashLeaf(l)))).toEqual(ref.leaf_hashes_hex);
  });
  it('roots for sizes 0–8, from free functions and from the tree at old sizes', () => {
    const tree = new MerkleTree();
    for (const l of leaves) tree.append(l);
    const hashes = leaves.map(hashLeaf);
    for (let n = 0; n <= 8; n++) {
      const want = ref.root_hashes_by_tree_size_hex[String(n)];
      expect(hex(merkleRoot(hashes.slice(0, n)))).toBe(want);
      expect(hex(tree.root(n))).toBe(want);
      expect(hex(MerkleTree.fromLeafHashes(hashes.slice(0, n)).root())).toBe(want);
    }
    expect(hex(emptyRoot())).toBe(ref.empty_tree_root_hex);
  });
  it('node hashes by level', () => {
    const levels = ref.node_hashes_by_level_hex.levels;
    for (let l = 1; l < levels.length; l++) {
      const below = (levels[l - 1] as string[]).map(unhex);
      (levels[l] as string[]).forEach((h, i) => {
        expect(hex(hashChildren(below[2 * i] as Uint8Array, below[2 * i + 1] as Uint8Array))).toBe(h);
      });
    }
    // The tree's complete subtrees are roots of aligned power-of-two slices.
    const hashes = leaves.map(hashLeaf);
    for (const [l, row] of levels.entries()) {
      for (const [i, h] of row.entries())
        expect(hex(merkleRoot(hashes.slice(i * 2 ** l, (i + 1) * 2 ** l)))).toBe(h);
    }
  });
});

type Probe = Record<string, unknown> & { wantErr: boolean; desc: string };

/** true when verification accepts; a thrown OmtError counts as rejection. */
function accepts(run: () => boolean): boolean {
  try {
    return run();
  } catch (e) {
    expect(isOmtError(e), `non-OmtError thrown: ${String(e)}`).toBe(true);
    return false;
  }
}

describe('transparency-dev inclusion probes', () => {
  const files = listJson('inclusion/');
  it('has the 98 probe files', () => expect(files.length).toBe(98));
  it.each(files.map((f) => [f.slice(f.indexOf('inclusion/')), f]))('%s', (_name, f) => {
    const p = JSON.parse(readFileSync(f, 'utf8')) as Probe;
    const proof = ((p.proof as string[] | null) ?? []).map(b64);
    const ok = accepts(() =>
      verifyInclusion(
        p.leafIdx as number,
        p.treeSize as number,
        b64(p.leafHash as string),
        proof,
        b64(p.root as string),
      ),
    );
    expect(ok, p.desc).toBe(!p.wantErr);
  });
});

describe('transparency-dev consistency probes', () => {
  const files = listJson('consistency/');
  it('has the 98 probe files', () => expect(files.length).toBe(98));
  it.each(files.map((f) => [f.slice(f.indexOf('consistency/')), f]))('%s', (_name, f) => {
    const p = JSON.parse(readFileSync(f, 'utf8')) as Probe;
    const proof = ((p.proof as string[] | null) ?? []).map(b64);
    const ok = accepts(() =>
      verifyConsistency(
        p.size1 as number,
        p.size2 as number,
        b64(p.root1 as string),
        b64(p.root2 as string),
        proof,
      ),
    );
    expect(ok, p.desc).toBe(!p.wantErr);
  });
});

describe('argument validation', () => {
  const h = hashLeaf(new Uint8Array());
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (e) {
      return isOmtError(e) ? e.code : 'raw';
    }
  };
  it('throws core.merkle.invalid for bad types and lengths when building', () => {
    expect(code(() => hashChildren(h, h.subarray(1)))).toBe('core.merkle.invalid');
    expect(code(() => hashChildren(h, 'x' as unknown as Uint8Array))).toBe('core.merkle.invalid');
    expect(code(() => hashLeaf([1, 2] as unknown as Uint8Array))).toBe('core.merkle.invalid');
    expect(code(() => merkleRoot([h, new Uint8Array(31)]))).toBe('core.merkle.invalid');
    expect(code(() => merkleRoot('abc' as unknown as Uint8Array[]))).toBe('core.merkle.invalid');
    expect(code(() => inclusionProof([h], 1))).toBe('core.merkle.invalid');
    expect(code(() => inclusionProof([h], -1))).toBe('core.merkle.invalid');
    expect(code(() => inclusionProof([h], 0.5))).toBe('core.merkle.invalid');
    expect(code(() => consistencyProof([h, h], 0))).toBe('core.merkle.invalid');
    expect(code(() => consistencyProof([h, h], 3))).toBe('core.merkle.invalid');
    const t = MerkleTree.fromLeafHashes([h, h]);
    expect(code(() => t.root(3))).toBe('core.merkle.invalid');
    expect(code(() => t.appendLeafHash(new Uint8Array(33)))).toBe('core.merkle.invalid');
    expect(code(() => t.leafHash(2))).toBe('core.merkle.invalid');
  });
  it('verification: bad types throw, bad proofs return false', () => {
    expect(code(() => verifyInclusion(0, 1, h, 'p' as unknown as Uint8Array[], h))).toBe(
      'core.merkle.invalid',
    );
    expect(code(() => verifyInclusion(Number.NaN, 1, h, [], h))).toBe('core.merkle.invalid');
    expect(code(() => verifyInclusion(0, 2 ** 64, h, [], h))).toBe('core.merkle.invalid');
    expect(code(() => verifyConsistency(1, 2, h, null as unknown as Uint8Array, []))).toBe(
      'core.merkle.invalid',
    );
    expect(verifyInclusion(0, 1, h, [], h)).toBe(true);
    expect(verifyInclusion(0, 1, h, [h], h)).toBe(false);
    expect(verifyInclusion(1, 1, h, [], h)).toBe(false);
    expect(code(() => rootFromInclusionProof(0, 2, h, []))).toBe('core.merkle.proof-invalid');
    expect(code(() => rootFromInclusionProof(0, 1, h, [h]))).toBe('core.merkle.proof-invalid');
    expect(verifyConsistency(0, 0, emptyRoot(), emptyRoot(), [])).toBe(false);
    expect(verifyConsistency(2, 1, h, h, [])).toBe(false);
  });
  it('works beyond 32-bit sizes (no bitwise truncation)', () => {
    // A proof for the last leaf of a tree of 2^40 + 1 leaves: one sibling (the left 2^40 subtree).
    const size = 2 ** 40 + 1;
    const left = hashLeaf(Uint8Array.of(9));
    const root = hashChildren(left, h);
    expect(verifyInclusion(size - 1, size, h, [left], root)).toBe(true);
    expect(verifyInclusion(size - 2, size, h, [left], root)).toBe(false);
  });
});

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[(bit >> 3) % c.length] = (c[(bit >> 3) % c.length] as number) ^ (1 << (bit & 7));
  return c;
}

describe('properties (fast-check) against an independent recursive RFC 9162 implementation', () => {
  const leavesArb = fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 200 });

  it('roots and proofs equal the reference; every inclusion and consistency proof verifies', () => {
    fc.assert(
      fc.property(leavesArb, (data) => {
        const hashes = data.map(hashLeaf);
        const tree = new MerkleTree();
        for (const d of data) tree.append(d);
        const n = hashes.length;
        expect(hex(tree.root())).toBe(hex(refMth(hashes)));
        // Sample old sizes (all of them for small trees) to keep the run bounded.
        const sizes = n <= 24 ? Array.from({ length: n }, (_, i) => i + 1) : [1, 2, 3, n >> 1, n - 1, n];
        for (const m of sizes) {
          const rootM = tree.root(m);
          expect(hex(rootM)).toBe(hex(refMth(hashes.slice(0, m))));
          for (let i = 0; i < m; i++) {
            const p = tree.inclusionProof(i, m);
            expect(p.map(hex)).toEqual(refPath(i, hashes.slice(0, m)).map(hex));
            expect(verifyInclusion(i, m, hashes[i] as Uint8Array, p, rootM)).toBe(true);
          }
          const c = tree.consistencyProof(m);
          expect(c.map(hex)).toEqual(refSubproof(m, hashes, true).map(hex));
          expect(verifyConsistency(m, n, rootM, tree.root(), c)).toBe(true);
        }
        // Free functions agree with the tree.
        expect(hex(merkleRoot(hashes))).toBe(hex(tree.root()));
        expect(inclusionProof(hashes, n - 1).map(hex)).toEqual(tree.inclusionProof(n - 1).map(hex));
        expect(consistencyProof(hashes, 1).map(hex)).toEqual(tree.consistencyProof(1).map(hex));
      }),
      { numRuns: 40 },
    );
  });

  it('any single bit flip in an inclusion proof, root or leaf hash fails', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(), (data, ri, rs, bit) => {
        const hashes = data.map(hashLeaf);
        const n = hashes.length;
        const size = 1 + (rs % n);
        const i = ri % size;
        const tree = MerkleTree.fromLeafHashes(hashes);
        const root = tree.root(size);
        const proof = tree.inclusionProof(i, size);
        const leaf = hashes[i] as Uint8Array;
        expect(verifyInclusion(i, size, leaf, proof, root)).toBe(true);
        expect(verifyInclusion(i, size, flipBit(leaf, bit), proof, root)).toBe(false);
        expect(verifyInclusion(i, size, leaf, proof, flipBit(root, bit))).toBe(false);
        for (let j = 0; j < proof.length; j++) {
          const bad = proof.slice();
          bad[j] = flipBit(bad[j] as Uint8Array, bit + j);
          expect(verifyInclusion(i, size, leaf, bad, root)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('any single bit flip in a consistency proof or either root fails', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), (data, rm, bit) => {
        const hashes = data.map(hashLeaf);
        const n = hashes.length;
        const m = 1 + (rm % n);
        const tree = MerkleTree.fromLeafHashes(hashes);
        const r1 = tree.root(m);
        const r2 = tree.root();
        const proof = tree.consistencyProof(m);
        expect(verifyConsistency(m, n, r1, r2, proof)).toBe(true);
        expect(verifyConsistency(m, n, flipBit(r1, bit), r2, proof)).toBe(false);
        expect(verifyConsistency(m, n, r1, flipBit(r2, bit), proof)).toBe(false);
        for (let j = 0; j < proof.length; j++) {
          const bad = proof.slice();
          bad[j] = flipBit(bad[j] as Uint8Array, bit + j);
          expect(verifyConsistency(m, n, r1, r2, bad)).toBe(false);
        }
        if (m < n) {
          expect(verifyConsistency(m, n, r1, r2, proof.slice(1))).toBe(false);
          expect(verifyConsistency(m, n, r1, r2, [...proof, r1])).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('inclusionProofs (all leaves at once)', () => {
  it('equals the per-leaf RFC 9162 proofs for every tree size 1–130, and every proof verifies', () => {
    const leaves = Array.from({ length: 130 }, (_, i) => hashLeaf(new Uint8Array([i, i >> 8])));
    for (let n = 1; n <= 130; n++) {
      const hashes = leaves.slice(0, n);
      const root = merkleRoot(hashes);
      const all = inclusionProofs(hashes);
      expect(all.length).toBe(n);
      for (let i = 0; i < n; i++) {
        expect(all[i]).toEqual(inclusionProof(hashes, i));
        expect(verifyInclusion(i, n, hashes[i] as Uint8Array, all[i] as Uint8Array[], root)).toBe(true);
      }
    }
  });

  it('rejects bad input with core.merkle.invalid', () => {
    expect(() => inclusionProofs([new Uint8Array(31)])).toThrow(
      expect.objectContaining({ code: 'core.merkle.invalid' }),
    );
    expect(inclusionProofs([])).toEqual([]);
  });
});
