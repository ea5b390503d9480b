// Signature suites: keygen / sign / verify ops/s. 'ours' = the portable (noble) path;
// 'peer' = the native WebCrypto path where the suite has one (Ed25519, ES256/384/512, ML-DSA on
// Node ≥ 24.7), else liboqs WebAssembly for ML-DSA (the suite's 'wasm' path, what 'auto' uses on
// older Node), else node:crypto where Node has the algorithm (Ed448, ES256K, RSA verify),
// SLH-DSA-128f against its liboqs WebAssembly path too,
// else peer = ours with extra.peer = 'none available' (SLH-DSA-128s, hybrid: 'auto' path).
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify, webcrypto } from 'node:crypto';
import { getSuite, type SignatureSuite, type SuiteId } from '@omt/core/suites';
import { type BenchResult, opsPerSecond, writeResults } from './lib.js';

const msg = new TextEncoder().encode('OpenMediaTrust benchmark message: 64 bytes of payload to sign.');
const MS = 400;
const results: BenchResult[] = [];

function push(name: string, ours: number, peer: number, extra: Record<string, unknown>): void {
  results.push({ name, ours, peer, unit: 'ops/s', ratio: ours / peer, extra });
}

async function benchPortableVsNative(
  id: SuiteId,
  native = 'native (WebCrypto)',
  label: string = id,
  path: 'native' | 'wasm' = 'native',
): Promise<void> {
  const s = getSuite(id);
  const kp = await s.generateKeyPair();
  const sig = await s.sign(kp.secretKey, msg);
  const extra = {
    ours: 'portable (noble)',
    peer: native,
    sizes: { pk: kp.publicKey.length, sig: sig.length },
  };
  push(
    `${label} keygen`,
    await opsPerSecond(() => s.generateKeyPair(), MS),
    await opsPerSecond(() => s.generateKeyPair(), MS),
    {
      ...extra,
      peer: 'same (keygen is portable on both paths)',
    },
  );
  push(
    `${label} sign`,
    await opsPerSecond(() => s.sign(kp.secretKey, msg, { implementation: 'portable' }), MS),
    await opsPerSecond(() => s.sign(kp.secretKey, msg, { implementation: path }), MS),
    extra,
  );
  push(
    `${label} verify`,
    await opsPerSecond(() => s.verify(kp.publicKey, msg, sig, { implementation: 'portable' }), MS),
    await opsPerSecond(() => s.verify(kp.publicKey, msg, sig, { implementation: path }), MS),
    extra,
  );
}

async function benchVsNode(
  id: SuiteId,
  nodeAlg: 'ed448' | 'ec',
  hash: string | null,
  curve?: string,
): Promise<void> {
  const s = getSuite(id);
  const kp = await s.generateKeyPair();
  const sig = await s.sign(kp.secretKey, msg);
  const gen = (): ReturnType<typeof generateKeyPairSync> =>
    nodeAlg === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: curve as string })
      : generateKeyPairSync('ed448');
  const nk = gen();
  const opts = nodeAlg === 'ec' ? { dsaEncoding: 'ieee-p1363' as const } : {};
  const nsig = nodeSign(hash, msg, { key: nk.privateKey, ...opts });
  const native = await s.nativeAvailable();
  const extra = {
    ours: native ? 'our suite, auto = native path' : 'portable (noble)',
    peer: 'node:crypto (OpenSSL), raw',
  };
  push(`${id} keygen`, await opsPerSecond(() => s.generateKeyPair(), MS), await opsPerSecond(gen, MS), extra);
  push(
    `${id} sign`,
    await opsPerSecond(() => s.sign(kp.secretKey, msg), MS),
    await opsPerSecond(() => nodeSign(hash, msg, { key: nk.privateKey, ...opts }), MS),
    extra,
  );
  push(
    `${id} verify`,
    await opsPerSecond(() => s.verify(kp.publicKey, msg, sig), MS),
    await opsPerSecond(() => nodeVerify(hash, msg, { key: nk.publicKey, ...opts }, nsig), MS),
    extra,
  );
}

