import type { ColumnType } from 'kysely';

/**
 * A PostgreSQL `bigint` column. Read as a decimal string on both backends (pg's default,
 * lossless; PGlite is configured the same way); written from a number, bigint or string.
 * Append-only tables forbid updates, hence `never`.
 */
export type Int8Column = ColumnType<string, number | bigint | string, never>;

/** `omt_audit_entries`: one row per audit-log entry (migration 0001). */
export interface AuditEntriesTable {
  log: string;
  seq: Int8Column;
  prev_hash: ColumnType<Uint8Array, Uint8Array, never>;
  hash: ColumnType<Uint8Array, Uint8Array, never>;
  body: ColumnType<string, string, never>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

/** `omt_audit_heads`: signed heads of audit logs (migration 0001). */
export interface AuditHeadsTable {
  log: string;
  size: Int8Column;
  /** 0 for the first head of a size, then 1, 2, … for heads re-signed at the same size. */
  revision: ColumnType<number, number | undefined, never>;
  hash: ColumnType<Uint8Array, Uint8Array, never>;
  body: ColumnType<string, string, never>;
}

/** Append-only columns: written once on insert, never updated (the tables refuse UPDATE). */
type Once<T> = ColumnType<T, T, never>;

/** `omt_ledger_events`: committed events, one per (chain, height) (migration 0005). */
export interface LedgerEventsTable {
  chain: Once<string>;
  height: Int8Column;
  hash: Once<string>;
  prev: Once<string | null>;
  machine: Once<string>;
  type: Once<string>;
  event: Once<string>;
  qc: Once<string>;
  state: Once<string>;
  committed_at: Once<Date>;
}

/**
 * `omt_ledger_qc_notes`: the checkpoint notes that stored QCs reference, once each, by the SHA-256
 * (lower-case hex) of the JSON-escaped note text (migration 0008; append-only).
 */
export interface LedgerQcNotesTable {
  hash: Once<string>;
  /** The note as it appears inside the QC's JSON string (escaped: `\n` for a newline). */
  note: Once<string>;
}

/** `omt_ledger_payouts`: the payouts stored with an event, `seq` 0, 1, … per event (migration 0005). */
export interface LedgerPayoutsTable {
  chain: Once<string>;
  height: Int8Column;
  seq: Once<number>;
  invoice: Once<string>;
  party: Once<string>;
  role: Once<string>;
  amount: Int8Column;
  currency: Once<string>;
}

/** `omt_ledger_votes`: an operator's one vote per (chain, height) and its log leaf (migration 0005). */
export interface LedgerVotesTable {
  chain: Once<string>;
  height: Int8Column;
  hash: Once<string>;
  leaf_index: Int8Column;
  voted_at: Once<Date>;
}

/** `omt_ledger_log_leaves`: the vote log's leaves, dense indexes from 0 (migration 0005). */
export interface LedgerLogLeavesTable {
  idx: Int8Column;
  data: Once<Uint8Array>;
  /** RFC 9162 leaf hash SHA-256(0x00 ‖ data). */
  leaf_hash: Once<Uint8Array>;
}

/** `omt_ledger_anchors`: anchored checkpoints by size (migration 0007; replaced by a later save). */
export interface LedgerAnchorsTable {
  size: Int8Column;
  anchored: string;
  saved_at: Date;
}

/** `omt_ledger_checkpoints`: the vote log's signed checkpoints by size (migration 0005). */
export interface LedgerCheckpointsTable {
  size: Int8Column;
  note: Once<string>;
  saved_at: Once<Date>;
}

/** `omt_ledger_witness_state`: latest cosigned size and root per log origin; updatable (migration 0005). */
export interface LedgerWitnessStateTable {
  origin: ColumnType<string, string, never>;
  size: ColumnType<string, number | string, number | string>;
  root: ColumnType<Uint8Array, Uint8Array, Uint8Array>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/**
 * The kysely `Database` type of the one OpenMediaTrust schema (ARCHITECTURE "Storage").
 * A migration that adds tables adds their interfaces here.
 *
 * @example
 * ```ts
 * const rows = await db.selectFrom('omt_audit_heads').selectAll().execute();
 * ```
 */
export interface OmtSchema {
  omt_audit_entries: AuditEntriesTable;
  omt_audit_heads: AuditHeadsTable;
  omt_ledger_events: LedgerEventsTable;
  omt_ledger_qc_notes: LedgerQcNotesTable;
  omt_ledger_payouts: LedgerPayoutsTable;
  omt_ledger_votes: LedgerVotesTable;
  omt_ledger_log_leaves: LedgerLogLeavesTable;
  omt_ledger_checkpoints: LedgerCheckpointsTable;
  omt_ledger_anchors: LedgerAnchorsTable;
  omt_ledger_witness_state: LedgerWitnessStateTable;
}
