// C2PA benchmarks (issue 3), ours against the official C2PA SDK (c2pa-rs as WebAssembly,
// @contentauth/c2pa-wasm) in the same process where it can run, else against the platform limit:
//  1. read+validate the c2pa-rs vector files: validateAsset vs WasmReader.fromBytes + json()
//  2. sign+embed a generated 12-megapixel baseline JPEG with ES256, ML-DSA-65 and hybrid:
//     signFile (prepared signer) vs the official WasmBuilder.sign driven by the same COSE signer;
//     and the manifest overhead beyond the signature and the SHA-256 of the asset
//  3. validate a generated 1 GiB JPEG streamed from disk (child process): throughput vs
//     node:crypto SHA-256 over the same file, peak RSS
//  4. the browser verifier bundle (gzip) vs the official WASM + JS glue (gzip)
// Run: node --conditions=omt-source --import tsx bench/c2pa.bench.ts [--skip-1g]
// OMT_BENCH_C2PA_ONLY=vectors|sign|stream|bundle runs one part (results in bench/results/c2pa-<part>.json).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { WasmBuilder as WasmBuilderT, WasmReader as WasmReaderT } from '@contentauth/c2pa-wasm';
import { buildActionsAssertion, DIGITAL_SOURCE_TYPE } from '@omt/c2pa/assertions';
import { signAsset } from '@omt/c2pa/builder';
import { signClaim } from '@omt/c2pa/claim-signature';
import { hashWithExclusions } from '@omt/c2pa/data-hash';
import { createTestPki, type TestPki } from '@omt/c2pa/pki';
import { type C2paSigner, createC2paSigner, signFile } from '@omt/c2pa/sign';
import { validateAsset } from '@omt/c2pa/validate';
import { getSuite, type SuiteId } from '@omt/core/suites';
import { type BenchResult, opsPerSecond, writeResults } from './lib.js';

