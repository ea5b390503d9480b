import { readFileSync } from 'node:fs';
import { toHex, utf8 } from '@omt/core/bytes';
import { consistencyProof, hashLeaf, inclusionProof, MerkleTree, merkleRoot } from '@omt/core/merkle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEntryBundle,
  decodeHashTile,
  encodeEntryBundle,
  entryBundlePath,
  newTiles,
  parseTilePath,
  readTile,
  type TileData,
  TileReader,
  tilePath,
  tilesForSize,
  writeTiles,
} from '../src/tlog-tiles.js';

const V = JSON.parse(readFileSync(new URL('../../../testdata/c2sp/vectors.json', import.meta.url), 'utf8'));
const code = (c: string) => expect.objectContaining({ code: c });
const hex = (xs: Uint8Array[]) => xs.map(toHex);

const leafData = (i: number) => utf8(`leaf ${i}`);
const LEAVES = Array.from({ length: 2100 }, (_, i) => leafData(i));
const HASHES = LEAVES.map(hashLeaf);

/** A static file store: what a bucket or CDN would serve after the writer ran. */
async function publish(size: number, height = 8, steps: number[] = []): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const source = {
    leafHashes: (a: number, b: number) => HASHES.slice(a, b),
    leaves: (a: number, b: number) => LEAVES.slice(a, b),
    readTile: (t: { level: number; index: number; width: number }) => files.get(tilePath(t, { height })),
  };
  let at = 0;
  for (const s of [...steps.filter((x) => x < size), size]) {
    for (const t of await writeTiles(source, at, s, { height })) files.set(t.path, t.data);
    at = s;
  }
  return files;
}

function reader(files: Map<string, Uint8Array>, height = 8): TileReader {
  return new TileReader(
    async (path) => {
      const d = files.get(path);
      if (d === undefined) throw new Error(`404 ${path}`);
      return d;
    },
    { height },
  );
}

const head = (size: number) => ({ size, root: merkleRoot(HASHES.slice(0, size)) });

/** A reader of the log at `size`, tiles served on demand by readTile from one tree of every leaf. */
const FULL_TREE = MerkleTree.fromLeafHashes(HASHES);
function servedReader(size: number, height = 8): TileReader {
  const source = {
    size,
    hashAt: (l: number, i: number) => FULL_TREE.nodeHash(l, i),
    leaves: (a: number, b: number) => LEAVES.slice(a, b),
  };
  return new TileReader(
    async (path) => {
      const d = await readTile(path, source, { height });
      if (d === undefined) throw new Error(`404 ${path}`);
      return d;
    },
    { height },
  );
}

