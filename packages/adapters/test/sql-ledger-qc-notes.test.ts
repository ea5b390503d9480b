/**
 * SqlEventStore stores each checkpoint note of a quorum certificate once (migration 0008,
 * `omt_ledger_qc_notes`) and the QC with references: round trips byte-exact, storage shrinks,
 * legacy rows read as they are, the notes table is append-only, a missing note is an error.
 */
import { type OmtDatabase, SqlEventStore } from '@omt/adapters/sql';
import { toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { canonicalize } from '@omt/core/jcs';
import { MerkleTree } from '@omt/core/merkle';
import { buildReceipt, voteLeaf } from '@omt/ledger/operator-receipt';
import type { CommittedEvent, Payout } from '@omt/ledger/ports';
import { signCheckpoint } from '@omt/ledger/tlog-checkpoint';
import { type NoteKeyPair, newNoteKey } from '@omt/ledger/tlog-note';
import { type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointSpans,
  compactQc,
  noteHash,
  qcReferences,
  restoreQc,
} from '../src/sql/sql-ledger-qc-notes.js';
import { eventAt, randomHex } from './ledger-fixtures.js';
import { describePostgres, openMigrated, schemaFactory } from './pg-env.js';

const H = (s: string) => toHex(sha256(utf8(s)));

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string } | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? { code: e.code, message: e.message } : { code: `raw: ${String(e)}`, message: '' };
  }
  return undefined;
}

function payout(over: Partial<Payout> = {}): Payout {
  return { invoice: 'inv-1', party: 'c'.repeat(64), role: 'seller', amount: 100n, currency: 'EUR', ...over };
}

// ---------------------------------------------------------------------------------------------
// Real quorum certificates: three operators with ML-DSA-65 log keys, each signing one checkpoint
// (a ~4.5 KB signed note with `—` and base64) per batch of votes.

const OPERATORS = ['op1.omt.example', 'op2.omt.example', 'op3.omt.example'];
let keys: NoteKeyPair[] = [];

beforeAll(async () => {
  keys = await Promise.all(OPERATORS.map((n) => newNoteKey(n, 'ML-DSA-65', { seed: sha256(utf8(n)) })));
});

/** A network's operators: their vote logs; `batch` commits events the way the operator does. */
class Network {
  readonly trees = OPERATORS.map(() => new MerkleTree());
  readonly heads = new Map<string, { height: number; hash: string }>();

  /** One committed event per chain given (in order), all receipts on one checkpoint per operator. */
  async batch(chains: readonly string[]): Promise<{ events: CommittedEvent[]; notes: string[] }> {
    const votes = chains.map((chain) => {
      const prev = this.heads.get(chain);
      const height = prev === undefined ? 0 : prev.height + 1;
      const event = canonicalize({ chain, height, prev: prev?.hash ?? null, pad: 'e'.repeat(200) });
      const v = { chain, height, hash: H(event), event, prev: prev?.hash ?? null };
      this.heads.set(chain, { height, hash: v.hash });
      return v;
    });
    const indexes = this.trees.map((t) => votes.map((v) => t.append(voteLeaf(v.chain, v.height, v.hash))));
    const notes = await Promise.all(
      this.trees.map((t, k) =>
        signCheckpoint({ origin: OPERATORS[k] as string, size: t.size, root: t.root() }, [
          (keys[k] as NoteKeyPair).signer,
        ]),
      ),
    );
    const events = votes.map((v, i): CommittedEvent => {
      const receipts = this.trees.map((t, k) => {
        const index = (indexes[k] as number[])[i] as number;
        return buildReceipt(OPERATORS[k] as string, index, notes[k] as string, t.inclusionProof(index));
      });
      return {
        chain: v.chain,
        height: v.height,
        hash: v.hash,
        prev: v.prev,
        machine: 'omt.item/v1',
        type: v.height === 0 ? 'mint' : 'transfer',
        event: v.event,
        qc: canonicalize({ chain: v.chain, event: v.hash, height: v.height, receipts }),
        state: canonicalize({ head: v.hash, owner: 'a'.repeat(64) }),
        committedAt: new Date('2026-12-01T10:00:00.000Z'),
      };
    });
    return { events, notes };
  }
}

