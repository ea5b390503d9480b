import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createAssetRegistry } from '@omt/c2pa/asset';
import { OmtError } from '@omt/core/errors';
import type { CliContext } from '../../context.js';
import { readInputFile } from '../../files.js';

/** An asset read from the command line with its MIME type. */
export interface AssetFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly mime: string;
}

const IMAGE_MIMES = ['image/jpeg', 'image/png'];

/**
 * The MIME type of an asset: from its content (JPEG/PNG signature, or a JUMBF `.c2pa` store),
 * else from the extension. Content wins over a misleading extension; anything else is
 * `c2pa.asset.unsupported`.
 */
export function assetMimeOf(name: string, bytes: Uint8Array, opts: { allowSidecar?: boolean } = {}): string {
  const registry = createAssetRegistry();
  const detected = registry.detect(bytes);
  const mime = detected?.mimeTypes[0];
  if (mime !== undefined && (IMAGE_MIMES.includes(mime) || opts.allowSidecar === true)) return mime;
  const ext = path.extname(name).slice(1).toLowerCase();
  if (detected === undefined && bytes.length > 0 && ext !== '') {
    // A known extension on unknown content: say what was expected.
    const byExt = ['jpg', 'jpeg', 'png', 'c2pa'].includes(ext) ? ext : undefined;
    if (byExt !== undefined) {
      throw new OmtError(
        'c2pa.asset.unsupported',
        `${name} does not look like a ${byExt === 'c2pa' ? 'C2PA manifest store' : byExt.toUpperCase()} file`,
      );
    }
  }
  throw new OmtError(
    'c2pa.asset.unsupported',
    `${name} is not a JPEG or PNG image${opts.allowSidecar === true ? ' or a .c2pa manifest store' : ''}`,
  );
}

/** Reads an asset named on the command line and determines its MIME type. */
export async function readAssetFile(
  ctx: CliContext,
  name: string,
  opts: { allowSidecar?: boolean } = {},
): Promise<AssetFile> {
  const bytes = await readInputFile(ctx, name);
  return { name, bytes, mime: assetMimeOf(name, bytes, opts) };
}

/** An asset too large to read whole: its MIME type (from its first bytes) and a stream factory. */
export interface StreamedAssetFile {
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly bytes: Uint8Array | undefined;
  readonly stream: () => AsyncIterable<Uint8Array>;
}

/** Files above this size are validated streamed (bounded memory) instead of read whole. */
export const STREAM_THRESHOLD: number = 64 * 1024 * 1024;

/**
 * Opens an asset for validation: small files are read whole, large ones streamed from disk in
 * 1 MiB chunks (memory stays bounded whatever the file size).
 */
export async function openAssetFile(
  ctx: CliContext,
  name: string,
  opts: { allowSidecar?: boolean } = {},
): Promise<StreamedAssetFile> {
  const full = path.resolve(ctx.cwd, name);
  let size: number;
  try {
    const st = await stat(full);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    size = st.size;
  } catch {
    // readInputFile gives the clear not-found / unreadable error.
    await readInputFile(ctx, name);
    throw new OmtError('cli.file.unreadable', `cannot read ${name}`);
  }
  if (size <= STREAM_THRESHOLD) {
    const a = await readAssetFile(ctx, name, opts);
    const bytes = a.bytes;
    return {
      name,
      mime: a.mime,
      size,
      bytes,
      stream: async function* () {
        yield bytes;
      },
    };
  }
  const fh = await open(full, 'r');
  const head = new Uint8Array(64);
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const mime = assetMimeOf(name, head, opts);
  return {
    name,
    mime,
    size,
    bytes: undefined,
    stream: async function* () {
      for await (const chunk of createReadStream(full, { highWaterMark: 1 << 20 })) {
        const b = chunk as Buffer;
        yield new Uint8Array(b.buffer, b.byteOffset, b.length);
      }
    },
  };
}
