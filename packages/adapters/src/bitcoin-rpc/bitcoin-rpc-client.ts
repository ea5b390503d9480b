import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import type { ChainClient, ChainTxStatus } from '@omt/ledger/ports';
import { decodeTransaction, transactionId } from '@omt/ledger/transaction';
import { z } from 'zod';
import { merkleBlockToBump } from './merkle-block.js';

/** Options of a {@link BitcoinCoreRpcClient}. */
export interface BitcoinCoreRpcOptions {
  /** e.g. `http://127.0.0.1:18443` (regtest), `:18332` (testnet), `:8332` (mainnet). */
  readonly url: string;
  /** `rpcuser`/`rpcpassword`, or the `__cookie__` user and the `.cookie` file's password. Never logged. */
  readonly username?: string;
  readonly password?: string;
  /** `btc` (Bitcoin Core) or `bsv` (Bitcoin SV node: same RPC). Default `btc`. */
  readonly chain?: 'btc' | 'bsv';
  /** Per-request timeout (default 30 s). */
  readonly timeoutMs?: number;
  /** Default: the global `fetch` (undici in Node). */
  readonly fetch?: typeof fetch;
}

const OptionsSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'http(s) URL'),
    username: z.string().max(1024).optional(),
    password: z.string().max(4096).optional(),
    chain: z.enum(['btc', 'bsv']).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
    fetch: z.custom<typeof fetch>((v) => typeof v === 'function').optional(),
  })
  .strict();

/** Bitcoin Core RPC error codes (`src/rpc/protocol.h`) this client maps. */
export const RPC_ERRORS: Readonly<Record<string, number>> = Object.freeze({
  RPC_INVALID_ADDRESS_OR_KEY: -5,
  RPC_INVALID_PARAMETER: -8,
  RPC_DESERIALIZATION_ERROR: -22,
  RPC_VERIFY_ERROR: -25,
  RPC_VERIFY_REJECTED: -26,
  RPC_VERIFY_ALREADY_IN_CHAIN: -27,
  RPC_IN_WARMUP: -28,
  RPC_METHOD_NOT_FOUND: -32601,
});

/** An error a node returned (`error: {code, message}`). */
export class RpcError extends OmtError {
  readonly rpcCode: number;
  constructor(method: string, rpcCode: number, message: string) {
    super('adapters.bitcoin-rpc.error', `${method}: ${message.slice(0, 300)} (code ${rpcCode})`, {
      details: { rpcCode },
    });
    this.rpcCode = rpcCode;
  }
}

/**
 * A Bitcoin Core (or Bitcoin SV node) JSON-RPC client as a {@link ChainClient}:
 * `sendrawtransaction`, `getrawtransaction <txid> true`, `gettxoutproof` (converted to a BUMP after
 * checking it against the block header), `getblockhash` + `getblockheader`. HTTP Basic auth.
 *
 * Errors: rejections (-26 verify rejected, -25 verify error / missing inputs, -22 undecodable) →
 * `ledger.chain.rejected`; -27 "already in chain" counts as accepted; unreachable node, timeout,
 * HTTP 401/403 (wrong credentials), -28 warm-up → `ledger.chain.unavailable`; other RPC errors →
 * `adapters.bitcoin-rpc.error` (with `rpcCode`).
 * @example
 * ```ts
 * const node = new BitcoinCoreRpcClient({ url: 'http://127.0.0.1:18443', username: 'u', password: 'p' });
 * await node.broadcast(rawHex);
 * ```
 */
export class BitcoinCoreRpcClient implements ChainClient {
  readonly chain: 'btc' | 'bsv';
  readonly #url: string;
  readonly #auth: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  #id = 0;

  constructor(options: BitcoinCoreRpcOptions) {
    const o = parseInput(
      OptionsSchema,
      options,
      'adapters.bitcoin-rpc.config-invalid',
      'Bitcoin RPC options',
    );
    this.chain = o.chain ?? 'btc';
    this.#url = o.url;
    this.#auth =
      o.username === undefined && o.password === undefined
        ? undefined
        : `Basic ${Buffer.from(`${o.username ?? ''}:${o.password ?? ''}`, 'utf8').toString('base64')}`;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#fetch = o.fetch ?? globalThis.fetch;
  }

  /** One JSON-RPC call (JSON-RPC 1.0 framing, which every Bitcoin Core version answers). */
  async call<T = unknown>(method: string, params: readonly unknown[] = []): Promise<T> {
    const id = ++this.#id;
    let res: Response;
    try {
      res = await this.#fetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.#auth === undefined ? {} : { authorization: this.#auth }),
        },
        body: JSON.stringify({ jsonrpc: '1.0', id, method, params }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new OmtError(
        'ledger.chain.unavailable',
        timedOut ? `${method}: no answer within ${this.#timeoutMs} ms` : `${method}: node unreachable`,
        { cause: e, details: { service: 'bitcoin-rpc' } },
      );
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new OmtError(
        'ledger.chain.unavailable',
        `${method}: the node refused the credentials (HTTP ${res.status})`,
        {
          details: { service: 'bitcoin-rpc', status: res.status },
        },
      );
    }
    const text = await res.text().catch(() => '');
    let body: { result?: unknown; error?: { code?: unknown; message?: unknown } | null; id?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new OmtError(
        'ledger.chain.unavailable',
        `${method}: HTTP ${res.status} without a JSON-RPC body`,
        {
          details: { service: 'bitcoin-rpc', status: res.status },
        },
      );
    }
    if (body.error !== null && body.error !== undefined) {
      const code = typeof body.error.code === 'number' ? body.error.code : 0;
      if (code === RPC_ERRORS.RPC_IN_WARMUP)
        throw new OmtError('ledger.chain.unavailable', `${method}: node is warming up`, {
          details: { rpcCode: code },
        });
      throw new RpcError(method, code, String(body.error.message ?? 'error'));
    }
    if (body.id !== id)
      throw new OmtError('adapters.bitcoin-rpc.response-invalid', `${method}: response id mismatch`);
    return body.result as T;
  }

