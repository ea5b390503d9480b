/**
 * Ports declared by @omt/core (ARCHITECTURE rule 2). Adapters implement them;
 * `@omt/core/testing` exports a contract test suite for each.
 */

/** One audit-log entry as persisted: the canonical (RFC 8785) JSON text plus its chain hashes. */
export interface StoredAuditEntry {
  /** Log name, e.g. `kms`, `ledger.publisher`. */
  readonly log: string;
  /** 0-based position in the log; entries form a gap-free sequence. */
  readonly seq: number;
  /** Hash of the previous entry (32 zero bytes for seq 0). */
  readonly prevHash: Uint8Array;
  /** Hash of this entry (see audit-log.ts for how it is computed). */
  readonly hash: Uint8Array;
  /** RFC 8785 canonical JSON text of the entry. */
  readonly body: string;
}

/** A signed head of an audit log, as persisted. */
export interface StoredAuditHead {
  readonly log: string;
  /** Number of entries the head covers. */
  readonly size: number;
  /** Hash of the entry at `size - 1` (the chain head). */
  readonly hash: Uint8Array;
  /** RFC 8785 canonical JSON text of the signed head, signature included. */
  readonly body: string;
}

/**
 * Persistence for the hash-chained audit log. Stores are dumb but safe:
 * `append` is atomic and optimistic — it fails with `OmtError('core.audit.conflict')`
 * when `entries[0].seq` is not the log's current size or the entries are not
 * consecutive, so two writers can never fork a log. Nothing stored is ever
 * updated or deleted.
 */
export interface AuditLogStore {
  append(entries: readonly StoredAuditEntry[]): Promise<void>;
  /** The last entry of `log`, or undefined when the log is empty. */
  last(log: string): Promise<StoredAuditEntry | undefined>;
  /** Up to `limit` entries of `log` starting at `fromSeq`, in order. */
  read(log: string, fromSeq: number, limit: number): Promise<StoredAuditEntry[]>;
  /** Records a signed head; heads of one log must have non-decreasing sizes (`core.audit.conflict` otherwise). */
  putHead(head: StoredAuditHead): Promise<void>;
  /** The head with the largest size, or undefined. */
  latestHead(log: string): Promise<StoredAuditHead | undefined>;
}
