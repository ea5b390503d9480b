/**
 * `@omt/c2pa`: build, sign, embed, read and validate C2PA manifests.
 *
 * @example
 * ```ts
 * import { readManifestStore, signAsset, buildActionsAssertion } from '@omt/c2pa';
 * const store = readManifestStore(bytes, 'image/jpeg');
 * ```
 */
export * from './assertions/index.js';
export * from './asset.js';
export * from './builder.js';
export * from './claim.js';
export * from './claim-signature.js';
export * from './data-hash.js';
export * from './hash-alg.js';
export * from './hashed-uri.js';
export * from './jumbf.js';
export * from './manifest-store.js';
export * from './pki.js';
// trust.ts declares a structurally equal ValidationStatus; the explicit export picks ours.
export type { ValidationStatus } from './status-codes.js';
export * from './status-codes.js';
export * from './trust.js';
export * from './x509.js';
