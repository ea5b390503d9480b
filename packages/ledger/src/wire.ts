/**
 * Bitcoin wire primitives shared by the transaction and script codecs: CompactSize
 * ("varint") integers, little-endian fixed-width integers, double SHA-256, and a
 * bounded reader whose every over-read is `ledger.tx.malformed` (never a RangeError).
 *
 * CompactSize (Bitcoin Core `serialize.h` WriteCompactSize/ReadCompactSize): < 0xfd one
 * byte; 0xfd + u16; 0xfe + u32; 0xff + u64. Decoding is canonical: a value that fits a
 * shorter form is rejected ("non-canonical ReadCompactSize()").
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { OmtError } from '@omt/core/errors';

/** Double SHA-256 (Bitcoin's `Hash256`) of `data`. @example `dsha256(txBytes)` */
export function dsha256(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** Malformed wire data: the one error code of the decoders. */
export function malformed(why: string, offset?: number): OmtError {
  return new OmtError('ledger.tx.malformed', `transaction: ${why}`, {
    details: offset === undefined ? undefined : { offset },
  });
}

/** Bytes a CompactSize of `n` occupies. @example `compactSizeLength(300) // 3` */
export function compactSizeLength(n: number): number {
  if (n < 0xfd) return 1;
  if (n <= 0xffff) return 3;
  if (n <= 0xffffffff) return 5;
  return 9;
}

/** A growable little-endian byte writer. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  /** Bytes written so far. */
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.length++] = v;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
    return this;
  }

  i32(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, v | 0, true);
    this.length += 4;
    return this;
  }

  /** 64-bit little-endian; takes the low 64 bits of `v` (so int64 values round-trip). */
  u64(v: bigint): this {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, v), true);
    this.length += 8;
    return this;
  }

  compactSize(n: number): this {
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) {
      this.reserve(3);
      this.buf[this.length] = 0xfd;
      this.view.setUint16(this.length + 1, n, true);
      this.length += 3;
      return this;
    }
    if (n <= 0xffffffff) {
      this.u8(0xfe);
      return this.u32(n);
    }
    this.u8(0xff);
    return this.u64(BigInt(n));
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** CompactSize length prefix followed by the bytes (Bitcoin's `VarBytes`). */
  varBytes(b: Uint8Array): this {
    return this.compactSize(b.length).bytes(b);
  }

  /** The bytes written (a copy-free view when the buffer is exactly full). */
  finish(): Uint8Array {
    return this.length === this.buf.length ? this.buf : this.buf.slice(0, this.length);
  }
}

/** A bounded little-endian reader; every over-read throws `ledger.tx.malformed`. */
export class ByteReader {
  readonly data: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(data: Uint8Array) {
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get remaining(): number {
    return this.data.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.data.length) throw malformed(`truncated ${what}`, this.pos);
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.data[this.pos++] as number;
  }

  u32(what = 'uint32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(what = 'int32'): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(what = 'uint64'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Canonical CompactSize, limited to Number.MAX_SAFE_INTEGER. */
  compactSize(what = 'compact size'): number {
    const first = this.u8(what);
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.need(2, what);
      const v = this.view.getUint16(this.pos, true);
      this.pos += 2;
      if (v < 0xfd) throw malformed(`non-canonical ${what}`, this.pos - 3);
      return v;
    }
    if (first === 0xfe) {
      const v = this.u32(what);
      if (v <= 0xffff) throw malformed(`non-canonical ${what}`, this.pos - 5);
      return v;
    }
    const v = this.u64(what);
    if (v <= 0xffffffffn) throw malformed(`non-canonical ${what}`, this.pos - 9);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`absurd ${what}`, this.pos - 9);
    return Number(v);
  }

  /** `n` bytes as a view into the input (no copy). */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** CompactSize length, then that many bytes (length checked against what is left first). */
  varBytes(what = 'bytes'): Uint8Array {
    const n = this.compactSize(`${what} length`);
    if (n > this.remaining)
      throw malformed(`${what} length ${n} exceeds the ${this.remaining} bytes left`, this.pos);
    return this.bytes(n, what);
  }
}
