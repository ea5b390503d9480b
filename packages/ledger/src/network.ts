/**
 * Chain parameters: address and WIF version bytes (Bitcoin Core `chainparams.cpp`
 * base58Prefixes; bitcoin-sv keeps the same values), the BIP173 bech32 HRP for BTC, the
 * BIP32 extended-key versions, and the SLIP-44 coin type used in BIP44 paths
 * (0 Bitcoin, 236 Bitcoin SV, 1 every testnet).
 */
import { OmtError } from '@omt/core/errors';
import { z } from 'zod';

/** The networks this package builds for. */
export type NetworkName =
  | 'bsv'
  | 'bsv-testnet'
  | 'bsv-regtest'
  | 'btc'
  | 'btc-testnet'
  | 'btc-signet'
  | 'btc-regtest';

/** Which chain family: decides OP_RETURN form, sighash algorithm, segwit availability. */
export type Chain = 'bsv' | 'btc';

/** Parameters of one network. */
export interface Network {
  readonly name: NetworkName;
  readonly chain: Chain;
  /** Base58Check version byte of P2PKH addresses. */
  readonly pubKeyHash: number;
  /** Base58Check version byte of P2SH addresses. */
  readonly scriptHash: number;
  /** WIF version byte. */
  readonly wif: number;
  /** BIP173 human-readable part (BTC only). */
  readonly bech32?: string;
  /** BIP32 extended key version bytes. */
  readonly bip32: { readonly public: number; readonly private: number };
  /** SLIP-44 coin type for BIP44 paths. */
  readonly coinType: number;
}

const MAIN_BIP32 = { public: 0x0488b21e, private: 0x0488ade4 } as const;
const TEST_BIP32 = { public: 0x043587cf, private: 0x04358394 } as const;

/** Every supported network, by name. */
export const NETWORKS: Readonly<Record<NetworkName, Network>> = Object.freeze({
  bsv: {
    name: 'bsv',
    chain: 'bsv',
    pubKeyHash: 0x00,
    scriptHash: 0x05,
    wif: 0x80,
    bip32: MAIN_BIP32,
    coinType: 236,
  },
  'bsv-testnet': {
    name: 'bsv-testnet',
    chain: 'bsv',
    pubKeyHash: 0x6f,
    scriptHash: 0xc4,
    wif: 0xef,
    bip32: TEST_BIP32,
    coinType: 1,
  },
  'bsv-regtest': {
    name: 'bsv-regtest',
    chain: 'bsv',
    pubKeyHash: 0x6f,
    scriptHash: 0xc4,
    wif: 0xef,
    bip32: TEST_BIP32,
    coinType: 1,
  },
  btc: {
    name: 'btc',
    chain: 'btc',
    pubKeyHash: 0x00,
    scriptHash: 0x05,
    wif: 0x80,
    bech32: 'bc',
    bip32: MAIN_BIP32,
    coinType: 0,
  },
  'btc-testnet': {
    name: 'btc-testnet',
    chain: 'btc',
    pubKeyHash: 0x6f,
    scriptHash: 0xc4,
    wif: 0xef,
    bech32: 'tb',
    bip32: TEST_BIP32,
    coinType: 1,
  },
  'btc-signet': {
    name: 'btc-signet',
    chain: 'btc',
    pubKeyHash: 0x6f,
    scriptHash: 0xc4,
    wif: 0xef,
    bech32: 'tb',
    bip32: TEST_BIP32,
    coinType: 1,
  },
  'btc-regtest': {
    name: 'btc-regtest',
    chain: 'btc',
    pubKeyHash: 0x6f,
    scriptHash: 0xc4,
    wif: 0xef,
    bech32: 'bcrt',
    bip32: TEST_BIP32,
    coinType: 1,
  },
} satisfies Record<NetworkName, Network>);

/** zod schema of a network name. */
export const NetworkNameSchema: z.ZodType<NetworkName, NetworkName> = z.enum([
  'bsv',
  'bsv-testnet',
  'bsv-regtest',
  'btc',
  'btc-testnet',
  'btc-signet',
  'btc-regtest',
]);

/**
 * Looks a network up by name (or passes a Network through). Unknown → `ledger.network.unknown`.
 * @example
 * ```ts
 * getNetwork('btc-regtest').bech32; // 'bcrt'
 * ```
 */
export function getNetwork(network: NetworkName | Network): Network {
  if (typeof network === 'object' && network !== null && typeof network.name === 'string') {
    const known = NETWORKS[network.name as NetworkName];
    if (known !== undefined) return network;
  }
  if (typeof network === 'string') {
    const n = NETWORKS[network as NetworkName];
    if (n !== undefined && Object.hasOwn(NETWORKS, network)) return n;
  }
  throw new OmtError(
    'ledger.network.unknown',
    `unknown network: ${String(typeof network === 'object' ? network?.name : network).slice(0, 40)}`,
  );
}
