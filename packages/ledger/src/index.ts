/**
 * `@omt/ledger`: signed publishing intents and replay protection, the signer key registry, the
 * UTXO pool, Bitcoin/BSV transactions with OP_RETURN anchors, batching and anchoring proofs.
 * Every module is also its own subpath (`@omt/ledger/intent`, `@omt/ledger/anchor`, …).
 *
 * @example
 * ```ts
 * import { createIntent, intentSigner, verifyIntent } from '@omt/ledger';
 * const intent = await createIntent({ rid, uri }, await intentSigner('ML-DSA-65', secretKey));
 * const v = await verifyIntent(intent, { registry, nonces, audit });
 * ```
 */
export * from './address.js';
export * from './anchor.js';
export * from './anchor-bump.js';
export * from './anchor-header.js';
export * from './batch.js';
export * from './fee.js';
export * from './hd-wallet.js';
export * from './intent.js';
export * from './intent-nonce.js';
export * from './intent-nonce-store-memory.js';
export * from './job.js';
export * from './job-queue-memory.js';
export * from './key-registry.js';
export * from './key-registry-memory.js';
export * from './network.js';
export * from './offline-chain-client.js';
export * from './op-return.js';
export type * from './ports.js';
export * from './publisher.js';
export * from './publisher-worker.js';
export * from './rate-limiter.js';
export * from './script.js';
export * from './sighash.js';
export * from './transaction.js';
export * from './tx-builder.js';
export * from './utxo.js';
export * from './utxo-store-memory.js';
