/**
 * 80-byte Bitcoin block headers (BTC and BSV alike): version ‖ prev block hash ‖ Merkle root ‖
 * time ‖ bits ‖ nonce, all little-endian; the block hash is dSHA256(header), shown reversed.
 * Proof of work: the hash, read as a little-endian 256-bit number, must not exceed the target
 * encoded compactly in `bits` (Bitcoin Core `arith_uint256::SetCompact`, `CheckProofOfWork`).
 */
import { fromHex, isBytes, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { dsha256 } from './wire.js';

/** A parsed header. Hashes in wire byte order; `hash` (block hash) in display hex. */
export interface BlockHeader {
  readonly version: number;
  readonly prevBlock: Uint8Array;
  readonly merkleRoot: Uint8Array;
  readonly time: number;
  readonly bits: number;
  readonly nonce: number;
  readonly hash: string;
}

/**
 * Parses an 80-byte header (bytes or hex); anything else is `ledger.anchor.header-malformed`.
 * @example
 * ```ts
 * parseBlockHeader(headerHex).merkleRoot;
 * ```
 */
export function parseBlockHeader(raw: Uint8Array | string): BlockHeader {
  let bytes: Uint8Array;
  if (typeof raw === 'string') {
    if (!/^[0-9a-fA-F]{160}$/.test(raw))
      throw new OmtError('ledger.anchor.header-malformed', 'header: 160 hex digits expected');
    bytes = fromHex(raw.toLowerCase());
  } else if (isBytes(raw) && raw.length === 80) bytes = raw;
  else throw new OmtError('ledger.anchor.header-malformed', 'header: 80 bytes expected');
  const view = new DataView(bytes.buffer, bytes.byteOffset, 80);
  return {
    version: view.getInt32(0, true),
    prevBlock: bytes.slice(4, 36),
    merkleRoot: bytes.slice(36, 68),
    time: view.getUint32(68, true),
    bits: view.getUint32(72, true),
    nonce: view.getUint32(76, true),
    hash: toHex(dsha256(bytes).reverse()),
  };
}

/**
 * The target `bits` encodes, or undefined for a negative, zero or overflowing encoding.
 * @example
 * ```ts
 * targetFromBits(0x1d00ffff); // 0xffff × 2^208
 * ```
 */
export function targetFromBits(bits: number): bigint | undefined {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if ((bits & 0x00800000) !== 0 && mantissa !== 0) return undefined; // negative
  const target =
    exponent <= 3
      ? BigInt(mantissa >>> (8 * (3 - exponent)))
      : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (target === 0n || target >= 1n << 256n) return undefined;
  return target;
}

/**
 * True when the header's hash meets the target in its own `bits`. (Whether `bits` is the right
 * difficulty for its height is the header chain's business, not this check's.)
 * @example
 * ```ts
 * meetsProofOfWork(parseBlockHeader(hex)); // true for any real mainnet header
 * ```
 */
export function meetsProofOfWork(header: BlockHeader): boolean {
  const target = targetFromBits(header.bits);
  if (target === undefined) return false;
  return BigInt(`0x${header.hash}`) <= target;
}
