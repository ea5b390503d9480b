// @omt/core in a real browser: the core is bundled for the browser with esbuild and run in
// headless Chromium (Debian's, driven by playwright-core), served from 127.0.0.1 so WebCrypto
// is available (secure context). Proves the browser-safe rule end to end: hashing, JCS, CBOR,
// ML-DSA, Ed25519 across the noble and WebCrypto paths, COSE_Sign1 and Merkle proofs.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
// In CI the browser is installed by .ci/run: a missing one is a failure, not a skip.
const runIt = haveChromium || process.env.CI === 'true' ? it : it.skip;

const entry = `
import { sha256 } from '@omt/core/hash';
import { toHex, utf8 } from '@omt/core/bytes';
import { canonicalize } from '@omt/core/jcs';
import { encodeCbor, decodeCbor } from '@omt/core/cbor';
import { getSuite } from '@omt/core/suites';
import { signCoseSign1, verifyCoseSign1 } from '@omt/core/cose';
import { hashLeaf, merkleRoot, inclusionProof, verifyInclusion } from '@omt/core/merkle';
import { signJson, verifyJson } from '@omt/core/signed-json';

window.runOmt = async () => {
  const out = {};
  out.sha256 = toHex(sha256(utf8('abc')));
  out.jcs = canonicalize({ b: [1, 2.5, 'x'], a: { y: null, x: true } });
  out.cbor = toHex(encodeCbor(new Map([[1, -7], [4, utf8('kid')]])));
  out.cborBack = decodeCbor(encodeCbor([1, 'two', utf8('3')])).length;
  const mldsa = getSuite('ML-DSA-65');
  const kp = await mldsa.generateKeyPair();
  const sig = await mldsa.sign(kp.secretKey, utf8('browser'));
  out.mldsa = await mldsa.verify(kp.publicKey, utf8('browser'), sig);
  out.mldsaTampered = await mldsa.verify(kp.publicKey, utf8('browseR'), sig);
  const ed = getSuite('Ed25519');
  out.edNative = await ed.nativeAvailable();
  const ek = await ed.generateKeyPair();
  const s1 = await ed.sign(ek.secretKey, utf8('m'), { implementation: 'portable' });
  out.edPortableToNative = out.edNative ? await ed.verify(ek.publicKey, utf8('m'), s1, { implementation: 'native' }) : 'n/a';
  const es = getSuite('ES256');
  const sk = await es.generateKeyPair();
  const s2 = await es.sign(sk.secretKey, utf8('m'), { implementation: 'native' });
  out.esNativeToPortable = await es.verify(sk.publicKey, utf8('m'), s2, { implementation: 'portable' });
  const cose = await signCoseSign1({ signer: { suite: mldsa, secretKey: kp.secretKey }, payload: utf8('cose in a browser') });
  out.cose = (await verifyCoseSign1(cose, { suite: mldsa, publicKey: kp.publicKey })).valid;
  const leaves = [1, 2, 3, 4, 5].map((i) => hashLeaf(utf8(String(i))));
  const root = merkleRoot(leaves);
  out.merkle = verifyInclusion(2, 5, leaves[2], inclusionProof(leaves, 2), root);
  const signed = await signJson({ hello: 'browser' }, { suite: ed, secretKey: ek.secretKey, kid: 'k' });
  out.json = (await verifyJson(signed, { suite: ed, publicKey: ek.publicKey })).valid;
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
  const js = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    } else {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><script type="module" src="/bundle.js"></script>');
    }
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

describe('@omt/core in headless Chromium', () => {
  runIt('bundles for the browser and signs, verifies, hashes and proves there', async () => {
    expect(browser, `Chromium not found at ${CHROMIUM} (apt-get install chromium)`).toBeDefined();
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(base);
    await page.waitForFunction(
      () => typeof (window as unknown as { runOmt?: unknown }).runOmt === 'function',
    );
    const out = await page.evaluate(() =>
      (window as unknown as { runOmt: () => Promise<Record<string, unknown>> }).runOmt(),
    );
    expect(errors).toEqual([]);
    expect(out.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(out.jcs).toBe('{"a":{"x":true,"y":null},"b":[1,2.5,"x"]}');
    expect(out.cbor).toBe('a201260443' + '6b6964');
    expect(out.cborBack).toBe(3);
    expect(out.mldsa).toBe(true);
    expect(out.mldsaTampered).toBe(false);
    expect(out.edNative).toBe(true);
    expect(out.edPortableToNative).toBe(true);
    expect(out.esNativeToPortable).toBe(true);
    expect(out.cose).toBe(true);
    expect(out.merkle).toBe(true);
    expect(out.json).toBe(true);
    await page.close();
  });
});
