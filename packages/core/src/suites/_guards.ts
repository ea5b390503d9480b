import { isBytes } from '../bytes.js';
import { OmtError } from '../errors.js';
import { platformRandom, type RandomSource } from '../random.js';
import type { SuiteId } from './suite.js';

/** Internal checks shared by the suite families (not exported from the package). */

export type Implementation = 'auto' | 'portable' | 'native' | 'wasm';

/** `core.key.malformed` naming the suite, what was wrong and the expected length (never the bytes). */
export function keyMalformed(
  suite: SuiteId,
  what: string,
  expected: string,
  got?: number,
  cause?: unknown,
): OmtError {
  const gotText = got === undefined ? '' : `, got ${got} bytes`;
  return new OmtError('core.key.malformed', `${suite}: malformed ${what}: expected ${expected}${gotText}`, {
    cause,
    details: { suite, what, expected, ...(got === undefined ? {} : { got }) },
  });
}

/** `core.alg.unsupported` for an operation or path this runtime / suite cannot do. */
export function algUnsupported(suite: SuiteId | string, why: string): OmtError {
  return new OmtError('core.alg.unsupported', `${suite}: ${why}`, { details: { suite } });
}

/** Throws `core.key.malformed` unless `key` is a Uint8Array of one of `lengths`. */
export function requireKeyBytes(
  suite: SuiteId,
  what: string,
  key: unknown,
  lengths: readonly number[],
): Uint8Array {
  if (!isBytes(key)) throw keyMalformed(suite, what, `a Uint8Array of ${lengths.join(' or ')} bytes`);
  if (!lengths.includes(key.length))
    throw keyMalformed(suite, what, `${lengths.join(' or ')} bytes`, key.length);
  return key;
}

/** Messages are arbitrary bytes; anything else is a caller bug → `core.input.invalid`. */
export function requireMessage(suite: SuiteId, message: unknown): Uint8Array {
  if (!isBytes(message)) throw new OmtError('core.input.invalid', `${suite}: message must be a Uint8Array`);
  return message;
}

/** Validates the optional `implementation` option. */
export function readImplementation(
  suite: SuiteId,
  options: { implementation?: unknown } | undefined,
): Implementation {
  const impl = options?.implementation ?? 'auto';
  if (impl !== 'auto' && impl !== 'portable' && impl !== 'native' && impl !== 'wasm') {
    throw new OmtError(
      'core.input.invalid',
      `${suite}: implementation must be 'auto', 'portable', 'native' or 'wasm'`,
    );
  }
  return impl;
}

/**
 * Picks the path: 'native' where asked or available under 'auto'; else 'wasm' where the suite has
 * a WebAssembly path (`wasmAvailable`) that loads; else 'portable'. A path asked for by name that
 * this runtime or suite lacks → `core.alg.unsupported`.
 */
export async function choosePath(
  suite: SuiteId,
  impl: Implementation,
  nativeAvailable: () => Promise<boolean>,
  wasmAvailable?: () => Promise<boolean>,
): Promise<'native' | 'wasm' | 'portable'> {
  if (impl === 'portable') return 'portable';
  if (impl === 'wasm') {
    if (wasmAvailable === undefined) throw algUnsupported(suite, 'no WebAssembly implementation');
    if (!(await wasmAvailable()))
      throw algUnsupported(suite, 'the WebAssembly implementation does not load in this runtime');
    return 'wasm';
  }
  const has = await nativeAvailable();
  if (impl === 'native' && !has) throw algUnsupported(suite, 'no native implementation in this runtime');
  if (has) return 'native';
  return wasmAvailable !== undefined && (await wasmAvailable()) ? 'wasm' : 'portable';
}

/** `n` bytes from the caller's RandomSource (or the platform CSPRNG), length-checked. */
export function drawRandom(random: RandomSource | undefined, n: number): Uint8Array {
  const out = (random ?? platformRandom)(n);
  if (!isBytes(out) || out.length !== n) {
    throw new OmtError(
      'core.input.invalid',
      `random source returned ${isBytes(out) ? out.length : 'non-byte'} output, expected ${n} bytes`,
    );
  }
  return out;
}

/** Generation seed: the caller's (length-checked → `core.key.malformed`) or fresh randomness. */
export function readSeed(
  suite: SuiteId,
  options: { seed?: unknown; random?: RandomSource } | undefined,
  size: number,
): Uint8Array {
  if (options?.seed !== undefined) return requireKeyBytes(suite, 'seed', options.seed, [size]);
  return drawRandom(options?.random, size);
}
