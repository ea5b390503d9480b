/**
 * Contract test suites for the event-chain storage ports (`EventStore`, `VoteLog`,
 * `WitnessStore`, ports.ts): every implementation — memory here, SQL in `@omt/adapters/sql` —
 * runs them, so all behave alike. Importing this module needs vitest; production code never
 * imports it.
 *
 * The suites work on a persistent, shared database without cleanup: chain ids and witness
 * origins are random. A vote log is one log per store (per database schema for SQL), so the
 * `VoteLog` suite never assumes an empty log — it measures from `size()` — but no other writer may
 * use that log while the suite runs.
 */
import { concatBytes, toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AppendOutcome,
  CommittedEvent,
  EventStore,
  Payout,
  VoteLog,
  VoteOutcome,
  VoteRequest,
  WitnessStore,
} from '../ports.js';
import type { StoreFixture } from './index.js';

function randomHex(n: number): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}

function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

function fixtureHandle<S>(make: () => Promise<StoreFixture<S>>): () => StoreFixture<S> {
  let value: StoreFixture<S> | undefined;
  beforeAll(async () => {
    value = await make();
  });
  afterAll(async () => {
    await value?.close?.();
  });
  return () => {
    if (value === undefined) throw new Error('fixture not ready');
    return value;
  };
}

// ---------------------------------------------------------------------------------------------
// EventStore

/** A fresh random chain id, `t<hex>:<subject>`. */
function freshChain(subject = 'item'): string {
  return `t${randomHex(6)}:${subject}`;
}

const T0 = new Date('2026-11-22T10:00:00.123Z');

/** A committed event at `height` linked to `prev` (random hash; event text names the hash). */
function committed(chain: string, height: number, prev: string | null, over: Partial<CommittedEvent> = {}) {
  const hash = over.hash ?? randomHex(32);
  const event: CommittedEvent = {
    chain,
    height,
    hash,
    prev,
    machine: 'omt.item/v1',
    type: height === 0 ? 'mint' : 'transfer',
    event: JSON.stringify({ chain, height, prev, hash, text: 'é ✓ 𝄞 "quoted"\n' }),
    qc: JSON.stringify({ chain, height, event: hash, receipts: [] }),
    state: JSON.stringify({ height, head: hash, state: 'owned' }),
    committedAt: new Date(T0.getTime() + height * 1000),
    ...over,
  };
  return event;
}

/** Appends `n` linked events to a fresh chain and returns them. */
async function appendChain(store: EventStore, chain: string, n: number): Promise<CommittedEvent[]> {
  const out: CommittedEvent[] = [];
  for (let h = 0; h < n; h++) {
    const e = committed(chain, h, h === 0 ? null : (out[h - 1] as CommittedEvent).hash);
    expect(await store.append(e)).toBe('appended');
    out.push(e);
  }
  return out;
}

function plainEvent(e: CommittedEvent | undefined): unknown {
  return e === undefined ? undefined : { ...e, committedAt: e.committedAt.toISOString() };
}

function payout(over: Partial<Payout> = {}): Payout {
  return {
    invoice: `inv-${randomHex(4)}`,
    party: randomHex(32),
    role: 'seller',
    amount: 9_500n,
    currency: 'EUR',
    ...over,
  };
}

/** `appended` / `exists`, or the error code of an `appendMany` outcome. */
function outcomeCode(o: AppendOutcome): string {
  return typeof o === 'string' ? o : o.error.code;
}

/** What `append` answers for an event, by its rules, updating the model chain (its hashes). */
function modelAppend(
  hashes: string[],
  height: number,
  prev: string | null,
  hash: string,
  invalid: boolean,
): string {
  if (invalid) return 'ledger.event.invalid';
  if (height < hashes.length) return hashes[height] === hash ? 'exists' : 'ledger.event.conflict';
  if (height !== hashes.length || prev !== (hashes.length === 0 ? null : hashes[hashes.length - 1]))
    return 'ledger.event.out-of-order';
  hashes.push(hash);
  return 'appended';
}

/** A small seeded generator (mulberry32), so a failing random batch can be replayed by its seed. */
function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `EventStore` contract: append-only chains (ordering, idempotent re-append, conflicts,
 * out-of-order refusals), atomic appends with payouts, exactly one winner under concurrency, reads;
 * `appendMany` answering exactly as `append` called in order (also under concurrency).
 * @example
 * ```ts
 * eventStoreContract('memory', async () => ({ store: new MemoryEventStore() }));
 * ```
 */
