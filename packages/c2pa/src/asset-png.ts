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
 * PNG: the manifest store is the data of one `caBX` chunk (C2PA 2.x §A.3.3), placed before the
 * first IDAT. Chunks are `length(u32) type(4) data crc(u32)` (PNG spec §5.3); the exclusion
 * range of a data hash is the whole caBX chunk.
 */

const SIGNATURE = /* @__PURE__ */ Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const XMP_KEYWORD = 'XML:com.adobe.xmp';

interface Chunk {
  type: string;
  start: number;
  length: number;
  dataStart: number;
  dataLength: number;
}

function malformed(message: string, offset: number): OmtError {
  return new OmtError(ASSET_MALFORMED, `malformed PNG at offset ${offset}: ${message}`, {
    details: { offset },
  });
}

const CRC_TABLE: Uint32Array = /* @__PURE__ */ (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of a chunk's type and data (PNG spec §5.5, ISO 3309). */
export function pngCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++)
    c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function readChunks(b: Uint8Array): Chunk[] {
  if (b.length < 8 || !SIGNATURE.every((v, i) => b[i] === v)) throw malformed('missing PNG signature', 0);
  const out: Chunk[] = [];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 8;
  while (pos < b.length) {
    if (b.length - pos < 12) throw malformed('truncated chunk header', pos);
    const dataLength = view.getUint32(pos);
    if (dataLength > 0x7fffffff) throw malformed('chunk length above 2^31-1', pos);
    const type = String.fromCharCode(...b.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw malformed('chunk type is not 4 letters', pos);
    const length = 12 + dataLength;
    if (length > b.length - pos) throw malformed('chunk runs past end of data', pos);
    out.push({ type, start: pos, length, dataStart: pos + 8, dataLength });
    pos += length;
    if (type === 'IEND') break;
  }
  return out;
}

function chunkBytes(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, pngCrc32(out.subarray(4, 8 + data.length)));
  return out;
}

