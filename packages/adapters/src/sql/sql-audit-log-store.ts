import { isBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import type { AuditLogStore, StoredAuditEntry, StoredAuditHead } from '@omt/core/ports';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { OmtSchema } from './schema.js';

/** Rows per INSERT: 5 parameters each, well under PostgreSQL's 65 535-parameter limit. */
const INSERT_CHUNK = 1000;

/** Distinct advisory-lock namespaces (first key of the two-key form) per table. */
const ENTRIES_LOCK = 0x6f6d7401;
const HEADS_LOCK = 0x6f6d7402;

/**
 * `AuditLogStore` (core port) over the shared SQL schema (migration `0001_audit_log`).
 * `append` is one transaction that checks `entries[0].seq` against the log's size under a
 * per-log transaction lock; a primary-key race (SQLSTATE 23505) still maps to
 * `core.audit.conflict`, so two writers can never fork a log. The tables reject UPDATE and
 * DELETE by trigger, so nothing stored is ever rewritten.
 *
 * @example
 * ```ts
 * const omt = await createDatabase({ kind: 'pglite' });
 * await omt.migrate();
 * const store = new SqlAuditLogStore(omt.db);
 * await store.append([{ log: 'kms', seq: 0, prevHash, hash, body }]);
 * ```
 */
export class SqlAuditLogStore implements AuditLogStore {
  readonly #db: Kysely<OmtSchema>;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db;
  }

  async append(entries: readonly StoredAuditEntry[]): Promise<void> {
    checkEntries(entries);
    const first = entries[0];
    if (first === undefined) return;
    try {
      await this.#db.transaction().execute(async (trx) => {
        await lockLog(trx, ENTRIES_LOCK, first.log);
        const row = await trx
          .selectFrom('omt_audit_entries')
          .select((eb) => eb.fn.max('seq').as('max'))
          .where('log', '=', first.log)
          .executeTakeFirst();
        const size = row?.max === null || row?.max === undefined ? 0 : Number(row.max) + 1;
        if (first.seq !== size) {
          throw conflict(
            `append to log ${JSON.stringify(first.log)} at seq ${first.seq}, but its size is ${size}`,
          );
        }
        for (let i = 0; i < entries.length; i += INSERT_CHUNK) {
          const rows = entries.slice(i, i + INSERT_CHUNK).map((e) => ({
            log: e.log,
            seq: e.seq,
            prev_hash: e.prevHash,
            hash: e.hash,
            body: e.body,
          }));
          await trx.insertInto('omt_audit_entries').values(rows).execute();
        }
      });
    } catch (e) {
      throw mapWriteError(e, `append to log ${JSON.stringify(first.log)} at seq ${first.seq}`);
    }
  }

  async last(log: string): Promise<StoredAuditEntry | undefined> {
    if (!checkLogName(log)) return undefined;
    const row = await readQuery(`last entry of log ${JSON.stringify(log)}`, () =>
      this.#db
        .selectFrom('omt_audit_entries')
        .select(['log', 'seq', 'prev_hash', 'hash', 'body'])
        .where('log', '=', log)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return row === undefined ? undefined : toEntry(row);
  }

  async read(log: string, fromSeq: number, limit: number): Promise<StoredAuditEntry[]> {
    const storable = checkLogName(log);
    checkCount(fromSeq, 'fromSeq');
    checkCount(limit, 'limit');
    if (limit === 0 || !storable) return [];
    const rows = await readQuery(`entries of log ${JSON.stringify(log)}`, () =>
      this.#db
        .selectFrom('omt_audit_entries')
        .select(['log', 'seq', 'prev_hash', 'hash', 'body'])
        .where('log', '=', log)
        .where('seq', '>=', String(fromSeq))
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute(),
    );
    return rows.map(toEntry);
  }

  async putHead(head: StoredAuditHead): Promise<void> {
    checkHead(head);
    try {
      await this.#db.transaction().execute(async (trx) => {
        // Serialise head writers of one log so sizes stay non-decreasing in commit order.
        await lockLog(trx, HEADS_LOCK, head.log);
        const latest = await trx
          .selectFrom('omt_audit_heads')
          .select(['size', 'revision', 'hash', 'body'])
          .where('log', '=', head.log)
          .orderBy('size', 'desc')
          .orderBy('revision', 'desc')
          .limit(1)
          .executeTakeFirst();
        let revision = 0;
        if (latest !== undefined) {
          const size = Number(latest.size);
          if (head.size < size) {
            throw conflict(
              `head of size ${head.size} for log ${JSON.stringify(head.log)} is below the latest size ${size}`,
            );
          }
          if (head.size === size) {
            // Recording the very same head again is a no-op; a re-signed head of equal size is kept as a new revision.
            if (latest.body === head.body && equalBytes(latest.hash, head.hash)) return;
            revision = latest.revision + 1;
          }
        }
        await trx
          .insertInto('omt_audit_heads')
          .values({ log: head.log, size: head.size, revision, hash: head.hash, body: head.body })
          .execute();
      });
    } catch (e) {
      throw mapWriteError(e, `record head of size ${head.size} for log ${JSON.stringify(head.log)}`);
    }
  }

  async latestHead(log: string): Promise<StoredAuditHead | undefined> {
    if (!checkLogName(log)) return undefined;
    const row = await readQuery(`latest head of log ${JSON.stringify(log)}`, () =>
      this.#db
        .selectFrom('omt_audit_heads')
        .select(['log', 'size', 'hash', 'body'])
        .where('log', '=', log)
        .orderBy('size', 'desc')
        .orderBy('revision', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return row === undefined
      ? undefined
      : { log: row.log, size: Number(row.size), hash: copyBytes(row.hash), body: row.body };
  }
}

async function lockLog(trx: Transaction<OmtSchema>, namespace: number, log: string): Promise<void> {
  // Transaction-scoped advisory lock keyed by (namespace, hashtext(log)); released at commit/rollback.
  await sql`select pg_advisory_xact_lock(${sql.lit(namespace)}, hashtext(${log}))`.execute(trx);
}

function toEntry(row: {
  log: string;
  seq: string;
  prev_hash: Uint8Array;
  hash: Uint8Array;
  body: string;
}): StoredAuditEntry {
  return {
    log: row.log,
    seq: Number(row.seq),
    prevHash: copyBytes(row.prev_hash),
    hash: copyBytes(row.hash),
    body: row.body,
  };
}

/** pg returns `Buffer`; callers get a plain `Uint8Array` on both backends. */
function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function conflict(message: string): OmtError {
  return new OmtError('core.audit.conflict', message);
}

function mapWriteError(e: unknown, what: string): unknown {
  if (e instanceof OmtError) return e;
  if ((e as { code?: unknown } | null)?.code === '23505') {
    return new OmtError('core.audit.conflict', `${what}: another writer got there first`, { cause: e });
  }
  return new OmtError(
    'adapters.sql.query-failed',
    `${what} failed: ${e instanceof Error ? e.message : String(e)}`,
    {
      cause: e,
    },
  );
}

async function readQuery<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new OmtError('adapters.sql.query-failed', `reading the ${what} failed: ${describe(e)}`, {
      cause: e,
    });
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function invalid(message: string): OmtError {
  return new OmtError('core.audit.invalid', message);
}

/** For writes: PostgreSQL text cannot hold NUL, so such a name is refused. */
function checkLog(log: unknown): asserts log is string {
  if (!checkLogName(log)) throw invalid('log must not contain NUL');
}

/** For reads: throws on a non-string or empty name; false when the name cannot be stored (NUL). */
function checkLogName(log: unknown): log is string {
  if (typeof log !== 'string' || log.length === 0) throw invalid('log must be a non-empty string');
  return !log.includes('\u0000');
}

function checkCount(n: unknown, name: string): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw invalid(`${name} must be a non-negative safe integer`);
  }
}

