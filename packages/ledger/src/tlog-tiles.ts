/**
 * Tiled transparency logs (c2sp.org/tlog-tiles): the log's Merkle tree served as static,
 * immutable, cacheable files, so clients and CDNs compute proofs with no operator online.
 *
 * - Hash tiles `tile/<L>/<N>[.p/<W>]`: the tile N of level L holds the hashes
 *   `MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])`, i < W, concatenated (32 bytes each). Full
 *   tiles have 256 hashes; the rightmost tile of a level is *partial* (`.p/W`, 1 ≤ W ≤ 255,
 *   W = ⌊s / 256^L⌋ mod 256 for a tree of size s).
 * - Entry bundles `tile/entries/<N>[.p/<W>]`: the leaves of level-0 tile N, each as a big-endian
 *   uint16 length and the bytes.
 * - `<N>` is written in 3-digit groups, all but the last prefixed with `x`: 1234067 →
 *   `x001/x234/067`.
 *
 * The tile height is 8 (256 hashes) as the spec fixes it; the `height` option (1–8) generalises
 * the arithmetic as golang.org/x/mod/sumdb/tlog does, for tests — paths never carry it.
 *
 * {@link writeTiles} produces the tiles (and bundles) that appeared or grew between two tree
 * sizes; {@link TileReader} fetches tiles through a `fetchTile(path)` function, authenticates
 * every tile against a verified checkpoint (full tiles hash to an entry of their parent, the
 * rightmost partial tiles rebuild the root) and computes RFC 9162 inclusion and consistency proofs.
 *
 * @example
 * ```ts
 * for (const t of await writeTiles(voteLog, oldSize, newSize)) await bucket.put(t.path, t.data);
 * const reader = new TileReader((path) => fetch(`${prefix}/${path}`).then((r) => r.bytes()));
 * const proof = await reader.inclusionProof(index, checkpoint); // verified against checkpoint.root
 * ```
 */
