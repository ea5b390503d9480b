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
 * Signatures are low-S strict DER. {@link buildTransaction} signs synchronously with RFC 6979
 * nonces (core `signSecp256k1`): the same inputs give the same bytes. {@link buildTransactionAsync}
 * signs every input concurrently on the platform's ECDSA where there is one (node:crypto on
 * libuv's threadpool, random nonces: concurrent builds use every core); `deterministic: true`
 * gives it buildTransaction's bytes. A {@link Secp256k1Engine} (`engine`) replaces noble in the
 * synchronous builder — e.g. `libsecp256k1` from `@omt/adapters/secp256k1` (WASM, ~3× faster) —
 * and must give the same RFC 6979 bytes; what it returns is checked for shape and low-S.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import type { RandomSource } from '@omt/core/random';
import { encodeDerSignature, isLowS, signSecp256k1, signSecp256k1MessageAsync } from '@omt/core/suites';
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
import { bip143Preimage, bsvPreimage, legacyPreimage, SIGHASH, SighashCache } from './sighash.js';
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
  /** Hedged signing (RFC 6979 §3.6 extra entropy); default deterministic. Excludes `engine`. */
  random?: RandomSource;
  /** The synchronous signer (default noble); see {@link Secp256k1Engine}. Excludes `random`. */
  engine?: Secp256k1Engine;
}

/** Options of {@link buildTransactionAsync}. */
export interface BuildTransactionAsyncOptions extends BuildTransactionOptions {
  /**
   * RFC 6979 nonces (noble), giving exactly {@link buildTransaction}'s bytes; default false: the
   * platform's ECDSA (node:crypto, random nonces) where there is one. Excludes `random`.
   */
  deterministic?: boolean;
}

/**
 * A synchronous secp256k1 signer for transaction digests (a port: noble is the built-in default;
 * `@omt/adapters/secp256k1` has libsecp256k1). `sign` must be ECDSA with RFC 6979 nonces
 * returning the 64-byte low-S r‖s over the 32-byte digest as given (no further hashing), so a
 * transaction's bytes do not depend on the engine.
 */
export interface Secp256k1Engine {
  readonly name: string;
  sign(secretKey: Uint8Array, digest: Uint8Array): Uint8Array;
  /** The 33-byte compressed public key; throws for a secret that is not a scalar in [1, n−1]. */
  publicKey?(secretKey: Uint8Array): Uint8Array;
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
  engine: z
    .custom<Secp256k1Engine>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as Secp256k1Engine).sign === 'function' &&
        typeof (v as Secp256k1Engine).name === 'string',
      'engine must be a Secp256k1Engine',
    )
    .optional(),
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

/** Secret key → compressed public key and its hash160, per key object (guarded by a copy of the bytes). */
const derivedKeys = new WeakMap<Uint8Array, { bytes: Uint8Array; publicKey: Uint8Array; hash: Uint8Array }>();

/** The compressed public key of a secret key and its hash160, derived once per key object. */
function publicKeyOf(
  secretKey: Uint8Array,
  k: number,
  engine: Secp256k1Engine | undefined,
): { publicKey: Uint8Array; hash: Uint8Array } {
  const hit = derivedKeys.get(secretKey);
  if (hit !== undefined && equalBytes(hit.bytes, secretKey)) return hit;
  let publicKey: Uint8Array;
  try {
    publicKey =
      engine?.publicKey === undefined ? secp256k1.getPublicKey(secretKey, true) : engine.publicKey(secretKey);
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 33)
      throw new Error(`the engine returned no 33-byte public key`);
  } catch (e) {
    throw new OmtError('ledger.key.invalid', `input ${k}: secret key is not a valid secp256k1 scalar`, {
      cause: e,
    });
  }
  const entry = { bytes: secretKey.slice(), publicKey, hash: hash160(publicKey) };
  derivedKeys.set(secretKey, entry);
  return entry;
}

/** Everything decided before signing: the unsigned transaction and what each input needs. */
interface Plan {
  readonly tx: Transaction;
  readonly utxos: readonly { script: Uint8Array; satoshis: bigint; secretKey: Uint8Array }[];
  readonly kinds: readonly InputKind[];
  readonly pubkeys: readonly Uint8Array[];
  readonly chain: Network['chain'];
  readonly hashType: number;
  readonly cache: SighashCache;
  readonly fee: bigint;
  readonly change: BuiltTransaction['change'];
  readonly random: RandomSource | undefined;
  readonly engine: Secp256k1Engine | undefined;
}

function planTransaction(options: BuildTransactionOptions): Plan {
  const o = parseInput(OptionsSchema, options, 'core.input.invalid', 'transaction options');
  if (o.engine !== undefined && o.random !== undefined)
    throw new OmtError(
      'core.input.invalid',
      "engine and random exclude each other (hedged signing is noble's)",
    );
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
    let h: Uint8Array;
    if (u.publicKey !== undefined) {
      pk = u.publicKey;
      h = hash160(pk);
    } else ({ publicKey: pk, hash: h } = publicKeyOf(u.secretKey, k, o.engine));
    if (!equalBytes(h, c.hash))
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
  return {
    tx,
    utxos: o.utxos,
    kinds,
    pubkeys,
    chain,
    hashType: chain === 'bsv' ? SIGHASH.ALL | SIGHASH.FORKID : SIGHASH.ALL,
    cache: new SighashCache(tx),
    fee,
    change,
    random: o.random,
    engine: o.engine,
  };
}

