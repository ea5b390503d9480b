import { describe, expect, it } from 'vitest';
import { Coalescer } from '../src/coalesce.js';
import { isOmtError, OmtError } from '../src/errors.js';

/** A run that records its batches and answers each item doubled once `release()` is called. */
function gated() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: readonly number[]): Promise<number[]> => {
    batches.push([...items]);
    await new Promise<void>((r) => gates.push(r));
    return items.map((x) => x * 2);
  };
  const release = async (): Promise<void> => {
    for (let i = 0; i < 20 && gates.length === 0; i++) await new Promise((r) => setTimeout(r, 0));
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { batches, run, release };
}

describe('Coalescer', () => {
  it('runs the calls of one tick as one batch and answers each call its own results', async () => {
    const g = gated();
    const c = new Coalescer(g.run, { maxItems: 100 });
    const calls = [c.add([1]), c.add([2, 3]), c.add([4])];
    await g.release();
    expect(await Promise.all(calls)).toEqual([[2], [4, 6], [8]]);
    expect(g.batches).toEqual([[1, 2, 3, 4]]);
  });

  it('queues calls made while maxInFlight runs are busy, and sends them together next', async () => {
    const g = gated();
    const c = new Coalescer(g.run, { maxItems: 100, maxInFlight: 1 });
    const first = c.add([1]);
    await new Promise((r) => setTimeout(r, 0));
    const later = [c.add([2]), c.add([3])];
    await new Promise((r) => setTimeout(r, 0));
    expect(c.queued).toBe(2);
    expect(g.batches).toEqual([[1]]);
    await g.release();
    expect(await first).toEqual([2]);
    await g.release();
    expect(await Promise.all(later)).toEqual([[4], [6]]);
    expect(g.batches).toEqual([[1], [2, 3]]);
  });

  it('keeps batches within maxItems, in call order, and never splits a call', async () => {
    const seen: number[][] = [];
    const c = new Coalescer(
      async (items: readonly number[]) => {
        seen.push([...items]);
        return items.map((x) => -x);
      },
      { maxItems: 3, maxInFlight: 1 },
    );
    const r = await Promise.all([c.add([1, 2]), c.add([3, 4]), c.add([5]), c.add([6, 7, 8, 9])]);
    expect(r).toEqual([[-1, -2], [-3, -4], [-5], [-6, -7, -8, -9]]);
    expect(seen).toEqual([
      [1, 2],
      [3, 4, 5],
      [6, 7, 8, 9],
    ]);
  });

  it('rejects every call of a failed batch, unless isolate accepts the error', async () => {
    const bad = new OmtError('core.input.invalid', 'item 13');
    const run = async (items: readonly number[]) => {
      if (items.includes(13)) throw bad;
      return items.map(String);
    };
    const plain = new Coalescer(run, { maxItems: 10 });
    const p = await Promise.allSettled([plain.add([1]), plain.add([13])]);
    expect(p.map((x) => x.status)).toEqual(['rejected', 'rejected']);

    const isolating = new Coalescer(run, { maxItems: 10, isolate: (e) => e === bad });
    const q = await Promise.allSettled([isolating.add([1, 2]), isolating.add([13]), isolating.add([3])]);
    expect(q[0]).toEqual({ status: 'fulfilled', value: ['1', '2'] });
    expect(q[1]).toEqual({ status: 'rejected', reason: bad });
    expect(q[2]).toEqual({ status: 'fulfilled', value: ['3'] });
  });

  it('refuses a run that answers another number of results than items', async () => {
    const c = new Coalescer(async (items: readonly number[]) => items.slice(1), { maxItems: 10 });
    const e = await c.add([1, 2]).catch((x: unknown) => x);
    expect(isOmtError(e, 'core.coalesce.mismatch')).toBe(true);
  });

  it('lets an aborted call leave the queue, or drop its results when already running', async () => {
    const g = gated();
    const c = new Coalescer(g.run, { maxItems: 100, maxInFlight: 1 });
    const running = new AbortController();
    const first = c.add([1], running.signal);
    const other = c.add([2]);
    await new Promise((r) => setTimeout(r, 0));
    const queued = new AbortController();
    const waiting = c.add([3], queued.signal);
    const kept = c.add([4]);
    await new Promise((r) => setTimeout(r, 0));
    // Handlers first: both reject inside abort().
    const waitingEnds = expect(waiting).rejects.toThrow('queued call aborted');
    const firstEnds = expect(first).rejects.toThrow('running call aborted');
    queued.abort(new Error('queued call aborted'));
    running.abort(new Error('running call aborted'));
    await waitingEnds;
    await firstEnds;
    await g.release();
    expect(await other).toEqual([4]);
    await g.release();
    expect(await kept).toEqual([8]);
    expect(g.batches).toEqual([[1, 2], [4]]);
    await expect(c.add([5], AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(await c.add([])).toEqual([]);
  });

  it('validates its options', () => {
    const run = async (items: readonly number[]) => items;
    expect(() => new Coalescer(run, { maxItems: 0 })).toThrow(OmtError);
    expect(() => new Coalescer(run, { maxItems: 1, maxInFlight: 0 })).toThrow(OmtError);
  });
});
