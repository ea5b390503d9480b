/**
 * Builds and signs transactions from given UTXOs: P2PKH inputs on BSV (SIGHASH_ALL |
 * SIGHASH_FORKID, BIP143-style digest with the amount), P2PKH (legacy digest) and P2WPKH
 * (BIP143) on BTC; optional OP_RETURN output first, then payments, then change.
 *
 * Hardened defaults: every given UTXO is spent (selection is the caller's — a reserved set
 * from the pool); fees are computed from the upper-bound size (see fee.ts), so the real fee
 * rate is never below the one asked for; payment outputs below the dust threshold are
 * refused (`ledger.tx.dust`); change below it is dropped into the fee; an excess beyond
 * fee + dust with no change destination is refused (`ledger.tx.change-required`) rather
 * than silently paid to miners; not enough input → `ledger.funds.insufficient`.
 * Signatures are low-S strict DER with RFC 6979 nonces (core `signSecp256k1`).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { equalBytes, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import type { RandomSource } from '@omt/core/random';
import { signSecp256k1 } from '@omt/core/suites';
import { z } from 'zod';
import { hash160 } from './address.js';
import {
  DEFAULT_FEE_RATE,
  type DustPolicy,
  dustThreshold,
  estimateTransactionSize,
  feeForSize,
  type InputKind,
} from './fee.js';
import { getNetwork, type Network, type NetworkName, NetworkNameSchema } from './network.js';
import { classifyScript, p2pkhScript } from './script.js';
import { bip143Sighash, bsvSighash, legacySighash, SIGHASH, SighashCache } from './sighash.js';
import {
  encodeTransaction,
  type Transaction,
  type TxInput,
  type TxOutput,
  txidFromBytes,
} from './transaction.js';
import { ByteWriter, dsha256 } from './wire.js';

/** A UTXO to spend, with the key that unlocks it. */
export interface SpendableUtxo {
  /** Display-order txid. */
  txid: string;
  vout: number;
  satoshis: bigint;
  /** The output's locking script: P2PKH (both chains) or P2WPKH (BTC). */
  script: Uint8Array;
  /** 32-byte secret key. */
  secretKey: Uint8Array;
  /** Its compressed public key, when already known (skips one derivation; not re-checked against the secret). */
  publicKey?: Uint8Array;
  /** nSequence (default 0xffffffff). */
  sequence?: number;
}

/** A payment output. */
export interface PaymentOutput {
  script: Uint8Array;
  satoshis: bigint;
}

/** Options of {@link buildTransaction}. */
export interface BuildTransactionOptions {
  network: NetworkName | Network;
  utxos: SpendableUtxo[];
  /** An OP_RETURN script (op-return.ts), written as output 0 with 0 satoshis. */
  opReturn?: Uint8Array;
  outputs?: PaymentOutput[];
  /** Where the change goes (a fresh change key's script). */
  change?: { script: Uint8Array };
  /** sat/kB (BTC: per 1000 virtual bytes). Default 100 on BSV, 1000 on BTC. */
  feeRate?: number;
  dust?: DustPolicy;
  /**
   * Refuse when the fee paid exceeds this rate (sat/kB); default 10,000,000 — Bitcoin
   * Core's `maxfeerate` of 0.10 BTC/kvB — so a unit mix-up never burns the inputs.
   */
  maxFeeRate?: number;
  /** Default 1 on BSV, 2 on BTC. */
  version?: number;
  locktime?: number;
  /** Hedged signing (RFC 6979 §3.6 extra entropy); default deterministic. */
  random?: RandomSource;
}

/** A signed transaction and its accounting. */
export interface BuiltTransaction {
  tx: Transaction;
  raw: Uint8Array;
  hex: string;
  txid: string;
  fee: bigint;
  /** Serialized bytes. */
  size: number;
  /** Virtual bytes (= size without segwit inputs). */
  vsize: number;
  /** The change output, when one was added. */
  change?: { vout: number; satoshis: bigint; script: Uint8Array };
}

/** Bitcoin Core's default `-maxfeerate` (0.10 BTC/kvB) in sat/kB. */
export const DEFAULT_MAX_FEE_RATE = 10_000_000;

const bytes = (len?: number): z.ZodType<Uint8Array> =>
  z.custom<Uint8Array>(
    (v) => v instanceof Uint8Array && (len === undefined || v.length === len),
    len === undefined ? 'bytes expected' : `${len} bytes expected`,
  );
const satoshis = z
  .union([
    z.bigint(),
    z
      .number()
      .int()
      .transform((n) => BigInt(n)),
  ])
  .refine((v) => v >= 0n && v <= 21_000_000n * 100_000_000n, 'satoshis out of range');
