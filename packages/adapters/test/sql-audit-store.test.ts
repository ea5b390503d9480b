import { createDatabase, type OmtDatabase, SqlAuditLogStore } from '@omt/adapters/sql';
import { isOmtError } from '@omt/core/errors';
import type { StoredAuditEntry, StoredAuditHead } from '@omt/core/ports';
import { auditLogStoreContract } from '@omt/core/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePostgres, openMigrated, schemaFactory } from './pg-env.js';

function entry(log: string, seq: number, who = ''): StoredAuditEntry {
  return {
    log,
    seq,
    prevHash: new Uint8Array(32).fill(seq === 0 ? 0 : seq - 1),
    hash: new Uint8Array(32).fill(seq),
    body: JSON.stringify({ seq, who }),
  };
}

function head(log: string, size: number, note = ''): StoredAuditHead {
  return { log, size, hash: new Uint8Array(32).fill(size), body: JSON.stringify({ size, note }) };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

/** Store-level checks beyond the core contract, shared by every backend. */
function sqlStoreSuite(open: () => Promise<OmtDatabase>): void {
  let omt: OmtDatabase;
  let store: SqlAuditLogStore;
  beforeAll(async () => {
    omt = await open();
    store = new SqlAuditLogStore(omt.db);
  });
  afterAll(async () => {
    await omt?.close();
  });

  it('returns plain Uint8Arrays and numbers', async () => {
    await store.append([entry('x.types', 0)]);
    const got = await store.last('x.types');
    expect(got?.hash.constructor).toBe(Uint8Array);
    expect(got?.prevHash.constructor).toBe(Uint8Array);
    expect(typeof got?.seq).toBe('number');
  });

  it('a head re-signed at the same size is kept as a newer revision; the very same head again is a no-op', async () => {
    const log = 'x.revision';
    await store.putHead(head(log, 2, 'first'));
    await store.putHead(head(log, 2, 'first'));
    await store.putHead(head(log, 2, 'resigned'));
    expect((await store.latestHead(log))?.body).toBe(head(log, 2, 'resigned').body);
    const rows = await omt.db
      .selectFrom('omt_audit_heads')
      .select(['size', 'revision'])
      .where('log', '=', log)
      .execute();
    expect(rows.map((r) => [r.size, r.revision]).sort()).toEqual([
      ['2', 0],
      ['2', 1],
    ]);
    expect(await codeOf(store.putHead(head(log, 1)))).toBe('core.audit.conflict');
  });

  it('malformed records → core.audit.invalid, nothing stored', async () => {
    const bad: unknown[] = [
      [{ ...entry('x.bad', 0), hash: 'not bytes' }],
      [{ ...entry('x.bad', 0), seq: -1 }],
      [{ ...entry('x.bad', 0), seq: 0.5 }],
      [{ ...entry('x.bad', 0), log: '' }],
      [{ ...entry('x.bad', 0), log: 'nul\u0000name' }],
      [{ ...entry('x.bad', 0), body: 'nul\u0000' }],
      [null],
      'not an array',
    ];
    for (const b of bad) {
      expect(await codeOf(store.append(b as StoredAuditEntry[]))).toBe('core.audit.invalid');
    }
    expect(await codeOf(store.putHead({ ...head('x.bad', 1), size: Number.NaN }))).toBe('core.audit.invalid');
    expect(await codeOf(store.read('x.bad', -1, 1))).toBe('core.audit.invalid');
    expect(await codeOf(store.read('x.bad', 0, Number.POSITIVE_INFINITY))).toBe('core.audit.invalid');
    expect(await codeOf(store.last(42 as unknown as string))).toBe('core.audit.invalid');
    expect(await store.last('x.bad')).toBeUndefined();
    expect(await store.last('nul\u0000name')).toBeUndefined();
  });

  it('a batch larger than one INSERT chunk is stored atomically', async () => {
    const log = 'x.big';
    const batch = Array.from({ length: 2500 }, (_, i) => entry(log, i));
    await store.append(batch);
    expect((await store.last(log))?.seq).toBe(2499);
    expect((await store.read(log, 999, 3)).map((e) => e.seq)).toEqual([999, 1000, 1001]);
    // A database failure in the batch's second chunk (a planted test trigger) undoes the first chunk too.
    await sql`create function omt_test_fail() returns trigger language plpgsql as $$
      begin if new.seq = 3900 then raise exception 'planted failure'; end if; return new; end $$`.execute(
      omt.db,
    );
    await sql`create trigger omt_test_fail before insert on omt_audit_entries
      for each row execute function omt_test_fail()`.execute(omt.db);
    try {
      const next = Array.from({ length: 1500 }, (_, i) => entry(log, 2500 + i));
      expect(await codeOf(store.append(next))).toBe('adapters.sql.query-failed');
    } finally {
      await sql`drop trigger omt_test_fail on omt_audit_entries`.execute(omt.db);
      await sql`drop function omt_test_fail()`.execute(omt.db);
    }
    expect((await store.last(log))?.seq).toBe(2499);
    await store.append([entry(log, 2500)]);
    expect((await store.last(log))?.seq).toBe(2500);
  });

  it('entries written by the store cannot be rewritten behind its back', async () => {
    await store.append([entry('x.frozen', 0)]);
    await expect(
      sql`update omt_audit_entries set body = '{}' where log = 'x.frozen'`.execute(omt.db),
    ).rejects.toThrow(/append-only/);
    expect((await store.last('x.frozen'))?.body).toBe(entry('x.frozen', 0).body);
  });
}

auditLogStoreContract('SqlAuditLogStore on PGlite (in memory)', async () => {
  const omt = await openMigrated({ kind: 'pglite' });
  return { store: new SqlAuditLogStore(omt.db), close: () => omt.close() };
});

describe('SqlAuditLogStore on PGlite (in memory): SQL specifics', () => {
  sqlStoreSuite(() => openMigrated({ kind: 'pglite' }));
});

describePostgres('SqlAuditLogStore on PostgreSQL', (url) => {
  const schema = schemaFactory(url, 'audit');

  auditLogStoreContract('SqlAuditLogStore on PostgreSQL', async () => {
    const omt = await openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 8 });
    return { store: new SqlAuditLogStore(omt.db), close: () => omt.close() };
  });

  describe('SQL specifics', () => {
    sqlStoreSuite(() => openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 4 }));
  });

  it('two processes (separate pools) appending at the same seq: exactly one wins, every round', async () => {
    const s = schema();
    const a = await openMigrated({ kind: 'postgres', url, schema: s, poolSize: 4 });
    const b = await openMigrated({ kind: 'postgres', url, schema: s, poolSize: 4 });
    try {
      const stores = [new SqlAuditLogStore(a.db), new SqlAuditLogStore(b.db)];
      for (let round = 0; round < 10; round++) {
        const log = `race.${round}`;
        const results = await Promise.allSettled(
          [0, 1, 2, 3].map((i) =>
            (stores[i % 2] as SqlAuditLogStore).append([entry(log, 0, `w${i}`), entry(log, 1, `w${i}`)]),
          ),
        );
        const winners = results.filter((r) => r.status === 'fulfilled');
        expect(winners).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') expect(isOmtError(r.reason, 'core.audit.conflict')).toBe(true);
        }
        const stored = await stores[1]?.read(log, 0, 10);
        expect(stored?.map((e) => e.seq)).toEqual([0, 1]);
        expect(new Set(stored?.map((e) => JSON.parse(e.body).who)).size).toBe(1);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a store over an unmigrated schema fails with adapters.sql.query-failed, not a raw driver error', async () => {
    const omt = await createDatabase({ kind: 'postgres', url, schema: schema(), poolSize: 1 });
    try {
      const store = new SqlAuditLogStore(omt.db);
      expect(await codeOf(store.last('l'))).toBe('adapters.sql.query-failed');
      expect(await codeOf(store.read('l', 0, 1))).toBe('adapters.sql.query-failed');
      expect(await codeOf(store.latestHead('l'))).toBe('adapters.sql.query-failed');
      expect(await codeOf(store.append([entry('l', 0)]))).toBe('adapters.sql.query-failed');
      expect(await codeOf(store.putHead(head('l', 1)))).toBe('adapters.sql.query-failed');
    } finally {
      await omt.close();
    }
  });

  it('a primary-key race (SQLSTATE 23505) with a writer outside the store maps to core.audit.conflict', async () => {
    const omt = await openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 3 });
    try {
      const store = new SqlAuditLogStore(omt.db);
      let append: Promise<string | undefined> | undefined;
      await omt.db.transaction().execute(async (trx) => {
        // An uncommitted row at seq 0: invisible to the store's size check, but it holds the key.
        await trx
          .insertInto('omt_audit_entries')
          .values({
            log: 'pk',
            seq: 0,
            prev_hash: new Uint8Array(32),
            hash: new Uint8Array(32),
            body: '{"by":"raw"}',
          })
          .execute();
        append = codeOf(store.append([entry('pk', 0, 'store')]));
        await new Promise((resolve) => setTimeout(resolve, 300)); // the store's INSERT now waits on our key
      });
      expect(await append).toBe('core.audit.conflict');
      expect((await store.read('pk', 0, 10)).map((e) => e.body)).toEqual(['{"by":"raw"}']);
    } finally {
      await omt.close();
    }
  });
});
