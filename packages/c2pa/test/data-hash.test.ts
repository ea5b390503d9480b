import { readFileSync } from 'node:fs';
import { jpegHandler } from '@omt/c2pa/asset';
import { hashWithExclusions, readDataHash, verifyDataHash } from '@omt/c2pa/data-hash';
import { resolveJumbfUri, verifyClaimAssertionUris, verifyHashedUri } from '@omt/c2pa/hashed-uri';
import { parseManifestStore, readManifestStore } from '@omt/c2pa/manifest-store';
import { STATUS } from '@omt/c2pa/status-codes';
import { concatBytes, equalBytes } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

function streamOf(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  return new ReadableStream({
    pull(c) {
      const next = parts.shift();
      if (next === undefined) c.close();
      else c.enqueue(next);
    },
  });
}

describe('c2pa.hash.data (C2PA 2.x §18.5)', () => {
  for (const f of ['C.jpg', 'CA.jpg', 'boxhash.jpg']) {
    it(`${f}: assertion.dataHash.match`, async () => {
      const bytes = td(f);
      const m = readManifestStore(bytes, 'image/jpeg').activeManifest;
      const st = await verifyDataHash(m, bytes);
      expect(st.map((s) => s.code)).toEqual([STATUS.dataHashMatch]);
      expect(st[0]?.url).toBe(`self#jumbf=/c2pa/${m.label}/c2pa.assertions/c2pa.hash.data`);
    });
  }

  it('XCA.jpg (pixels changed after signing): assertion.dataHash.mismatch, as expected.json says', async () => {
    const bytes = td('XCA.jpg');
    const st = await verifyDataHash(readManifestStore(bytes, 'image/jpeg').activeManifest, bytes);
    expect(st.map((s) => s.code)).toEqual([STATUS.dataHashMismatch]);
  });

  it('streamed in arbitrary chunks gives the same verdict (property)', async () => {
    const bytes = td('C.jpg');
    const m = readManifestStore(bytes, 'image/jpeg').activeManifest;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        const st = await verifyDataHash(m, streamOf(bytes, cuts));
        expect(st.map((s) => s.code)).toEqual([STATUS.dataHashMatch]);
      }),
      { numRuns: 25 },
    );
  });

  it('hashWithExclusions equals hashing the concatenated kept parts (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.array(fc.record({ a: fc.nat(), b: fc.nat() }), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (data, raw, cuts) => {
          const ex = raw.map(({ a, b }) => {
            const start = a % data.length;
            return { start, length: b % (data.length - start + 1) };
          });
          const keep = data.filter((_, i) => !ex.some((e) => i >= e.start && i < e.start + e.length));
          const got = await hashWithExclusions('SHA-256', streamOf(data, cuts), ex);
          expect(equalBytes(got, sha256(keep))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('an exclusion past the end of the asset is a mismatch, a malformed assertion is dataHash.malformed', async () => {
    const bytes = td('C.jpg');
    const m = readManifestStore(bytes, 'image/jpeg').activeManifest;
    const st = await verifyDataHash(m, bytes.subarray(0, 1000));
    expect(st.map((s) => s.code)).toEqual([STATUS.dataHashMismatch]);
    expect(() => readDataHash(new Map([['hash', 'x']]))).toThrow(
      expect.objectContaining({ code: 'c2pa.assertion.malformed' }),
    );
    const dh = readDataHash(m.assertions.find((a) => a.label === 'c2pa.hash.data')?.value);
    expect(dh.exclusions).toEqual([{ start: 20, length: 45884 }]);
    expect(dh.alg).toBe('sha256');
  });
});

describe('hashed URIs (§8.3)', () => {
  it('every claim reference of the vector files matches', () => {
    for (const f of ['C.jpg', 'CA.jpg', 'XCA.jpg', 'boxhash.jpg']) {
      const s = readManifestStore(td(f), 'image/jpeg');
      const st = verifyClaimAssertionUris(s, s.activeManifest);
      expect(st.length).toBeGreaterThan(3);
      expect(st.every((x) => x.code === STATUS.hashedUriMatch)).toBe(true);
    }
  });

  it('relative and absolute URIs resolve to the same box; unknown → assertion.missing; changed byte → mismatch', () => {
    const bytes = td('C.jpg');
    const store = jpegHandler.findManifestStore(bytes)?.store as Uint8Array;
    const s = parseManifestStore(store);
    const m = s.activeManifest;
    const rel = resolveJumbfUri(s, m, 'self#jumbf=c2pa.assertions/c2pa.actions');
    const abs = resolveJumbfUri(s, m, `self#jumbf=/c2pa/${m.label}/c2pa.assertions/c2pa.actions`);
    expect(rel).toBeDefined();
    expect(abs).toBe(rel);
    expect(
      verifyHashedUri(s, m, { url: 'self#jumbf=c2pa.assertions/nope', hash: new Uint8Array(32) }).code,
    ).toBe(STATUS.assertionMissing);
    expect(
      verifyHashedUri(s, m, {
        url: 'self#jumbf=c2pa.assertions/c2pa.actions',
        hash: new Uint8Array(32),
        alg: 'md5',
      }).code,
    ).toBe(STATUS.algorithmUnsupported);
    const actions = m.assertions.find((a) => a.label === 'c2pa.actions');
    const at = (actions?.data.byteOffset as number) - store.byteOffset + 5;
    const tampered = concatBytes(
      store.subarray(0, at),
      Uint8Array.of((store[at] as number) ^ 0x20),
      store.subarray(at + 1),
    );
    const t = parseManifestStore(tampered);
    const codes = verifyClaimAssertionUris(t, t.activeManifest).map((x) => x.code);
    expect(codes.filter((c) => c === STATUS.hashedUriMismatch).length).toBe(1);
  });
});
