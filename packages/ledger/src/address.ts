/**
 * Addresses and WIF: P2PKH / P2SH as Base58Check (version byte ‖ 20-byte hash) for
 * both chains, P2WPKH as BIP173 bech32 witness v0 for BTC, and WIF private keys
 * (version ‖ key ‖ 0x01 for a compressed public key). Decoding checks the network:
 * a testnet address handed to a mainnet wallet is `ledger.address.network`.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { OmtError } from '@omt/core/errors';
import { bech32, createBase58check } from '@scure/base';
import { getNetwork, type Network, type NetworkName } from './network.js';
import { p2pkhScript, p2shScript, p2wpkhScript } from './script.js';

const base58check = /* @__PURE__ */ createBase58check(sha256);

/** RIPEMD-160(SHA-256(data)), Bitcoin's `Hash160`. @example `hash160(compressedPubkey)` */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(sha256(data));
}

/** A decoded address. */
export interface DecodedAddress {
  type: 'p2pkh' | 'p2sh' | 'p2wpkh';
  hash: Uint8Array;
  network: Network;
}

function invalid(why: string): OmtError {
  return new OmtError('ledger.address.invalid', `address: ${why}`);
}

function require20(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== 20) throw invalid(`${what} must be 20 bytes`);
}

/**
 * P2PKH address of a 20-byte pubkey hash.
 * @example
 * ```ts
 * p2pkhAddress(hash160(pk), 'bsv'); // '1…'
 * ```
 */
export function p2pkhAddress(pubkeyHash: Uint8Array, network: NetworkName | Network): string {
  require20(pubkeyHash, 'pubkey hash');
  const n = getNetwork(network);
  const payload = new Uint8Array(21);
  payload[0] = n.pubKeyHash;
  payload.set(pubkeyHash, 1);
  return base58check.encode(payload);
}

/** P2SH address of a 20-byte script hash. @example `p2shAddress(hash160(redeem), 'btc')` */
export function p2shAddress(scriptHash: Uint8Array, network: NetworkName | Network): string {
  require20(scriptHash, 'script hash');
  const n = getNetwork(network);
  const payload = new Uint8Array(21);
  payload[0] = n.scriptHash;
  payload.set(scriptHash, 1);
  return base58check.encode(payload);
}

/**
 * P2WPKH (bech32, witness v0) address; BTC networks only.
 * @example
 * ```ts
 * p2wpkhAddress(hash160(pk), 'btc'); // 'bc1q…'
 * ```
 */
export function p2wpkhAddress(pubkeyHash: Uint8Array, network: NetworkName | Network): string {
  require20(pubkeyHash, 'pubkey hash');
  const n = getNetwork(network);
  if (n.bech32 === undefined)
    throw new OmtError('ledger.address.unsupported', `address: ${n.name} has no segwit addresses`);
  return bech32.encode(n.bech32, [0, ...bech32.toWords(pubkeyHash)]);
}

/**
 * Decodes an address for `network`. Errors: `ledger.address.invalid` (checksum, length,
 * unknown form), `ledger.address.network` (valid, but for another network).
 * @example
 * ```ts
 * decodeAddress('bcrt1q…', 'btc-regtest'); // { type: 'p2wpkh', hash, network }
 * ```
 */
export function decodeAddress(address: string, network: NetworkName | Network): DecodedAddress {
  const n = getNetwork(network);
  if (typeof address !== 'string' || address.length === 0 || address.length > 90)
    throw invalid('not an address string');
  const sep = address.lastIndexOf('1');
  if (n.bech32 !== undefined && sep > 0 && address.slice(0, sep).toLowerCase() === n.bech32) {
    let decoded: { prefix: string; words: number[] };
    try {
      decoded = bech32.decode(address as `${string}1${string}`);
    } catch (e) {
      throw new OmtError('ledger.address.invalid', 'address: bad bech32', { cause: e });
    }
    const [version, ...rest] = decoded.words;
    if (version !== 0)
      throw new OmtError('ledger.address.unsupported', `address: witness version ${version} not supported`);
    let program: Uint8Array;
    try {
      program = bech32.fromWords(rest);
    } catch (e) {
      throw new OmtError('ledger.address.invalid', 'address: bad witness program padding', { cause: e });
    }
    if (program.length !== 20)
      throw new OmtError(
        'ledger.address.unsupported',
        'address: only P2WPKH (20-byte v0 program) is supported',
      );
    return { type: 'p2wpkh', hash: program, network: n };
  }
  let payload: Uint8Array;
  try {
    payload = base58check.decode(address);
  } catch (e) {
    if (sep > 0 && /^(bc|tb|bcrt)$/i.test(address.slice(0, sep)))
      throw new OmtError('ledger.address.network', `address: bech32 address is not for ${n.name}`);
    throw new OmtError('ledger.address.invalid', 'address: bad base58check', { cause: e });
  }
  if (payload.length !== 21) throw invalid('base58check payload must be 21 bytes');
  const version = payload[0] as number;
  const hash = payload.slice(1);
  if (version === n.pubKeyHash) return { type: 'p2pkh', hash, network: n };
  if (version === n.scriptHash) return { type: 'p2sh', hash, network: n };
  throw new OmtError(
    'ledger.address.network',
    `address: version byte 0x${version.toString(16)} is not ${n.name}`,
  );
}

/**
 * The locking script paying an address.
 * @example
 * ```ts
 * addressToScript('1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH', 'bsv'); // P2PKH script
 * ```
 */
export function addressToScript(address: string, network: NetworkName | Network): Uint8Array {
  const d = decodeAddress(address, network);
  if (d.type === 'p2pkh') return p2pkhScript(d.hash);
  if (d.type === 'p2sh') return p2shScript(d.hash);
  return p2wpkhScript(d.hash);
}

/**
 * WIF for a 32-byte secret key (compressed public key form by default).
 * @example
 * ```ts
 * encodeWif(secretKey, 'btc'); // 'K…' or 'L…'
 * ```
 */
export function encodeWif(secretKey: Uint8Array, network: NetworkName | Network, compressed = true): string {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32)
    throw new OmtError('ledger.key.invalid', 'WIF: secret key must be 32 bytes');
  const n = getNetwork(network);
  const payload = new Uint8Array(compressed ? 34 : 33);
  payload[0] = n.wif;
  payload.set(secretKey, 1);
  if (compressed) payload[33] = 1;
  return base58check.encode(payload);
}

/**
 * Decodes WIF. Errors: `ledger.key.invalid` (never echoing the key), `ledger.address.network`.
 * @example
 * ```ts
 * const { secretKey, compressed } = decodeWif(wif, 'btc-regtest');
 * ```
 */
export function decodeWif(
  wif: string,
  network: NetworkName | Network,
): { secretKey: Uint8Array; compressed: boolean } {
  const n = getNetwork(network);
  let payload: Uint8Array;
  try {
    payload = base58check.decode(String(wif));
  } catch {
    throw new OmtError('ledger.key.invalid', 'WIF: bad base58check');
  }
  if (payload.length !== 33 && !(payload.length === 34 && payload[33] === 1))
    throw new OmtError('ledger.key.invalid', 'WIF: bad length');
  if (payload[0] !== n.wif) throw new OmtError('ledger.address.network', `WIF: not a ${n.name} key`);
  return { secretKey: payload.slice(1, 33), compressed: payload.length === 34 };
}
