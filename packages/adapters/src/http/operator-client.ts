import { Coalescer } from '@omt/core/coalesce';
import { isOmtError, OmtError } from '@omt/core/errors';
import type { AnchoredCheckpoint } from '@omt/ledger/checkpoint-anchor';
import type {
  ChainView,
  CommitAnswer,
  CommittedEntry,
  OperatorApi,
  OperatorStatus,
  VoteAnswer,
} from '@omt/ledger/operator-api';
import { Pool } from 'undici';
import { packCheckpoints, unpackCheckpoints } from './checkpoint-packing.js';
import { readAnswer } from './http-json.js';

/** Options of {@link HttpOperatorClient}. */
export interface HttpOperatorClientOptions {
  /** The operator's name (its log origin), as the network file lists it. */
  readonly name: string;
  /** Base URL, e.g. `http://127.0.0.1:7101`. */
  readonly url: string;
  /** Per-request deadline in ms (default 5,000); an expired one throws `ledger.operator.timeout`. */
  readonly timeoutMs?: number;
  /** Keep-alive connections to this operator (default 4). */
  readonly connections?: number;
  /** Largest response body accepted (default 64 MiB). */
  readonly maxResponseBytes?: number;
  /**
   * Coalescing of concurrent `submit` and `commit` calls (default on, two requests of each kind
   * at once): calls made while those run go together in the next request (up to 1,000 items),
   * so many single-event submitters sharing this client cost what batches cost. `false` sends
   * every call as its own request.
   */
  readonly coalesce?: false | { readonly maxInFlight?: number };
}

/** Items in one coalesced request: what an operator takes in one call. */
const MAX_COALESCED = 1_000;

/**
 * An operator reached over HTTP with an undici connection pool (keep-alive, pipelining off).
 * Implements {@link OperatorApi}: network failures become `ledger.operator.unavailable`,
 * deadlines `ledger.operator.timeout`, and an error answer from the operator the `OmtError` with
 * the code it sent.
 *
 * @example
 * ```ts
 * const op = new HttpOperatorClient({ name: 'op1.omt.local', url: 'http://127.0.0.1:7101' });
 * const view = await op.chain('item:42');
 * await op.close();
 * ```
 */
export class HttpOperatorClient implements OperatorApi {
  readonly name: string;
  readonly url: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #votes: Coalescer<unknown, VoteAnswer> | undefined;
  readonly #commits: Coalescer<CommittedEntry, CommitAnswer> | undefined;

