// @omt/kms against the AWS Encryption SDK for JavaScript (@aws-crypto/client-node) in the same run:
// - 1 KiB records, encrypt+decrypt round trips per second: ours with warm caches (and the batched
//   audit log on) vs AWS's raw AES keyring with its committing suite without signatures
//   (ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY), also with its caching materials manager;
// - a large file (256 MiB; OMT_BENCH_KMS_MIB to change) streamed through encryptStream and
//   decryptStream vs raw node:crypto AES-256-GCM over the same bytes in 64 KiB chunks, peak RSS;
// - L1 calls per 1,000 warm operations; warm 1 KiB encrypt latency p50/p99; revoke-to-refusal time.
// Run: node --conditions=omt-source --import tsx bench/kms.bench.ts
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  NodeCachingMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { nodeAead } from '@omt/adapters/kms-local';
import { AuditLog } from '@omt/core/audit-log';
import { MemoryAuditLogStore } from '@omt/core/audit-log-memory';
import { createKms } from '@omt/kms';
import { MemoryKeyStore } from '@omt/kms/memory-key-store';
import { MemoryRootKeyProvider } from '@omt/kms/memory-root-key-provider';
import type { AeadEngine } from '@omt/kms/ports';
import { type BenchResult, opsPerSecond, writeResults } from './lib.js';

const results: BenchResult[] = [];
const P = 'svc:bench';

async function makeKms(audited = true, aead?: AeadEngine) {
  const rootKeys = new MemoryRootKeyProvider();
  const inst = createKms({
    rootKeys,
    keyStore: new MemoryKeyStore(),
    ...(aead === undefined ? {} : { aead }),
    ...(audited ? { audit: new AuditLog(new MemoryAuditLogStore(), { log: 'kms' }) } : {}),
  });
  for (const tenant of ['acme', 'globex']) {
    await inst.governance.createTenant({
      actor: 'ops',
      tenant,
      services: ['media'],
      grants: [{ principal: P, service: '*', operations: ['encrypt', 'decrypt'] }],
    });
  }
  return { ...inst, rootKeys };
}

const only = process.env.OMT_BENCH_KMS_ONLY;

