import { isBytes } from './bytes.js';
import { OmtError } from './errors.js';
import {
  createHasher,
  describeType,
  type HashAlg,
  type HashImplementation,
  parseHashOptions,
  requireHashAlg,
} from './hash.js';

/** Options of {@link hashStream}. */
export interface HashStreamOptions {
  /** `auto` (default): node:crypto when present, else portable; `portable`: always noble; `native`: node:crypto or `core.alg.unsupported`. */
  implementation?: HashImplementation;
}

/** The part of node:crypto we use; typed locally so @omt/core never imports node types (browser-safe). */
interface NodeHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}
interface NodeCrypto {
  createHash(name: string): NodeHash;
  getHashes(): string[];
}

// OpenSSL names; BLAKE3 has none in node:crypto, so it is always portable.
const NODE_NAMES: Partial<Record<HashAlg, string>> = {
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA3-256': 'sha3-256',
};

let nodeCryptoCache: NodeCrypto | null | undefined;

/** node:crypto by feature detection only (no static import: @omt/core bundles for browsers). */
function nodeCrypto(): NodeCrypto | null {
  if (nodeCryptoCache !== undefined) return nodeCryptoCache;
  let found: NodeCrypto | null = null;
  try {
    // Unprefixed id: keeps a literal "node:…" out of browser bundles (scripts/check-browser-bundle.mjs).
    const mod = (
      globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
    ).process?.getBuiltinModule?.('crypto') as Partial<NodeCrypto> | undefined;
    if (mod && typeof mod.createHash === 'function' && typeof mod.getHashes === 'function')
      found = mod as NodeCrypto;
  } catch {
    found = null;
  }
  nodeCryptoCache = found;
  return found;
}

const nativeSupport = new Map<HashAlg, boolean>();

/**
 * True when `alg` can be streamed through the platform's native hashing (node:crypto).
 * Always false in browsers and for BLAKE3.
 *
 * @example
 * ```ts
 * if (!nativeHashAvailable('SHA3-256')) console.warn('portable SHA3 will be slower');
 * ```
 */
export function nativeHashAvailable(alg: HashAlg): boolean {
  const a = requireHashAlg(alg);
  const cached = nativeSupport.get(a);
  if (cached !== undefined) return cached;
  const name = NODE_NAMES[a];
  const nc = nodeCrypto();
  let ok = false;
  if (name !== undefined && nc !== null) {
    try {
      ok = nc.getHashes().includes(name);
    } catch {
      ok = false;
    }
  }
  nativeSupport.set(a, ok);
  return ok;
}

function nativeHasher(alg: HashAlg): { update(chunk: Uint8Array): void; digest(): Uint8Array } {
  const h = (nodeCrypto() as NodeCrypto).createHash(NODE_NAMES[alg] as string);
  return {
    update: (chunk) => {
      h.update(chunk);
    },
    // Copy out of the Buffer so callers get a plain Uint8Array with its own memory.
    digest: () => Uint8Array.from(h.digest()),
  };
}

function isReadableStream(v: unknown): v is ReadableStream<Uint8Array> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { getReader?: unknown }).getReader === 'function'
  );
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function badChunk(chunk: unknown, index: number): OmtError {
  return new OmtError(
    'core.input.invalid',
    `stream chunk ${index} is not a Uint8Array (got ${describeType(chunk)})`,
    {
      details: { chunk: index },
    },
  );
}

/**
 * Hashes a byte stream in bounded memory: each chunk is fed to the hash as it arrives and
 * never kept. Uses node:crypto when present (`auto`), otherwise the portable noble hashes;
 * both give identical digests. The source is consumed; on a bad chunk the source is
 * cancelled (ReadableStream) or closed (async iterator) and `core.input.invalid` is thrown.
 *
 * @example
 * ```ts
 * const digest = await hashStream('SHA-256', (await fetch(url)).body!);
 * ```
 */
export async function hashStream(
  alg: HashAlg,
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  opts?: HashStreamOptions,
): Promise<Uint8Array> {
  const a = requireHashAlg(alg);
  const impl = parseHashOptions(opts);
  const useNative = impl === 'native' || (impl === 'auto' && nativeHashAvailable(a));
  if (impl === 'native' && !nativeHashAvailable(a)) {
    throw new OmtError('core.alg.unsupported', `no native streaming implementation of ${a} on this platform`);
  }
  const h = useNative ? nativeHasher(a) : createHasher(a);

  let index = 0;
  if (isReadableStream(source)) {
    // getReader works in every browser; async iteration of ReadableStream does not (yet).
    const reader = source.getReader();
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        if (!isBytes(r.value)) {
          const err = badChunk(r.value, index);
          await reader.cancel(err).catch(() => undefined);
          throw err;
        }
        h.update(r.value);
        index++;
      }
    } finally {
      reader.releaseLock();
    }
  } else if (isAsyncIterable(source)) {
    // Throwing inside for-await calls the iterator's return(), closing the source.
    for await (const chunk of source) {
      if (!isBytes(chunk)) throw badChunk(chunk, index);
      h.update(chunk);
      index++;
    }
  } else {
    throw new OmtError(
      'core.input.invalid',
      `source must be an AsyncIterable<Uint8Array> or a ReadableStream<Uint8Array>, got ${describeType(source)}`,
    );
  }
  return h.digest();
}
