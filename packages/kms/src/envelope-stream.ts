/**
 * Framed streaming of envelopes (envelope.ts): plaintext in, frames out, and back, with memory
 * bounded by a frame whatever the file size. Works on `AsyncIterable<Uint8Array>` and on WHATWG
 * `ReadableStream<Uint8Array>` (read through `getReader()`, so browsers without async-iterable
 * streams work too).
 *
 * Decryption releases a frame's plaintext only after that frame *and the next one* authenticated
 * (memory: two frames); a stream cut short is detected when it ends without its final frame
 * (`kms.envelope.truncated`). Earlier frames may have been released by then — consumers must
 * treat the output as invalid when the stream errors, as with any streaming AEAD.
 */
import { OmtError } from '@omt/core/errors';
import {
  ENVELOPE_PREFIX_SIZE,
  type EnvelopeCipher,
  type EnvelopeHeader,
  FRAME_KIND,
  FRAME_TAG_SIZE,
  parseEnvelopeHeader,
  readEnvelopePrefix,
} from './envelope.js';

/** Byte input of the streaming functions. */
export type ByteSource = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> | Iterable<Uint8Array>;

function notBytes(): OmtError {
  return new OmtError('kms.input.invalid', 'stream chunks must be Uint8Array');
}

/**
 * Pulls the chunks of a {@link ByteSource} one at a time, straight from its reader or iterator (no
 * generator in between: at 64 KiB frames every hop per chunk shows). Refuses non-byte chunks with
 * `kms.input.invalid`.
 */
class ChunkPuller {
  readonly #next: () => Promise<Uint8Array | undefined> | Uint8Array | undefined;
  readonly #close: () => Promise<void> | void;

  constructor(source: ByteSource) {
    if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
      const reader = (source as ReadableStream<Uint8Array>).getReader();
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        reader.releaseLock();
      };
      this.#next = async () => {
        const { done, value } = await reader.read();
        if (done) {
          release();
          return undefined;
        }
        if (!(value instanceof Uint8Array)) throw notBytes();
        return value;
      };
      this.#close = release;
      return;
    }
    const asyncIt = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator];
    const syncIt = (source as Iterable<Uint8Array>)[Symbol.iterator];
    if (typeof asyncIt === 'function') {
      const it = asyncIt.call(source);
      this.#next = async () => {
        const r = await it.next();
        if (r.done) return undefined;
        if (!(r.value instanceof Uint8Array)) throw notBytes();
        return r.value;
      };
      this.#close = async () => {
        await it.return?.();
      };
    } else if (typeof syncIt === 'function') {
      const it = syncIt.call(source);
      this.#next = () => {
        const r = it.next();
        if (r.done) return undefined;
        if (!(r.value instanceof Uint8Array)) throw notBytes();
        return r.value;
      };
      this.#close = () => {
        it.return?.();
      };
    } else {
      throw new OmtError('kms.input.invalid', 'expected a ReadableStream or (async) iterable of Uint8Array');
    }
  }

  /** The next chunk, or undefined at the end. */
  next(): Promise<Uint8Array | undefined> | Uint8Array | undefined {
    return this.#next();
  }

  /** Stops the source (iterators are returned; a stream's reader is released). */
  async close(): Promise<void> {
    await this.#close();
  }
}

/** Iterates any {@link ByteSource}; refuses non-byte chunks with `kms.input.invalid`. */
export async function* iterateBytes(source: ByteSource): AsyncGenerator<Uint8Array> {
  const puller = new ChunkPuller(source);
  let finished = false;
  try {
    for (;;) {
      const chunk = await puller.next();
      if (chunk === undefined) {
        finished = true;
        return;
      }
      yield chunk;
    }
  } finally {
    if (!finished) await puller.close();
  }
}

const EMPTY = /* @__PURE__ */ new Uint8Array(0);

/** Reads exact byte counts from a chunked source, buffering at most one request. */
export class ByteReader {
  readonly #source: ChunkPuller;
  #buf: Uint8Array = EMPTY;
  #off = 0;
  #done = false;

  constructor(source: ByteSource) {
    this.#source = new ChunkPuller(source);
  }

