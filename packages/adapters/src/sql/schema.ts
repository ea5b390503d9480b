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
}
