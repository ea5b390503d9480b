/**
 * Raw transaction codec (Bitcoin Core `primitives/transaction.h`): version (int32),
 * inputs, outputs, locktime; BIP144 segwit serialization (marker 0x00, flag 0x01,
 * per-input witness stacks) for BTC. Decoding is strict — trailing bytes, truncation,
 * non-canonical CompactSize, counts that cannot fit in what is left, unknown segwit
 * flags and superfluous witness records are all `ledger.tx.malformed`.
 *
 * `txid` is double SHA-256 of the serialization without witnesses, `wtxid` with them
 * (BIP141); both shown byte-reversed, the way RPCs and explorers print them.
 */
import { fromHex, isBytes, toHex } from '@omt/core/bytes';
import { ByteReader, ByteWriter, compactSizeLength, dsha256, malformed } from './wire.js';

/** A spent outpoint plus its unlocking data. */
export interface TxInput {
  /** Previous transaction id, display (byte-reversed) hex, 64 lowercase hex digits. */
  txid: string;
  /** Output index in the previous transaction. */
  vout: number;
  /** Unlocking script (scriptSig). Empty for native segwit inputs. */
  scriptSig: Uint8Array;
  /** nSequence (uint32). */
  sequence: number;
  /** Witness stack (BIP141); empty array when none. */
  witness: Uint8Array[];
}

/** A new output. */
export interface TxOutput {
  /** Amount in satoshis (int64 on the wire; bigint so any value round-trips). */
  value: bigint;
  /** Locking script (scriptPubKey). */
  script: Uint8Array;
}

/** A transaction. */
export interface Transaction {
  /** nVersion (int32). */
  version: number;
  inputs: TxInput[];
  outputs: TxOutput[];
  /** nLockTime (uint32). */
  locktime: number;
}

/** Codec options. */
export interface TransactionCodecOptions {
  /**
   * BIP144 witness serialization. Decoding: accept the segwit form (default true; BSV
   * never uses it — pass false so a zero-input transaction is read the legacy way).
   * Encoding: write witnesses when any input has one (default true).
   */
  witness?: boolean;
}

/** Display-order hex txid → the 32 bytes as they appear on the wire. @example `txidToBytes(tx.inputs[0].txid)` */
export function txidToBytes(txid: string): Uint8Array {
  if (typeof txid !== 'string' || !/^[0-9a-fA-F]{64}$/.test(txid))
    throw malformed('txid must be 64 hex digits');
  return fromHex(txid.toLowerCase()).reverse();
}

/** Wire-order 32 bytes → display-order hex txid. @example `txidFromBytes(dsha256(raw))` */
export function txidFromBytes(hash: Uint8Array): string {
  return toHex(hash.slice().reverse());
}

function hasWitness(tx: Transaction): boolean {
  for (const i of tx.inputs) if (i.witness.length > 0) return true;
  return false;
}

function writeBody(w: ByteWriter, tx: Transaction, withWitness: boolean): void {
  w.i32(tx.version);
  if (withWitness) w.u8(0).u8(1);
  w.compactSize(tx.inputs.length);
  for (const i of tx.inputs) {
    w.bytes(txidToBytes(i.txid)).u32(i.vout).varBytes(i.scriptSig).u32(i.sequence);
  }
  w.compactSize(tx.outputs.length);
  for (const o of tx.outputs) w.u64(o.value).varBytes(o.script);
  if (withWitness) {
    for (const i of tx.inputs) {
      w.compactSize(i.witness.length);
      for (const item of i.witness) w.varBytes(item);
    }
  }
  w.u32(tx.locktime);
}

/**
 * Serializes a transaction (with witnesses when present, unless `witness: false`).
 * @example
 * ```ts
 * const raw = encodeTransaction(tx); // Uint8Array
 * ```
 */
export function encodeTransaction(tx: Transaction, options?: TransactionCodecOptions): Uint8Array {
  const withWitness = (options?.witness ?? true) && hasWitness(tx);
  const w = new ByteWriter(transactionSize(tx, withWitness));
  writeBody(w, tx, withWitness);
  return w.finish();
}

/** Hex form of {@link encodeTransaction}. @example `transactionToHex(tx)` */
export function transactionToHex(tx: Transaction, options?: TransactionCodecOptions): string {
  return toHex(encodeTransaction(tx, options));
}

/**
 * Serialized size in bytes; `withWitness` (default: whether any input has a witness)
 * selects the BIP144 form.
 * @example
 * ```ts
 * transactionSize(tx); // === encodeTransaction(tx).length
 * ```
 */
