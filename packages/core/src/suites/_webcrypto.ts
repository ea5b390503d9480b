import { toBase64Url } from '../bytes.js';

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
