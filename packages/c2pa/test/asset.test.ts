import { readFileSync } from 'node:fs';
import {
  createAssetRegistry,
  findXmpProvenance,
  jpegHandler,
  pngCrc32,
  pngHandler,
  sidecarHandler,
} from '@omt/c2pa/asset';
import { jumbfContentBox, jumbfSuperBox, parseJumbf, serializeJumbf } from '@omt/c2pa/jumbf';
import { concatBytes, equalBytes } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

function fakeStore(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
  return serializeJumbf(jumbfSuperBox({ type: 'c2pa', label: 'c2pa' }, [jumbfContentBox('bidb', data)]));
}

describe('JPEG handler (APP11 / JPEG XT boxes)', () => {
  it('finds the store of C.jpg and CA.jpg (2 segments) with the exclusion the data hash records', () => {
    expect(jpegHandler.findManifestStore(td('C.jpg'))?.ranges).toEqual([{ start: 20, length: 45884 }]);
    const ca = jpegHandler.findManifestStore(td('CA.jpg'));
    expect(ca?.ranges).toEqual([{ start: 20, length: 117273 }]);
    expect(ca?.store.length).toBe(117241);
    expect(jpegHandler.findManifestStore(td('no_manifest.jpg'))).toBeUndefined();
  });

  it('embeds a large store split over several APP11 segments after SOI/APP1-Exif; find/remove round-trip', () => {
    const asset = td('no_manifest.jpg');
    const store = fakeStore(200_000);
    const { asset: out, ranges } = jpegHandler.embedManifestStore(asset, store);
    expect(ranges).toEqual([{ start: 3632, length: out.length - asset.length }]);
    // 4 segments (64 000 box bytes each), each header repeated: Lp ≤ 65535
    let count = 0;
    for (
      let p = ranges[0]?.start as number;
      p < (ranges[0]?.start as number) + (ranges[0]?.length as number);
      count++
    ) {
      expect(out[p]).toBe(0xff);
      expect(out[p + 1]).toBe(0xeb);
      const lp = (out[p + 2] as number) * 256 + (out[p + 3] as number);
      expect(lp).toBeLessThanOrEqual(65535);
      p += 2 + lp;
    }
    expect(count).toBe(4);
    const found = jpegHandler.findManifestStore(out);
    expect(equalBytes(found?.store as Uint8Array, store)).toBe(true);
    expect(found?.ranges).toEqual(ranges);
    expect(equalBytes(jpegHandler.removeManifestStore(out), asset)).toBe(true);
    // re-embedding replaces, never duplicates
    const again = jpegHandler.embedManifestStore(out, fakeStore(10)).asset;
    expect(jpegHandler.findManifestStore(again)?.store).toEqual(fakeStore(10));
  });

  it('planManifestStore predicts embedManifestStore, and the embedded asset minus the ranges is the clean asset', () => {
    const assets = ['no_manifest.jpg', 'C.jpg', 'CA.jpg'].map(td);
    fc.assert(
      fc.property(fc.constantFrom(...assets), fc.integer({ min: 0, max: 200_000 }), (asset, size) => {
        const store = fakeStore(size);
        const planned = jpegHandler.planManifestStore?.(asset, store);
        const { asset: out, ranges } = jpegHandler.embedManifestStore(asset, store);
        expect(planned).toEqual(ranges);
        const [r] = ranges as [{ start: number; length: number }];
        const outside = concatBytes(out.subarray(0, r.start), out.subarray(r.start + r.length));
        expect(equalBytes(outside, jpegHandler.removeManifestStore(asset))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('embedManifestStoreParts: the same bytes as embedManifestStore, the asset around the store not copied', () => {
    for (const name of ['no_manifest.jpg', 'C.jpg']) {
      const asset = td(name);
      for (const size of [100, 200_000]) {
        const store = fakeStore(size);
        const whole = jpegHandler.embedManifestStore(asset, store);
        const split = jpegHandler.embedManifestStoreParts?.(asset, store);
        expect(split?.ranges).toEqual(whole.ranges);
        expect(equalBytes(concatBytes(...(split?.parts ?? [])), whole.asset)).toBe(true);
        // no_manifest.jpg has no store to drop: head and tail are views of the input.
        if (name === 'no_manifest.jpg') {
          expect(split?.parts[0]?.buffer).toBe(asset.buffer);
          expect(split?.parts.at(-1)?.buffer).toBe(asset.buffer);
        }
      }
    }
  });

  it('places the store after a JFIF APP0 (as c2pa-rs does) when there is no Exif', () => {
    const c = jpegHandler.removeManifestStore(td('C.jpg'));
    expect(jpegHandler.embedManifestStore(c, fakeStore(100)).ranges[0]?.start).toBe(20);
  });

  it('broken containers → c2pa.asset.malformed; a wrong Z sequence is rejected', () => {
    const bad = [
      Uint8Array.of(0xff, 0xd8, 0xff),
      Uint8Array.of(1, 2, 3, 4),
      Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0xff, 0xff),
    ];
    for (const b of bad)
      expect(() => jpegHandler.findManifestStore(b)).toThrow(
        expect.objectContaining({ code: 'c2pa.asset.malformed' }),
      );
    const out = jpegHandler.embedManifestStore(td('no_manifest.jpg'), fakeStore(100_000)).asset;
    const second = 3632 + 2 + ((out[3634] as number) * 256 + (out[3635] as number));
    out[second + 11] = 7; // Z of segment 2
    expect(() => jpegHandler.findManifestStore(out)).toThrow(
      expect.objectContaining({ code: 'c2pa.asset.malformed' }),
    );
  });

  it('reads the remote manifest reference from XMP dcterms:provenance', () => {
    const xmp = new TextEncoder().encode(
      'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:RDF><rdf:Description dcterms:provenance="https://cr.example/m/abc.c2pa?x=1&amp;y=2"/></rdf:RDF></x:xmpmeta>',
    );
    const seg = concatBytes(Uint8Array.of(0xff, 0xe1, (xmp.length + 2) >> 8, (xmp.length + 2) & 0xff), xmp);
    const asset = td('no_manifest.jpg');
    const withXmp = concatBytes(asset.subarray(0, 2), seg, asset.subarray(2));
    expect(jpegHandler.findRemoteManifestUrl(withXmp)).toBe('https://cr.example/m/abc.c2pa?x=1&y=2');
    // no_manifest.jpg's XMP still says dcterms:provenance="self#jumbf=…" (a stripped store): not remote
    expect(jpegHandler.findRemoteManifestUrl(asset)).toBeUndefined();
    expect(findXmpProvenance('<dcterms:provenance>https://a.example/x</dcterms:provenance>')).toBe(
      'https://a.example/x',
    );
  });
});

describe('PNG handler (caBX chunk)', () => {
  it('embeds caBX before IDAT with a correct CRC; find/remove round-trip', () => {
    const asset = td('sample1.png');
    const store = fakeStore(5000);
    const { asset: out, ranges } = pngHandler.embedManifestStore(asset, store);
    const r = ranges[0] as { start: number; length: number };
    expect(r.start).toBe(33); // signature (8) + IHDR (25)
    expect(String.fromCharCode(...out.subarray(r.start + 4, r.start + 8))).toBe('caBX');
    const view = new DataView(out.buffer, out.byteOffset);
    expect(view.getUint32(r.start + r.length - 4)).toBe(
      pngCrc32(out.subarray(r.start + 4, r.start + r.length - 4)),
    );
    expect(pngHandler.findManifestStore(out)?.store).toEqual(store);
    expect(equalBytes(pngHandler.removeManifestStore(out), asset)).toBe(true);
    expect(pngHandler.findManifestStore(asset)).toBeUndefined();
  });

  it('planManifestStore predicts embedManifestStore; the parts are views of the asset and concatenate to it', () => {
    const plain = td('sample1.png');
    const signedBefore = pngHandler.embedManifestStore(plain, fakeStore(77)).asset;
    fc.assert(
      fc.property(
        fc.constantFrom(plain, signedBefore),
        fc.integer({ min: 0, max: 100_000 }),
        (asset, size) => {
          const store = fakeStore(size);
          const planned = pngHandler.planManifestStore?.(asset, store);
          const { asset: out, ranges } = pngHandler.embedManifestStore(asset, store);
          expect(planned).toEqual(ranges);
          const [r] = ranges as [{ start: number; length: number }];
          const outside = concatBytes(out.subarray(0, r.start), out.subarray(r.start + r.length));
          expect(equalBytes(outside, pngHandler.removeManifestStore(asset))).toBe(true);
          const split = pngHandler.embedManifestStoreParts?.(asset, store);
          expect(split?.ranges).toEqual(ranges);
          expect(equalBytes(concatBytes(...(split?.parts ?? [])), out)).toBe(true);
          // Without an old store to drop, the runs around the chunk share the input's memory.
          if (asset === plain) expect(split?.parts.at(-1)?.buffer).toBe(plain.buffer);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('CRC-32 matches the PNG spec check value', () => {
    expect(pngCrc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('reads dcterms:provenance from an iTXt XMP chunk', () => {
    const asset = td('libpng-test.png');
    const data = new TextEncoder().encode(
      'XML:com.adobe.xmp\0\0\0\0\0<rdf:Description dcterms:provenance="https://x.example/s.c2pa"/>',
    );
    const chunk = new Uint8Array(12 + data.length);
    new DataView(chunk.buffer).setUint32(0, data.length);
    chunk.set(new TextEncoder().encode('iTXt'), 4);
    chunk.set(data, 8);
    new DataView(chunk.buffer).setUint32(8 + data.length, pngCrc32(chunk.subarray(4, 8 + data.length)));
    const withXmp = concatBytes(asset.subarray(0, 33), chunk, asset.subarray(33));
    expect(pngHandler.findRemoteManifestUrl(withXmp)).toBe('https://x.example/s.c2pa');
  });

  it('truncated or absurd chunks → c2pa.asset.malformed', () => {
    const asset = td('libpng-test.png');
    expect(() => pngHandler.findManifestStore(asset.subarray(0, 20))).toThrow(
      expect.objectContaining({ code: 'c2pa.asset.malformed' }),
    );
    const absurd = asset.slice();
    new DataView(absurd.buffer).setUint32(8, 0xfffffff0);
    expect(() => pngHandler.findManifestStore(absurd)).toThrow(
      expect.objectContaining({ code: 'c2pa.asset.malformed' }),
    );
  });
});

describe('sidecar handler and registry', () => {
  it('a sidecar is the store itself', () => {
    const store = fakeStore(10);
    expect(sidecarHandler.findManifestStore(store)?.store).toEqual(store);
    expect(
      parseJumbf(sidecarHandler.embedManifestStore(new Uint8Array(5), store).asset).description.label,
    ).toBe('c2pa');
  });

  it('registry: by MIME (parameters ignored) and extension, detection, unknown → c2pa.asset.unsupported', () => {
    const reg = createAssetRegistry();
    expect(reg.forMime('image/jpeg; q=1')).toBe(jpegHandler);
    expect(reg.forMime('png')).toBe(pngHandler);
    expect(reg.forMime('application/c2pa')).toBe(sidecarHandler);
    expect(reg.detect(td('C.jpg'))).toBe(jpegHandler);
    expect(reg.detect(td('sample1.png'))).toBe(pngHandler);
    try {
      reg.forMime('video/mp4');
      throw new Error('unreachable');
    } catch (e) {
      expect(isOmtError(e, 'c2pa.asset.unsupported')).toBe(true);
    }
  });
});