  constructor(options: HttpOperatorClientOptions) {
    let origin: URL;
    try {
      origin = new URL(options.url);
    } catch (e) {
      throw new OmtError('ledger.network.invalid', `operator ${options.name}: bad URL ${options.url}`, {
        cause: e,
      });
    }
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:')
      throw new OmtError('ledger.network.invalid', `operator ${options.name}: URL must be http(s)`);
    this.name = options.name;
    this.url = origin.origin;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.#pool = new Pool(origin.origin, {
      connections: options.connections ?? 4,
      keepAliveTimeout: 30_000,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    if (options.coalesce !== false) {
      const maxInFlight = options.coalesce?.maxInFlight ?? 2;
      this.#votes = new Coalescer((events) => this.#submit(events), { maxItems: MAX_COALESCED, maxInFlight });
      this.#commits = new Coalescer((entries) => this.#commit(entries), {
        maxItems: MAX_COALESCED,
        maxInFlight,
      });
    }
  }

  /**
   * Votes on `events` (`POST /v1/events`). Concurrent calls share requests (see `coalesce`); an
   * aborted `signal` ends this call with `ledger.operator.timeout`.
   */
  submit(events: readonly unknown[], signal?: AbortSignal): Promise<VoteAnswer[]> {
    return this.#coalesced(this.#votes, events, signal, (e, s) => this.#submit(e, s));
  }

  /** Commits entries (`POST /v1/commit`); coalesced like {@link HttpOperatorClient.submit}. */
  commit(entries: readonly CommittedEntry[], signal?: AbortSignal): Promise<CommitAnswer[]> {
    return this.#coalesced(this.#commits, entries, signal, (e, s) => this.#commit(e, s));
  }

  /**
   * `items` through `calls` — or straight to `send` when coalescing is off or they fill a request
   * alone; the caller's abort ends its call with `ledger.operator.timeout`.
   */
  #coalesced<T, R>(
    calls: Coalescer<T, R> | undefined,
    items: readonly T[],
    signal: AbortSignal | undefined,
    send: (items: readonly T[], signal?: AbortSignal) => Promise<R[]>,
  ): Promise<R[]> {
    if (calls === undefined || items.length > MAX_COALESCED) return send(items, signal);
    return calls.add(items, signal).catch((e: unknown) => {
      if (signal?.aborted && e === signal.reason)
        throw new OmtError('ledger.operator.timeout', `operator ${this.name}: request aborted`, { cause: e });
      throw e;
    });
  }

  #submit(events: readonly unknown[], signal?: AbortSignal): Promise<VoteAnswer[]> {
    return this.#json<{ results: VoteAnswer[]; notes?: unknown }>(
      'POST',
      '/v1/events',
      { events },
      signal,
    ).then((r) => unpackCheckpoints(answers<VoteAnswer>(r.results, events.length, this.name), r.notes));
  }

  #commit(entries: readonly CommittedEntry[], signal?: AbortSignal): Promise<CommitAnswer[]> {
    const packed = packCheckpoints(entries);
    return this.#json<{ results: CommitAnswer[] }>(
      'POST',
      '/v1/commit',
      { entries: packed.items, notes: packed.notes },
      signal,
    ).then((r) => answers(r.results, entries.length, this.name));
  }

  chain(chain: string, options: { fromHeight?: number; signal?: AbortSignal } = {}): Promise<ChainView> {
    const from = options.fromHeight === undefined ? '' : `?from=${options.fromHeight}`;
    return this.#json<ChainView & { notes?: unknown }>(
      'GET',
      `/v1/chains/${encodeURIComponent(chain)}${from}`,
      undefined,
      options.signal,
    ).then(({ notes, ...view }) =>
      Array.isArray(view.events) ? { ...view, events: unpackCheckpoints([...view.events], notes) } : view,
    );
  }

  async checkpoint(signal?: AbortSignal): Promise<string> {
    return new TextDecoder().decode(await this.#request('GET', '/checkpoint', undefined, signal));
  }

  consistency(from: number, to: number, signal?: AbortSignal): Promise<string[]> {
    return this.#json<{ proof: string[] }>(
      'GET',
      `/v1/log/consistency?from=${from}&to=${to}`,
      undefined,
      signal,
    ).then((r) => r.proof);
  }

  consistencyMany(froms: readonly number[], to: number, signal?: AbortSignal): Promise<string[][]> {
    if (froms.length === 1) return this.consistency(froms[0] as number, to, signal).then((p) => [p]);
    return this.#json<{ proofs: string[][] }>(
      'GET',
      `/v1/log/consistency?from=${froms.join(',')}&to=${to}`,
      undefined,
      signal,
    ).then((r) => {
      if (!Array.isArray(r.proofs) || r.proofs.length !== froms.length)
        throw new OmtError(
          'ledger.operator.bad-answer',
          `operator ${this.name}: expected ${froms.length} proofs`,
        );
      return r.proofs;
    });
  }

  status(signal?: AbortSignal): Promise<OperatorStatus> {
    return this.#json<OperatorStatus>('GET', '/health', undefined, signal);
  }

  /**
   * Hands the operator an anchored checkpoint of its own log (`POST /v1/anchors`, with the
   * operator's admin token): it verifies, stores and from then on serves it. Refusals come back
   * as their codes (`adapters.http.forbidden`, `ledger.anchor.record-mismatch`, …).
   */
  async addAnchor(anchored: AnchoredCheckpoint, token: string, signal?: AbortSignal): Promise<void> {
    await this.#request('POST', '/v1/anchors', JSON.stringify(anchored), signal, `Bearer ${token}`);
  }

  /** tlog-witness `add-checkpoint` (the HTTP status and body as the witness answered). */
  async addCheckpoint(body: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
    const deadline = new Deadline(this.#timeoutMs, signal);
    try {
      const res = await this.#pool.request({
        method: 'POST',
        path: '/add-checkpoint',
        body,
        signal: deadline.signal,
      });
      return { status: res.statusCode, body: await res.body.text() };
    } catch (e) {
      throw new OmtError('ledger.operator.unavailable', `operator ${this.name}: add-checkpoint failed`, {
        cause: e,
      });
    } finally {
      deadline.clear();
    }
  }

  /** Raw GET of a path (tiles, checkpoints): the body bytes, or undefined on 404. */
  async get(path: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    try {
      return await this.#request('GET', path, undefined, signal);
    } catch (e) {
      if (isOmtError(e, 'ledger.operator.not-found')) return undefined;
      throw e;
    }
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #json<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const bytes = await this.#request(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      signal,
    );
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as T;
    } catch (e) {
      throw new OmtError(
        'ledger.operator.bad-answer',
        `operator ${this.name}: ${path} answered with bad JSON`,
        {
          cause: e,
        },
      );
    }
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
    authorization?: string,
  ): Promise<Uint8Array> {
    const deadline = new Deadline(this.#timeoutMs, signal);
    let status: number;
    let bytes: Uint8Array;
    try {
      const res = await this.#pool.request({
        method,
        path,
        signal: deadline.signal,
        ...(body === undefined
          ? {}
          : {
              body,
              headers: {
                'content-type': 'application/json',
                ...(authorization === undefined ? {} : { authorization }),
              },
            }),
      });
      status = res.statusCode;
      bytes = await readAnswer(
        res.body,
        this.#maxBytes,
        () =>
          new OmtError(
            'ledger.operator.bad-answer',
            `operator ${this.name}: answer larger than ${this.#maxBytes} bytes`,
          ),
      );
    } catch (e) {
      if (isOmtError(e)) throw e;
      if (deadline.timedOut && !(signal?.aborted ?? false))
        throw new OmtError(
          'ledger.operator.timeout',
          `operator ${this.name} did not answer within ${this.#timeoutMs} ms`,
          {
            cause: e,
          },
        );
      if (signal?.aborted)
        throw new OmtError('ledger.operator.timeout', `operator ${this.name}: request aborted`, { cause: e });
      throw new OmtError(
        'ledger.operator.unavailable',
        `operator ${this.name} at ${this.url} is unreachable`,
        { cause: e },
      );
    } finally {
      deadline.clear();
    }
    if (status >= 200 && status < 300) return bytes;
    if (status === 404)
      throw new OmtError('ledger.operator.not-found', `operator ${this.name}: ${path} not found`);
    let code = 'ledger.operator.bad-answer';
    let message = `operator ${this.name}: HTTP ${status} for ${method} ${path}`;
    try {
      const err = (
        JSON.parse(new TextDecoder().decode(bytes)) as { error?: { code?: unknown; message?: unknown } }
      ).error;
      if (typeof err?.code === 'string' && /^[a-z0-9.-]{1,80}$/.test(err.code)) code = err.code;
      if (typeof err?.message === 'string') message = `operator ${this.name}: ${err.message.slice(0, 500)}`;
    } catch {
      // not JSON: keep the HTTP status message
    }
    throw new OmtError(code, message);
  }
}

/**
 * A request's abort signal: fires after `ms`, or when the caller's `signal` does. One controller
 * and one timer, cleared when the request ends — `AbortSignal.timeout` + `AbortSignal.any` cost
 * ≈ 15–20 µs per request (measured) and kept every timer and composite signal alive for the
 * whole timeout after the answer had come, thousands of them under load.
 */
class Deadline {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #caller: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#controller.abort(this.#caller?.reason);
  #timedOut = false;

  constructor(ms: number, caller: AbortSignal | undefined) {
    this.#caller = caller;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
    }, ms);
    this.#timer.unref(); // as AbortSignal.timeout's: a pending deadline alone keeps no process alive
    if (caller?.aborted) this.#onAbort();
    else caller?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the time ran out (rather than the caller aborting). */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onAbort);
  }
}

function answers<T>(results: unknown, expected: number, name: string): T[] {
  if (!Array.isArray(results) || results.length !== expected)
    throw new OmtError('ledger.operator.bad-answer', `operator ${name}: expected ${expected} answers`);
  return results as T[];
}
