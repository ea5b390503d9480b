// Streaming: the bytes written do not depend on how the input is cut into chunks or on the engine
// (one that hands ciphertext and tag out apart, as node:crypto does, included); cancelling stops the
// source; a stream source is released once read.
import { webCryptoAead } from '@omt/kms/aead-web';
import { parseEnvelopeHeader } from '@omt/kms/envelope';
import { createKms } from '@omt/kms/kms';
import { MemoryKeyStore } from '@omt/kms/memory-key-store';
import { MemoryRootKeyProvider } from '@omt/kms/memory-root-key-provider';
import type { AeadEngine } from '@omt/kms/ports';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytes, codeOf, collect } from './setup.js';

/** The WebCrypto engine with `sealDetached`/`openDetached`: ciphertext and tag in separate buffers. */
const detachedEngine: AeadEngine = {
  ...webCryptoAead,
  name: 'webcrypto-detached',
  async sealDetached(key, iv, aad, plaintext) {
    const sealed = await webCryptoAead.seal(key, iv, aad, plaintext);
    return [sealed.slice(0, sealed.length - 16), sealed.slice(sealed.length - 16)];
  },
  async openDetached(key, iv, aad, ciphertext, tag) {
    const sealed = new Uint8Array(ciphertext.length + tag.length);
    sealed.set(ciphertext, 0);
    sealed.set(tag, ciphertext.length);
    return webCryptoAead.open(key, iv, aad, sealed);
  },
};

/** A KMS with deterministic randomness: the same calls write the same bytes. */
async function deterministicKms(aead: AeadEngine) {
  let x = 11;
  const random = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out[i] = x >>> 24;
    }
    return out;
  };
  const clock = (): Date => new Date('2026-01-02T03:04:05.678Z');
  const inst = createKms({
    rootKeys: new MemoryRootKeyProvider({ random, clock }),
    keyStore: new MemoryKeyStore(),
    random,
    clock,
    aead,
  });
  await inst.governance.createTenant({
    actor: 'ops',
    tenant: 'acme',
    services: ['media'],
    grants: [{ principal: 'app', service: '*', operations: ['encrypt', 'decrypt'] }],
  });
  return inst.kms;
}

function split(b: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0, i = 0; o < b.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length] ?? 1);
    out.push(b.subarray(o, o + n));
    o += n;
  }
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const o = { principal: 'app', tenant: 'acme', service: 'media', objectId: 'v' };