  async #pull(): Promise<Uint8Array | undefined> {
    if (this.#done) return undefined;
    const c = await this.#source.next();
    if (c === undefined) this.#done = true;
    return c;
  }

  /**
   * `n` bytes when they are already buffered (a view, no copy, no wait), else undefined — then
   * {@link read} them.
   */
  readBuffered(n: number): Uint8Array | undefined {
    if (this.#buf.length - this.#off < n) return undefined;
    const out = this.#buf.subarray(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }

  /** Up to `n` bytes; fewer only at the end of the input. A view whenever one chunk holds them. */
  async read(n: number): Promise<Uint8Array> {
    return this.readNow(n);
  }

  /**
   * {@link read}, answered at once (no promise) when the bytes are buffered or the source hands
   * its next chunk over synchronously.
   */
  readNow(n: number): Uint8Array | Promise<Uint8Array> {
    const avail = this.#buf.length - this.#off;
    if (avail >= n) {
      const out = this.#buf.subarray(this.#off, this.#off + n);
      this.#off += n;
      return out;
    }
    // Nothing buffered and the next chunk holds the whole request (a frame written as its own
    // chunk, as encryptStream emits them): hand out a view of the chunk, no copy.
    if (avail === 0) {
      if (this.#done) return EMPTY;
      const c = this.#source.next();
      return c instanceof Promise ? c.then((x) => this.#took(x, n)) : this.#took(c, n);
    }
    return this.#gather(n, avail);
  }

  /** {@link readNow} once the next chunk `c` (undefined: the end) arrived on an empty buffer. */
  #took(c: Uint8Array | undefined, n: number): Uint8Array | Promise<Uint8Array> {
    if (c === undefined) {
      this.#done = true;
      return EMPTY;
    }
    this.#buf = c;
    this.#off = 0;
    if (c.length >= n) {
      this.#off = n;
      return c.subarray(0, n);
    }
    return this.readNow(n);
  }

  /** `n` bytes (fewer at the end) gathered from the `avail` buffered ones and the next chunks. */
  async #gather(n: number, avail: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    out.set(this.#buf.subarray(this.#off), 0);
    let filled = avail;
    this.#buf = EMPTY;
    this.#off = 0;
    while (filled < n) {
      const c = await this.#pull();
      if (c === undefined) break;
      const take = Math.min(n - filled, c.length);
      out.set(c.subarray(0, take), filled);
      filled += take;
      if (take < c.length) {
        this.#buf = c;
        this.#off = take;
      }
    }
    return filled === n ? out : out.subarray(0, filled);
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    while (this.#buf.length - this.#off === 0) {
      const c = await this.#pull();
      if (c === undefined) return true;
      this.#buf = c;
      this.#off = 0;
    }
    return false;
  }

  /** Stops the underlying source. */
  async cancel(): Promise<void> {
    this.#done = true;
    this.#buf = EMPTY;
    await this.#source.close();
  }
}

/** Reads and parses the header at the start of a stream. */
export async function readStreamHeader(
  reader: ByteReader,
): Promise<{ header: EnvelopeHeader; headerBytes: Uint8Array }> {
  const prefix = await reader.read(ENVELOPE_PREFIX_SIZE);
  if (prefix.length < ENVELOPE_PREFIX_SIZE) {
    throw new OmtError(
      prefix.length === 0 ? 'kms.envelope.malformed' : 'kms.envelope.truncated',
      'stream ends inside the envelope prefix',
    );
  }
  const len = readEnvelopePrefix(prefix);
  const rest = await reader.read(len);
  if (rest.length < len)
    throw new OmtError('kms.envelope.truncated', 'stream ends inside the envelope header');
  const whole = new Uint8Array(ENVELOPE_PREFIX_SIZE + len);
  whole.set(prefix, 0);
  whole.set(rest, ENVELOPE_PREFIX_SIZE);
  return parseEnvelopeHeader(whole);
}

/**
 * Cuts plaintext chunks into frames and seals them: regular frames of `frameSize`, then exactly one
 * final frame once the input ended, holding what is left (fewer than `frameSize` bytes, possibly
 * none). A full frame is therefore always regular and is sealed as soon as its bytes are there —
 * in place, straight from the chunk — and only the bytes a chunk leaves over (less than a frame)
 * wait, copied into one frame buffer, for the next chunk or the end.
 *
 * Output chunks: each frame's head, ciphertext and tag; with an engine that returns
 * `ciphertext ‖ tag` in one buffer (WebCrypto), that buffer whole. Nothing large is copied, and a
 * frame goes out whole (a reader in the same pipeline opens it while it is still in cache).
 *
 * @example
 * ```ts
 * const sealer = new FrameSealer(cipher);
 * for await (const chunk of file) for (const out of await sealer.push(chunk)) sink.write(out);
 * for (const out of await sealer.finish()) sink.write(out);
 * ```
 */
export class FrameSealer {
  readonly #cipher: EnvelopeCipher;
  readonly #fs: number;
  readonly #buf: Uint8Array;
  #fill = 0;
  #index = 0;

  constructor(cipher: EnvelopeCipher) {
    const fs = cipher.header.frameSize;
    if (fs <= 0) throw new OmtError('kms.input.invalid', 'streaming needs a frame size');
    this.#cipher = cipher;
    this.#fs = fs;
    this.#buf = new Uint8Array(fs);
  }

  async #seal(final: boolean, plaintext: Uint8Array, out: Uint8Array[]): Promise<void> {
    const parts = this.#cipher.sealFrameDetachedNow(this.#index++, final, plaintext);
    const [head, ct, tag] = parts instanceof Promise ? await parts : parts;
    out.push(head);
    if (ct.buffer === tag.buffer && ct.byteOffset + ct.length === tag.byteOffset) {
      out.push(new Uint8Array(ct.buffer, ct.byteOffset, ct.length + tag.length));
    } else out.push(ct, tag);
  }

  #chunk: Uint8Array = EMPTY;
  #off = 0;

  /** True when the input given so far has been taken in (then {@link feed} the next chunk). */
  get needsInput(): boolean {
    return this.#off >= this.#chunk.length;
  }

  /** Gives the next plaintext chunk (only when {@link needsInput}). */
  feed(chunk: Uint8Array): void {
    if (!this.needsInput) throw new OmtError('kms.input.invalid', 'the previous chunk is not taken in yet');
    this.#chunk = chunk;
    this.#off = 0;
  }

  /**
   * Seals the next frame the input completes and returns its output chunks, or undefined when more
   * input is needed. One frame at a time: its ciphertext is still in cache when a consumer
   * decrypting in the same pipeline opens it.
   */
  async next(): Promise<Uint8Array[] | undefined> {
    const fs = this.#fs;
    const chunk = this.#chunk;
    for (;;) {
      const out: Uint8Array[] = [];
      if (this.#fill === fs) {
        await this.#seal(false, this.#buf, out);
        this.#fill = 0;
        return out;
      }
      if (this.#off >= chunk.length) break;
      if (this.#fill === 0 && chunk.length - this.#off >= fs) {
        await this.#seal(false, chunk.subarray(this.#off, this.#off + fs), out);
        this.#off += fs;
        return out;
      }
      const take = Math.min(fs - this.#fill, chunk.length - this.#off);
      this.#buf.set(chunk.subarray(this.#off, this.#off + take), this.#fill);
      this.#fill += take;
      this.#off += take;
    }
    this.#chunk = EMPTY;
    this.#off = 0;
    return undefined;
  }

  /** Takes a whole plaintext chunk; returns the output chunks of every frame it completed. */
  async push(chunk: Uint8Array): Promise<Uint8Array[]> {
    this.feed(chunk);
    const out: Uint8Array[] = [];
    for (let frame = await this.next(); frame !== undefined; frame = await this.next()) out.push(...frame);
    return out;
  }

  /**
   * Seals what is left (less than a frame) as the final frame. Input that ended on a frame boundary
   * gets an empty final frame, so a regular frame can never be passed off as the last one.
   */
  async finish(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let f = await this.next(); f !== undefined; f = await this.next()) out.push(...f);
    await this.#seal(true, this.#buf.subarray(0, this.#fill), out);
    this.wipe();
    return out;
  }

  /** Zeroes the frame buffer (plaintext left over). */
  wipe(): void {
    this.#buf.fill(0);
    this.#fill = 0;
  }
}

/**
 * Seals a plaintext source into frames (regular frames of `frameSize`, then one final frame).
 *
 * @example
 * ```ts
 * for await (const frame of sealFrames(cipher, file)) out.write(frame);
 * ```
 */
export async function* sealFrames(cipher: EnvelopeCipher, source: ByteSource): AsyncGenerator<Uint8Array> {
  const sealer = new FrameSealer(cipher);
  try {
    for await (const chunk of iterateBytes(source)) yield* await sealer.push(chunk);
    yield* await sealer.finish();
  } finally {
    sealer.wipe();
  }
}

/**
 * Opens the frames that follow the header in a {@link ByteReader}, one per {@link next} call. A
 * frame's plaintext is released only after the *next* frame authenticated (one frame of
 * look-ahead), so a stream cut right after a regular frame releases nothing of that frame. Throws
 * `kms.envelope.truncated`, `.auth-failed`, `.malformed`, `.trailing-data`.
 *
 * @example
 * ```ts
 * const reader = new ByteReader(source);
 * const { header } = await readStreamHeader(reader);
 * const opener = new FrameOpener(cipherFor(header), reader);
 * for (let p = await opener.next(); p !== undefined; p = await opener.next()) sink.write(p);
 * ```
 */
export class FrameOpener {
  readonly #cipher: EnvelopeCipher;
  readonly #reader: ByteReader;
  readonly #fs: number;
  #index = 0;
  /** The last frame opened, held back until the next one authenticated. */
  #pending: Uint8Array | undefined;
  /** Authenticated plaintexts ready to be released. */
  readonly #ready: Uint8Array[] = [];
  #finished = false;

  constructor(cipher: EnvelopeCipher, reader: ByteReader) {
    this.#cipher = cipher;
    this.#reader = reader;
    this.#fs = cipher.header.frameSize;
  }

  #read(n: number): Uint8Array | Promise<Uint8Array> {
    return this.#reader.readBuffered(n) ?? this.#reader.readNow(n);
  }

  /** The next authenticated plaintext (never empty), or undefined once the final frame was released. */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const r = this.#ready.shift();
      if (r !== undefined) return r;
      if (this.#finished) return undefined;
      await this.#step();
    }
  }