/** A QC-shaped JCS text with the given checkpoint values (any text). */
function qcWith(chain: string, height: number, hash: string, checkpoints: readonly string[]): string {
  return canonicalize({
    chain,
    event: hash,
    height,
    receipts: checkpoints.map((checkpoint, i) => ({
      checkpoint,
      index: i,
      operator: `op${i}.omt.example`,
      proof: [],
    })),
  });
}

/** Appends a chain of events with the given QC texts (one appendMany); returns the events. */
async function chainOf(store: SqlEventStore, qcs: readonly ((e: CommittedEvent) => string)[]) {
  const chain = `qc:${randomHex(6)}`;
  const events: CommittedEvent[] = [];
  for (const [h, qcOf] of qcs.entries()) {
    const e = eventAt(chain, h, h === 0 ? null : (events[h - 1] as CommittedEvent).hash);
    events.push({ ...e, qc: qcOf(e) });
  }
  expect(await store.appendMany(events.map((event) => ({ event })))).toEqual(events.map(() => 'appended'));
  return { chain, events };
}

async function storedQc(db: OmtDatabase, chain: string, height: number): Promise<string> {
  const r = await sql<{ qc: string }>`select qc from omt_ledger_events
    where chain = ${chain} and height = ${height}`.execute(db.db);
  return r.rows[0]?.qc as string;
}

async function readBack(store: SqlEventStore, events: readonly CommittedEvent[]): Promise<void> {
  const chains = [...new Set(events.map((e) => e.chain))];
  for (const chain of chains) {
    const mine = events.filter((e) => e.chain === chain);
    expect(await store.list(chain)).toEqual(mine);
    expect(await store.head(chain)).toEqual(mine[mine.length - 1]);
  }
  for (const e of events) expect(await store.get(e.chain, e.height)).toEqual(e);
}

// ---------------------------------------------------------------------------------------------
// The stored form, without a database

