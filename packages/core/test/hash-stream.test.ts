import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { HASH_ALGS, type HashAlg, hash } from '@omt/core/hash';
import { hashStream, nativeHashAvailable } from '@omt/core/hash-stream';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const NODE: Record<Exclude<HashAlg, 'BLAKE3'>, string> = {
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA3-256': 'sha3-256',
};

async function* chunksOf(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let o = 0;
  for (const s of sizes) {
    const end = Math.min(data.length, o + s);
    yield data.subarray(o, end);
    o = end;
  }
  yield data.subarray(o);
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `non-omt: ${String(e)}`;
  }
  return undefined;
}

const impls = ['auto', 'portable', 'native'] as const;

describe('hashStream: known answers', () => {
  // FIPS 180-2 ("abc"), FIPS 202 SHA3-256("abc"), BLAKE3 empty input (test_vectors.json).
  const KAT: [HashAlg, string, string][] = [
    ['SHA-256', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['SHA-256', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [
      'SHA-384',
      'abc',
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    ],
    [
      'SHA-512',
      'abc',
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
    ['SHA3-256', 'abc', '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532'],
    ['SHA3-256', '', 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a'],
    ['BLAKE3', '', 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  ];
  for (const [alg, msg, want] of KAT) {
    it(`${alg}(${JSON.stringify(msg)}) on every available implementation`, async () => {
      for (const implementation of impls) {
        if (implementation === 'native' && !nativeHashAvailable(alg)) continue;
        const bytes = utf8(msg);
        expect(toHex(await hashStream(alg, chunksOf(bytes, [1, 1]), { implementation }))).toBe(want);
        expect(toHex(await hashStream(alg, chunksOf(bytes, []), { implementation }))).toBe(want);
      }
    });
  }

  // BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: input[i] = i % 251; first 32 bytes of "hash".
  const BLAKE3_VECTORS: [number, string][] = [
    [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
    [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
    [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
    [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
    [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
    [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
    [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
    [3073, '7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3'],
    [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
    [5121, '628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff'],
  ];
  it('BLAKE3 official vectors, streamed with assorted chunkings', async () => {
    for (const [len, want] of BLAKE3_VECTORS) {
      const input = Uint8Array.from({ length: len }, (_, i) => i % 251);
      expect(toHex(hash('BLAKE3', input))).toBe(want);
      for (const sizes of [[], [1], [64, 960, 1], [1023, 2], [100, 100, 100, 1000, 7]]) {
        expect(toHex(await hashStream('BLAKE3', chunksOf(input, sizes)))).toBe(want);
      }
    }
  });
});

describe('hashStream: portable and native agree with each other and node:crypto', () => {
  it('random inputs and random chunkings (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...HASH_ALGS),
        fc.uint8Array({ maxLength: 5000 }),
        fc.array(fc.nat({ max: 1500 }), { maxLength: 10 }),
        async (alg, data, sizes) => {
          const portable = await hashStream(alg, chunksOf(data, sizes), { implementation: 'portable' });
          const auto = await hashStream(alg, chunksOf(data, sizes));
          expect(portable).toEqual(hash(alg, data));
          expect(auto).toEqual(portable);
          expect(auto).toBeInstanceOf(Uint8Array);
          expect(Buffer.isBuffer(auto)).toBe(false);
          if (alg !== 'BLAKE3') {
            expect(nativeHashAvailable(alg)).toBe(true);
            const native = await hashStream(alg, chunksOf(data, sizes), { implementation: 'native' });
            expect(native).toEqual(portable);
            expect(native).toEqual(new Uint8Array(createHash(NODE[alg]).update(data).digest()));
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('ReadableStream input (both implementations)', async () => {
    const data = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) & 0xff);
    const want = new Uint8Array(createHash('sha256').update(data).digest());
    for (const implementation of ['portable', 'native'] as const) {
      let o = 0;
      const rs = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (o >= data.length) {
            controller.close();
            return;
          }
          controller.enqueue(data.slice(o, o + 4099));
          o += 4099;
        },
      });
      expect(await hashStream('SHA-256', rs, { implementation })).toEqual(want);
    }
  });

  it('Node Readable (AsyncIterable of Buffers) and a Blob stream', async () => {
    const data = utf8('The quick brown fox jumps over the lazy dog');
    const want = new Uint8Array(createHash('sha512').update(data).digest());
    const readable = Readable.from([Buffer.from(data.subarray(0, 10)), Buffer.from(data.subarray(10))]);
    expect(await hashStream('SHA-512', readable)).toEqual(want);
    expect(
      await hashStream('SHA-512', new Blob([data as Uint8Array<ArrayBuffer>]).stream(), {
        implementation: 'portable',
      }),
    ).toEqual(want);
  });
});

describe('hashStream: bad input', () => {
  it('a non-Uint8Array chunk gives core.input.invalid and closes the source', async () => {
    let closed = false;
    async function* gen(): AsyncGenerator<unknown> {
      try {
        yield utf8('ok');
        yield 'not bytes';
        yield utf8('never read');
      } finally {
        closed = true;
      }
    }
    expect(await code(hashStream('SHA-256', gen() as AsyncIterable<Uint8Array>))).toBe('core.input.invalid');
    expect(closed).toBe(true);

    let cancelled: unknown;
    const rs = new ReadableStream<unknown>({
      start(c) {
        c.enqueue(new Uint8Array(2));
        c.enqueue([1, 2, 3]);
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    expect(
      await code(hashStream('SHA-256', rs as ReadableStream<Uint8Array>, { implementation: 'portable' })),
    ).toBe('core.input.invalid');
    expect(isOmtError(cancelled, 'core.input.invalid')).toBe(true);

    for (const bad of [new Uint16Array(2), new ArrayBuffer(4), null, 7]) {
      const src = (async function* () {
        yield bad;
      })();
      expect(await code(hashStream('SHA-384', src as AsyncIterable<Uint8Array>))).toBe('core.input.invalid');
    }
  });

  it('a source that is not a stream gives core.input.invalid', async () => {
    for (const bad of [new Uint8Array(3), [new Uint8Array(3)], 'abc', null, undefined, {}]) {
      expect(await code(hashStream('SHA-256', bad as unknown as AsyncIterable<Uint8Array>))).toBe(
        'core.input.invalid',
      );
    }
  });

  it('unknown algorithms, native BLAKE3 and bad options', async () => {
    const empty = (async function* () {})();
    expect(await code(hashStream('MD5' as HashAlg, empty))).toBe('core.alg.unsupported');
    expect(nativeHashAvailable('BLAKE3')).toBe(false);
    expect(
      await code(hashStream('BLAKE3', chunksOf(new Uint8Array(1), []), { implementation: 'native' })),
    ).toBe('core.alg.unsupported');
    expect(
      await code(
        hashStream('SHA-256', chunksOf(new Uint8Array(1), []), { implementation: 'turbo' as 'auto' }),
      ),
    ).toBe('core.input.invalid');
    expect(() => nativeHashAvailable('sha1' as HashAlg)).toThrow(/unsupported hash algorithm/);
  });

  it('an error from the source propagates unchanged', async () => {
    const boom = new Error('disk gone');
    const src = (async function* () {
      yield new Uint8Array(1);
      throw boom;
    })();
    await expect(hashStream('SHA-256', src)).rejects.toBe(boom);
  });
});

describe('hashStream: without node:crypto (browser-like)', () => {
  it('feature detection falls back to portable; native is refused', async () => {
    const proc = process as { getBuiltinModule?: unknown };
    const saved = proc.getBuiltinModule;
    vi.resetModules();
    proc.getBuiltinModule = undefined;
    try {
      const mod = await import('@omt/core/hash-stream');
      expect(mod.nativeHashAvailable('SHA-256')).toBe(false);
      const data = utf8('abc');
      expect(toHex(await mod.hashStream('SHA-256', chunksOf(data, [1])))).toBe(
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      // A fresh module graph has its own OmtError class, so check name and code instead of instanceof.
      await expect(
        mod.hashStream('SHA-256', chunksOf(data, []), { implementation: 'native' }),
      ).rejects.toMatchObject({
        name: 'OmtError',
        code: 'core.alg.unsupported',
      });
    } finally {
      proc.getBuiltinModule = saved;
      vi.resetModules();
    }
  });
});

/** 1 MiB chunks of deterministic pseudo-random bytes (xorshift32), generated on demand, never retained. */
async function* lazyChunks(totalMiB: number, onChunk?: () => void): AsyncGenerator<Uint8Array> {
  let x = 0x9e3779b9;
  for (let c = 0; c < totalMiB; c++) {
    const chunk = new Uint8Array(1 << 20);
    const words = new Uint32Array(chunk.buffer);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    yield chunk;
    onChunk?.();
  }
}

describe('hashStream: large input in bounded memory', () => {
  // 128 MiB so that an implementation that kept the chunks (≥ 80 MiB measured growth) cannot pass;
  // the reference pass runs first and warms the GC up, so the generator's own garbage (fresh 1 MiB
  // chunks) does not count against us.
  it('128 MiB lazy stream: digest matches node:crypto and RSS grows < 50 MiB', async () => {
    const MiB = 128;
    const ref = createHash('sha256');
    for await (const c of lazyChunks(MiB)) ref.update(c);
    const want = new Uint8Array(ref.digest());

    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const got = await hashStream('SHA-256', lazyChunks(MiB, sample));
    sample();
    expect(got).toEqual(want);
    expect((peak - before) / 2 ** 20).toBeLessThan(50);
  });
});
