/**
 * HD keys (BIP32 via @scure/bip32) for funding and change, never reused.
 *
 * Paths follow BIP44 (P2PKH: `m/44'/coin'/account'/chain/index`) or BIP84 (P2WPKH on BTC:
 * `m/84'/coin'/account'/chain/index`), coin type per network (SLIP-44: 236 BSV, 0 BTC,
 * 1 testnets). Chain 0 = funding (external, "receive"), chain 1 = change (internal).
 *
 * Never reusing a key is the job of a {@link KeyIndexStore}: `allocate` hands out each
 * (wallet, chain, index) exactly once — atomically, even across processes when backed by
 * SQL — and the wallet derives the key at that index. The store never sees key material,
 * only the wallet id (hash160 of the account public key, hex) and counters.
 */

import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { HDKey } from '@scure/bip32';
import { z } from 'zod';
import { hash160, p2pkhAddress, p2wpkhAddress } from './address.js';
import { getNetwork, type Network, type NetworkName, NetworkNameSchema } from './network.js';
import { p2pkhScript, p2wpkhScript } from './script.js';

/** The two BIP44 chains. */
export type KeyChain = 'funding' | 'change';

/** Largest non-hardened BIP32 index. */
export const MAX_KEY_INDEX: number = 0x7fffffff;

/**
 * Persistent index allocator (a port; L2's SQL store implements it). Contract:
 * `allocate` returns 0, 1, 2, … per (walletId, chain), each at most once, even under
 * concurrent callers; `peek` returns how many have been allocated (the next index).
 */
export interface KeyIndexStore {
  allocate(walletId: string, chain: KeyChain): Promise<number>;
  peek(walletId: string, chain: KeyChain): Promise<number>;
}

/**
 * In-memory {@link KeyIndexStore} (tests, short-lived tools). State can be exported and
 * restored with `toJSON` / the constructor.
 * @example
 * ```ts
 * const store = new MemoryKeyIndexStore();
 * await store.allocate('ab12…', 'funding'); // 0
 * ```
 */
export class MemoryKeyIndexStore implements KeyIndexStore {
  private readonly next = new Map<string, number>();

  constructor(state?: Record<string, number>) {
    if (state !== undefined) for (const [k, v] of Object.entries(state)) this.next.set(k, v);
  }

  async allocate(walletId: string, chain: KeyChain): Promise<number> {
    const key = `${walletId}/${chain}`;
    const n = this.next.get(key) ?? 0;
    if (n > MAX_KEY_INDEX) throw exhausted(chain);
    this.next.set(key, n + 1);
    return n;
  }

  async peek(walletId: string, chain: KeyChain): Promise<number> {
    return this.next.get(`${walletId}/${chain}`) ?? 0;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.next);
  }
}

function exhausted(chain: KeyChain): OmtError {
  return new OmtError(
    'ledger.wallet.exhausted',
    `wallet: the ${chain} chain has no unused non-hardened index left`,
  );
}

/** A derived key with its address and locking script. */
export interface WalletKey {
  chain: KeyChain;
  index: number;
  /** Full derivation path, e.g. `m/44'/236'/0'/1/7`. */
  path: string;
  /** 32-byte secret key (treat as secret). */
  secretKey: Uint8Array;
  /** 33-byte compressed public key. */
  publicKey: Uint8Array;
  pubkeyHash: Uint8Array;
  address: string;
  /** The locking script paying this key. */
  script: Uint8Array;
}

/** The address kinds a wallet can hand out. */
export type WalletAddressType = 'p2pkh' | 'p2wpkh';

/** Options for {@link HdWallet.fromSeed} and {@link HdWallet.fromAccountKey}. */
export interface HdWalletOptions {
  network: NetworkName | Network;
  /** BIP44 account (hardened), default 0. */
  account?: number;
  /** Default: P2WPKH (BIP84) on BTC, P2PKH (BIP44) on BSV. */
  addressType?: WalletAddressType;
  store: KeyIndexStore;
}

const WalletOptionsSchema: z.ZodType<
  Required<Omit<HdWalletOptions, 'addressType'>> & Pick<HdWalletOptions, 'addressType'>,
  HdWalletOptions