const require = createRequire(import.meta.url);
// The official SDK and the bundler load only in the parent: the streaming child measures its own
// peak RSS, which should be validation's, not that of modules it never uses.
let WasmReader: typeof WasmReaderT;
let WasmBuilder: typeof WasmBuilderT;
const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../testdata/c2pa/${f}`, import.meta.url)));

// ---------------------------------------------------------------------------------------------
// A tiny baseline JPEG encoder for bench data (ITU T.81): one grayscale component, quantisation
// table of ones, and our own Huffman tables — DC: one symbol (category 0, code '0'); AC: EOB '00',
// run 0/size 8 '01', ZRL '10'. Every 8×8 block is DC 0 + `coefficients` random 8-bit AC values +
// EOB: 3 + 10·k bits, so any 8 blocks end byte-aligned and an MCU row (width a multiple of 64 px)
// can be encoded once and repeated. Browsers decode the result (noise), and its size is realistic
// (~4.8 MB for 12 MP at k = 20).

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function encodeRow(blocks: number, coefficients: number, next: () => number): Uint8Array {
  const out = new Uint8Array(Math.ceil((blocks * (3 + coefficients * 10)) / 8) * 2 + 16);
  let n = 0;
  let acc = 0;
  let bits = 0;
  const put = (value: number, count: number): void => {
    acc = (acc << count) | value;
    bits += count;
    while (bits >= 8) {
      bits -= 8;
      const byte = (acc >>> bits) & 0xff;
      out[n++] = byte;
      if (byte === 0xff) out[n++] = 0x00; // T.81 §F.1.2.3: byte stuffing
    }
    acc &= (1 << bits) - 1;
  };
  for (let b = 0; b < blocks; b++) {
    put(0, 1);
    for (let k = 0; k < coefficients; k++) put((0b01 << 8) | (next() & 0xff), 10);
    put(0, 2);
  }
  return out.slice(0, n);
}

function jpegHeader(width: number, height: number): number[] {
  return [
    ...[0xff, 0xd8],
    ...[
      0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
      0x00,
    ],
    ...[0xff, 0xdb, 0x00, 0x43, 0x00, ...new Array<number>(64).fill(1)],
    ...[
      0xff,
      0xc0,
      0x00,
      0x0b,
      0x08,
      height >> 8,
      height & 0xff,
      width >> 8,
      width & 0xff,
      0x01,
      0x01,
      0x11,
      0x00,
    ],
    ...[0xff, 0xc4, 0x00, 0x14, 0x00, 1, ...new Array<number>(15).fill(0), 0x00],
    ...[0xff, 0xc4, 0x00, 0x16, 0x10, 0, 3, ...new Array<number>(14).fill(0), 0x00, 0x08, 0xf0],
    ...[0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00],
  ];
}

/** A baseline grayscale JPEG of `width` (multiple of 64) × `height` px. */
function makeBaselineJpeg(width: number, height: number, coefficients = 20): Uint8Array {
  const bw = width / 8;
  const bh = Math.ceil(height / 8);
  const next = xorshift(0x2c2a);
  const rows = Array.from({ length: Math.min(bh, 64) }, () => encodeRow(bw, coefficients, next));
  const header = Uint8Array.from(jpegHeader(width, height));
  let size = header.length + 2;
  for (let r = 0; r < bh; r++) size += (rows[r % rows.length] as Uint8Array).length;
  const out = new Uint8Array(size);
  out.set(header, 0);
  let at = header.length;
  for (let r = 0; r < bh; r++) {
    const row = rows[r % rows.length] as Uint8Array;
    out.set(row, at);
    at += row.length;
  }
  out.set([0xff, 0xd9], at);
  return out;
}

// ---------------------------------------------------------------------------------------------

const OFFICIAL_CTX = JSON.stringify({ verify: { remote_manifest_fetch: false, ocsp_fetch: false } });

/** Node lacks FileReaderSync (a worker API the official builder reads Blobs with): a byte-backed stand-in. */
class BytesBlob extends Blob {
  readonly data: Uint8Array;
  constructor(data: Uint8Array) {
    super([data as Uint8Array<ArrayBuffer>]);
    this.data = data;
  }
  override slice(start = 0, end: number = this.data.length): BytesBlob {
    return new BytesBlob(this.data.subarray(start, end));
  }
}

/** A measured function's report of time (ms) inside the call that is not its own (e.g. a signer's). */
class Excluded {
  constructor(readonly ms: number) {}
}

/**
 * Median wall time (ms) of `runs` calls after one warm-up: steadier than a mean on a busy machine.
 * A call that returns {@link Excluded} has that time taken off its own.
 */
async function medianMs(fn: () => unknown, runs = 9): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await fn();
    times.push(performance.now() - t - (r instanceof Excluded ? r.ms : 0));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)] as number;
}

async function benchVectors(results: BenchResult[]): Promise<void> {
  const files = ['C.jpg', 'CA.jpg', 'XCA.jpg', 'boxhash.jpg'].map((f) => ({ f, bytes: td(f) }));
  const states: Record<string, [string, string]> = {};
  for (const { f, bytes } of files) {
    const ours = await validateAsset(bytes, 'image/jpeg');
    const r = await WasmReader.fromBytes('image/jpeg', bytes, OFFICIAL_CTX);
    states[f] = [ours.state, (JSON.parse(r.json()) as { validation_state: string }).validation_state];
    r.free();
  }
  const oursOps = await opsPerSecond(async () => {
    for (const { bytes } of files) await validateAsset(bytes, 'image/jpeg');
  }, 3000);
  const peerOps = await opsPerSecond(async () => {
    for (const { bytes } of files) {
      const r = await WasmReader.fromBytes('image/jpeg', bytes, OFFICIAL_CTX);
      r.json();
      r.free();
    }
  }, 3000);
  const ours = 1000 / oursOps / files.length;
  const peer = 1000 / peerOps / files.length;
  results.push({
    name: 'read+validate c2pa-rs vector files (ms/file)',
    ours,
    peer,
    unit: 'ms',
    ratio: peer / ours,
    extra: {
      peer: '@contentauth/c2pa-wasm WasmReader.fromBytes + json(), same process, same files',
      files: files.map((x) => `${x.f} (${(x.bytes.length / 1024).toFixed(0)} KiB)`),
      states: Object.fromEntries(Object.entries(states).map(([f, [o, p]]) => [f, { ours: o, official: p }])),
      goal: 'ours ≥ 3× faster',
    },
  });
}

function claimSigner(pki: TestPki, padTo?: number) {
  const secretKey = (pki.kind === 'hybrid' ? pki.signerKey : pki.signer.key).secretKey as Uint8Array;
  return (claimBytes: Uint8Array): Promise<Uint8Array> =>
    signClaim({
      claimBytes,
      signer: { suite: pki.suite, secretKey },
      chain: pki.kind === 'hybrid' ? pki.classical.chain : pki.chain,
      ...(pki.kind === 'hybrid' ? { pqChain: pki.pq.chain } : {}),
      ...(padTo !== undefined ? { padTo } : {}),
    });
}

/**
 * Medians of several functions measured in alternating rounds (each round: a median of `runs`
 * calls per function), so the noise of a busy machine hits all of them alike.
 */
async function interleavedMedians<K extends string>(
  fns: Record<K, () => unknown>,
  rounds = 7,
  runs = 5,
): Promise<Record<K, number>> {
  const samples = new Map<K, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(fns) as [K, () => unknown][]) {
      const list = samples.get(k) ?? [];
      list.push(await medianMs(fn, runs));
      samples.set(k, list);
    }
  }
  const out = {} as Record<K, number>;
  for (const [k, v] of samples) out[k] = v.sort((a, b) => a - b)[v.length >> 1] as number;
  return out;
}

async function benchSign(results: BenchResult[], jpeg: Uint8Array): Promise<void> {
  const actions = buildActionsAssertion({
    actions: [{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture }],
  });
  const definition = JSON.stringify({
    claim_generator_info: [{ name: 'bench', version: '1' }],
    title: 'bench.jpg',
    assertions: [
      {
        label: 'c2pa.actions.v2',
        data: {
          actions: [{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture }],
        },
      },
    ],
  });
  for (const suite of ['ES256', 'ML-DSA-65', 'ML-DSA-65+ES256'] as SuiteId[]) {
    const pki = await createTestPki({ suite });
    const sign = claimSigner(pki);
    const probe = await sign(new Uint8Array(500));
    // A prepared signer (key imported, chain parsed once), as a service or `omt sign` uses it.
    const prepared = await createC2paSigner({
      key: pki.files['signer.key.pem'],
      chain: pki.files['chain.pem'],
    });
    // The prepared signer, timed inside signFile: ML-DSA signing times vary call to call (rejection
    // sampling, FIPS 204 §6.2), so medians of `ours` and `sign` differ by more than the overhead; the
    // time each signFile call spent in its own signature, taken off that call, leaves the rest exactly.
    let inSigner = 0;
    const timed: C2paSigner = {
      ...prepared,
      async sign(claimBytes, options) {
        const t = performance.now();
        try {
          return await prepared.sign(claimBytes, options);
        } finally {
          inSigner += performance.now() - t;
        }
      },
    };
    const reserve = probe.length + 100;
    const m = await interleavedMedians(
      {
        // The floor: the same streamed SHA-256 the builder uses over the whole asset, and one signature.
        hash: () => hashWithExclusions('SHA-256', jpeg, []),
        // The same SHA-256 where signFile runs it: between signatures (ML-DSA's noble signing leaves
        // the caches cold; the hash then takes ~1 ms more than in a loop of hashes alone).
        hashBetweenSignatures: async () => {
          await hashWithExclusions('SHA-256', jpeg, []);
          const t = performance.now();
          await prepared.sign(new Uint8Array(500));
          return new Excluded(performance.now() - t);
        },
        sign: () => sign(new Uint8Array(500)),
        // The prepared signer's own call on the same bytes (should cost what the floor's does).
        preparedSign: () => prepared.sign(new Uint8Array(500)),
        ours: () => signFile({ asset: jpeg, mime: 'image/jpeg', signer: prepared }),
        oursWithoutItsSignature: async () => {
          inSigner = 0;
          await signFile({ asset: jpeg, mime: 'image/jpeg', signer: timed });
          return new Excluded(inSigner);
        },
        // output 'parts': the signed asset as runs to write in order (the CLI's path), no 5 MB copy.
        partsWithoutItsSignature: async () => {
          inSigner = 0;
          await signFile({ asset: jpeg, mime: 'image/jpeg', signer: timed, output: 'parts' });
          return new Excluded(inSigner);
        },
        parts: () => signFile({ asset: jpeg, mime: 'image/jpeg', signer: prepared, output: 'parts' }),
        // The same with the PEM key and chain given on every call (imported each time: the old path).
        fromPem: () =>
          signFile({
            asset: jpeg,
            mime: 'image/jpeg',
            key: pki.files['signer.key.pem'],
            chain: pki.files['chain.pem'],
          }),
        // The builder alone with a fixed signature reservation and our COSE signer.
        builderOnly: () =>
          signAsset({
            asset: jpeg,
            mime: 'image/jpeg',
            assertions: [actions],
            signer: sign,
            signatureReserveSize: reserve,
          }),
      },
      // ML-DSA signing times spread widely (rejection sampling): more rounds for a steadier median.
      suite === 'ES256' ? 7 : 15,
    );
    const {
      hash: hashMs,
      sign: signMs,
      ours,
      fromPem,
      builderOnly,
      preparedSign,
      oursWithoutItsSignature,
      parts,
      partsWithoutItsSignature,
      hashBetweenSignatures,
    } = m;
    const floor = signMs + hashMs;
    // The official builder, signing through the same COSE signer (padded to its reservation).
    const padded = claimSigner(pki, reserve);
    const officialSigner = {
      alg: suite === 'ML-DSA-65' ? 'ed25519' : 'es256', // label only: our callback returns the whole COSE_Sign1
      reserveSize: reserve,
      sign: async (claim: Uint8Array) => (await padded(claim)) as Uint8Array<ArrayBuffer>,
    };
    let peer = Number.NaN;
    let peerNote = '@contentauth/c2pa-wasm WasmBuilder.sign with the same COSE signer (direct COSE handling)';
    try {
      const blob = new BytesBlob(jpeg);
      await WasmBuilder.fromJson(definition).sign(officialSigner, [], 'image/jpeg', blob);
      peer =
        1000 /
        (await opsPerSecond(
          () => WasmBuilder.fromJson(definition).sign(officialSigner, [], 'image/jpeg', blob),
          4000,
        ));
    } catch (e) {
      // c2pa-rs validates what it signed; it does not know ML-DSA (algorithm unsupported).
      peerNote = `the official builder cannot sign this: ${String(e).slice(0, 120)}`;
    }
    const pq = suite.startsWith('ML-DSA') ? getSuite('ML-DSA-65') : undefined;
    results.push({
      name: `sign+embed 12 MP JPEG, ${suite} (ms/asset)`,
      ours,
      peer,
      unit: 'ms',
      ratio: peer / ours,
      extra: {
        peer: peerNote,
        assetBytes: jpeg.length,
        signatureMs: Number(signMs.toFixed(3)),
        sha256OfAssetMs: Number(hashMs.toFixed(3)),
        overheadBeyondSignatureAndHashMs: Number((ours - floor).toFixed(3)),
        preparedSignatureMs: Number(preparedSign.toFixed(3)),
        overheadBeyondItsOwnSignatureAndHashMs: Number((oursWithoutItsSignature - hashMs).toFixed(3)),
        sha256BetweenSignaturesMs: Number(hashBetweenSignatures.toFixed(3)),
        overheadBeyondItsOwnSignatureAndHashBetweenSignaturesMs: Number(
          (oursWithoutItsSignature - hashBetweenSignatures).toFixed(3),
        ),
        partsOutputMs: Number(parts.toFixed(3)),
        partsOverheadBeyondItsOwnSignatureAndHashMs: Number((partsWithoutItsSignature - hashMs).toFixed(3)),
        partsOverheadBeyondItsOwnSignatureAndHashBetweenSignaturesMs: Number(
          (partsWithoutItsSignature - hashBetweenSignatures).toFixed(3),
        ),
        builderOnlyMs: Number(builderOnly.toFixed(3)),
        builderOnlyOverheadMs: Number((builderOnly - floor).toFixed(3)),
        fromPemEachCallMs: Number(fromPem.toFixed(3)),
        fromPemEachCallOverheadMs: Number((fromPem - floor).toFixed(3)),
        note: "ours = signFile with a prepared signer (createC2paSigner: key imported and chain parsed once; the signature size is known from the suite, so one signing call); overhead = ours − (signature + SHA-256), the signature being the floor's signClaim call; preparedSignature = the prepared signer's own call on the same 500 bytes; overheadBeyondItsOwnSignatureAndHash = per signFile call, its time minus the time its signer call took, median, minus the SHA-256 (immune to ML-DSA's call-to-call signing time spread); …BetweenSignatures = the same, less the SHA-256 timed where signFile runs it, alternating with the prepared signer's calls (after a noble ML-DSA signature the hash runs slower: cold caches); fromPemEachCall = signFile given the PEM key and chain (imported on every call); parts = signFile with output 'parts' (the signed asset as runs to write in order, as `omt sign` writes it: no new 5 MB buffer, whose first touch of fresh pages costs 1–2.5 ms here); builderOnly = signAsset with a fixed reservation. All figures are medians over 7 alternating rounds (15 for the ML-DSA suites; median of 5 calls each), so machine noise hits them alike",
        ...(pq
          ? {
              mlDsaNative: (await pq.nativeAvailable())
                ? 'available'
                : `unavailable on Node ${process.version} (noble path measured)`,
            }
          : {}),
        goal: 'overhead < 2 ms',
      },
    });
  }
}

async function benchGiB(results: BenchResult[]): Promise<void> {
  const target = 1 << 30;
  const width = 65472; // 8184 blocks: a multiple of 8, so each MCU row ends byte-aligned
  const rowBytes = makeBaselineJpeg(width, 8).length - 200;
  const height = Math.min(65528, Math.ceil(target / rowBytes) * 8);
  const t0 = performance.now();
  const big = makeBaselineJpeg(width, height);
  const genMs = performance.now() - t0;
  const pki = await createTestPki({ suite: 'ES256' });
  const t1 = performance.now();
  const signed = await signFile({
    asset: big,
    mime: 'image/jpeg',
    key: pki.files['signer.key.pem'],
    chain: pki.files['chain.pem'],
  });
  const signMs = performance.now() - t1;
  const file = path.join(os.tmpdir(), `omt-c2pa-bench-${process.pid}.jpg`);
  writeFileSync(file, signed.asset as Uint8Array);
  const size = (signed.asset as Uint8Array).length;
  try {
    const child = spawnSync(
      process.execPath,
      // The built library in a plain node process (no TypeScript loader): what users run.
      [fileURLToPath(new URL('./c2pa-stream-child.mjs', import.meta.url)), file],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
      oursMs: number;
      peerMs: number;
      peakRss: number;
      rssBefore: number;
      state: string;
      failures: string[];
    };
    const mb = size / 1e6;
    results.push({
      name: 'validate 1 GiB JPEG streamed (MB/s)',
      ours: mb / (r.oursMs / 1000),
      peer: mb / (r.peerMs / 1000),
      unit: 'MB/s',
      ratio: r.peerMs / r.oursMs,
      extra: {
        peer: 'node:crypto SHA-256 over the same file, streamed in 1 MiB chunks',
        runs: 'best of 3 alternating runs each (ours first); peak RSS after our first run',
        bytes: size,
        jpeg: `${width}×${height} px baseline`,
        state: r.state,
        failureCodes: r.failures,
        peakRssMiB: Number((r.peakRss / 2 ** 20).toFixed(1)),
        rssBeforeValidationMiB: Number((r.rssBefore / 2 ** 20).toFixed(1)),
        generateMs: Math.round(genMs),
        signFileMs: Math.round(signMs),
        goal: 'throughput ≥ 0.9× SHA-256, peak RSS < 128 MiB',
      },
    });
  } finally {
    rmSync(file, { force: true });
  }
}

async function benchBundle(results: BenchResult[]): Promise<void> {
  const { buildVerifier } = await import('../examples/browser-verifier/build.js');
  const ours = await buildVerifier();
  const wasm = readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm'));
  const glue = readFileSync(
    path.join(path.dirname(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')), 'c2pa.js'),
  );
  const peer = gzipSync(wasm).length + gzipSync(glue).length;
  results.push({
    name: 'browser verifier bundle, gzip (KiB)',
    ours: ours.gzipBytes / 1024,
    peer: peer / 1024,
    unit: 'KiB',
    ratio: peer / ours.gzipBytes,
    extra: {
      peer: '@contentauth/c2pa-wasm c2pa_bg.wasm + c2pa.js, gzip',
      oursMinifiedKiB: Math.round(ours.bytes / 1024),
      largestInputs: ours.inputs
        .slice(0, 8)
        .map((i) => `${i.path.replace(/^.*node_modules\//, '')}: ${Math.round(i.bytes / 1024)} KiB`),
      goal: '≤ 250 KB gzipped',
    },
  });
}