describe('tile paths', () => {
  it('encodes indexes in x-prefixed 3-digit groups (spec: 1234067 → x001/x234/067)', () => {
    expect(tilePath({ level: 0, index: V.specExamples.tilePathIndex.index, width: 256 })).toBe(
      `tile/0/${V.specExamples.tilePathIndex.path}`,
    );
    expect(tilePath({ level: 3, index: 1234067, width: 1 })).toBe('tile/3/x001/x234/067.p/1');
    expect(tilePath({ level: 1, index: 0, width: 17 })).toBe('tile/1/000.p/17');
    expect(entryBundlePath(5, 256)).toBe('tile/entries/005');
    expect(entryBundlePath(1000, 112)).toBe('tile/entries/x001/000.p/112');
    expect(parseTilePath('tile/3/x001/x234/067.p/1')).toEqual({
      kind: 'hash',
      level: 3,
      index: 1234067,
      width: 1,
    });
    expect(parseTilePath('tile/entries/x001/000')).toEqual({ kind: 'entries', index: 1000, width: 256 });
  });

  it('refuses non-canonical and malformed paths', () => {
    for (const p of [
      'tile/3/5/123/456/078', // x/mod fuzz seeds
      'tile/3/-1/123/456/078',
      'tile/1/data/x003/x057/500',
      'tile/0/x000/001', // leading zero group
      'tile/0/01',
      'tile/00/001',
      'tile/64/001',
      'tile/0/001.p/0',
      'tile/0/001.p/256',
      'tile/0/001.p/07',
      'tile/0/001/',
      '/tile/0/001',
      'tile/0/1234',
    ]) {
      expect(() => parseTilePath(p), p).toThrow(code('ledger.tile.malformed'));
    }
  });

  it('property: parse(tilePath(t)) = t', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 256 }),
        (level, index, width) => {
          expect(parseTilePath(tilePath({ level, index, width }))).toEqual({
            kind: 'hash',
            level,
            index,
            width,
          });
          expect(parseTilePath(entryBundlePath(index, width))).toEqual({ kind: 'entries', index, width });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('which tiles', () => {
  it('the spec example: a tree of 70,000 leaves', () => {
    const e = V.specExamples.tiles70000;
    const tiles = tilesForSize(e.size);
    const at = (l: number) => tiles.filter((t) => t.level === l);
    expect(at(0).filter((t) => t.width === 256)).toHaveLength(e.level0Full);
    expect(
      at(0)
        .filter((t) => t.width < 256)
        .map((t) => t.width),
    ).toEqual([e.level0PartialWidth]);
    expect(at(1).filter((t) => t.width === 256)).toHaveLength(e.level1Full);
    expect(
      at(1)
        .filter((t) => t.width < 256)
        .map((t) => t.width),
    ).toEqual([e.level1PartialWidth]);
    expect(at(2).map((t) => t.width)).toEqual([e.level2PartialWidth]);
    expect(tiles.filter((t) => t.level > 2)).toEqual([]);
    expect(tilesForSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesForSize(0)).toEqual([]);
  });

  it('x/mod NewTiles vectors (height 10)', () => {
    for (const [o, n, want] of V.xmodNewTiles.cases as [number, number, number][]) {
      expect(newTiles(o, n, { height: V.xmodNewTiles.height }), `${o}→${n}`).toHaveLength(want);
    }
  });
});

describe('codecs', () => {
  it('entry bundles: uint16 length prefixes; truncation and overflow refused', () => {
    const b = encodeEntryBundle([utf8('a'), utf8('bc'), new Uint8Array(0)]);
    expect(toHex(b)).toBe('000161000262630000');
    expect(decodeEntryBundle(b).map((x) => new TextDecoder().decode(x))).toEqual(['a', 'bc', '']);
    expect(() => decodeEntryBundle(b.subarray(0, 4))).toThrow(code('ledger.tile.malformed'));
    expect(() => decodeEntryBundle(Uint8Array.of(0))).toThrow(code('ledger.tile.malformed'));
    expect(() => decodeEntryBundle(new Uint8Array(2 * 257))).toThrow(code('ledger.tile.malformed'));
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow(code('ledger.tile.invalid'));
    expect(() => decodeHashTile(new Uint8Array(33), 1)).toThrow(code('ledger.tile.malformed'));
  });
});

describe('writer and reader', () => {
  it('full tiles hash to their parent entry; level 1 entries are MTHs of 256 leaves', async () => {
    const files = await publish(600);
    const l0 = decodeHashTile(files.get('tile/0/000')!, 256);
    expect(hex(l0)).toEqual(hex(HASHES.slice(0, 256)));
    const l1 = decodeHashTile(files.get('tile/1/000.p/2')!, 2);
    expect(toHex(l1[0]!)).toBe(toHex(merkleRoot(HASHES.slice(0, 256))));
    expect(toHex(l1[1]!)).toBe(toHex(merkleRoot(HASHES.slice(256, 512))));
    expect(files.get('tile/0/002.p/88')).toHaveLength(88 * 32);
    expect(
      decodeEntryBundle(files.get('tile/entries/002.p/88')!).map((x) => new TextDecoder().decode(x))[0],
    ).toBe('leaf 512');
  });

  it('incremental writing yields the same files as writing at once (with and without stored tiles)', async () => {
    const once = await publish(2000, 2);
    const steps = await publish(2000, 2, [1, 3, 4, 15, 16, 17, 64, 255, 1024, 1500]);
    for (const [p, d] of once) expect(toHex(steps.get(p) ?? new Uint8Array()), p).toBe(toHex(d));
    // Without readTile the writer recomputes old entries from the leaves: same data.
    const noRead: TileData[] = await writeTiles({ leafHashes: (a, b) => HASHES.slice(a, b) }, 700, 1900, {
      height: 2,
    });
    const at1900 = await publish(1900, 2);
    expect(noRead.length).toBeGreaterThan(0);
    for (const t of noRead) expect(toHex(t.data), t.path).toBe(toHex(at1900.get(t.path)!));
  });

  it('property (height 8): reader proofs equal core inclusionProof/consistencyProof for sizes ≤ 2,000', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2000 }), fc.nat(), fc.nat(), async (size, a, b) => {
        const r = servedReader(size, 8);
        const hashes = HASHES.slice(0, size);
        const h = head(size);
        const i = a % size;
        const p = await r.inclusionProof(i, h);
        expect(hex(p)).toEqual(hex(inclusionProof(hashes, i)));
        expect(toHex(await r.leafHash(i, h))).toBe(toHex(HASHES[i]!));
        const old = head(1 + (b % size));
        const c = await r.consistencyProof(old, h);
        expect(hex(c)).toEqual(hex(consistencyProof(hashes, old.size)));
        expect(toHex(await r.rootHash(old.size, h))).toBe(toHex(old.root));
      }),
      { numRuns: 100 },
    );
  });

  it('property (height 2, many levels): the same for sizes ≤ 700', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 700 }), fc.nat(), fc.nat(), async (size, a, b) => {
        const r = servedReader(size, 2);
        const hashes = HASHES.slice(0, size);
        const i = a % size;
        expect(hex(await r.inclusionProof(i, head(size)))).toEqual(hex(inclusionProof(hashes, i)));
        const old = 1 + (b % size);
        expect(hex(await r.consistencyProof(head(old), head(size)))).toEqual(
          hex(consistencyProof(hashes, old)),
        );
        const bundle = Math.floor(i / 4);
        const leaves = await r.entries(bundle, head(size));
        expect(leaves.map(toHex)).toEqual(
          LEAVES.slice(bundle * 4, Math.min(size, bundle * 4 + 4)).map(toHex),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('every tampered tile or bundle is caught (ledger.tile.proof-invalid / malformed)', async () => {
    const size = 1300;
    const files = await publish(size);
    const h = head(size);
    for (const path of [...files.keys()]) {
      const bad = new Map(files);
      const d = files.get(path)!.slice();
      d[d.length - 1]! ^= 1;
      bad.set(path, d);
      const r = reader(bad);
      const parsed = parseTilePath(path);
      const run = async () => {
        if (parsed.kind === 'entries') return r.entries(parsed.index, h);
        // Touch every leaf under the tile: an inclusion proof of its last leaf and a full root.
        const span = 256 ** parsed.level;
        const last = Math.min(size - 1, (parsed.index * 256 + parsed.width) * span - 1);
        await r.inclusionProof(last, h);
        return r.leafHash(parsed.index * 256 * span, h);
      };
      await expect(run(), path).rejects.toThrow(code('ledger.tile.proof-invalid'));
    }
    // A truncated tile is malformed; a missing one unavailable; a wrong head is refused.
    const short = new Map(files);
    short.set('tile/0/000', files.get('tile/0/000')!.subarray(0, 100));
    await expect(reader(short).leafHash(3, h)).rejects.toThrow(code('ledger.tile.malformed'));
    await expect(reader(new Map()).leafHash(3, h)).rejects.toThrow(code('ledger.tile.unavailable'));
    await expect(reader(files).leafHash(3, { size, root: new Uint8Array(32) })).rejects.toThrow(
      code('ledger.tile.proof-invalid'),
    );
    await expect(reader(files).leafHash(size, h)).rejects.toThrow(code('ledger.tile.invalid'));
    // A consistency proof to a head of another history fails.
    await expect(reader(files).consistencyProof({ size: 10, root: new Uint8Array(32) }, h)).rejects.toThrow(
      code('ledger.tile.proof-invalid'),
    );
  });

  it('falls back to the full tile when a partial one was deleted', async () => {
    const files = await publish(300, 8, [200]);
    // The checkpoint of size 200 needs tile/0/000.p/200, which the log may delete once full.
    files.delete('tile/0/000.p/200');
    files.delete('tile/entries/000.p/200');
    const r = reader(files);
    expect(hex(await r.inclusionProof(7, head(200)))).toEqual(hex(inclusionProof(HASHES.slice(0, 200), 7)));
    expect(await r.entries(0, head(200))).toHaveLength(200);
  });
});

describe('readTile (serving from a tree)', () => {
  it('serves what the writer writes, and older partial widths; 404 beyond the size', async () => {
    const size = 1300;
    const tree = MerkleTree.fromLeafHashes(HASHES.slice(0, size));
    const source = {
      size,
      hashAt: (l: number, i: number) => tree.nodeHash(l, i),
      leaves: (a: number, b: number) => LEAVES.slice(a, b),
    };
    const files = await publish(size);
    for (const [p, d] of files) expect(toHex((await readTile(p, source))!), p).toBe(toHex(d));
    expect(toHex((await readTile('tile/0/001.p/5', source))!)).toBe(
      toHex(files.get('tile/0/001')!.subarray(0, 160)),
    );
    expect(await readTile('tile/0/005', source)).toBeUndefined(); // 1300 leaves: tile 5 is partial (20)
    expect(await readTile('tile/0/005.p/21', source)).toBeUndefined();
    expect(await readTile('tile/2/000.p/1', source)).toBeUndefined();
    expect(await readTile('nonsense', source)).toBeUndefined();
    expect(await readTile('tile/entries/000', { size, hashAt: source.hashAt })).toBeUndefined();
  });
});
