/**
 * `@omt/kms`: the L1–L4 envelope-encryption key hierarchy (see README.md).
 *
 * @example
 * ```ts
 * import { createKms, MemoryKeyStore, MemoryRootKeyProvider } from '@omt/kms';
 * const { kms, governance } = createKms({ rootKeys: new MemoryRootKeyProvider(), keyStore: new MemoryKeyStore() });
 * await governance.createTenant({ actor: 'ops', tenant: 'acme', services: ['media'],
 *   grants: [{ principal: 'svc:dam', service: '*', operations: ['encrypt', 'decrypt'] }] });
 * const env = await kms.encrypt(data, { principal: 'svc:dam', tenant: 'acme', service: 'media', objectId: 'a1' });
 * ```
 */
export { webCryptoAead } from './aead-web.js';
export { AuditRecorder, type AuditRecorderOptions } from './audit-recorder.js';
export { KeyCache, type KeyCacheLimits } from './cache.js';
export {
  DEFAULT_FRAME_SIZE,
  ENVELOPE_FORMAT,
  ENVELOPE_SUITE_AES256GCM_HKDF_SHA512_COMMIT,
  type EncryptionContext,
  type EnvelopeHeader,
  parseEnvelopeHeader,
} from './envelope.js';
export type { ByteSource } from './envelope-stream.js';
export { KmsGovernance, type TenantStatus } from './governance.js';
export { KeyHierarchy, type RewrapReport } from './key-hierarchy.js';
export {
  createKms,
  type DecryptOptions,
  type EncryptOptions,
  type EnvelopeExpectation,
  Kms,
  type KmsInstance,
  type KmsOptions,
} from './kms.js';
export { MemoryKeyStore } from './memory-key-store.js';
export { MemoryRootKeyProvider } from './memory-root-key-provider.js';
export type * from './ports.js';
export {
  decryptStreamWithShare,
  decryptWithShare,
  generateRecipientKeyPair,
  type RecipientKeyPair,
  shareEnvelope,
  XWING_KEM_ID,
} from './recipient.js';
export type { UnsealerStats } from './unsealer.js';