const uint32 = z.number().int().min(0).max(0xffffffff);

const OptionsSchema = z.object({
  network: z.union([
    NetworkNameSchema,
    z.custom<Network>((v) => typeof v === 'object' && v !== null && 'chain' in v),
  ]),
  utxos: z
    .array(
      z.object({
        txid: z.string().regex(/^[0-9a-fA-F]{64}$/, 'txid must be 64 hex digits'),
        vout: uint32,
        satoshis,
        script: bytes(),
        secretKey: bytes(32),
        publicKey: bytes(33).optional(),
        sequence: uint32.optional(),
      }),
    )
    .min(1, 'at least one UTXO')
    .max(10_000),
  opReturn: bytes().optional(),
  outputs: z
    .array(z.object({ script: bytes(), satoshis }))
    .max(100_000)
    .optional(),
  change: z.object({ script: bytes() }).optional(),
  feeRate: z.number().finite().min(0).max(100_000_000).optional(),
  maxFeeRate: z.number().finite().min(0).optional(),
  dust: z
    .object({ dustRelayFee: z.number().finite().min(0).optional(), dustLimit: z.bigint().min(0n).optional() })
    .optional(),
  version: z.number().int().min(-0x80000000).max(0x7fffffff).optional(),
  locktime: uint32.optional(),
  random: z.custom<RandomSource>((v) => typeof v === 'function').optional(),
});

function funds(needed: bigint, available: bigint): OmtError {
  return new OmtError(
    'ledger.funds.insufficient',
    `insufficient funds: need ${needed} sat, have ${available} sat`,
    {
      details: { needed: needed.toString(), available: available.toString() },
    },
  );
}

function pushTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  // Both are < 76 bytes (signature ≤ 73, compressed key 33): direct pushes.
  return new ByteWriter(a.length + b.length + 2).u8(a.length).bytes(a).u8(b.length).bytes(b).finish();
}

/**
 * Builds and signs a transaction. See the module comment for the rules.
 * @example
 * ```ts
 * const { hex, txid, fee } = buildTransaction({
 *   network: 'bsv',
 *   utxos: [{ txid, vout: 0, satoshis: 10_000n, script: p2pkhScript(h), secretKey }],
 *   opReturn: encodeRecordAnchor(record, { chain: 'bsv' }).script,
 *   change: { script: p2pkhScript(changeHash) },
 * });
 * ```
 */
