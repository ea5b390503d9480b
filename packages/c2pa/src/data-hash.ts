import { equalBytes, isBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import type { HashAlg } from '@omt/core/hash';
import { hashStream } from '@omt/core/hash-stream';
import type { ByteRange } from './asset-handler.js';
import { coreHashAlg } from './hash-alg.js';
import { absoluteUri } from './hashed-uri.js';
import type { Assertion, Manifest } from './manifest-store.js';
import { STATUS, type ValidationStatus } from './status-codes.js';

/**
 * `c2pa.hash.data` (C2PA 2.x §18.5): a hash over the asset's bytes minus exclusion ranges (the
 * manifest store's segments), computed streaming in bounded memory.
 */

/** A decoded `c2pa.hash.data` assertion. */
export interface DataHash {
  readonly alg: string | undefined;
  readonly hash: Uint8Array;
  readonly exclusions: readonly ByteRange[];
  readonly name: string | undefined;
  readonly pad: Uint8Array | undefined;
}

/** An asset to hash: whole bytes, or a stream of chunks. */
export type AssetSource = Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

function malformed(message: string): OmtError {
  return new OmtError('c2pa.assertion.malformed', message, { details: { status: STATUS.dataHashMalformed } });
}

/**
 * Reads a `c2pa.hash.data` value; throws `c2pa.assertion.malformed` (status `assertion.dataHash.malformed`).
 *
 * @example
 * ```ts
 * const dh = readDataHash(manifest.assertions.find((a) => a.baseLabel === 'c2pa.hash.data')!.value);
 * ```
 */
export function readDataHash(value: unknown): DataHash {
  if (!(value instanceof Map)) throw malformed('c2pa.hash.data is not a map');
  const hash: unknown = value.get('hash');
  const alg: unknown = value.get('alg');
  const name: unknown = value.get('name');
  const pad: unknown = value.get('pad');
  const ex: unknown = value.get('exclusions') ?? [];
  if (!isBytes(hash) || hash.length === 0) throw malformed('c2pa.hash.data needs a hash byte string');
  if (alg !== undefined && typeof alg !== 'string') throw malformed('alg must be text');
  if (name !== undefined && typeof name !== 'string') throw malformed('name must be text');
  if (pad !== undefined && !isBytes(pad)) throw malformed('pad must be a byte string');
  if (!Array.isArray(ex)) throw malformed('exclusions must be an array');
  const exclusions = ex.map((e: unknown) => {
    const start: unknown = e instanceof Map ? e.get('start') : undefined;
    const length: unknown = e instanceof Map ? e.get('length') : undefined;
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(length) ||
      (start as number) < 0 ||
      (length as number) < 0
    ) {
      throw malformed('an exclusion needs non-negative integer start and length');
    }
    return { start: start as number, length: length as number };
  });
  return { alg, hash, exclusions, name, pad };
}

/** Sorted, merged exclusions; overlapping input is accepted (§18.5 does not forbid it). */
function normalize(exclusions: readonly ByteRange[]): ByteRange[] {
  const sorted = [...exclusions].filter((e) => e.length > 0).sort((a, b) => a.start - b.start);
  const out: { start: number; length: number }[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && e.start <= last.start + last.length) {
      last.length = Math.max(last.length, e.start + e.length - last.start);
    } else out.push({ start: e.start, length: e.length });
  }
  return out;
}

/**
 * The chunks of `source`: views of whole bytes (large steps keep the per-chunk async overhead
 * negligible), a ReadableStream read through its reader, an async iterable as it is (no extra
 * generator layer per chunk).
 */
function chunksOf(source: AssetSource): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (isBytes(source)) {
    const step = 64 << 20;
    const views: Uint8Array[] = [];
    for (let i = 0; i < source.length; i += step) views.push(source.subarray(i, i + step));
    return views;
  }
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function')
    return readerChunks(source as ReadableStream<Uint8Array>);
  return source as AsyncIterable<Uint8Array>;
}

