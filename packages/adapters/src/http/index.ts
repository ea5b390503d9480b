/**
 * `@omt/adapters/http`: fetch-style handlers (the publishing API, event-chain operators, the test
 * payment service), a tiny `node:http` adapter to serve them, the undici client of operators, and
 * the composition of one running operator. Node-only subpath (`node` export condition); the
 * handlers themselves only use Request/Response.
 *
 * @example
 * ```ts
 * import { createPublishHandler, serveHandler } from '@omt/adapters/http';
 * const server = await serveHandler(createPublishHandler({ publisher }), { port: 8080 });
 * ```
 */
export type { FetchHandler } from './http-json.js';
export { HttpOperatorClient, type HttpOperatorClientOptions } from './operator-client.js';
export {
  createOperatorHandler,
  type OperatorHandlerOptions,
  type ServableOperator,
} from './operator-handler.js';
export {
  networkPayments,
  OPERATOR_NODE_FLAGS,
  type OperatorConfig,
  type OperatorNode,
  parseOperatorConfig,
  type StartOperatorOptions,
  shippedMachines,
  startOperatorNode,
} from './operator-node.js';
export { HttpPublishClient, type HttpPublishClientOptions } from './publish-client.js';
export { createPublishHandler, type PublishHandlerOptions } from './publish-handler.js';
export { type ServedHandler, serveHandler } from './serve-handler.js';
export { createTestPaymentHandler, TestPaymentServiceClient } from './test-payment-service.js';
