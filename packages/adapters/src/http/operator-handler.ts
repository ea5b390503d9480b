import { timingSafeEqual } from 'node:crypto';
import { isOmtError, OmtError } from '@omt/core/errors';
import type { AnchoredCheckpoint } from '@omt/ledger/checkpoint-anchor';
import type { CommittedEntry, OperatorApi } from '@omt/ledger/operator-api';
import { packCheckpoints, unpackCheckpoints } from './checkpoint-packing.js';
import { error, type FetchHandler, healthAnswer, json, readBody, withAllow } from './http-json.js';

/** What the handler serves: an operator plus its raw transparency-log endpoints. */
export interface ServableOperator extends OperatorApi {
  /** A tlog-tiles resource (`tile/…` path without the leading slash), or undefined. */
  tile(path: string): Promise<Uint8Array | undefined>;
  /** The tlog-witness `add-checkpoint` endpoint, answering as the spec says. */
  addCheckpoint(body: string): Promise<{ status: number; body: string; contentType: string }>;
  /** Records an anchored checkpoint of this operator's log (`EventOperator.addAnchor`). */
  addAnchor?(anchored: AnchoredCheckpoint): Promise<void>;
}

/** Options of {@link createOperatorHandler}. */
export interface OperatorHandlerOptions {
  readonly operator: ServableOperator;
  /** Largest accepted request body in bytes (default 32 MiB: 1,000 events with ML-DSA signatures). */
  readonly maxBodyBytes?: number;
  /**
   * Bearer token of the operator's own anchoring job: with it `POST /v1/anchors` is enabled (at
   * least 16 characters); without it that endpoint answers 404. Anyone may read anchors.
   */
  readonly adminToken?: string;
}

const MAX_BATCH = 1_000;

/**
 * An event-chain operator as a fetch-style handler (docs/event-chains.md):
 * - `POST /v1/events` `{events: [...]}` → `{results: VoteAnswer[]}` (validate and vote);
 * - `POST /v1/commit` `{entries: [{event, qc}]}` → `{results: CommitAnswer[]}`;
 * - `GET /v1/chains/:chain[?from=h]` → `ChainView`; `GET /v1/log/consistency?from=&to=` →
 *   `{proof}`; `GET /health` → `OperatorStatus`;
 * - C2SP: `GET /checkpoint` (tlog-checkpoint signed note), `GET /tile/…` (tlog-tiles, full tiles
 *   immutable), `POST /add-checkpoint` (tlog-witness);
 * - `POST /v1/anchors` (`Authorization: Bearer <adminToken>`) an `AnchoredCheckpoint` → 204: the
 *   operator checks it is its own checkpoint and the proof is about it, stores and serves it
 *   (403 `adapters.http.forbidden` for a missing or wrong token; 404 when no token is set).
 * Errors are JSON `{error: {code, message}}` with the OmtError code; 413 above the body limit.
 * @example
 * ```ts
 * const served = await serveHandler(createOperatorHandler({ operator }), { port: 7101 });
 * ```
 */
