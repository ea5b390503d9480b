/**
 * Internal: ML-DSA and SLH-DSA through liboqs compiled to WebAssembly (`@oqs/liboqs-js`, the Open
 * Quantum Safe project's bindings) — on Node ≈ 12× faster than the portable noble code for ML-DSA
 * (where the runtime has no native ML-DSA, before 24.7) and ≈ 3.5–4.5× for SLH-DSA, with the same
 * signatures (FIPS 204 / 205 pure signing, empty context, randomness from the platform CSPRNG).
 *
 * Loaded only on Node and only when first used. The specifier is built at run time so that browser
 * bundles of @omt/core never include it (scripts/check-browser-bundle.mjs): browsers keep the
 * portable path. A runtime where it cannot load (package missing, no WebAssembly) answers `null`,
 * and the suites fall back to noble.
 */

import type { RandomSource } from '../random.js';
import type { Implementation } from './_guards.js';

/** One parameter set in liboqs: synchronous sign and verify over WebAssembly memory. */
export interface LiboqsSigner {
  /**
   * Pure signing with ctx = '' and fresh randomness (FIPS 204 hedged / FIPS 205 randomized);
   * `secretKey` is the FIPS encoding (for ML-DSA the expanded skEncode, not the seed).
   */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Pure verification with ctx = ''; false for any signature or key that does not verify. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The bindings' factory for a suite id: `createMLDSA65`, `createSlhDsaSha2128s`, … */
function factoryName(id: string): string | undefined {
  const ml = /^ML-DSA-(44|65|87)$/.exec(id);
  if (ml !== null) return `createMLDSA${ml[1]}`;
  const slh = /^SLH-DSA-(SHA2|SHAKE)-(128|192|256)([sf])$/.exec(id);
  if (slh !== null) return `createSlhDsa${slh[1] === 'SHA2' ? 'Sha2' : 'Shake'}${slh[2]}${slh[3]}`;
  return undefined;
}

const loading = new Map<string, Promise<LiboqsSigner | null>>();

/** The liboqs instance for suite `id` (created once per process), or null where it cannot run. */
export function liboqsSuite(id: string): Promise<LiboqsSigner | null> {
  let p = loading.get(id);
  if (p === undefined) {
    p = load(id);
    loading.set(id, p);
  }
  return p;
}

/**
 * Longest message 'auto' hands to liboqs (1 MiB). The message is copied into the WebAssembly
 * memory, which grows to fit and never shrinks: one 200 MB message kept 200 MB for the life of the
 * process (measured). Longer messages go to noble — signatures over claims, notes and events are
 * far shorter; an explicit `implementation: 'wasm'` is still honoured.
 */
export const LIBOQS_AUTO_MAX_MESSAGE: number = 1 << 20;

/** Whether liboqs runs here for suite `id` (loads it on first call): the suites' `wasmAvailable`. */
export async function liboqsAvailable(id: string): Promise<boolean> {
  return (await liboqsSuite(id)) !== null;
}

/**
 * The liboqs instance for a call on `path` (as `choosePath` picked it under `impl`) with
 * `message`, or null when the call goes to noble: off the 'wasm' path, for a signature with the
 * caller's RandomSource (liboqs draws its own randomness; noble takes the caller's, e.g. for
 * deterministic signing), and under 'auto' for messages over {@link LIBOQS_AUTO_MAX_MESSAGE}.
 */
export async function liboqsFor(
  id: string,
  path: 'native' | 'wasm' | 'portable',
  impl: Implementation,
  message: Uint8Array,
  random?: RandomSource,
): Promise<LiboqsSigner | null> {
  if (path !== 'wasm' || random !== undefined) return null;
  if (impl !== 'wasm' && message.length > LIBOQS_AUTO_MAX_MESSAGE) return null;
  return liboqsSuite(id);
}

async function load(id: string): Promise<LiboqsSigner | null> {
  const factory = factoryName(id);
  if (factory === undefined) return null;
  const g = globalThis as { process?: { versions?: { node?: string } }; WebAssembly?: unknown };
  if (typeof g.process?.versions?.node !== 'string' || g.WebAssembly === undefined) return null;
  try {
    // Joined at run time: bundlers must not follow it (see the module comment).
    const spec = ['@oqs', 'liboqs-js', 'sig'].join('/');
    const mod = (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
    const create = mod[factory];
    if (typeof create !== 'function') return null;
    const instance = (await (create as () => Promise<unknown>)()) as Partial<LiboqsSigner>;
    const { sign, verify } = instance;
    if (typeof sign !== 'function' || typeof verify !== 'function') return null;
    // The bindings accept only objects whose constructor is named 'Uint8Array': a Buffer (what
    // node:crypto and many Node APIs hand out) would be refused — a valid signature reported
    // invalid. Every input is passed as a plain view of the same memory.
    return {
      sign: (message, secretKey) => sign.call(instance, plain(message), plain(secretKey)),
      verify: (message, signature, publicKey) =>
        verify.call(instance, plain(message), plain(signature), plain(publicKey)),
    };
  } catch {
    return null;
  }
}

/** `bytes` itself when it is a plain Uint8Array, else a Uint8Array view of the same memory. */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