// ---------------------------------------------------------------------------------------------
// 1 KiB records
if (only === undefined || only === 'records') {
  const data = randomBytes(1024);
  const opts = {
    principal: P,
    tenant: 'acme',
    service: 'media',
    objectId: 'rec',
    context: { purpose: 'bench' },
  };
  const measure = async (aead?: AeadEngine): Promise<number> => {
    const { kms } = await makeKms(true, aead);
    const r = await opsPerSecond(async () => {
      const env = await kms.encrypt(data, opts);
      await kms.decrypt(env, { principal: P });
    }, 3000);
    await kms.flushAudit();
    return r;
  };
  const oursWeb = await measure();
  const ours = await measure(nodeAead);

  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const keyring = new RawAesKeyringNode({
    keyName: 'bench',
    keyNamespace: 'omt',
    unencryptedMasterKey: randomBytes(32),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const suiteId = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
  const encryptionContext = { purpose: 'bench', tenant: 'acme', objectId: 'rec' };
  const aws = await opsPerSecond(async () => {
    const { result } = await encrypt(keyring, data, { suiteId, encryptionContext });
    await decrypt(keyring, result);
  }, 3000);
  const cmm = new NodeCachingMaterialsManager({
    backingMaterials: keyring,
    cache: getLocalCryptographicMaterialsCache(100),
    maxAge: 60_000,
    maxMessagesEncrypted: 1_000_000,
  });
  const awsCached = await opsPerSecond(async () => {
    const { result } = await encrypt(cmm, data, { suiteId, encryptionContext });
    await decrypt(cmm, result);
  }, 3000);
  results.push({
    name: '1 KiB record encrypt+decrypt (warm caches, audited, nodeAead) vs AWS Encryption SDK raw AES keyring, COMMIT_KEY suite',
    ours,
    peer: aws,
    unit: 'ops/s',
    ratio: ours / aws,
    extra: {
      oursWebCryptoEngine: oursWeb,
      ratioWebCryptoEngine: oursWeb / aws,
      awsWithCachingCmm: awsCached,
      ratioVsCachingCmm: ours / awsCached,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// L1 calls per 1,000 warm ops, warm latency, revoke-to-refusal
if (only === undefined || only === 'records') {
  const { kms, governance } = await makeKms(true, nodeAead);
  const data = randomBytes(1024);
  const opts = { principal: P, tenant: 'acme', service: 'media', objectId: 'rec' };
  await kms.decrypt(await kms.encrypt(data, opts), { principal: P });
  const before = kms.stats;
  const lat: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = performance.now();
    const env = await kms.encrypt(data, opts);
    lat.push(performance.now() - t);
    await kms.decrypt(env, { principal: P });
  }
  const after = kms.stats;
  lat.sort((a, b) => a - b);
  const l1 = after.l1KeyCalls - before.l1KeyCalls + (after.l1DescribeCalls - before.l1DescribeCalls);
  results.push({
    name: 'L1 calls per 1,000 warm encrypt+decrypt pairs (goal 0)',
    ours: l1,
    peer: 0,
    unit: 'calls',
    ratio: l1 === 0 ? 1 : 0,
    extra: {
      keyCalls: after.l1KeyCalls - before.l1KeyCalls,
      describeCalls: after.l1DescribeCalls - before.l1DescribeCalls,
    },
  });
  const quiet = await makeKms(false, nodeAead);
  const qlat: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = performance.now();
    const env = await quiet.kms.encrypt(data, opts);
    qlat.push(performance.now() - t);
    await quiet.kms.decrypt(env, { principal: P });
  }
  qlat.sort((a, b) => a - b);
  const p50 = lat[Math.floor(lat.length * 0.5)] as number;
  const p99 = lat[Math.floor(lat.length * 0.99)] as number;
  results.push({
    name: 'warm 1 KiB encrypt latency p99 (goal < 1 ms; peer = the 1 ms goal)',
    ours: p99,
    peer: 1,
    unit: 'ms',
    ratio: 1 / p99,
    extra: {
      p50,
      audited: true,
      unauditedP50: qlat[Math.floor(qlat.length * 0.5)],
      unauditedP99: qlat[Math.floor(qlat.length * 0.99)],
    },
  });

  // Revoke-to-refusal: from the start of the governance call to the first refused decrypt.
  const env = await kms.encrypt(data, opts);
  const times: Record<string, number[]> = { revokeTenant: [], disableRoot: [] };
  for (let round = 0; round < 20; round++) {
    await kms.decrypt(env, { principal: P }); // warm
    for (const how of ['revokeTenant', 'disableRoot'] as const) {
      await kms.decrypt(env, { principal: P });
      const t = performance.now();
      if (how === 'revokeTenant') await governance.revokeTenant({ actor: 'ops', tenant: 'acme' });
      else await governance.disableRoot({ actor: 'ops', tenant: 'acme' });
      let refused = false;
      try {
        await kms.decrypt(env, { principal: P });
      } catch (e) {
        refused = (e as { code?: string }).code === 'kms.key.revoked';
      }
      (times[how] as number[]).push(performance.now() - t);
      if (!refused) throw new Error(`${how}: the decrypt was not refused`);
      if (how === 'revokeTenant') await governance.reinstateTenant({ actor: 'ops', tenant: 'acme' });
      else await governance.enableRoot({ actor: 'ops', tenant: 'acme' });
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const revoke = med(times.revokeTenant as number[]);
  results.push({
    name: 'revoke-to-refusal, median of 20 (governance revokeTenant; goal < 100 ms = peer)',
    ours: revoke,
    peer: 100,
    unit: 'ms',
    ratio: 100 / revoke,
    extra: { disableRootMedianMs: med(times.disableRoot as number[]), includesAuditWrites: true },
  });
}

// ---------------------------------------------------------------------------------------------
// Large file streaming
if (only === undefined || only === 'stream') {
  const MiB = Number(process.env.OMT_BENCH_KMS_MIB ?? 256);
  const total = MiB * 1024 * 1024;
  const chunk = randomBytes(1024 * 1024);
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let o = 0; o < total; o += chunk.length) yield chunk;
  }
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const roundTrip = async (aead?: AeadEngine, frameSize = 65536): Promise<number> => {
    const opts = { principal: P, tenant: 'acme', service: 'media', objectId: 'big', frameSize };
    const { kms } = await makeKms(false, aead);
    // Encrypt and decrypt in one pipeline: nothing is held but the frames in flight.
    const t0 = performance.now();
    let out = 0;
    const sealed = kms.encryptStream(source(), opts);
    for await (const c of kms.decryptStream(sealed, {
      principal: P,
    }) as unknown as AsyncIterable<Uint8Array>) {
      out += c.length;
    }
    if (out !== total) throw new Error('stream round trip lost bytes');
    return (performance.now() - t0) / 1000;
  };
  const webSec = await roundTrip();
  const oursSec = await roundTrip(nodeAead);
  const bigFrameSec = await roundTrip(nodeAead, 1024 * 1024);
  const rssOurs = peakRss;

  // Raw node:crypto AES-256-GCM over the same bytes in 64 KiB pieces, encrypt then decrypt.
  const key = randomBytes(32);
  const t1 = performance.now();
  for await (const c of source()) {
    for (let o = 0; o < c.length; o += 65536) {
      const iv = randomBytes(12);
      const e = createCipheriv('aes-256-gcm', key, iv);
      const ct = e.update(c.subarray(o, o + 65536));
      e.final();
      const d = createDecipheriv('aes-256-gcm', key, iv);
      d.setAuthTag(e.getAuthTag());
      d.update(ct);
      d.final();
    }
  }
  const rawSec = (performance.now() - t1) / 1000;
  clearInterval(sampler);
  const oursMBs = (2 * MiB) / oursSec;
  const rawMBs = (2 * MiB) / rawSec;
  results.push({
    name: `${MiB} MiB stream encrypt+decrypt (64 KiB frames, nodeAead) vs raw node:crypto AES-256-GCM`,
    ours: oursMBs,
    peer: rawMBs,
    unit: 'MiB/s',
    ratio: oursMBs / rawMBs,
    extra: {
      oursWebCryptoEngineMiBs: (2 * MiB) / webSec,
      ours1MiBFramesMiBs: (2 * MiB) / bigFrameSec,
      ratioWebCryptoEngine: (2 * MiB) / webSec / rawMBs,
      peakRssMiB: Math.round(rssOurs / 2 ** 20),
      rssBeforeStreamingMiB: Math.round(rssBefore / 2 ** 20),
      rssGrowthWhileStreamingMiB: Math.round((rssOurs - rssBefore) / 2 ** 20),
      goalRssMiB: 128,
      note: 'peak RSS of the whole bench process (tsx, AWS SDK and earlier runs loaded); run the stream alone with OMT_BENCH_KMS_ONLY=stream',
    },
  });
}

writeResults(only === undefined ? 'kms' : `kms-${only}`, results);
