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
  readonly #entries = new Map<string, LogEntries>();
  readonly #heads = new Map<string, StoredAuditHead[]>();

  async append(entries: readonly StoredAuditEntry[]): Promise<void> {
    if (!Array.isArray(entries)) throw new OmtError('core.audit.invalid', 'entries must be an array');
    if (entries.length === 0) return;
    for (const e of entries) checkEntry(e);
    const first = entries[0] as StoredAuditEntry;
    const existing = this.#entries.get(first.log) ?? new LogEntries(first.log);
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
    for (const e of entries) existing.push(e);
    this.#entries.set(first.log, existing);
  }

  async last(log: string): Promise<StoredAuditEntry | undefined> {
    checkLog(log);
    const list = this.#entries.get(log);
    return list === undefined || list.length === 0 ? undefined : list.get(list.length - 1);
  }

  async read(log: string, fromSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    checkLog(log);
    checkCount(fromSeq, 'fromSeq');
    checkCount(limit, 'limit');
    const list = this.#entries.get(log);
    const out: StoredAuditEntry[] = [];
    if (list === undefined) return out;
    const end = Math.min(list.length, fromSeq + limit);
    for (let i = fromSeq; i < end; i++) out.push(list.get(i));
    return out;
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

/**
 * The entries of one log, kept compactly: a log holds many entries and each stored object is work
 * for the garbage collector, so the texts sit in one array and every `prevHash ‖ hash` pair back to
 * back in one growing byte buffer (copied in, copied out); a record object exists only while read.
 */
class LogEntries {
  readonly #log: string;
  readonly #bodies: string[] = [];
  #bytes = new Uint8Array(8192);
  #used = 0;
  /** Per entry: the offset of its bytes, the length of `prevHash`, the length of `hash`. */
  readonly #spans: number[] = [];

  constructor(log: string) {
    this.#log = log;
  }

  get length(): number {
    return this.#bodies.length;
  }

  push(e: StoredAuditEntry): void {
    const need = e.prevHash.length + e.hash.length;
    if (this.#used + need > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.#bytes.length, this.#used + need));
      grown.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = grown;
    }
    const at = this.#used;
    this.#bytes.set(e.prevHash, at);
    this.#bytes.set(e.hash, at + e.prevHash.length);
    this.#used += need;
    this.#spans.push(at, e.prevHash.length, e.hash.length);
    this.#bodies.push(e.body);
  }

  get(i: number): StoredAuditEntry {
    const s = this.#spans;
    const at = s[3 * i] as number;
    const pl = s[3 * i + 1] as number;
    const hl = s[3 * i + 2] as number;
    return {
      log: this.#log,
      seq: i,
      prevHash: this.#bytes.slice(at, at + pl),
      hash: this.#bytes.slice(at + pl, at + pl + hl),
      body: this.#bodies[i] as string,
    };
  }
}

function copyHead(h: StoredAuditHead): StoredAuditHead {
  return { log: h.log, size: h.size, hash: h.hash.slice(), body: h.body };
}
