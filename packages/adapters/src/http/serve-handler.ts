import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { OmtError } from '@omt/core/errors';
import type { FetchHandler } from './http-json.js';

/** A running server. */
export interface ServedHandler {
  /** e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves a fetch-style handler with `node:http` (the tiny adapter `omt serve` uses).
 * Port 0 picks a free port. Failure to listen → `adapters.http.listen-failed`.
 * @example
 * ```ts
 * const { url, close } = await serveHandler(createPublishHandler({ publisher }), { port: 8080 });
 * ```
 */
export async function serveHandler(
  handler: FetchHandler,
  options: { port?: number; host?: string } = {},
): Promise<ServedHandler> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    void respond(handler, host, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new OmtError('adapters.http.listen-failed', `cannot listen on ${host}:${options.port ?? 0}`, {
          cause: e,
        }),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function respond(
  handler: FetchHandler,
  host: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
    }
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const request = new Request(`http://${req.headers.host ?? host}${req.url ?? '/'}`, {
      method,
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    } as RequestInit);
    const response = await handler(request);
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => {
      out[k] = v;
    });
    const body = method === 'HEAD' ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer());
    res.writeHead(response.status, { ...out, 'content-length': String(body.byteLength) });
    res.end(body);
    // A refused upload may still be streaming in: drop the rest.
    if (!req.complete) req.destroy();
  } catch {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
    res.end('{"error":{"code":"adapters.http.internal","message":"internal error"}}\n');
  }
}
