// Bundles every public entry of the browser-safe packages with esbuild for the browser and fails
// on anything that needs Node (a `node:` import, `Buffer`, `process`): ARCHITECTURE, Packaging.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const BROWSER_SAFE = ['core', 'c2pa', 'kms', 'ledger'];
// Entries that are deliberately not for browsers (test-only helpers importing vitest).
const SKIP = new Set(['@omt/core/testing']);

let failures = 0;
const sizes = [];
for (const pkg of BROWSER_SAFE) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL(`../packages/${pkg}/package.json`, import.meta.url), 'utf8'));
  } catch {
    continue; // package not created yet
  }
  for (const [sub, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target !== 'object' || !target.default) continue;
    const spec = sub === '.' ? manifest.name : `${manifest.name}/${sub.slice(2)}`;
    if (SKIP.has(spec)) continue;
    try {
      const result = await build({
        stdin: { contents: `export * from '${spec}';`, resolveDir: process.cwd(), loader: 'js' },
        bundle: true,
        platform: 'browser',
        // Bundle the TypeScript sources (same code tsc emits to dist/) so this check needs no build.
        conditions: ['omt-source'],
        format: 'esm',
        minify: true,
        write: false,
        metafile: true,
        logLevel: 'silent',
        define: {},
      });
      const code = result.outputFiles[0].text;
      // esbuild already refuses `node:` and Node built-in imports for the browser platform. Our own
      // sources must not touch the `Buffer` / `process` globals either (ARCHITECTURE rule 3);
      // third-party code may, behind feature checks (pvtsutils falls back to Buffer only when
      // `btoa` is missing) — the headless Chromium test runs the bundle for real.
      const found = [];
      for (const input of Object.keys(result.metafile.inputs)) {
        if (!/^packages\/[^/]+\/src\//.test(input)) continue;
        const text = readFileSync(input, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        if (/(?<![\w$.])Buffer\b/.test(text)) found.push(`${input}: Buffer`);
        if (/(?<![\w$.?])process\.\w/.test(text)) found.push(`${input}: process`);
        if (/\brequire\s*\(/.test(text)) found.push(`${input}: require()`);
      }
      if (found.length) {
        failures++;
        console.error(`✗ ${spec}: Node-only references in our sources: ${found.join(', ')}`);
      } else {
        sizes.push({ entry: spec, bytes: code.length });
      }
    } catch (e) {
      failures++;
      console.error(
        `✗ ${spec}: cannot bundle for the browser:\n${e.errors?.map((x) => `  ${x.text}`).join('\n') ?? e}`,
      );
    }
  }
}
for (const s of sizes)
  console.log(`✓ ${s.entry.padEnd(28)} ${(s.bytes / 1024).toFixed(1).padStart(8)} KiB (minified)`);
if (failures) {
  console.error(`${failures} browser entr${failures === 1 ? 'y' : 'ies'} failed`);
  process.exit(1);
}
