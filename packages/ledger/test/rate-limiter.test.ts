import { isOmtError } from '@omt/core/errors';
import { DEFAULT_RATE_LIMIT, RateLimiter } from '@omt/ledger/rate-limiter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function fakeTime() {
  let t = 0;
  return {
    clock: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    now: () => t,
  };
}

describe('RateLimiter (token bucket, injectable clock)', () => {
  it('defaults to the original design: 500 tx per 3 s', () => {
    const time = fakeTime();
    const l = new RateLimiter({ clock: time.clock });
    expect([l.capacity, l.intervalMs]).toEqual([DEFAULT_RATE_LIMIT.capacity, DEFAULT_RATE_LIMIT.intervalMs]);
    let n = 0;
    while (l.tryTake()) n++;
    expect(n).toBe(500);
    time.advance(3000);
    n = 0;
    while (l.tryTake()) n++;
    expect(n).toBe(500);
  });

  it('refills continuously: 1 token every 6 ms at 500/3 s, never above capacity', () => {
    const time = fakeTime();
    const l = new RateLimiter({ clock: time.clock });
    while (l.tryTake());
    time.advance(5);
    expect(l.tryTake()).toBe(false);
    time.advance(1);
    expect(l.tryTake()).toBe(true);
    time.advance(1_000_000);
    expect(l.available).toBe(500);
  });

  it('take waits exactly as long as needed (simulated time)', async () => {
    const time = fakeTime();
    const l = new RateLimiter({ capacity: 10, intervalMs: 1000, clock: time.clock, sleep: time.sleep });
    for (let i = 0; i < 30; i++) await l.take();
    // 10 at once, then 20 more at 100 ms each.
    expect(time.now()).toBe(2000);
    expect(l.waitTime(5)).toBe(500);
  });

  it('over any window, no more than capacity + rate × window tokens are granted', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), (gaps) => {
        const time = fakeTime();
        const l = new RateLimiter({ capacity: 20, intervalMs: 100, clock: time.clock });
        let granted = 0;
        for (const g of gaps) {
          time.advance(g);
          if (l.tryTake()) granted++;
        }
        expect(granted).toBeLessThanOrEqual(20 + Math.floor((time.now() * 20) / 100) + 1);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects bad options and token counts; an aborted wait rejects', async () => {
    for (const o of [{ capacity: 0 }, { capacity: 1.5 }, { intervalMs: 0 }, { clock: 5 }])
      expect(() => new RateLimiter(o as never)).toThrow(
        expect.objectContaining({ code: 'ledger.rate-limit.invalid' }),
      );
    const time = fakeTime();
    const l = new RateLimiter({ capacity: 2, intervalMs: 1000, clock: time.clock, sleep: async () => {} });
    expect(() => l.tryTake(3)).toThrow(expect.objectContaining({ code: 'ledger.rate-limit.invalid' }));
    expect(() => l.tryTake(0)).toThrow(expect.objectContaining({ code: 'ledger.rate-limit.invalid' }));
    l.tryTake(2);
    const ac = new AbortController();
    ac.abort();
    const e = await l.take(1, ac.signal).catch((x: unknown) => x);
    expect(isOmtError(e, 'ledger.rate-limit.aborted')).toBe(true);
  });
});
