import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import type { AssertionDraft } from './assertion.js';

/**
 * `c2pa.metadata` (C2PA 2.x §18.13): descriptive metadata as JSON-LD, with the EXIF, IPTC, XMP
 * and Dublin Core namespaces the specification lists. Field values come from the caller (for
 * instance from a metadata reader such as exifr); keys are prefixed names such as
 * `exif:GPSLatitude`, `Iptc4xmpCore:Location`, `dc:creator`.
 */

const CONTEXT: Record<string, string> = {
  exif: 'http://ns.adobe.com/exif/1.0/',
  exifEX: 'http://cipa.jp/exif/2.32/',
  tiff: 'http://ns.adobe.com/tiff/1.0/',
  Iptc4xmpCore: 'http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/',
  Iptc4xmpExt: 'http://iptc.org/std/Iptc4xmpExt/2008-02-29/',
  photoshop: 'http://ns.adobe.com/photoshop/1.0/',
  xmp: 'http://ns.adobe.com/xap/1.0/',
  dc: 'http://purl.org/dc/elements/1.1/',
  dcterms: 'http://purl.org/dc/terms/',
};

const FieldsSchema = z
  .record(
    z
      .string()
      .check(
        z.regex(/^(exif|exifEX|tiff|Iptc4xmpCore|Iptc4xmpExt|photoshop|xmp|dc|dcterms):[A-Za-z][\w.-]*$/),
      ),
    z.unknown(),
  )
  .check(z.refine((r) => Object.keys(r).length > 0 && Object.keys(r).length <= 1000, '1 to 1000 fields'));

/**
 * Builds a `c2pa.metadata` JSON-LD assertion from prefixed fields.
 *
 * @example
 * ```ts
 * buildMetadataAssertion({ 'exif:Make': 'Canon', 'dc:creator': ['Jane Doe'] });
 * ```
 */
export function buildMetadataAssertion(fields: Record<string, unknown>): AssertionDraft {
  const v = parseInput(FieldsSchema, fields, 'core.input.invalid', 'c2pa.metadata fields');
  const used = new Set(Object.keys(v).map((k) => k.split(':')[0] as string));
  const context = Object.fromEntries(Object.entries(CONTEXT).filter(([p]) => used.has(p)));
  return { label: 'c2pa.metadata', kind: 'json', value: { '@context': context, ...v } };
}
