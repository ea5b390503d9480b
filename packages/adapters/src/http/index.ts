/**
 * `@omt/adapters/http`: the publishing API as a fetch-style handler, and a tiny `node:http`
 * adapter to serve it. Node-only subpath (`node` export condition) because of `serveHandler`;
 * the handler itself only uses Request/Response.
 *
 * @example
 * ```ts
 * import { createPublishHandler, serveHandler } from '@omt/adapters/http';
 * const server = await serveHandler(createPublishHandler({ publisher }), { port: 8080 });
 * ```
 */
export { createPublishHandler, type FetchHandler, type PublishHandlerOptions } from './publish-handler.js';
export { type ServedHandler, serveHandler } from './serve-handler.js';
