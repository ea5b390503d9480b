import { toBase64Url } from '../bytes.js';
import { wrapErrorsAsync } from '../errors.js';
import type { KeyCache } from './_key-cache.js';

/** Internal: feature-detected WebCrypto access (browsers, Node ≥ 19, Deno, Bun). */

/** The platform SubtleCrypto, or undefined where there is none (e.g. insecure browser contexts). */
export function getSubtle(): SubtleCrypto | undefined {
  const c = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto;
  return c?.subtle;
}

const probes = new Map<string, Promise<boolean>>();

/**
 * Runs `probe` once per `name` (memoised) and reports whether it succeeded. Used to
 * detect algorithm support, which WebCrypto only reveals by trying.
 */
export function detectOnce(
  name: string,
  probe: (subtle: SubtleCrypto) => Promise<unknown>,
): Promise<boolean> {
  let p = probes.get(name);
  if (p === undefined) {
    const subtle = getSubtle();
    p =
      subtle === undefined
        ? Promise.resolve(false)
        : probe(subtle).then(
            () => true,
            () => false,
          );
    probes.set(name, p);
  }
  return p;
}

/** JWK members are base64url without padding (RFC 7517 §2 / RFC 7518 §6). */
export function jwkBytes(bytes: Uint8Array): string {
  return toBase64Url(bytes);
}

/** A copy with its own ArrayBuffer, as WebCrypto's BufferSource typing wants. */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * Native signing: imports the secret key once per key (cached) and signs. A key WebCrypto
 * refuses becomes `core.key.malformed` naming the suite.
 */
export function webcryptoSign(
  suiteId: string,
  cache: KeyCache<Promise<CryptoKey>>,
  secretKey: Uint8Array,
  importKey: (subtle: SubtleCrypto) => Promise<CryptoKey>,
  params: AlgorithmIdentifier | EcdsaParams,
  message: Uint8Array,
): Promise<Uint8Array> {
  const subtle = getSubtle() as SubtleCrypto;
  return wrapErrorsAsync(
    'core.key.malformed',
    `${suiteId}: native signing rejected the secret key`,
    async () => {
      const key = await cache.get(secretKey, () => importKey(subtle));
      return new Uint8Array(await subtle.sign(params, key, ownBuffer(message)));
    },
  );
}

/**
 * Native verification with a cached imported public key. Any failure — a key WebCrypto
 * rejects, a signature it cannot parse — is a signature that does not verify: `false`.
 */
export async function webcryptoVerify(
  cache: KeyCache<Promise<CryptoKey>>,
  publicKey: Uint8Array,
  importKey: (subtle: SubtleCrypto) => Promise<CryptoKey>,
  params: AlgorithmIdentifier | EcdsaParams,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  const subtle = getSubtle() as SubtleCrypto;
  try {
    const key = await cache.get(publicKey, () => importKey(subtle));
    return await subtle.verify(params, key, ownBuffer(signature), ownBuffer(message));
  } catch {
    return false;
  }
}

/** Portable verification: a verifier that throws on garbage means "does not verify". */
export function portableVerify(verify: () => boolean): boolean {
  try {
    return verify();
  } catch {
    return false;
  }
}
