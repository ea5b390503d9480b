/**
 * `signFileStream`: signs a large JPEG/PNG as a stream, in memory bounded by the chunk size and
 * a small head buffer, independent of the asset size.
 *
 * Pass 1 reads `source()` once: it keeps the head (the bytes before the store's insertion point,
 * JPEG: through the segments before SOS; PNG: signature + IHDR) and hashes every byte. Since the
 * store is inserted at a planned offset and the data hash excludes exactly its range (C2PA 2.x
 * §18.5), the hash of the embedded asset minus the exclusion is the hash of the original bytes.
 * The store is then laid out, sized and signed like `signAsset` does (placeholder-then-patch),
 * and `output()` streams head + store + the rest of a second read of `source()`.
 *
 * Assets that already carry a manifest store are refused (`signFile` on bytes removes it).
 *
 * @example
 * ```ts
 * import { signFileStream } from '@omt/c2pa/sign-stream';
 * // In Node, `source` can be `() => fs.createReadStream('big.jpg')`; in a browser, a File's stream().
 * const { output } = await signFileStream({
 *   source: () => file.stream(), mime: 'image/jpeg', key: signerKeyPem, chain: chainPem,
 * });
 * for await (const chunk of output()) out.write(chunk);
 * ```
 */
import { concatBytes, equalBytes, isBytes } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { hashStream } from '@omt/core/hash-stream';
import { parseInput } from '@omt/core/input';
import type { KeyMaterial } from '@omt/core/keys';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { isSuiteId } from '@omt/core/suites';
import * as z from 'zod/mini';
import { buildThumbnailAssertion } from './assertions/thumbnail.js';
import { createAssetRegistry } from './asset.js';
import type { AssetHandler, ByteRange } from './asset-handler.js';
import { padCoseSign1 } from './builder.js';
import { isTimestamper } from './claim-signature.js';
import type { TimestampAuthority } from './ports.js';
import {
  claimSignerFor,
  definitionAssertions,
  type ManifestDefinition,
  parseManifestDefinition,
  type SignFileOptions,
} from './sign.js';
import { type C2paSigner, isC2paSigner } from './signer.js';
import { callSigner, StoreAssembler, sameRanges, uuidV4 } from './store-assembly.js';

/** Options of {@link signFileStream}: `signFile`'s, with a re-readable source instead of bytes. */
export interface SignFileStreamOptions
  extends Omit<SignFileOptions, 'asset' | 'parent' | 'sidecar' | 'metadata' | 'thumbnail' | 'remoteUrl'> {
  /** Returns a fresh stream of the asset's bytes on each call (read twice: hash, then output). */
  readonly source: () => AsyncIterable<Uint8Array>;
  /** A claim thumbnail given as bytes (extracting one would need the whole asset). */
  readonly thumbnail?: { readonly mediaType: string; readonly data: Uint8Array };
  /** Bytes of the head kept to plan the store's place (default 1 MiB, at most 16 MiB). */
  readonly maxHeadBytes?: number;
}

export interface SignFileStreamResult {
  readonly manifestLabel: string;
  /** The signed asset, streamed from a second read of `source()`. */
  readonly output: () => AsyncIterable<Uint8Array>;
  /** Total length of the signed asset. */
  readonly length: number;
}

const bytesSchema = z.custom<Uint8Array>((v) => isBytes(v), 'must be a Uint8Array');
const Schema = z.strictObject({
  source: z.custom<() => AsyncIterable<Uint8Array>>((v) => typeof v === 'function', 'must be a function'),
  mime: z.string().check(z.minLength(1), z.maxLength(200)),
  suite: z.optional(z.string().check(z.refine((s) => isSuiteId(s), 'unknown signature suite'))),
  signer: z.optional(z.custom<C2paSigner>(isC2paSigner, 'must be a prepared C2paSigner')),
  key: z.optional(
    z.union([
      z.string().check(z.minLength(1), z.maxLength(1 << 20)),
      z.custom<KeyMaterial>(
        (v) => typeof v === 'object' && v !== null && typeof (v as KeyMaterial).suite === 'string',
      ),
    ]),
  ),
  chain: z.optional(
    z.union([z.string().check(z.minLength(1)), z.array(bytesSchema).check(z.minLength(1), z.maxLength(32))]),
  ),
  manifest: z.optional(z.unknown()),
  thumbnail: z.optional(z.object({ mediaType: z.string(), data: bytesSchema })),
  timestamp: z.optional(
    z.custom<TimestampAuthority | ((d: Uint8Array) => Promise<Uint8Array>)>(isTimestamper),
  ),
  clock: z.optional(z.custom<Clock>((v) => typeof v === 'function')),
  random: z.optional(z.custom<RandomSource>((v) => typeof v === 'function')),
  maxHeadBytes: z.optional(z.number().check(z.int(), z.minimum(64), z.maximum(16 << 20))),
});

function unsupported(message: string): OmtError {
  return new OmtError('c2pa.input.invalid', `signFileStream: ${message}`);
}