async function* readerChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Yields the bytes of `source` outside `exclusions`; records the total length seen. */
async function* included(
  source: AssetSource,
  exclusions: ByteRange[],
  total: { length: number },
): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let k = 0;
  for await (const chunk of chunksOf(source)) {
    if (!isBytes(chunk)) throw new OmtError('core.input.invalid', 'asset stream chunks must be Uint8Array');
    const end = offset + chunk.length;
    let pos = offset;
    while (pos < end) {
      const ex = exclusions[k];
      if (ex === undefined || ex.start >= end) {
        yield chunk.subarray(pos - offset);
        pos = end;
      } else if (pos < ex.start) {
        yield chunk.subarray(pos - offset, ex.start - offset);
        pos = ex.start;
      } else {
        const exEnd = ex.start + ex.length;
        if (exEnd <= end) {
          pos = Math.max(pos, exEnd);
          k++;
        } else pos = end;
      }
    }
    offset = end;
  }
  total.length = offset;
}

/**
 * Hashes an asset minus exclusion ranges, streaming (memory stays bounded for streams). Throws
 * `c2pa.assertion.malformed` when an exclusion reaches past the end of the asset.
 *
 * @example
 * ```ts
 * const digest = await hashWithExclusions('SHA-256', bytes, [{ start: 20, length: 45884 }]);
 * ```
 */
export async function hashWithExclusions(
  alg: HashAlg,
  source: AssetSource,
  exclusions: readonly ByteRange[],
): Promise<Uint8Array> {
  const norm = normalize(exclusions);
  const total = { length: 0 };
  const digest = await hashStream(alg, included(source, norm, total));
  const last = norm[norm.length - 1];
  if (last !== undefined && last.start + last.length > total.length) {
    throw malformed(`exclusion ${last.start}+${last.length} reaches past the asset's ${total.length} bytes`);
  }
  return digest;
}

/**
 * Verifies every `c2pa.hash.data` assertion of a manifest against the asset:
 * `assertion.dataHash.match`, `assertion.dataHash.mismatch`, `assertion.dataHash.malformed` or
 * `algorithm.unsupported`. Only the first source can be consumed when it is a stream, so a
 * manifest with several data hashes needs `Uint8Array` input.
 *
 * @example
 * ```ts
 * const statuses = await verifyDataHash(store.activeManifest, jpegBytes);
 * ```
 */
export async function verifyDataHash(manifest: Manifest, asset: AssetSource): Promise<ValidationStatus[]> {
  const out: ValidationStatus[] = [];
  const hashes = manifest.assertions.filter((a: Assertion) => a.baseLabel === 'c2pa.hash.data');
  for (const a of hashes) {
    const url = absoluteUri(manifest, `c2pa.assertions/${a.label}`);
    let dh: DataHash;
    try {
      dh = readDataHash(a.value);
    } catch (e) {
      out.push({
        code: STATUS.dataHashMalformed,
        url,
        explanation: e instanceof Error ? e.message : 'malformed',
      });
      continue;
    }
    const alg = coreHashAlg(dh.alg ?? manifest.claim.alg);
    if (alg === undefined) {
      out.push({ code: STATUS.algorithmUnsupported, url, explanation: `hash algorithm ${String(dh.alg)}` });
      continue;
    }
    try {
      const digest = await hashWithExclusions(alg, asset, dh.exclusions);
      out.push(
        equalBytes(digest, dh.hash)
          ? { code: STATUS.dataHashMatch, url, explanation: 'data hash valid' }
          : { code: STATUS.dataHashMismatch, url, explanation: 'asset hash differs from c2pa.hash.data' },
      );
    } catch (e) {
      if (e instanceof OmtError && e.code === 'c2pa.assertion.malformed') {
        out.push({ code: STATUS.dataHashMismatch, url, explanation: e.message });
      } else throw e;
    }
  }
  return out;
}
