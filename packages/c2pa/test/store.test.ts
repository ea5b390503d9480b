import { readFileSync } from 'node:fs';
import { jpegHandler } from '@omt/c2pa/asset';
import { parseManifestStore, readManifestStore, splitAssertionLabel } from '@omt/c2pa/manifest-store';
import { isOmtError } from '@omt/core/errors';
import { describe, expect, it } from 'vitest';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));
const expected = JSON.parse(new TextDecoder().decode(td('expected.json'))) as Record<
  string,
  { manifest_count: number; active_manifest: string | null; reader_error?: string }
>;
const mimeOf = (f: string): string => (f.endsWith('.png') ? 'image/png' : 'image/jpeg');

describe('readManifestStore against expected.json (recorded with the official reader)', () => {
  for (const [file, exp] of Object.entries(expected)) {
    it(`${file}: ${exp.reader_error ?? `${exp.manifest_count} manifest(s), active ${exp.active_manifest}`}`, () => {
      const bytes = td(file);
      if (exp.reader_error === 'JumbfNotFound') {
        // c2pa-rs JumbfNotFound ⇔ OmtError c2pa.jumbf.not-found
        expect(() => readManifestStore(bytes, mimeOf(file))).toThrow(
          expect.objectContaining({ code: 'c2pa.jumbf.not-found' }),
        );
        return;
      }
      const store = readManifestStore(bytes, mimeOf(file));
      expect(store.manifests.length).toBe(exp.manifest_count);
      expect(store.activeManifest.label).toBe(exp.active_manifest);
    });
  }

  it('C.jpg: claim v1 fields, assertions with decoded content, signature bytes', () => {
    const m = readManifestStore(td('C.jpg'), 'image/jpeg').activeManifest;
    expect(m.kind).toBe('standard');
    expect(m.claimLabel).toBe('c2pa.claim');
    expect(m.claim.version).toBe(1);
    expect(m.claim.signature).toBe('self#jumbf=c2pa.signature');
    expect(m.claim.alg).toBe('sha256');
    expect(m.claim.createdAssertions.map((u) => u.url)).toContain(
      'self#jumbf=c2pa.assertions/c2pa.hash.data',
    );
    expect(m.assertions.map((a) => a.label)).toEqual([
      'c2pa.thumbnail.claim.jpeg',
      'stds.schema-org.CreativeWork',
      'c2pa.actions',
      'c2pa.hash.data',
    ]);
    const thumb = m.assertions[0];
    expect(thumb?.kind).toBe('embedded-file');
    expect(thumb?.mediaType).toBe('image/jpeg');
    expect(thumb?.data[0]).toBe(0xff);
    const cw = m.assertions[1];
    expect(cw?.kind).toBe('json');
    expect((cw as { value: { '@type': string } }).value['@type']).toBe('CreativeWork');
    const actions = (m.assertions[2] as { value: Map<string, unknown> }).value;
    expect(
      ((actions.get('actions') as Map<string, unknown>[])[0] as Map<string, unknown>).get('action'),
    ).toBe('c2pa.created');
    expect(m.signature?.length).toBe(15740);
    expect(m.claimBytes.length).toBe(672);
  });

  it('CA.jpg: the ingredient assertion is listed', () => {
    const m = readManifestStore(td('CA.jpg'), 'image/jpeg').activeManifest;
    expect(m.ingredients.map((a) => a.label)).toEqual(['c2pa.ingredient']);
    expect((m.ingredients[0] as { value: Map<string, unknown> }).value.get('relationship')).toBe('parentOf');
  });

  it('a bare store (sidecar) parses too; a non-c2pa superbox is not found', () => {
    const store = jpegHandler.findManifestStore(td('C.jpg'))?.store as Uint8Array;
    expect(parseManifestStore(store).manifests.length).toBe(1);
    expect(readManifestStore(store, 'application/c2pa').activeManifest.label).toBe(
      expected['C.jpg']?.active_manifest,
    );
  });

  it('a corrupted claim → c2pa.claim.malformed with the spec status in details', () => {
    const bytes = td('C.jpg');
    const store = jpegHandler.findManifestStore(bytes)?.store as Uint8Array;
    const s = parseManifestStore(store);
    const cbor = s.activeManifest.claimBytes;
    const at = cbor.byteOffset - store.byteOffset;
    const broken = store.slice();
    broken[at] = 0x1c; // reserved additional information → not CBOR
    try {
      parseManifestStore(broken);
      throw new Error('unreachable');
    } catch (e) {
      expect(isOmtError(e, 'c2pa.claim.malformed')).toBe(true);
      expect((e as { details: { status: string } }).details.status).toBe('claim.cbor.invalid');
    }
  });

  it('assertion labels split into base label and instance (§6.2)', () => {
    expect(splitAssertionLabel('c2pa.ingredient.v3__2')).toEqual({
      baseLabel: 'c2pa.ingredient.v3',
      instance: 2,
    });
    expect(splitAssertionLabel('c2pa.actions.v2')).toEqual({ baseLabel: 'c2pa.actions.v2', instance: 0 });
  });

  it('unknown MIME → c2pa.asset.unsupported; bad arguments → core.input.invalid', () => {
    expect(() => readManifestStore(td('C.jpg'), 'video/x-unknown')).toThrow(
      expect.objectContaining({ code: 'c2pa.asset.unsupported' }),
    );
    expect(() => readManifestStore('nope' as unknown as Uint8Array, 'image/jpeg')).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
  });
});
