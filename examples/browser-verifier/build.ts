// Bundles the browser verifier with esbuild: `verifier.ts` → one minified ES module, and a
// self-contained `index.html` with the bundle inlined (works from disk: file: pages are a
// secure context, so WebCrypto is there). Run:
//   node --conditions=omt-source --import tsx examples/browser-verifier/build.ts
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = new URL('.', import.meta.url);

export interface VerifierBundle {
  /** The bundled ES module. */
  readonly js: string;
  /** index.html with the bundle inlined. */
  readonly html: string;
  /** index.html referencing ./verifier.js (for serving the two files). */
  readonly pageHtml: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Input files by bytes in the output (largest first), for size analysis. */
  readonly inputs: readonly { readonly path: string; readonly bytes: number }[];
}

/** Builds the verifier bundle in memory (sources via the `omt-source` condition: no tsc build needed). */
export async function buildVerifier(): Promise<VerifierBundle> {
  const r = await build({
    entryPoints: [fileURLToPath(new URL('verifier.ts', here))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    conditions: ['omt-source'],
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const js = r.outputFiles[0]?.text ?? '';
  const pageHtml = readFileSync(new URL('index.html', here), 'utf8');
  const inlined = js.replace(/<\/script/gi, '<\\/script');
  const html = pageHtml.replace(
    '<script type="module" src="./verifier.js"></script>',
    () => `<script type="module">${inlined}</script>`,
  );
  const out = Object.values(r.metafile.outputs)[0];
  const inputs = Object.entries(out?.inputs ?? {})
    .map(([path, info]) => ({ path, bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  return { js, html, pageHtml, bytes: js.length, gzipBytes: gzipSync(js).length, inputs };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const b = await buildVerifier();
  const dist = new URL('dist/', here);
  mkdirSync(dist, { recursive: true });
  writeFileSync(new URL('verifier.js', dist), b.js);
  writeFileSync(new URL('index.html', dist), b.html);
  console.log(
    `examples/browser-verifier/dist/index.html: ${(b.bytes / 1024).toFixed(0)} KiB JS, ${(b.gzipBytes / 1024).toFixed(0)} KiB gzipped`,
  );
}
