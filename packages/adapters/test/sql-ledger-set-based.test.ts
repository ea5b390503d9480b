/**
 * The set-based batch functions of migration 0009 (`omt_ledger_vote_many`,
 * `omt_ledger_append_many`): batches that mix every outcome on one chain and repeat one
 * (chain, height), compared with the single-item calls made in array order on a second database,
 * and the raw rows (status, detail) the functions return. PGlite always, PostgreSQL with
 * DATABASE_URL.
 */
import { type OmtDatabase, SqlEventStore, SqlVoteLog } from '@omt/adapters/sql';
import { toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import type { AppendOutcome, CommittedEvent, Payout, VoteOutcome, VoteRequest } from '@omt/ledger/ports';
import { type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventAt, randomHex } from './ledger-fixtures.js';
import { describePostgres, openMigrated, schemaFactory } from './pg-env.js';

function payout(over: Partial<Payout> = {}): Payout {
  return { invoice: 'inv-1', party: 'c'.repeat(64), role: 'seller', amount: 100n, currency: 'EUR', ...over };
}

function vote(chain: string, height: number, hash = randomHex(32)): VoteRequest {
  return { chain, height, hash, leaf: utf8(`omt.vote.v1\n${chain}\n${height}\n${hash}\n`), at: new Date() };
}

/** What `append` does with an event, as an `appendMany` outcome. */
async function appendOutcome(
  store: SqlEventStore,
  e: CommittedEvent,
  ps?: readonly Payout[],
): Promise<AppendOutcome> {
  try {
    return await store.append(e, ps);
  } catch (err) {
    if (!isOmtError(err)) throw err;
    return { error: { code: err.code, message: err.message } };
  }
}

type Five = [CommittedEvent, CommittedEvent, CommittedEvent, CommittedEvent, CommittedEvent];

/** A fresh chain (`<prefix>:<random>`) and its first five events, each continuing the one before. */
function linked(prefix: string): [string, Five] {
  const chain = `${prefix}:${randomHex(6)}`;
  const events: CommittedEvent[] = [];
  for (let h = 0; h < 5; h++) events.push(eventAt(chain, h, events[h - 1]?.hash ?? null));
  return [chain, events as Five];
}

interface RawRow {
  item: number;
  status: string;
  detail: string | null;
}

/** `omt_ledger_append_many` called directly (no payouts): its rows as returned. */
async function rawAppendMany(omt: OmtDatabase, events: readonly CommittedEvent[]): Promise<RawRow[]> {
  const { rows } = await sql<RawRow>`select item, status, detail from omt_ledger_append_many(
    ${events.map((e) => e.chain)}::text[], ${events.map((e) => e.height)}::bigint[],
    ${events.map((e) => e.hash)}::text[], ${events.map((e) => e.prev)}::text[],
    ${events.map((e) => e.machine)}::text[], ${events.map((e) => e.type)}::text[],
    ${events.map((e) => e.event)}::text[], ${events.map((e) => e.qc)}::text[],
    ${events.map((e) => e.state)}::text[], ${events.map((e) => e.committedAt)}::timestamptz[],
    ${events.map(() => 1)}::int[], ${events.map(() => 0)}::int[], ${[]}::text[], ${[]}::text[],
    ${[]}::text[], ${[]}::bigint[], ${[]}::text[], false)`.execute(omt.db);
  return rows.map((r) => ({ item: Number(r.item), status: r.status, detail: r.detail }));
}

function setBasedSuite(name: string, open: () => Promise<OmtDatabase>): void {
  describe(name, () => {
    let a: OmtDatabase;
    let b: OmtDatabase;
    beforeAll(async () => {
      a = await open();
      b = await open();
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('voteMany with repeats, earlier votes and fresh votes equals vote called in order', async () => {
      const c1 = `v:${randomHex(6)}`;
      const c2 = `v:${randomHex(6)}`;
      const seeded = [vote(c1, 0), vote(c1, 1), vote(c2, 5)];
      const x = randomHex(32);
      const batch = [
        vote(c1, 2), // fresh
        { ...(seeded[0] as VoteRequest), at: new Date() }, // earlier vote, same hash
        vote(c1, 1), // earlier vote, other hash
        vote(c2, 0, x), // fresh
        vote(c2, 0, x), // repeat in the batch, same hash
        vote(c2, 0), // repeat in the batch, other hash
        vote(c1, 3), // fresh
        vote(c2, 5), // earlier vote, other hash
        vote(c1, 2), // repeat of the first request, other hash
        vote(c2, 6), // fresh
      ];
      const outcomes: VoteOutcome[][] = [];
      for (const db of [a, b]) {
        const log = new SqlVoteLog(db.db);
        // Unrelated leaves first, so the two logs' indexes differ by a known offset.
        if (db === b) await log.voteMany([vote(`other:${randomHex(4)}`, 0)]);
        await log.voteMany(seeded);
      }
      const offsetOf = async (db: OmtDatabase) => (await new SqlVoteLog(db.db).size()) - 3;
      const offA = await offsetOf(a);
      const offB = await offsetOf(b);
      const logA = new SqlVoteLog(a.db);
      outcomes.push(await logA.voteMany(batch));
      const logB = new SqlVoteLog(b.db);
      const single: VoteOutcome[] = [];
      for (const r of batch) single.push(await logB.vote(r));
      outcomes.push(single);
      const norm = (os: VoteOutcome[], off: number) => os.map((o) => ({ ...o, index: o.index - off }));
      expect(norm(outcomes[0] as VoteOutcome[], offA)).toEqual(norm(outcomes[1] as VoteOutcome[], offB));
      // Explicitly: fresh votes take the next indexes in array order.
      const base = offA + 3;
      expect(outcomes[0]).toEqual([
        { status: 'new', index: base },
        { status: 'same', index: offA },
        { status: 'conflict', voted: (seeded[1] as VoteRequest).hash, index: offA + 1 },
        { status: 'new', index: base + 1 },
        { status: 'same', index: base + 1 },
        { status: 'conflict', voted: x, index: base + 1 },
        { status: 'new', index: base + 2 },
        { status: 'conflict', voted: (seeded[2] as VoteRequest).hash, index: offA + 2 },
        { status: 'conflict', voted: (batch[0] as VoteRequest).hash, index: base },
        { status: 'new', index: base + 3 },
      ]);
      expect(await logA.size()).toBe(base + 4);
      // Each new leaf is the one of the request that recorded it, its vote points at it.
      const rows = await sql<{ idx: string; data: Uint8Array; chain: string; height: string; hash: string }>`
        select l.idx, l.data, v.chain, v.height, v.hash from omt_ledger_log_leaves l
        join omt_ledger_votes v on v.leaf_index = l.idx where l.idx >= ${base} order by l.idx`.execute(a.db);
      const recorded = [0, 3, 6, 9].map((i) => batch[i] as VoteRequest);
      expect(rows.rows.map((r) => [Number(r.idx), toHex(r.data), r.chain, Number(r.height), r.hash])).toEqual(
        recorded.map((r, k) => [base + k, toHex(r.leaf), r.chain, r.height, r.hash]),
      );
    });

    it('voteMany of one request is one omt_ledger_vote call: new, same and conflict as before', async () => {
      const statements: string[] = [];
      const spy: KyselyPlugin = {
        transformQuery: ({ node }) => {
          statements.push(JSON.stringify(node).includes('omt_ledger_vote_many') ? 'many' : 'one');
          return node;
        },
        transformResult: async ({ result }) => result,
      };
      const log = new SqlVoteLog(a.db.withPlugin(spy));
      const r = vote(`one:${randomHex(6)}`, 0);
      const size = await new SqlVoteLog(a.db).size();
      expect(await log.voteMany([r])).toEqual([{ status: 'new', index: size }]);
      expect(await log.voteMany([{ ...r, at: new Date() }])).toEqual([{ status: 'same', index: size }]);
      expect(await log.voteMany([vote(r.chain, 0)])).toEqual([
        { status: 'conflict', voted: r.hash, index: size },
      ]);
      expect(statements).toEqual(['one', 'one', 'one']);
      expect(await log.voteMany([vote(r.chain, 1), vote(r.chain, 2)])).toHaveLength(2);
      expect(statements.at(-1)).toBe('many');
    });

    it('voteMany of a batch whose votes all exist records nothing; an empty batch returns no rows', async () => {
      const log = new SqlVoteLog(a.db);
      const reqs = [vote(`v:${randomHex(6)}`, 0), vote(`v:${randomHex(6)}`, 0)];
      const first = await log.voteMany(reqs);
      const size = await log.size();
      const again = await log.voteMany([
        reqs[1] as VoteRequest,
        reqs[0] as VoteRequest,
        reqs[1] as VoteRequest,
      ]);
      expect(again).toEqual([
        { status: 'same', index: (first[1] as VoteOutcome).index },
        { status: 'same', index: (first[0] as VoteOutcome).index },
        { status: 'same', index: (first[1] as VoteOutcome).index },
      ]);
      expect(await log.size()).toBe(size);
      const { rows } = await sql`select * from omt_ledger_vote_many(${[]}::text[], ${[]}::bigint[],
        ${[]}::text[], ${[]}::bytea[], ${[]}::bytea[], ${[]}::timestamptz[])`.execute(a.db);
      expect(rows).toEqual([]);
      expect(await log.size()).toBe(size);
    });

    it('appendMany mixing exists, conflict, out-of-order and appended on one chain equals append in order', async () => {
      const [chain, [e0, e1, e2, e3, e4]] = linked('mix');
      const [other, [o0, o1]] = linked('mix');
      const items: { event: CommittedEvent; payouts?: Payout[] }[] = [
        { event: e3 }, // out-of-order: the head is 1
        { event: e0 }, // exists (stored)
        { event: eventAt(chain, 1, e0.hash) }, // conflict with the stored e1
        { event: e2, payouts: [payout({ role: 'a' }), payout({ role: 'b' })] }, // appended
        { event: o1 }, // out-of-order: other is empty
        { event: e2 }, // exists: appended by this batch
        { event: eventAt(chain, 2, e1.hash), payouts: [payout({ role: 'x' })] }, // conflict with the batch's e2
        { event: o0, payouts: [payout({ role: 'o' })] }, // appended
        { event: eventAt(chain, 3, e1.hash) }, // out-of-order: prev is not the head's hash
        { event: e4 }, // out-of-order: gap
        { event: e3 }, // appended
        { event: o1 }, // appended
        { event: e4, payouts: [] }, // appended
        { event: e3, payouts: [payout({ role: 'y' })] }, // exists: the batch's e3, payouts ignored
        { event: eventAt(chain, 7, e4.hash) }, // out-of-order
      ];
      const storeA = new SqlEventStore(a.db);
      const storeB = new SqlEventStore(b.db);
      for (const s of [storeA, storeB]) {
        expect(await s.append(e0)).toBe('appended');
        expect(await s.append(e1, [payout({ role: 'first' })])).toBe('appended');
      }
      const batched = await storeA.appendMany(items);
      const single: AppendOutcome[] = [];
      for (const i of items) single.push(await appendOutcome(storeB, i.event, i.payouts));
      expect(batched).toEqual(single);
      expect(batched.map((o) => (typeof o === 'string' ? o : o.error.code))).toEqual([
        'ledger.event.out-of-order',
        'exists',
        'ledger.event.conflict',
        'appended',
        'ledger.event.out-of-order',
        'exists',
        'ledger.event.conflict',
        'appended',
        'ledger.event.out-of-order',
        'ledger.event.out-of-order',
        'appended',
        'appended',
        'appended',
        'exists',
        'ledger.event.out-of-order',
      ]);
      for (const [s, db] of [
        [storeA, a],
        [storeB, b],
      ] as const) {
        expect((await s.list(chain)).map((e) => e.hash)).toEqual([e0, e1, e2, e3, e4].map((e) => e.hash));
        expect((await s.list(other)).map((e) => e.hash)).toEqual([o0.hash, o1.hash]);
        expect((await s.payouts(chain)).map((p) => p.role)).toEqual(['first', 'a', 'b']);
        expect((await s.payouts(other)).map((p) => p.role)).toEqual(['o']);
        const seqs = await sql<{ height: string; seq: number }>`select height, seq from omt_ledger_payouts
          where chain = ${chain} order by height, seq`.execute(db.db);
        expect(seqs.rows.map((r) => [Number(r.height), r.seq])).toEqual([
          [1, 0],
          [2, 0],
          [2, 1],
        ]);
      }
    });

    it('appendMany of at most 8 items (decided item by item, 0006 function) answers as the set-based function', async () => {
      const [chain, [e0, e1, e2, e3]] = linked('small');
      const [other, [o0, o1]] = linked('small');
      const items = [
        e3, // out-of-order
        e0, // exists
        eventAt(chain, 1, e0.hash), // conflict with the stored e1
        e2, // appended
        e2, // exists: appended by this batch
        eventAt(chain, 2, e1.hash), // conflict with the batch's e2
        o1, // out-of-order
        e3, // appended
      ];
      const used: string[] = [];
      const spy: KyselyPlugin = {
        transformQuery: ({ node }) => {
          const text = JSON.stringify(node);
          used.push(text.includes('omt_ledger_append_each') ? 'each' : 'set-based');
          return node;
        },
        transformResult: async ({ result }) => result,
      };
      const storeA = new SqlEventStore(a.db.withPlugin(spy));
      const storeB = new SqlEventStore(b.db);
      for (const s of [storeA, storeB]) {
        expect(await s.append(e0)).toBe('appended');
        expect(await s.append(e1)).toBe('appended');
      }
      used.length = 0;
      const small = await storeA.appendMany(items.map((event) => ({ event })));
      const rows = await rawAppendMany(b, items);
      expect(small.map((o) => (typeof o === 'string' ? o : o.error.code))).toEqual(
        rows.map((r) =>
          r.status === 'appended' || r.status === 'exists' ? r.status : `ledger.event.${r.status}`,
        ),
      );
      expect(rows.map((r) => r.status)).toEqual([
        'out-of-order',
        'exists',
        'conflict',
        'appended',
        'exists',
        'conflict',
        'out-of-order',
        'appended',
      ]);
      expect((await storeA.list(chain)).map((e) => e.hash)).toEqual([e0, e1, e2, e3].map((e) => e.hash));
      expect(await storeA.list(other)).toEqual([]);
      expect(used.slice(0, 1)).toEqual(['each']);
      used.length = 0;
      // A ninth item takes the set-based path: same answers for the same kind of batch.
      const nine = await storeA.appendMany(
        [o1, o0, o1, eventAt(other, 1, o0.hash), e3, e0, e1, e2, o0].map((event) => ({ event })),
      );
      expect(nine.map((o) => (typeof o === 'string' ? o : o.error.code))).toEqual([
        'ledger.event.out-of-order',
        'appended',
        'appended',
        'ledger.event.conflict',
        'exists',
        'exists',
        'exists',
        'exists',
        'exists',
      ]);
      expect(used).toEqual(['set-based']);
    });

    it('omt_ledger_append_many rows: conflict details name the committed hash (stored or appended by the batch), out-of-order the expected height', async () => {
      const chain = `raw:${randomHex(6)}`;
      const e0 = eventAt(chain, 0, null);
      const e1 = eventAt(chain, 1, e0.hash);
      const f0 = eventAt(chain, 0, null);
      const f1 = eventAt(chain, 1, e0.hash);
      const fresh = `raw:${randomHex(6)}`;
      const rows = await rawAppendMany(a, [
        eventAt(fresh, 1, randomHex(32)), // out-of-order, expected 0
        e0,
        f0, // conflict with e0 (this batch)
        e1,
        f1, // conflict with e1 (this batch)
        eventAt(chain, 5, e1.hash), // out-of-order, expected 2
        e0, // exists
      ]);
      expect(rows).toEqual([
        { item: 1, status: 'out-of-order', detail: '0' },
        { item: 2, status: 'appended', detail: null },
        { item: 3, status: 'conflict', detail: e0.hash },
        { item: 4, status: 'appended', detail: null },
        { item: 5, status: 'conflict', detail: e1.hash },
        { item: 6, status: 'out-of-order', detail: '2' },
        { item: 7, status: 'exists', detail: null },
      ]);
      // A second batch sees them as stored.
      const again = await rawAppendMany(a, [f1, e1, eventAt(chain, 2, e1.hash), eventAt(chain, 2, e1.hash)]);
      expect(again.map((r) => [r.status, r.detail])).toEqual([
        ['conflict', e1.hash],
        ['exists', null],
        ['appended', null],
        ['conflict', (await new SqlEventStore(a.db).head(chain))?.hash],
      ]);
      expect(await rawAppendMany(a, [])).toEqual([]);
    });

    it('appendMany of many chains, interleaved, with payouts of varying counts, equals append in order', async () => {
      const chains = Array.from({ length: 6 }, () => `many:${randomHex(6)}`);
      const heads = new Map<string, CommittedEvent>();
      const items: { event: CommittedEvent; payouts: Payout[] }[] = [];
      for (let k = 0; k < 60; k++) {
        const chain = chains[(k * 7) % chains.length] as string;
        const head = heads.get(chain);
        const event = eventAt(chain, head === undefined ? 0 : head.height + 1, head?.hash ?? null);
        heads.set(chain, event);
        items.push({
          event,
          payouts: Array.from({ length: k % 4 }, (_, j) => payout({ role: `r${k}.${j}` })),
        });
        // Every fifth item also repeats an earlier one (exists) and every seventh a conflicting copy.
        if (k % 5 === 4)
          items.push({ event: (items[k - 2] as { event: CommittedEvent }).event, payouts: [] });
        if (k % 7 === 6) {
          const e = (items[k - 3] as { event: CommittedEvent }).event;
          items.push({ event: { ...e, hash: randomHex(32) }, payouts: [payout()] });
        }
      }
      const storeA = new SqlEventStore(a.db);
      const storeB = new SqlEventStore(b.db);
      const batched = await storeA.appendMany(items);
      const single: AppendOutcome[] = [];
      for (const i of items) single.push(await appendOutcome(storeB, i.event, i.payouts));
      expect(batched).toEqual(single);
      expect(batched.filter((o) => o === 'appended')).toHaveLength(60);
      for (const c of chains) {
        expect((await storeA.list(c)).map((e) => e.hash)).toEqual((await storeB.list(c)).map((e) => e.hash));
        expect(await storeA.payouts(c)).toEqual(await storeB.payouts(c));
      }
    });
  });
}

setBasedSuite('set-based batch functions on PGlite', () => openMigrated({ kind: 'pglite' }));

describePostgres('set-based batch functions on PostgreSQL', (url) => {
  const schema = schemaFactory(url, 'setbased');
  setBasedSuite('two schemas', () => openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 2 }));
});
