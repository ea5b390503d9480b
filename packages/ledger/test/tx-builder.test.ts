import { secp256k1 } from '@noble/curves/secp256k1.js';
import { fromHex, toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { decodeDerSignature, isLowS, verifySecp256k1 } from '@omt/core/suites';
import { hash160 } from '@omt/ledger/address';
import { DEFAULT_FEE_RATE, estimateTransactionSize, feeForSize } from '@omt/ledger/fee';
import { encodeRecordAnchor } from '@omt/ledger/op-return';
import { decodeScript, p2pkhScript, p2wpkhScript } from '@omt/ledger/script';
import { bip143Sighash, bsvSighash, legacySighash, SIGHASH } from '@omt/ledger/sighash';
import { decodeTransaction, transactionId } from '@omt/ledger/transaction';
import { buildOpReturnTransaction, buildTransaction, type SpendableUtxo } from '@omt/ledger/tx-builder';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const key = (n: number): Uint8Array => fromHex(n.toString(16).padStart(64, '0'));
const pub = (sk: Uint8Array): Uint8Array => secp256k1.getPublicKey(sk, true);
const txid = (n: number): string => n.toString(16).padStart(64, 'a');

function utxo(n: number, satoshis: bigint, kind: 'p2pkh' | 'p2wpkh' = 'p2pkh'): SpendableUtxo {
  const sk = key(1000 + n);
  const h = hash160(pub(sk));
  return {
    txid: txid(n),
    vout: n % 3,
    satoshis,
    script: kind === 'p2pkh' ? p2pkhScript(h) : p2wpkhScript(h),
    secretKey: sk,
  };
}

const changeScript = p2pkhScript(hash160(pub(key(7))));
const opReturn = (chain: 'bsv' | 'btc'): Uint8Array =>
  encodeRecordAnchor(
    { rid: 'rec-1', hash: new Uint8Array(32).fill(7), uri: 'https://example.org/r/1', ts: 1_700_000_000 },
    { chain },
  ).script;

/** The two data pushes of a P2PKH scriptSig: signature‖hashType and public key. */
function sigAndKey(scriptSig: Uint8Array | undefined): [Uint8Array, Uint8Array] {
  const [s, p] = decodeScript(scriptSig ?? new Uint8Array());
  if (s?.data === undefined || p?.data === undefined) throw new Error('not a P2PKH scriptSig');
  return [s.data, p.data];
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(isOmtError(e, code), String(e)).toBe(true);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('buildTransaction — BSV P2PKH with SIGHASH_ALL|FORKID', () => {
  it('builds OP_RETURN + change; signatures verify against our FORKID digest; low-S strict DER', () => {
    const u = utxo(1, 10_000n);
    const b = buildOpReturnTransaction({
      network: 'bsv',
      utxos: [u],
      opReturn: opReturn('bsv'),
      change: { script: changeScript },
    });
    const tx = decodeTransaction(b.hex, { witness: false });
    expect(transactionId(tx)).toBe(b.txid);
    expect(tx.version).toBe(1);
    expect(tx.outputs.length).toBe(2);
    expect(tx.outputs[0]?.value).toBe(0n);
    expect(toHex(tx.outputs[0]?.script ?? new Uint8Array()).startsWith('006a')).toBe(true);
    expect(b.change?.vout).toBe(1);
    expect(b.fee + (b.change?.satoshis ?? 0n)).toBe(10_000n);
    expect(b.fee).toBeGreaterThanOrEqual(feeForSize(b.size, DEFAULT_FEE_RATE.bsv));
    const [sigPush, pkPush] = decodeScript(tx.inputs[0]?.scriptSig ?? new Uint8Array());
    const sig = sigPush?.data as Uint8Array;
    expect(sig[sig.length - 1]).toBe(0x41);
    const der = sig.subarray(0, -1);
    expect(isLowS(decodeDerSignature(der))).toBe(true);
    const digest = bsvSighash(tx, 0, u.script, u.satoshis, 0x41);
    expect(verifySecp256k1(pkPush?.data as Uint8Array, digest, der)).toBe(true);
  });

  it('size estimate is an upper bound, above the size by exactly what each signature falls short of 72 bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1_000_000 }), (n, salt) => {
        const utxos = Array.from({ length: n }, (_, i) => utxo(salt + i, 5_000n));
        const b = buildTransaction({
          network: 'bsv',
          utxos,
          opReturn: opReturn('bsv'),
          change: { script: changeScript },
        });
        const est = estimateTransactionSize(
          utxos.map(() => 'p2pkh'),
          b.tx.outputs.map((o) => o.script),
        );
        expect(est.size).toBeGreaterThanOrEqual(b.size);
        // The estimate counts 72-byte signatures (the longest low-S DER, 71 bytes, + sighash type);
        // one is shorter when r needs no sign pad (half the time) or r or s has fewer significant
        // bytes (~1/128 of signatures), and the scriptSig push length stays one byte.
        const shortfall = b.tx.inputs.reduce((sum, input) => {
          const [sig] = decodeScript(input.scriptSig);
          return sum + 72 - ((sig as { data?: Uint8Array } | undefined)?.data?.length ?? 0);
        }, 0);
        expect(est.size - b.size).toBe(shortfall);
      }),
      { numRuns: 20 },
    );
  });

  it('change below dust is dropped into the fee; no change destination with excess is refused', () => {
    const exact = utxo(2, 100n);
    // 100 sat/kB on ~200 bytes ≈ 20 sat fee; a 1 sat BSV dust limit: raise it to force the drop.
    const b = buildTransaction({
      network: 'bsv',
      utxos: [exact],
      opReturn: opReturn('bsv'),
      change: { script: changeScript },
      dust: { dustLimit: 1000n },
    });
    expect(b.change).toBeUndefined();
    expect(b.tx.outputs.length).toBe(1);
    expect(b.fee).toBe(100n);
    expectCode(
      () => buildTransaction({ network: 'bsv', utxos: [utxo(3, 10_000n)], opReturn: opReturn('bsv') }),
      'ledger.tx.change-required',
    );
  });

  it('insufficient funds → ledger.funds.insufficient (with amounts)', () => {
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [utxo(4, 5n)],
          opReturn: opReturn('bsv'),
          change: { script: changeScript },
        }),
      'ledger.funds.insufficient',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'btc',
          utxos: [utxo(4, 600n)],
          outputs: [{ script: changeScript, satoshis: 600n }],
          change: { script: changeScript },
        }),
      'ledger.funds.insufficient',
    );
  });

  it('dust payment outputs are refused (BTC 546 P2PKH / 294 P2WPKH; BSV 1 sat)', () => {
    const big = utxo(5, 100_000n);
    expectCode(
      () =>
        buildTransaction({
          network: 'btc',
          utxos: [big],
          outputs: [{ script: changeScript, satoshis: 545n }],
          change: { script: changeScript },
        }),
      'ledger.tx.dust',
    );
    expect(
      buildTransaction({
        network: 'btc',
        utxos: [big],
        outputs: [{ script: changeScript, satoshis: 546n }],
        change: { script: changeScript },
      }).tx.outputs[0]?.value,
    ).toBe(546n);
    const wpkh = p2wpkhScript(new Uint8Array(20).fill(1));
    expectCode(
      () =>
        buildTransaction({
          network: 'btc',
          utxos: [big],
          outputs: [{ script: wpkh, satoshis: 293n }],
          change: { script: changeScript },
        }),
      'ledger.tx.dust',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [big],
          outputs: [{ script: changeScript, satoshis: 0n }],
          change: { script: changeScript },
        }),
      'ledger.tx.dust',
    );
    expect(
      buildTransaction({
        network: 'bsv',
        utxos: [big],
        outputs: [{ script: changeScript, satoshis: 1n }],
        change: { script: changeScript },
      }).tx.outputs[0]?.value,
    ).toBe(1n);
  });

  it('wrong key, unsupported input, bad options', () => {
    const u = { ...utxo(6, 10_000n), secretKey: key(99) };
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [u],
          opReturn: opReturn('bsv'),
          change: { script: changeScript },
        }),
      'ledger.key.mismatch',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [utxo(7, 10_000n, 'p2wpkh')],
          opReturn: opReturn('bsv'),
          change: { script: changeScript },
        }),
      'ledger.tx.unsupported-input',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [],
          opReturn: opReturn('bsv'),
          change: { script: changeScript },
        }),
      'core.input.invalid',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'nope' as 'bsv',
          utxos: [utxo(8, 1n)],
          change: { script: changeScript },
        }),
      'core.input.invalid',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [{ ...utxo(8, 10n), txid: 'xyz' }],
          change: { script: changeScript },
        }),
      'core.input.invalid',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [utxo(8, 10_000n)],
          opReturn: changeScript,
          change: { script: changeScript },
        }),
      'ledger.tx.invalid-output',
    );
  });

  it('an absurd fee is refused (maxFeeRate, Core maxfeerate default)', () => {
    const u = utxo(13, 10_000_000n);
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [u],
          opReturn: opReturn('bsv'),
          change: { script: changeScript },
          feeRate: 20_000_000,
        }),
      'ledger.fee.absurd',
    );
    expectCode(
      () =>
        buildTransaction({
          network: 'bsv',
          utxos: [u],
          opReturn: opReturn('bsv'),
          change: { script: changeScript },
          maxFeeRate: 50,
        }),
      'ledger.fee.absurd',
    );
    expect(
      buildTransaction({
        network: 'bsv',
        utxos: [u],
        opReturn: opReturn('bsv'),
        change: { script: changeScript },
        feeRate: 20_000_000,
        maxFeeRate: 30_000_000,
      }).fee,
    ).toBeGreaterThan(1_000_000n);
  });

  it('a split transaction: many equal outputs plus change', () => {
    const outs = Array.from({ length: 50 }, () => ({ script: changeScript, satoshis: 1000n }));
    const b = buildTransaction({
      network: 'bsv',
      utxos: [utxo(9, 100_000n)],
      outputs: outs,
      change: { script: changeScript },
    });
    expect(b.tx.outputs.length).toBe(51);
    expect(b.change?.satoshis).toBe(100_000n - 50_000n - b.fee);
  });
});

