/**
 * The portable {@link AeadEngine}: AES-256-GCM through WebCrypto (non-extractable keys) and
 * HKDF-SHA-512 from @noble/hashes. Works in browsers, Deno, Bun and Node.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';
import type { AeadEngine, AeadKey } from './ports.js';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/**
 * @example
 * ```ts
 * const { kms } = createKms({ rootKeys, keyStore, aead: webCryptoAead }); // the default
 * ```
 */
export const webCryptoAead: AeadEngine = {
  name: 'webcrypto',
  importKey(raw: Uint8Array): Promise<AeadKey> {
    return subtle().importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'AES-GCM' }, false, [
      'encrypt',
      'decrypt',
    ]);
  },
  async seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(
      await subtle().encrypt(
        {
          name: 'AES-GCM',
          iv: iv as Uint8Array<ArrayBuffer>,
          additionalData: aad as Uint8Array<ArrayBuffer>,
          tagLength: 128,
        },
        key as CryptoKey,
        plaintext as Uint8Array<ArrayBuffer>,
      ),
    );
  },
  async open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(
      await subtle().decrypt(
        {
          name: 'AES-GCM',
          iv: iv as Uint8Array<ArrayBuffer>,
          additionalData: aad as Uint8Array<ArrayBuffer>,
          tagLength: 128,
        },
        key as CryptoKey,
        sealed as Uint8Array<ArrayBuffer>,
      ),
    );
  },
  hkdfSha512(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    return hkdf(sha512, ikm, salt, info, length);
  },
};