  /** Opens one frame. */
  async #step(): Promise<void> {
    const fs = this.#fs;
    const index = this.#index++;
    const k = this.#read(1);
    const kind = k instanceof Promise ? await k : k;
    if (kind.length === 0) throw new OmtError('kms.envelope.truncated', 'stream ends before its final frame');
    if (kind[0] === FRAME_KIND.regular) {
      if (fs === 0) throw new OmtError('kms.envelope.malformed', 'a record envelope has only a final frame');
      const p = this.#open(index, false, fs);
      const plain = p instanceof Promise ? await p : p;
      if (this.#pending !== undefined) this.#ready.push(this.#pending);
      this.#pending = plain;
      return;
    }
    if (kind[0] === FRAME_KIND.final) {
      const l = this.#read(4);
      const lenBytes = l instanceof Promise ? await l : l;
      if (lenBytes.length < 4) throw new OmtError('kms.envelope.truncated', 'final frame is cut short');
      const len = new DataView(lenBytes.buffer, lenBytes.byteOffset, 4).getUint32(0);
      if (fs !== 0 && len > fs)
        throw new OmtError('kms.envelope.malformed', 'final frame longer than frameSize');
      if (fs === 0 && len > 256 * 1024 * 1024) {
        throw new OmtError('kms.envelope.malformed', 'record too large to stream (use a framed envelope)');
      }
      const p = this.#open(index, true, len);
      const plain = p instanceof Promise ? await p : p;
      if (!(await this.#reader.atEnd()))
        throw new OmtError('kms.envelope.trailing-data', 'bytes follow the final frame');
      this.#finished = true;
      if (this.#pending !== undefined) this.#ready.push(this.#pending);
      this.#pending = undefined;
      if (plain.length > 0) this.#ready.push(plain);
      return;
    }
    throw new OmtError('kms.envelope.malformed', `unknown frame kind at frame ${index}`);
  }

  /** Reads frame `index`'s ciphertext (`len` bytes) and tag and opens them (at once when it can). */
  #open(index: number, final: boolean, len: number): Uint8Array | Promise<Uint8Array> {
    const ct = this.#read(len);
    return ct instanceof Promise
      ? ct.then((c) => this.#openTagged(index, final, len, c))
      : this.#openTagged(index, final, len, ct);
  }

  #openTagged(index: number, final: boolean, len: number, ct: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const cut = (): never => {
      throw new OmtError(
        'kms.envelope.truncated',
        final ? 'final frame is cut short' : `frame ${index} is cut short`,
      );
    };
    if (ct.length !== len) cut();
    const tag = this.#read(FRAME_TAG_SIZE);
    const open = (t: Uint8Array): Uint8Array | Promise<Uint8Array> =>
      t.length < FRAME_TAG_SIZE ? cut() : this.#cipher.openFrameDetachedNow(index, final, ct, t);
    return tag instanceof Promise ? tag.then(open) : open(tag);
  }
}

/**
 * Opens the frames that follow the header in `reader`, yielding each frame's plaintext once it
 * authenticated (see {@link FrameOpener}).
 */
export async function* openFrames(cipher: EnvelopeCipher, reader: ByteReader): AsyncGenerator<Uint8Array> {
  const opener = new FrameOpener(cipher, reader);
  for (;;) {
    const plain = await opener.next();
    if (plain === undefined) return;
    yield plain;
  }
}

/**
 * A `ReadableStream` that calls `pull` each time the consumer wants more (back-pressure: nothing
 * is produced before the consumer asks) and enqueues every chunk it returns at once — a frame's
 * parts, or the frames one input chunk completed — so the consumer reads them from the queue
 * without a round of pulls per part. `pull` returns undefined at the end; `cancel` runs when the
 * consumer cancels, and when `pull` fails (to let go of the source) before the error reaches the
 * consumer.
 *
 * @example
 * ```ts
 * let n = 0;
 * const stream = pullStream(async () => (n++ < 3 ? [new Uint8Array([n])] : undefined), async () => {});
 * ```
 */
export function pullStream(
  pull: () => Promise<readonly Uint8Array[] | undefined>,
  cancel: () => Promise<void>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunks = await pull();
          if (chunks === undefined) controller.close();
          else for (const c of chunks) controller.enqueue(c);
        } catch (e) {
          await cancel().catch(() => undefined);
          controller.error(e);
        }
      },
      cancel,
    },
    { highWaterMark: 0 },
  );
}