describe('buildTransaction — BTC P2PKH (legacy) and P2WPKH (BIP143)', () => {
  it('mixed inputs sign with the right digest each; bare OP_RETURN; version 2', () => {
    const a = utxo(10, 50_000n, 'p2pkh');
    const w = utxo(11, 70_000n, 'p2wpkh');
    const b = buildOpReturnTransaction({
      network: 'btc',
      utxos: [a, w],
      opReturn: opReturn('btc'),
      change: { script: changeScript },
      feeRate: 2000,
    });
    const tx = decodeTransaction(b.hex);
    expect(tx.version).toBe(2);
    expect(toHex(tx.outputs[0]?.script ?? new Uint8Array()).startsWith('6a')).toBe(true);
    expect(b.vsize).toBeLessThan(b.size);
    expect(b.fee).toBeGreaterThanOrEqual(feeForSize(b.vsize, 2000));
    // input 0: legacy
    const [s0, p0] = sigAndKey(tx.inputs[0]?.scriptSig);
    expect(s0.at(-1)).toBe(SIGHASH.ALL);
    expect(verifySecp256k1(p0, legacySighash(tx, 0, a.script, SIGHASH.ALL), s0.subarray(0, -1))).toBe(true);
    // input 1: witness
    expect(tx.inputs[1]?.scriptSig.length).toBe(0);
    const [sig, pk] = (tx.inputs[1]?.witness ?? []) as [Uint8Array, Uint8Array];
    const d = bip143Sighash(tx, 1, p2pkhScript(hash160(pk)), w.satoshis, SIGHASH.ALL);
    expect(verifySecp256k1(pk, d, sig.subarray(0, -1))).toBe(true);
  });

  it('hedged signing (random) still verifies and changes the signature', () => {
    const u = utxo(12, 50_000n);
    let i = 0;
    const random = (n: number): Uint8Array => new Uint8Array(n).fill(++i);
    const x = buildTransaction({
      network: 'btc',
      utxos: [u],
      opReturn: opReturn('btc'),
      change: { script: changeScript },
    });
    const y = buildTransaction({
      network: 'btc',
      utxos: [u],
      opReturn: opReturn('btc'),
      change: { script: changeScript },
      random,
    });
    expect(x.hex).not.toBe(y.hex);
    const tx = decodeTransaction(y.hex);
    const [s, p] = sigAndKey(tx.inputs[0]?.scriptSig);
    expect(verifySecp256k1(p, legacySighash(tx, 0, u.script, SIGHASH.ALL), s.subarray(0, -1))).toBe(true);
  });
});
