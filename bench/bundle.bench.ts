// Browser bundle sizes (esbuild --bundle --platform=browser --minify, then gzip): bundle size is a
// benchmark figure (ARCHITECTURE, Packaging). Peers: for the signature suites, a bundle of the
// noble algorithms alone (the floor for the same algorithms); for the other entries, the share
// of the bundle that is third-party code (so `ratio` = how much of the bundle is dependencies).
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type BenchResult, writeResults } from './lib.js';

const root = new URL('..', import.meta.url).pathname;

async function bundle(contents: string): Promise<{ gz: number; depsGz: number }> {
  const r = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    conditions: ['omt-source'],
    logLevel: 'silent',
  });
  const code = r.outputFiles[0]?.text ?? '';
  const out = Object.values(r.metafile.outputs)[0];
  let deps = 0;
  let total = 0;
  for (const [input, info] of Object.entries(out?.inputs ?? {})) {
    total += info.bytesInOutput;
    if (input.includes('node_modules/')) deps += info.bytesInOutput;
  }
  const gz = gzipSync(code).length / 1024;
  return { gz, depsGz: total === 0 ? 0 : (gz * deps) / total };
}

const results: BenchResult[] = [];
const nobleSuites = `
export { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
export * from '@noble/post-quantum/slh-dsa.js';
export { ed25519 } from '@noble/curves/ed25519.js';
export { ed448 } from '@noble/curves/ed448.js';
export { p256, p384, p521 } from '@noble/curves/nist.js';
export { secp256k1 } from '@noble/curves/secp256k1.js';`;
const suites = await bundle(`export * from '@omt/core/suites';`);
const noble = await bundle(nobleSuites);
results.push({
  name: '@omt/core/suites (gzip)',
  ours: suites.gz,
  peer: noble.gz,
  unit: 'KiB',
  ratio: noble.gz / suites.gz,
  extra: { peer: 'the noble algorithms alone (same suites, no wrapper)' },
});
for (const entry of [
  '@omt/core',
  '@omt/core/cose',
  '@omt/core/keys',
  '@omt/core/signed-json',
  '@omt/core/audit-log',
  '@omt/core/merkle',
  '@omt/core/jcs',
  '@omt/core/cbor',
  '@omt/core/hash-stream',
]) {
  const b = await bundle(`export * from '${entry}';`);
  results.push({
    name: `${entry} (gzip)`,
    ours: b.gz,
    peer: b.depsGz,
    unit: 'KiB',
    ratio: b.gz === 0 ? 0 : b.depsGz / b.gz,
    extra: { peer: 'third-party share of the same bundle (approximate, by minified bytes)' },
  });
}
writeResults('bundle', results);
