/**
 * `@omt/adapters/kms-local`: the embedded default KMS — L1 root keys in a passphrase-protected key
 * file ({@link openLocalRootKeyProvider}) and the wrapped-key store on the shared SQL schema
 * ({@link SqlKmsKeyStore}, also usable with any other RootKeyProvider). Node-only.
 *
 * @example
 * ```ts
 * import { openLocalRootKeyProvider, SqlKmsKeyStore } from '@omt/adapters/kms-local';
 * import { createKms } from '@omt/kms';
 * const rootKeys = await openLocalRootKeyProvider({ path, passphrase, create: true });
 * const { kms, governance } = createKms({ rootKeys, keyStore: new SqlKmsKeyStore(omt.db), audit });
 * ```
 */

export { SqlKmsKeyStore } from '../sql/sql-kms-key-store.js';
export type {
  KmsGrantsTable,
  KmsJobsTable,
  KmsKeysTable,
  KmsObjectSecretsTable,
  KmsSchema,
  KmsTenantsTable,
  OmtKmsSchema,
} from '../sql/sql-kms-schema.js';
export {
  DEFAULT_SCRYPT,
  LocalRootKeyProvider,
  type LocalRootKeyProviderOptions,
  openLocalRootKeyProvider,
  type ScryptParams,
  writeFileAtomic,
} from './local-root-key-provider.js';
export { nodeAead } from './node-aead.js';