> = z.object({
  network: z.union([
    NetworkNameSchema,
    z.custom<Network>((v) => typeof v === 'object' && v !== null && 'chain' in v),
  ]),
  account: z.number().int().min(0).max(MAX_KEY_INDEX).default(0),
  addressType: z.enum(['p2pkh', 'p2wpkh']).optional(),
  store: z.custom<KeyIndexStore>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as KeyIndexStore).allocate === 'function' &&
      typeof (v as KeyIndexStore).peek === 'function',
    'a KeyIndexStore',
  ),
});

const chainNumber = (c: KeyChain): number => (c === 'funding' ? 0 : 1);

/**
 * A BIP32 account that hands out fresh funding and change keys.
 * @example
 * ```ts
 * const wallet = HdWallet.fromSeed(seed, { network: 'bsv', store: new MemoryKeyIndexStore() });
 * const { address } = await wallet.nextFundingKey();   // m/44'/236'/0'/0/0
 * const change = await wallet.nextChangeKey();          // m/44'/236'/0'/1/0
 * ```
 */
export class HdWallet {
  readonly network: Network;
  readonly addressType: WalletAddressType;
  /** `m/purpose'/coin'/account'`. */
  readonly accountPath: string;
  /** Stable id for the index store: hash160 of the account public key, hex. */
  readonly id: string;
  private readonly account: HDKey;
  private readonly store: KeyIndexStore;
  private readonly chains: Map<KeyChain, HDKey> = new Map();