function withoutChunks(b: Uint8Array, drop: readonly Chunk[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = 0;
  for (const c of drop) {
    parts.push(b.subarray(pos, c.start));
    pos = c.start + c.length;
  }
  parts.push(b.subarray(pos));
  return concatBytes(...parts);
}

/** Whether an iTXt chunk is keyed `XML:com.adobe.xmp` (compressed or not). */
function isXmpChunk(b: Uint8Array, c: Chunk): boolean {
  if (c.type !== 'iTXt') return false;
  const data = b.subarray(c.dataStart, c.dataStart + c.dataLength);
  const kw = data.indexOf(0);
  return kw > 0 && String.fromCharCode(...data.subarray(0, kw)) === XMP_KEYWORD;
}

/** An uncompressed iTXt chunk with the XMP keyword, no language tag (PNG spec §11.3.4.5). */
function xmpChunk(xmp: string): Uint8Array {
  const text = new TextEncoder().encode(xmp);
  const data = new Uint8Array(XMP_KEYWORD.length + 5 + text.length);
  for (let i = 0; i < XMP_KEYWORD.length; i++) data[i] = XMP_KEYWORD.charCodeAt(i);
  // keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL
  data.set(text, XMP_KEYWORD.length + 5);
  return chunkBytes('iTXt', data);
}

/** The iTXt text of an uncompressed XMP chunk (PNG spec §11.3.4.5), else undefined. */
function itxtXmp(b: Uint8Array, c: Chunk): string | undefined {
  const data = b.subarray(c.dataStart, c.dataStart + c.dataLength);
  const kw = data.indexOf(0);
  if (kw < 0 || String.fromCharCode(...data.subarray(0, kw)) !== XMP_KEYWORD) return undefined;
  if (data[kw + 1] !== 0) return undefined; // compressed XMP is not read
  let p = kw + 3;
  const lang = data.indexOf(0, p);
  if (lang < 0) return undefined;
  const translated = data.indexOf(0, lang + 1);
  if (translated < 0) return undefined;
  p = translated + 1;
  return decodeXmp(data.subarray(p));
}

/** The `caBX` chunk spliced in after IHDR, as views of the asset around it (copied only to drop an old store). */
function embedParts(asset: Uint8Array, store: Uint8Array): EmbeddedAssetParts {
  const old = readChunks(asset).filter((c) => c.type === 'caBX');
  const clean = old.length === 0 ? asset : withoutChunks(asset, old);
  const chunks = readChunks(clean);
  const idat = chunks.find((c) => c.type === 'IDAT' || c.type === 'IEND');
  const first = chunks[0];
  if (first?.type !== 'IHDR') throw malformed('first chunk is not IHDR', 8);
  if (idat === undefined) throw malformed('no IDAT chunk', clean.length);
  // Directly after IHDR: before IDAT as §A.3.3 asks, and before PLTE/metadata editors may move.
  const at = first.start + first.length;
  const chunk = chunkBytes('caBX', store);
  return {
    parts: [clean.subarray(0, at), chunk, clean.subarray(at)],
    ranges: [{ start: at, length: chunk.length }],
  };
}

/**
 * The PNG asset handler (`image/png`).
 *
 * @example
 * ```ts
 * const { asset, ranges } = pngHandler.embedManifestStore(pngBytes, storeBytes);
 * ```
 */
export const pngHandler: AssetHandler = {
  mimeTypes: ['image/png'],
  extensions: ['png'],
  detect(bytes: Uint8Array): boolean {
    return bytes.length >= 8 && SIGNATURE.every((v, i) => bytes[i] === v);
  },
  findManifestStore(asset: Uint8Array): ManifestStoreLocation | undefined {
    const found = readChunks(asset).filter((c) => c.type === 'caBX');
    const [c] = found;
    if (c === undefined) return undefined;
    if (found.length > 1) throw malformed('more than one caBX chunk', (found[1] as Chunk).start);
    return {
      store: asset.slice(c.dataStart, c.dataStart + c.dataLength),
      ranges: [{ start: c.start, length: c.length }],
    };
  },
  removeManifestStore(asset: Uint8Array): Uint8Array {
    return withoutChunks(
      asset,
      readChunks(asset).filter((c) => c.type === 'caBX'),
    );
  },
  embedManifestStore(asset: Uint8Array, store: Uint8Array): EmbeddedAsset {
    const { parts, ranges } = embedParts(asset, store);
    return { asset: concatBytes(...parts), ranges };
  },
  embedManifestStoreParts(asset: Uint8Array, store: Uint8Array): EmbeddedAssetParts {
    return embedParts(asset, store);
  },
  planManifestStore(asset: Uint8Array, store: Uint8Array): readonly ByteRange[] {
    // The caBX chunk goes right after IHDR (see embedParts): 12 bytes of framing around the store.
    const first = readChunks(asset)[0];
    if (first?.type !== 'IHDR') throw malformed('first chunk is not IHDR', 8);
    return [{ start: first.start + first.length, length: store.length + 12 }];
  },
  findRemoteManifestUrl(asset: Uint8Array): string | undefined {
    for (const c of readChunks(asset)) {
      if (c.type !== 'iTXt') continue;
      const xmp = itxtXmp(asset, c);
      const url = xmp === undefined ? undefined : findRemoteManifestUrlInXmp(xmp);
      if (url !== undefined) return url;
    }
    return undefined;
  },
  embedRemoteReference(asset: Uint8Array, url: string): Uint8Array {
    const chunks = readChunks(asset);
    const first = chunks[0];
    if (first?.type !== 'IHDR') throw malformed('first chunk is not IHDR', 8);
    const existing = chunks.find((c) => isXmpChunk(asset, c));
    if (existing === undefined) {
      // A new XMP chunk right after IHDR (before IDAT, PNG spec §11.3.4.5; where c2pa-rs puts it).
      const at = first.start + first.length;
      return concatBytes(
        asset.subarray(0, at),
        xmpChunk(setXmpProvenance(undefined, url)),
        asset.subarray(at),
      );
    }
    const text = itxtXmp(asset, existing);
    if (text === undefined)
      throw new OmtError(ASSET_UNSUPPORTED, 'the PNG XMP chunk is compressed; it is not rewritten here');
    return concatBytes(
      asset.subarray(0, existing.start),
      xmpChunk(setXmpProvenance(text, url)),
      asset.subarray(existing.start + existing.length),
    );
  },
};
