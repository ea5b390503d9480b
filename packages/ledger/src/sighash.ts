/**
 * Signature hashes.
 *
 * - Legacy (Bitcoin Core `SignatureHash` before segwit, `CTransactionSignatureSerializer`):
 *   OP_CODESEPARATORs are removed from the script code, other inputs' scripts blanked,
 *   NONE/SINGLE zero the other sequences, SINGLE keeps outputs up to the input's index with
 *   the earlier ones nulled (value −1, empty script), ANYONECANPAY keeps only this input.
 *   The SINGLE bug is kept: input index ≥ output count (or ≥ input count) signs the
 *   constant 1 (`0x01 00…00`).
 * - BIP143 (segwit v0): hashPrevouts / hashSequence / hashOutputs, amount in the preimage.
 * - BSV (`SIGHASH_FORKID`, 0x40): the BIP143 digest with the full 32-bit type, unless the
 *   post-Chronicle `SIGHASH_CHRONICLE` bit (0x20) is also set, which selects the original
 *   (legacy) digest again. Without FORKID, legacy.
 *
 * Every function returns the 32-byte digest in hash (wire) order, the order that is signed;
 * test vectors printed with `uint256::GetHex()` are the byte-reverse of it.
 */
import { OmtError } from '@omt/core/errors';
import type { Transaction, TxOutput } from './transaction.js';
import { txidToBytes } from './transaction.js';
import { ByteWriter, dsha256 } from './wire.js';

/** Sighash type bits. */
export const SIGHASH: {
  readonly ALL: 1;
  readonly NONE: 2;
  readonly SINGLE: 3;
  readonly FORKID: 0x40;
  readonly CHRONICLE: 0x20;
  readonly ANYONECANPAY: 0x80;
} = Object.freeze({ ALL: 1, NONE: 2, SINGLE: 3, FORKID: 0x40, CHRONICLE: 0x20, ANYONECANPAY: 0x80 } as const);

const ONE: Uint8Array = /* @__PURE__ */ (() => {
  const b = new Uint8Array(32);
  b[0] = 1;
  return b;
})();
const ZERO32 = /* @__PURE__ */ new Uint8Array(32);

function requireIndex(tx: Transaction, inputIndex: number): void {
  if (!Number.isInteger(inputIndex) || inputIndex < 0 || inputIndex >= tx.inputs.length)
    throw new OmtError('ledger.sighash.input', `sighash: input index ${inputIndex} out of range`);
}

// Core's GetScriptOp: on failure the iterator has moved past the opcode (and any length
// bytes) but not the data; SerializeScriptCode then copies only up to there.
function nextOp(s: Uint8Array, pc: number): { ok: boolean; pc: number; op: number } {
  if (pc >= s.length) return { ok: false, pc, op: 0xff };
  const op = s[pc++] as number;
  if (op <= 0x4e) {
    let n: number;
    if (op < 0x4c) n = op;
    else if (op === 0x4c) {
      if (s.length - pc < 1) return { ok: false, pc, op };
      n = s[pc] as number;
      pc += 1;
    } else if (op === 0x4d) {
      if (s.length - pc < 2) return { ok: false, pc, op };
      n = (s[pc] as number) | ((s[pc + 1] as number) << 8);
      pc += 2;
    } else {
      if (s.length - pc < 4) return { ok: false, pc, op };
      n =
        ((s[pc] as number) |
          ((s[pc + 1] as number) << 8) |
          ((s[pc + 2] as number) << 16) |
          ((s[pc + 3] as number) << 24)) >>>
        0;
      pc += 4;
    }
    if (s.length - pc < n) return { ok: false, pc, op };
    pc += n;
  }
  return { ok: true, pc, op };
}

/** Writes the script code as the legacy serializer does (OP_CODESEPARATORs removed). */
function writeLegacyScriptCode(w: ByteWriter, script: Uint8Array): void {
  let separators = 0;
  let r = nextOp(script, 0);
  while (r.ok) {
    if (r.op === 0xab) separators++;
    r = nextOp(script, r.pc);
  }
  w.compactSize(script.length - separators);
  if (separators === 0 && r.pc === script.length) {
    w.bytes(script);
    return;
  }
  let begin = 0;
  r = nextOp(script, 0);
  let it = 0;
  while (r.ok) {
    it = r.pc;
    if (r.op === 0xab) {
      w.bytes(script.subarray(begin, it - 1));
      begin = it;
    }
    r = nextOp(script, it);
  }
  it = r.pc;
  if (begin !== script.length) w.bytes(script.subarray(begin, it));
}