const PNG_IEND = /* @__PURE__ */ Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);

/**
 * A small stand-in asset the handler can embed into: the head up to the insertion point (JPEG:
 * the whole head, whose segments through SOS are complete; PNG: signature + IHDR + IEND).
 * Throws `c2pa.input.invalid` when the head is not plannable within the bound.
 */
function standIn(kind: 'jpeg' | 'png', head: Uint8Array, handler: AssetHandler): Uint8Array {
  if (!handler.detect(head)) throw unsupported(`the asset does not start like a ${kind.toUpperCase()}`);
  if (kind === 'jpeg') {
    let found: unknown;
    try {
      found = handler.findManifestStore(head);
    } catch (e) {
      if (!isOmtError(e, 'c2pa.asset.malformed')) throw e;
      throw unsupported('the JPEG header (segments before SOS) does not fit the head bound');
    }
    if (found !== undefined)
      throw unsupported('the asset already carries a manifest store; sign its bytes with signFile');
    return head;
  }
  // PNG: IHDR is the first chunk (PNG spec §5.6); the store goes right after it.
  if (head.length < 16 || String.fromCharCode(...head.subarray(12, 16)) !== 'IHDR')
    throw unsupported('the PNG does not start with an IHDR chunk');
  const end = 8 + 12 + new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(8);
  if (end > head.length) throw unsupported('the PNG IHDR chunk does not fit the head bound');
  return concatBytes(head.subarray(0, end), PNG_IEND);
}

/**
 * Watches PNG chunk headers across stream chunks (PNG spec §5.3) and refuses a `caBX` chunk
 * (C2PA 2.x §A.3.3) anywhere before IEND.
 */
class PngChunkWatch {
  private next = 8;
  private done = false;
  private readonly header = new Uint8Array(8);
  private have = 0;

  feed(chunk: Uint8Array, offset: number): void {
    let pos = offset;
    const end = offset + chunk.length;
    while (!this.done && pos < end) {
      if (pos < this.next) {
        pos = Math.min(end, this.next);
        continue;
      }
      const take = Math.min(8 - this.have, end - pos);
      this.header.set(chunk.subarray(pos - offset, pos - offset + take), this.have);
      this.have += take;
      pos += take;
      if (this.have < 8) break;
      const len = new DataView(this.header.buffer).getUint32(0);
      const type = String.fromCharCode(...this.header.subarray(4, 8));
      if (type === 'caBX')
        throw unsupported('the asset already carries a manifest store; sign its bytes with signFile');
      if (type === 'IEND') this.done = true;
      this.next += 12 + len;
      this.have = 0;
    }
  }
}

/**
 * Signs a JPEG or PNG streamed from `source()` with a C2PA manifest (as `signFile` does for
 * bytes, same manifest definition) in bounded memory. Throws `c2pa.input.invalid` for bad
 * options, options that need the whole asset (parent, sidecar, metadata, extracted thumbnail,
 * manifest ingredients, RSA keys), an asset that already carries a store, a head that is not
 * plannable within `maxHeadBytes`, or a source that changes between reads; `c2pa.asset.unsupported`
 * for other formats; `core.key.*`, `c2pa.signature.*` as `signFile`.
 *
 * @example
 * ```ts
 * const { output, manifestLabel } = await signFileStream({ source: () => chunks(), mime: 'image/png', key, chain });
 * ```
 */