async function benchNoPeer(id: SuiteId, ms = MS, minOps = 3): Promise<void> {
  const s: SignatureSuite = getSuite(id);
  const kp = await s.generateKeyPair();
  const sig = await s.sign(kp.secretKey, msg);
  const extra = {
    ours: "the suite's 'auto' path",
    peer: 'none available',
    native: await s.nativeAvailable(),
  };
  const k = await opsPerSecond(() => s.generateKeyPair(), ms, minOps);
  push(`${id} keygen`, k, k, extra);
  const sg = await opsPerSecond(() => s.sign(kp.secretKey, msg), ms, minOps);
  push(`${id} sign`, sg, sg, extra);
  const v = await opsPerSecond(() => s.verify(kp.publicKey, msg, sig), ms, minOps);
  push(`${id} verify`, v, v, extra);
}

async function benchRsaVerify(id: 'PS256' | 'RS256'): Promise<void> {
  const name = id === 'PS256' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5';
  const kp = await webcrypto.subtle.generateKey(
    { name, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const sig = new Uint8Array(await webcrypto.subtle.sign({ name, saltLength: 32 }, kp.privateKey, msg));
  const pkcs1 = new Uint8Array(await webcrypto.subtle.exportKey('spki', kp.publicKey)).slice(24); // 2048-bit SPKI: 24-byte header
  const s = getSuite(id);
  if (!(await s.verify(pkcs1, msg, sig))) throw new Error('RSA bench setup failed');
  const ours = await opsPerSecond(() => s.verify(pkcs1, msg, sig), MS);
  const peer = await opsPerSecond(
    () => webcrypto.subtle.verify({ name, saltLength: 32 }, kp.publicKey, sig, msg),
    MS,
  );
  push(`${id} verify (2048)`, ours, peer, {
    ours: 'our suite over WebCrypto (PKCS#1 parse + cached import)',
    peer: 'raw crypto.subtle.verify',
  });
}

const t0 = performance.now();
for (const id of ['Ed25519', 'ES256', 'ES384', 'ES512'] as SuiteId[]) await benchPortableVsNative(id);
await benchVsNode('Ed448', 'ed448', null);
await benchVsNode('ES256K', 'ec', 'sha256', 'secp256k1');
// ES256K has a node:crypto path in the suite when the runtime offers one: portable vs native.
if (await getSuite('ES256K').nativeAvailable())
  await benchPortableVsNative('ES256K', 'native (node:crypto via the suite)', 'ES256K portable↔native');
for (const id of [
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
  'ML-DSA-44+Ed25519',
  'ML-DSA-65+ES256',
  'ML-DSA-87+ES384',
] as SuiteId[]) {
  // ML-DSA has a native WebCrypto path on Node ≥ 24.7, else liboqs WebAssembly: compare with it.
  if (id.startsWith('ML-DSA') && !id.includes('+')) {
    if (await getSuite(id).nativeAvailable()) await benchPortableVsNative(id);
    else await benchPortableVsNative(id, 'liboqs WebAssembly (@oqs/liboqs-js)', id, 'wasm');
  } else {
    await benchNoPeer(id);
  }
}
// SLH-DSA: noble against liboqs WebAssembly (what 'auto' uses on Node); 128s is too slow to time
// both ways, so it runs the 'auto' path only.
await benchPortableVsNative(
  'SLH-DSA-SHA2-128f',
  'liboqs WebAssembly (@oqs/liboqs-js)',
  'SLH-DSA-SHA2-128f',
  'wasm',
);
await benchPortableVsNative(
  'SLH-DSA-SHAKE-128f',
  'liboqs WebAssembly (@oqs/liboqs-js)',
  'SLH-DSA-SHAKE-128f',
  'wasm',
);
await benchNoPeer('SLH-DSA-SHA2-128s', 1, 1);
await benchRsaVerify('PS256');
await benchRsaVerify('RS256');
console.log(`suites bench took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
// Under Node ≥ 24.7 (npm run bench:node24) ML-DSA has a native WebCrypto peer: keep those figures apart.
const major = Number(process.versions.node.split('.')[0]);
writeResults(major >= 24 ? `suites-node${major}` : 'suites', results);