/**
 * Legacy (pre-segwit, non-FORKID) signature hash.
 * @example
 * ```ts
 * const h = legacySighash(tx, 0, prevScriptPubKey, SIGHASH.ALL);
 * ```
 */
export function legacySighash(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  hashType: number,
): Uint8Array {
  const preimage = legacyPreimage(tx, inputIndex, scriptCode, hashType);
  return preimage === undefined ? ONE.slice() : dsha256(preimage);
}

/**
 * The legacy serialization whose dSHA-256 is {@link legacySighash}; `undefined` where Core signs
 * the constant 1 instead (the SINGLE bug, or an input index past the inputs).
 * @example
 * ```ts
 * const pre = legacyPreimage(tx, 0, prevScriptPubKey, SIGHASH.ALL); // dsha256(pre) = the sighash
 * ```
 */
export function legacyPreimage(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  hashType: number,
): Uint8Array | undefined {
  if (!Number.isInteger(inputIndex) || inputIndex < 0)
    throw new OmtError('ledger.sighash.input', 'sighash: bad input index');
  if (inputIndex >= tx.inputs.length) return undefined;
  const base = hashType & 0x1f;
  const anyoneCanPay = (hashType & 0x80) !== 0;
  if (base === SIGHASH.SINGLE && inputIndex >= tx.outputs.length) return undefined;
  const w = new ByteWriter(256 + scriptCode.length);
  w.i32(tx.version);
  const nIn = anyoneCanPay ? 1 : tx.inputs.length;
  w.compactSize(nIn);
  for (let k = 0; k < nIn; k++) {
    const idx = anyoneCanPay ? inputIndex : k;
    const input = tx.inputs[idx] as Transaction['inputs'][number];
    w.bytes(txidToBytes(input.txid)).u32(input.vout);
    if (idx === inputIndex) writeLegacyScriptCode(w, scriptCode);
    else w.u8(0);
    w.u32(idx !== inputIndex && (base === SIGHASH.NONE || base === SIGHASH.SINGLE) ? 0 : input.sequence);
  }
  const nOut = base === SIGHASH.NONE ? 0 : base === SIGHASH.SINGLE ? inputIndex + 1 : tx.outputs.length;
  w.compactSize(nOut);
  for (let k = 0; k < nOut; k++) {
    if (base === SIGHASH.SINGLE && k !== inputIndex) w.u64(-1n).u8(0);
    else {
      const o = tx.outputs[k] as TxOutput;
      w.u64(o.value).varBytes(o.script);
    }
  }
  w.u32(tx.locktime);
  w.i32(hashType);
  return w.finish();
}

/** The three BIP143 midstate hashes (each already ANYONECANPAY/NONE/SINGLE-adjusted). */
export interface Bip143Hashes {
  hashPrevouts: Uint8Array;
  hashSequence: Uint8Array;
  hashOutputs: Uint8Array;
}

/**
 * Per-transaction cache of the BIP143 "all inputs/outputs" hashes, so signing n inputs
 * costs O(n) rather than O(n²) (the quadratic-hashing fix BIP143 exists for).
 */
export class SighashCache {
  private readonly tx: Transaction;
  private prevouts?: Uint8Array;
  private sequences?: Uint8Array;
  private outputs?: Uint8Array;

  constructor(tx: Transaction) {
    this.tx = tx;
  }

  /** dSHA256 of every outpoint. */
  allPrevouts(): Uint8Array {
    if (this.prevouts === undefined) {
      const w = new ByteWriter(36 * this.tx.inputs.length);
      for (const i of this.tx.inputs) w.bytes(txidToBytes(i.txid)).u32(i.vout);
      this.prevouts = dsha256(w.finish());
    }
    return this.prevouts;
  }

  /** dSHA256 of every nSequence. */
  allSequences(): Uint8Array {
    if (this.sequences === undefined) {
      const w = new ByteWriter(4 * this.tx.inputs.length);
      for (const i of this.tx.inputs) w.u32(i.sequence);
      this.sequences = dsha256(w.finish());
    }
    return this.sequences;
  }

  /** dSHA256 of every output. */
  allOutputs(): Uint8Array {
    if (this.outputs === undefined) {
      const w = new ByteWriter(64 * this.tx.outputs.length);
      for (const o of this.tx.outputs) w.u64(o.value).varBytes(o.script);
      this.outputs = dsha256(w.finish());
    }
    return this.outputs;
  }
}

/**
 * BIP143 hashPrevouts / hashSequence / hashOutputs for one input and hash type.
 * @example
 * ```ts
 * const { hashPrevouts } = bip143Hashes(tx, 1, SIGHASH.ALL);
 * ```
 */
