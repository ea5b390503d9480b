import type { OmtSchema } from './schema.js';

/** `omt_kms_tenants` (migration 0002). */
export interface KmsTenantsTable {
  tenant: string;
  root_key_id: string;
  state: 'enabled' | 'revoked';
  created_at: string;
  updated_at: string;
}

/** `omt_kms_keys` (migration 0002): wrapped L2 (`service` '') and L3 key versions. */
export interface KmsKeysTable {
  tenant: string;
  service: string;
  version: number;
  level: number;
  state: 'active' | 'decrypt-only' | 'retired' | 'destroyed';
  wrapped_by: string;
  wrapped: Uint8Array;
  created_at: string;
  updated_at: string;
}

/** `omt_kms_grants` (migration 0002); `operations` is a comma-separated list. */
export interface KmsGrantsTable {
  tenant: string;
  service: string;
  principal: string;
  operations: string;
  created_at: string;
}

/** `omt_kms_object_secrets` (migration 0002). */
export interface KmsObjectSecretsTable {
  tenant: string;
  service: string;
  ref: string;
  object_id: string;
  state: 'active' | 'destroyed';
  secret: Uint8Array;
  created_at: string;
  updated_at: string;
}

/** `omt_kms_jobs` (migration 0002). */
export interface KmsJobsTable {
  id: string;
  tenant: string;
  kind: string;
  from_version: number;
  to_version: number;
  state: 'running' | 'done';
  cursor: string;
  created_at: string;
  updated_at: string;
}

/** The KMS tables (migration 0002). */
export type KmsSchema = {
  omt_kms_tenants: KmsTenantsTable;
  omt_kms_keys: KmsKeysTable;
  omt_kms_grants: KmsGrantsTable;
  omt_kms_object_secrets: KmsObjectSecretsTable;
  omt_kms_jobs: KmsJobsTable;
};

/** The shared schema plus the KMS tables. */
export type OmtKmsSchema = OmtSchema & KmsSchema;
