import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createAssetRegistry } from '@omt/c2pa/asset';
import { readManifestStore } from '@omt/c2pa/manifest-store';
import { createTestPki, type SingleTestPki } from '@omt/c2pa/pki';
import { createC2paSigner, signFile } from '@omt/c2pa/sign';
import { signFileStream } from '@omt/c2pa/sign-stream';
import { validateAsset } from '@omt/c2pa/validate';
import { concatBytes } from '@omt/core/bytes';
import { beforeAll, describe, expect, it } from 'vitest';
import { officialReader } from './official-reader.js';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

/** A re-readable source of `bytes` in chunks of `size` bytes. */
function chunked(bytes: Uint8Array, size: number): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return concatBytes(...parts);
}

let pki: SingleTestPki;
beforeAll(async () => {
  pki = (await createTestPki({ suite: 'ES256' })) as SingleTestPki;
});

const fixedClock = () => new Date('2026-01-02T03:04:05Z');
const fixedRandom = (n: number) => new Uint8Array(n).fill(0x5a);

describe('signFileStream', () => {
  for (const suite of ['Ed25519', 'ES256'] as const) {
    for (const [file, mime] of [
      ['no_manifest.jpg', 'image/jpeg'],
      ['sample1.png', 'image/png'],
    ] as const) {
      it(`${suite} ${file}: streamed output matches signFile's; Valid for us and the official reader`, async () => {
        const keys = suite === 'ES256' ? pki : ((await createTestPki({ suite })) as SingleTestPki);
        const asset = td(file);
        const common = {
          mime,
          key: keys.files['signer.key.pem'],
          chain: keys.files['chain.pem'],
          clock: fixedClock,
          random: fixedRandom,
          manifest: {
            title: file,
            assertions: [{ label: 'com.example.workflow', data: { step: 'ingest' } }],
          },
        };
        const bytes = (await signFile({ asset, ...common })).asset as Uint8Array;
        // Small chunks: the head and the IHDR straddle chunk boundaries.
        const streamed = await signFileStream({ source: chunked(asset, 1000), ...common });
        const out = await collect(streamed.output());
        expect(out.length).toBe(streamed.length);
        if (suite === 'Ed25519') {
          // Deterministic signatures: the whole file is the same.
          expect(out).toEqual(bytes);
          // A prepared signer (createC2paSigner) signs the very same bytes, streamed or not.
          const { key, chain, ...rest } = common;
          const signer = await createC2paSigner({ key, chain });
          expect((await signFile({ asset, ...rest, signer })).asset).toEqual(bytes);
          const viaSigner = await signFileStream({ source: chunked(asset, 1000), ...rest, signer });
          expect(await collect(viaSigner.output())).toEqual(bytes);
        } else {
          // ECDSA signatures are randomized: the same layout, the same bytes outside the store.
          expect(out.length).toBe(bytes.length);
          const found = createAssetRegistry().forMime(mime).findManifestStore(out);
          const [range] = found?.ranges ?? [];
          expect(found?.ranges).toHaveLength(1);
          const { start, length } = range as { start: number; length: number };
          expect(out.subarray(0, start)).toEqual(bytes.subarray(0, start));
          expect(out.subarray(start + length)).toEqual(bytes.subarray(start + length));
        }
        expect(streamed.manifestLabel).toBe(readManifestStore(bytes, mime).activeManifest.label);
        // A second read gives the same bytes.
        expect(await collect(streamed.output())).toEqual(out);
        const ours = await validateAsset({ stream: streamed.output }, mime);
        expect(ours.state).toBe('Valid');
        expect(ours.failureCodes).toEqual(['signingCredential.untrusted']);
        expect(ours.activeManifest).toBe(streamed.manifestLabel);
        const o = await officialReader(mime, out);
        expect(o.state).toBe('Valid');
        expect(o.codes).toEqual(['signingCredential.untrusted']);
      });
    }
  }

  it('refuses assets with a manifest, unplannable heads, unsupported options and changed sources', async () => {
    const opts = { key: pki.files['signer.key.pem'], chain: pki.files['chain.pem'] };
    const jpeg = td('no_manifest.jpg');
    const png = td('sample1.png');
    const signedJpeg = (await signFile({ asset: jpeg, mime: 'image/jpeg', ...opts })).asset as Uint8Array;
    const signedPng = (await signFile({ asset: png, mime: 'image/png', ...opts })).asset as Uint8Array;
    expect(readManifestStore(signedPng, 'image/png').bytes.length).toBeGreaterThan(0);
    const refused = { code: 'c2pa.input.invalid' };
    await expect(
      signFileStream({ source: chunked(signedJpeg, 4096), mime: 'image/jpeg', ...opts }),
    ).rejects.toMatchObject(refused);
    await expect(
      signFileStream({ source: chunked(signedPng, 7), mime: 'image/png', ...opts }),
    ).rejects.toMatchObject(refused);
    // The JPEG header does not fit in a 64-byte head.
    await expect(
      signFileStream({ source: chunked(jpeg, 4096), mime: 'image/jpeg', maxHeadBytes: 64, ...opts }),
    ).rejects.toMatchObject(refused);
    await expect(
      signFileStream({ source: chunked(png, 4096), mime: 'image/jpeg', ...opts }),
    ).rejects.toMatchObject(refused);
    await expect(
      signFileStream({ source: chunked(jpeg, 4096), mime: 'text/plain', ...opts }),
    ).rejects.toMatchObject({ code: 'c2pa.asset.unsupported' });
    await expect(
      signFileStream({
        source: chunked(jpeg, 4096),
        mime: 'image/jpeg',
        ...opts,
        parent: { bytes: jpeg, mime: 'image/jpeg' },
      } as never),
    ).rejects.toMatchObject(refused);
    await expect(signFileStream({ source: 'x', mime: 'image/jpeg', ...opts } as never)).rejects.toMatchObject(
      refused,
    );
    // A source that changes between the hash pass and the output pass.
    let reads = 0;
    const changing = async function* () {
      const b = jpeg.slice();
      if (reads++ > 0) b[10] = (b[10] as number) ^ 1;
      yield b;
    };
    const s = await signFileStream({ source: changing, mime: 'image/jpeg', ...opts });
    await expect(collect(s.output())).rejects.toMatchObject(refused);
  });

  it('a generated ~200 MiB JPEG signs and validates streaming with RSS growth < 64 MiB (child process)', async () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const dir = path.join(tmpdir(), `omt-sign-stream-${process.pid}-${Date.now()}`);
    const script = `${dir}.mjs`;
    const src = (p: string) => `file://${path.join(repo, p)}`;
    // The child builds a baseline JPEG header (SOI, JFIF APP0, DQT, SOF0, DHT, SOS) followed by
    // repeated entropy-coded rows without 0xFF, then EOI — generated chunk by chunk, never whole.
    writeFileSync(
      script,
      `
const { signFileStream } = await import(${JSON.stringify(src('packages/c2pa/src/sign-stream.ts'))});
const { validateAsset } = await import(${JSON.stringify(src('packages/c2pa/src/validate.ts'))});
const { key, chain, size } = JSON.parse(process.argv[2]);
const header = Uint8Array.from([
  0xff, 0xd8,
  0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
  0xff, 0xdb, 0, 67, 0, ...new Array(64).fill(1),
  0xff, 0xc0, 0, 11, 8, 0x10, 0, 0x10, 0, 1, 1, 0x11, 0,
  0xff, 0xc4, 0, 20, 0, ...[1, ...new Array(15).fill(0)], 0,
  0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0,
]);
const row = new Uint8Array(1 << 20);
for (let i = 0; i < row.length; i++) row[i] = (i * 131 + 7) % 255;
function jpeg(total) {
  return async function* () {
    yield header;
    for (let left = total; left > 0; left -= row.length) yield row.subarray(0, Math.min(row.length, left));
    yield Uint8Array.of(0xff, 0xd9);
  };
}
async function run(total) {
  const s = await signFileStream({ source: jpeg(total), mime: 'image/jpeg', key, chain });
  let n = 0;
  for await (const c of s.output()) n += c.length;
  const r = await validateAsset({ stream: s.output }, 'image/jpeg');
  return { n, length: s.length, state: r.state, failures: r.failureCodes };
}
const small = await run(1 << 20);
global.gc?.();
const before = process.resourceUsage().maxRSS;
const big = await run(size);
const after = process.resourceUsage().maxRSS;
process.stdout.write(JSON.stringify({ small, big, before: before * 1024, after: after * 1024 }));
`,
    );
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--conditions=omt-source',
          '--import',
          'tsx',
          script,
          JSON.stringify({
            key: pki.files['signer.key.pem'],
            chain: pki.files['chain.pem'],
            size: 200 << 20,
          }),
        ],
        { cwd: repo, env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 1 << 20 },
      );
      const r = JSON.parse(stdout) as {
        small: { state: string; failures: string[] };
        big: { n: number; length: number; state: string; failures: string[] };
        before: number;
        after: number;
      };
      expect(r.small.state).toBe('Valid');
      expect(r.big.state).toBe('Valid');
      expect(r.big.failures).toEqual(['signingCredential.untrusted']);
      expect(r.big.n).toBe(r.big.length);
      expect(r.big.n).toBeGreaterThan(200 << 20);
      expect(r.after - r.before).toBeLessThan(64 << 20);
    } finally {
      rmSync(script, { force: true });
    }
  }, 55_000);
});
