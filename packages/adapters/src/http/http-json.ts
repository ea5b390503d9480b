import { concatBytes } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';

/*
 * Small pieces shared by the fetch-style handlers of this subpath: JSON answers, JSON errors
 * `{ error: { code, message } }`, and a size-limited body reader.
 */

/** A fetch-style handler, as Deno, Bun, Cloudflare Workers and `serveHandler` run them. */
export type FetchHandler = (request: Request) => Promise<Response>;

export const JSON_HEADERS: Record<string, string> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

/** A JSON response. */
export function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** A JSON error response. */
export function error(
  status: number,
  code: string,
  message: string,
  extra?: Record<string, unknown>,
): Response {
  return json(status, { error: { code, message, ...extra } });
}

/** Reads at most `limit` bytes of a body; more → `adapters.http.too-large`. */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit)
    throw new OmtError('adapters.http.too-large', `request body exceeds ${limit} bytes`);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new OmtError('adapters.http.too-large', `request body exceeds ${limit} bytes`);
    }
    parts.push(value);
  }
  return concatBytes(...parts);
}

/**
 * The bytes of an answer body (undici's, an async iterable of chunks), at most `limit` of them;
 * one more and the caller's `tooLarge()` error is thrown (leaving the loop early destroys the
 * body, so the rest is never read).
 */
export async function readAnswer(
  body: AsyncIterable<Uint8Array>,
  limit: number,
  tooLarge: () => OmtError,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    parts.push(chunk);
  }
  return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(...parts);
}

/** Adds the `Allow` header to a 405 answer. */
export function withAllow(r: Response, allow: string): Response {
  r.headers.set('allow', allow);
  return r;
}

/**
 * A `/health` answer: 200 with what `status()` gives, or 503 `{ ok: false, error: { code } }`
 * when the store behind it does not answer (its OmtError code, never its message).
 */
export async function healthAnswer(status: () => Promise<unknown>): Promise<Response> {
  try {
    return json(200, await status());
  } catch (e) {
    return json(503, {
      ok: false,
      error: { code: isOmtError(e) ? e.code : 'adapters.http.unavailable' },
    });
  }
}
