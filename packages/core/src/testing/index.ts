/**
 * Contract test suites for the ports of @omt/core (ARCHITECTURE rule 2): every adapter runs the
 * same suite so all implementations behave alike. Importing this module needs vitest (an optional
 * peer dependency of @omt/core); production code never imports it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOmtError } from '../errors.js';
import type { AuditLogStore, StoredAuditEntry, StoredAuditHead } from '../ports.js';

/** What a contract suite needs from an adapter: a fresh or shared store and an optional cleanup. */
export interface StoreFixture<S> {
  readonly store: S;
  readonly close?: () => Promise<void>;
}

let logCounter = 0;

/**
 * A log name no earlier run can have used, so the suite also runs against a persistent database
 * (PostgreSQL in CI) without cleanup between runs.
 */
function freshLog(label: string): string {
  logCounter++;
  const rnd = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  return `contract.${label}.${rnd}.${logCounter}`;
}

/** 32 bytes covering every value position deterministically (0x00 and 0xff included). */
function pattern(seed: number): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = (seed * 31 + i * 97 + (i === 0 ? 0 : 0xff)) & 0xff;
  out[1] = 0x00;
  out[2] = 0xff;
  return out;
}

/** A well-formed stored entry; `prevHash` links to the previous fake entry as a real log would. */
function entry(log: string, seq: number, extra = ''): StoredAuditEntry {
  const body = JSON.stringify({ log, seq, v: 1, x: extra });
  return {
    log,
    seq,
    prevHash: seq === 0 ? new Uint8Array(32) : pattern(seq - 1),
    hash: pattern(seq),
    body,
  };
}

function entries(log: string, from: number, count: number, extra = ''): StoredAuditEntry[] {
  return Array.from({ length: count }, (_, i) => entry(log, from + i, extra));
}

function head(log: string, size: number, note = ''): StoredAuditHead {
  return {
    log,
    size,
    hash: size === 0 ? new Uint8Array(32) : pattern(size - 1),
    body: JSON.stringify({ log, note, size, v: 1 }),
  };
}

/** Plain copies, so `toEqual` compares bytes and text and nothing else (a Buffer equals its bytes). */
function plainEntry(e: StoredAuditEntry): unknown {
  return {
    log: e.log,
    seq: e.seq,
    prevHash: Array.from(e.prevHash),
    hash: Array.from(e.hash),
    body: e.body,
  };
}

function plainHead(h: StoredAuditHead): unknown {
  return { log: h.log, size: h.size, hash: Array.from(h.hash), body: h.body };
}

async function expectConflict(p: Promise<unknown>): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, 'expected the store to reject with core.audit.conflict').toBeDefined();
  expect(isOmtError(error, 'core.audit.conflict'), `expected core.audit.conflict, got ${String(error)}`).toBe(
    true,
  );
}

/**
 * The {@link AuditLogStore} contract. Every adapter runs it:
 *
 * @example
 * ```ts
 * import { auditLogStoreContract } from '@omt/core/testing';
 * auditLogStoreContract('sql (PGlite)', async () => {
 *   const db = await openTestDatabase();
 *   return { store: new SqlAuditLogStore(db), close: () => db.destroy() };
 * });
 * ```
 *
 * `makeStore` is called once for the whole block; each test uses its own fresh log names, so a
 * persistent database needs no cleanup between runs.
 */