/** The bytes whose dSHA-256 input `k` signs (BSV FORKID, BIP143 for P2WPKH, else legacy). */
function preimageOf(plan: Plan, k: number): Uint8Array {
  const u = plan.utxos[k] as Plan['utxos'][number];
  const { tx, hashType, cache } = plan;
  let pre: Uint8Array | undefined;
  if (plan.chain === 'bsv') pre = bsvPreimage(tx, k, u.script, u.satoshis, hashType, cache);
  else if (plan.kinds[k] === 'p2wpkh')
    pre = bip143Preimage(
      tx,
      k,
      p2pkhScript(hash160(plan.pubkeys[k] as Uint8Array)),
      u.satoshis,
      hashType,
      cache,
    );
  else pre = legacyPreimage(tx, k, u.script, hashType);
  // SIGHASH_ALL on an existing input always has a preimage (no SINGLE bug).
  return pre as Uint8Array;
}

/** Puts `der` ‖ hashType and the public key into input `k` (scriptSig, or witness for P2WPKH). */
function attachSignature(plan: Plan, k: number, der: Uint8Array): void {
  const sig = new Uint8Array(der.length + 1);
  sig.set(der);
  sig[der.length] = plan.hashType;
  const pk = plan.pubkeys[k] as Uint8Array;
  const input = plan.tx.inputs[k] as TxInput;
  if (plan.kinds[k] === 'p2wpkh') input.witness = [sig, pk.slice()];
  else input.scriptSig = pushTwo(sig, pk);
}

function finishTransaction(plan: Plan): BuiltTransaction {
  const { tx, fee, change } = plan;
  const raw = encodeTransaction(tx);
  const segwit = tx.inputs.some((i) => i.witness.length > 0);
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
  const plan = planTransaction(options);
  const signOpts = plan.random === undefined ? undefined : { random: plan.random };
  const engine = plan.engine;
  for (let k = 0; k < plan.utxos.length; k++) {
    const digest = dsha256(preimageOf(plan, k));
    const secretKey = (plan.utxos[k] as Plan['utxos'][number]).secretKey;
    attachSignature(
      plan,
      k,
      engine === undefined
        ? signSecp256k1(secretKey, digest, signOpts)
        : signWithEngine(engine, secretKey, digest, k),
    );
  }
  return finishTransaction(plan);
}

/** `engine.sign`, its result checked for shape (64 bytes, 0 < r, 0 < s ≤ n/2), as strict DER. */
function signWithEngine(
  engine: Secp256k1Engine,
  secretKey: Uint8Array,
  digest: Uint8Array,
  k: number,
): Uint8Array {
  let rs: Uint8Array;
  try {
    rs = engine.sign(secretKey, digest);
  } catch (e) {
    throw new OmtError('ledger.key.invalid', `input ${k}: ${engine.name} could not sign with this key`, {
      cause: e,
    });
  }
  if (
    !(rs instanceof Uint8Array) ||
    rs.length !== 64 ||
    !isLowS(rs) ||
    rs.subarray(0, 32).every((b) => b === 0)
  )
    throw new OmtError(
      'ledger.tx.signature',
      `input ${k}: ${engine.name} returned no low-S 64-byte r‖s signature`,
    );
  return encodeDerSignature(rs);
}

const DeterministicSchema = z.boolean().optional();

/**
 * {@link buildTransaction} with every input signed concurrently: on Node by OpenSSL on libuv's
 * threadpool (random nonces), so builds awaited together use every core; elsewhere, with
 * `random`, or with `deterministic: true`, by noble with RFC 6979 — then the bytes equal
 * buildTransaction's. Same rules and errors (as rejections).
 * @example
 * ```ts
 * const txs = await Promise.all(batches.map((b) => buildTransactionAsync({ network: 'bsv', ...b })));
 * ```
 */
export async function buildTransactionAsync(
  options: BuildTransactionAsyncOptions,
): Promise<BuiltTransaction> {
  const deterministic = parseInput(
    DeterministicSchema,
    options?.deterministic,
    'core.input.invalid',
    'deterministic',
  );
  if (deterministic === true && options.random !== undefined)
    throw new OmtError('core.input.invalid', 'deterministic and random exclude each other');
  const plan = planTransaction(options);
  const implementation = deterministic === true ? 'portable' : 'auto';
  const random = plan.random;
  await Promise.all(
    plan.utxos.map(async (u, k) => {
      const der = await signSecp256k1MessageAsync(u.secretKey, sha256(preimageOf(plan, k)), {
        implementation,
        publicKey: plan.pubkeys[k] as Uint8Array,
        ...(random === undefined ? {} : { random }),
      });
      attachSignature(plan, k, der);
    }),
  );
  return finishTransaction(plan);
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

/** Options of {@link buildOpReturnTransactionAsync}. */
export type BuildOpReturnAsyncOptions = BuildOpReturnOptions & { deterministic?: boolean };

/**
 * {@link buildOpReturnTransaction} signed as {@link buildTransactionAsync} signs.
 * @example
 * ```ts
 * await buildOpReturnTransactionAsync({ network: 'bsv', utxos, opReturn: script, change: { script: c } });
 * ```
 */
export async function buildOpReturnTransactionAsync(
  options: BuildOpReturnAsyncOptions,
): Promise<BuiltTransaction> {
  if (options?.opReturn === undefined) throw new OmtError('core.input.invalid', 'opReturn is required');
  return buildTransactionAsync(options);
}
