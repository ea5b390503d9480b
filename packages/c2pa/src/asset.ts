import { AssetHandlerRegistry } from './asset-handler.js';
import { jpegHandler } from './asset-jpeg.js';
import { pngHandler } from './asset-png.js';
import { sidecarHandler } from './asset-sidecar.js';

export {
  ASSET_MALFORMED,
  ASSET_UNSUPPORTED,
  type AssetHandler,
  AssetHandlerRegistry,
  type ByteRange,
  type EmbeddedAsset,
  type EmbeddedAssetParts,
  type ManifestStoreLocation,
} from './asset-handler.js';
export { jpegHandler } from './asset-jpeg.js';
export { pngCrc32, pngHandler } from './asset-png.js';
export { sidecarHandler } from './asset-sidecar.js';
export {
  findRemoteManifestUrlInXmp,
  findXmpProvenance,
  isRemoteManifestUrl,
  setXmpProvenance,
} from './xmp-provenance.js';

/**
 * A fresh registry with the built-in handlers: JPEG, PNG and sidecar `.c2pa`.
 *
 * @example
 * ```ts
 * createAssetRegistry().forMime('image/png').findManifestStore(bytes);
 * ```
 */
export function createAssetRegistry(): AssetHandlerRegistry {
  return new AssetHandlerRegistry([jpegHandler, pngHandler, sidecarHandler]);
}
