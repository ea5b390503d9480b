/**
 * Key formats of OpenMediaTrust: PKCS#8 / SPKI (DER and PEM), JWK and
 * COSE_Key, all converting to and from the raw encodings of `suites/suite.ts`
 * ({@link KeyMaterial}).
 *
 * @example
 * ```ts
 * import { exportPrivatePem, importPem, exportJwk, importCoseKey } from '@omt/core/keys';
 * const key = importPem(pemText);
 * const jwk = exportJwk(key, { publicOnly: true });
 * ```
 */
export { coseAlgOf, joseAlgOf } from './alg-ids.js';
export {
  coseKeyThumbprint,
  type ExportCoseKeyOptions,
  exportCoseKey,
  type ImportCoseKeyOptions,
  importCoseKey,
} from './cose-key.js';
export {
  type ExportJwkOptions,
  exportJwk,
  type ImportJwkOptions,
  importJwk,
  type Jwk,
  jwkThumbprint,
  keyId,
} from './jwk.js';
export { checkKeyMaterial, type KeyMaterial } from './key-material.js';
export {
  decodePemBlocks,
  encodePemBlock,
  exportPrivatePem,
  exportPublicPem,
  type ImportPemOptions,
  importPem,
  type PemBlock,
} from './pem.js';
export { exportPkcs8, exportSpki, type ImportDerOptions, importPkcs8, importSpki } from './pkcs8-spki.js';