  async broadcast(rawTx: string): Promise<ChainTxStatus> {
    if (typeof rawTx !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(rawTx))
      throw new OmtError('ledger.chain.rejected', 'raw transaction: hex expected');
    try {
      const txid = await this.call<string>('sendrawtransaction', [rawTx.toLowerCase()]);
      if (typeof txid !== 'string' || !/^[0-9a-f]{64}$/.test(txid))
        throw new OmtError('adapters.bitcoin-rpc.response-invalid', 'sendrawtransaction: txid expected');
      return { txid, state: 'seen', detail: 'in the mempool' };
    } catch (e) {
      if (e instanceof RpcError) {
        if (e.rpcCode === RPC_ERRORS.RPC_VERIFY_ALREADY_IN_CHAIN) {
          let txid = '';
          try {
            txid = transactionId(decodeTransaction(rawTx.toLowerCase(), { witness: this.chain === 'btc' }));
          } catch {
            txid = '';
          }
          return { txid, state: 'mined', detail: 'already in the chain' };
        }
        if (
          [
            RPC_ERRORS.RPC_VERIFY_REJECTED,
            RPC_ERRORS.RPC_VERIFY_ERROR,
            RPC_ERRORS.RPC_DESERIALIZATION_ERROR,
          ].includes(e.rpcCode)
        )
          throw new OmtError('ledger.chain.rejected', e.message, {
            cause: e,
            details: { rpcCode: e.rpcCode },
          });
      }
      throw e;
    }
  }

  async txStatus(txid: string): Promise<ChainTxStatus> {
    const id = checkTxid(txid);
    let tx: { txid?: unknown; confirmations?: unknown; blockhash?: unknown };
    try {
      tx = await this.call('getrawtransaction', [id, true]);
    } catch (e) {
      // -5: not in the mempool nor (without -txindex) in a wallet or the given block.
      if (e instanceof RpcError && e.rpcCode === RPC_ERRORS.RPC_INVALID_ADDRESS_OR_KEY)
        return { txid: id, state: 'unknown' };
      throw e;
    }
    if (tx.txid !== id)
      throw new OmtError(
        'adapters.bitcoin-rpc.response-invalid',
        'getrawtransaction answered for another txid',
      );
    const confirmations = typeof tx.confirmations === 'number' ? tx.confirmations : 0;
    if (confirmations < 1 || typeof tx.blockhash !== 'string')
      return { txid: id, state: 'seen', detail: 'in the mempool' };
    const header = await this.call<{ height?: unknown }>('getblockheader', [tx.blockhash, true]);
    return {
      txid: id,
      state: 'mined',
      detail: `${confirmations} confirmations`,
      blockHash: tx.blockhash,
      ...(typeof header.height === 'number' ? { blockHeight: header.height } : {}),
    };
  }

  /** `gettxoutproof` → a checked, single-path BUMP; undefined until mined. */
  async merkleProof(txid: string): Promise<{ blockHeight: number; bump: string } | undefined> {
    const s = await this.txStatus(txid);
    if (s.state !== 'mined' || s.blockHash === undefined || s.blockHeight === undefined) return undefined;
    const proof = await this.call<string>('gettxoutproof', [[s.txid], s.blockHash]);
    if (typeof proof !== 'string')
      throw new OmtError('adapters.bitcoin-rpc.response-invalid', 'gettxoutproof: hex expected');
    const r = merkleBlockToBump(proof, s.blockHeight);
    if (r.txid !== s.txid)
      throw new OmtError('adapters.bitcoin-rpc.proof-invalid', 'gettxoutproof proves another transaction');
    return { blockHeight: s.blockHeight, bump: r.bumpHex };
  }

  async blockHeader(height: number): Promise<string | undefined> {
    if (!Number.isInteger(height) || height < 0)
      throw new OmtError('core.input.invalid', 'height must be an integer ≥ 0');
    let hash: string;
    try {
      hash = await this.call<string>('getblockhash', [height]);
    } catch (e) {
      if (e instanceof RpcError && e.rpcCode === RPC_ERRORS.RPC_INVALID_PARAMETER) return undefined; // above the tip
      throw e;
    }
    const hex = await this.call<string>('getblockheader', [hash, false]);
    if (typeof hex !== 'string' || !/^[0-9a-f]{160}$/.test(hex))
      throw new OmtError('adapters.bitcoin-rpc.response-invalid', 'getblockheader: 80-byte hex expected');
    return hex;
  }
}

function checkTxid(txid: string): string {
  if (typeof txid !== 'string' || !/^[0-9a-fA-F]{64}$/.test(txid))
    throw new OmtError('core.input.invalid', 'txid: 64 hex characters');
  return txid.toLowerCase();
}
