/**
 * Internal: ML-DSA through liboqs compiled to WebAssembly (`@oqs/liboqs-js`, the Open Quantum Safe
 * project's bindings) — about 12× faster than the portable noble code on Node without native
 * ML-DSA (before 24.7), and interoperable byte for byte (FIPS 204 pure ML-DSA, empty context,
 * hedged signing from the platform CSPRNG).
 *
 * Loaded only on Node and only when first used. The specifier is built at run time so that browser
 * bundles of @omt/core never include it (scripts/check-browser-bundle.mjs): browsers keep the
 * portable path. A runtime where it cannot load (package missing, no WebAssembly) answers `null`,
 * and the suites fall back to noble.
 */

/** One ML-DSA parameter set in liboqs: synchronous sign and verify over WebAssembly memory. */
export interface LiboqsMlDsa {
  /** FIPS 204 ML-DSA.Sign with ctx = '' and fresh randomness; `secretKey` is the expanded skEncode. */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** FIPS 204 ML-DSA.Verify with ctx = ''; false for any signature or key that does not verify. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

type MlDsaId = 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';

const FACTORY: Record<MlDsaId, string> = {
  'ML-DSA-44': 'createMLDSA44',
  'ML-DSA-65': 'createMLDSA65',
  'ML-DSA-87': 'createMLDSA87',
};

const loading = new Map<MlDsaId, Promise<LiboqsMlDsa | null>>();

/** The liboqs instance for `id` (created once per process), or null where it cannot run. */
export function liboqsMlDsa(id: MlDsaId): Promise<LiboqsMlDsa | null> {
  let p = loading.get(id);
  if (p === undefined) {
    p = load(id);
    loading.set(id, p);
  }
  return p;
}

async function load(id: MlDsaId): Promise<LiboqsMlDsa | null> {
  const g = globalThis as { process?: { versions?: { node?: string } }; WebAssembly?: unknown };
  if (typeof g.process?.versions?.node !== 'string' || g.WebAssembly === undefined) return null;
  try {
    // Joined at run time: bundlers must not follow it (see the module comment).
    const spec = ['@oqs', 'liboqs-js', 'sig'].join('/');
    const mod = (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
    const create = mod[FACTORY[id]];
    if (typeof create !== 'function') return null;
    const instance = (await (create as () => Promise<unknown>)()) as Partial<LiboqsMlDsa>;
    if (typeof instance.sign !== 'function' || typeof instance.verify !== 'function') return null;
    return instance as LiboqsMlDsa;
  } catch {
    return null;
  }
}
