import { OmtError } from '@omt/core/errors';
import {
  ASSET_MALFORMED,
  type AssetHandler,
  type EmbeddedAsset,
  type ManifestStoreLocation,
} from './asset-handler.js';

/**
 * A sidecar `.c2pa` file (`application/c2pa`, C2PA 2.x §11.2): the file is the manifest store
 * itself. The asset it describes is hashed whole (no exclusions), since nothing is embedded.
 */

function looksLikeStore(b: Uint8Array): boolean {
  return b.length >= 8 && b[4] === 0x6a && b[5] === 0x75 && b[6] === 0x6d && b[7] === 0x62; // 'jumb'
}

/**
 * The sidecar handler: `findManifestStore` returns the whole file, `embedManifestStore` returns
 * the store (the `asset` argument is the described asset, left untouched).
 *
 * @example
 * ```ts
 * const sidecar = sidecarHandler.embedManifestStore(assetBytes, storeBytes).asset; // = storeBytes
 * ```
 */
export const sidecarHandler: AssetHandler = {
  mimeTypes: ['application/c2pa', 'application/x-c2pa-manifest-store'],
  extensions: ['c2pa'],
  detect: looksLikeStore,
  findManifestStore(asset: Uint8Array): ManifestStoreLocation | undefined {
    if (asset.length === 0) return undefined;
    if (!looksLikeStore(asset))
      throw new OmtError(ASSET_MALFORMED, 'a .c2pa sidecar must start with a jumb box', {
        details: { offset: 0 },
      });
    return { store: asset.slice(), ranges: [] };
  },
  removeManifestStore(): Uint8Array {
    return new Uint8Array(0);
  },
  embedManifestStore(_asset: Uint8Array, store: Uint8Array): EmbeddedAsset {
    return { asset: store.slice(), ranges: [] };
  },
  findRemoteManifestUrl(): string | undefined {
    return undefined;
  },
};
