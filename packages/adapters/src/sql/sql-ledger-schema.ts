import type { ColumnType, Generated } from 'kysely';
import type { OmtSchema } from './schema.js';

/** `omt_ledger_nonces` (migration 0003): one row per used (signer, nonce). */
export interface LedgerNoncesTable {
  signer: string;
  nonce: string;
  hash: string;
  timestamp: Date;
  created_at: Generated<Date>;
}

/** `omt_ledger_signers` (migration 0003): the signer key registry. */
export interface LedgerSignersTable {
  key_id: string;
  alg: string;
  public_key: Uint8Array;
  valid_from: Date;
  valid_until: Date | null;
  label: string | null;
  status: 'active' | 'revoked';
  registered_at: Date;
  revoked_at: Date | null;
  revocation_reason: string | null;
}

/** `omt_ledger_utxos` (migration 0003): the UTXO pool; bigint columns read as decimal strings. */
export interface LedgerUtxosTable {
  pool: string;
  txid: string;
  vout: ColumnType<string, number | string, never>;
  satoshis: ColumnType<string, bigint | string, never>;
  script: Uint8Array;
  key_path: string | null;
  state: 'available' | 'reserved' | 'spent';
  reservation_id: string | null;
  reserved_by: string | null;
  reserved_until: Date | null;
  spent_by: string | null;
  created_at: Generated<Date>;
}

/** `omt_ledger_utxo_reservations` (migration 0003): every reservation ever granted. */
export interface LedgerUtxoReservationsTable {
  pool: string;
  id: string;
  worker: string;
  inputs: number;
  total: ColumnType<string, bigint | string, bigint | string>;
  expires_at: Date;
  created_at: Generated<Date>;
}

/** The ledger tables (kept beside `OmtSchema`; stores widen their database with `withTables`). */
// A type alias, not an interface: kysely's `withTables` needs an index-signature-compatible type.
export type LedgerSchema = {
  omt_ledger_nonces: LedgerNoncesTable;
  omt_ledger_signers: LedgerSignersTable;
  omt_ledger_utxos: LedgerUtxosTable;
  omt_ledger_utxo_reservations: LedgerUtxoReservationsTable;
};

/** OmtSchema plus the ledger tables. */
export type OmtLedgerSchema = OmtSchema & LedgerSchema;
