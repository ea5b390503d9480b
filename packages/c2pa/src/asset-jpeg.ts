import { concatBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import {
  ASSET_MALFORMED,
  ASSET_UNSUPPORTED,
  type AssetHandler,
  type ByteRange,
  type EmbeddedAsset,
  type EmbeddedAssetParts,
  type ManifestStoreLocation,
} from './asset-handler.js';
import { decodeXmp, findRemoteManifestUrlInXmp, setXmpProvenance } from './xmp-provenance.js';

/**
 * JPEG: the manifest store rides in APP11 marker segments as JPEG XT / JUMBF boxes
 * (ISO/IEC 19566-5 Annex; C2PA 2.x §A.3.1): each segment is `FF EB Lp 'JP' En(u16) Z(u32)`
 * then box bytes. Segment 1 carries the start of the superbox; every further segment repeats
 * the superbox's LBox/TBox(/XLBox) header and continues its payload. Z counts from 1.
 */

interface Segment {
  marker: number;
  /** Offset of the 0xFF of the marker. */
  start: number;
  /** Total bytes: marker (2) + length field + payload. */
  length: number;
  /** Payload after the 2-byte length field. */
  payloadStart: number;
}

const SOI = 0xd8;
const SOS = 0xda;
const EOI = 0xd9;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP11 = 0xeb;
/** Box bytes per segment, as c2pa-rs writes them (Lp ≤ 65535 leaves room for at most 65525). */
const CHUNK = 64_000;
const XMP_NS = 'http://ns.adobe.com/xap/1.0/\0';

function malformed(message: string, offset: number): OmtError {
  return new OmtError(ASSET_MALFORMED, `malformed JPEG at offset ${offset}: ${message}`, {
    details: { offset },
  });
}

function u16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

function u32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

function startsWith(b: Uint8Array, at: number, ascii: string): boolean {
  if (at + ascii.length > b.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[at + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** The marker segments before the first SOS (the header part where metadata lives). */
function readSegments(b: Uint8Array): Segment[] {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) throw malformed('missing SOI marker', 0);
  const out: Segment[] = [];
  let pos = 2;
  for (;;) {
    if (pos >= b.length) throw malformed('no SOS marker before end of data', pos);
    if (b[pos] !== 0xff) throw malformed('expected a marker', pos);
    let m = pos + 1;
    while (m < b.length && b[m] === 0xff) m++; // fill bytes (ITU T.81 §B.1.1.2)
    if (m >= b.length) throw malformed('truncated marker', pos);
    const marker = b[m] as number;
    if (marker === SOS || marker === EOI) return out;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === SOI) {
      pos = m + 1; // standalone markers carry no length
      continue;
    }
    if (m + 3 > b.length) throw malformed('truncated segment length', m);
    const lp = u16(b, m + 1);
    if (lp < 2) throw malformed('segment length below 2', m);
    const end = m + 1 + lp;
    if (end > b.length) throw malformed('segment runs past end of data', pos);
    out.push({ marker, start: pos, length: end - pos, payloadStart: m + 3 });
    pos = end;
  }
}

interface JumbfSegment extends Segment {
  en: number;
  z: number;
}

function jumbfSegments(b: Uint8Array, segs: Segment[]): JumbfSegment[] {
  const out: JumbfSegment[] = [];
  for (const s of segs) {
    if (s.marker !== APP11) continue;
    const p = s.payloadStart;
    const end = s.start + s.length;
    if (end - p < 8 || !startsWith(b, p, 'JP')) continue; // another APP11 use
    out.push({ ...s, en: u16(b, p + 2), z: u32(b, p + 4) });
  }
  return out;
}

/** True when the first segment of an En group starts a C2PA store (`jumb` → `jumd` type `c2pa`). */
function isC2paStart(b: Uint8Array, s: JumbfSegment): boolean {
  const box = s.payloadStart + 8;
  const end = s.start + s.length;
  if (end - box < 8 || !startsWith(b, box + 4, 'jumb')) return false;
  const hdr = u32(b, box) === 1 ? 16 : 8;
  const jumd = box + hdr;
  return end - jumd >= 12 && startsWith(b, jumd + 4, 'jumd') && startsWith(b, jumd + 8, 'c2pa');
}

function c2paGroup(b: Uint8Array, segs: Segment[]): JumbfSegment[] | undefined {
  const all = jumbfSegments(b, segs);
  const first = all.find((s) => s.z === 1 && isC2paStart(b, s));
  if (first === undefined) return undefined;
  return all.filter((s) => s.en === first.en);
}

function mergeRanges(segs: readonly Segment[]): ByteRange[] {
  const out: { start: number; length: number }[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (last !== undefined && last.start + last.length === s.start) last.length += s.length;
    else out.push({ start: s.start, length: s.length });
  }
  return out;
}

function reassemble(b: Uint8Array, group: JumbfSegment[]): Uint8Array {
  const sorted = [...group].sort((x, y) => x.z - y.z);
  const first = sorted[0] as JumbfSegment;
  const boxAt = first.payloadStart + 8;
  const lbox = u32(b, boxAt);
  const hdr = lbox === 1 ? 16 : 8;
  if (first.start + first.length - boxAt < hdr)
    throw malformed('APP11 segment too short for the box header', first.start);
  const total = lbox === 1 ? u32(b, boxAt + 8) * 0x1_0000_0000 + u32(b, boxAt + 12) : lbox;
  if (total < hdr) throw malformed('JUMBF box length shorter than its header', boxAt);
  const parts: Uint8Array[] = [];
  let have = 0;
  sorted.forEach((s, i) => {
    if (s.z !== i + 1)
      throw malformed(`APP11 packet sequence number ${s.z} where ${i + 1} was expected`, s.start);
    let from = s.payloadStart + 8;
    const end = s.start + s.length;
    if (i > 0) {
      // Continuation segments repeat the box header (LBox/TBox[/XLBox]); it must match.
      if (end - from < hdr) throw malformed('continuation segment too short', s.start);
      for (let k = 0; k < hdr; k++)
        if (b[from + k] !== b[boxAt + k])
          throw malformed('continuation segment repeats a different box header', s.start);
      from += hdr;
    }
    parts.push(b.subarray(from, end));
    have += end - from;
  });
  if (have !== total)
    throw malformed(`APP11 segments carry ${have} bytes for a ${total}-byte box`, first.start);
  return concatBytes(...parts);
}

/** Where a new store goes: after SOI, any JFIF APP0 and an Exif APP1 (both must lead the file). */
function insertionPoint(b: Uint8Array, segs: Segment[]): number {
  let pos = 2;
  for (const s of segs) {
    if (s.start !== pos) break;
    if (s.marker === APP0 || (s.marker === APP1 && startsWith(b, s.payloadStart, 'Exif\0')))
      pos = s.start + s.length;
    else break;
  }
  return pos;
}

function buildSegments(store: Uint8Array, en: number): Uint8Array[] {
  if (store.length < 8)
    throw new OmtError('core.input.invalid', 'a manifest store is at least one box header long');
  const hdr = u32(store, 0) === 1 ? 16 : 8;
  const header = store.subarray(0, hdr);
  const out: Uint8Array[] = [];
  let pos = 0;
  let z = 1;
  while (pos < store.length) {
    const take = Math.min(CHUNK, store.length - pos);
    const prefix = z === 1 ? new Uint8Array(0) : header;
    const lp = 2 + 8 + prefix.length + take;
    const seg = new Uint8Array(2 + lp);
    const v = new DataView(seg.buffer);
    seg[0] = 0xff;
    seg[1] = APP11;
    v.setUint16(2, lp);
    seg[4] = 0x4a; // 'J'
    seg[5] = 0x50; // 'P'
    v.setUint16(6, en);
    v.setUint32(8, z);
    seg.set(prefix, 12);
    seg.set(store.subarray(pos, pos + take), 12 + prefix.length);
    out.push(seg);
    pos += take;
    z++;
  }
  return out;
}

/** Total bytes of the APP11 segments {@link buildSegments} makes for `store`. */
function segmentsLength(store: Uint8Array): number {
  if (store.length < 8)
    throw new OmtError('core.input.invalid', 'a manifest store is at least one box header long');
  const hdr = u32(store, 0) === 1 ? 16 : 8;
  const n = Math.ceil(store.length / CHUNK);
  // Each segment: marker (2) + Lp (2) + 'JP' En Z (8), continuations repeat the box header.
  return store.length + n * 12 + (n - 1) * hdr;
}

/** The asset without its store (not copied when it has none), its segments and the insertion point. */
function placement(asset: Uint8Array): { clean: Uint8Array; segs: Segment[]; at: number } {
  let segs = readSegments(asset);
  const group = c2paGroup(asset, segs);
  let clean = asset;
  if (group !== undefined) {
    clean = withoutSegments(asset, group);
    segs = readSegments(clean);
  }
  return { clean, segs, at: insertionPoint(clean, segs) };
}

function withoutSegments(b: Uint8Array, drop: readonly Segment[]): Uint8Array {
  if (drop.length === 0) return b.slice();
  const parts: Uint8Array[] = [];
  let pos = 0;
  for (const s of [...drop].sort((x, y) => x.start - y.start)) {
    parts.push(b.subarray(pos, s.start));
    pos = s.start + s.length;
  }
  parts.push(b.subarray(pos));
  return concatBytes(...parts);
}

/** The store's APP11 segments spliced in at the insertion point, as views of the asset around them. */
function embedParts(asset: Uint8Array, store: Uint8Array): EmbeddedAssetParts {
  const { clean, segs, at } = placement(asset);
  const used = new Set(jumbfSegments(clean, segs).map((s) => s.en));
  let en = 0x0211;
  while (used.has(en)) en = (en + 1) & 0xffff;
  const inserted = buildSegments(store, en);
  let length = 0;
  for (const s of inserted) length += s.length;
  return { parts: [clean.subarray(0, at), ...inserted, clean.subarray(at)], ranges: [{ start: at, length }] };
}

/**
 * The JPEG asset handler (`image/jpeg`).
 *
 * @example
 * ```ts
 * const found = jpegHandler.findManifestStore(jpegBytes); // { store, ranges } | undefined
 * ```
 */
export const jpegHandler: AssetHandler = {
  mimeTypes: ['image/jpeg', 'image/jpg'],
  extensions: ['jpg', 'jpeg'],
  detect(bytes: Uint8Array): boolean {
    return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === SOI && bytes[2] === 0xff;
  },
  findManifestStore(asset: Uint8Array): ManifestStoreLocation | undefined {
    const segs = readSegments(asset);
    const group = c2paGroup(asset, segs);
    if (group === undefined) return undefined;
    return { store: reassemble(asset, group), ranges: mergeRanges(group) };
  },
  removeManifestStore(asset: Uint8Array): Uint8Array {
    const segs = readSegments(asset);
    return withoutSegments(asset, c2paGroup(asset, segs) ?? []);
  },
  embedManifestStore(asset: Uint8Array, store: Uint8Array): EmbeddedAsset {
    const { parts, ranges } = embedParts(asset, store);
    return { asset: concatBytes(...parts), ranges };
  },
  embedManifestStoreParts(asset: Uint8Array, store: Uint8Array): EmbeddedAssetParts {
    return embedParts(asset, store);
  },
  planManifestStore(asset: Uint8Array, store: Uint8Array): readonly ByteRange[] {
    // The store goes in one run of APP11 segments at `at` (see embedManifestStore).
    return [{ start: placement(asset).at, length: segmentsLength(store) }];
  },
  findRemoteManifestUrl(asset: Uint8Array): string | undefined {
    for (const s of readSegments(asset)) {
      if (s.marker === APP1 && startsWith(asset, s.payloadStart, XMP_NS)) {
        const url = findRemoteManifestUrlInXmp(
          decodeXmp(asset.subarray(s.payloadStart + XMP_NS.length, s.start + s.length)),
        );
        if (url !== undefined) return url;
      }
    }
    return undefined;
  },
  embedRemoteReference(asset: Uint8Array, url: string): Uint8Array {
    const segs = readSegments(asset);
    // The standard XMP packet lives in the first APP1 with the XMP namespace (XMP part 3 §1.1.3).
    const xmp = segs.find((s) => s.marker === APP1 && startsWith(asset, s.payloadStart, XMP_NS));
    const old =
      xmp === undefined
        ? undefined
        : decodeXmp(asset.subarray(xmp.payloadStart + XMP_NS.length, xmp.start + xmp.length));
    const packet = new TextEncoder().encode(setXmpProvenance(old, url));
    const lp = 2 + XMP_NS.length + packet.length;
    if (lp > 0xffff)
      throw new OmtError(
        ASSET_UNSUPPORTED,
        'the XMP packet with the reference exceeds one APP1 segment (extended XMP is not written)',
      );
    const seg = new Uint8Array(2 + lp);
    seg[0] = 0xff;
    seg[1] = APP1;
    seg[2] = lp >> 8;
    seg[3] = lp & 0xff;
    for (let i = 0; i < XMP_NS.length; i++) seg[4 + i] = XMP_NS.charCodeAt(i);
    seg.set(packet, 4 + XMP_NS.length);
    if (xmp !== undefined)
      return concatBytes(asset.subarray(0, xmp.start), seg, asset.subarray(xmp.start + xmp.length));
    const at = insertionPoint(asset, segs);
    return concatBytes(asset.subarray(0, at), seg, asset.subarray(at));
  },
};
