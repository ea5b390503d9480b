import { createHash } from 'node:crypto';
import { OmtError } from '@omt/core/errors';
import { type Bump, type BumpLeaf, encodeBump } from '@omt/ledger/anchor-bump';
import { parseBlockHeader } from '@omt/ledger/anchor-header';
import { txidFromBytes } from '@omt/ledger/transaction';

function dsha256(data: Uint8Array): Uint8Array {
  const once = createHash('sha256').update(data).digest();
  return new Uint8Array(createHash('sha256').update(once).digest());
}

function bad(why: string): OmtError {
  return new OmtError('adapters.bitcoin-rpc.proof-invalid', `gettxoutproof: ${why}`);
}

/** Tree height for `n` transactions: levels above the leaves (BIP37 `CalcTreeWidth`). */
function treeHeight(n: number): number {
  let h = 0;
  while (Math.ceil(n / 2 ** h) > 1) h++;
  return h;
}

/**
 * Converts Bitcoin Core's `gettxoutproof` (a serialized CMerkleBlock: 80-byte header, nTx,
 * hashes, flag bits — the BIP37 partial Merkle tree) for ONE matched transaction into a
 * single-path BUMP (BRC-74), after checking the tree's root equals the header's Merkle root.
 * Returns the matched txid and the BUMP. Malformed or inconsistent proofs →
 * `adapters.bitcoin-rpc.proof-invalid`.
 * @example
 * ```ts
 * const { txid, bump } = merkleBlockToBump(await rpc('gettxoutproof', [[txid], blockhash]), height);
 * ```
 */
export function merkleBlockToBump(
  hex: string,
  blockHeight: number,
): { txid: string; bump: Bump; bumpHex: string } {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw bad('hex expected');
  const b = Uint8Array.from(hex.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
  let o = 0;
  const take = (n: number): Uint8Array => {
    if (o + n > b.length) throw bad('truncated');
    const out = b.subarray(o, o + n);
    o += n;
    return out;
  };
  const varint = (): number => {
    const first = take(1)[0] as number;
    if (first < 0xfd) return first;
    const len = first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
    const bytes = take(len);
    let v = 0;
    for (let i = len - 1; i >= 0; i--) v = v * 256 + (bytes[i] as number);
    if (v > 0xffffffff) throw bad('count too large');
    return v;
  };
  const header = parseBlockHeader(take(80).slice());
  const nb = take(4);
  const nTx =
    (nb[0] as number) | ((nb[1] as number) << 8) | ((nb[2] as number) << 16) | ((nb[3] as number) * 2 ** 24);
  // One transaction = only the coinbase: nothing of ours can be in it.
  if (nTx < 2) throw bad('a block needs at least two transactions here');
  const nHashes = varint();
  if (nHashes > nTx || nHashes * 32 > b.length) throw bad('more hashes than transactions');
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < nHashes; i++) hashes.push(take(32).slice());
  const nFlagBytes = varint();
  const flags = take(nFlagBytes);
  if (o !== b.length) throw bad('trailing bytes');

  const height = treeHeight(nTx);
  const width = (h: number): number => Math.ceil(nTx / 2 ** h);
  const known = new Map<string, Uint8Array>();
  let bit = 0;
  let used = 0;
  const matches: number[] = [];
  const walk = (h: number, pos: number): Uint8Array => {
    if (bit >= flags.length * 8) throw bad('ran out of flag bits');
    const flag = (((flags[bit >> 3] as number) >> (bit & 7)) & 1) === 1;
    bit++;
    let hash: Uint8Array;
    if (h === 0 || !flag) {
      if (used >= hashes.length) throw bad('ran out of hashes');
      hash = hashes[used++] as Uint8Array;
      if (h === 0 && flag) matches.push(pos);
    } else {
      const left = walk(h - 1, pos * 2);
      let right = left;
      if (pos * 2 + 1 < width(h - 1)) {
        right = walk(h - 1, pos * 2 + 1);
        // CVE-2012-2459: identical siblings would let a proof pretend a duplicated transaction.
        if (right.every((x, i) => x === left[i])) throw bad('duplicate sibling hashes');
      }
      const cat = new Uint8Array(64);
      cat.set(left, 0);
      cat.set(right, 32);
      hash = dsha256(cat);
    }
    known.set(`${h}:${pos}`, hash);
    return hash;
  };
  const root = walk(height, 0);
  if (used !== hashes.length) throw bad('unused hashes');
  if (Math.floor((bit + 7) / 8) !== flags.length) throw bad('unused flag bytes');
  if (!root.every((x, i) => x === header.merkleRoot[i]))
    throw bad("the tree's root is not the header's Merkle root");
  if (matches.length !== 1) throw bad(`expected one matched transaction, found ${matches.length}`);
  const pos = matches[0] as number;
  const path: BumpLeaf[][] = [];
  for (let level = 0; level < height; level++) {
    const mine = pos >> level;
    const sib = mine ^ 1;
    const leaves: BumpLeaf[] = [];
    if (level === 0) leaves.push({ offset: mine, hash: known.get(`0:${mine}`) as Uint8Array, txid: true });
    if (sib >= width(level)) leaves.push({ offset: sib, duplicate: true });
    else {
      const h = known.get(`${level}:${sib}`);
      if (h === undefined) throw bad('a sibling hash is missing');
      leaves.push({ offset: sib, hash: h });
    }
    path.push(leaves.sort((a, c) => a.offset - c.offset));
  }
  const bump: Bump = { blockHeight, path };
  const bytes = encodeBump(bump);
  return {
    txid: txidFromBytes(known.get(`0:${pos}`) as Uint8Array),
    bump,
    bumpHex: Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join(''),
  };
}