export function eventStoreContract(name: string, open: () => Promise<StoreFixture<EventStore>>): void {
  describe(`EventStore contract: ${name}`, () => {
    const fx = fixtureHandle(open);
    const store = (): EventStore => fx().store;

    it('append links events by height and prev; head, get and list round-trip every field', async () => {
      const chain = freshChain();
      expect(await store().head(chain)).toBeUndefined();
      expect(await store().list(chain)).toEqual([]);
      const events = await appendChain(store(), chain, 5);
      expect(plainEvent(await store().head(chain))).toEqual(plainEvent(events[4]));
      for (const e of events) {
        const got = await store().get(chain, e.height);
        expect(plainEvent(got)).toEqual(plainEvent(e));
        expect(got?.committedAt).toBeInstanceOf(Date);
      }
      expect((await store().get(chain, 0))?.prev).toBeNull();
      expect(await store().get(chain, 5)).toBeUndefined();
      expect((await store().list(chain)).map(plainEvent)).toEqual(events.map(plainEvent));
      expect((await store().list(chain, { fromHeight: 2, limit: 2 })).map((e) => e.height)).toEqual([2, 3]);
      expect((await store().list(chain, { fromHeight: 3 })).map((e) => e.height)).toEqual([3, 4]);
      expect(await store().list(chain, { fromHeight: 9 })).toEqual([]);
      expect((await store().list(chain, { limit: 1 })).map((e) => e.hash)).toEqual([events[0]?.hash]);
    });

    it('heads answers the head of every chain that has one, as head does, in one call', async () => {
      const s = store();
      if (s.heads === undefined) return; // optional in the port
      const a = freshChain();
      const b = freshChain();
      const empty = freshChain();
      await appendChain(s, a, 3);
      await appendChain(s, b, 1);
      const got = await s.heads([a, empty, b, a]);
      expect([...got.keys()].sort()).toEqual([a, b].sort());
      expect(plainEvent(got.get(a))).toEqual(plainEvent(await s.head(a)));
      expect(plainEvent(got.get(b))).toEqual(plainEvent(await s.head(b)));
      expect(got.get(a)?.committedAt).toBeInstanceOf(Date);
      expect((await s.heads([])).size).toBe(0);
      expect(await codeOf(s.heads(['no-colon']))).toBe('ledger.event.invalid');
      expect(await codeOf(s.heads('item:x' as unknown as string[]))).toBe('ledger.event.invalid');
      expect(await codeOf(s.heads(Array.from({ length: 1001 }, () => a)))).toBe('ledger.event.invalid');
    });

    it('list defaults to at most 1,000 events', async () => {
      const chain = freshChain();
      const events = await appendChain(store(), chain, 1003);
      const page = await store().list(chain);
      expect(page).toHaveLength(1000);
      expect(page[999]?.hash).toBe(events[999]?.hash);
      expect((await store().list(chain, { fromHeight: 1000 })).map((e) => e.height)).toEqual([
        1000, 1001, 1002,
      ]);
      expect((await store().head(chain))?.height).toBe(1002);
    });

    it('chains are isolated from each other', async () => {
      const a = freshChain();
      const b = freshChain();
      const ea = await appendChain(store(), a, 2);
      const eb = await appendChain(store(), b, 3);
      expect((await store().head(a))?.hash).toBe(ea[1]?.hash);
      expect((await store().head(b))?.hash).toBe(eb[2]?.hash);
      expect((await store().list(a)).map((e) => e.chain)).toEqual([a, a]);
    });

    it('re-appending the identical event returns exists and changes nothing', async () => {
      const chain = freshChain();
      const events = await appendChain(store(), chain, 3);
      const p = payout();
      for (const e of events) expect(await store().append(e, [p])).toBe('exists');
      // Same chain, height and hash: the identity of an event; its other fields are not re-read.
      expect(await store().append({ ...(events[1] as CommittedEvent), qc: '{"other":1}' })).toBe('exists');
      expect((await store().list(chain)).map(plainEvent)).toEqual(events.map(plainEvent));
      expect(await store().payouts(chain)).toEqual([]);
      expect((await store().head(chain))?.height).toBe(2);
    });

    it('a different event at a committed height → ledger.event.conflict, nothing changes', async () => {
      const chain = freshChain();
      const events = await appendChain(store(), chain, 3);
      expect(await codeOf(store().append(committed(chain, 0, null)))).toBe('ledger.event.conflict');
      expect(await codeOf(store().append(committed(chain, 1, events[0]?.hash as string)))).toBe(
        'ledger.event.conflict',
      );
      expect(await codeOf(store().append(committed(chain, 2, events[1]?.hash as string), [payout()]))).toBe(
        'ledger.event.conflict',
      );
      expect((await store().list(chain)).map(plainEvent)).toEqual(events.map(plainEvent));
      expect(await store().payouts(chain)).toEqual([]);
    });

    it('a height or prev that does not continue the head → ledger.event.out-of-order', async () => {
      const chain = freshChain();
      expect(await codeOf(store().append(committed(chain, 1, randomHex(32))))).toBe(
        'ledger.event.out-of-order',
      );
      expect(await codeOf(store().append(committed(chain, 0, randomHex(32))))).toBe(
        'ledger.event.out-of-order',
      );
      expect(await store().head(chain)).toBeUndefined();
      const events = await appendChain(store(), chain, 2);
      const head = events[1] as CommittedEvent;
      expect(await codeOf(store().append(committed(chain, 3, head.hash)))).toBe('ledger.event.out-of-order');
      expect(await codeOf(store().append(committed(chain, 2, randomHex(32))))).toBe(
        'ledger.event.out-of-order',
      );
      expect(await codeOf(store().append(committed(chain, 2, events[0]?.hash as string)))).toBe(
        'ledger.event.out-of-order',
      );
      expect(await codeOf(store().append(committed(chain, 2, null)))).toBe('ledger.event.out-of-order');
      expect((await store().head(chain))?.hash).toBe(head.hash);
      expect(await store().append(committed(chain, 2, head.hash))).toBe('appended');
    });

    it('payouts are stored with their event, in insertion order, amounts as bigint', async () => {
      const chain = freshChain();
      const other = freshChain();
      const [e0] = await appendChain(store(), chain, 1);
      await appendChain(store(), other, 1);
      const invoice = `inv-${randomHex(6)}`;
      const first = [
        payout({ invoice, role: 'seller', amount: 9_000n }),
        payout({ invoice, role: 'fee', amount: 0n, currency: 'EUR' }),
        payout({ invoice, role: 'royalty', amount: 2n ** 63n - 1n, currency: 'USDC' }),
      ];
      const e1 = committed(chain, 1, e0?.hash as string, { type: 'settle' });
      expect(await store().append(e1, first)).toBe('appended');
      const e2 = committed(chain, 2, e1.hash);
      expect(await store().append(e2, [])).toBe('appended');
      const later = [payout({ role: 'seller', currency: 'BSV', amount: 1n })];
      expect(await store().append(committed(chain, 3, e2.hash), later)).toBe('appended');
      const got = await store().payouts(chain);
      expect(got).toEqual([...first, ...later]);
      expect(typeof got[0]?.amount).toBe('bigint');
      expect(await store().payouts(other)).toEqual([]);
      expect(await store().payouts(freshChain())).toEqual([]);
    });

    it('an append whose payouts are refused stores nothing (event, state and payouts together)', async () => {
      const chain = freshChain();
      const [e0] = await appendChain(store(), chain, 1);
      const next = committed(chain, 1, e0?.hash as string, { type: 'settle' });
      const good = payout({ role: 'seller' });
      const bad: unknown[] = [
        [good, payout({ amount: -1n })],
        [good, payout({ amount: 2n ** 63n })],
        [good, payout({ amount: 5 as unknown as bigint })],
        [good, payout({ currency: 'eur' })],
        [good, payout({ currency: 'EU' })],
        [good, payout({ party: 'not-a-key-id' })],
        [good, payout({ role: '' })],
        [good, payout({ role: 'x'.repeat(33) })],
        [good, payout({ invoice: '' })],
        [good, { ...payout(), extra: 1 }],
        'not a list',
      ];
      for (const b of bad)
        expect(await codeOf(store().append(next, b as Payout[]))).toBe('ledger.event.invalid');
      expect((await store().head(chain))?.height).toBe(0);
      expect(await store().get(chain, 1)).toBeUndefined();
      expect(await store().payouts(chain)).toEqual([]);
      expect(await store().append(next, [good])).toBe('appended');
      expect(await store().payouts(chain)).toEqual([good]);
    });

    it('16 concurrent appends of different events at one height: exactly one is appended', async () => {
      for (const height of [0, 1]) {
        const chain = freshChain();
        const prev = height === 0 ? null : ((await appendChain(store(), chain, 1))[0]?.hash ?? null);
        const candidates = Array.from({ length: 16 }, () => committed(chain, height, prev));
        const results = await Promise.allSettled(
          candidates.map((e, i) => store().append(e, [payout({ role: `r${i}` })])),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        expect(results[won[0] as number]).toEqual({ status: 'fulfilled', value: 'appended' });
        for (const r of results)
          if (r.status === 'rejected') expect(isOmtError(r.reason, 'ledger.event.conflict')).toBe(true);
        const winner = candidates[won[0] as number] as CommittedEvent;
        expect((await store().head(chain))?.hash).toBe(winner.hash);
        expect((await store().list(chain)).map((e) => e.height)).toEqual(height === 0 ? [0] : [0, 1]);
        expect((await store().payouts(chain)).map((p) => p.role)).toEqual([`r${won[0]}`]);
      }
    });

    it('16 concurrent appends of the same event: one appended, the rest exists', async () => {
      const chain = freshChain();
      const e = committed(chain, 0, null);
      const results = await Promise.all(Array.from({ length: 16 }, () => store().append(e, [payout()])));
      expect(results.filter((r) => r === 'appended')).toHaveLength(1);
      expect(results.filter((r) => r === 'exists')).toHaveLength(15);
      expect(await store().payouts(chain)).toHaveLength(1);
    });

    it('concurrent appends along one chain from several writers keep it linked and dense', async () => {
      const chain = freshChain();
      const events: CommittedEvent[] = [];
      for (let h = 0; h < 12; h++)
        events.push(committed(chain, h, h === 0 ? null : (events[h - 1] as CommittedEvent).hash));
      // Every writer tries every event in order; out-of-order attempts fail and are retried.
      const writer = async (): Promise<void> => {
        for (const e of events) {
          for (;;) {
            const code = await codeOf(store().append(e));
            if (code === undefined) break;
            if (code !== 'ledger.event.out-of-order') throw new Error(code);
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, writer));
      expect((await store().list(chain)).map((e) => e.hash)).toEqual(events.map((e) => e.hash));
    });

    it('chains() lists chains with their head height in byte order of the chain id, paged by after', async () => {
      const prefix = `t${randomHex(6)}:`;
      // '-' < '.' < 'A' < 'Z' < '_' < 'a' in byte order (a locale collation would differ).
      const subjects = ['a', '_', 'Z', 'A', '.', '-x', 'a.b'];
      const heights = new Map<string, number>();
      for (const [i, s] of subjects.entries()) {
        await appendChain(store(), prefix + s, 1 + (i % 3));
        heights.set(prefix + s, i % 3);
      }
      const expected = [...heights.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(expected.map((c) => c.slice(prefix.length))).toEqual(['-x', '.', 'A', 'Z', '_', 'a', 'a.b']);
      const all = await store().chains({ after: prefix, limit: subjects.length });
      expect(all).toEqual(expected.map((chain) => ({ chain, height: heights.get(chain) })));
      const page1 = await store().chains({ after: prefix, limit: 3 });
      const page2 = await store().chains({ after: page1[2]?.chain as string, limit: 3 });
      expect([...page1, ...page2].map((c) => c.chain)).toEqual(expected.slice(0, 6));
      const rest = await store().chains({ after: expected[6] as string, limit: 1 });
      expect(rest.every((c) => !c.chain.startsWith(prefix))).toBe(true);
      const first = await store().chains({ limit: 2 });
      expect(first.length).toBeGreaterThanOrEqual(1);
      expect(first.length).toBeLessThanOrEqual(2);
    });

    it('returned events are copies', async () => {
      const chain = freshChain();
      const [e0] = await appendChain(store(), chain, 1);
      const got = (await store().head(chain)) as CommittedEvent;
      got.committedAt.setTime(0);
      expect((await store().get(chain, 0))?.committedAt.getTime()).toBe(e0?.committedAt.getTime());
    });

    it('malformed input → ledger.event.invalid, nothing stored', async () => {
      const chain = freshChain();
      const good = committed(chain, 0, null);
      const bad: unknown[] = [
        { ...good, chain: 'Item:x' },
        { ...good, chain: 'item' },
        { ...good, chain: `item:${'x'.repeat(129)}` },
        { ...good, height: -1 },
        { ...good, height: 1.5 },
        { ...good, height: 2 ** 53 },
        { ...good, hash: good.hash.toUpperCase() },
        { ...good, prev: 'zz' },
        { ...good, machine: '' },
        { ...good, type: 'has space' },
        { ...good, event: '' },
        { ...good, event: 'x'.repeat(65_537) },
        { ...good, event: '{"nul":"\u0000"}' },
        { ...good, state: '{"lone":"\uD800"}' },
        { ...good, qc: 7 },
        { ...good, committedAt: new Date(Number.NaN) },
        { ...good, committedAt: '2026-01-01T00:00:00Z' },
        { ...good, extra: true },
        null,
      ];
      for (const b of bad)
        expect(await codeOf(store().append(b as CommittedEvent))).toBe('ledger.event.invalid');
      expect(await store().head(chain)).toBeUndefined();
      expect(await codeOf(store().get(chain, -1))).toBe('ledger.event.invalid');
      expect(await codeOf(store().get('nope', 0))).toBe('ledger.event.invalid');
      expect(await codeOf(store().head('nope'))).toBe('ledger.event.invalid');
      expect(await codeOf(store().list(chain, { limit: 0 }))).toBe('ledger.event.invalid');
      expect(await codeOf(store().list(chain, { limit: 10_001 }))).toBe('ledger.event.invalid');
      expect(await codeOf(store().list(chain, { fromHeight: -1 }))).toBe('ledger.event.invalid');
      expect(await codeOf(store().payouts('nope'))).toBe('ledger.event.invalid');
      expect(await codeOf(store().chains({ limit: 0 }))).toBe('ledger.event.invalid');
      // A chain id and event text at their limits are accepted.
      const longChain = `t${randomHex(15)}k:${'s'.repeat(128)}`;
      expect(longChain.indexOf(':')).toBe(32);
      const big = committed(longChain, 0, null, { event: 'x'.repeat(65_536) });
      expect(await store().append(big)).toBe('appended');
      expect((await store().head(big.chain))?.event).toHaveLength(65_536);
    });

    // ─── appendMany ───────────────────────────────────────────────────────────────────────────

    it('appendMany answers each item in order, as append one after another would (mixed outcomes)', async () => {
      const a = freshChain();
      const b = freshChain();
      const [a0, a1] = await appendChain(store(), a, 2);
      const a2 = committed(a, 2, (a1 as CommittedEvent).hash);
      const b0 = committed(b, 0, null);
      const b1 = committed(b, 1, b0.hash); // extends b0, appended earlier in the same call
      const b2 = committed(b, 2, b1.hash);
      const a3 = committed(a, 3, a2.hash);
      const items: { event: CommittedEvent; payouts?: Payout[] }[] = [
        { event: a2 },
        { event: b0 },
        { event: b1 },
        { event: a2 }, // again: exists
        { event: committed(a, 1, (a0 as CommittedEvent).hash) }, // conflict
        { event: committed(b, 3, b1.hash) }, // gap: out-of-order
        { event: { ...b2, hash: 'NOT-A-HASH' } }, // invalid
        { event: a0 as CommittedEvent }, // committed before the call: exists
        { event: b2, payouts: [payout({ amount: -1n })] }, // invalid payout: nothing of it stored
        { event: b2 },
        { event: committed(a, 3, randomHex(32)) }, // wrong prev: out-of-order
        { event: a3, payouts: [payout({ role: 'seller' }), payout({ role: 'fee' })] },
      ];
      const outcomes = await store().appendMany(items);
      expect(outcomes.map(outcomeCode)).toEqual([
        'appended',
        'appended',
        'appended',
        'exists',
        'ledger.event.conflict',
        'ledger.event.out-of-order',
        'ledger.event.invalid',
        'exists',
        'ledger.event.invalid',
        'appended',
        'ledger.event.out-of-order',
        'appended',
      ]);
      for (const o of outcomes) if (typeof o !== 'string') expect(o.error.message.length).toBeGreaterThan(0);
      expect((outcomes[4] as { error: { message: string } }).error.message).toContain(a);
      expect((await store().list(a)).map((e) => e.hash)).toEqual([a0?.hash, a1?.hash, a2.hash, a3.hash]);
      expect((await store().list(b)).map(plainEvent)).toEqual([b0, b1, b2].map(plainEvent));
      expect((await store().payouts(a)).map((p) => p.role)).toEqual(['seller', 'fee']);
      expect(await store().payouts(b)).toEqual([]);
      expect(await store().appendMany([])).toEqual([]);
    });

    it('appendMany equals append called in order, on random batches (outcomes, messages, stored chains)', async () => {
      for (let round = 0; round < 6; round++) {
        const seed = (Math.random() * 2 ** 32) >>> 0;
        const rnd = seededRandom(seed);
        const viaMany = `t${randomHex(6)}:`;
        const viaOne = `t${randomHex(6)}:`;
        const subjects = ['a', 'b', 'c'];
        const model = new Map(subjects.map((s) => [s, [] as string[]]));
        // The same start on both copies: 0–2 events per chain.
        const start: { subject: string; event: (prefix: string) => CommittedEvent }[] = [];
        for (const s of subjects) {
          const hashes = model.get(s) as string[];
          for (let h = 0, n = Math.floor(rnd() * 3); h < n; h++) {
            const hash = randomHex(32);
            const prev = h === 0 ? null : (hashes[h - 1] as string);
            start.push({ subject: s, event: (p) => committed(p + s, h, prev, { hash }) });
            hashes.push(hash);
          }
        }
        for (const { event } of start) {
          expect(await store().append(event(viaMany))).toBe('appended');
          expect(await store().append(event(viaOne))).toBe('appended');
        }
        // A batch mixing extensions, repeats, conflicts, gaps, wrong links and bad input; the
        // model (append's rules) runs alongside to draw mostly meaningful items.
        const made: {
          event: (prefix: string) => CommittedEvent;
          payouts: Payout[] | undefined;
          bad: boolean;
        }[] = [];
        const expected: string[] = [];
        for (let i = 0; i < 24; i++) {
          const s = subjects[Math.floor(rnd() * subjects.length)] as string;
          const hashes = model.get(s) as string[];
          const head = hashes.length;
          const last = head === 0 ? null : (hashes[head - 1] as string);
          const pick = rnd();
          let height = head;
          let prev = last;
          let hash = randomHex(32);
          let payouts: Payout[] | undefined = rnd() < 0.3 ? [payout({ role: `r${i}` })] : undefined;
          if (pick < 0.15 && made.length > 0) {
            const again = made[Math.floor(rnd() * made.length)] as (typeof made)[number];
            const e = again.event('x:');
            const sub = e.chain.slice(2);
            made.push(again);
            expected.push(modelAppend(model.get(sub) as string[], e.height, e.prev, e.hash, again.bad));
            continue;
          }
          if (pick < 0.3 && head > 0) {
            height = Math.floor(rnd() * head);
            prev = height === 0 ? null : (hashes[height - 1] as string);
            if (rnd() < 0.5) hash = hashes[height] as string; // exists, else conflict
          } else if (pick < 0.4) height = head + 1;
          else if (pick < 0.5) prev = randomHex(32);
          else if (pick < 0.55) payouts = [payout({ currency: 'eur' })];
          const bad = pick >= 0.5 && pick < 0.55;
          const h = height;
          const p = prev;
          const x = hash;
          made.push({ event: (prefix) => committed(prefix + s, h, p, { hash: x }), payouts, bad });
          expected.push(modelAppend(hashes, height, prev, hash, bad));
        }
        const outcomes = await store().appendMany(
          made.map((m) => ({ event: m.event(viaMany), ...(m.payouts ? { payouts: m.payouts } : {}) })),
        );
        const one: AppendOutcome[] = [];
        for (const m of made) {
          try {
            one.push(await store().append(m.event(viaOne), m.payouts));
          } catch (e) {
            if (!isOmtError(e)) throw e;
            one.push({ error: { code: e.code, message: e.message.replaceAll(viaOne, viaMany) } });
          }
        }
        expect(outcomes.map(outcomeCode), `seed ${seed}`).toEqual(expected);
        expect(outcomes, `seed ${seed}`).toEqual(one);
        for (const s of subjects) {
          const many = await store().list(viaMany + s);
          const single = await store().list(viaOne + s);
          expect(
            many.map((e) => e.hash),
            `seed ${seed}`,
          ).toEqual(model.get(s));
          expect(single.map((e) => e.hash)).toEqual(model.get(s));
          expect(await store().payouts(viaMany + s)).toEqual(await store().payouts(viaOne + s));
        }
      }
    });

    it("appendMany stores each item's payouts with it, in order (up to 256 per item)", async () => {
      const chain = freshChain();
      const other = freshChain();
      const e0 = committed(chain, 0, null);
      const e1 = committed(chain, 1, e0.hash);
      const o0 = committed(other, 0, null);
      const many = Array.from({ length: 256 }, (_, i) => payout({ role: `p${i}`, amount: BigInt(i) }));
      const few = [payout({ role: 'seller' }), payout({ role: 'fee', currency: 'BSV' })];
      const outcomes = await store().appendMany([
        { event: e0, payouts: many },
        { event: o0, payouts: [] },
        { event: e1, payouts: few },
        { event: committed(other, 0, null), payouts: few }, // conflict: none of its payouts
      ]);
      expect(outcomes.map(outcomeCode)).toEqual([
        'appended',
        'appended',
        'appended',
        'ledger.event.conflict',
      ]);
      expect(await store().payouts(chain)).toEqual([...many, ...few]);
      expect(await store().payouts(other)).toEqual([]);
    });

    it('appendMany takes at most 1,000 items; anything but a list → ledger.event.invalid, nothing stored', async () => {
      const chain = freshChain();
      const events: CommittedEvent[] = [];
      for (let h = 0; h < 1001; h++)
        events.push(committed(chain, h, h === 0 ? null : (events[h - 1] as CommittedEvent).hash));
      const items = events.map((event) => ({ event }));
      for (const bad of [items, 'x', null, undefined, { length: 1 }])
        expect(await codeOf(store().appendMany(bad as typeof items))).toBe('ledger.event.invalid');
      expect(await store().head(chain)).toBeUndefined();
      const done = await store().appendMany(items.slice(0, 1000));
      expect(done.every((o) => o === 'appended')).toBe(true);
      expect((await store().head(chain))?.height).toBe(999);
      // Items that are not {event, payouts?} refuse only themselves.
      const last = events[1000] as CommittedEvent;
      const outcomes = await store().appendMany([
        null,
        { event: last, extra: 1 },
        7,
        { event: last },
      ] as never);
      expect(outcomes.map(outcomeCode)).toEqual([
        'ledger.event.invalid',
        'ledger.event.invalid',
        'ledger.event.invalid',
        'appended',
      ]);
    });

    it('8 concurrent appendMany calls racing for the same heights: exactly one winner per height', async () => {
      const chains = Array.from({ length: 12 }, () => freshChain());
      const heads = new Map<string, CommittedEvent | undefined>();
      for (const [i, c] of chains.entries())
        heads.set(c, i % 2 === 0 ? undefined : (await appendChain(store(), c, 1))[0]);
      // Each caller proposes its own two events per chain (h, then h+1 on top of its own h), in
      // its own order of chains, each with a payout naming the caller.
      const batches = Array.from({ length: 8 }, (_, caller) => {
        const order = [...chains].sort(() => Math.random() - 0.5);
        return order.flatMap((c) => {
          const head = heads.get(c);
          const h = head === undefined ? 0 : head.height + 1;
          const first = committed(c, h, head?.hash ?? null);
          const second = committed(c, h + 1, first.hash);
          return [
            { event: first, payouts: [payout({ role: `c${caller}` })] },
            { event: second, payouts: [payout({ role: `c${caller}` })] },
          ];
        });
      });
      const results = await Promise.all(batches.map((b) => store().appendMany(b)));
      for (const c of chains) {
        const winners: number[] = [];
        for (const [caller, batch] of batches.entries()) {
          const got = batch.flatMap((item, j) =>
            item.event.chain === c ? [outcomeCode(results[caller]?.[j] as AppendOutcome)] : [],
          );
          if (got[0] === 'appended') {
            expect(got).toEqual(['appended', 'appended']);
            winners.push(caller);
          } else expect(got).toEqual(['ledger.event.conflict', 'ledger.event.conflict']);
        }
        expect(winners).toHaveLength(1);
        const won = batches[winners[0] as number]?.filter((i) => i.event.chain === c) ?? [];
        const stored = await store().list(c);
        expect(stored.slice(-2).map((e) => e.hash)).toEqual(won.map((i) => i.event.hash));
        expect((await store().payouts(c)).map((p) => p.role)).toEqual([`c${winners[0]}`, `c${winners[0]}`]);
      }
    });

    it('8 concurrent identical appendMany calls: each item appended once, exists for the others', async () => {
      const chain = freshChain();
      const events: CommittedEvent[] = [];
      for (let h = 0; h < 20; h++)
        events.push(committed(chain, h, h === 0 ? null : (events[h - 1] as CommittedEvent).hash));
      const items = events.map((event) => ({ event, payouts: [payout()] }));
      const results = await Promise.all(Array.from({ length: 8 }, () => store().appendMany(items)));
      for (let j = 0; j < items.length; j++) {
        const col = results.map((r) => r[j]);
        expect(col.filter((o) => o === 'appended')).toHaveLength(1);
        expect(col.filter((o) => o === 'exists')).toHaveLength(7);
      }
      expect((await store().list(chain)).map((e) => e.hash)).toEqual(events.map((e) => e.hash));
      expect(await store().payouts(chain)).toHaveLength(20);
    });

    it('concurrent appendMany and append along one chain keep it linked and dense', async () => {
      const chain = freshChain();
      const events: CommittedEvent[] = [];
      for (let h = 0; h < 30; h++)
        events.push(committed(chain, h, h === 0 ? null : (events[h - 1] as CommittedEvent).hash));
      const batchWriter = async (): Promise<void> => {
        for (let from = 0; from < events.length; ) {
          const outcomes = await store().appendMany(events.slice(from, from + 7).map((event) => ({ event })));
          const stop = outcomes.findIndex((o) => o !== 'appended' && o !== 'exists');
          for (const o of outcomes)
            if (o !== 'appended' && o !== 'exists') expect(o.error.code).toBe('ledger.event.out-of-order');
          from += stop === -1 ? outcomes.length : stop;
        }
      };
      const singleWriter = async (): Promise<void> => {
        for (const e of events)
          for (;;) {
            const code = await codeOf(store().append(e));
            if (code === undefined) break;
            if (code !== 'ledger.event.out-of-order') throw new Error(code);
          }
      };
      await Promise.all([batchWriter(), singleWriter(), batchWriter(), singleWriter()]);
      expect((await store().list(chain)).map((e) => e.hash)).toEqual(events.map((e) => e.hash));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// VoteLog

/** The vote leaf of docs/event-chains.md step 2. */
function voteLeaf(chain: string, height: number, hash: string): Uint8Array {
  return utf8(`omt.vote.v1\n${chain}\n${height}\n${hash}\n`);
}

function voteRequest(chain: string, height: number, hash = randomHex(32)): VoteRequest {
  return { chain, height, hash, leaf: voteLeaf(chain, height, hash), at: T0 };
}

/** RFC 9162 §2.1.1, computed here independently of the store. */
function leafHashOf(leaf: Uint8Array): string {
  return toHex(sha256(concatBytes(Uint8Array.of(0), leaf)));
}

/**
 * The `VoteLog` contract: one vote per chain height ever, the vote and its leaf together,
 * dense indexes under concurrency, RFC 9162 leaf hashes, idempotent checkpoints; `voteMany`
 * answering exactly as `vote` called in order, atomically.
 * @example
 * ```ts
 * voteLogContract('memory', async () => ({ store: new MemoryVoteLog() }));
 * ```
 */
export function voteLogContract(name: string, open: () => Promise<StoreFixture<VoteLog>>): void {
  describe(`VoteLog contract: ${name}`, () => {
    const fx = fixtureHandle(open);
    const log = (): VoteLog => fx().store;

    it('the first vote appends its leaf at the next index; same hash → same, other hash → conflict', async () => {
      const chain = freshChain();
      const before = await log().size();
      const first = voteRequest(chain, 0);
      expect(await log().vote(first)).toEqual({ status: 'new', index: before });
      expect(await log().size()).toBe(before + 1);
      // A retry with the same hash (even another leaf or time) appends nothing.
      expect(await log().vote({ ...first, at: new Date(T0.getTime() + 5) })).toEqual({
        status: 'same',
        index: before,
      });
      expect(await log().vote({ ...first, leaf: utf8('another leaf') })).toEqual({
        status: 'same',
        index: before,
      });
      const other = voteRequest(chain, 0);
      expect(await log().vote(other)).toEqual({ status: 'conflict', voted: first.hash, index: before });
      expect(await log().size()).toBe(before + 1);
      expect((await log().leaves(before, before + 1)).map(toHex)).toEqual([toHex(first.leaf)]);
      expect((await log().leafHashes(before, before + 1)).map(toHex)).toEqual([leafHashOf(first.leaf)]);
      // Another height of the chain, and the same height of another chain, are separate votes.
      expect(await log().vote(voteRequest(chain, 1, first.hash))).toEqual({
        status: 'new',
        index: before + 1,
      });
      expect(await log().vote(voteRequest(freshChain(), 0, first.hash))).toEqual({
        status: 'new',
        index: before + 2,
      });
    });

    it('indexes are dense in append order; leaves and leafHashes read any range', async () => {
      const chain = freshChain();
      const before = await log().size();
      const reqs = Array.from({ length: 7 }, (_, h) => voteRequest(chain, h));
      for (const [i, r] of reqs.entries())
        expect(await log().vote(r)).toEqual({ status: 'new', index: before + i });
      const size = await log().size();
      expect(size).toBe(before + 7);
      const leaves = await log().leaves(before, size);
      expect(leaves.map(toHex)).toEqual(reqs.map((r) => toHex(r.leaf)));
      expect(leaves[0]).toBeInstanceOf(Uint8Array);
      const hashes = await log().leafHashes(before, size);
      expect(hashes.map(toHex)).toEqual(reqs.map((r) => leafHashOf(r.leaf)));
      expect(hashes.every((h) => h instanceof Uint8Array && h.length === 32)).toBe(true);
      expect((await log().leafHashes(before + 2, before + 4)).map(toHex)).toEqual(
        reqs.slice(2, 4).map((r) => leafHashOf(r.leaf)),
      );
      expect(await log().leaves(size, size)).toEqual([]);
      expect(await log().leafHashes(0, 0)).toEqual([]);
      expect((await log().leafHashes(0, size)).length).toBe(size);
      // Mutating what was returned does not change the log.
      (leaves[0] as Uint8Array).fill(0);
      expect(toHex((await log().leaves(before, before + 1))[0] as Uint8Array)).toBe(
        toHex(reqs[0]?.leaf as Uint8Array),
      );
    });

    it('the stored leaf is a copy of the request leaf', async () => {
      const r = voteRequest(freshChain(), 0);
      const original = toHex(r.leaf);
      const { index } = await log().vote(r);
      r.leaf.fill(0x41);
      expect(toHex((await log().leaves(index, index + 1))[0] as Uint8Array)).toBe(original);
    });

    it('16 concurrent votes for different hashes at one height: exactly one new, the rest conflict with it', async () => {
      const chain = freshChain();
      const before = await log().size();
      const reqs = Array.from({ length: 16 }, () => voteRequest(chain, 3));
      const results = await Promise.all(reqs.map((r) => log().vote(r)));
      const fresh = results.flatMap((r, i) => (r.status === 'new' ? [i] : []));
      expect(fresh).toHaveLength(1);
      const winner = reqs[fresh[0] as number] as VoteRequest;
      expect(results[fresh[0] as number]).toEqual({ status: 'new', index: before });
      for (const [i, r] of results.entries())
        if (i !== fresh[0]) expect(r).toEqual({ status: 'conflict', voted: winner.hash, index: before });
      expect(await log().size()).toBe(before + 1);
      expect((await log().leaves(before, before + 1)).map(toHex)).toEqual([toHex(winner.leaf)]);
    });

    it('50 concurrent votes on different heights: all new, indexes dense, each leaf at its index', async () => {
      const before = await log().size();
      const chain = freshChain();
      const reqs = Array.from({ length: 50 }, (_, i) => voteRequest(i % 2 === 0 ? chain : `${chain}.b`, i));
      const results = await Promise.all(reqs.map((r) => log().vote(r)));
      expect(results.every((r) => r.status === 'new')).toBe(true);
      const indexes = results.map((r) => r.index);
      expect([...indexes].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => before + i));
      expect(await log().size()).toBe(before + 50);
      const leaves = await log().leaves(before, before + 50);
      const hashes = await log().leafHashes(before, before + 50);
      for (const [i, r] of reqs.entries()) {
        const at = (indexes[i] as number) - before;
        expect(toHex(leaves[at] as Uint8Array)).toBe(toHex(r.leaf));
        expect(toHex(hashes[at] as Uint8Array)).toBe(leafHashOf(r.leaf));
      }
      // Re-voting them all concurrently appends nothing.
      const again = await Promise.all(reqs.map((r) => log().vote(r)));
      expect(again).toEqual(results.map((r) => ({ status: 'same', index: r.index })));
      expect(await log().size()).toBe(before + 50);
    });

    it('ranges outside [0, size] → ledger.log.invalid', async () => {
      await log().vote(voteRequest(freshChain(), 0));
      const size = await log().size();
      for (const [from, to] of [
        [0, size + 1],
        [2, 1],
        [-1, 1],
        [0.5, 1],
        [size + 1, size + 1],
      ] as const) {
        expect(await codeOf(log().leaves(from, to))).toBe('ledger.log.invalid');
        expect(await codeOf(log().leafHashes(from, to))).toBe('ledger.log.invalid');
      }
    });

    it('anchors (optional): saved by size, a later save for a size replaces it, newest first; bad input ledger.log.invalid', async () => {
      const l = log();
      if (l.saveAnchor === undefined || l.anchors === undefined) return;
      const base = 1_000_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
      const text = (n: number, tag: string) => JSON.stringify({ checkpoint: `cp ${n}`, proof: { tag } });
      await l.saveAnchor(base + 1, text(base + 1, 'a'), T0);
      await l.saveAnchor(base + 3, text(base + 3, 'a'), T0);
      await l.saveAnchor(base + 2, text(base + 2, 'a'), T0);
      await l.saveAnchor(base + 2, text(base + 2, 'b'), new Date(T0.getTime() + 1000));
      const newest = await l.anchors(3);
      expect(newest).toEqual([text(base + 3, 'a'), text(base + 2, 'b'), text(base + 1, 'a')]);
      expect(await l.anchors(1)).toEqual([text(base + 3, 'a')]);
      for (const [size, anchored, at] of [
        [-1, text(1, 'a'), T0],
        [1, 'not json', T0],
        [1, '[1]', T0],
        [1, '', T0],
        [1, text(1, 'a'), new Date(Number.NaN)],
      ] as const)
        expect(await codeOf(l.saveAnchor(size, anchored, at))).toBe('ledger.log.invalid');
      for (const limit of [0, 1001, 1.5]) expect(await codeOf(l.anchors(limit))).toBe('ledger.log.invalid');
    });

    it('checkpoints: idempotent for the same note, ledger.log.conflict for another, latest = largest size', async () => {
      const chain = freshChain();
      await log().vote(voteRequest(chain, 0));
      await log().vote(voteRequest(chain, 1));
      const size = await log().size();
      const note = `omt.example/log\n${size}\n${randomHex(8)}=\n\n— omt.example/log AAAA${randomHex(4)}\n`;
      expect(await log().checkpoint(size)).toBeUndefined();
      await log().saveCheckpoint(size, note, T0);
      await log().saveCheckpoint(size, note, new Date(T0.getTime() + 1000));
      expect(await log().checkpoint(size)).toBe(note);
      expect(await codeOf(log().saveCheckpoint(size, `${note}x`, T0))).toBe('ledger.log.conflict');
      expect(await log().checkpoint(size)).toBe(note);
      expect(await log().latestCheckpoint()).toEqual({ size, note });
      // An older, smaller checkpoint saved later does not become the latest.
      const older = `omt.example/log\n${size - 1}\n${randomHex(8)}=\n`;
      await log().saveCheckpoint(size - 1, older, T0);
      expect(await log().checkpoint(size - 1)).toBe(older);
      expect(await log().latestCheckpoint()).toEqual({ size, note });
      // A checkpoint can only commit to leaves the log holds.
      expect(await codeOf(log().saveCheckpoint(size + 1, older, T0))).toBe('ledger.log.invalid');
      expect(await log().checkpoint(size + 1)).toBeUndefined();
    });

    it('concurrent saves of different notes for one size: exactly one is kept', async () => {
      await log().vote(voteRequest(freshChain(), 0));
      const size = await log().size();
      const notes = Array.from(
        { length: 8 },
        (_, i) => `omt.example/log\n${size}\nrace ${i} ${randomHex(6)}\n`,
      );
      const results = await Promise.allSettled(notes.map((n) => log().saveCheckpoint(size, n, T0)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(isOmtError(r.reason, 'ledger.log.conflict')).toBe(true);
      const kept = notes[results.findIndex((r) => r.status === 'fulfilled')];
      expect(await log().checkpoint(size)).toBe(kept);
    });

    it('malformed input → ledger.vote.invalid / ledger.log.invalid, nothing appended', async () => {
      const before = await log().size();
      const good = voteRequest(freshChain(), 0);
      const bad: unknown[] = [
        { ...good, chain: 'no-colon' },
        { ...good, height: -1 },
        { ...good, height: '1' },
        { ...good, hash: 'ab' },
        { ...good, leaf: new Uint8Array(0) },
        { ...good, leaf: new Uint8Array(65_537) },
        { ...good, leaf: 'omt.vote.v1' },
        { ...good, at: new Date(Number.NaN) },
        { ...good, extra: 1 },
        undefined,
      ];
      for (const b of bad) expect(await codeOf(log().vote(b as VoteRequest))).toBe('ledger.vote.invalid');
      expect(await log().size()).toBe(before);
      expect(await codeOf(log().saveCheckpoint(-1, 'x', T0))).toBe('ledger.log.invalid');
      expect(await codeOf(log().saveCheckpoint(0, '', T0))).toBe('ledger.log.invalid');
      expect(await codeOf(log().saveCheckpoint(0, 'x', new Date(Number.NaN)))).toBe('ledger.log.invalid');
      expect(await codeOf(log().checkpoint(-1))).toBe('ledger.log.invalid');
      expect(await log().vote(good)).toEqual({ status: 'new', index: before });
    });

    // ─── voteMany ─────────────────────────────────────────────────────────────────────────────

    it('voteMany answers each request in order, as vote one after another; new leaves at consecutive indexes', async () => {
      const chain = freshChain();
      const other = freshChain();
      const before = await log().size();
      const first = voteRequest(chain, 0);
      expect(await log().vote(first)).toEqual({ status: 'new', index: before });
      const h1 = voteRequest(chain, 1);
      const h2 = voteRequest(chain, 2);
      const o0 = voteRequest(other, 0);
      const rival = voteRequest(chain, 1);
      const outcomes = await log().voteMany([
        { ...first, at: new Date(T0.getTime() + 1) },
        voteRequest(chain, 0),
        h1,
        h2,
        { ...h1, leaf: utf8('another leaf') },
        rival,
        o0,
        h2,
      ]);
      expect(outcomes).toEqual([
        { status: 'same', index: before },
        { status: 'conflict', voted: first.hash, index: before },
        { status: 'new', index: before + 1 },
        { status: 'new', index: before + 2 },
        { status: 'same', index: before + 1 },
        { status: 'conflict', voted: h1.hash, index: before + 1 },
        { status: 'new', index: before + 3 },
        { status: 'same', index: before + 2 },
      ]);
      expect(await log().size()).toBe(before + 4);
      const leaves = [first, h1, h2, o0].map((r) => r.leaf);
      expect((await log().leaves(before, before + 4)).map(toHex)).toEqual(leaves.map(toHex));
      expect((await log().leafHashes(before, before + 4)).map(toHex)).toEqual(leaves.map(leafHashOf));
      // Later single votes continue after the batch.
      expect(await log().vote(voteRequest(chain, 3))).toEqual({ status: 'new', index: before + 4 });
      expect(await log().voteMany([])).toEqual([]);
      expect(await log().size()).toBe(before + 5);
    });

    it('voteMany equals a model of vote called in order, on random batches', async () => {
      for (let round = 0; round < 6; round++) {
        const seed = (Math.random() * 2 ** 32) >>> 0;
        const rnd = seededRandom(seed);
        const chains = [freshChain(), freshChain()];
        const hashes = Array.from({ length: 3 }, () => randomHex(32));
        const reqs = Array.from({ length: 30 }, () =>
          voteRequest(
            chains[Math.floor(rnd() * 2)] as string,
            Math.floor(rnd() * 5),
            hashes[Math.floor(rnd() * 3)] as string,
          ),
        );
        const before = await log().size();
        const voted = new Map<string, { hash: string; index: number }>();
        const expected = reqs.map((r): VoteOutcome => {
          const key = `${r.chain}\n${r.height}`;
          const v = voted.get(key);
          if (v === undefined) {
            voted.set(key, { hash: r.hash, index: before + voted.size });
            return { status: 'new', index: before + voted.size - 1 };
          }
          return v.hash === r.hash
            ? { status: 'same', index: v.index }
            : { status: 'conflict', voted: v.hash, index: v.index };
        });
        expect(await log().voteMany(reqs), `seed ${seed}`).toEqual(expected);
        expect(await log().size()).toBe(before + voted.size);
        // Re-voting the batch appends nothing: all same or conflict with the first votes.
        const again = await log().voteMany(reqs);
        expect(again.every((o) => o.status !== 'new')).toBe(true);
        expect(await log().size()).toBe(before + voted.size);
      }
    });

    it('voteMany checks every request first: one malformed request or more than 1,000 → ledger.vote.invalid, nothing recorded', async () => {
      const before = await log().size();
      const chain = freshChain();
      const good = Array.from({ length: 3 }, (_, h) => voteRequest(chain, h));
      for (const bad of [
        [...good, { ...voteRequest(chain, 5), hash: 'ab' }],
        [good[0], undefined],
        Array.from({ length: 1001 }, (_, h) => voteRequest(chain, h)),
        'x',
        null,
        { length: 0 },
      ])
        expect(await codeOf(log().voteMany(bad as VoteRequest[]))).toBe('ledger.vote.invalid');
      expect(await log().size()).toBe(before);
      const many = Array.from({ length: 1000 }, (_, h) => voteRequest(chain, h));
      const outcomes = await log().voteMany(many);
      expect(outcomes).toEqual(many.map((_, i) => ({ status: 'new', index: before + i })));
      expect(await log().size()).toBe(before + 1000);
      expect(toHex((await log().leaves(before + 999, before + 1000))[0] as Uint8Array)).toBe(
        toHex(many[999]?.leaf as Uint8Array),
      );
    });

    it('voteMany stores copies of the request leaves', async () => {
      const r = voteRequest(freshChain(), 0);
      const original = toHex(r.leaf);
      const [o] = await log().voteMany([r]);
      r.leaf.fill(0x41);
      const index = (o as VoteOutcome).index;
      expect(toHex((await log().leaves(index, index + 1))[0] as Uint8Array)).toBe(original);
    });

    it('8 concurrent voteMany calls: one vote per height, dense indexes, each batch recorded as a block', async () => {
      const before = await log().size();
      const chain = freshChain();
      // Every caller votes heights 0..19 (its own hashes, its own order) and 5 heights of its own.
      const batches = Array.from({ length: 8 }, (_, caller) => [
        ...Array.from({ length: 20 }, (_, h) => voteRequest(chain, h)).sort(() => Math.random() - 0.5),
        ...Array.from({ length: 5 }, (_, k) => voteRequest(chain, 100 + caller * 10 + k)),
      ]);
      const results = await Promise.all(batches.map((b) => log().voteMany(b)));
      const size = await log().size();
      expect(size).toBe(before + 20 + 8 * 5);
      const winner = new Map<number, { hash: string; index: number }>();
      for (const [caller, batch] of batches.entries()) {
        const out = results[caller] as VoteOutcome[];
        // A batch is atomic: its new leaves take consecutive indexes in request order.
        const fresh = out.flatMap((o) => (o.status === 'new' ? [o.index] : []));
        expect(fresh).toEqual(fresh.map((_, i) => (fresh[0] as number) + i));
        for (const [j, o] of out.entries()) {
          const r = batch[j] as VoteRequest;
          if (o.status === 'new') {
            expect(winner.has(r.height)).toBe(false);
            winner.set(r.height, { hash: r.hash, index: o.index });
          }
        }
      }
      expect(winner.size).toBe(20 + 8 * 5);
      for (const [caller, batch] of batches.entries())
        for (const [j, o] of (results[caller] as VoteOutcome[]).entries()) {
          const r = batch[j] as VoteRequest;
          const w = winner.get(r.height) as { hash: string; index: number };
          if (o.status !== 'new') expect(o).toEqual({ status: 'conflict', voted: w.hash, index: w.index });
        }
      const indexes = [...winner.values()].map((w) => w.index).sort((a, b) => a - b);
      expect(indexes).toEqual(Array.from({ length: size - before }, (_, i) => before + i));
      const leaves = await log().leaves(before, size);
      for (const [height, w] of winner)
        expect(toHex(leaves[w.index - before] as Uint8Array)).toBe(toHex(voteLeaf(chain, height, w.hash)));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// WitnessStore

function state(size: number, fill?: number): { size: number; root: Uint8Array } {
  return { size, root: fill === undefined ? randomBytes(32) : new Uint8Array(32).fill(fill) };
}

function plainState(s: { readonly size: number; readonly root: Uint8Array } | undefined): unknown {
  return s === undefined ? undefined : { size: s.size, root: toHex(s.root) };
}

/**
 * The `WitnessStore` contract: `compareAndSwap` stores `next` only while the stored value equals
 * `expected` (undefined = nothing stored), atomically; origins are independent.
 * @example
 * ```ts
 * witnessStoreContract('memory', async () => ({ store: new MemoryWitnessStore() }));
 * ```
 */
export function witnessStoreContract(name: string, open: () => Promise<StoreFixture<WitnessStore>>): void {
  describe(`WitnessStore contract: ${name}`, () => {
    const fx = fixtureHandle(open);
    const store = (): WitnessStore => fx().store;
    const origin = (): string => `witness.test/${randomHex(8)}`;

    it('an unknown origin reads undefined; the first CAS from undefined stores the state', async () => {
      const o = origin();
      expect(await store().get(o)).toBeUndefined();
      const a = state(5);
      expect(await store().compareAndSwap(o, undefined, a)).toBe(true);
      const got = await store().get(o);
      expect(plainState(got)).toEqual(plainState(a));
      expect(got?.root).toBeInstanceOf(Uint8Array);
      expect(await store().get(origin())).toBeUndefined();
    });

    it('CAS succeeds only when the stored value equals expected (size and root)', async () => {
      const o = origin();
      const a = state(5);
      await store().compareAndSwap(o, undefined, a);
      const b = state(9);
      expect(await store().compareAndSwap(o, undefined, b)).toBe(false);
      expect(await store().compareAndSwap(o, { size: 5, root: randomBytes(32) }, b)).toBe(false);
      expect(await store().compareAndSwap(o, { size: 6, root: a.root }, b)).toBe(false);
      expect(plainState(await store().get(o))).toEqual(plainState(a));
      expect(await store().compareAndSwap(o, { size: 5, root: a.root.slice() }, b)).toBe(true);
      expect(plainState(await store().get(o))).toEqual(plainState(b));
      expect(await store().compareAndSwap(o, a, state(10))).toBe(false);
      // Same size, same root again (a no-op swap) still succeeds when expected matches.
      expect(await store().compareAndSwap(o, b, { size: b.size, root: b.root.slice() })).toBe(true);
      expect(plainState(await store().get(o))).toEqual(plainState(b));
    });

    it('origins are independent', async () => {
      const o1 = origin();
      const o2 = origin();
      const a = state(1, 0xaa);
      const b = state(2, 0xbb);
      expect(await store().compareAndSwap(o1, undefined, a)).toBe(true);
      expect(await store().compareAndSwap(o2, undefined, b)).toBe(true);
      expect(plainState(await store().get(o1))).toEqual(plainState(a));
      expect(plainState(await store().get(o2))).toEqual(plainState(b));
      expect(await store().compareAndSwap(o2, a, state(3))).toBe(false);
    });

    it('stored and returned roots are copies', async () => {
      const o = origin();
      const a = state(3, 0x11);
      await store().compareAndSwap(o, undefined, a);
      a.root.fill(0x22);
      const got = await store().get(o);
      expect(toHex(got?.root as Uint8Array)).toBe('11'.repeat(32));
      got?.root.fill(0x33);
      expect(toHex((await store().get(o))?.root as Uint8Array)).toBe('11'.repeat(32));
    });

    it('16 concurrent CAS from one expected value: exactly one wins, and its value is stored', async () => {
      for (const start of ['empty', 'stored'] as const) {
        const o = origin();
        let expected: { size: number; root: Uint8Array } | undefined;
        if (start === 'stored') {
          expected = state(4);
          await store().compareAndSwap(o, undefined, expected);
        }
        const nexts = Array.from({ length: 16 }, (_, i) => state(10 + i));
        const results = await Promise.all(nexts.map((n) => store().compareAndSwap(o, expected, n)));
        expect(results.filter((r) => r)).toHaveLength(1);
        const won = nexts[results.indexOf(true)];
        expect(plainState(await store().get(o))).toEqual(plainState(won));
      }
    });
  });
}