export function buildTransaction(options: BuildTransactionOptions): BuiltTransaction {
  const o = parseInput(OptionsSchema, options, 'core.input.invalid', 'transaction options');
  const net = getNetwork(o.network);
  const chain = net.chain;
  const feeRate = o.feeRate ?? DEFAULT_FEE_RATE[chain];

  const kinds: InputKind[] = [];
  const pubkeys: Uint8Array[] = [];
  for (const [k, u] of o.utxos.entries()) {
    const c = classifyScript(u.script);
    if (c.type !== 'p2pkh' && !(c.type === 'p2wpkh' && chain === 'btc'))
      throw new OmtError(
        'ledger.tx.unsupported-input',
        `input ${k}: only P2PKH${chain === 'btc' ? ' and P2WPKH' : ''} outputs can be spent on ${net.name}`,
      );
    let pk: Uint8Array;
    if (u.publicKey !== undefined) pk = u.publicKey;
    else {
      try {
        pk = secp256k1.getPublicKey(u.secretKey, true);
      } catch (e) {
        throw new OmtError('ledger.key.invalid', `input ${k}: secret key is not a valid secp256k1 scalar`, {
          cause: e,
        });
      }
    }
    if (!equalBytes(hash160(pk), c.hash))
      throw new OmtError('ledger.key.mismatch', `input ${k}: key does not match the locking script`);
    kinds.push(c.type);
    pubkeys.push(pk);
  }

  const outputs: TxOutput[] = [];
  if (o.opReturn !== undefined) {
    if (classifyScript(o.opReturn).type !== 'op-return')
      throw new OmtError('ledger.tx.invalid-output', 'opReturn is not an OP_RETURN data-carrier script');
    outputs.push({ value: 0n, script: o.opReturn });
  }
  for (const [k, p] of (o.outputs ?? []).entries()) {
    const min = dustThreshold(p.script, chain, o.dust);
    if (p.satoshis < min)
      throw new OmtError(
        'ledger.tx.dust',
        `output ${k}: ${p.satoshis} sat is below the dust threshold of ${min} sat`,
        { details: { threshold: min.toString() } },
      );
    outputs.push({ value: p.satoshis, script: p.script });
  }
  if (outputs.length === 0 && o.change === undefined)
    throw new OmtError('ledger.tx.invalid-output', 'a transaction needs at least one output');

  let totalIn = 0n;
  for (const u of o.utxos) totalIn += u.satoshis;
  let totalOut = 0n;
  for (const x of outputs) totalOut += x.value;

  const scripts = outputs.map((x) => x.script);
  const without = estimateTransactionSize(kinds, scripts);
  const feeWithout = feeForSize(without.vsize, feeRate);
  if (totalIn < totalOut + feeWithout) throw funds(totalOut + feeWithout, totalIn);
  let fee = totalIn - totalOut;
  let change: BuiltTransaction['change'];
  if (o.change !== undefined) {
    const withChange = estimateTransactionSize(kinds, [...scripts, o.change.script]);
    const feeWith = feeForSize(withChange.vsize, feeRate);
    const amount = totalIn - totalOut - feeWith;
    if (amount >= dustThreshold(o.change.script, chain, o.dust) && amount > 0n) {
      change = { vout: outputs.length, satoshis: amount, script: o.change.script };
      outputs.push({ value: amount, script: o.change.script });
      fee = feeWith;
    }
  } else {
    const excess = fee - feeWithout;
    const p2pkhDust = dustThreshold(p2pkhScript(new Uint8Array(20)), chain, o.dust);
    if (excess >= p2pkhDust && excess > 0n)
      throw new OmtError(
        'ledger.tx.change-required',
        `${excess} sat above the fee would go to miners: give a change script`,
      );
  }

  const maxFee = feeForSize(
    change === undefined ? without.vsize : estimateTransactionSize(kinds, [...scripts, change.script]).vsize,
    o.maxFeeRate ?? DEFAULT_MAX_FEE_RATE,
  );
  if (fee > maxFee)
    throw new OmtError('ledger.fee.absurd', `fee of ${fee} sat exceeds the maximum fee rate`, {
      details: { fee: fee.toString(), max: maxFee.toString() },
    });

  const inputs: TxInput[] = o.utxos.map((u) => ({
    txid: u.txid.toLowerCase(),
    vout: u.vout,
    scriptSig: new Uint8Array(0),
    sequence: u.sequence ?? 0xffffffff,
    witness: [],
  }));
  const tx: Transaction = {
    version: o.version ?? (chain === 'bsv' ? 1 : 2),
    inputs,
    outputs,
    locktime: o.locktime ?? 0,
  };

  const cache = new SighashCache(tx);
  const hashType = chain === 'bsv' ? SIGHASH.ALL | SIGHASH.FORKID : SIGHASH.ALL;
  const signOpts = o.random === undefined ? undefined : { random: o.random };
  for (const [k, u] of o.utxos.entries()) {
    const kind = kinds[k] as InputKind;
    const pk = pubkeys[k] as Uint8Array;
    let digest: Uint8Array;
    if (chain === 'bsv') digest = bsvSighash(tx, k, u.script, u.satoshis, hashType, cache);
    else if (kind === 'p2wpkh')
      digest = bip143Sighash(tx, k, p2pkhScript(hash160(pk)), u.satoshis, hashType, cache);
    else digest = legacySighash(tx, k, u.script, hashType);
    const der = signSecp256k1(u.secretKey, digest, signOpts);
    const sig = new Uint8Array(der.length + 1);
    sig.set(der);
    sig[der.length] = hashType;
    const input = inputs[k] as TxInput;
    if (kind === 'p2wpkh') input.witness = [sig, pk];
    else input.scriptSig = pushTwo(sig, pk);
  }

  const raw = encodeTransaction(tx);
  const segwit = inputs.some((i) => i.witness.length > 0);
  const stripped = segwit ? encodeTransaction(tx, { witness: false }) : raw;
  const vsize = segwit ? Math.ceil((stripped.length * 3 + raw.length) / 4) : raw.length;
  return {
    tx,
    raw,
    hex: toHex(raw),
    txid: txidFromBytes(dsha256(stripped)),
    fee,
    size: raw.length,
    vsize,
    ...(change ? { change } : {}),
  };
}

/** Options of {@link buildOpReturnTransaction}. */
export type BuildOpReturnOptions = Omit<BuildTransactionOptions, 'opReturn' | 'outputs'> & {
  opReturn: Uint8Array;
  change: { script: Uint8Array };
};

/**
 * The common case: one OP_RETURN output plus change.
 * @example
 * ```ts
 * buildOpReturnTransaction({ network: 'bsv', utxos, opReturn: script, change: { script: changeScript } });
 * ```
 */
export function buildOpReturnTransaction(options: BuildOpReturnOptions): BuiltTransaction {
  if (options?.opReturn === undefined) throw new OmtError('core.input.invalid', 'opReturn is required');
  return buildTransaction(options);
}
