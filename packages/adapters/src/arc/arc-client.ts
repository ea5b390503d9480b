import { isOmtError, OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { bumpRoot, decodeBump } from '@omt/ledger/anchor-bump';
import type { ChainClient, ChainTxState, ChainTxStatus } from '@omt/ledger/ports';
import { z } from 'zod';

/** ARC `txStatus` values (ARC API v1, `TransactionStatus` schema), in lifecycle order. */
export const ARC_STATUSES: readonly string[] = Object.freeze([
  'UNKNOWN',
  'QUEUED',
  'RECEIVED',
  'STORED',
  'ANNOUNCED_TO_NETWORK',
  'REQUESTED_BY_NETWORK',
  'SENT_TO_NETWORK',
  'ACCEPTED_BY_NETWORK',
  'SEEN_IN_ORPHAN_MEMPOOL',
  'SEEN_ON_NETWORK',
  'DOUBLE_SPEND_ATTEMPTED',
  'REJECTED',
  'MINED_IN_STALE_BLOCK',
  'MINED',
]);

/** Statuses `X-WaitFor` accepts (ARC API v1). */
export type ArcWaitFor =
  | 'QUEUED'
  | 'RECEIVED'
  | 'STORED'
  | 'ANNOUNCED_TO_NETWORK'
  | 'REQUESTED_BY_NETWORK'
  | 'SENT_TO_NETWORK'
  | 'ACCEPTED_BY_NETWORK'
  | 'SEEN_ON_NETWORK';

/**
 * ARC's status → the port's state. STORED at ARC means "held by ARC, not yet on the network",
 * i.e. queued — not the offline client's `stored`.
 */
export function arcState(txStatus: string): ChainTxState {
  switch (txStatus) {
    case 'QUEUED':
    case 'RECEIVED':
    case 'STORED':
      return 'queued';
    case 'ANNOUNCED_TO_NETWORK':
    case 'REQUESTED_BY_NETWORK':
    case 'SENT_TO_NETWORK':
    case 'ACCEPTED_BY_NETWORK':
      return 'sent';
    case 'SEEN_IN_ORPHAN_MEMPOOL':
    case 'SEEN_ON_NETWORK':
    case 'MINED_IN_STALE_BLOCK':
      return 'seen';
    case 'DOUBLE_SPEND_ATTEMPTED':
      return 'double-spend';
    case 'REJECTED':
      return 'rejected';
    case 'MINED':
      return 'mined';
    default:
      return 'unknown';
  }
}

/** Options of an {@link ArcClient}. */
export interface ArcClientOptions {
  /** Base URL, e.g. `https://arc.taal.com` (requests go to `<url>/v1/tx`). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <apiKey>` (never logged). */
  readonly apiKey?: string;
  /** `X-WaitFor`: the status ARC waits for before answering. */
  readonly waitFor?: ArcWaitFor;
  /** `X-MaxTimeout` in seconds (ARC: max 30, default 5). */
  readonly maxTimeoutSeconds?: number;
  /** `X-CallbackUrl` / `X-CallbackToken` / `X-FullStatusUpdates` / `X-CallbackBatch`. */
  readonly callbackUrl?: string;
  readonly callbackToken?: string;
  readonly fullStatusUpdates?: boolean;
  readonly callbackBatch?: boolean;
  /** Client-side timeout per request (default 35 s). */
  readonly timeoutMs?: number;
  /** ARC serves no block headers: give a header source (height → 80-byte hex) for `blockHeader`. */
  readonly headers?: (height: number) => Promise<string | undefined>;
  /** Default: the global `fetch` (undici in Node). */
  readonly fetch?: typeof fetch;
}

const OptionsSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'http(s) URL'),
    apiKey: z.string().min(1).max(4096).optional(),
    waitFor: z
      .enum([
        'QUEUED',
        'RECEIVED',
        'STORED',
        'ANNOUNCED_TO_NETWORK',
        'REQUESTED_BY_NETWORK',
        'SENT_TO_NETWORK',
        'ACCEPTED_BY_NETWORK',
        'SEEN_ON_NETWORK',
      ])
      .optional(),
    maxTimeoutSeconds: z.number().int().min(1).max(30).optional(),
    callbackUrl: z.string().url().optional(),
    callbackToken: z.string().min(1).max(4096).optional(),
    fullStatusUpdates: z.boolean().optional(),
    callbackBatch: z.boolean().optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
    headers: z.custom<(h: number) => Promise<string | undefined>>((v) => typeof v === 'function').optional(),
    fetch: z.custom<typeof fetch>((v) => typeof v === 'function').optional(),
  })
  .strict();

