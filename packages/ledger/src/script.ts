/**
 * Bitcoin script: opcodes, minimal push encoding, parsing into chunks, ASM, and the
 * standard templates this package builds and spends — P2PKH, P2WPKH (BTC), and the
 * OP_RETURN data carrier (`OP_FALSE OP_RETURN <data…>` on BSV since Genesis, bare
 * `OP_RETURN <data…>` on BTC, whose standardness rules only know that form).
 *
 * Push encoding follows BIP62 rule 3 / `CheckMinimalPush`: empty → OP_0, one byte 1..16 →
 * OP_1..OP_16, 0x81 → OP_1NEGATE, ≤ 75 bytes → direct push, then PUSHDATA1/2/4.
 */
import { equalBytes, fromHex, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { ByteWriter } from './wire.js';

/** Opcode values (the subset with names this package prints; others print as OP_UNKNOWN<n>). */
export const OP: Readonly<Record<string, number>> = /* @__PURE__ */ Object.freeze({
  OP_0: 0x00,
  OP_FALSE: 0x00,
  OP_PUSHDATA1: 0x4c,
  OP_PUSHDATA2: 0x4d,
  OP_PUSHDATA4: 0x4e,
  OP_1NEGATE: 0x4f,
  OP_RESERVED: 0x50,
  OP_1: 0x51,
  OP_TRUE: 0x51,
  OP_2: 0x52,
  OP_3: 0x53,
  OP_4: 0x54,
  OP_5: 0x55,
  OP_6: 0x56,
  OP_7: 0x57,
  OP_8: 0x58,
  OP_9: 0x59,
  OP_10: 0x5a,
  OP_11: 0x5b,
  OP_12: 0x5c,
  OP_13: 0x5d,
  OP_14: 0x5e,
  OP_15: 0x5f,
  OP_16: 0x60,
  OP_NOP: 0x61,
  OP_VER: 0x62,
  OP_IF: 0x63,
  OP_NOTIF: 0x64,
  OP_VERIF: 0x65,
  OP_VERNOTIF: 0x66,
  OP_ELSE: 0x67,
  OP_ENDIF: 0x68,
  OP_VERIFY: 0x69,
  OP_RETURN: 0x6a,
  OP_TOALTSTACK: 0x6b,
  OP_FROMALTSTACK: 0x6c,
  OP_2DROP: 0x6d,
  OP_2DUP: 0x6e,
  OP_3DUP: 0x6f,
  OP_2OVER: 0x70,
  OP_2ROT: 0x71,
  OP_2SWAP: 0x72,
  OP_IFDUP: 0x73,
  OP_DEPTH: 0x74,
  OP_DROP: 0x75,
  OP_DUP: 0x76,
  OP_NIP: 0x77,
  OP_OVER: 0x78,
  OP_PICK: 0x79,
  OP_ROLL: 0x7a,
  OP_ROT: 0x7b,
  OP_SWAP: 0x7c,
  OP_TUCK: 0x7d,
  OP_CAT: 0x7e,
  OP_SUBSTR: 0x7f,
  OP_SPLIT: 0x7f,
  OP_LEFT: 0x80,
  OP_NUM2BIN: 0x80,
  OP_RIGHT: 0x81,
  OP_BIN2NUM: 0x81,
  OP_SIZE: 0x82,
  OP_INVERT: 0x83,
  OP_AND: 0x84,
  OP_OR: 0x85,
  OP_XOR: 0x86,
  OP_EQUAL: 0x87,
  OP_EQUALVERIFY: 0x88,
  OP_RESERVED1: 0x89,
  OP_RESERVED2: 0x8a,
  OP_1ADD: 0x8b,
  OP_1SUB: 0x8c,
  OP_2MUL: 0x8d,
  OP_2DIV: 0x8e,
  OP_NEGATE: 0x8f,
  OP_ABS: 0x90,
  OP_NOT: 0x91,
  OP_0NOTEQUAL: 0x92,
  OP_ADD: 0x93,
  OP_SUB: 0x94,
  OP_MUL: 0x95,
  OP_DIV: 0x96,
  OP_MOD: 0x97,
  OP_LSHIFT: 0x98,
  OP_RSHIFT: 0x99,
  OP_BOOLAND: 0x9a,
  OP_BOOLOR: 0x9b,
  OP_NUMEQUAL: 0x9c,
  OP_NUMEQUALVERIFY: 0x9d,
  OP_NUMNOTEQUAL: 0x9e,
  OP_LESSTHAN: 0x9f,
  OP_GREATERTHAN: 0xa0,
  OP_LESSTHANOREQUAL: 0xa1,
  OP_GREATERTHANOREQUAL: 0xa2,
  OP_MIN: 0xa3,
  OP_MAX: 0xa4,
  OP_WITHIN: 0xa5,
  OP_RIPEMD160: 0xa6,
  OP_SHA1: 0xa7,
  OP_SHA256: 0xa8,
  OP_HASH160: 0xa9,
  OP_HASH256: 0xaa,
  OP_CODESEPARATOR: 0xab,
  OP_CHECKSIG: 0xac,
  OP_CHECKSIGVERIFY: 0xad,
  OP_CHECKMULTISIG: 0xae,
  OP_CHECKMULTISIGVERIFY: 0xaf,
  OP_NOP1: 0xb0,
  OP_CHECKLOCKTIMEVERIFY: 0xb1,
  OP_CHECKSEQUENCEVERIFY: 0xb2,
  OP_NOP4: 0xb3,
  OP_NOP5: 0xb4,
  OP_NOP6: 0xb5,
  OP_NOP7: 0xb6,
  OP_NOP8: 0xb7,
  OP_NOP9: 0xb8,
  OP_NOP10: 0xb9,
  OP_CHECKSIGADD: 0xba,
  OP_INVALIDOPCODE: 0xff,
});

// One canonical name per value (the first listed wins, so 0x00 prints OP_0).
const OP_NAMES: ReadonlyMap<number, string> = /* @__PURE__ */ (() => {
  const m = new Map<number, string>();
  for (const [name, v] of Object.entries(OP)) if (!m.has(v)) m.set(v, name);
  return m;
})();

/** One parsed script element: an opcode, with its data when it is a push. */
export interface ScriptChunk {
  readonly op: number;
  readonly data?: Uint8Array;
}

function scriptMalformed(why: string, offset: number): OmtError {
  return new OmtError('ledger.script.malformed', `script: ${why}`, { details: { offset } });
}

/**
 * Minimal push of `data` (BIP62 rule 3) as raw script bytes.
 * @example
 * ```ts
 * encodePush(new Uint8Array(20)); // 0x14 ‖ 20 bytes
 * ```
 */
export function encodePush(data: Uint8Array): Uint8Array {
  const w = new ByteWriter(data.length + 5);
  writePush(w, data);
  return w.finish();
}

/** Appends the minimal push of `data` to a writer. */
export function writePush(w: ByteWriter, data: Uint8Array): void {
  const n = data.length;
  if (n === 0) {
    w.u8(OP.OP_0 as number);
    return;
  }
  if (n === 1) {
    const b = data[0] as number;
    if (b >= 1 && b <= 16) {
      w.u8(0x50 + b);
      return;
    }
    if (b === 0x81) {
      w.u8(OP.OP_1NEGATE as number);
      return;
    }
  }
  if (n <= 75) w.u8(n);
  else if (n <= 0xff) w.u8(0x4c).u8(n);
  else if (n <= 0xffff)
    w.u8(0x4d)
      .u8(n & 0xff)
      .u8(n >>> 8);
  else w.u8(0x4e).u32(n);
  w.bytes(data);
}

/** Bytes the minimal push of `n` data bytes occupies (not counting OP_1..OP_16 shortcuts). */
export function pushLength(n: number): number {
  if (n <= 75) return 1 + n;
  if (n <= 0xff) return 2 + n;
  if (n <= 0xffff) return 3 + n;
  return 5 + n;
}

/**
 * Serializes chunks. A chunk with `data` is pushed minimally unless its `op` is an
 * explicit push opcode (1..78), which is then kept as given (so parse→compile round-trips).
 * @example
 * ```ts
 * compileScript([{ op: OP.OP_DUP }, { op: OP.OP_HASH160 }, { op: 20, data: h }]);
 * ```
 */
export function compileScript(chunks: readonly ScriptChunk[]): Uint8Array {
  const w = new ByteWriter(64);
  for (const c of chunks) {
    if (c.data === undefined) {
      w.u8(c.op);
      continue;
    }
    const n = c.data.length;
    if (c.op >= 0 && c.op <= 75 && c.op === n) w.u8(n);
    else if (c.op === 0x4c && n <= 0xff) w.u8(0x4c).u8(n);
    else if (c.op === 0x4d && n <= 0xffff)
      w.u8(0x4d)
        .u8(n & 0xff)
        .u8(n >>> 8);
    else if (c.op === 0x4e) w.u8(0x4e).u32(n);
    else {
      writePush(w, c.data);
      continue;
    }
    w.bytes(c.data);
  }
  return w.finish();
}

/**
 * Parses script bytes into chunks. Throws `ledger.script.malformed` on a push that runs
 * past the end. (An opcode that is merely unknown is fine: scripts are data until run.)
 * @example
 * ```ts
 * decodeScript(p2pkhScript(h)).map((c) => c.op); // [0x76, 0xa9, 20, 0x88, 0xac]
 * ```
 */
export function decodeScript(script: Uint8Array): ScriptChunk[] {
  const out: ScriptChunk[] = [];
  let i = 0;
  while (i < script.length) {
    const op = script[i++] as number;
    if (op === 0) {
      out.push({ op, data: script.subarray(i, i) }); // OP_0 pushes the empty array
      continue;
    }
    if (op > 0x4e) {
      out.push({ op });
      continue;
    }
    let n: number;
    if (op <= 75) n = op;
    else if (op === 0x4c) {
      if (i + 1 > script.length) throw scriptMalformed('truncated PUSHDATA1 length', i);
      n = script[i] as number;
      i += 1;
    } else if (op === 0x4d) {
      if (i + 2 > script.length) throw scriptMalformed('truncated PUSHDATA2 length', i);
      n = (script[i] as number) | ((script[i + 1] as number) << 8);
      i += 2;
    } else {
      if (i + 4 > script.length) throw scriptMalformed('truncated PUSHDATA4 length', i);
      n =
        ((script[i] as number) |
          ((script[i + 1] as number) << 8) |
          ((script[i + 2] as number) << 16) |
          ((script[i + 3] as number) << 24)) >>>
        0;
      i += 4;
    }
    if (i + n > script.length) throw scriptMalformed(`push of ${n} bytes runs past the end`, i);
    out.push({ op, data: script.subarray(i, i + n) });
    i += n;
  }
  return out;
}

/**
 * Bitcoin Core–style ASM: push data as hex, opcodes by name.
 * @example
 * ```ts
 * scriptToAsm(p2pkhScript(h)); // 'OP_DUP OP_HASH160 <hex> OP_EQUALVERIFY OP_CHECKSIG'
 * ```
 */
export function scriptToAsm(script: Uint8Array): string {
  return decodeScript(script)
    .map((c) => {
      if (c.data !== undefined) return c.data.length === 0 ? 'OP_0' : toHex(c.data);
      return OP_NAMES.get(c.op) ?? `OP_UNKNOWN${c.op}`;
    })
    .join(' ');
}

/**
 * Parses ASM as printed by {@link scriptToAsm} (hex tokens are minimal pushes; opcode
 * names with or without the `OP_` prefix; odd-length decimals −1..9 as small-integer opcodes —
 * even-length digit strings such as `10` are hex data, so write `OP_10` for the opcode).
 * @example
 * ```ts
 * scriptFromAsm('OP_DUP OP_HASH160 89ab… OP_EQUALVERIFY OP_CHECKSIG');
 * ```
 */
export function scriptFromAsm(asm: string): Uint8Array {
  const chunks: ScriptChunk[] = [];
  for (const tok of asm.trim().split(/\s+/)) {
    if (tok === '') continue;
    const name = tok.startsWith('OP_') ? tok : `OP_${tok}`;
    const op = OP[name];
    if (op !== undefined) {
      chunks.push({ op });
      continue;
    }
    // Even-length hex is data (what scriptToAsm prints); odd-length decimals are small integers.
    if (/^([0-9a-fA-F]{2})+$/.test(tok)) {
      const data = fromHex(tok.toLowerCase());
      chunks.push({ op: data.length <= 75 ? data.length : data.length <= 0xff ? 0x4c : 0x4d, data });
      continue;
    }
    if (/^-?\d+$/.test(tok)) {
      const n = Number(tok);
      if (n === -1) chunks.push({ op: 0x4f });
      else if (n === 0) chunks.push({ op: 0 });
      else if (n >= 1 && n <= 16) chunks.push({ op: 0x50 + n });
      else
        throw new OmtError('ledger.script.malformed', `script: number ${tok} out of the small-integer range`);
      continue;
    }
    throw new OmtError('ledger.script.malformed', `script: unknown token '${tok.slice(0, 32)}'`);
  }
  return compileScript(chunks);
}

/** `OP_DUP OP_HASH160 <20-byte pubkey hash> OP_EQUALVERIFY OP_CHECKSIG`. @example `p2pkhScript(hash160(pk))` */
export function p2pkhScript(pubkeyHash: Uint8Array): Uint8Array {
  requireLength(pubkeyHash, 20, 'P2PKH pubkey hash');
  const s = new Uint8Array(25);
  s.set([0x76, 0xa9, 0x14]);
  s.set(pubkeyHash, 3);
  s[23] = 0x88;
  s[24] = 0xac;
  return s;
}

/** `OP_0 <20-byte pubkey hash>` (BIP141 v0 witness program). @example `p2wpkhScript(hash160(pk))` */
export function p2wpkhScript(pubkeyHash: Uint8Array): Uint8Array {
  requireLength(pubkeyHash, 20, 'P2WPKH pubkey hash');
  const s = new Uint8Array(22);
  s[0] = 0x00;
  s[1] = 0x14;
  s.set(pubkeyHash, 2);
  return s;
}

/** `OP_HASH160 <20-byte script hash> OP_EQUAL` (BIP16). @example `p2shScript(hash160(redeem))` */
export function p2shScript(scriptHash: Uint8Array): Uint8Array {
  requireLength(scriptHash, 20, 'P2SH script hash');
  const s = new Uint8Array(23);
  s[0] = 0xa9;
  s[1] = 0x14;
  s.set(scriptHash, 2);
  s[22] = 0x87;
  return s;
}

/** Which OP_RETURN form: BSV's `OP_FALSE OP_RETURN` (provably unspendable after Genesis) or BTC's bare `OP_RETURN`. */
export type OpReturnStyle = 'bsv' | 'btc';

/**
 * An OP_RETURN data-carrier script with one minimal push per element of `data`.
 * @example
 * ```ts
 * opReturnScript('bsv', [utf8('omt'), payload]); // OP_FALSE OP_RETURN <…> <…>
 * ```
 */
export function opReturnScript(style: OpReturnStyle, data: readonly Uint8Array[]): Uint8Array {
  let size = style === 'bsv' ? 2 : 1;
  for (const d of data) size += pushLength(d.length);
  const w = new ByteWriter(size);
  if (style === 'bsv') w.u8(0x00);
  w.u8(0x6a);
  // Data pushes use the plain length forms (never OP_1..OP_16): readers take pushes as bytes.
  for (const d of data) {
    const n = d.length;
    if (n <= 75) w.u8(n);
    else if (n <= 0xff) w.u8(0x4c).u8(n);
    else if (n <= 0xffff)
      w.u8(0x4d)
        .u8(n & 0xff)
        .u8(n >>> 8);
    else w.u8(0x4e).u32(n);
    w.bytes(d);
  }
  return w.finish();
}

/** What a locking script is, for the templates this package knows. */
export type ScriptType =
  | { type: 'p2pkh'; hash: Uint8Array }
  | { type: 'p2wpkh'; hash: Uint8Array }
  | { type: 'p2sh'; hash: Uint8Array }
  | { type: 'op-return'; style: OpReturnStyle; data: Uint8Array[] }
  | { type: 'unknown' };

/**
 * Classifies a locking script.
 * @example
 * ```ts
 * classifyScript(p2pkhScript(h)); // { type: 'p2pkh', hash: h }
 * ```
 */
export function classifyScript(script: Uint8Array): ScriptType {
  const n = script.length;
  if (
    n === 25 &&
    script[0] === 0x76 &&
    script[1] === 0xa9 &&
    script[2] === 0x14 &&
    script[23] === 0x88 &&
    script[24] === 0xac
  )
    return { type: 'p2pkh', hash: script.slice(3, 23) };
  if (n === 22 && script[0] === 0x00 && script[1] === 0x14) return { type: 'p2wpkh', hash: script.slice(2) };
  if (n === 23 && script[0] === 0xa9 && script[1] === 0x14 && script[22] === 0x87)
    return { type: 'p2sh', hash: script.slice(2, 22) };
  const bsv = n >= 2 && script[0] === 0x00 && script[1] === 0x6a;
  const btc = n >= 1 && script[0] === 0x6a;
  if (bsv || btc) {
    try {
      const chunks = decodeScript(script.subarray(bsv ? 2 : 1));
      if (chunks.every((c) => c.data !== undefined))
        return {
          type: 'op-return',
          style: bsv ? 'bsv' : 'btc',
          data: chunks.map((c) => c.data as Uint8Array),
        };
    } catch {
      // a truncated push after OP_RETURN is still unspendable, just not a data carrier we read
    }
  }
  return { type: 'unknown' };
}

/** True when two scripts are byte-identical. @example `scriptsEqual(a, b)` */
export function scriptsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}

function requireLength(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n)
    throw new OmtError('ledger.script.invalid', `script: ${what} must be ${n} bytes`);
}