export function auditLogStoreContract(
  name: string,
  makeStore: () => Promise<StoreFixture<AuditLogStore>>,
): void {
  describe(`AuditLogStore contract: ${name}`, () => {
    let fixture: StoreFixture<AuditLogStore> | undefined;
    const store = (): AuditLogStore => {
      if (fixture === undefined) throw new Error('store fixture not ready');
      return fixture.store;
    };

    beforeAll(async () => {
      fixture = await makeStore();
    });
    afterAll(async () => {
      await fixture?.close?.();
    });

    it('an unknown log is empty', async () => {
      const log = freshLog('empty');
      expect(await store().last(log)).toBeUndefined();
      expect(await store().read(log, 0, 10)).toEqual([]);
      expect(await store().latestHead(log)).toBeUndefined();
    });

    it('appends and reads back in order; last is the highest seq', async () => {
      const log = freshLog('order');
      await store().append([entry(log, 0)]);
      await store().append(entries(log, 1, 4));
      await store().append([entry(log, 5)]);
      const all = await store().read(log, 0, 100);
      expect(all.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(all.map(plainEntry)).toEqual(entries(log, 0, 6).map(plainEntry));
      const last = await store().last(log);
      expect(last && plainEntry(last)).toEqual(plainEntry(entry(log, 5)));
    });

    it('reads windows: fromSeq and limit are honoured, past the end is empty', async () => {
      const log = freshLog('window');
      await store().append(entries(log, 0, 10));
      expect((await store().read(log, 3, 4)).map((e) => e.seq)).toEqual([3, 4, 5, 6]);
      expect((await store().read(log, 8, 100)).map((e) => e.seq)).toEqual([8, 9]);
      expect(await store().read(log, 10, 5)).toEqual([]);
      expect(await store().read(log, 1000, 5)).toEqual([]);
      expect(await store().read(log, 0, 0)).toEqual([]);
    });

    it('an empty batch is a no-op', async () => {
      const log = freshLog('noop');
      await store().append([]);
      expect(await store().last(log)).toBeUndefined();
    });

    it('rejects a first seq other than the current size with core.audit.conflict', async () => {
      const log = freshLog('seq');
      await expectConflict(store().append([entry(log, 1)]));
      await store().append(entries(log, 0, 3));
      await expectConflict(store().append([entry(log, 0)]));
      await expectConflict(store().append([entry(log, 2)]));
      await expectConflict(store().append([entry(log, 4)]));
      expect((await store().read(log, 0, 10)).map((e) => e.seq)).toEqual([0, 1, 2]);
      await store().append([entry(log, 3)]);
      expect((await store().last(log))?.seq).toBe(3);
    });

    it('rejects a non-consecutive batch and stores none of it (atomic)', async () => {
      const log = freshLog('atomic');
      await store().append(entries(log, 0, 2));
      await expectConflict(store().append([entry(log, 2), entry(log, 4)]));
      await expectConflict(store().append([entry(log, 2), entry(log, 3), entry(log, 3)]));
      await expectConflict(store().append([entry(log, 2), entry(log, 2)]));
      await expectConflict(store().append([entry(log, 3), entry(log, 2)]));
      expect((await store().read(log, 0, 10)).map((e) => e.seq)).toEqual([0, 1]);
      expect((await store().last(log))?.seq).toBe(1);
      // The log is still appendable at the right position afterwards.
      await store().append(entries(log, 2, 3));
      expect((await store().read(log, 0, 10)).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    });

    it('a batch that mixes logs is refused and stores nothing', async () => {
      const a = freshLog('mix-a');
      const b = freshLog('mix-b');
      await expect(store().append([entry(a, 0), entry(b, 0)])).rejects.toThrow();
      await expect(store().append([entry(a, 0), entry(b, 1)])).rejects.toThrow();
      expect(await store().last(a)).toBeUndefined();
      expect(await store().last(b)).toBeUndefined();
    });

    it('two concurrent appends at the same seq: exactly one succeeds', async () => {
      for (let round = 0; round < 3; round++) {
        const log = freshLog('race');
        await store().append(entries(log, 0, round));
        const contenders = ['left', 'right', 'third'].slice(0, round === 2 ? 3 : 2);
        const results = await Promise.allSettled(
          contenders.map((who) => store().append([entry(log, round, who), entry(log, round + 1, who)])),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [contenders[i]] : []));
        expect(won).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') expect(isOmtError(r.reason, 'core.audit.conflict')).toBe(true);
        }
        const stored = await store().read(log, 0, 10);
        expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: round + 2 }, (_, i) => i));
        const winner = won[0] as string;
        expect(stored.slice(round).map((e) => e.body)).toEqual([
          entry(log, round, winner).body,
          entry(log, round + 1, winner).body,
        ]);
      }
    });

    it('many concurrent single appends leave a gap-free log', async () => {
      const log = freshLog('many');
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => store().append([entry(log, 0, `w${i}`)])),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((await store().read(log, 0, 10)).map((e) => e.seq)).toEqual([0]);
    });

    it('byte fields round-trip exactly and stored data is isolated from caller mutation', async () => {
      const log = freshLog('bytes');
      const all = Uint8Array.from({ length: 32 }, (_, i) => (i * 8 + 7) & 0xff);
      const written: StoredAuditEntry = {
        log,
        seq: 0,
        prevHash: new Uint8Array(32),
        hash: all,
        body: '{"a":"\\u0000 nul escape","b":"é ü ß 中文 😀 \u2028"}',
      };
      const expected = plainEntry(written);
      const input = { ...written, prevHash: written.prevHash.slice(), hash: written.hash.slice() };
      await store().append([input]);
      input.hash.fill(1);
      input.prevHash.fill(2);
      const first = (await store().read(log, 0, 1))[0];
      expect(first && plainEntry(first)).toEqual(expected);
      expect(first?.hash).toBeInstanceOf(Uint8Array);
      expect(first?.hash.length).toBe(32);
      first?.hash.fill(3);
      const again = await store().last(log);
      expect(again && plainEntry(again)).toEqual(expected);
      const top = new Uint8Array(32).fill(0xff);
      await store().append([{ log, seq: 1, prevHash: all, hash: top, body: '{}' }]);
      const second = await store().last(log);
      expect(Array.from(second?.prevHash ?? [])).toEqual(Array.from(all));
      expect(Array.from(second?.hash ?? [])).toEqual(Array.from(top));
    });

    it('a large body text round-trips unchanged', async () => {
      const log = freshLog('large');
      const unit = 'abc "quoted" \\ back-slash é 中 😀 \u2028\u2029 ';
      const text = unit.repeat(Math.ceil((512 * 1024) / unit.length));
      const body = JSON.stringify({ text });
      await store().append([{ ...entry(log, 0), body }]);
      const got = await store().last(log);
      expect(got?.body.length).toBe(body.length);
      expect(got?.body === body).toBe(true);
    });

    it('heads: non-decreasing sizes, latestHead is the largest, bodies round-trip', async () => {
      const log = freshLog('heads');
      await store().append(entries(log, 0, 5));
      await store().putHead(head(log, 1));
      await store().putHead(head(log, 3));
      const latest1 = await store().latestHead(log);
      expect(latest1 && plainHead(latest1)).toEqual(plainHead(head(log, 3)));
      // Equal size is allowed (a head re-signed later, e.g. with a new key).
      await store().putHead(head(log, 3, 'again'));
      expect((await store().latestHead(log))?.size).toBe(3);
      await expectConflict(store().putHead(head(log, 2)));
      await expectConflict(store().putHead(head(log, 0)));
      await store().putHead(head(log, 5));
      const latest2 = await store().latestHead(log);
      expect(latest2 && plainHead(latest2)).toEqual(plainHead(head(log, 5)));
    });

    it('independent logs do not interfere', async () => {
      const a = freshLog('indep-a');
      const b = freshLog('indep-b');
      await store().append(entries(a, 0, 3, 'A'));
      await store().append(entries(b, 0, 1, 'B'));
      await store().append(entries(b, 1, 4, 'B'));
      await store().append([entry(a, 3, 'A')]);
      await store().putHead(head(a, 4));
      await store().putHead(head(b, 1));
      await expectConflict(store().append([entry(a, 5, 'A')]));
      const ra = await store().read(a, 0, 100);
      const rb = await store().read(b, 0, 100);
      expect(ra.map(plainEntry)).toEqual(entries(a, 0, 4, 'A').map(plainEntry));
      expect(rb.map(plainEntry)).toEqual(entries(b, 0, 5, 'B').map(plainEntry));
      expect((await store().latestHead(a))?.size).toBe(4);
      expect((await store().latestHead(b))?.size).toBe(1);
      // A log whose name is a prefix of another stays separate.
      const prefix = a.slice(0, a.lastIndexOf('.'));
      expect(await store().last(prefix)).toBeUndefined();
    });
  });
}