describe('compacted QC texts', () => {
  it('every checkpoint value becomes #<sha256 of its escaped text>; restoring gives the original', () => {
    const notes = ['a\nb — c', 'x"y\\z', ''];
    const qc = qcWith('item:1', 0, 'f'.repeat(64), [...notes, notes[0] as string]);
    const stored = compactQc(qc, noteHash);
    const escaped = notes.map((n) => JSON.stringify(n).slice(1, -1));
    expect(stored.text.startsWith('~1:')).toBe(true);
    expect(stored.text).toBe(
      `~1:${qc.replace(/"checkpoint":"((?:[^"\\]|\\.)*)"/g, (_, v: string) => `"checkpoint":"#${noteHash(v)}"`)}`,
    );
    expect([...stored.notes.keys()]).toEqual(escaped.map(noteHash));
    expect([...stored.notes.values()]).toEqual(escaped);
    expect(noteHash(escaped[0] as string)).toBe(toHex(sha256(utf8(escaped[0] as string))));
    expect(qcReferences(stored.text)).toEqual([...escaped, escaped[0] as string].map(noteHash));
    expect(restoreQc(stored.text, (h) => stored.notes.get(h))).toBe(qc);
    // A missing note or a value that is no reference cannot be restored.
    expect(restoreQc(stored.text, () => undefined)).toBeUndefined();
    expect(restoreQc('~1:{"checkpoint":"#abc"}', () => 'x')).toBeUndefined();
    expect(qcReferences('~1:{"checkpoint":"note"}')).toBeUndefined();
  });

  it('texts without checkpoints are stored as they are, unless they start with ~ (then ~0:)', () => {
    for (const t of ['{"receipts":[]}', 'x'.repeat(100), '{"checkpoint":1}', '"checkpoint":"unterminated\\"'])
      expect(compactQc(t, noteHash)).toEqual({ text: t, notes: new Map() });
    for (const t of ['~1:{"receipts":[]}', '~0:x', '~', '~2:y']) {
      const s = compactQc(t, noteHash);
      expect(s.text).toBe(`~0:${t}`);
      expect(restoreQc(s.text, () => undefined)).toBe(t);
    }
    // Legacy rows (no marker) read as they are, whatever they hold.
    expect(restoreQc(`{"checkpoint":"#${'a'.repeat(64)}"}`, () => undefined)).toBe(
      `{"checkpoint":"#${'a'.repeat(64)}"}`,
    );
  });

  it('the scanner ends a value at the first quote not escaped by an odd run of backslashes', () => {
    const t = '"checkpoint":"a\\"b\\\\"x"checkpoint":"\\\\\\""';
    const spans = checkpointSpans(t, 0);
    expect(spans.length).toBe(4);
    expect(t.slice(spans[0], spans[1])).toBe('a\\"b\\\\');
    expect(t.slice(spans[2], spans[3])).toBe('\\\\\\"');
  });

  it('random texts over JSON-ish tokens round-trip exactly (any input the port accepts)', () => {
    const tokens = [
      '"checkpoint":"',
      '"',
      '\\',
      '\\"',
      '#',
      'a'.repeat(64),
      '~1:',
      '~0:',
      'x',
      '—',
      '\n',
      ':',
      '{',
    ];
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    let compacted = 0;
    for (let n = 0; n < 5000; n++) {
      let t = '';
      const len = 1 + (next() % 30);
      for (let i = 0; i < len; i++) t += tokens[next() % tokens.length];
      const s = compactQc(t, noteHash);
      if (s.text.startsWith('~1:')) compacted++;
      expect(restoreQc(s.text, (h) => s.notes.get(h))).toBe(t);
      for (const [h, note] of s.notes) expect(noteHash(note)).toBe(h);
    }
    expect(compacted).toBeGreaterThan(500);
  });
});

// ---------------------------------------------------------------------------------------------
// On both backends

