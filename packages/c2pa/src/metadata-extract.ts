/**
 * EXIF / IPTC / XMP fields extracted from an asset with exifr (a maintained metadata reader) and
 * named the way the `c2pa.metadata` assertion (C2PA 2.x §18.13) names them: `tiff:` for IFD0,
 * `exif:` for the EXIF and GPS IFDs, `dc:` / `photoshop:` for IPTC-IIM datasets (per the IPTC
 * Photo Metadata mapping), and XMP properties under their own prefixes when the metadata
 * assertion allows the namespace. `dcterms:provenance` (a C2PA manifest reference) and binary
 * values are left out.
 *
 * @example
 * ```ts
 * import { extractMetadata } from '@omt/c2pa/metadata-extract';
 * const fields = await extractMetadata(jpeg); // { 'tiff:Make': 'Canon', 'exif:ISO': 800, … }
 * buildMetadataAssertion(fields);
 * ```
 */
import { isBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import exifr from 'exifr';

/** IPTC-IIM dataset names (as exifr reports them) → XMP properties (IPTC Photo Metadata Standard). */
const IPTC_TO_XMP: Readonly<Record<string, string>> = {
  ObjectName: 'dc:title',
  Byline: 'dc:creator',
  Caption: 'dc:description',
  Keywords: 'dc:subject',
  CopyrightNotice: 'dc:rights',
  Headline: 'photoshop:Headline',
  City: 'photoshop:City',
  State: 'photoshop:State',
  Country: 'photoshop:Country',
  Credit: 'photoshop:Credit',
  Source: 'photoshop:Source',
  DateCreated: 'photoshop:DateCreated',
  SpecialInstructions: 'photoshop:Instructions',
  BylineTitle: 'photoshop:AuthorsPosition',
  Writer: 'photoshop:CaptionWriter',
  Category: 'photoshop:Category',
  Sublocation: 'Iptc4xmpCore:Location',
  CountryCode: 'Iptc4xmpCore:CountryCode',
};

/** XMP namespaces the metadata assertion accepts (see assertions/metadata.ts). */
const XMP_PREFIXES: ReadonlySet<string> = new Set([
  'exif',
  'exifEX',
  'tiff',
  'Iptc4xmpCore',
  'Iptc4xmpExt',
  'photoshop',
  'xmp',
  'dc',
]);

const KEY = /^[A-Za-z][\w.-]*$/;
const MAX_FIELDS = 1000;
const MAX_TEXT = 4096;

/** A JSON-safe copy of a metadata value, or undefined for binary/odd values. */
function clean(v: unknown, depth = 0): unknown {
  if (depth > 8) return undefined;
  if (typeof v === 'string') {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters mark binary junk
    if (v.length > MAX_TEXT || /[\u0000-\u0008\u000e-\u001f]/.test(v)) return undefined;
    return v;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  if (isBytes(v) || ArrayBuffer.isView(v)) return undefined;
  if (Array.isArray(v)) {
    const out = v.slice(0, 256).map((x) => clean(x, depth + 1));
    return out.some((x) => x === undefined) ? undefined : out;
  }
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v).slice(0, 256)) {
      const c = clean(x, depth + 1);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return undefined;
}

/**
 * Reads EXIF, GPS, IPTC and XMP from a JPEG/PNG/TIFF/HEIC asset into prefixed metadata fields
 * (empty when there are none). Throws `c2pa.metadata.unreadable` only when exifr fails on a file
 * it recognises as broken.
 *
 * @example
 * ```ts
 * const fields = await extractMetadata(pngBytes);
 * fields['tiff:Make']; // 'Canon'
 * ```
 */
export async function extractMetadata(asset: Uint8Array): Promise<Record<string, unknown>> {
  if (!isBytes(asset)) throw new OmtError('c2pa.input.invalid', 'asset must be a Uint8Array');
  let raw: Record<string, unknown> | undefined;
  try {
    raw = (await exifr.parse(asset, {
      tiff: true,
      exif: true,
      gps: true,
      iptc: true,
      xmp: true,
      icc: false,
      jfif: false,
      ihdr: false,
      interop: false,
      ifd1: false,
      makerNote: false,
      userComment: false,
      mergeOutput: false,
      translateValues: false,
      translateKeys: true,
      reviveValues: true,
    })) as Record<string, unknown> | undefined;
  } catch (e) {
    const msg = e instanceof Error ? e.message : '';
    if (/unknown file format/i.test(msg)) return {};
    throw new OmtError('c2pa.metadata.unreadable', 'the asset metadata could not be read', { cause: e });
  }
  const out: Record<string, unknown> = {};
  const put = (key: string, value: unknown): void => {
    if (Object.keys(out).length >= MAX_FIELDS || key in out) return;
    const local = key.slice(key.indexOf(':') + 1);
    if (!KEY.test(local)) return;
    const v = clean(value);
    if (v !== undefined) out[key] = v;
  };
  if (raw === undefined || raw === null) return out;
  const section = (name: string): Record<string, unknown> => {
    const s = raw?.[name];
    return typeof s === 'object' && s !== null ? (s as Record<string, unknown>) : {};
  };
  for (const [k, v] of Object.entries(section('ifd0'))) put(`tiff:${k}`, v);
  for (const [k, v] of Object.entries(section('exif'))) put(`exif:${k}`, v);
  // exifr adds computed lower-case `latitude`/`longitude`; only the EXIF tags (GPS…) are kept.
  for (const [k, v] of Object.entries(section('gps'))) if (/^GPS/.test(k)) put(`exif:${k}`, v);
  for (const [k, v] of Object.entries(section('iptc'))) {
    const to = IPTC_TO_XMP[k];
    if (to !== undefined) put(to, v);
  }
  for (const prefix of XMP_PREFIXES) {
    for (const [k, v] of Object.entries(section(prefix))) put(`${prefix}:${k}`, v);
  }
  return out;
}

/**
 * The EXIF thumbnail embedded in a JPEG (IFD1), or undefined.
 *
 * @example
 * ```ts
 * const thumb = await extractThumbnail(jpeg); // { mediaType: 'image/jpeg', data } | undefined
 * ```
 */
export async function extractThumbnail(
  asset: Uint8Array,
): Promise<{ mediaType: string; data: Uint8Array } | undefined> {
  if (!isBytes(asset)) throw new OmtError('c2pa.input.invalid', 'asset must be a Uint8Array');
  try {
    const t = await exifr.thumbnail(asset);
    if (t === undefined || t.length < 4 || t[0] !== 0xff || t[1] !== 0xd8) return undefined;
    return { mediaType: 'image/jpeg', data: new Uint8Array(t) };
  } catch {
    return undefined;
  }
}