/** ARC `TransactionStatus` (GET /v1/tx/{txid}, POST responses, callbacks). */
const StatusSchema = z.looseObject({
  txid: z.string().regex(/^[0-9a-fA-F]{64}$/),
  txStatus: z.string().max(64),
  blockHash: z.string().max(64).nullish(),
  blockHeight: z.number().int().min(0).nullish(),
  merklePath: z.string().max(1_000_000).nullish(),
  extraInfo: z.string().max(10_000).nullish(),
  competingTxs: z.array(z.string()).nullish(),
});

/**
 * Parses an ARC transaction status (a response body or a callback payload) into the port's form.
 * Throws `adapters.arc.response-invalid` for anything else.
 * @example
 * ```ts
 * const status = parseArcStatus(await request.json()); // in your X-CallbackUrl endpoint
 * ```
 */
export function parseArcStatus(body: unknown): ChainTxStatus {
  const s = parseInput(StatusSchema, body, 'adapters.arc.response-invalid', 'ARC transaction status');
  return {
    txid: s.txid.toLowerCase(),
    state: arcState(s.txStatus),
    detail: s.extraInfo ? `${s.txStatus}: ${s.extraInfo}` : s.txStatus,
    ...(s.blockHash ? { blockHash: s.blockHash.toLowerCase() } : {}),
    ...(s.blockHeight ? { blockHeight: s.blockHeight } : {}),
    ...(s.merklePath ? { merklePath: s.merklePath.toLowerCase() } : {}),
  };
}

/**
 * BSV ARC broadcaster (API v1) as a {@link ChainClient}: `POST /v1/tx` (text/plain hex),
 * `POST /v1/txs` (newline-separated), `GET /v1/tx/{txid}`; `X-WaitFor`, callback headers; the
 * ARC status lifecycle mapped to the port's states; BUMP Merkle paths (BRC-74) decoded and
 * checked to lead from the txid to a root before they are returned (the worker then compares
 * that root with the block header — never trusting ARC's word).
 *
 * Errors: 400/422/46x (malformed, invalid inputs/outputs, fee too low, …) → `ledger.chain.rejected`;
 * network failures, timeouts, 401/403, 409, 429, 5xx → `ledger.chain.unavailable` (retry).
 * @example
 * ```ts
 * const arc = new ArcClient({ url: 'https://arc.taal.com', apiKey, waitFor: 'SEEN_ON_NETWORK' });
 * const s = await arc.broadcast(rawHex); // { txid, state: 'seen', detail: 'SEEN_ON_NETWORK' }
 * ```
 */
export class ArcClient implements ChainClient {
  readonly chain = 'bsv' as const;
  readonly #o: z.infer<typeof OptionsSchema>;
  readonly #base: string;
  readonly #fetch: typeof fetch;

  constructor(options: ArcClientOptions) {
    this.#o = parseInput(OptionsSchema, options, 'adapters.arc.config-invalid', 'ARC options');
    this.#base = this.#o.url.replace(/\/+$/, '');
    this.#fetch = this.#o.fetch ?? globalThis.fetch;
  }