function qcNoteSuite(open: () => Promise<OmtDatabase>): void {
  let omt: OmtDatabase;
  beforeAll(async () => {
    omt = await open();
  });
  afterAll(async () => {
    await omt?.close();
  });

  it('real QCs round-trip byte-exact through appendMany and append; head, get and list, warm and cold', async () => {
    const net = new Network();
    const store = new SqlEventStore(omt.db);
    const chains = Array.from({ length: 10 }, () => `item:${randomHex(6)}`);
    const all: CommittedEvent[] = [];
    // Three batches over the same chains (appendMany), then one event per chain by append.
    for (let b = 0; b < 3; b++) {
      const { events, notes } = await net.batch(chains);
      expect(notes.every((n) => n.length > 4000 && n.includes('—'))).toBe(true);
      expect(await store.appendMany(events.map((event) => ({ event })))).toEqual(
        events.map(() => 'appended'),
      );
      all.push(...events);
    }
    const { events: singles } = await net.batch(chains);
    for (const e of singles) expect(await store.append(e, [payout()])).toBe('appended');
    all.push(...singles);
    // Stored compacted: the raw column holds references, not notes.
    const raw = await storedQc(omt, all[0]?.chain as string, 0);
    expect(raw.startsWith('~1:')).toBe(true);
    expect(raw).not.toContain('—');
    expect(raw.length).toBeLessThan((all[0]?.qc.length as number) / 4);
    await readBack(store, all); // warm: the notes are in this store's cache
    await readBack(new SqlEventStore(omt.db), all); // cold: fetched from the table
    // Appending the same events again: `exists`, and the stored QCs are unchanged.
    expect(await store.appendMany(singles.map((event) => ({ event })))).toEqual(singles.map(() => 'exists'));
    expect(await new SqlEventStore(omt.db).append(singles[0] as CommittedEvent)).toBe('exists');
    await readBack(new SqlEventStore(omt.db), all);
  });

  it('notes a store saw stored are not sent again; another store sends them once; QCs read back exact', async () => {
    const net = new Network();
    const carrying: 1[] = [];
    const sent: KyselyPlugin = {
      transformQuery: ({ node }) => {
        // The notes' insert is a raw fragment nested in the statement's node tree.
        if (JSON.stringify(node).includes('insert into omt_ledger_qc_notes')) carrying.push(1);
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const store = new SqlEventStore(omt.db.withPlugin(sent));
    const chains = Array.from({ length: 6 }, () => `known:${randomHex(6)}`);
    // One checkpoint per operator for all six events: only the first statement carries the notes.
    const { events: first } = await net.batch(chains);
    for (const e of first) expect(await store.append(e)).toBe('appended');
    expect(carrying).toHaveLength(1);
    // The next batch has new notes: carried once more, by its one statement.
    const { events: second } = await net.batch(chains);
    expect(await store.appendMany(second.map((event) => ({ event })))).toEqual(second.map(() => 'appended'));
    expect(carrying).toHaveLength(2);
    // Read back by this store and by a cold one; a store that read the notes back knows them too.
    await readBack(store, [...first, ...second]);
    const { events: third } = await net.batch(chains);
    const other = new SqlEventStore(omt.db.withPlugin(sent));
    expect(await other.append(third[0] as CommittedEvent)).toBe('appended');
    expect(carrying).toHaveLength(3); // a store of its own does not know what another one stored
    for (const e of third.slice(1)) expect(await other.append(e)).toBe('appended');
    expect(carrying).toHaveLength(3);
    await readBack(new SqlEventStore(omt.db), [...first, ...second, ...third]);
  });

  it('a store on a transaction remembers no note: after a rollback to a savepoint the notes are sent again', async () => {
    const net = new Network();
    const chains = Array.from({ length: 2 }, () => `trx:${randomHex(6)}`);
    const { events } = await net.batch(chains);
    const trx = await omt.db.startTransaction().execute();
    try {
      const saved = await trx.savepoint('before').execute();
      const store = new SqlEventStore(saved);
      expect(await store.append(events[0] as CommittedEvent)).toBe('appended');
      const back = await saved.rollbackToSavepoint('before').execute();
      // The same notes, referenced by the other event: they must be inserted again.
      expect(await store.append(events[1] as CommittedEvent)).toBe('appended');
      await back.commit().execute();
    } catch (e) {
      await trx.rollback().execute();
      throw e;
    }
    const cold = new SqlEventStore(omt.db);
    expect(await cold.get(chains[0] as string, 0)).toBeUndefined();
    expect(await cold.get(chains[1] as string, 0)).toEqual(events[1]);
  });

  it('a legacy row (the full QC text, as written before 0008) reads back unchanged, and its chain continues', async () => {
    const net = new Network();
    const chain = `item:${randomHex(6)}`;
    const { events } = await net.batch([chain]);
    const e = events[0] as CommittedEvent;
    await sql`insert into omt_ledger_events (chain, height, hash, prev, machine, type, event, qc, state, committed_at)
      values (${e.chain}, ${e.height}, ${e.hash}, ${e.prev}, ${e.machine}, ${e.type}, ${e.event}, ${e.qc},
        ${e.state}, ${e.committedAt})`.execute(omt.db);
    expect(await storedQc(omt, chain, 0)).toBe(e.qc);
    const { events: next } = await net.batch([chain]);
    const store = new SqlEventStore(omt.db);
    expect(await store.appendMany(next.map((event) => ({ event })))).toEqual(['appended']);
    expect((await storedQc(omt, chain, 1)).startsWith('~1:')).toBe(true);
    await readBack(store, [e, ...next]);
    await readBack(new SqlEventStore(omt.db), [e, ...next]);
  });

  it('checkpoint texts that look like references, markers and escapes round-trip exactly', async () => {
    const store = new SqlEventStore(omt.db);
    const real = 'op1.omt.example\n7\nAAAA\n\n— op1.omt.example sig+/=\n';
    const realHash = noteHash(JSON.stringify(real).slice(1, -1));
    const { chain, events } = await chainOf(store, [
      (e) => qcWith(e.chain, e.height, e.hash, [real]),
      // The very reference text of the note above, and other `#` texts, as checkpoint values.
      (e) => qcWith(e.chain, e.height, e.hash, [`#${realHash}`, '#', `#${'0'.repeat(64)}`, real]),
      (e) => qcWith(e.chain, e.height, e.hash, ['quote " backslash \\ \\" — \u0001 \t end\\']),
      // Not JSON at all (the port accepts any text): markers at the start, keys without structure.
      () => `~1:"checkpoint":"#${realHash}"`,
      () => '~0:plain',
      () => `"checkpoint":"${real}" "checkpoint":"#${realHash}`,
      () => '{"receipts":[]}',
    ]);
    await readBack(store, events);
    await readBack(new SqlEventStore(omt.db), events);
    const raws = await Promise.all(events.map((e) => storedQc(omt, chain, e.height)));
    expect(raws.map((r) => r.slice(0, 3))).toEqual(['~1:', '~1:', '~1:', '~1:', '~0:', '~1:', '{"r']);
  });

  it('UPDATE, DELETE and TRUNCATE of omt_ledger_qc_notes are refused (append-only)', async () => {
    const net = new Network();
    const { events, notes } = await net.batch([`item:${randomHex(6)}`]);
    await new SqlEventStore(omt.db).appendMany(events.map((event) => ({ event })));
    const hash = noteHash(JSON.stringify(notes[0]).slice(1, -1));
    expect(
      (await sql`select 1 from omt_ledger_qc_notes where hash = ${hash}`.execute(omt.db)).rows,
    ).toHaveLength(1);
    for (const attempt of [
      sql`update omt_ledger_qc_notes set note = 'forged' where hash = ${hash}`,
      sql`delete from omt_ledger_qc_notes where hash = ${hash}`,
      sql`truncate omt_ledger_qc_notes`,
    ])
      await expect(attempt.execute(omt.db)).rejects.toMatchObject({ code: 'OMT01', message: /append-only/ });
    // A note cannot be inserted under another note's hash.
    await expect(
      sql`insert into omt_ledger_qc_notes (hash, note) values (${'1'.repeat(64)}, 'forged')`.execute(omt.db),
    ).rejects.toMatchObject({ code: '23514' });
    await readBack(new SqlEventStore(omt.db), events);
  });

  it('a stored reference whose note is missing is adapters.sql.query-failed naming the event', async () => {
    const store = new SqlEventStore(omt.db);
    const { chain, events } = await chainOf(store, [(e) => qcWith(e.chain, e.height, e.hash, ['fine'])]);
    const lost = randomHex(32);
    const first = events[0] as CommittedEvent;
    await sql`insert into omt_ledger_events (chain, height, hash, prev, machine, type, event, qc, state, committed_at)
      values (${chain}, 1, ${randomHex(32)}, ${first.hash}, 'm', 't', '{}',
        ${`~1:{"receipts":[{"checkpoint":"#${noteHash('"fine"'.slice(1, -1))}"},{"checkpoint":"#${lost}"}]}`},
        '{}', now())`.execute(omt.db);
    await sql`insert into omt_ledger_events (chain, height, hash, prev, machine, type, event, qc, state, committed_at)
      select ${chain}, 2, ${randomHex(32)}, hash, 'm', 't', '{}', '~1:{"checkpoint":"not a reference"}', '{}', now()
      from omt_ledger_events where chain = ${chain} and height = 1`.execute(omt.db);
    for (const s of [store, new SqlEventStore(omt.db)]) {
      const missing = {
        code: 'adapters.sql.query-failed',
        message: expect.stringMatching(`${chain} height 1 .*${lost}.*not stored`),
      };
      expect(await errorOf(s.get(chain, 1))).toEqual(missing);
      expect(await errorOf(s.list(chain, { fromHeight: 1, limit: 1 }))).toEqual(missing);
      const bad = {
        code: 'adapters.sql.query-failed',
        message: expect.stringMatching(`${chain} height 2 .*not a note reference`),
      };
      expect(await errorOf(s.head(chain))).toEqual(bad);
      expect(await errorOf(s.list(chain))).toEqual(bad);
      expect(await s.get(chain, 0)).toEqual(first);
    }
  });

  it('a note row that does not hash to its reference (CHECK dropped, then forged) is never returned', async () => {
    const store = new SqlEventStore(omt.db);
    const { chain, events } = await chainOf(store, [(e) => qcWith(e.chain, e.height, e.hash, ['genuine'])]);
    const forgedHash = noteHash(`genuine ${randomHex(4)}`);
    await sql`alter table omt_ledger_qc_notes drop constraint omt_ledger_qc_notes_hash`.execute(omt.db);
    try {
      await sql`insert into omt_ledger_qc_notes (hash, note) values (${forgedHash}, 'forged')`.execute(
        omt.db,
      );
    } finally {
      await sql`alter table omt_ledger_qc_notes add constraint omt_ledger_qc_notes_hash
        check (hash = encode(sha256(convert_to(note, 'UTF8')), 'hex')) not valid`.execute(omt.db);
    }
    const first = events[0] as CommittedEvent;
    await sql`insert into omt_ledger_events (chain, height, hash, prev, machine, type, event, qc, state, committed_at)
      values (${chain}, 1, ${randomHex(32)}, ${first.hash}, 'm', 't', '{}',
        ${`~1:{"checkpoint":"#${forgedHash}"}`}, '{}', now())`.execute(omt.db);
    expect(await errorOf(new SqlEventStore(omt.db).head(chain))).toEqual({
      code: 'adapters.sql.query-failed',
      message: expect.stringMatching(`${chain} height 1 .*${forgedHash}.*other text`),
    });
    expect(await new SqlEventStore(omt.db).get(chain, 0)).toEqual(first);
  });

  it('a batch with more distinct notes than one statement carries is split; outcomes and texts unchanged', async () => {
    const store = new SqlEventStore(omt.db);
    // 100 events × 200 distinct notes = 20,000 notes: two statements (16,384 notes at most each).
    const { chain, events } = await chainOf(
      store,
      Array.from(
        { length: 100 },
        (_, h) => (e: CommittedEvent) =>
          qcWith(
            e.chain,
            e.height,
            e.hash,
            Array.from({ length: 200 }, (_, i) => `note ${h}/${i} — ${'n'.repeat(100)}`),
          ),
      ),
    );
    const xmins = await sql<{ x: string }>`select distinct xmin::text as x from omt_ledger_events
      where chain = ${chain}`.execute(omt.db);
    expect(xmins.rows).toHaveLength(2);
    expect(await new SqlEventStore(omt.db).list(chain)).toEqual(events);
  });

  it('an appendMany item the database refuses is refused alone; the others keep their notes', async () => {
    await sql`alter table omt_ledger_payouts add constraint omt_test_poison_qc check (invoice <> 'poison')`.execute(
      omt.db,
    );
    try {
      const net = new Network();
      const chains = [`item:${randomHex(6)}`, `item:${randomHex(6)}`, `item:${randomHex(6)}`];
      const { events } = await net.batch(chains);
      const store = new SqlEventStore(omt.db);
      const outcomes = await store.appendMany([
        { event: events[0] as CommittedEvent },
        { event: events[1] as CommittedEvent, payouts: [payout({ invoice: 'poison' })] },
        { event: events[2] as CommittedEvent, payouts: [payout()] },
      ]);
      expect(outcomes.map((o) => (typeof o === 'string' ? o : o.error.code))).toEqual([
        'appended',
        'adapters.sql.query-failed',
        'appended',
      ]);
      await readBack(new SqlEventStore(omt.db), [events[0] as CommittedEvent, events[2] as CommittedEvent]);
      expect(await store.head(chains[1] as string)).toBeUndefined();
    } finally {
      await sql`alter table omt_ledger_payouts drop constraint omt_test_poison_qc`.execute(omt.db);
    }
  });
}

/** Storage of 100 events sharing 3 notes, in a database of their own. */
function storageSuite(open: () => Promise<OmtDatabase>): void {
  it('100 events sharing 3 real notes: the qc column is < 20 % of the QCs, 3 note rows', async () => {
    const omt = await open();
    try {
      const net = new Network();
      const { events } = await net.batch(
        Array.from({ length: 100 }, (_, i) => `item:${i.toString(16).padStart(6, '0')}`),
      );
      const store = new SqlEventStore(omt.db);
      expect(await store.appendMany(events.map((event) => ({ event })))).toEqual(
        events.map(() => 'appended'),
      );
      const original = events.reduce((n, e) => n + e.qc.length, 0);
      const r = await sql<{ chars: string; bytes: string; notes: string }>`select
        (select sum(length(qc)) from omt_ledger_events)::text as chars,
        (select sum(octet_length(qc)) from omt_ledger_events)::text as bytes,
        (select count(*) from omt_ledger_qc_notes)::text as notes`.execute(omt.db);
      const row = r.rows[0] as { chars: string; bytes: string; notes: string };
      expect(Number(row.chars)).toBeLessThan(0.2 * original);
      expect(Number(row.bytes)).toBeLessThan(0.2 * original);
      expect(row.notes).toBe('3');
      await readBack(new SqlEventStore(omt.db), events);
    } finally {
      await omt.close();
    }
  });
}

describe('QC notes on PGlite', () => {
  qcNoteSuite(() => openMigrated({ kind: 'pglite' }));
  storageSuite(() => openMigrated({ kind: 'pglite' }));
});

describePostgres('QC notes on PostgreSQL', (url) => {
  const schema = schemaFactory(url, 'qc_notes');
  qcNoteSuite(() => openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 4 }));
  storageSuite(() => openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 4 }));

  it('8 concurrent appendMany from 4 pools sharing notes in different orders: no deadlock, exact QCs', async () => {
    const s = schema();
    const dbs: OmtDatabase[] = [];
    try {
      for (let i = 0; i < 4; i++)
        dbs.push(await openMigrated({ kind: 'postgres', url, schema: s, poolSize: 4 }));
      for (let round = 0; round < 3; round++) {
        const net = new Network();
        const chains = Array.from({ length: 80 }, () => `race:${randomHex(6)}`);
        const { events, notes } = await net.batch(chains);
        // Extra notes per caller, so the batches' note sets overlap without being equal.
        const batches = Array.from({ length: 8 }, (_, caller) =>
          events
            .filter((_, i) => i % 8 === caller)
            .map((e) => ({
              event: {
                ...e,
                qc: qcWith(
                  e.chain,
                  e.height,
                  e.hash,
                  [...notes, `extra ${round}/${caller % 3}`].sort(() => Math.random() - 0.5),
                ),
              },
            })),
        );
        const results = await Promise.all(
          batches.map((b, i) => new SqlEventStore((dbs[i % 4] as OmtDatabase).db).appendMany(b)),
        );
        for (const [i, r] of results.entries()) expect(r).toEqual(batches[i]?.map(() => 'appended'));
        await readBack(
          new SqlEventStore((dbs[0] as OmtDatabase).db),
          batches.flat().map((b) => b.event),
        );
      }
      const n = await sql<{ n: string }>`select count(*)::text as n from omt_ledger_qc_notes`.execute(
        (dbs[1] as OmtDatabase).db,
      );
      expect(n.rows[0]?.n).toBe(String(3 * (3 + 3)));
    } finally {
      for (const d of dbs) await d.close();
    }
  });
});