describe('streams: bytes independent of chunking and engine', () => {
  it('property: any input chunking (frame-aligned or not), either engine, gives the same envelope; any output chunking decrypts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (n, frameSize, inChunks, outChunks, aligned) => {
          const plain = bytes(n, n + 3);
          // Aligned: chunks that are whole multiples of the frame size (sealed in place).
          const sizes = aligned ? inChunks.map((c) => (1 + (c % 3)) * frameSize) : inChunks;
          const envs: string[] = [];
          for (const aead of [webCryptoAead, detachedEngine]) {
            const kms = await deterministicKms(aead);
            const whole = await collect(kms.encryptStream([plain], { ...o, frameSize }));
            const cut = await collect(kms.encryptStream(split(plain, sizes), { ...o, frameSize }));
            // The second envelope has its own randomness: compare the frames' layout and decrypt.
            expect(cut.length).toBe(whole.length);
            expect(parseEnvelopeHeader(cut).header.frameSize).toBe(frameSize);
            envs.push(hex(whole));
            for (const env of [whole, cut]) {
              const back = await collect(kms.decryptStream(split(env, outChunks), { principal: 'app' }));
              expect(hex(back)).toBe(hex(plain));
            }
          }
          expect(envs[1]).toBe(envs[0]);
          // Regular frames are full, the final one holds the rest (empty when the input ended on a
          // frame boundary): frame count = floor(n / frameSize) + 1.
          const env = Buffer.from(envs[0] as string, 'hex');
          const h = parseEnvelopeHeader(env).headerBytes.length;
          const frames = Math.floor(n / frameSize) + 1;
          expect(env.length).toBe(h + frames * 17 + 4 + n);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('with deterministic randomness the envelope does not depend on the input chunking', async () => {
    const plain = bytes(5000, 9);
    const frameSize = 512;
    const outs = new Set<string>();
    for (const sizes of [[5000], [1], [512], [1024, 7], [511, 513], [4096, 904]]) {
      const kms = await deterministicKms(detachedEngine);
      outs.add(hex(await collect(kms.encryptStream(split(plain, sizes), { ...o, frameSize }))));
    }
    expect(outs.size).toBe(1);
  });

  it('without frameSize a stream is cut into 1 MiB frames (the documented default): one regular frame, then the rest', async () => {
    const kms = await deterministicKms(webCryptoAead);
    const plain = bytes(1024 * 1024 + 3, 4);
    const env = await collect(kms.encryptStream([plain], o));
    const { header, headerBytes } = parseEnvelopeHeader(env);
    expect(header.frameSize).toBe(1024 * 1024);
    // header, one regular frame (kind byte, 1 MiB, tag), the final frame (kind, u32 length, 3 bytes, tag)
    expect(env.length).toBe(headerBytes.length + (1 + 1024 * 1024 + 16) + (1 + 4 + 3 + 16));
    expect(await collect(kms.decryptStream([env], { principal: 'app' }))).toEqual(plain);
  });
});

describe('streams: cancelling and releasing sources', () => {
  it('cancelling encryptStream returns the source iterator; nothing more is read', async () => {
    const kms = await deterministicKms(detachedEngine);
    let pulled = 0;
    let returned = false;
    const source = {
      [Symbol.asyncIterator]() {
        return {
          async next() {
            pulled++;
            return { done: false, value: bytes(1000, pulled) };
          },
          async return() {
            returned = true;
            return { done: true, value: undefined };
          },
        };
      },
    } as AsyncIterable<Uint8Array>;
    const reader = kms.encryptStream(source, { ...o, frameSize: 100 }).getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    await reader.cancel();
    expect(returned).toBe(true);
    const before = pulled;
    await new Promise((r) => setTimeout(r, 5));
    expect(pulled).toBe(before);
  });

  it('cancelling decryptStream releases its source stream; a fully read source is released too', async () => {
    const kms = await deterministicKms(detachedEngine);
    const env = await collect(kms.encryptStream([bytes(5000)], { ...o, frameSize: 100 }));
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of split(env, [333])) c.enqueue(p);
        c.close();
      },
    });
    const reader = kms.decryptStream(source, { principal: 'app' }).getReader();
    await reader.read();
    await reader.cancel();
    expect(source.locked).toBe(false);
    const full = new Blob([env as Uint8Array<ArrayBuffer>]).stream();
    expect((await collect(kms.decryptStream(full, { principal: 'app' }))).length).toBe(5000);
    expect(full.locked).toBe(false);
  });

  it('a stream that fails (a tampered frame) lets go of its source', async () => {
    const kms = await deterministicKms(detachedEngine);
    const env = await collect(kms.encryptStream([bytes(5000)], { ...o, frameSize: 100 }));
    const bad = env.slice();
    bad[bad.length - 300] = (bad[bad.length - 300] as number) ^ 1;
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of split(bad, [700])) c.enqueue(p);
        c.close();
      },
    });
    expect(await codeOf(collect(kms.decryptStream(source, { principal: 'app' })))).toBe(
      'kms.envelope.auth-failed',
    );
    expect(source.locked).toBe(false);
  });

  it('a source that yields a non-byte chunk fails with kms.input.invalid', async () => {
    const kms = await deterministicKms(detachedEngine);
    const bad = [bytes(10), 'x'] as unknown as Uint8Array[];
    expect(await codeOf(collect(kms.encryptStream(bad, { ...o, frameSize: 4 })))).toBe('kms.input.invalid');
    expect(await codeOf(collect(kms.decryptStream(bad, { principal: 'app' })))).toBe(
      'kms.envelope.malformed',
    );
    expect(await codeOf(collect(kms.encryptStream(42 as unknown as Uint8Array[], o)))).toBe(
      'kms.input.invalid',
    );
  });
});