export function bip143Hashes(
  tx: Transaction,
  inputIndex: number,
  hashType: number,
  cache?: SighashCache,
): Bip143Hashes {
  const c = cache ?? new SighashCache(tx);
  const base = hashType & 0x1f;
  const anyoneCanPay = (hashType & 0x80) !== 0;
  const hashPrevouts = anyoneCanPay ? ZERO32 : c.allPrevouts();
  const hashSequence =
    anyoneCanPay || base === SIGHASH.SINGLE || base === SIGHASH.NONE ? ZERO32 : c.allSequences();
  let hashOutputs: Uint8Array;
  if (base !== SIGHASH.SINGLE && base !== SIGHASH.NONE) hashOutputs = c.allOutputs();
  else if (base === SIGHASH.SINGLE && inputIndex < tx.outputs.length) {
    const o = tx.outputs[inputIndex] as TxOutput;
    hashOutputs = dsha256(new ByteWriter(9 + o.script.length + 9).u64(o.value).varBytes(o.script).finish());
  } else hashOutputs = ZERO32;
  return { hashPrevouts, hashSequence, hashOutputs };
}

/**
 * BIP143 preimage: version ‖ hashPrevouts ‖ hashSequence ‖ outpoint ‖ scriptCode (with its
 * CompactSize length) ‖ amount ‖ nSequence ‖ hashOutputs ‖ locktime ‖ hashType.
 * @example
 * ```ts
 * bip143Preimage(tx, 1, p2pkhScript(h), 600_000_000n, SIGHASH.ALL);
 * ```
 */
export function bip143Preimage(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  amount: bigint,
  hashType: number,
  cache?: SighashCache,
): Uint8Array {
  requireIndex(tx, inputIndex);
  const h = bip143Hashes(tx, inputIndex, hashType, cache);
  const input = tx.inputs[inputIndex] as Transaction['inputs'][number];
  const w = new ByteWriter(4 + 32 + 32 + 36 + 9 + scriptCode.length + 8 + 4 + 32 + 4 + 4);
  w.i32(tx.version).bytes(h.hashPrevouts).bytes(h.hashSequence);
  w.bytes(txidToBytes(input.txid)).u32(input.vout);
  w.varBytes(scriptCode).u64(amount).u32(input.sequence);
  w.bytes(h.hashOutputs).u32(tx.locktime).i32(hashType);
  return w.finish();
}

/**
 * BIP143 signature hash (segwit v0; for P2WPKH the script code is the P2PKH script of the key hash).
 * @example
 * ```ts
 * bip143Sighash(tx, 1, p2pkhScript(h), 600_000_000n, SIGHASH.ALL);
 * ```
 */
export function bip143Sighash(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  amount: bigint,
  hashType: number,
  cache?: SighashCache,
): Uint8Array {
  return dsha256(bip143Preimage(tx, inputIndex, scriptCode, amount, hashType, cache));
}

/**
 * BSV signature hash: FORKID without CHRONICLE → the BIP143-style digest (replay
 * protection from the 2017 fork); otherwise the original digest.
 * @example
 * ```ts
 * bsvSighash(tx, 0, prevLockingScript, 1000n, SIGHASH.ALL | SIGHASH.FORKID);
 * ```
 */
export function bsvSighash(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  amount: bigint,
  hashType: number,
  cache?: SighashCache,
): Uint8Array {
  if ((hashType & SIGHASH.FORKID) !== 0 && (hashType & SIGHASH.CHRONICLE) === 0)
    return bip143Sighash(tx, inputIndex, scriptCode, amount, hashType, cache);
  return legacySighash(tx, inputIndex, scriptCode, hashType);
}

/**
 * The serialization whose dSHA-256 is {@link bsvSighash} (`undefined` where that is the constant
 * 1, see {@link legacyPreimage}): sign SHA-256 of it with a signer that hashes once more.
 * @example
 * ```ts
 * const pre = bsvPreimage(tx, 0, prevLockingScript, 1000n, SIGHASH.ALL | SIGHASH.FORKID);
 * ```
 */
export function bsvPreimage(
  tx: Transaction,
  inputIndex: number,
  scriptCode: Uint8Array,
  amount: bigint,
  hashType: number,
  cache?: SighashCache,
): Uint8Array | undefined {
  if ((hashType & SIGHASH.FORKID) !== 0 && (hashType & SIGHASH.CHRONICLE) === 0)
    return bip143Preimage(tx, inputIndex, scriptCode, amount, hashType, cache);
  return legacyPreimage(tx, inputIndex, scriptCode, hashType);
}
