/**
 * Framed streaming of envelopes (envelope.ts): plaintext in, frames out, and back, with memory
 * bounded by one frame whatever the file size. Works on `AsyncIterable<Uint8Array>` and on WHATWG
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

/** Iterates any {@link ByteSource}; refuses non-byte chunks with `kms.input.invalid`. */
export async function* iterateBytes(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        if (!(value instanceof Uint8Array))
          throw new OmtError('kms.input.invalid', 'stream chunks must be Uint8Array');
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (
    typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function' &&
    typeof (source as Iterable<Uint8Array>)[Symbol.iterator] !== 'function'
  ) {
    throw new OmtError('kms.input.invalid', 'expected a ReadableStream or (async) iterable of Uint8Array');
  }
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    if (!(chunk instanceof Uint8Array))
      throw new OmtError('kms.input.invalid', 'stream chunks must be Uint8Array');
    yield chunk;
  }
}

/** Reads exact byte counts from a chunked source, buffering at most one request. */
export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #off = 0;
  #done = false;

  constructor(source: ByteSource) {
    this.#it = iterateBytes(source)[Symbol.asyncIterator]();
  }

  /** Up to `n` bytes; fewer only at the end of the input. */
  async read(n: number): Promise<Uint8Array> {
    const avail = this.#buf.length - this.#off;
    if (avail >= n) {
      const out = this.#buf.subarray(this.#off, this.#off + n);
      this.#off += n;
      return out;
    }
    // Nothing buffered and the next chunk holds the whole request (a frame written as its own
    // chunk, as encryptStream emits them): hand out a view of the chunk, no copy.
    if (avail === 0 && !this.#done) {
      const r = await this.#it.next();
      if (r.done) {
        this.#done = true;
        return new Uint8Array(0);
      }
      if (r.value.length >= n) {
        this.#buf = r.value;
        this.#off = n;
        return r.value.subarray(0, n);
      }
      this.#buf = r.value;
      this.#off = 0;
      return this.read(n);
    }
    const out = new Uint8Array(n);
    out.set(this.#buf.subarray(this.#off), 0);
    let filled = avail;
    this.#buf = new Uint8Array(0);
    this.#off = 0;
    while (filled < n && !this.#done) {
      const r = await this.#it.next();
      if (r.done) {
        this.#done = true;
        break;
      }
      const take = Math.min(n - filled, r.value.length);
      out.set(r.value.subarray(0, take), filled);
      filled += take;
      if (take < r.value.length) {
        this.#buf = r.value;
        this.#off = take;
      }
    }
    return filled === n ? out : out.subarray(0, filled);
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    while (this.#buf.length - this.#off === 0) {
      if (this.#done) return true;
      const r = await this.#it.next();
      if (r.done) {
        this.#done = true;
        return true;
      }
      this.#buf = r.value;
      this.#off = 0;
    }
    return false;
  }

  /** Stops the underlying source. */
  async cancel(): Promise<void> {
    await this.#it.return?.();
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
 * Seals a plaintext source into frames (regular frames of `frameSize`, then one final frame).
 *
 * @example
 * ```ts
 * for await (const frame of sealFrames(cipher, file)) out.write(frame);
 * ```
 */
export async function* sealFrames(cipher: EnvelopeCipher, source: ByteSource): AsyncGenerator<Uint8Array> {
  const fs = cipher.header.frameSize;
  if (fs <= 0) throw new OmtError('kms.input.invalid', 'streaming needs a frame size');
  const buf = new Uint8Array(fs);
  let fill = 0;
  let index = 0;
  for await (const chunk of iterateBytes(source)) {
    let off = 0;
    while (off < chunk.length) {
      if (fill === fs) {
        yield* await cipher.sealFrameParts(index++, false, buf);
        fill = 0;
      }
      // Whole frames inside the chunk are sealed in place (no copy), except the chunk's last
      // bytes, which wait in the buffer: only the end of the input decides which frame is final.
      if (fill === 0 && chunk.length - off > fs) {
        yield* await cipher.sealFrameParts(index++, false, chunk.subarray(off, off + fs));
        off += fs;
        continue;
      }
      const take = Math.min(fs - fill, chunk.length - off);
      buf.set(chunk.subarray(off, off + take), fill);
      fill += take;
      off += take;
    }
  }
  // A full buffer at the end becomes a regular frame followed by an empty final frame, so a
  // regular frame can never be passed off as the last one.
  if (fill === fs) {
    yield* await cipher.sealFrameParts(index++, false, buf);
    fill = 0;
  }
  yield* await cipher.sealFrameParts(index, true, buf.subarray(0, fill));
  buf.fill(0);
}

/**
 * Opens the frames that follow the header in `reader`, yielding each frame's plaintext once it
 * authenticated. Throws `kms.envelope.truncated`, `.auth-failed`, `.malformed`, `.trailing-data`.
 */
export async function* openFrames(cipher: EnvelopeCipher, reader: ByteReader): AsyncGenerator<Uint8Array> {
  const fs = cipher.header.frameSize;
  // One frame of look-ahead: a frame's plaintext is released only after the *next* frame
  // authenticated, so a stream cut right after a regular frame releases nothing of that frame.
  let pending: Uint8Array | undefined;
  for (let index = 0; ; index++) {
    const kind = await reader.read(1);
    if (kind.length === 0) throw new OmtError('kms.envelope.truncated', 'stream ends before its final frame');
    if (kind[0] === FRAME_KIND.regular) {
      if (fs === 0) throw new OmtError('kms.envelope.malformed', 'a record envelope has only a final frame');
      const sealed = await reader.read(fs + FRAME_TAG_SIZE);
      if (sealed.length < fs + FRAME_TAG_SIZE)
        throw new OmtError('kms.envelope.truncated', `frame ${index} is cut short`);
      const plain = await cipher.openFrame(index, false, sealed);
      if (pending !== undefined) yield pending;
      pending = plain;
    } else if (kind[0] === FRAME_KIND.final) {
      const lenBytes = await reader.read(4);
      if (lenBytes.length < 4) throw new OmtError('kms.envelope.truncated', 'final frame is cut short');
      const len = new DataView(lenBytes.buffer, lenBytes.byteOffset, 4).getUint32(0);
      if (fs !== 0 && len > fs)
        throw new OmtError('kms.envelope.malformed', 'final frame longer than frameSize');
      if (fs === 0 && len > 256 * 1024 * 1024) {
        throw new OmtError('kms.envelope.malformed', 'record too large to stream (use a framed envelope)');
      }
      const sealed = await reader.read(len + FRAME_TAG_SIZE);
      if (sealed.length < len + FRAME_TAG_SIZE)
        throw new OmtError('kms.envelope.truncated', 'final frame is cut short');
      const plain = await cipher.openFrame(index, true, sealed);
      if (!(await reader.atEnd()))
        throw new OmtError('kms.envelope.trailing-data', 'bytes follow the final frame');
      if (pending !== undefined) yield pending;
      if (plain.length > 0) yield plain;
      return;
    } else {
      throw new OmtError('kms.envelope.malformed', `unknown frame kind at frame ${index}`);
    }
  }
}

/**
 * Turns an async generator into a `ReadableStream` that pulls one item at a time (back-pressure:
 * nothing is produced before the consumer asks).
 */
export function toReadableStream(gen: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const r = await gen.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          controller.error(e);
        }
      },
      async cancel() {
        await gen.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