import { concatBytes, equalBytes, isBytes, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { emptyRoot, hashChildren, hashLeaf, verifyConsistency, verifyInclusion } from '@omt/core/merkle';

/** The spec's tile height: a tile holds 2^8 = 256 hashes. */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile (and entries in a full bundle). */
export const TILE_WIDTH = 256;
const HASH_SIZE = 32;

/** A hash tile: level, index within the level, and width (number of hashes, 1 … 2^height). */
export interface Tile {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** What a tile path names: a hash tile, or the entry bundle of level-0 tile `index`. */
export type ParsedTilePath =
  | { readonly kind: 'hash'; readonly level: number; readonly index: number; readonly width: number }
  | { readonly kind: 'entries'; readonly index: number; readonly width: number };

/** A tile or bundle to publish. */
export interface TileData {
  readonly kind: 'hash' | 'entries';
  readonly tile: Tile;
  readonly path: string;
  readonly data: Uint8Array;
}

/** The size and root of a tree, from a verified checkpoint (a `Checkpoint` fits). */
export interface TreeHead {
  readonly size: number;
  readonly root: Uint8Array;
}

/** Options of the tile functions. */
export interface TileOptions {
  /** Tile height, 1–8 (1–30 for {@link newTiles}); default {@link TILE_HEIGHT}, the only value the spec allows. */
  readonly height?: number;
}

function invalid(message: string): OmtError {
  return new OmtError('ledger.tile.invalid', message);
}
function malformed(message: string): OmtError {
  return new OmtError('ledger.tile.malformed', message);
}
function mismatch(message: string): OmtError {
  return new OmtError('ledger.tile.proof-invalid', message);
}

function readHeight(options: TileOptions | undefined): number {
  const h = options?.height ?? TILE_HEIGHT;
  if (!Number.isInteger(h) || h < 1 || h > TILE_HEIGHT) throw invalid('tile height must be an integer 1–8');
  return h;
}

function checkSize(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${what} must be a safe integer ≥ 0`);
  return n;
}

function pow2(e: number): number {
  return 2 ** e;
}

/** Number of hashes at tile level `level` for a tree of `size` leaves: ⌊size / 2^(h·level)⌋. */
function levelCount(size: number, level: number, h: number): number {
  return Math.floor(size / pow2(h * level));
}

/** Width of tile `index` of `level` in a tree of `size` (0 when it does not exist). */
function widthAt(level: number, index: number, size: number, h: number): number {
  const w = pow2(h);
  return Math.max(0, Math.min(w, levelCount(size, level, h) - index * w));
}

// ─── paths ──────────────────────────────────────────────────────────────────────────────────────

function encodeIndex(n: number): string {
  let s = String(n % 1000).padStart(3, '0');
  let rest = Math.floor(n / 1000);
  while (rest > 0) {
    s = `x${String(rest % 1000).padStart(3, '0')}/${s}`;
    rest = Math.floor(rest / 1000);
  }
  return s;
}

function checkTile(tile: Tile, h: number): void {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > 63)
    throw invalid('tile level must be 0–63');
  checkSize(tile.index, 'tile index');
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > pow2(h))
    throw invalid('bad tile width');
}

/**
 * The path of a hash tile (`tile/<L>/<N>[.p/<W>]`).
 * @example `tilePath({ level: 0, index: 1234067, width: 5 }) // 'tile/0/x001/x234/067.p/5'`
 */
export function tilePath(tile: Tile, options?: TileOptions): string {
  const h = readHeight(options);
  checkTile(tile, h);
  const partial = tile.width < pow2(h) ? `.p/${tile.width}` : '';
  return `tile/${tile.level}/${encodeIndex(tile.index)}${partial}`;
}

/**
 * The path of the entry bundle of level-0 tile `index` (`tile/entries/<N>[.p/<W>]`).
 * @example `entryBundlePath(3, 256) // 'tile/entries/003'`
 */
export function entryBundlePath(index: number, width: number, options?: TileOptions): string {
  const h = readHeight(options);
  checkTile({ level: 0, index, width }, h);
  return `tile/entries/${encodeIndex(index)}${width < pow2(h) ? `.p/${width}` : ''}`;
}

const PATH_RE = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * Parses a tile or entry-bundle path; only canonical spellings are accepted. Throws
 * `ledger.tile.malformed`.
 * @example `parseTilePath('tile/1/x001/234.p/7') // { kind: 'hash', level: 1, index: 1234, width: 7 }`
 */
export function parseTilePath(path: string, options?: TileOptions): ParsedTilePath {
  const h = readHeight(options);
  const m = typeof path === 'string' && path.length <= 200 ? PATH_RE.exec(path) : null;
  if (m === null) throw malformed('not a tile path');
  const [, lvl, idx, w] = m as unknown as [string, string, string, string | undefined];
  const index = Number(idx.replaceAll('x', '').replaceAll('/', ''));
  if (!Number.isSafeInteger(index) || encodeIndex(index) !== idx) throw malformed('non-canonical tile index');
  const width = w === undefined ? pow2(h) : Number(w);
  if (w !== undefined && width >= pow2(h)) throw malformed('partial tile width must be below the full width');
  if (lvl === 'entries') return { kind: 'entries', index, width };
  const level = Number(lvl);
  if (level > 63) throw malformed('tile level must be 0–63');
  return { kind: 'hash', level, index, width };
}

// ─── which tiles ────────────────────────────────────────────────────────────────────────────────

/**
 * The hash tiles that appear or grow when a tree goes from `oldSize` to `newSize` leaves (level
 * by level, in index order), as x/mod `NewTiles`. Entry bundles follow the level-0 tiles. This
 * arithmetic accepts heights up to 30 (x/mod's vectors use 10); paths and I/O stay at 1–8.
 * @example `newTiles(1023, 1025) // [{level:0,index:3,width:255}, {level:0,index:4,width:1}]`
 */
export function newTiles(oldSize: number, newSize: number, options?: TileOptions): Tile[] {
  const h = options?.height ?? TILE_HEIGHT;
  if (!Number.isInteger(h) || h < 1 || h > 30) throw invalid('tile height must be an integer 1–30');
  checkSize(oldSize, 'oldSize');
  checkSize(newSize, 'newSize');
  if (oldSize > newSize) throw invalid('oldSize must not exceed newSize');
  return newTilesH(oldSize, newSize, h);
}

function newTilesH(oldSize: number, newSize: number, h: number): Tile[] {
  const w = pow2(h);
  const out: Tile[] = [];
  for (let level = 0; level <= 63; level++) {
    const oldN = levelCount(oldSize, level, h);
    const newN = levelCount(newSize, level, h);
    if (newN === 0) break;
    for (let n = Math.floor(oldN / w); n * w < newN; n++) {
      const width = Math.min(w, newN - n * w);
      const before = Math.max(0, Math.min(w, oldN - n * w));
      if (width > before) out.push({ level, index: n, width });
    }
  }
  return out;
}

/**
 * Every hash tile (full and partial) of a tree of `size` leaves.
 * @example `tilesForSize(256) // [{level:0,index:0,width:256}, {level:1,index:0,width:1}]`
 */
export function tilesForSize(size: number, options?: TileOptions): Tile[] {
  return newTiles(0, size, options);
}

// ─── codecs ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Concatenates 32-byte hashes into tile data.
 * @example `encodeHashTile([h0, h1]).length // 64`
 */
export function encodeHashTile(hashes: readonly Uint8Array[]): Uint8Array {
  for (const x of hashes)
    if (!isBytes(x) || x.length !== HASH_SIZE) throw invalid('tile hashes must be 32 bytes');
  return concatBytes(...hashes);
}

/**
 * Splits tile data into its hashes; the length must be exactly `width` hashes. Throws
 * `ledger.tile.malformed`.
 * @example `decodeHashTile(data, 256)`
 */
export function decodeHashTile(data: Uint8Array, width: number): Uint8Array[] {
  if (!isBytes(data) || data.length !== width * HASH_SIZE)
    throw malformed(`hash tile must be ${width * HASH_SIZE} bytes`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) out.push(data.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

/**
 * An entry bundle: each entry as uint16 big-endian length ‖ bytes (entries ≤ 65,535 bytes).
 * @example `encodeEntryBundle([utf8('a'), utf8('bc')]) // 00 01 61 00 02 62 63`
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (!isBytes(e) || e.length > 0xffff) throw invalid('a bundle entry is at most 65,535 bytes');
    parts.push(Uint8Array.of(e.length >> 8, e.length & 0xff), e);
  }
  return concatBytes(...parts);
}

/**
 * Decodes an entry bundle. Throws `ledger.tile.malformed` for truncated data or more than
 * `maxEntries` entries (default 256).
 * @example `decodeEntryBundle(data).length`
 */
export function decodeEntryBundle(data: Uint8Array, maxEntries: number = TILE_WIDTH): Uint8Array[] {
  if (!isBytes(data)) throw malformed('entry bundle must be bytes');
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < data.length) {
    if (out.length >= maxEntries) throw malformed(`entry bundle has more than ${maxEntries} entries`);
    if (off + 2 > data.length) throw malformed('truncated entry bundle');
    const len = ((data[off] as number) << 8) | (data[off + 1] as number);
    off += 2;
    if (off + len > data.length) throw malformed('truncated entry bundle');
    out.push(data.slice(off, off + len));
    off += len;
  }
  return out;
}

/** MTH of 2^k hashes (a perfect subtree). */
function perfectRoot(hashes: readonly Uint8Array[]): Uint8Array {
  let level = hashes.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(hashChildren(level[i] as Uint8Array, level[i + 1] as Uint8Array));
    level = next;
  }
  return level[0] as Uint8Array;
}

// ─── writer ─────────────────────────────────────────────────────────────────────────────────────

type Maybe<T> = T | Promise<T>;

/** Where {@link writeTiles} reads the log from (a `VoteLog` fits: `leafHashes`, `leaves`). */
export interface TileSource {
  /** RFC 9162 leaf hashes of [from, to), in index order. */
  leafHashes(from: number, to: number): Maybe<readonly Uint8Array[]>;
  /** Leaf data of [from, to); when present, entry bundles are written too. */
  leaves?(from: number, to: number): Maybe<readonly Uint8Array[]>;
  /**
   * Hash tile data written earlier, or undefined. Lets the writer extend a partial tile of level
   * ≥ 1 without rehashing the leaves below it (it recomputes them when this is absent).
   */
  readTile?(tile: Tile): Maybe<Uint8Array | undefined>;
}

/**
 * The hash tiles (and entry bundles, when the source has `leaves`) that appear or grow between
 * `oldSize` and `newSize` (`oldSize` 0: the whole tree). Publish them all before the checkpoint
 * of `newSize`. Throws `ledger.tile.invalid` when the source answers with the wrong count or
 * leaves that do not hash to the leaf hashes.
 *
 * @example
 * ```ts
 * const tiles = await writeTiles({ leafHashes: (a, b) => hashes.slice(a, b) }, 0, hashes.length);
 * ```
 */
export async function writeTiles(
  source: TileSource,
  oldSize: number,
  newSize: number,
  options?: TileOptions,
): Promise<TileData[]> {
  const h = readHeight(options);
  const w = pow2(h);
  const tiles = newTiles(oldSize, newSize, { height: h });
  const readHashes = async (from: number, to: number): Promise<readonly Uint8Array[]> => {
    const r = await source.leafHashes(from, to);
    if (!Array.isArray(r) || r.length !== to - from)
      throw invalid(`leafHashes(${from}, ${to}) returned the wrong count`);
    for (const x of r)
      if (!isBytes(x) || x.length !== HASH_SIZE) throw invalid('leaf hashes must be 32 bytes');
    return r;
  };
  /** MTH of the complete subtree of level-L entry k, from the leaves (slow path). */
  const entryFromLeaves = async (level: number, k: number): Promise<Uint8Array> => {
    const span = pow2(h * level);
    return perfectRoot(await readHashes(k * span, (k + 1) * span));
  };
  const fullTileRoots = new Map<string, Uint8Array>(); // `${level}/${index}` of tiles that became full now
  const out: TileData[] = [];
  for (const tile of tiles) {
    const first = tile.index * w;
    let hashes: Uint8Array[];
    if (tile.level === 0) {
      hashes = [...(await readHashes(first, first + tile.width))];
    } else {
      const existing = Math.max(0, Math.min(tile.width, levelCount(oldSize, tile.level, h) - first));
      hashes = [];
      if (existing > 0) {
        const stored = await source.readTile?.({ level: tile.level, index: tile.index, width: existing });
        if (stored !== undefined) hashes.push(...decodeHashTile(stored, existing));
        else for (let k = first; k < first + existing; k++) hashes.push(await entryFromLeaves(tile.level, k));
      }
      for (let k = first + existing; k < first + tile.width; k++) {
        hashes.push(fullTileRoots.get(`${tile.level - 1}/${k}`) ?? (await entryFromLeaves(tile.level, k)));
      }
    }
    if (tile.width === w) fullTileRoots.set(`${tile.level}/${tile.index}`, perfectRoot(hashes));
    out.push({ kind: 'hash', tile, path: tilePath(tile, { height: h }), data: encodeHashTile(hashes) });
    if (tile.level === 0 && source.leaves !== undefined) {
      const leaves = await source.leaves(first, first + tile.width);
      if (!Array.isArray(leaves) || leaves.length !== tile.width)
        throw invalid('leaves() returned the wrong count');
      leaves.forEach((leaf, i) => {
        if (!isBytes(leaf) || !equalBytes(hashLeaf(leaf), hashes[i] as Uint8Array)) {
          throw invalid(`leaf ${first + i} does not hash to its leaf hash`);
        }
      });
      out.push({
        kind: 'entries',
        tile,
        path: entryBundlePath(tile.index, tile.width, { height: h }),
        data: encodeEntryBundle(leaves),
      });
    }
  }
  return out;
}

/** What {@link readTile} serves from: the log at its latest checkpoint. */
export interface TileServerSource {
  /** Tree size of the latest checkpoint: nothing beyond it is served. */
  readonly size: number;
  /**
   * The hash of the complete subtree of height `level` over leaves [index·2^level,
   * (index+1)·2^level) (core `MerkleTree.nodeHash`).
   */
  hashAt(level: number, index: number): Maybe<Uint8Array>;
  /** Leaf data of [from, to) (for entry bundles; without it bundles are not served). */
  leaves?(from: number, to: number): Maybe<readonly Uint8Array[]>;
}

/**
 * Serves one tlog-tiles resource on demand: the hash tile or entry bundle at `path`, computed
 * from the tree. Any width up to what the tree of `size` holds is served, so the partial tiles
 * of every earlier checkpoint stay available. Returns undefined (HTTP 404) for a malformed path or
 * a tile the tree does not have (yet).
 *
 * @example
 * ```ts
 * const data = await readTile('tile/0/000.p/7', { size, hashAt: (l, i) => tree.nodeHash(l, i) });
 * ```
 */
export async function readTile(
  path: string,
  source: TileServerSource,
  options?: TileOptions,
): Promise<Uint8Array | undefined> {
  const h = readHeight(options);
  const size = checkSize(source.size, 'size');
  let p: ParsedTilePath;
  try {
    p = parseTilePath(path, { height: h });
  } catch {
    return undefined;
  }
  const level = p.kind === 'hash' ? p.level : 0;
  if (p.width > widthAt(level, p.index, size, h)) return undefined;
  const first = p.index * pow2(h);
  if (p.kind === 'entries') {
    if (source.leaves === undefined) return undefined;
    const leaves = await source.leaves(first, first + p.width);
    if (!Array.isArray(leaves) || leaves.length !== p.width)
      throw invalid('leaves() returned the wrong count');
    return encodeEntryBundle(leaves);
  }
  const hashes = await Promise.all(
    Array.from({ length: p.width }, (_, i) => source.hashAt(h * level, first + i)),
  );
  return encodeHashTile(hashes);
}

// ─── reader ─────────────────────────────────────────────────────────────────────────────────────

/** Fetches a tile or bundle by its path (relative to the log's prefix); rejects when absent. */
export type FetchTile = (path: string) => Promise<Uint8Array>;

/** Largest power of two strictly below n (n ≥ 2): RFC 9162's split point. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && pow2(Math.round(Math.log2(n))) === n;
}

function checkHead(head: TreeHead): TreeHead {
  checkSize(head?.size, 'tree size');
  if (!isBytes(head.root) || head.root.length !== HASH_SIZE) throw invalid('root hash must be 32 bytes');
  return head;
}

const READER_CACHE_LIMIT = 4096;

/**
 * Reads a tiled log: fetches tiles, authenticates them against a verified tree head (a checkpoint
 * whose signature the caller verified) and computes proofs. Full tiles are cached (they are
 * immutable); partial tiles per tree head. Errors: `ledger.tile.unavailable` (a fetch failed),
 * `ledger.tile.malformed` (wrong tile length, bad bundle), `ledger.tile.proof-invalid` (tiles
 * that do not match the head: the server lies or the log forked), `ledger.tile.invalid` (an
 * index outside the tree).
 *
 * @example
 * ```ts
 * const reader = new TileReader(fetchTile);
 * const proof = await reader.inclusionProof(7, checkpoint);
 * const leaves = await reader.entries(0, checkpoint);
 * ```
 */
export class TileReader {
  readonly #fetch: FetchTile;
  readonly #h: number;
  readonly #w: number;
  readonly #tiles = new Map<string, Promise<Uint8Array[]>>();
  readonly #spines = new Map<string, Promise<Map<number, Uint8Array[]>>>();

  constructor(fetchTile: FetchTile, options?: TileOptions) {
    if (typeof fetchTile !== 'function') throw invalid('fetchTile must be a function');
    this.#fetch = fetchTile;
    this.#h = readHeight(options);
    this.#w = pow2(this.#h);
  }

  async #fetchPath(path: string): Promise<Uint8Array> {
    let data: unknown;
    try {
      data = await this.#fetch(path);
    } catch (e) {
      throw new OmtError('ledger.tile.unavailable', `cannot fetch ${path}`, { cause: e });
    }
    if (!isBytes(data)) throw malformed(`${path}: fetchTile must return a Uint8Array`);
    return data;
  }

  /** Raw hash tile data of width `width`; a missing partial tile falls back to the full tile (spec §Partial Tiles). */
  async #fetchHashTile(level: number, index: number, width: number): Promise<Uint8Array[]> {
    const path = tilePath({ level, index, width }, { height: this.#h });
    if (width === this.#w) return decodeHashTile(await this.#fetchPath(path), width);
    try {
      return decodeHashTile(await this.#fetchPath(path), width);
    } catch (e) {
      if (!(e instanceof OmtError) || e.code !== 'ledger.tile.unavailable') throw e;
      const full = await this.#fetchPath(
        tilePath({ level, index, width: this.#w }, { height: this.#h }),
      ).catch(() => {
        throw e;
      });
      return decodeHashTile(full, this.#w).slice(0, width);
    }
  }

  #remember<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
    const known = map.get(key);
    if (known !== undefined) return known;
    if (map.size >= READER_CACHE_LIMIT) map.clear();
    const p = make();
    map.set(key, p);
    p.catch(() => map.delete(key)); // failures are not cached
    return p;
  }

  /** The rightmost (partial) tiles of every level, authenticated by rebuilding the root. */
  #spine(head: TreeHead): Promise<Map<number, Uint8Array[]>> {
    const key = `${head.size}:${toHex(head.root)}`;
    return this.#remember(this.#spines, key, async () => {
      const h = this.#h;
      const w = this.#w;
      const levels: { level: number; index: number; width: number }[] = [];
      for (let level = 0; levelCount(head.size, level, h) > 0; level++) {
        const n = levelCount(head.size, level, h);
        if (n % w > 0) levels.push({ level, index: Math.floor(n / w), width: n % w });
      }
      const spine = new Map<number, Uint8Array[]>();
      await Promise.all(
        levels.map(async (t) => spine.set(t.level, await this.#fetchHashTile(t.level, t.index, t.width))),
      );
      // Fold the complete subtrees of the binary decomposition of the size, largest first.
      const parts: Uint8Array[] = [];
      let start = 0;
      for (let b = 52; b >= 0; b--) {
        const span = pow2(b);
        if (Math.floor(head.size / span) % 2 === 0) continue;
        const level = Math.floor(b / h);
        const r = b - level * h;
        const tile = spine.get(level) as Uint8Array[];
        const offset = (start / pow2(h * level)) % w;
        parts.push(perfectRoot(tile.slice(offset, offset + pow2(r))));
        start += span;
      }
      let root = parts.pop() ?? emptyRoot();
      while (parts.length > 0) root = hashChildren(parts.pop() as Uint8Array, root);
      if (!equalBytes(root, head.root))
        throw mismatch('the partial tiles do not rebuild the checkpoint root');
      return spine;
    });
  }

  /** The authenticated hashes of tile (level, index) of the tree `head`. */
  #hashTile(level: number, index: number, head: TreeHead): Promise<Uint8Array[]> {
    const width = widthAt(level, index, head.size, this.#h);
    if (width === 0) return Promise.reject(invalid(`tile ${level}/${index} is outside the tree`));
    if (width < this.#w) {
      return this.#spine(head).then((spine) => spine.get(level) as Uint8Array[]);
    }
    return this.#remember(this.#tiles, `${level}/${index}`, async () => {
      const hashes = await this.#fetchHashTile(level, index, width);
      const parent = await this.#hashTile(level + 1, Math.floor(index / this.#w), head);
      if (!equalBytes(perfectRoot(hashes), parent[index % this.#w] as Uint8Array)) {
        throw mismatch(`tile ${level}/${index} does not hash to its parent's entry`);
      }
      return hashes;
    });
  }

  /** MTH of the complete subtree of 2^level leaves number `index` at that level. */
  async #subtree(level: number, index: number, head: TreeHead): Promise<Uint8Array> {
    const tileLevel = Math.floor(level / this.#h);
    const r = level - tileLevel * this.#h;
    const first = index * pow2(r); // position at the tile level
    const tile = await this.#hashTile(tileLevel, Math.floor(first / this.#w), head);
    const offset = first % this.#w;
    return perfectRoot(tile.slice(offset, offset + pow2(r)));
  }

  /** MTH(D[start:end]) with start aligned to the split (as every range of an RFC 9162 proof is). */
  async #range(start: number, end: number, head: TreeHead): Promise<Uint8Array> {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) return this.#subtree(Math.round(Math.log2(n)), start / n, head);
    const k = splitPoint(n);
    const [l, r] = await Promise.all([
      this.#range(start, start + k, head),
      this.#range(start + k, end, head),
    ]);
    return hashChildren(l, r);
  }

  /**
   * The leaf hash at `index`, authenticated against `head`.
   * @example `await reader.leafHash(5, checkpoint)`
   */
  async leafHash(index: number, head: TreeHead): Promise<Uint8Array> {
    checkHead(head);
    checkSize(index, 'index');
    if (index >= head.size) throw invalid(`index ${index} is outside the tree of size ${head.size}`);
    return (await this.#subtree(0, index, head)).slice();
  }

  /**
   * The RFC 9162 inclusion proof of leaf `index` in `head`, verified against its root (with the
   * leaf hash from the tiles, or `leafHash` when given). Throws `ledger.tile.proof-invalid` when
   * it does not verify.
   * @example `const proof = await reader.inclusionProof(3, checkpoint);`
   */
  async inclusionProof(index: number, head: TreeHead, leafHash?: Uint8Array): Promise<Uint8Array[]> {
    checkHead(head);
    checkSize(index, 'index');
    if (index >= head.size) throw invalid(`index ${index} is outside the tree of size ${head.size}`);
    const ranges: [number, number][] = [];
    let start = 0;
    let end = head.size;
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (index < start + k) {
        ranges.push([start + k, end]);
        end = start + k;
      } else {
        ranges.push([start, start + k]);
        start += k;
      }
    }
    ranges.reverse();
    const [proof, leaf] = await Promise.all([
      Promise.all(ranges.map(([a, b]) => this.#range(a, b, head))),
      leafHash ?? this.#subtree(0, index, head),
    ]);
    if (!verifyInclusion(index, head.size, leaf, proof, head.root)) {
      throw mismatch(`leaf ${index} is not included in the tree of size ${head.size}`);
    }
    return proof.map((x) => x.slice());
  }

  /**
   * The RFC 9162 consistency proof from `old` to `head` (0 < old.size ≤ head.size), verified
   * against both roots: `ledger.tile.proof-invalid` means the two heads are not of one
   * append-only log.
   * @example `const proof = await reader.consistencyProof(previousCheckpoint, checkpoint);`
   */
  async consistencyProof(old: TreeHead, head: TreeHead): Promise<Uint8Array[]> {
    checkHead(old);
    checkHead(head);
    if (old.size === 0 || old.size > head.size) throw invalid('consistency needs 0 < old size ≤ new size');
    const ranges: [number, number][] = [];
    let m = old.size;
    let start = 0;
    let end = head.size;
    let complete = true;
    while (m !== end - start) {
      const k = splitPoint(end - start);
      if (m <= k) {
        ranges.push([start + k, end]);
        end = start + k;
      } else {
        ranges.push([start, start + k]);
        start += k;
        m -= k;
        complete = false;
      }
    }
    if (!complete) ranges.push([start, end]);
    ranges.reverse();
    const proof = await Promise.all(ranges.map(([a, b]) => this.#range(a, b, head)));
    if (!verifyConsistency(old.size, head.size, old.root, head.root, proof)) {
      throw mismatch(`the tree of size ${old.size} is not consistent with the tree of size ${head.size}`);
    }
    return proof.map((x) => x.slice());
  }

  /**
   * The root hash of the first `size` leaves (size ≤ head.size), from authenticated tiles.
   * @example `await reader.rootHash(10, checkpoint)`
   */
  async rootHash(size: number, head: TreeHead): Promise<Uint8Array> {
    checkHead(head);
    checkSize(size, 'size');
    if (size > head.size) throw invalid('size exceeds the tree');
    if (size === 0) return emptyRoot();
    return (await this.#range(0, size, head)).slice();
  }

  /**
   * The leaves of entry bundle `index` (level-0 tile `index`), each checked against the
   * authenticated leaf hashes of `head`.
   * @example `const leaves = await reader.entries(0, checkpoint);`
   */
  async entries(index: number, head: TreeHead): Promise<Uint8Array[]> {
    checkHead(head);
    checkSize(index, 'bundle index');
    const width = widthAt(0, index, head.size, this.#h);
    if (width === 0) throw invalid(`bundle ${index} is outside the tree`);
    const path = entryBundlePath(index, width, { height: this.#h });
    let leaves: Uint8Array[];
    try {
      leaves = decodeEntryBundle(await this.#fetchPath(path), width);
    } catch (e) {
      if (width === this.#w || !(e instanceof OmtError) || e.code !== 'ledger.tile.unavailable') throw e;
      const full = await this.#fetchPath(entryBundlePath(index, this.#w, { height: this.#h })).catch(() => {
        throw e;
      });
      leaves = decodeEntryBundle(full, this.#w).slice(0, width);
    }
    if (leaves.length !== width) throw malformed(`${path} must hold ${width} entries`);
    const hashes = await this.#hashTile(0, index, head);
    leaves.forEach((leaf, i) => {
      if (!equalBytes(hashLeaf(leaf), hashes[i] as Uint8Array)) {
        throw mismatch(`entry ${index * this.#w + i} does not match its leaf hash`);
      }
    });
    return leaves;
  }
}
