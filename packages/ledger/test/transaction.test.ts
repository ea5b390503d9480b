import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import {
  decodeTransaction,
  encodeTransaction,
  type Transaction,
  transactionId,
  transactionSize,
  transactionToHex,
  transactionWeight,
  witnessTransactionId,
} from '@omt/ledger/transaction';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const load = (path: string): unknown[][] =>
  JSON.parse(readFileSync(new URL(`../../../testdata/${path}`, import.meta.url), 'utf8')) as unknown[][];
const txRows = (path: string): string[] =>
  load(path)
    .filter((r) => Array.isArray(r[0]) && typeof r[1] === 'string')
    .map((r) => r[1] as string);

function expectMalformed(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(isOmtError(e, 'ledger.tx.malformed'), String(e)).toBe(true);
    return;
  }
  throw new Error('expected ledger.tx.malformed');
}

describe('Bitcoin Core tx_valid.json / tx_invalid.json', () => {
  for (const file of ['bitcoin/tx_valid.json', 'bitcoin/tx_invalid.json']) {
    it(`${file}: every transaction parses and re-serializes byte-exact`, () => {
      const rows = txRows(file);
      expect(rows.length).toBe(file.includes('invalid') ? 80 : 118);
      let segwit = 0;
      for (const hex of rows) {
        const tx = decodeTransaction(hex);
        if (tx.inputs.some((i) => i.witness.length > 0)) segwit++;
        expect(transactionToHex(tx)).toBe(hex.toLowerCase());
        expect(transactionSize(tx)).toBe(hex.length / 2);
      }
      expect(segwit).toBeGreaterThan(10);
    });
  }

  it('txid of the first tx_valid entry matches the comment above it (23b397ed…)', () => {
    const tx = decodeTransaction(txRows('bitcoin/tx_valid.json')[0] as string);
    expect(transactionId(tx)).toBe('23b397edccd3740a74adb603c9756370fafcde9bcc4483eb271ecad09a94dd63');
    expect(witnessTransactionId(tx)).toBe(transactionId(tx));
  });
});

describe('BIP143 example transaction (segwit serialization, txid vs wtxid)', () => {
  const { examples } = JSON.parse(
    readFileSync(new URL('../../../testdata/bitcoin/bip143.json', import.meta.url), 'utf8'),
  ) as {
    examples: { signed_tx: string }[];
  };
  it('signed_tx round-trips; wtxid differs from txid; weight sane', () => {
    for (const ex of examples) {
      const tx = decodeTransaction(ex.signed_tx);
      expect(transactionToHex(tx)).toBe(ex.signed_tx);
      expect(witnessTransactionId(tx)).not.toBe(transactionId(tx));
      const { weight, vsize } = transactionWeight(tx);
      expect(weight).toBeLessThan(4 * tx.inputs.length * 200 + 1000);
      expect(vsize).toBeLessThan(ex.signed_tx.length / 2);
      // txid hashes the stripped form
      expect(encodeTransaction(tx, { witness: false }).length).toBeLessThan(ex.signed_tx.length / 2);
    }
  });
});

describe('strict decoding', () => {
  const good = txRows('bitcoin/tx_valid.json')[0] as string;
  it('rejects trailing bytes, truncation at every length, and non-hex', () => {
    expectMalformed(() => decodeTransaction(`${good}00`));
    const bytes = fromHex(good);
    for (let n = 0; n < bytes.length; n++) expectMalformed(() => decodeTransaction(bytes.subarray(0, n)));
    expectMalformed(() => decodeTransaction('zz'));
    expectMalformed(() => decodeTransaction('abc'));
  });
  it('rejects absurd counts without allocating them', () => {
    // version, then input count 0xffffffff (as 0xfe ffffffff)
    expectMalformed(() => decodeTransaction('01000000feffffffff'));
    // huge output count
    expectMalformed(() =>
      decodeTransaction(`01000000${'01'}${'00'.repeat(36)}00ffffffff${'ff'}ffffffffffffff7f`),
    );
    // 2^64-1 count
    expectMalformed(() => decodeTransaction('01000000ffffffffffffffffff'));
  });
  it('rejects non-canonical CompactSize', () => {
    const tx = decodeTransaction(good);
    const hex = transactionToHex(tx);
    // input count 1 written as fd0100
    expectMalformed(() => decodeTransaction(`${hex.slice(0, 8)}fd0100${hex.slice(10)}`));
  });
  it('segwit: unknown flag and superfluous witness are rejected; BSV mode reads legacy', () => {
    expectMalformed(() => decodeTransaction('010000000002'));
    const tx = decodeTransaction(good);
    const hex = transactionToHex(tx);
    // marker+flag but every witness empty
    const body = hex.slice(8, -8);
    const empty = `${hex.slice(0, 8)}0001${body}${'00'.repeat(tx.inputs.length)}${hex.slice(-8)}`;
    expectMalformed(() => decodeTransaction(empty));
    // a zero-input, zero-output tx: segwit reading fails, legacy reading works
    const zero = '010000000000ffffffff';
    expectMalformed(() => decodeTransaction(zero));
    const legacy = decodeTransaction('01000000000000000000', { witness: false });
    expect(legacy.inputs.length).toBe(0);
    expect(legacy.outputs.length).toBe(0);
  });
});

const arbTx: fc.Arbitrary<Transaction> = fc.record({
  version: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  inputs: fc.array(
    fc.record({
      txid: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex),
      vout: fc.nat({ max: 0xffffffff }),
      scriptSig: fc.uint8Array({ maxLength: 300 }),
      sequence: fc.nat({ max: 0xffffffff }),
      witness: fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  outputs: fc.array(
    fc.record({
      value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      script: fc.uint8Array({ maxLength: 300 }),
    }),
    { maxLength: 5 },
  ),
  locktime: fc.nat({ max: 0xffffffff }),
});

describe('properties', () => {
  it('decode(encode(tx)) === tx, sizes agree', () => {
    fc.assert(
      fc.property(arbTx, (tx) => {
        const raw = encodeTransaction(tx);
        expect(raw.length).toBe(transactionSize(tx));
        expect(decodeTransaction(raw)).toEqual(tx);
        const stripped = decodeTransaction(encodeTransaction(tx, { witness: false }), { witness: false });
        expect(stripped.inputs.map((i) => i.witness.length)).toEqual(tx.inputs.map(() => 0));
        expect(transactionId(stripped)).toBe(transactionId(tx));
      }),
      { numRuns: 300 },
    );
  });
  it('fuzzed bytes and mutated transactions never crash: parse or ledger.tx.malformed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          const tx = decodeTransaction(bytes);
          expect(toHex(encodeTransaction(tx))).toBe(toHex(bytes));
        } catch (e) {
          expect(isOmtError(e, 'ledger.tx.malformed')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.stringMatching(/^[0-9a-fA-F]{0,300}$/)),
        (text) => {
          try {
            decodeTransaction(text);
          } catch (e) {
            expect(isOmtError(e, 'ledger.tx.malformed')).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(arbTx, fc.nat(), fc.nat({ max: 255 }), (tx, pos, byte) => {
        const raw = encodeTransaction(tx).slice();
        raw[pos % raw.length] = byte;
        try {
          const back = decodeTransaction(raw);
          expect(toHex(encodeTransaction(back))).toBe(toHex(raw));
        } catch (e) {
          expect(isOmtError(e, 'ledger.tx.malformed')).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