  private constructor(
    account: HDKey,
    accountPath: string,
    network: Network,
    addressType: WalletAddressType,
    store: KeyIndexStore,
  ) {
    this.account = account;
    this.accountPath = accountPath;
    this.network = network;
    this.addressType = addressType;
    this.store = store;
    this.id = Array.from(hash160(account.publicKey as Uint8Array), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join('');
  }

  /**
   * From a BIP32 seed (16–64 bytes; e.g. a BIP39 seed).
   * @example
   * ```ts
   * HdWallet.fromSeed(seed, { network: 'btc-regtest', store });
   * ```
   */
  static fromSeed(seed: Uint8Array, options: HdWalletOptions): HdWallet {
    if (!(seed instanceof Uint8Array) || seed.length < 16 || seed.length > 64)
      throw new OmtError('ledger.wallet.seed', 'wallet: seed must be 16–64 bytes');
    const o = parseInput(WalletOptionsSchema, options, 'core.input.invalid', 'wallet options');
    const network = getNetwork(o.network);
    const addressType = o.addressType ?? (network.chain === 'btc' ? 'p2wpkh' : 'p2pkh');
    if (addressType === 'p2wpkh' && network.chain !== 'btc')
      throw new OmtError('ledger.address.unsupported', `wallet: ${network.name} has no segwit addresses`);
    const purpose = addressType === 'p2wpkh' ? 84 : 44;
    const path = `m/${purpose}'/${network.coinType}'/${o.account}'`;
    const root = HDKey.fromMasterSeed(seed, network.bip32);
    const account = root.derive(path);
    root.wipePrivateData();
    return new HdWallet(account, path, network, addressType, o.store);
  }

  /**
   * From an account-level extended private key (as exported by {@link accountExtendedPrivateKey}).
   * @example
   * ```ts
   * HdWallet.fromAccountKey(xprv, "m/44'/236'/0'", { network: 'bsv', store });
   * ```
   */
  static fromAccountKey(extendedPrivateKey: string, accountPath: string, options: HdWalletOptions): HdWallet {
    const o = parseInput(WalletOptionsSchema, options, 'core.input.invalid', 'wallet options');
    const network = getNetwork(o.network);
    if (typeof accountPath !== 'string' || !/^m\/(44|84)'\/\d+'\/\d+'$/.test(accountPath))
      throw new OmtError('core.input.invalid', "wallet: account path must look like m/44'/coin'/account'");
    let account: HDKey;
    try {
      account = HDKey.fromExtendedKey(extendedPrivateKey, network.bip32);
    } catch (e) {
      throw new OmtError('ledger.key.invalid', 'wallet: not an extended private key for this network', {
        cause: e,
      });
    }
    if (account.privateKey === null || account.depth !== 3)
      throw new OmtError(
        'ledger.key.invalid',
        'wallet: an account-level (depth 3) extended private key is required',
      );
    const addressType: WalletAddressType = accountPath.startsWith("m/84'") ? 'p2wpkh' : 'p2pkh';
    if (addressType === 'p2wpkh' && network.chain !== 'btc')
      throw new OmtError('ledger.address.unsupported', `wallet: ${network.name} has no segwit addresses`);
    return new HdWallet(account, accountPath, network, addressType, o.store);
  }

  /** Account xpub (watch-only export). */
  get accountExtendedPublicKey(): string {
    return this.account.publicExtendedKey;
  }

  /** Account xprv (secret; for backup). */
  accountExtendedPrivateKey(): string {
    return this.account.privateExtendedKey;
  }

  private chainKey(chain: KeyChain): HDKey {
    let k = this.chains.get(chain);
    if (k === undefined) {
      k = this.account.deriveChild(chainNumber(chain));
      this.chains.set(chain, k);
    }
    return k;
  }

  /**
   * Re-derives the key at a known (chain, index) — to sign for a UTXO the wallet handed out.
   * @example
   * ```ts
   * wallet.deriveKey('change', 3).secretKey;
   * ```
   */
  deriveKey(chain: KeyChain, index: number): WalletKey {
    if (chain !== 'funding' && chain !== 'change')
      throw new OmtError('core.input.invalid', "wallet: chain must be 'funding' or 'change'");
    if (!Number.isInteger(index) || index < 0 || index > MAX_KEY_INDEX)
      throw new OmtError('core.input.invalid', 'wallet: index out of range');
    const k = this.chainKey(chain).deriveChild(index);
    const publicKey = k.publicKey as Uint8Array;
    const secretKey = k.privateKey as Uint8Array;
    const pubkeyHash = hash160(publicKey);
    const segwit = this.addressType === 'p2wpkh';
    return {
      chain,
      index,
      path: `${this.accountPath}/${chainNumber(chain)}/${index}`,
      secretKey,
      publicKey,
      pubkeyHash,
      address: segwit ? p2wpkhAddress(pubkeyHash, this.network) : p2pkhAddress(pubkeyHash, this.network),
      script: segwit ? p2wpkhScript(pubkeyHash) : p2pkhScript(pubkeyHash),
    };
  }

  /**
   * Re-derives the key at a full path this wallet handed out (`WalletKey.path`, as stored
   * beside a UTXO). Paths outside this account or chain 0/1 → `ledger.wallet.path`.
   * @example
   * ```ts
   * wallet.keyForPath("m/44'/236'/0'/1/7").chain; // 'change'
   * ```
   */
  keyForPath(path: string): WalletKey {
    const prefix = `${this.accountPath}/`;
    const rest = typeof path === 'string' && path.startsWith(prefix) ? path.slice(prefix.length) : '';
    const m = /^([01])\/(0|[1-9]\d{0,9})$/.exec(rest);
    const index = m === null ? Number.NaN : Number(m[2]);
    if (m === null || index > MAX_KEY_INDEX)
      throw new OmtError(
        'ledger.wallet.path',
        `wallet: '${String(path).slice(0, 64)}' is not a key path of account ${this.accountPath}`,
      );
    return this.deriveKey(m[1] === '0' ? 'funding' : 'change', index);
  }

  /** A never-before-issued funding (receive) key. @example `await wallet.nextFundingKey()` */
  async nextFundingKey(): Promise<WalletKey> {
    return this.deriveKey('funding', await this.allocate('funding'));
  }

  /** A never-before-issued change key. @example `await wallet.nextChangeKey()` */
  async nextChangeKey(): Promise<WalletKey> {
    return this.deriveKey('change', await this.allocate('change'));
  }

  private async allocate(chain: KeyChain): Promise<number> {
    const i = await this.store.allocate(this.id, chain);
    if (!Number.isInteger(i) || i < 0)
      throw new OmtError('ledger.wallet.store', 'wallet: index store returned an invalid index');
    if (i > MAX_KEY_INDEX) throw exhausted(chain);
    return i;
  }
}