export function transactionSize(tx: Transaction, withWitness: boolean = hasWitness(tx)): number {
  let n = 4 + compactSizeLength(tx.inputs.length) + compactSizeLength(tx.outputs.length) + 4;
  for (const i of tx.inputs) n += 40 + compactSizeLength(i.scriptSig.length) + i.scriptSig.length;
  for (const o of tx.outputs) n += 8 + compactSizeLength(o.script.length) + o.script.length;
  if (withWitness) {
    n += 2;
    for (const i of tx.inputs) {
      n += compactSizeLength(i.witness.length);
      for (const item of i.witness) n += compactSizeLength(item.length) + item.length;
    }
  }
  return n;
}

/**
 * BIP141 weight (base size × 3 + total size) and virtual size (⌈weight / 4⌉).
 * @example
 * ```ts
 * transactionWeight(tx); // { weight, vsize }
 * ```
 */
export function transactionWeight(tx: Transaction): { weight: number; vsize: number } {
  const base = transactionSize(tx, false);
  const total = transactionSize(tx);
  const weight = base * 3 + total;
  return { weight, vsize: Math.ceil(weight / 4) };
}

/**
 * Parses a raw transaction (bytes or hex). Strict: see the module comment.
 * @example
 * ```ts
 * const tx = decodeTransaction('0100000001…');
 * ```
 */
export function decodeTransaction(raw: Uint8Array | string, options?: TransactionCodecOptions): Transaction {
  let bytes: Uint8Array;
  if (typeof raw === 'string') {
    if (raw.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(raw)) throw malformed('hex expected');
    bytes = fromHex(raw.toLowerCase());
  } else if (isBytes(raw)) bytes = raw;
  else throw malformed('bytes or hex expected');
  const r = new ByteReader(bytes);
  const version = r.i32('version');
  let inCount = r.compactSize('input count');
  let segwit = false;
  // BIP144: an input count of zero followed by flag 0x01 marks the extended form.
  if (inCount === 0 && (options?.witness ?? true) && r.remaining > 0) {
    const flag = r.u8('segwit flag');
    if (flag !== 1) throw malformed(`unknown segwit flag 0x${flag.toString(16)}`, r.pos - 1);
    segwit = true;
    inCount = r.compactSize('input count');
  }
  // Each input is at least 41 bytes: a count larger than that allows is absurd.
  if (inCount > r.remaining / 41) throw malformed(`input count ${inCount} cannot fit`, r.pos);
  const inputs: TxInput[] = new Array(inCount);
  for (let k = 0; k < inCount; k++) {
    const prev = r.bytes(32, 'prevout hash');
    const vout = r.u32('prevout index');
    const scriptSig = r.varBytes('scriptSig').slice();
    const sequence = r.u32('sequence');
    inputs[k] = { txid: txidFromBytes(prev), vout, scriptSig, sequence, witness: [] };
  }
  const outCount = r.compactSize('output count');
  if (outCount > r.remaining / 9) throw malformed(`output count ${outCount} cannot fit`, r.pos);
  const outputs: TxOutput[] = new Array(outCount);
  for (let k = 0; k < outCount; k++) {
    // int64 on the wire: keep the sign so negative (invalid) amounts re-serialize exactly.
    const value = BigInt.asIntN(64, r.u64('output value'));
    outputs[k] = { value, script: r.varBytes('scriptPubKey').slice() };
  }
  if (segwit) {
    if (inCount === 0) throw malformed('segwit transaction without inputs', r.pos);
    let any = false;
    for (const input of inputs) {
      const items = r.compactSize('witness item count');
      if (items > r.remaining) throw malformed(`witness item count ${items} cannot fit`, r.pos);
      for (let j = 0; j < items; j++) input.witness.push(r.varBytes('witness item').slice());
      if (items > 0) any = true;
    }
    // Bitcoin Core rejects the extended form when it carries no witness at all.
    if (!any) throw malformed('superfluous witness record', r.pos);
  }
  const locktime = r.u32('locktime');
  if (r.remaining !== 0) throw malformed(`${r.remaining} trailing bytes`, r.pos);
  return { version, inputs, outputs, locktime };
}

/**
 * Transaction id: dSHA256 of the witness-free serialization, display order.
 * @example
 * ```ts
 * transactionId(tx); // 'e3b0…' (64 hex)
 * ```
 */
export function transactionId(tx: Transaction): string {
  return txidFromBytes(dsha256(encodeTransaction(tx, { witness: false })));
}

/** BIP141 wtxid (equals the txid when there are no witnesses). @example `witnessTransactionId(tx)` */
export function witnessTransactionId(tx: Transaction): string {
  return txidFromBytes(dsha256(encodeTransaction(tx)));
}
