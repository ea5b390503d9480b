// @omt/kms in a real browser: bundled with esbuild for the browser and run in headless Chromium
// (Debian's, driven by playwright-core) from 127.0.0.1 (a secure context, so WebCrypto exists).
// Proves streaming decryption in browsers: a framed envelope made here in Node is decrypted in the
// page through a ReadableStream, both by a recipient share (X-Wing) and by a full in-page KMS.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { generateRecipientKeyPair, shareEnvelope } from '@omt/kms/recipient';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, collect, P, setup } from './setup.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const runIt = haveChromium || process.env.CI === 'true' ? it : it.skip;

const entry = `
import { decryptStreamWithShare } from '@omt/kms/recipient';
import { createKms, MemoryKeyStore, MemoryRootKeyProvider } from '@omt/kms';
import { fromBase64, toHex } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';

async function drain(stream) {
  const reader = stream.getReader();
  const h = []; let n = 0; let chunks = 0;
  for (;;) { const { done, value } = await reader.read(); if (done) break; h.push(value); n += value.length; chunks++; }
  const all = new Uint8Array(n); let o = 0; for (const p of h) { all.set(p, o); o += p.length; }
  return { n, chunks, hash: toHex(sha256(all)) };
}
function chunked(bytes, size) {
  let o = 0;
  return new ReadableStream({ pull(c) { if (o >= bytes.length) { c.close(); return; } c.enqueue(bytes.slice(o, o + size)); o += size; } });
}

window.runKms = async (envB64, shareB64, skB64) => {
  const out = {};
  const env = fromBase64(envB64);
  out.shared = await drain(decryptStreamWithShare(chunked(env, 1000), fromBase64(shareB64), fromBase64(skB64)));
  const bad = env.slice(); bad[bad.length - 40] ^= 1;
  try { await drain(decryptStreamWithShare(chunked(bad, 1000), fromBase64(shareB64), fromBase64(skB64))); out.tampered = 'accepted'; }
  catch (e) { out.tampered = e.code; }
  const { kms, governance } = createKms({ rootKeys: new MemoryRootKeyProvider(), keyStore: new MemoryKeyStore() });
  await governance.createTenant({ actor: 'ops', tenant: 'web', services: ['media'], grants: [{ principal: 'me', service: '*', operations: ['encrypt', 'decrypt'] }] });
  const plain = new Uint8Array(300000); for (let i = 0; i < plain.length; i++) plain[i] = i * 7;
  const sealed = kms.encryptStream(chunked(plain, 4096), { principal: 'me', tenant: 'web', service: 'media', objectId: 'v', frameSize: 16384 });
  const back = await drain(kms.decryptStream(sealed, { principal: 'me' }));
  out.inPage = back.n === plain.length && back.hash === toHex(sha256(plain));
  await governance.disableRoot({ actor: 'ops', tenant: 'web' });
  try { await kms.encrypt(plain.subarray(0, 10), { principal: 'me', tenant: 'web', service: 'media', objectId: 'v' }); out.revoked = 'accepted'; }
  catch (e) { out.revoked = e.code; }
  return out;
};
`;

let server: Server;
let browser: Browser | undefined;
let base = '';

beforeAll(async () => {
  const bundle = await build({
    stdin: { contents: entry, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    conditions: ['omt-source'],
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]?.text ?? '';
  server = createServer((req, res) => {
    if (req.url === '/bundle.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><script type="module" src="/bundle.js"></script>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  if (haveChromium) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

describe('@omt/kms in headless Chromium', () => {
  runIt(
    'decrypts framed envelopes as streams in the browser (recipient share and in-page KMS)',
    async () => {
      expect(browser, `Chromium not found at ${CHROMIUM}`).toBeDefined();
      const f = await setup();
      const plain = bytes(200_000, 5);
      const env = await collect(
        f.kms.encryptStream([plain], {
          principal: P,
          tenant: 'acme',
          service: 'media',
          objectId: 'movie',
          frameSize: 8192,
        }),
      );
      const bob = generateRecipientKeyPair();
      const share = await shareEnvelope(f.kms, env, {
        principal: P,
        recipientId: 'browser',
        recipientPublicKey: bob.publicKey,
      });
      const page = await (browser as Browser).newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(base);
      await page.waitForFunction(
        () => typeof (window as unknown as { runKms?: unknown }).runKms === 'function',
      );
      const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
      const out = (await page.evaluate(
        ([e, s, k]) =>
          (window as unknown as { runKms: (a: string, b: string, c: string) => Promise<unknown> }).runKms(
            e as string,
            s as string,
            k as string,
          ),
        [b64(env), b64(share), b64(bob.secretKey)],
      )) as Record<string, { n: number; chunks: number; hash: string } | string | boolean>;
      expect(errors).toEqual([]);
      const { createHash } = await import('node:crypto');
      expect(out.shared).toEqual({
        n: plain.length,
        chunks: Math.ceil(plain.length / 8192),
        hash: createHash('sha256').update(plain).digest('hex'),
      });
      expect(out.tampered).toBe('kms.envelope.auth-failed');
      expect(out.inPage).toBe(true);
      expect(out.revoked).toBe('kms.key.revoked');
    },
    60_000,
  );
});
