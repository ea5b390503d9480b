import type { HashAlg } from '@omt/core/hash';

/** C2PA hash algorithm names (C2PA 2.x §13.1: `sha256`, `sha384`, `sha512`). */
export type C2paHashAlg = 'sha256' | 'sha384' | 'sha512';

const MAP: Record<C2paHashAlg, HashAlg> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/**
 * The core hash algorithm for a C2PA algorithm name; undefined when unsupported (the caller
 * reports `algorithm.unsupported`).
 *
 * @example
 * ```ts
 * coreHashAlg('sha256'); // 'SHA-256'
 * ```
 */
export function coreHashAlg(name: string | undefined): HashAlg | undefined {
  const key = name ?? 'sha256';
  return Object.hasOwn(MAP, key) ? MAP[key as C2paHashAlg] : undefined;
}
