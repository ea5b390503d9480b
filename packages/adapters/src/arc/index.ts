/**
 * `@omt/adapters/arc`: the BSV ARC broadcaster as a @omt/ledger `ChainClient`. Uses the
 * global `fetch` (undici in Node). Node-only subpath.
 * @example
 * ```ts
 * import { ArcClient } from '@omt/adapters/arc';
 * const chain = new ArcClient({ url: 'https://arc.taal.com', apiKey, waitFor: 'SEEN_ON_NETWORK' });
 * ```
 */
export {
  ARC_STATUSES,
  ArcClient,
  type ArcClientOptions,
  type ArcWaitFor,
  arcState,
  parseArcStatus,
} from './arc-client.js';