export function createOperatorHandler(options: OperatorHandlerOptions): FetchHandler {
  const operator = options?.operator;
  if (operator === undefined) throw new OmtError('adapters.http.invalid', 'an operator is required');
  const limit = options.maxBodyBytes ?? 32 * 1024 * 1024;
  if (!Number.isInteger(limit) || limit < 1024 || limit > 256 * 1024 * 1024)
    throw new OmtError('adapters.http.invalid', 'maxBodyBytes must be 1 KiB – 256 MiB');
  const adminToken = options.adminToken;
  if (adminToken !== undefined && (typeof adminToken !== 'string' || adminToken.length < 16))
    throw new OmtError('adapters.http.invalid', 'adminToken must be a string of at least 16 characters');
  const expected = adminToken === undefined ? undefined : new TextEncoder().encode(`Bearer ${adminToken}`);
  const authorised = (request: Request): boolean => {
    if (expected === undefined) return false;
    const given = new TextEncoder().encode(request.headers.get('authorization') ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const readJson = async (request: Request): Promise<Record<string, unknown>> => {
    const body = await readBody(request, limit);
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch (e) {
      throw new OmtError('adapters.http.bad-request', 'the body is not JSON', { cause: e });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new OmtError('adapters.http.bad-request', 'the body must be a JSON object');
    return value as Record<string, unknown>;
  };
  const batch = (value: unknown, name: string): unknown[] => {
    if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH)
      throw new OmtError('adapters.http.bad-request', `"${name}" must be an array of 1–${MAX_BATCH} items`);
    return value;
  };
  const intParam = (url: URL, name: string, required: boolean): number | undefined => {
    const text = url.searchParams.get(name);
    if (text === null) {
      if (required) throw new OmtError('adapters.http.bad-request', `query parameter ${name} is required`);
      return undefined;
    }
    if (!/^\d{1,15}$/.test(text))
      throw new OmtError('adapters.http.bad-request', `${name} must be a non-negative integer`);
    return Number(text);
  };

  return async (request: Request): Promise<Response> => {
    try {
      const url = new URL(request.url);
      const path = url.pathname;
      const method = request.method.toUpperCase();
      const allow = (methods: string): Response | undefined =>
        methods.split(',').includes(method)
          ? undefined
          : withAllow(
              error(405, 'adapters.http.method-not-allowed', `${method} is not allowed here`),
              methods,
            );

      if (path === '/v1/events') {
        const no = allow('POST');
        if (no !== undefined) return no;
        const events = batch((await readJson(request)).events, 'events');
        const packed = packCheckpoints(await operator.submit(events, request.signal));
        return json(200, { results: packed.items, notes: packed.notes });
      }
      if (path === '/v1/commit') {
        const no = allow('POST');
        if (no !== undefined) return no;
        const body = await readJson(request);
        const entries = unpackCheckpoints(batch(body.entries, 'entries'), body.notes) as CommittedEntry[];
        return json(200, { results: await operator.commit(entries, request.signal) });
      }
      const chain = /^\/v1\/chains\/([^/]+)$/.exec(path);
      if (chain !== null) {
        const no = allow('GET,HEAD');
        if (no !== undefined) return no;
        const fromHeight = intParam(url, 'from', false);
        const view = await operator.chain(decodeURIComponent(chain[1] as string), {
          ...(fromHeight === undefined ? {} : { fromHeight }),
          signal: request.signal,
        });
        const packed = packCheckpoints(view.events);
        return json(200, { ...view, events: packed.items, notes: packed.notes });
      }
      if (path === '/v1/log/consistency') {
        const no = allow('GET,HEAD');
        if (no !== undefined) return no;
        const to = intParam(url, 'to', true) as number;
        const fromText = url.searchParams.get('from') ?? '';
        if (fromText.includes(',')) {
          // Several proofs to one size in one round trip (clients checking many receipts).
          if (!/^\d{1,15}(,\d{1,15}){1,255}$/.test(fromText))
            throw new OmtError('adapters.http.bad-request', 'from must be 2–256 comma-separated sizes');
          const froms = fromText.split(',').map(Number);
          const proofs = await Promise.all(froms.map((f) => operator.consistency(f, to, request.signal)));
          return json(200, { from: froms, to, proofs });
        }
        const from = intParam(url, 'from', true) as number;
        return json(200, { from, to, proof: await operator.consistency(from, to, request.signal) });
      }
      if (path === '/checkpoint') {
        const no = allow('GET,HEAD');
        if (no !== undefined) return no;
        return new Response(await operator.checkpoint(request.signal), {
          status: 200,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        });
      }
      if (path.startsWith('/tile/')) {
        const no = allow('GET,HEAD');
        if (no !== undefined) return no;
        const bytes = await operator.tile(path.slice(1));
        if (bytes === undefined) return error(404, 'ledger.tile.not-found', 'no such tile');
        // Full tiles never change (tlog-tiles); partial ones (`.p/`) are replaced as the log grows.
        const immutable = !path.includes('.p/');
        return new Response(bytes as Uint8Array<ArrayBuffer>, {
          status: 200,
          headers: {
            'content-type': 'application/octet-stream',
            'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          },
        });
      }
      if (path === '/add-checkpoint') {
        const no = allow('POST');
        if (no !== undefined) return no;
        const body = new TextDecoder('utf-8', { fatal: true }).decode(await readBody(request, 1024 * 1024));
        const answer = await operator.addCheckpoint(body);
        return new Response(answer.body, {
          status: answer.status,
          headers: { 'content-type': answer.contentType },
        });
      }
      if (path === '/v1/anchors') {
        if (expected === undefined || operator.addAnchor === undefined)
          return error(404, 'adapters.http.not-found', 'anchoring over HTTP is not enabled on this operator');
        const no = allow('POST');
        if (no !== undefined) return no;
        if (!authorised(request))
          return error(403, 'adapters.http.forbidden', 'a valid bearer token is required');
        await operator.addAnchor((await readJson(request)) as unknown as AnchoredCheckpoint);
        return new Response(null, { status: 204 });
      }
      if (path === '/health') {
        const no = allow('GET,HEAD');
        if (no !== undefined) return no;
        return healthAnswer(() => operator.status(request.signal));
      }
      return error(404, 'adapters.http.not-found', 'no such endpoint');
    } catch (e) {
      if (isOmtError(e, 'adapters.http.too-large')) return error(413, e.code, e.message);
      if (isOmtError(e, 'adapters.http.bad-request')) return error(400, e.code, e.message);
      if (e instanceof URIError)
        return error(400, 'adapters.http.bad-request', 'malformed percent-encoding in the path');
      if (e instanceof TypeError && /decode/i.test(e.message))
        return error(400, 'adapters.http.bad-request', 'the body is not UTF-8');
      if (isOmtError(e)) return error(statusFor(e.code), e.code, e.message);
      return error(500, 'adapters.http.internal', 'internal error');
    }
  };
}

/** Client mistakes are 4xx; anything else (storage down, …) 500/503. */
function statusFor(code: string): number {
  if (
    code.endsWith('.malformed') ||
    code.endsWith('.invalid') ||
    code.endsWith('.schema') ||
    code.endsWith('.mismatch')
  )
    return 400;
  if (code.endsWith('.not-found') || code.endsWith('.unknown')) return 404;
  if (code.endsWith('.conflict')) return 409;
  if (code.endsWith('.unavailable')) return 503;
  return 500;
}
