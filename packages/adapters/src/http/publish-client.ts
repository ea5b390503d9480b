/**
 * The publishing API (`createPublishHandler`, `omt serve`) reached over HTTP: what an operator's
 * anchoring job (`CheckpointAnchorer`) and other remote clients need of a `Publisher`.
 */
import { OmtError } from '@omt/core/errors';
import type { AnchorPublisher } from '@omt/ledger/checkpoint-anchorer';
import type { IntentProblem } from '@omt/ledger/intent';
import type { JobView, PublishResult } from '@omt/ledger/publisher';
import { Pool } from 'undici';
import { readAnswer } from './http-json.js';

/** Options of {@link HttpPublishClient}. */
export interface HttpPublishClientOptions {
  /** Base URL of the publishing service, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Per-request deadline in ms (default 10,000): `ledger.publisher.timeout` when it expires. */
  readonly timeoutMs?: number;
  /** Largest answer accepted (default 4 MiB). */
  readonly maxResponseBytes?: number;
}

/**
 * A publishing service over HTTP. `publish` answers like `Publisher.publish` (a refused intent
 * is `{ accepted: false, problems }`, not an exception); `job` and `record` answer undefined for
 * an unknown id. Network failures throw `ledger.publisher.unavailable`, deadlines
 * `ledger.publisher.timeout`, other error answers the `OmtError` with the code the service sent.
 *
 * @example
 * ```ts
 * const publisher = new HttpPublishClient({ url: 'http://127.0.0.1:8080' });
 * const r = await publisher.publish(await createIntent(record, signer));
 * if (r.accepted) console.log((await publisher.job(r.jobId))?.status);
 * ```
 */
export class HttpPublishClient implements AnchorPublisher {
  readonly url: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor(options: HttpPublishClientOptions) {
    let origin: URL;
    try {
      origin = new URL(options?.url);
    } catch (e) {
      throw new OmtError('ledger.publisher.invalid', `bad publisher URL ${String(options?.url)}`, {
        cause: e,
      });
    }
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:')
      throw new OmtError('ledger.publisher.invalid', 'the publisher URL must be http(s)');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const maxBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)
      throw new OmtError('ledger.publisher.invalid', 'timeoutMs must be 1 – 600,000');
    if (!Number.isInteger(maxBytes) || maxBytes < 1024)
      throw new OmtError('ledger.publisher.invalid', 'maxResponseBytes must be at least 1,024');
    this.url = origin.origin;
    this.#pool = new Pool(origin.origin, { connections: 2 });
    this.#timeoutMs = timeoutMs;
    this.#maxBytes = maxBytes;
  }

  /** Submits an intent (object or JSON text). */
  async publish(intent: unknown): Promise<PublishResult> {
    const body = typeof intent === 'string' ? intent : JSON.stringify(intent);
    const { status, value } = await this.#call('POST', '/v1/publish', body);
    const v = value as {
      jobId?: unknown;
      recordId?: unknown;
      recordHash?: unknown;
      error?: { code?: unknown; message?: unknown; problems?: unknown };
    };
    if (status === 202 && typeof v.jobId === 'string' && typeof v.recordId === 'string')
      return { accepted: true, jobId: v.jobId, recordId: v.recordId, recordHash: String(v.recordHash) };
    if ([400, 403, 409, 422].includes(status) && Array.isArray(v.error?.problems))
      return { accepted: false, problems: v.error.problems as IntentProblem[] };
    throw this.#failure(status, value, '/v1/publish');
  }

  /** A job by id, or undefined when the service does not know it. */
  async job(id: string): Promise<JobView | undefined> {
    const { status, value } = await this.#call('GET', `/v1/job/${encodeURIComponent(id)}`);
    if (status === 404) return undefined;
    if (status !== 200 || typeof (value as JobView).id !== 'string')
      throw this.#failure(status, value, '/v1/job');
    return value as JobView;
  }

  /** The latest job of a record id, or undefined. */
  async record(recordId: string): Promise<JobView | undefined> {
    const { status, value } = await this.#call('GET', `/v1/record/${encodeURIComponent(recordId)}`);
    if (status === 404) return undefined;
    const jobId = (value as { jobId?: unknown }).jobId;
    if (status !== 200 || typeof jobId !== 'string') throw this.#failure(status, value, '/v1/record');
    return this.job(jobId);
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  #failure(status: number, value: unknown, path: string): OmtError {
    const e = (value as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (typeof e?.code === 'string' && /^[a-z0-9.-]{1,80}$/.test(e.code))
      return new OmtError(
        e.code,
        `publisher ${path}: ${String(e.message ?? `HTTP ${status}`).slice(0, 500)}`,
      );
    return new OmtError('ledger.publisher.bad-answer', `publisher ${path}: unexpected HTTP ${status} answer`);
  }

  async #call(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
  ): Promise<{ status: number; value: unknown }> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let status: number;
    let text: string;
    try {
      const res = await this.#pool.request({
        method,
        path,
        signal,
        ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
      });
      status = res.statusCode;
      const bytes = await readAnswer(
        res.body,
        this.#maxBytes,
        () =>
          new OmtError(
            'ledger.publisher.bad-answer',
            `publisher ${path}: answer over ${this.#maxBytes} bytes`,
          ),
      );
      text = new TextDecoder().decode(bytes);
    } catch (e) {
      if (e instanceof OmtError) throw e;
      if (signal.aborted)
        throw new OmtError(
          'ledger.publisher.timeout',
          `publisher ${path}: no answer within ${this.#timeoutMs} ms`,
          {
            cause: e,
          },
        );
      throw new OmtError('ledger.publisher.unavailable', `publisher ${this.url} is unreachable`, {
        cause: e,
      });
    }
    try {
      return { status, value: JSON.parse(text) as unknown };
    } catch (e) {
      throw new OmtError(
        'ledger.publisher.bad-answer',
        `publisher ${path}: HTTP ${status} with a body that is not JSON`,
        {
          cause: e,
        },
      );
    }
  }
}
