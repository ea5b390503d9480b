// omt sign --remote-url: the asset gets an XMP dcterms:provenance reference and <out>.c2pa holds
// the store to serve there; omt verify reports manifest.inaccessible without the store and
// validates with it (--sidecar). Also: the prepared signer still refuses a key of another chain.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jpegHandler, pngHandler } from '@omt/c2pa/asset';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCerts, runSign, runVerify } from '../src/commands/c2pa/index.js';
import { type Captured, capture } from './capture.js';

const testdata = fileURLToPath(new URL('../../../testdata/c2pa/', import.meta.url));
let dir: string;

/** Runs a command (exit 1, 2 for usage, the message on stderr); a non-OmtError fails the test. */
const run = (fn: Parameters<typeof capture>[0], argv: string[]): Promise<Captured> =>
  capture(fn, argv, { OMT_HOME: path.join(dir, '.omt') }, dir, { strict: true, messagesOnStderr: true });

const json = (o: Captured): Record<string, unknown> => JSON.parse(o.stdout) as Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'omt-c2pa-remote-cli-'));
  await copyFile(path.join(testdata, 'no_manifest.jpg'), path.join(dir, 'photo.jpg'));
  await copyFile(path.join(testdata, 'sample1.png'), path.join(dir, 'image.png'));
  for (const [alg, out] of [
    ['ML-DSA-65+ES256', 'pki'],
    ['ES256', 'other'],
  ] as const)
    expect((await run(runCerts, ['create-test-pki', '--alg', alg, '--out', out])).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('omt sign --remote-url', () => {
  for (const [input, handler] of [
    ['photo.jpg', jpegHandler],
    ['image.png', pngHandler],
  ] as const) {
    it(`${input}: reference in XMP, store in <out>.c2pa; verify without it → manifest.inaccessible, with it → Trusted`, async () => {
      const out = `remote-${input}`;
      const url = `https://cr.example/m/${input}.c2pa`;
      const s = await run(runSign, [
        input,
        '-o',
        out,
        '--key',
        'pki/signer.key.pem',
        '--cert',
        'pki/chain.pem',
        '--remote-url',
        url,
        '--json',
      ]);
      expect(s.stderr).toBe('');
      expect(s.code).toBe(0);
      expect(json(s)).toMatchObject({ remoteUrl: url, alg: 'ML-DSA-65+ES256' });
      const asset = new Uint8Array(await readFile(path.join(dir, out)));
      expect(handler.findManifestStore(asset)).toBeUndefined();
      expect(handler.findRemoteManifestUrl(asset)).toBe(url);
      expect((await readFile(path.join(dir, `${out}.c2pa`))).subarray(4, 8).toString()).toBe('jumb');

      const offline = await run(runVerify, [out, '--json']);
      expect(offline.code).toBe(1);
      expect(json(offline)).toMatchObject({
        state: 'Invalid',
        failureCodes: ['manifest.inaccessible'],
        remoteManifestUrl: url,
      });
      const text = await run(runVerify, [out]);
      expect(text.stdout).toContain(`remote manifest: ${url} (not fetched`);

      const ok = await run(runVerify, [
        out,
        '--sidecar',
        `${out}.c2pa`,
        '--trust',
        'pki/root.pem',
        '--hybrid',
        'required',
        '--json',
      ]);
      expect(ok.code).toBe(0);
      expect(json(ok)).toMatchObject({ state: 'Trusted', failureCodes: [] });
      expect((json(ok).trust as Record<string, Record<string, unknown>>).hybridSigner?.code).toBe(
        'signingCredential.trusted',
      );

      // Refuses to overwrite either file; --force does.
      const again = await run(runSign, [
        input,
        '-o',
        out,
        '--key',
        'pki/signer.key.pem',
        '--cert',
        'pki/chain.pem',
        '--remote-url',
        url,
      ]);
      expect(again.error).toBe('cli.file.exists');
      await rm(path.join(dir, out));
      const storeOnly = await run(runSign, [
        input,
        '-o',
        out,
        '--key',
        'pki/signer.key.pem',
        '--cert',
        'pki/chain.pem',
        '--remote-url',
        url,
      ]);
      expect(storeOnly.error).toBe('cli.file.exists'); // <out>.c2pa still there
      await expect(readFile(path.join(dir, out))).rejects.toThrow(); // nothing was written
      const forced = await run(runSign, [
        input,
        '-o',
        out,
        '--key',
        'pki/signer.key.pem',
        '--cert',
        'pki/chain.pem',
        '--remote-url',
        url,
        '--force',
      ]);
      expect(forced.code).toBe(0);
    }, 60_000);
  }

  it('usage: --remote-url with --sidecar, or not an http(s) URL → exit 2; a key of another chain is refused', async () => {
    const base = ['photo.jpg', '-o', 'x.jpg', '--key', 'pki/signer.key.pem', '--cert', 'pki/chain.pem'];
    expect((await run(runSign, [...base, '--remote-url', 'https://a.example/m', '--sidecar'])).code).toBe(2);
    expect((await run(runSign, [...base, '--remote-url', 'ftp://a.example/m'])).code).toBe(2);
    const mismatch = await run(runSign, [
      'photo.jpg',
      '-o',
      'y.jpg',
      '--key',
      'other/signer.key.pem',
      '--cert',
      'pki/chain.pem',
    ]);
    expect(mismatch.error).toBe('cli.key.cert-mismatch');
    const own = await run(runSign, [
      'photo.jpg',
      '-o',
      'z.jpg',
      '--key',
      'other/signer.key.pem',
      '--cert',
      'other/chain.pem',
    ]);
    expect(own.code).toBe(0);
  });
});
