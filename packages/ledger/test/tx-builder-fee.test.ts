import { hash160 } from '@omt/ledger/address';
import { dustThreshold, estimateTransactionSize, feeForSize, inputSize, isDust } from '@omt/ledger/fee';
import { opReturnScript, p2pkhScript, p2shScript, p2wpkhScript } from '@omt/ledger/script';
import { describe, expect, it } from 'vitest';

const h = hash160(new Uint8Array(33).fill(2));

describe('dust thresholds', () => {
  it('BTC: Bitcoin Core GetDustThreshold at 3000 sat/kvB — 546 P2PKH, 540 P2SH, 294 P2WPKH; configurable', () => {
    expect(dustThreshold(p2pkhScript(h), 'btc')).toBe(546n);
    expect(dustThreshold(p2shScript(h), 'btc')).toBe(540n);
    expect(dustThreshold(p2wpkhScript(h), 'btc')).toBe(294n);
    expect(dustThreshold(p2pkhScript(h), 'btc', { dustRelayFee: 1000 })).toBe(182n);
    expect(isDust(545n, p2pkhScript(h), 'btc')).toBe(true);
    expect(isDust(546n, p2pkhScript(h), 'btc')).toBe(false);
  });
  it('BSV: 1 sat by default (SV Node / ARC policy), configurable; OP_RETURN exempt everywhere', () => {
    expect(dustThreshold(p2pkhScript(h), 'bsv')).toBe(1n);
    expect(dustThreshold(p2pkhScript(h), 'bsv', { dustLimit: 136n })).toBe(136n);
    expect(dustThreshold(opReturnScript('bsv', [h]), 'bsv', { dustLimit: 136n })).toBe(0n);
    expect(dustThreshold(opReturnScript('btc', [h]), 'btc')).toBe(0n);
  });
});

describe('sizes and fees', () => {
  it('input bounds: P2PKH 148 bytes, P2WPKH 41 + 108 witness (68 vbytes)', () => {
    expect(inputSize('p2pkh')).toEqual({ base: 148, witness: 0 });
    expect(inputSize('p2wpkh')).toEqual({ base: 41, witness: 108 });
    // 1-in 1-out P2WPKH: 10 + 41 + 31 base, witness 2 + 108
    const e = estimateTransactionSize(['p2wpkh'], [p2wpkhScript(h)]);
    expect(e.weight).toBe((4 + 1 + 1 + 4 + 41 + 31) * 4 + 110);
    expect(e.vsize).toBe(Math.ceil(e.weight / 4));
    const l = estimateTransactionSize(['p2pkh'], [p2pkhScript(h)]);
    expect(l).toEqual({ size: 10 + 148 + 34, weight: (10 + 148 + 34) * 4, vsize: 192 });
  });
  it('fee = ⌈size × rate / 1000⌉, fractional rates, bad rates refused', () => {
    expect(feeForSize(250, 100)).toBe(25n);
    expect(feeForSize(251, 100)).toBe(26n);
    expect(feeForSize(1000, 0.5)).toBe(1n);
    expect(feeForSize(1001, 0.5)).toBe(1n);
    expect(feeForSize(2001, 0.5)).toBe(2n);
    expect(feeForSize(100, 0)).toBe(0n);
    expect(() => feeForSize(100, -1)).toThrow(expect.objectContaining({ code: 'ledger.fee.invalid' }));
    expect(() => feeForSize(100, Number.NaN)).toThrow(
      expect.objectContaining({ code: 'ledger.fee.invalid' }),
    );
  });
});