export async function signFileStream(options: SignFileStreamOptions): Promise<SignFileStreamResult> {
  if (typeof options === 'object' && options !== null) {
    for (const k of ['asset', 'parent', 'sidecar', 'metadata', 'remoteUrl'] as const)
      if ((options as unknown as Record<string, unknown>)[k] !== undefined)
        throw unsupported(`option ${k} is not supported when streaming (use signFile)`);
  }
  const o = parseInput(Schema, options, 'c2pa.input.invalid', 'signFileStream options');
  const handler = createAssetRegistry().forMime(o.mime);
  const kind = handler.mimeTypes.includes('image/jpeg')
    ? 'jpeg'
    : handler.mimeTypes.includes('image/png')
      ? 'png'
      : undefined;
  if (kind === undefined) throw new OmtError('c2pa.asset.unsupported', 'signFileStream streams JPEG and PNG');
  const def: ManifestDefinition = o.manifest === undefined ? {} : parseManifestDefinition(o.manifest);
  const clock = o.clock ?? systemClock;
  const random = o.random ?? platformRandom;
  const suite = o.suite ?? o.signer?.suite ?? (typeof o.key === 'object' ? o.key.suite : undefined);
  if (suite !== undefined && /^PS\d+$/.test(suite))
    throw unsupported('RSA-PSS keys are signed through signFile only');
  if ((def.ingredients ?? []).length > 0) throw unsupported('manifest ingredients are not streamed');
  const signer = (
    await claimSignerFor(
      o.signer === undefined
        ? { suite, key: o.key, chain: o.chain }
        : { signer: o.signer, suite: o.suite, key: o.key, chain: o.chain },
      { ...(o.random ? { random: o.random } : {}), ...(o.timestamp ? { timestamp: o.timestamp } : {}) },
    )
  ).sign;
  const drafts = definitionAssertions(def, clock, false);
  if (o.thumbnail !== undefined) drafts.push(buildThumbnailAssertion(o.thumbnail));
  const labels = drafts.map((a) => a.label);
  if (new Set(labels).size !== labels.length || labels.includes('c2pa.hash.data'))
    throw new OmtError('c2pa.input.invalid', 'assertion labels must be unique and exclude c2pa.hash.data');
  const info = def.claim_generator_info;
  const generator = (Array.isArray(info) ? info[0] : info) ?? { name: 'OpenMediaTrust', version: '0.1.0' };

  // Pass 1: keep the head, hash everything (the original bytes are the asset minus the store).
  const maxHead = o.maxHeadBytes ?? 1 << 20;
  const headParts: Uint8Array[] = [];
  let headLength = 0;
  let total = 0;
  let detected = false;
  const watch = kind === 'png' ? new PngChunkWatch() : undefined;
  async function* firstRead(): AsyncGenerator<Uint8Array> {
    for await (const chunk of o.source()) {
      if (!isBytes(chunk)) throw new OmtError('c2pa.input.invalid', 'asset stream chunks must be Uint8Array');
      if (headLength < maxHead && chunk.length > 0) {
        const part = chunk.slice(0, maxHead - headLength);
        headParts.push(part);
        headLength += part.length;
      }
      if (!detected && headLength >= 16) {
        // Refuse another format before hashing all of it.
        if (!handler.detect(concatBytes(...headParts).subarray(0, 16)))
          throw unsupported(`the asset does not start like a ${kind?.toUpperCase()}`);
        detected = true;
      }
      watch?.feed(chunk, total);
      total += chunk.length;
      yield chunk;
    }
  }
  const digest = await hashStream('SHA-256', firstRead());
  const head = concatBytes(...headParts);
  headParts.length = 0;
  const stub = standIn(kind, head, handler);

  const label = `urn:c2pa:${uuidV4(random)}`;
  // The store as `signAsset` lays it out (one v2 manifest, no ingredients).
  const assembler = new StoreAssembler({
    label,
    instanceId: `xmp:iid:${uuidV4(random)}`,
    title: def.title,
    generator,
    carried: [],
    drafts,
  });
  const zeroHash = new Uint8Array(32);
  // 1. Reserve the signature size (one trial signature + 100, as signAsset measures it).
  const probe = assembler.build([{ start: 0, length: 0 }], zeroHash, new Uint8Array(0));
  const reserve = (await callSigner(signer, probe.claimBytes)).length + 100;
  const placeholder = new Uint8Array(reserve);
  // 2. Settle the layout on the stand-in: the exclusion values are inside the store.
  let ranges: readonly ByteRange[] = [{ start: 0, length: 0 }];
  let settled = false;
  for (let i = 0; i < 8 && !settled; i++) {
    const out = handler.embedManifestStore(stub, assembler.build(ranges, zeroHash, placeholder).store).ranges;
    settled = sameRanges(out, ranges);
    ranges = out;
  }
  if (!settled) throw new OmtError('c2pa.builder.unstable', 'the manifest layout did not settle');
  // 3. Fill in the hash and the signature; sizes are fixed, so the store keeps its range.
  const unsigned = assembler.build(ranges, digest, placeholder);
  const cose = padCoseSign1(await callSigner(signer, unsigned.claimBytes), reserve);
  const store = StoreAssembler.patchSignature(unsigned, reserve, cose);
  const embedded = handler.embedManifestStore(stub, store);
  const range = embedded.ranges[0] as ByteRange;
  if (embedded.ranges.length !== 1 || !sameRanges(embedded.ranges, ranges))
    throw new OmtError('c2pa.builder.unstable', 'the signed store moved');
  const prefix = embedded.asset.slice(0, range.start + range.length);
  const at = range.start;
  const headPrefix = head.slice(0, at);
  const originalLength = total;
  const source = o.source;

  async function* output(): AsyncGenerator<Uint8Array> {
    yield prefix;
    let offset = 0;
    for await (const chunk of source()) {
      if (!isBytes(chunk)) throw new OmtError('c2pa.input.invalid', 'asset stream chunks must be Uint8Array');
      const end = offset + chunk.length;
      if (offset < at) {
        // The head is re-read: it must be what was hashed and planned.
        const upto = Math.min(end, at);
        if (!equalBytes(chunk.subarray(0, upto - offset), headPrefix.subarray(offset, upto)))
          throw unsupported('the source changed between reads');
        if (end > at) yield chunk.subarray(at - offset);
      } else if (chunk.length > 0) yield chunk;
      offset = end;
    }
    if (offset !== originalLength) throw unsupported('the source changed between reads');
  }
  return { manifestLabel: label, output, length: originalLength + range.length };
}
