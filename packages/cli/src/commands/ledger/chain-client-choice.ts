import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ArcClient } from '@omt/adapters/arc';
import { BitcoinCoreRpcClient } from '@omt/adapters/bitcoin-rpc';
import { OfflineChainClient } from '@omt/ledger/offline-chain-client';
import type { ChainClient, ChainTxStatus } from '@omt/ledger/ports';
import type { ParsedArgs } from '../../args.js';
import { type CliContext, UsageError } from '../../context.js';

/** The chain-client flags every command that talks to a chain accepts. */
export const chainClientOptions = {
  'rpc-url': { type: 'string' },
  'arc-url': { type: 'string' },
} as const;

/** Help text for {@link chainClientOptions}. */
export const chainClientFlags: string =
  'offline by default (signed transactions are kept in $OMT_HOME/outbox for later broadcast);\n' +
  '      --rpc-url <url> / OMT_BITCOIN_RPC_URL: Bitcoin Core (or SV Node) JSON-RPC, e.g.\n' +
  '      http://user:password@127.0.0.1:18443 (or OMT_BITCOIN_RPC_USER / OMT_BITCOIN_RPC_PASSWORD);\n' +
  '      --arc-url <url> / OMT_ARC_URL: a BSV ARC service (OMT_ARC_TOKEN: its API key).';

/**
 * The embedded default: {@link OfflineChainClient} (validates and keeps the transaction) whose
 * transactions are also written to `$OMT_HOME/outbox/<txid>.hex`, so they outlive the process.
 */
export class OutboxChainClient implements ChainClient {
  readonly chain: 'bsv' | 'btc';
  readonly outbox: string;
  readonly #offline: OfflineChainClient;

  constructor(chain: 'bsv' | 'btc', home: string) {
    this.chain = chain;
    this.outbox = path.join(home, 'outbox');
    this.#offline = new OfflineChainClient(chain);
  }

  async broadcast(rawTx: string): Promise<ChainTxStatus> {
    const status = await this.#offline.broadcast(rawTx);
    await mkdir(this.outbox, { recursive: true, mode: 0o700 });
    await writeFile(path.join(this.outbox, `${status.txid}.hex`), `${rawTx.toLowerCase()}\n`);
    return { ...status, detail: `kept offline in ${this.outbox}` };
  }

  txStatus(txid: string): Promise<ChainTxStatus> {
    return this.#offline.txStatus(txid);
  }

  merkleProof(): Promise<undefined> {
    return this.#offline.merkleProof();
  }

  blockHeader(): Promise<undefined> {
    return this.#offline.blockHeader();
  }
}

/** Picks the chain client: flags first, then the environment, else offline. */
export function openChainClient(
  ctx: CliContext,
  state: { home: string; wallet?: { network: { chain: 'bsv' | 'btc' } } },
  args: ParsedArgs,
  chain: 'bsv' | 'btc' = state.wallet?.network.chain ?? 'bsv',
): ChainClient {
  const rpc = (args.values['rpc-url'] as string | undefined) ?? ctx.env.OMT_BITCOIN_RPC_URL;
  const arc = (args.values['arc-url'] as string | undefined) ?? ctx.env.OMT_ARC_URL;
  if (rpc && arc) throw new UsageError('choose one chain client: --rpc-url or --arc-url');
  if (rpc) return rpcClient(ctx, rpc, chain);
  if (arc) {
    if (chain !== 'bsv') throw new UsageError('ARC serves BSV only; this wallet is on BTC (use --rpc-url)');
    const token = ctx.env.OMT_ARC_TOKEN;
    return new ArcClient({ url: arc, ...(token ? { apiKey: token } : {}) });
  }
  return new OutboxChainClient(chain, state.home);
}

/** Credentials may ride in the URL (fetch refuses URLs with them, so they move to options). */
function rpcClient(ctx: CliContext, text: string, chain: 'bsv' | 'btc'): ChainClient {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('--rpc-url: an http(s) URL such as http://127.0.0.1:18443');
  }
  const username = url.username ? decodeURIComponent(url.username) : ctx.env.OMT_BITCOIN_RPC_USER;
  const password = url.password ? decodeURIComponent(url.password) : ctx.env.OMT_BITCOIN_RPC_PASSWORD;
  url.username = '';
  url.password = '';
  return new BitcoinCoreRpcClient({
    url: url.toString(),
    chain,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  });
}

/** A one-word description of a client, for output. */
export function describeChainClient(client: ChainClient): string {
  if (client instanceof OutboxChainClient) return 'offline';
  if (client instanceof BitcoinCoreRpcClient) return 'bitcoin-rpc';
  if (client instanceof ArcClient) return 'arc';
  return 'custom';
}
