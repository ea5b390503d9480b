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
        format: 'esm',
        minify: true,
        write: false,
        metafile: true,
        logLevel: 'silent',
        define: {},
      });
      const code = result.outputFiles[0].text;
      // esbuild already refuses `node:` imports for the browser platform; this catches what slips
      // through as text: CommonJS requires of Node built-ins and bare `Buffer` / `process` globals
      // (property accesses such as `ArrayBuffer.isView` or `globalThis.process?.x` are fine).
      const checks = [
        [/\brequire\(\s*["'](?:node:)?(?:crypto|fs|path|os|stream|buffer|util)["']\s*\)/, 'require() of a Node built-in'],
        [/(?<![\w$.])Buffer\.(?:from|alloc|concat|isBuffer)\b/, 'the Buffer global'],
        [/(?<![\w$.?])process\.(?:env|argv|exit|versions|platform|cwd)\b/, 'the process global'],
      ];
      const found = checks.filter(([re]) => re.test(code)).map(([, what]) => what);
      if (found.length) {
        failures++;
        console.error(`✗ ${spec}: Node-only references in the browser bundle: ${found.join(', ')}`);
      } else {
        sizes.push({ entry: spec, bytes: code.length });
      }
    } catch (e) {
      failures++;
      console.error(`✗ ${spec}: cannot bundle for the browser:\n${e.errors?.map((x) => `  ${x.text}`).join('\n') ?? e}`);
    }
  }
}
for (const s of sizes) console.log(`✓ ${s.entry.padEnd(28)} ${(s.bytes / 1024).toFixed(1).padStart(8)} KiB (minified)`);
if (failures) {
  console.error(`${failures} browser entr${failures === 1 ? 'y' : 'ies'} failed`);
  process.exit(1);
}
