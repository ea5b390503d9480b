/**
 * The embedded default {@link ChainClient}: no network. It keeps every signed transaction it is
 * given (state `stored`) so an operator can broadcast them later ({@link OfflineChainClient.forward}),
 * and answers status queries from what it holds. It never claims a transaction was mined.
 */
import { OmtError } from '@omt/core/errors';
import type { ChainClient, ChainTxStatus } from './ports.js';
import { decodeTransaction, transactionId } from './transaction.js';

/** A transaction held for later broadcast. */
export interface StoredTransaction {
  readonly txid: string;
  readonly rawTx: string;
  readonly storedAt: Date;
}

/**
 * Offline chain client.
 * @example
 * ```ts
 * const chain = new OfflineChainClient('bsv');
 * await chain.broadcast(rawHex);            // { txid, state: 'stored' }
 * await chain.forward(new ArcClient({ url })); // later, when online
 * ```
 */
export class OfflineChainClient implements ChainClient {
  readonly chain: 'bsv' | 'btc';
  readonly #held = new Map<string, StoredTransaction>();
  readonly #clock: () => Date;

  constructor(chain: 'bsv' | 'btc' = 'bsv', options?: { clock?: () => Date }) {
    if (chain !== 'bsv' && chain !== 'btc')
      throw new OmtError('ledger.chain.invalid', "chain must be 'bsv' or 'btc'");
    this.chain = chain;
    this.#clock = options?.clock ?? (() => new Date());
  }

  async broadcast(rawTx: string): Promise<ChainTxStatus> {
    if (typeof rawTx !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(rawTx))
      throw new OmtError('ledger.chain.rejected', 'raw transaction: hex expected');
    let txid: string;
    try {
      txid = transactionId(decodeTransaction(rawTx.toLowerCase(), { witness: this.chain === 'btc' }));
    } catch (e) {
      throw new OmtError('ledger.chain.rejected', 'raw transaction does not decode', { cause: e });
    }
    if (!this.#held.has(txid))
      this.#held.set(txid, { txid, rawTx: rawTx.toLowerCase(), storedAt: this.#clock() });
    return { txid, state: 'stored', detail: 'kept offline for later broadcast' };
  }

  async txStatus(txid: string): Promise<ChainTxStatus> {
    return { txid, state: this.#held.has(txid) ? 'stored' : 'unknown' };
  }

  async merkleProof(): Promise<undefined> {
    return undefined;
  }

  async blockHeader(): Promise<undefined> {
    return undefined;
  }

  /** Every held transaction, oldest first. */
  stored(): StoredTransaction[] {
    return [...this.#held.values()];
  }

  /**
   * Broadcasts every held transaction through `target`; those it accepts (or already knows) are
   * dropped from this client, the others stay. Returns the per-transaction outcome.
   */
  async forward(target: ChainClient): Promise<{ txid: string; status?: ChainTxStatus; error?: string }[]> {
    const out: { txid: string; status?: ChainTxStatus; error?: string }[] = [];
    for (const t of this.stored()) {
      try {
        const status = await target.broadcast(t.rawTx);
        this.#held.delete(t.txid);
        out.push({ txid: t.txid, status });
      } catch (e) {
        out.push({ txid: t.txid, error: e instanceof OmtError ? e.code : 'ledger.chain.unavailable' });
      }
    }
    return out;
  }
}
