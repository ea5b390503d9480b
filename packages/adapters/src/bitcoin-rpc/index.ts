/**
 * `@omt/adapters/bitcoin-rpc`: Bitcoin Core (and Bitcoin SV node) JSON-RPC as a @omt/ledger
 * `ChainClient` (regtest, testnet, mainnet). Uses the global `fetch` (undici in Node). Node-only.
 * @example
 * ```ts
 * import { BitcoinCoreRpcClient } from '@omt/adapters/bitcoin-rpc';
 * const chain = new BitcoinCoreRpcClient({ url: 'http://127.0.0.1:18443', username, password });
 * ```
 */
export {
  BitcoinCoreRpcClient,
  type BitcoinCoreRpcOptions,
  RPC_ERRORS,
  RpcError,
} from './bitcoin-rpc-client.js';
export { merkleBlockToBump } from './merkle-block.js';
