/**
 * Fees, sizes and dust.
 *
 * Sizes are computed before signing from upper bounds: a low-S DER signature is at most
 * 71 bytes (+1 sighash byte) — r may need a 0x00 pad (33 bytes), s ≤ n/2 never does — and
 * public keys are compressed (33 bytes). So a P2PKH input is ≤ 148 bytes and a P2WPKH
 * input ≤ 41 base bytes + 108 witness bytes; the signed transaction is never larger than
 * estimated, at most one byte per input smaller (about half of all signatures have a
 * 32-byte r).
 *
 * Fee = ⌈size × rate / 1000⌉ for a rate in sat/kB (BTC: virtual bytes, BIP141).
 *
 * Dust: BTC follows Bitcoin Core `GetDustThreshold` — the fee, at `-dustrelayfee`
 * (3000 sat/kvB by default), of the output plus the input that would spend it (148 bytes,
 * or 67 virtual bytes for a witness program): 546 sat for P2PKH, 294 for P2WPKH.
 * BSV: SV Node / ARC policy since 2024 treats only outputs below 1 satoshi as dust
 * (`dustLimit` 1; earlier nodes used dustlimitfactor 300% of a 250 sat/kB relay fee).
 * Both configurable. OP_RETURN outputs are exempt: they never enter the UTXO set.
 */
import { OmtError } from '@omt/core/errors';
import type { Chain } from './network.js';
import { classifyScript } from './script.js';
import { compactSizeLength } from './wire.js';

/** Default fee rates in sat/kB: BSV miners' 100 sat/kB (ARC policy), BTC 1 sat/vB. */
export const DEFAULT_FEE_RATE: Readonly<Record<Chain, number>> = Object.freeze({ bsv: 100, btc: 1000 });
/** Bitcoin Core's default `-dustrelayfee` (sat/kvB). */
export const DEFAULT_DUST_RELAY_FEE = 3000;
/** BSV default dust limit (satoshis): outputs below it are dust. */
export const DEFAULT_BSV_DUST_LIMIT = 1n;

/** The input kinds this package signs. */
export type InputKind = 'p2pkh' | 'p2wpkh';

/** Dust policy overrides. */
export interface DustPolicy {
  /** BTC: dust relay fee in sat/kB (default 3000). */
  dustRelayFee?: number;
  /** A fixed threshold (satoshis) overriding the computed one; BSV default 1. */
  dustLimit?: bigint;
}

/** Upper bound of a signed input's size: base (non-witness) bytes and witness bytes. */
export function inputSize(kind: InputKind): { base: number; witness: number } {
  // outpoint 36 + scriptSig length 1 + scriptSig + sequence 4
  if (kind === 'p2pkh') return { base: 36 + 1 + (1 + 72 + 1 + 33) + 4, witness: 0 };
  // witness: item count 1 + (1 + 72) signature + (1 + 33) pubkey
  return { base: 36 + 1 + 4, witness: 1 + 1 + 72 + 1 + 33 };
}

/** Serialized size of an output with this locking script. */
export function outputSize(script: Uint8Array): number {
  return 8 + compactSizeLength(script.length) + script.length;
}

/** Size estimate of a transaction to be signed. */
export interface SizeEstimate {
  /** Total serialized bytes (with witnesses). */
  size: number;
  /** BIP141 weight. */
  weight: number;
  /** Virtual size ⌈weight / 4⌉ (= size without witnesses). The fee basis. */
  vsize: number;
}

/**
 * Upper-bound size of a transaction with the given inputs and output scripts.
 * @example
 * ```ts
 * estimateTransactionSize(['p2pkh'], [opReturn, changeScript]).vsize;
 * ```
 */
export function estimateTransactionSize(
  inputs: readonly InputKind[],
  outputScripts: readonly Uint8Array[],
): SizeEstimate {
  let base = 4 + compactSizeLength(inputs.length) + compactSizeLength(outputScripts.length) + 4;
  let witness = 0;
  for (const k of inputs) {
    const s = inputSize(k);
    base += s.base;
    witness += s.witness;
  }
  for (const s of outputScripts) base += outputSize(s);
  if (witness > 0) {
    witness += 2; // marker + flag
    // inputs without a witness still write an empty stack (one 0x00)
    for (const k of inputs) if (k === 'p2pkh') witness += 1;
  }
  const weight = base * 4 + witness;
  return { size: base + witness, weight, vsize: Math.ceil(weight / 4) };
}

/**
 * Fee for `size` bytes at `feeRate` sat/kB, rounded up.
 * @example
 * ```ts
 * feeForSize(250, 100); // 25n
 * ```
 */
export function feeForSize(size: number, feeRate: number): bigint {
  if (!Number.isFinite(feeRate) || feeRate < 0)
    throw new OmtError('ledger.fee.invalid', 'fee rate must be a finite number ≥ 0 (sat/kB)');
  // ceil(size × rate / 1000) in integers; fractional rates are kept to 1/1000 sat/kB.
  const milli = BigInt(Math.round(feeRate * 1000));
  const num = BigInt(size) * milli;
  const den = 1_000_000n;
  return (num + den - 1n) / den;
}

/**
 * The smallest non-dust amount for an output with this script (0 for OP_RETURN).
 * @example
 * ```ts
 * dustThreshold(p2pkhScript(h), 'btc'); // 546n
 * dustThreshold(p2wpkhScript(h), 'btc'); // 294n
 * dustThreshold(p2pkhScript(h), 'bsv'); // 1n
 * ```
 */
export function dustThreshold(script: Uint8Array, chain: Chain, policy?: DustPolicy): bigint {
  const kind = classifyScript(script);
  if (kind.type === 'op-return') return 0n;
  if (policy?.dustLimit !== undefined) return policy.dustLimit;
  if (chain === 'bsv') return DEFAULT_BSV_DUST_LIMIT;
  const rate = policy?.dustRelayFee ?? DEFAULT_DUST_RELAY_FEE;
  // Witness programs are spent with a 67-vbyte input (32+4+1+⌊107/4⌋+4), others with 148 bytes.
  const isWitness =
    script.length >= 4 &&
    script.length <= 42 &&
    (script[0] === 0 || ((script[0] as number) >= 0x51 && (script[0] as number) <= 0x60)) &&
    script[1] === script.length - 2;
  const spend = isWitness ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  return feeForSize(outputSize(script) + spend, rate);
}

/** True when `value` is below the dust threshold of `script`. @example `isDust(545n, p2pkh, 'btc') // true` */
export function isDust(value: bigint, script: Uint8Array, chain: Chain, policy?: DustPolicy): boolean {
  return value < dustThreshold(script, chain, policy);
}
