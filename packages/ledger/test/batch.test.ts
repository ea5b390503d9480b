import { fromHex, toHex } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { hashChildren, hashLeaf } from '@omt/core/merkle';
import { Batcher, type SealedBatch, sealBatch, verifyBatchInclusion } from '@omt/ledger/batch';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const H = (i: number): Uint8Array => sha256(Uint8Array.of(i & 0xff, i >> 8));

describe('sealBatch (RFC 9162 tree over record hashes)', () => {
  it('the root is the RFC 9162 root of leaf = SHA-256(0x00 ‖ H)', () => {
    const b = sealBatch([H(0), H(1), H(2)]);
    const expected = hashChildren(hashChildren(hashLeaf(H(0)), hashLeaf(H(1))), hashLeaf(H(2)));
    expect(toHex(b.root)).toBe(toHex(expected));
    expect(toHex(sealBatch([H(5)]).root)).toBe(toHex(hashLeaf(H(5))));
  });

  it('property: every record of every batch size gets a proof that verifies; tampering breaks it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), (n, pick) => {
        const b = sealBatch(Array.from({ length: n }, (_, i) => H(i)));
        const i = pick % n;
        const inc = b.inclusion(i);
        expect(inc).toMatchObject({ index: i, size: n, root: toHex(b.root), recordHash: toHex(H(i)) });
        expect(verifyBatchInclusion(inc)).toBe(true);
        expect(verifyBatchInclusion({ ...inc, recordHash: toHex(H(i + 1000)) })).toBe(false);
        if (n > 1) {
          expect(verifyBatchInclusion({ ...inc, index: (i + 1) % n })).toBe(false);
          const p = [...inc.proof];
          p[0] = toHex(sha256(fromHex(p[0] as string)));
          expect(verifyBatchInclusion({ ...inc, proof: p })).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('bad input → ledger.batch.invalid; garbage proofs → false', () => {
    expect(() => sealBatch([])).toThrow(expect.objectContaining({ code: 'ledger.batch.invalid' }));
    expect(() => sealBatch([new Uint8Array(31)])).toThrow(
      expect.objectContaining({ code: 'ledger.batch.invalid' }),
    );
    expect(() => sealBatch([H(1)]).inclusion(1)).toThrow(
      expect.objectContaining({ code: 'ledger.batch.invalid' }),
    );
    const inc = sealBatch([H(1), H(2)]).inclusion(0);
    expect(verifyBatchInclusion({ ...inc, proof: ['zz'] })).toBe(false);
    expect(verifyBatchInclusion({ ...inc, size: 0 })).toBe(false);
    expect(verifyBatchInclusion(null as never)).toBe(false);
  });
});

/** A manual timer so tests never wait on the clock. */
function manualTimer() {
  const timers = new Map<number, () => void>();
  let next = 0;
  return {
    timer: {
      set: (fn: () => void) => {
        timers.set(++next, fn);
        return next;
      },
      clear: (h: unknown) => {
        timers.delete(h as number);
      },
    },
    fire: () => {
      for (const [k, fn] of [...timers]) {
        timers.delete(k);
        fn();
      }
    },
    get armed() {
      return timers.size;
    },
  };
}

describe('Batcher', () => {
  it('seals at maxRecords; every record learns its proof and the anchoring result', async () => {
    const sealed: SealedBatch[] = [];
    const t = manualTimer();
    const batcher = new Batcher({
      maxRecords: 4,
      maxDelayMs: 1000,
      timer: t.timer,
      anchor: async (b) => {
        sealed.push(b);
        return `tx${sealed.length}`;
      },
    });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.add(H(i))));
    expect(sealed.map((b) => b.size)).toEqual([4, 4]);
    expect(results.map((r) => r.anchored)).toEqual(['tx1', 'tx1', 'tx1', 'tx1', 'tx2', 'tx2', 'tx2', 'tx2']);
    for (const r of results) expect(verifyBatchInclusion(r.inclusion)).toBe(true);
    expect(results[5]?.inclusion.index).toBe(1);
    expect(t.armed).toBe(0);
  });

  it('seals after maxDelayMs with fewer records; flush and close drain; closed refuses', async () => {
    const t = manualTimer();
    const sizes: number[] = [];
    const batcher = new Batcher({
      maxRecords: 100,
      maxDelayMs: 50,
      timer: t.timer,
      anchor: async (b) => {
        sizes.push(b.size);
        return b.size;
      },
    });
    const a = batcher.add(H(1));
    const b = batcher.add(H(2));
    expect(batcher.pending).toBe(2);
    expect(t.armed).toBe(1);
    t.fire();
    expect((await a).anchored).toBe(2);
    expect((await b).inclusion.index).toBe(1);
    const c = batcher.add(H(3));
    await batcher.close();
    expect((await c).anchored).toBe(1);
    expect(sizes).toEqual([2, 1]);
    await expect(batcher.add(H(4))).rejects.toMatchObject({ code: 'ledger.batch.closed' });
  });

  it('an anchoring failure rejects every record of that batch only', async () => {
    let n = 0;
    const batcher = new Batcher({
      maxRecords: 2,
      maxDelayMs: 0,
      anchor: async () => {
        n++;
        if (n === 1) throw new Error('broadcast failed');
        return 'ok';
      },
    });
    const first = await Promise.allSettled([batcher.add(H(1)), batcher.add(H(2))]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const second = await Promise.all([batcher.add(H(3)), batcher.add(H(4))]);
    expect(second.map((r) => r.anchored)).toEqual(['ok', 'ok']);
    await expect(batcher.add(new Uint8Array(3))).rejects.toMatchObject({ code: 'ledger.batch.invalid' });
    expect(() => new Batcher({ maxRecords: 0, maxDelayMs: 1, anchor: async () => 1 })).toThrow();
  });

  it('with a real timer, a lone record is sealed after the delay', async () => {
    const batcher = new Batcher({ maxRecords: 10, maxDelayMs: 5, anchor: async (b) => b.size });
    expect((await batcher.add(H(9))).anchored).toBe(1);
  });
});
