import { OmtError } from '@omt/core/errors';

/**
 * The asset-handler port: one plug-in per container format, registered by MIME type (as c2pa-rs
 * registers its asset handlers). A handler finds, removes and embeds a C2PA manifest store and
 * reports the byte ranges a `c2pa.hash.data` assertion must exclude (C2PA 2.x §18.5, §A).
 */

/** A byte range in an asset: `[start, start + length)`. */
export interface ByteRange {
  readonly start: number;
  readonly length: number;
}

/** Where a manifest store sits in an asset. */
export interface ManifestStoreLocation {
  /** The manifest store's JUMBF bytes, reassembled when split over several segments. */
  readonly store: Uint8Array;
  /** The asset bytes holding the store, container framing included (what a data hash excludes). */
  readonly ranges: readonly ByteRange[];
}

/** The result of embedding a store. */
export interface EmbeddedAsset {
  readonly asset: Uint8Array;
  /** The asset bytes now holding the store (the data-hash exclusions). */
  readonly ranges: readonly ByteRange[];
}

/** The result of embedding a store, as byte runs (see {@link AssetHandler.embedManifestStoreParts}). */
export interface EmbeddedAssetParts {
  /** In order, the embedded asset; runs of the input are views of it, not copies. */
  readonly parts: readonly Uint8Array[];
  /** The asset bytes now holding the store (the data-hash exclusions). */
  readonly ranges: readonly ByteRange[];
}

/** One container format. Methods throw `c2pa.asset.malformed` on a broken container. */
export interface AssetHandler {
  /** MIME types served, lower case (the first is canonical). */
  readonly mimeTypes: readonly string[];
  /** File extensions served, lower case, without dot. */
  readonly extensions: readonly string[];
  /** True when `bytes` start with this format's signature. */
  detect(bytes: Uint8Array): boolean;
  /** The embedded store, or undefined when the asset carries none. */
  findManifestStore(asset: Uint8Array): ManifestStoreLocation | undefined;
  /** A copy of the asset without any C2PA manifest store. */
  removeManifestStore(asset: Uint8Array): Uint8Array;
  /** Removes any store, then embeds `store` where the format prescribes. */
  embedManifestStore(asset: Uint8Array, store: Uint8Array): EmbeddedAsset;
  /**
   * Optional: what {@link embedManifestStore} returns, as byte runs whose concatenation is the
   * embedded asset; where the input is kept, the runs are views of it (no copy of a large asset,
   * for writers that gather: `writev`, a stream, an HTTP body).
   */
  embedManifestStoreParts?(asset: Uint8Array, store: Uint8Array): EmbeddedAssetParts;
  /**
   * Optional: the ranges {@link embedManifestStore} would report for `store`, computed without
   * building the asset. A handler offers it only when the embedded asset minus those ranges is
   * exactly `removeManifestStore(asset)` (so a builder can settle the layout and hash the asset
   * without copying it).
   */
  planManifestStore?(asset: Uint8Array, store: Uint8Array): readonly ByteRange[];
  /** The remote manifest URL from XMP `dcterms:provenance` (C2PA 2.x §11.3), if any. */
  findRemoteManifestUrl(asset: Uint8Array): string | undefined;
  /**
   * Optional: a copy of the asset whose XMP carries `dcterms:provenance` = `url` (C2PA 2.x §11.3,
   * a remote manifest reference): the existing XMP packet updated, else a new one added. Nothing
   * else changes; an embedded store is left as it is (remove it first for a remote-only manifest).
   */
  embedRemoteReference?(asset: Uint8Array, url: string): Uint8Array;
}

/** Error code of a broken container (not a broken manifest). */
export const ASSET_MALFORMED = 'c2pa.asset.malformed';
/** Error code when no handler serves a MIME type. */
export const ASSET_UNSUPPORTED = 'c2pa.asset.unsupported';

/**
 * A registry of handlers by MIME type and extension.
 *
 * @example
 * ```ts
 * const registry = new AssetHandlerRegistry([jpegHandler, pngHandler]);
 * registry.forMime('image/jpeg').findManifestStore(bytes);
 * ```
 */
export class AssetHandlerRegistry {
  private readonly byMime = new Map<string, AssetHandler>();
  private readonly byExt = new Map<string, AssetHandler>();
  private readonly all: AssetHandler[] = [];

  constructor(handlers: readonly AssetHandler[] = []) {
    for (const h of handlers) this.register(h);
  }

  /** Adds a handler; a later registration for the same MIME type wins. */
  register(handler: AssetHandler): void {
    this.all.push(handler);
    for (const m of handler.mimeTypes) this.byMime.set(m.toLowerCase(), handler);
    for (const e of handler.extensions) this.byExt.set(e.toLowerCase(), handler);
  }

  /** The handler for a MIME type (parameters ignored) or file extension; `c2pa.asset.unsupported` if none. */
  forMime(mimeOrExtension: string): AssetHandler {
    const key = String(mimeOrExtension).split(';')[0]?.trim().toLowerCase() ?? '';
    const h = this.byMime.get(key) ?? this.byExt.get(key.replace(/^\./, ''));
    if (h === undefined) {
      throw new OmtError(ASSET_UNSUPPORTED, `no asset handler for ${JSON.stringify(key.slice(0, 64))}`);
    }
    return h;
  }

  /** The first handler whose signature matches `bytes`. */
  detect(bytes: Uint8Array): AssetHandler | undefined {
    return this.all.find((h) => h.detect(bytes));
  }

  /** Every MIME type served. */
  mimeTypes(): string[] {
    return [...this.byMime.keys()];
  }
}
