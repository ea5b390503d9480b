import {
  assertionBox,
  buildActionsAssertion,
  buildCustomAssertion,
  buildDataHashAssertion,
  buildIngredientAssertion,
  buildMetadataAssertion,
  buildThumbnailAssertion,
  DIGITAL_SOURCE_TYPE,
} from '@omt/c2pa/assertions';
import { jumbfTypeName, parseJumbf, serializeJumbf } from '@omt/c2pa/jumbf';
import { decodeCbor } from '@omt/core/cbor';
import { describe, expect, it } from 'vitest';

describe('assertion builders', () => {
  it('c2pa.actions.v2: created needs digitalSourceType; the first action must be created/opened', () => {
    const a = buildActionsAssertion({
      actions: [
        { action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.trainedAlgorithmicMedia },
        { action: 'c2pa.edited', when: '2025-01-01T00:00:00Z' },
      ],
    });
    expect(a.label).toBe('c2pa.actions.v2');
    const box = parseJumbf(serializeJumbf(assertionBox(a)));
    expect(jumbfTypeName(box.description.uuid)).toBe('cbor');
    const v = decodeCbor((box.children[0] as { payload: Uint8Array }).payload) as Map<
      string,
      Map<string, unknown>[]
    >;
    expect(v.get('actions')?.[0]?.get('digitalSourceType')).toBe(DIGITAL_SOURCE_TYPE.trainedAlgorithmicMedia);
    expect(() => buildActionsAssertion({ actions: [{ action: 'c2pa.created' }] })).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
    expect(() => buildActionsAssertion({ actions: [{ action: 'c2pa.edited' }] })).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
    expect(() => buildActionsAssertion({ actions: [] })).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
  });

  it('c2pa.hash.data carries exclusions, alg, hash, pad', () => {
    const d = buildDataHashAssertion({
      alg: 'sha256',
      hash: new Uint8Array(32),
      exclusions: [{ start: 20, length: 100 }],
    });
    const v = d.kind === 'cbor' ? (d.value as Map<string, unknown>) : new Map();
    expect(v.get('alg')).toBe('sha256');
    expect((v.get('exclusions') as Map<string, number>[])[0]?.get('length')).toBe(100);
  });

  it('c2pa.ingredient.v3 with instance suffix and hashed URIs', () => {
    const d = buildIngredientAssertion(
      {
        title: 'a.jpg',
        format: 'image/jpeg',
        relationship: 'componentOf',
        activeManifest: { url: 'self#jumbf=/c2pa/x', hash: new Uint8Array(32) },
      },
      2,
    );
    expect(d.label).toBe('c2pa.ingredient.v3__2');
    expect(() =>
      buildIngredientAssertion({ title: 'a', format: 'image/jpeg', relationship: 'sibling' as 'parentOf' }),
    ).toThrow(expect.objectContaining({ code: 'core.input.invalid' }));
  });

  it('thumbnail is an embedded file (bfdb + bidb)', () => {
    const box = parseJumbf(
      serializeJumbf(
        assertionBox(buildThumbnailAssertion({ mediaType: 'image/png', data: Uint8Array.of(1, 2, 3) })),
      ),
    );
    expect(box.description.label).toBe('c2pa.thumbnail.claim.png');
    expect(box.children.map((c) => c.type)).toEqual(['bfdb', 'bidb']);
    expect(() => buildThumbnailAssertion({ mediaType: 'text/plain', data: Uint8Array.of(1) })).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
  });

  it('metadata is JSON-LD with the namespaces used; unknown prefixes are rejected', () => {
    const d = buildMetadataAssertion({ 'exif:Make': 'Canon', 'dc:creator': ['A'] });
    expect(d.kind).toBe('json');
    const v = d.kind === 'json' ? (d.value as Record<string, Record<string, string>>) : {};
    expect(Object.keys(v['@context'] ?? {}).sort()).toEqual(['dc', 'exif']);
    expect(() => buildMetadataAssertion({ 'evil:x': 1 })).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
  });

  it('custom assertions need a reverse-domain label outside c2pa./stds.', () => {
    expect(buildCustomAssertion('com.example.workflow', { step: 1 }).label).toBe('com.example.workflow');
    expect(buildCustomAssertion('com.example.json', { a: 1 }, 'json').kind).toBe('json');
    expect(() => buildCustomAssertion('c2pa.mine', {})).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
    expect(() => buildCustomAssertion('nodots', {})).toThrow(
      expect.objectContaining({ code: 'core.input.invalid' }),
    );
  });
});