/**
 * Turns an async generator into a `ReadableStream` that pulls one item at a time (back-pressure:
 * nothing is produced before the consumer asks).
 */
export function toReadableStream(gen: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return pullStream(
    async () => {
      const r = await gen.next();
      return r.done ? undefined : [r.value];
    },
    async () => {
      await gen.return(undefined);
    },
  );
}

/**
 * The frames of `source` sealed by `cipher`, one frame's output chunks per pull (the final frame
 * last). For {@link pullStream}.
 *
 * @example
 * ```ts
 * const frames = sealedChunks(cipher, file.stream());
 * const body = pullStream(frames.pull, frames.cancel);
 * ```
 */
export function sealedChunks(
  cipher: EnvelopeCipher,
  source: ByteSource,
): { pull: () => Promise<Uint8Array[] | undefined>; cancel: () => Promise<void> } {
  const sealer = new FrameSealer(cipher);
  const input = new ChunkPuller(source);
  let done = false;
  return {
    async pull() {
      if (done) return undefined;
      try {
        for (;;) {
          const out = await sealer.next();
          if (out !== undefined) return out;
          const chunk = await input.next();
          if (chunk === undefined) {
            done = true;
            return await sealer.finish();
          }
          sealer.feed(chunk);
        }
      } catch (e) {
        done = true;
        sealer.wipe();
        await input.close().catch(() => undefined);
        throw e;
      }
    },
    async cancel() {
      if (done) return;
      done = true;
      sealer.wipe();
      await input.close();
    },
  };
}
