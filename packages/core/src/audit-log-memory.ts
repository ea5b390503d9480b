import { isBytes } from './bytes.js';
import { OmtError } from './errors.js';
import type { AuditLogStore, StoredAuditEntry, StoredAuditHead } from './ports.js';

/**
 * An in-memory {@link AuditLogStore} with the exact port semantics: gap-free, optimistic, atomic
 * `append` (`core.audit.conflict` when the batch does not start at the log's size or is not
 * consecutive, or mixes logs), non-decreasing head sizes, nothing ever updated or deleted. Byte
 * arrays are copied on the way in and out, so callers can never mutate what is stored. Malformed
 * records (wrong field types) are refused with `core.audit.invalid`.
 *
 * For tests, demos and single-process tools; state vanishes with the process.
 *
 * @example
 * ```ts
 * const log = new AuditLog(new MemoryAuditLogStore(), { log: 'kms' });
 * await log.append({ actor: 'svc:kms', action: 'kms.unseal', outcome: 'allow' });
 * ```
 */
export class MemoryAuditLogStore implements AuditLogStore {
  readonly #entries = new Map<string, StoredAuditEntry[]>();
  readonly #heads = new Map<string, StoredAuditHead[]>();

  async append(entries: readonly StoredAuditEntry[]): Promise<void> {
    if (!Array.isArray(entries)) throw new OmtError('core.audit.invalid', 'entries must be an array');
    if (entries.length === 0) return;
    for (const e of entries) checkEntry(e);
    const first = entries[0] as StoredAuditEntry;
    const existing = this.#entries.get(first.log) ?? [];
    // Validate the whole batch before touching state: the append is all-or-nothing.
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as StoredAuditEntry;
      if (e.log !== first.log) throw conflict(`batch mixes logs '${first.log}' and '${e.log}'`);
      if (e.seq !== existing.length + i) {
        throw conflict(
          `log '${first.log}' has ${existing.length} entries; got seq ${e.seq} at batch position ${i}`,
        );
      }
    }
    for (const e of entries) existing.push(copyEntry(e));
    this.#entries.set(first.log, existing);
  }

  async last(log: string): Promise<StoredAuditEntry | undefined> {
    checkLog(log);
    const list = this.#entries.get(log);
    const e = list?.[list.length - 1];
    return e === undefined ? undefined : copyEntry(e);
  }

  async read(log: string, fromSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    checkLog(log);
    checkCount(fromSeq, 'fromSeq');
    checkCount(limit, 'limit');
    return (this.#entries.get(log) ?? []).slice(fromSeq, fromSeq + limit).map(copyEntry);
  }

  async putHead(head: StoredAuditHead): Promise<void> {
    checkHead(head);
    const list = this.#heads.get(head.log) ?? [];
    const latest = list[list.length - 1];
    if (latest !== undefined && head.size < latest.size) {
      throw conflict(`head size ${head.size} is below the latest head size ${latest.size} of '${head.log}'`);
    }
    list.push(copyHead(head));
    this.#heads.set(head.log, list);
  }

  async latestHead(log: string): Promise<StoredAuditHead | undefined> {
    checkLog(log);
    const list = this.#heads.get(log);
    const h = list?.[list.length - 1];
    return h === undefined ? undefined : copyHead(h);
  }
}

function conflict(message: string): OmtError {
  return new OmtError('core.audit.conflict', message);
}

function bad(message: string): OmtError {
  return new OmtError('core.audit.invalid', message);
}

function checkLog(log: unknown): asserts log is string {
  if (typeof log !== 'string' || log.length === 0) throw bad('log must be a non-empty string');
}

function checkCount(n: unknown, what: string): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw bad(`${what} must be a non-negative integer`);
}

function checkEntry(e: StoredAuditEntry): void {
  if (typeof e !== 'object' || e === null) throw bad('entry must be an object');
  checkLog(e.log);
  checkCount(e.seq, 'seq');
  if (!isBytes(e.prevHash) || !isBytes(e.hash)) throw bad('prevHash and hash must be Uint8Array');
  if (typeof e.body !== 'string') throw bad('body must be a string');
}

function checkHead(h: StoredAuditHead): void {
  if (typeof h !== 'object' || h === null) throw bad('head must be an object');
  checkLog(h.log);
  checkCount(h.size, 'size');
  if (!isBytes(h.hash)) throw bad('hash must be a Uint8Array');
  if (typeof h.body !== 'string') throw bad('body must be a string');
}

function copyEntry(e: StoredAuditEntry): StoredAuditEntry {
  return { log: e.log, seq: e.seq, prevHash: e.prevHash.slice(), hash: e.hash.slice(), body: e.body };
}

function copyHead(h: StoredAuditHead): StoredAuditHead {
  return { log: h.log, size: h.size, hash: h.hash.slice(), body: h.body };
}