function checkBytes(b: unknown, name: string): void {
  if (!isBytes(b)) throw invalid(`${name} must be a Uint8Array`);
}

function checkBody(body: unknown): void {
  if (typeof body !== 'string') throw invalid('body must be a string');
  if (body.includes('\u0000')) throw invalid('body must not contain NUL');
}

function checkEntries(entries: unknown): asserts entries is readonly StoredAuditEntry[] {
  if (!Array.isArray(entries)) throw invalid('entries must be an array');
  const first = entries[0] as StoredAuditEntry | undefined;
  entries.forEach((e: unknown, i: number) => {
    if (typeof e !== 'object' || e === null) throw invalid(`entries[${i}] must be an object`);
    const entry = e as Partial<StoredAuditEntry>;
    checkLog(entry.log);
    checkCount(entry.seq, `entries[${i}].seq`);
    checkBytes(entry.prevHash, `entries[${i}].prevHash`);
    checkBytes(entry.hash, `entries[${i}].hash`);
    checkBody(entry.body);
  });
  if (first === undefined) return;
  entries.forEach((e: StoredAuditEntry, i: number) => {
    if (e.log !== first.log)
      throw conflict(`batch mixes logs ${JSON.stringify(first.log)} and ${JSON.stringify(e.log)}`);
    if (e.seq !== first.seq + i) {
      throw conflict(`entries are not consecutive: entries[${i}].seq is ${e.seq}, expected ${first.seq + i}`);
    }
  });
}

function checkHead(head: unknown): asserts head is StoredAuditHead {
  if (typeof head !== 'object' || head === null) throw invalid('head must be an object');
  const h = head as Partial<StoredAuditHead>;
  checkLog(h.log);
  checkCount(h.size, 'head.size');
  checkBytes(h.hash, 'head.hash');
  checkBody(h.body);
}
