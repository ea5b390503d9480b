// The browser verifier (examples/browser-verifier) in a real browser: bundled with esbuild,
// served from 127.0.0.1 (a secure context, so WebCrypto is there), loaded in headless Chromium
// (Debian's, via playwright-core). It validates JPEGs signed here: ML-DSA-65 (Valid, Trusted
// with the test root), hybrid ML-DSA-65+ES256, a tampered copy (Invalid with the status code),
// and a file without a manifest; the drop/pick UI shows the state.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildActionsAssertion, DIGITAL_SOURCE_TYPE } from '@omt/c2pa/assertions';
import { signAsset } from '@omt/c2pa/builder';
import { signClaim } from '@omt/c2pa/claim-signature';
import { createTestPki, type TestPki } from '@omt/c2pa/pki';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVerifier } from '../../../examples/browser-verifier/build.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
// In CI the browser is installed by .ci/run: a missing one is a failure, not a skip.
const runIt = haveChromium || process.env.CI === 'true' ? it : it.skip;

const jpeg = new Uint8Array(readFileSync(new URL('../../../testdata/c2pa/no_manifest.jpg', import.meta.url)));

async function signJpeg(pki: TestPki): Promise<Uint8Array> {
  const secretKey = (pki.kind === 'hybrid' ? pki.signerKey : pki.signer.key).secretKey as Uint8Array;
  const chain = pki.kind === 'hybrid' ? pki.classical.chain : pki.chain;
  const signed = await signAsset({
    asset: jpeg,
    mime: 'image/jpeg',
    title: 'browser.jpg',
    assertions: [
      buildActionsAssertion({
        actions: [{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture }],
      }),
    ],
    signer: (claimBytes) =>
      signClaim({
        claimBytes,
        signer: { suite: pki.suite, secretKey },
        chain,
        ...(pki.kind === 'hybrid' ? { pqChain: pki.pq.chain } : {}),
      }),
  });
  return signed.asset;
}

interface PageResult {
  state: string;
  statusCodes: string[];
  failureCodes: string[];
  signatureAlg: string | null;
  hybrid: { present: boolean; valid: boolean; suite?: string } | null;
  error: { code: string } | null;
}

let server: Server;
let browser: Browser | undefined;
let base = '';
let files: Record<string, Uint8Array> = {};
let mldsa: TestPki;
let gzipBytes = 0;

beforeAll(async () => {
  const bundle = await buildVerifier();
  gzipBytes = bundle.gzipBytes;
  mldsa = await createTestPki({ suite: 'ML-DSA-65' });
  const hybrid = await createTestPki({ suite: 'ML-DSA-65+ES256' });
  const signed = await signJpeg(mldsa);
  const tampered = signed.slice();
  // One byte of image data, near the end (entropy-coded data, before EOI).
  tampered[tampered.length - 10] = (tampered[tampered.length - 10] as number) ^ 0x01;
  files = {
    '/signed.jpg': signed,
    '/hybrid.jpg': await signJpeg(hybrid),
    '/tampered.jpg': tampered,
    '/plain.jpg': jpeg,
  };
  server = createServer((req, res) => {
    const f = files[req.url ?? ''];
    if (f !== undefined) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(f);
    else if (req.url === '/verifier.js')
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(bundle.pageHtml);
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

describe('browser verifier in headless Chromium', () => {
  it('bundles into one small module', () => {
    expect(gzipBytes).toBeGreaterThan(10_000);
    expect(gzipBytes).toBeLessThan(400 * 1024);
  });

  runIt(
    'validates signed, hybrid, tampered and unsigned JPEGs in the page',
    async () => {
      expect(browser, `Chromium not found at ${CHROMIUM} (apt-get install chromium)`).toBeDefined();
      const page = await (browser as Browser).newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(base);
      await page.waitForFunction(
        () => typeof (globalThis as { omtVerify?: unknown }).omtVerify === 'function',
      );
      const verify = (url: string, anchors?: string): Promise<PageResult> =>
        page.evaluate(
          async ([u, a]) => {
            const bytes = new Uint8Array(await (await fetch(u as string)).arrayBuffer());
            const fn = (
              globalThis as unknown as {
                omtVerify: (b: Uint8Array, m?: string, a?: string) => Promise<unknown>;
              }
            ).omtVerify;
            return fn(bytes, undefined, a) as Promise<PageResult>;
          },
          [url, anchors] as const,
        );
      const valid = await verify('/signed.jpg');
      expect(valid.error).toBeNull();
      expect(valid.state).toBe('Valid');
      expect(valid.signatureAlg).toBe('ML-DSA-65');
      expect(valid.failureCodes).toEqual(['signingCredential.untrusted']);
      expect(valid.statusCodes).toContain('claimSignature.validated');
      expect(valid.statusCodes).toContain('assertion.dataHash.match');

      const trusted = await verify('/signed.jpg', mldsa.files['root.pem']);
      expect(trusted.state).toBe('Trusted');
      expect(trusted.failureCodes).toEqual([]);

      const hybrid = await verify('/hybrid.jpg');
      expect(hybrid.state).toBe('Valid');
      expect(hybrid.signatureAlg).toBe('ES256');
      expect(hybrid.hybrid).toMatchObject({ present: true, valid: true, suite: 'ML-DSA-65' });
      expect(hybrid.statusCodes).toContain('omt.hybridSignature.validated');

      const tampered = await verify('/tampered.jpg');
      expect(tampered.state).toBe('Invalid');
      expect(tampered.failureCodes).toContain('assertion.dataHash.mismatch');

      const plain = await verify('/plain.jpg');
      expect(plain.state).toBe('NoManifest');
      expect(plain.error?.code).toBe('c2pa.jumbf.not-found');
      expect(errors).toEqual([]);
      await page.close();
    },
    60_000,
  );

  runIt(
    'shows the state of a picked file in the page',
    async () => {
      expect(browser, `Chromium not found at ${CHROMIUM}`).toBeDefined();
      const page = await (browser as Browser).newPage();
      await page.goto(base);
      await page.setInputFiles('#file', {
        name: 'tampered.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from(files['/tampered.jpg'] as Uint8Array),
      });
      await page.waitForSelector('#state');
      expect(await page.textContent('#state')).toBe('Invalid');
      expect(await page.textContent('#failures')).toContain('assertion.dataHash.mismatch');
      await page.setInputFiles('#file', {
        name: 'signed.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from(files['/signed.jpg'] as Uint8Array),
      });
      await page.waitForFunction(() => document.getElementById('state')?.textContent === 'Valid');
      expect(await page.textContent('#failures')).toContain('signingCredential.untrusted');
      await page.close();
    },
    60_000,
  );
});
