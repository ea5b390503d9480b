import { isOmtError, OmtError } from '@omt/core/errors';
import type { IntentProblem } from '@omt/ledger/intent';
import type { Publisher } from '@omt/ledger/publisher';
import { error, type FetchHandler, healthAnswer, json, readBody, withAllow } from './http-json.js';

/** Options of {@link createPublishHandler}. */
export interface PublishHandlerOptions {
  readonly publisher: Publisher;
  /** Largest accepted request body in bytes (default 256 KiB; an intent's record is ≤ 64 KiB). */
  readonly maxBodyBytes?: number;
}

/** HTTP status for a refused intent: 400 malformed, 409 replayed, 403 signer not allowed, else 422. */
function refusalStatus(problems: readonly IntentProblem[]): number {
  const codes = problems.map((p) => p.code);
  if (codes.includes('ledger.intent.schema')) return 400;
  if (codes.every((c) => c === 'ledger.nonce.replayed')) return 409;
  if (codes.some((c) => c.startsWith('ledger.signer.'))) return 403;
  return 422;
}

/**
 * The publishing API as a fetch-style handler:
 * - `POST /v1/publish` (body: intent JSON) → 202 `{ jobId, recordId, recordHash, status: 'queued' }`
 *   with `Location: /v1/job/<id>`; a refused intent → 400/403/409/422 with every problem;
 * - `GET /v1/job/:id` → the job (publisher.ts `JobView`: status, txid, rawTx, proof, …);
 * - `GET /v1/record/:rid` → `{ jobId, recordId, status, record, txid, proof }` of the latest job;
 * - `GET /health` → `{ ok, jobs: { queued, signed, … } }` (503 when the store does not answer).
 * Errors are JSON `{ error: { code, message } }` with the OmtError code; bodies above the limit → 413.
 * @example
 * ```ts
 * const handler = createPublishHandler({ publisher });
 * const server = await serveHandler(handler, { port: 8080 });
 * ```
 */
export function createPublishHandler(options: PublishHandlerOptions): FetchHandler {
  const publisher = options?.publisher;
  if (publisher === undefined) throw new OmtError('adapters.http.invalid', 'a publisher is required');
  const limit = options.maxBodyBytes ?? 256 * 1024;
  if (!Number.isInteger(limit) || limit < 1 || limit > 64 * 1024 * 1024)
    throw new OmtError('adapters.http.invalid', 'maxBodyBytes must be 1 B – 64 MiB');

  return async (request: Request): Promise<Response> => {
    try {
      const url = new URL(request.url);
      const path = url.pathname;
      const method = request.method.toUpperCase();
      const allow = (methods: string): Response | undefined =>
        methods.split(',').includes(method)
          ? undefined
          : error(405, 'adapters.http.method-not-allowed', `${method} is not allowed here`, undefined);

      if (path === '/v1/publish') {
        const no = allow('POST');
        if (no !== undefined) return withAllow(no, 'POST');
        const body = await readBody(request, limit);
        const r = await publisher.publish(body);
        if (r.accepted)
          return json(
            202,
            { jobId: r.jobId, recordId: r.recordId, recordHash: r.recordHash, status: 'queued' },
            { location: `/v1/job/${encodeURIComponent(r.jobId)}` },
          );
        const first = r.problems[0];
        return error(
          refusalStatus(r.problems),
          first?.code ?? 'ledger.intent.schema',
          first?.message ?? 'refused',
          {
            problems: r.problems,
          },
        );
      }
      const job = /^\/v1\/job\/([^/]+)$/.exec(path);
      if (job !== null) {
        const no = allow('GET,HEAD');
        if (no !== undefined) return withAllow(no, 'GET, HEAD');
        const view = await publisher.job(decodeURIComponent(job[1] as string));
        return view === undefined ? error(404, 'ledger.job.unknown', 'no such job') : json(200, view);
      }
      const rec = /^\/v1\/record\/([^/]+)$/.exec(path);
      if (rec !== null) {
        const no = allow('GET,HEAD');
        if (no !== undefined) return withAllow(no, 'GET, HEAD');
        const view = await publisher.record(decodeURIComponent(rec[1] as string));
        if (view === undefined) return error(404, 'ledger.record.unknown', 'no job for this record id');
        return json(200, {
          jobId: view.id,
          recordId: view.recordId,
          recordHash: view.recordHash,
          status: view.status,
          record: view.record,
          ...(view.txid === undefined ? {} : { txid: view.txid }),
          ...(view.proof === undefined ? {} : { proof: view.proof }),
        });
      }
      if (path === '/health') {
        const no = allow('GET,HEAD');
        if (no !== undefined) return withAllow(no, 'GET, HEAD');
        return healthAnswer(async () => ({ ok: true, jobs: await publisher.counts() }));
      }
      return error(404, 'adapters.http.not-found', 'no such endpoint');
    } catch (e) {
      if (isOmtError(e, 'adapters.http.too-large')) return error(413, e.code, e.message);
      if (e instanceof URIError)
        return error(400, 'adapters.http.bad-request', 'malformed percent-encoding in the path');
      // Never a stack trace; OmtError messages carry no secrets by rule.
      if (isOmtError(e)) return error(500, e.code, e.message);
      return error(500, 'adapters.http.internal', 'internal error');
    }
  };
}
