import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * `omt_ledger_qc_notes`: the checkpoint notes of stored quorum certificates, once each, by the
 * SHA-256 (lower-case hex) of the note as it appears in the QC's JSON text (JSON-escaped, UTF-8).
 * `SqlEventStore` stores a QC with each `"checkpoint":"<note>"` replaced by a reference to its
 * row, and inserts the notes in the very statement that inserts the events, so a stored QC never
 * references a missing note. All events of one batch carry the same few signed notes (~4.5 KB
 * each with ML-DSA-65), so this stores a few notes per batch instead of copies in every event.
 *
 * The CHECK ties every row to its hash (a note cannot be stored under another one's hash, even by
 * raw SQL); append-only like the other committed tables (0005's trigger function refuses UPDATE,
 * DELETE and TRUNCATE with SQLSTATE `OMT01`). Notes are mostly base64 signatures, which pglz
 * cannot compress: stored without the attempt (`storage external`, as 0006 does for QCs).
 */
export const ledgerQcNotes0008: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('omt_ledger_qc_notes')
      .addColumn('hash', sql`text collate "C"`, (c) => c.primaryKey().check(sql`hash ~ '^[0-9a-f]{64}$'`))
      .addColumn('note', 'text', (c) => c.notNull())
      .addCheckConstraint(
        'omt_ledger_qc_notes_hash',
        sql`hash = encode(sha256(convert_to(note, 'UTF8')), 'hex')`,
      )
      .execute();
    await sql`alter table omt_ledger_qc_notes alter column note set storage external`.execute(db);
    await sql`create trigger omt_ledger_qc_notes_append_only before update or delete on omt_ledger_qc_notes
      for each row execute function omt_ledger_forbid_mutation()`.execute(db);
    await sql`create trigger omt_ledger_qc_notes_no_truncate before truncate on omt_ledger_qc_notes
      for each statement execute function omt_ledger_forbid_mutation()`.execute(db);
  },
};