const official = await import('@contentauth/c2pa-wasm');
WasmReader = official.WasmReader;
WasmBuilder = official.WasmBuilder;
official.initSync({ module: readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });
(globalThis as { FileReaderSync?: unknown }).FileReaderSync = class {
  readAsArrayBuffer(b: BytesBlob): ArrayBuffer {
    return b.data.slice().buffer;
  }
};
const only = process.env.OMT_BENCH_C2PA_ONLY;
if (only !== undefined && !['vectors', 'sign', 'stream', 'bundle'].includes(only))
  throw new Error(`OMT_BENCH_C2PA_ONLY must be vectors, sign, stream or bundle, not ${only}`);
const part = (name: string): boolean => only === undefined || only === name;
const results: BenchResult[] = [];
if (part('vectors')) await benchVectors(results);
if (part('sign')) await benchSign(results, makeBaselineJpeg(4032, 3024));
if (part('stream') && !process.argv.includes('--skip-1g')) await benchGiB(results);
if (part('bundle')) await benchBundle(results);
// On Node ≥ 24.7 ML-DSA signs natively (WebCrypto): `npm run bench:c2pa:node24` keeps its own file.
const major = Number(process.versions.node.split('.')[0]);
writeResults(`${only === undefined ? 'c2pa' : `c2pa-${only}`}${major >= 24 ? `-node${major}` : ''}`, results);
