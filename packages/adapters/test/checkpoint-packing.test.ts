import { describe, expect, it } from 'vitest';
import { packCheckpoints, unpackCheckpoints } from '../src/http/checkpoint-packing.js';

const note = (n: number): string => `op${n}.example\n3\nroot${n}=\n\n— op${n}.example sig${n}==\n`;
const receipt = (n: number, index: number) => ({
  operator: `op${n}`,
  index,
  checkpoint: note(n),
  proof: ['a', 'b'],
});

describe('checkpoint packing (wire compaction of receipts)', () => {
  it('commit entries: each note once, the input untouched, unpacking restores it exactly', () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({
      event: { chain: `item:${i}`, height: 0, payload: { x: i } },
      qc: {
        chain: `item:${i}`,
        height: 0,
        event: 'e'.repeat(64),
        receipts: [1, 2, 3].map((n) => receipt(n, i)),
      },
    }));
    const before = structuredClone(entries);
    const packed = packCheckpoints(entries);
    expect(entries).toEqual(before); // the caller's objects are not rewritten
    expect(packed.notes).toEqual([note(1), note(2), note(3)]);
    expect(packed.items[7]?.qc.receipts.map((r) => r.checkpoint)).toEqual(['#0', '#1', '#2']);
    // Shared, not copied: the event and the proofs are the caller's own objects.
    expect(packed.items[7]?.event).toBe(entries[7]?.event);
    expect(packed.items[7]?.qc.receipts[0]?.proof).toBe(entries[7]?.qc.receipts[0]?.proof);
    const wire = JSON.parse(JSON.stringify(packed));
    expect(unpackCheckpoints(wire.items, wire.notes)).toEqual(before);
  });

  it('vote answers with a receipt, refusals without one, and odd items pass through', () => {
    const answers = [
      { ok: true, hash: 'h1', receipt: receipt(1, 0) },
      { ok: false, hash: 'h2', code: 'ledger.event.invalid', message: 'no' },
      { ok: true, hash: 'h3', receipt: receipt(1, 1) },
      null,
      ['x'],
      { qc: 'text', receipt: 'not an object' },
    ];
    const packed = packCheckpoints(answers as unknown[]);
    expect(packed.notes).toEqual([note(1)]);
    expect((packed.items[0] as { receipt: { checkpoint: string } }).receipt.checkpoint).toBe('#0');
    expect(packed.items[1]).toBe(answers[1]);
    expect(packed.items.slice(3)).toEqual(answers.slice(3));
    const wire = JSON.parse(JSON.stringify(packed));
    expect(unpackCheckpoints(wire.items, wire.notes)).toEqual(JSON.parse(JSON.stringify(answers)));
  });

  it('references out of range or malformed stay as they are (they then fail verification)', () => {
    const items = [{ receipt: { checkpoint: '#9' } }, { receipt: { checkpoint: '#x' } }];
    expect(unpackCheckpoints(structuredClone(items), ['only'])).toEqual(items);
    expect(unpackCheckpoints(structuredClone(items), 'not a list')).toEqual(items);
  });
});
