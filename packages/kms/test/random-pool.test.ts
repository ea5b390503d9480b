// random-pool.ts is internal (createKms pools the platform RNG): imported from the source.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pooledRandom } from '../src/random-pool.js';

/** A deterministic source that keeps what it handed out (the array itself and a copy). */
function recording(): {
  source: (n: number) => Uint8Array;
  draws: { given: Uint8Array; copy: Uint8Array }[];
} {
  let x = 0;
  const draws: { given: Uint8Array; copy: Uint8Array }[] = [];
  return {
    draws,
    source: (n) => {
      const given = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        x = (x + 1) % 251;
        given[i] = x + 1; // never 0, so zeroing is visible
      }
      draws.push({ given, copy: given.slice() });
      return given;
    },
  };
}

describe('pooledRandom', () => {
  it('model: small requests are consecutive slices of 256-byte blocks, large ones direct draws; handed-out bytes are zeroed in the pool', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }), (sizes) => {
        const r = recording();
        const random = pooledRandom(r.source, 256);
        // The model: which draw and offset each request must come from.
        let block = -1;
        let off = 256;
        let draw = 0;
        const used = new Map<number, number>();
        for (const n of sizes) {
          const got = random(n);
          expect(got.length).toBe(n);
          if (n > 64) {
            const d = r.draws[draw++];
            expect(d?.given.length).toBe(n);
            expect(got).toBe(d?.given);
            continue;
          }
          if (n === 0) continue;
          if (256 - off < n) {
            block = draw++;
            off = 0;
          }
          const d = r.draws[block];
          expect(d?.given.length).toBe(256);
          expect(Array.from(got)).toEqual(Array.from(d?.copy.subarray(off, off + n) ?? []));
          off += n;
          used.set(block, off);
        }
        expect(r.draws.length).toBe(draw);
        for (const [i, n] of used) {
          const d = r.draws[i] as { given: Uint8Array; copy: Uint8Array };
          if (i !== block) {
            // An exhausted block is wiped whole when the next one is drawn.
            expect(d.given.every((v) => v === 0)).toBe(true);
          } else {
            expect(d.given.subarray(0, n).every((v) => v === 0)).toBe(true);
            expect(Array.from(d.given.subarray(n))).toEqual(Array.from(d.copy.subarray(n)));
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('returns copies: a caller wiping its bytes does not touch the pool', () => {
    const r = recording();
    const random = pooledRandom(r.source, 256);
    const a = random(32);
    a.fill(0);
    const b = random(32);
    expect(b.every((v) => v !== 0)).toBe(true);
    expect(b.buffer).not.toBe(r.draws[0]?.given.buffer);
  });

  it('refuses a bad block size and a source that returns the wrong length', () => {
    expect(() => pooledRandom(recording().source, 10)).toThrow(
      expect.objectContaining({ code: 'kms.input.invalid' }),
    );
    expect(() => pooledRandom(() => new Uint8Array(3), 256)(8)).toThrow(
      expect.objectContaining({ code: 'kms.input.invalid' }),
    );
  });
});
