import { getEventListeners } from 'node:events';
import { pause, retryDelay } from '@omt/ledger/job';
import { MemoryJobQueue } from '@omt/ledger/job-queue-memory';
import { jobQueueContract } from '@omt/ledger/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

jobQueueContract('MemoryJobQueue', async () => ({ open: async () => new MemoryJobQueue() }));

describe('retryDelay', () => {
  it('doubles from baseMs and is capped at maxMs', () => {
    const p = { baseMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 7, 8, 100].map((n) => retryDelay(n, p))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ]);
  });
  it('is monotone and never above the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 10_000 }), (n, base) => {
        const p = { baseMs: base, maxMs: 5 * base + 1 };
        expect(retryDelay(n + 1, p)).toBeGreaterThanOrEqual(retryDelay(n, p));
        expect(retryDelay(n, p)).toBeLessThanOrEqual(p.maxMs);
      }),
      { numRuns: 200 },
    );
  });
});

describe('pause (the wait between rounds of background loops)', () => {
  it('waits the time, ends early on abort, and leaves no listener on the signal', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) await pause(1, ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    const long = pause(60_000, ac.signal);
    ac.abort();
    await long;
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await pause(60_000, ac.signal); // already aborted: at once
  });
});
