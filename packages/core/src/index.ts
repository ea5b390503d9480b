/**
 * `@omt/core`: everything of the core in one import. Prefer the subpath imports
 * (`@omt/core/suites`, `@omt/core/cose`, …) in browser code: each pulls in only what it needs.
 */
export * from './audit-log.js';
export * from './audit-log-memory.js';
export * from './bytes.js';
export * from './cbor.js';
export * from './coalesce.js';
export * from './cose/index.js';
export * from './errors.js';
export * from './hash.js';
export * from './hash-stream.js';
export * from './input.js';
export * from './jcs.js';
export * from './keys/index.js';
export * from './merkle.js';
export type * from './ports.js';
export * from './random.js';
export * from './signed-json.js';
export * from './suites/index.js';