  #headers(extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    const o = this.#o;
    if (o.apiKey !== undefined) h.authorization = `Bearer ${o.apiKey}`;
    if (o.waitFor !== undefined) h['x-waitfor'] = o.waitFor;
    if (o.maxTimeoutSeconds !== undefined) h['x-maxtimeout'] = String(o.maxTimeoutSeconds);
    if (o.callbackUrl !== undefined) h['x-callbackurl'] = o.callbackUrl;
    if (o.callbackToken !== undefined) h['x-callbacktoken'] = o.callbackToken;
    if (o.fullStatusUpdates !== undefined) h['x-fullstatusupdates'] = String(o.fullStatusUpdates);
    if (o.callbackBatch !== undefined) h['x-callbackbatch'] = String(o.callbackBatch);
    return h;
  }

  async #request(method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
    const timeout = this.#o.timeoutMs ?? 35_000;
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: this.#headers(body === undefined ? {} : { 'content-type': 'text/plain' }),
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(timeout),
      });
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new OmtError(
        'ledger.chain.unavailable',
        timedOut ? `ARC did not answer within ${timeout} ms` : 'ARC is unreachable',
        { cause: e, details: { service: 'arc' } },
      );
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  #fail(status: number, json: unknown, what: string): never {
    const p = (json ?? {}) as { title?: unknown; detail?: unknown; extraInfo?: unknown };
    const why = [p.title, p.detail, p.extraInfo]
      .filter((x) => typeof x === 'string' && x !== '')
      .join(' — ')
      .slice(0, 500);
    const rejected = status === 400 || status === 422 || (status >= 460 && status < 480);
    throw new OmtError(
      rejected ? 'ledger.chain.rejected' : 'ledger.chain.unavailable',
      `ARC ${what}: HTTP ${status}${why ? ` (${why})` : ''}`,
      { details: { service: 'arc', status } },
    );
  }

  async broadcast(rawTx: string): Promise<ChainTxStatus> {
    if (typeof rawTx !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(rawTx))
      throw new OmtError('ledger.chain.rejected', 'raw transaction: hex expected');
    const { status, json } = await this.#request('POST', '/v1/tx', rawTx.toLowerCase());
    if (status !== 200) this.#fail(status, json, 'refused the transaction');
    return this.#status(json);
  }

  /** `POST /v1/txs`: one status per transaction, in order (per-transaction errors become `rejected`). */
  async broadcastMany(rawTxs: readonly string[]): Promise<ChainTxStatus[]> {
    if (
      !Array.isArray(rawTxs) ||
      rawTxs.length === 0 ||
      rawTxs.some((t) => typeof t !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(t))
    )
      throw new OmtError(
        'ledger.chain.rejected',
        'raw transactions: a non-empty list of hex strings expected',
      );
    const { status, json } = await this.#request(
      'POST',
      '/v1/txs',
      rawTxs.map((t) => t.toLowerCase()).join('\n'),
    );
    if (status !== 200) this.#fail(status, json, 'refused the transactions');
    if (!Array.isArray(json) || json.length !== rawTxs.length)
      throw new OmtError('adapters.arc.response-invalid', 'ARC /v1/txs: one status per transaction expected');
    return json.map((item: unknown) => {
      const e = item as { status?: unknown; txid?: unknown; title?: unknown };
      if (typeof e.status === 'number' && e.status !== 200)
        return {
          txid: String(e.txid ?? ''),
          state: 'rejected' as const,
          detail: `HTTP ${e.status} ${String(e.title ?? '')}`.trim(),
        };
      return this.#status(item);
    });
  }

  #status(json: unknown): ChainTxStatus {
    return parseArcStatus(json);
  }

  async txStatus(txid: string): Promise<ChainTxStatus> {
    const id = checkTxid(txid);
    const { status, json } = await this.#request('GET', `/v1/tx/${id}`);
    if (status === 404) return { txid: id, state: 'unknown' };
    if (status !== 200) this.#fail(status, json, 'status query failed');
    const s = this.#status(json);
    if (s.txid !== id)
      throw new OmtError('adapters.arc.response-invalid', 'ARC answered for another transaction');
    return s;
  }

  /**
   * The BUMP of a MINED transaction, checked to contain `txid` and to lead to a root; undefined
   * until mined. A BUMP that does not → `adapters.arc.proof-invalid`.
   */
  async merkleProof(txid: string): Promise<{ blockHeight: number; bump: string } | undefined> {
    const s = await this.txStatus(txid);
    if (s.state !== 'mined' || s.merklePath === undefined) return undefined;
    try {
      const bump = decodeBump(s.merklePath);
      bumpRoot(bump, s.txid);
      if (s.blockHeight !== undefined && bump.blockHeight !== s.blockHeight)
        throw new OmtError('ledger.anchor.bump-height-mismatch', 'BUMP height differs from blockHeight');
      return { blockHeight: bump.blockHeight, bump: s.merklePath };
    } catch (e) {
      throw new OmtError(
        'adapters.arc.proof-invalid',
        `ARC's merklePath does not prove ${s.txid}: ${isOmtError(e) ? e.code : 'malformed'}`,
        { cause: e },
      );
    }
  }

  async blockHeader(height: number): Promise<string | undefined> {
    if (!Number.isInteger(height) || height < 0)
      throw new OmtError('core.input.invalid', 'height must be an integer ≥ 0');
    if (this.#o.headers === undefined)
      throw new OmtError(
        'adapters.arc.unsupported',
        'ARC serves no block headers: configure a header source',
      );
    return this.#o.headers(height);
  }
}

function checkTxid(txid: string): string {
  if (typeof txid !== 'string' || !/^[0-9a-fA-F]{64}$/.test(txid))
    throw new OmtError('core.input.invalid', 'txid: 64 hex characters');
  return txid.toLowerCase();
}
