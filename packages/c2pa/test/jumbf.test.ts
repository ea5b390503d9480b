import { readFileSync } from 'node:fs';
import { jpegHandler } from '@omt/c2pa/asset';
import {
  jumbfContentBox,
  jumbfSuperBox,
  jumbfTypeName,
  jumbfTypeUuid,
  parseJumbf,
  parseJumbfBoxes,
  serializeJumbf,
  superBoxContents,
} from '@omt/c2pa/jumbf';
import { toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

function expectMalformed(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(isOmtError(e, 'c2pa.jumbf.malformed')).toBe(true);
    return;
  }
  throw new Error('expected c2pa.jumbf.malformed');
}

describe('JUMBF codec (ISO/IEC 19566-5)', () => {
  it('type UUIDs: 4cc + ISO suffix, and back', () => {
    expect(toHex(jumbfTypeUuid('c2pa'))).toBe('6332706100110010800000aa00389b71');
    expect(jumbfTypeName(jumbfTypeUuid('c2cl'))).toBe('c2cl');
    expect(jumbfTypeName(new Uint8Array(16).fill(0xab))).toBe('ab'.repeat(16));
  });

  for (const f of ['C.jpg', 'CA.jpg', 'boxhash.jpg']) {
    it(`${f}: parses into c2pa → c2ma → c2as/c2cl/c2cs and serializes back byte-exact`, () => {
      const store = jpegHandler.findManifestStore(td(f))?.store as Uint8Array;
      const root = parseJumbf(store);
      expect(root.description.label).toBe('c2pa');
      expect(jumbfTypeName(root.description.uuid)).toBe('c2pa');
      const manifest = root.children[0];
      expect(manifest?.kind).toBe('super');
      if (manifest?.kind !== 'super') return;
      expect(
        manifest.children.map((c) => (c.kind === 'super' ? jumbfTypeName(c.description.uuid) : c.type)),
      ).toEqual(['c2as', 'c2cl', 'c2cs']);
      expect(serializeJumbf(root)).toEqual(store);
      // offsets point into the input
      const claim = manifest.children[1];
      expect(claim?.offset).toBeGreaterThan(0);
    });
  }

  it('description fields: label, id, hash, private box (c2sh) round-trip', () => {
    const box = jumbfSuperBox(
      {
        type: 'json',
        label: 'x.y',
        id: 7,
        hash: new Uint8Array(32).fill(9),
        privateBox: jumbfContentBox('c2sh', new Uint8Array(16).fill(1)),
      },
      [jumbfContentBox('json', new TextEncoder().encode('{}'))],
    );
    const bytes = serializeJumbf(box);
    const back = parseJumbf(bytes);
    expect(back.description.toggles).toBe(0x1f);
    expect(back.description.label).toBe('x.y');
    expect(back.description.id).toBe(7);
    expect(back.description.hash).toEqual(new Uint8Array(32).fill(9));
    expect(back.description.privateBox?.type).toBe('c2sh');
    expect(serializeJumbf(back)).toEqual(bytes);
    expect(superBoxContents(back)).toEqual(bytes.subarray(8));
  });

  it('XLBox (large size) headers parse and are kept on re-serialization', () => {
    const inner = serializeJumbf(
      jumbfSuperBox({ type: 'cbor', label: 'a.b' }, [jumbfContentBox('cbor', Uint8Array.of(0xa0))]),
    );
    const payload = inner.subarray(8);
    const large = new Uint8Array(16 + payload.length);
    const v = new DataView(large.buffer);
    v.setUint32(0, 1);
    large.set(new TextEncoder().encode('jumb'), 4);
    v.setUint32(12, large.length);
    large.set(payload, 16);
    const parsed = parseJumbf(large);
    expect(parsed.headerLength).toBe(16);
    expect(serializeJumbf(parsed)).toEqual(large);
  });

  it('property: built trees round-trip through bytes', () => {
    const label = fc.stringMatching(/^[a-z]{1,8}(\.[a-z0-9]{1,8}){0,3}$/);
    const content = fc.record({
      type: fc.constantFrom('json', 'cbor', 'bidb', 'uuid', 'c2sh'),
      data: fc.uint8Array({ maxLength: 64 }),
    });
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.record({
        label,
        type: fc.constantFrom('c2pa', 'c2ma', 'c2as', 'cbor', 'json'),
        kids: fc.array(fc.oneof({ depthSize: 'small' }, content, tie('node')), { maxLength: 4 }),
      }),
    })).node;
    type N = { label: string; type: string; kids: (N | { type: string; data: Uint8Array })[] };
    const build = (n: N): ReturnType<typeof jumbfSuperBox> =>
      jumbfSuperBox(
        { type: n.type, label: n.label },
        n.kids.map((k) => ('kids' in k ? build(k) : jumbfContentBox(k.type, k.data))),
      );
    fc.assert(
      fc.property(tree, (n) => {
        const bytes = serializeJumbf(build(n as N));
        expect(serializeJumbf(parseJumbf(bytes))).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('bad input → c2pa.jumbf.malformed: truncation, absurd lengths, missing jumd, reserved toggles, unterminated label', () => {
    const good = serializeJumbf(
      jumbfSuperBox({ type: 'c2pa', label: 'c2pa' }, [jumbfContentBox('json', Uint8Array.of(0x7b, 0x7d))]),
    );
    expectMalformed(() => parseJumbf(good.subarray(0, good.length - 1)));
    expectMalformed(() => parseJumbf(new Uint8Array(0)));
    const absurd = good.slice();
    new DataView(absurd.buffer).setUint32(0, 0xfffffff0);
    expectMalformed(() => parseJumbf(absurd));
    const xl = Uint8Array.of(0, 0, 0, 1, 0x6a, 0x75, 0x6d, 0x62, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);
    expectMalformed(() => parseJumbf(xl));
    const tooShort = good.slice();
    new DataView(tooShort.buffer).setUint32(0, 4);
    expectMalformed(() => parseJumbf(tooShort));
    expectMalformed(() => parseJumbf(serializeJumbf(jumbfContentBox('json', Uint8Array.of(1)))));
    const toggles = good.slice();
    toggles[8 + 8 + 16] = 0xe3;
    expectMalformed(() => parseJumbf(toggles));
    const noNul = good.slice(0, 8 + 8 + 17 + 4);
    new DataView(noNul.buffer).setUint32(0, noNul.length);
    new DataView(noNul.buffer).setUint32(8, noNul.length - 8);
    expectMalformed(() => parseJumbf(noNul));
    // a jumb that does not start with jumd
    const noJumd = Uint8Array.of(0, 0, 0, 16, 0x6a, 0x75, 0x6d, 0x62, 0, 0, 0, 8, 0x6a, 0x73, 0x6f, 0x6e);
    expectMalformed(() => parseJumbf(noJumd));
  });

  it('nesting bomb and box-count bomb are bounded', () => {
    let box = jumbfSuperBox({ type: 'cbor', label: 'a.b' }, []);
    for (let i = 0; i < 40; i++) box = jumbfSuperBox({ type: 'cbor', label: 'a.b' }, [box]);
    const deep = serializeJumbf(box);
    expectMalformed(() => parseJumbf(deep));
    expect(parseJumbf(deep, { maxDepth: 64 }).kind).toBe('super');
    const many = serializeJumbf(
      jumbfSuperBox(
        { type: 'c2pa', label: 'c2pa' },
        Array.from({ length: 50 }, () => jumbfContentBox('free', new Uint8Array(0))),
      ),
    );
    expectMalformed(() => parseJumbfBoxes(many, { maxBoxes: 10 }));
  });
});
