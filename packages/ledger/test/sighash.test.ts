import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '@omt/core/bytes';
import { bsvSighash, legacySighash, SIGHASH } from '@omt/ledger/sighash';
import { decodeTransaction } from '@omt/ledger/transaction';
import { describe, expect, it } from 'vitest';

const load = (path: string): unknown[][] =>
  JSON.parse(readFileSync(new URL(`../../../testdata/${path}`, import.meta.url), 'utf8')) as unknown[][];

// Vectors print uint256::GetHex(): the byte-reverse of the digest (testdata/*/SOURCES.md).
const display = (digest: Uint8Array): string => toHex(digest.slice().reverse());

describe('legacy sighash — Bitcoin Core sighash.json', () => {
  const rows = load('bitcoin/sighash.json').filter((r) => r.length === 5);
  it('has the 500 vectors', () => expect(rows.length).toBe(500));
  it('reproduces every vector (incl. the SIGHASH_SINGLE bug)', () => {
    for (const [txHex, scriptHex, index, hashType, expected] of rows as [
      string,
      string,
      number,
      number,
      string,
    ][]) {
      const tx = decodeTransaction(txHex, { witness: false });
      expect(display(legacySighash(tx, index, fromHex(scriptHex), hashType))).toBe(expected);
    }
  });
  it('SIGHASH_SINGLE with no matching output signs the constant 1 (the Core bug, kept)', () => {
    const tx = decodeTransaction(rows[0]?.[0] as string, { witness: false });
    const extra = { ...tx, outputs: tx.outputs.slice(0, 1) };
    const idx = extra.inputs.length - 1;
    expect(idx).toBeGreaterThan(0);
    const one = `01${'00'.repeat(31)}`;
    expect(toHex(legacySighash(extra, idx, new Uint8Array(0), SIGHASH.SINGLE))).toBe(one);
    expect(toHex(legacySighash(extra, idx, new Uint8Array(0), SIGHASH.SINGLE | SIGHASH.ANYONECANPAY))).toBe(
      one,
    );
    expect(toHex(legacySighash(extra, extra.inputs.length, new Uint8Array(0), SIGHASH.ALL))).toBe(one);
    expect(toHex(legacySighash(extra, 0, new Uint8Array(0), SIGHASH.SINGLE))).not.toBe(one);
  });
});

describe('BSV FORKID sighash — bitcoin-sv sighash.json', () => {
  const rows = load('bsv/sighash.json').filter((r) => r.length === 6) as [
    string,
    string,
    number,
    number,
    string,
    string,
  ][];
  it('has the 1000 vectors', () => expect(rows.length).toBe(1000));
  it('regular column: FORKID (amount 0) / CHRONICLE / legacy rules', () => {
    const kinds = { legacy: 0, forkid: 0, chronicle: 0 };
    for (const [txHex, scriptHex, index, hashType, regular] of rows) {
      const tx = decodeTransaction(txHex, { witness: false });
      const forkid = (hashType & SIGHASH.FORKID) !== 0;
      const chronicle = (hashType & SIGHASH.CHRONICLE) !== 0;
      kinds[!forkid ? 'legacy' : chronicle ? 'chronicle' : 'forkid']++;
      expect(display(bsvSighash(tx, index, fromHex(scriptHex), 0n, hashType))).toBe(regular);
    }
    expect(kinds).toEqual({ legacy: 486, forkid: 254, chronicle: 260 });
  });
  it('original column: the legacy digest for every row', () => {
    for (const [txHex, scriptHex, index, hashType, , original] of rows) {
      const tx = decodeTransaction(txHex, { witness: false });
      expect(display(legacySighash(tx, index, fromHex(scriptHex), hashType))).toBe(original);
    }
  });
  it('FORKID digest depends on the amount; legacy does not', () => {
    const [txHex, scriptHex, index] = rows[0] as unknown as [string, string, number];
    const tx = decodeTransaction(txHex, { witness: false });
    const t = SIGHASH.ALL | SIGHASH.FORKID;
    expect(toHex(bsvSighash(tx, index, fromHex(scriptHex), 1n, t))).not.toBe(
      toHex(bsvSighash(tx, index, fromHex(scriptHex), 0n, t)),
    );
    expect(toHex(bsvSighash(tx, index, fromHex(scriptHex), 1n, SIGHASH.ALL))).toBe(
      toHex(bsvSighash(tx, index, fromHex(scriptHex), 0n, SIGHASH.ALL)),
    );
  });
});
