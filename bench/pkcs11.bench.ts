// Cold unseal through SoftHSM2: the latency of one L1 unwrap (an L2 key) done by the token —
// Pkcs11RootKeyProvider.unwrap = find the key object + C_DecryptInit(CKM_AES_GCM) + C_Decrypt —
// against the same unwrap done locally in WebCrypto (MemoryRootKeyProvider: AES-256-GCM, same
// blob layout and input checks). Also the cost of a cold process: open (C_Initialize, session,
// C_Login) + first unwrap.
// Run: node --conditions=omt-source --import tsx bench/pkcs11.bench.ts
// Needs softhsm2 (`apt-get install softhsm2`); exits 0 with a note when it is missing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPkcs11RootKeyProvider } from '@omt/adapters/pkcs11';
import { MemoryRootKeyProvider } from '@omt/kms/memory-root-key-provider';
import type { RootKeyProvider } from '@omt/kms/ports';
import { writeResults } from './lib.js';

const MODULE = process.env.OMT_PKCS11_MODULE || '/usr/lib/softhsm/libsofthsm2.so';
const UTIL = '/usr/bin/softhsm2-util';
const SAMPLES = 2000;
const COLD_OPENS = 15;

if (!existsSync(UTIL) || !existsSync(MODULE)) {
  console.log(`pkcs11 bench skipped: ${UTIL} or ${MODULE} missing (apt-get install softhsm2)`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'omt-softhsm-bench-'));
mkdirSync(join(dir, 'tokens'));
const conf = join(dir, 'softhsm2.conf');
writeFileSync(
  conf,
  `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
);
execFileSync(UTIL, ['--init-token', '--free', '--label', 'bench', '--pin', '1234', '--so-pin', '12345678'], {
  env: { ...process.env, SOFTHSM2_CONF: conf },
  stdio: 'pipe',
});
process.env.SOFTHSM2_CONF = conf;
const env = { BENCH_PIN: '1234' };
const open = () =>
  openPkcs11RootKeyProvider({ modulePath: MODULE, tokenLabel: 'bench', pinEnv: 'BENCH_PIN', env });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function latencies(provider: RootKeyProvider, keyId: string, n: number): Promise<number[]> {
  const aad = new TextEncoder().encode('tenant=bench;level=2;version=1');
  const key = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const blob = await provider.wrap(keyId, key, aad);
  for (let i = 0; i < 50; i++) await provider.unwrap(keyId, blob, aad); // warm the JIT, not a cache: each call reaches L1
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const got = await provider.unwrap(keyId, blob, aad);
    out.push(performance.now() - t0);
    if (got[0] !== key[0]) throw new Error('unwrap returned the wrong key');
  }
  return out.sort((a, b) => a - b);
}

try {
  const hsm = await open();
  const { keyId } = await hsm.createKey({ label: 'bench L1' });
  const soft = new MemoryRootKeyProvider();
  const softKey = await soft.createKey();

  const ours = await latencies(hsm, keyId, SAMPLES);
  const peer = await latencies(soft, softKey.keyId, SAMPLES);

  // Parallel throughput with the default pool (2 sessions).
  const aad = new Uint8Array(8);
  const blob = await hsm.wrap(keyId, new Uint8Array(32), aad);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 1000 }, () => hsm.unwrap(keyId, blob, aad)));
  const parallelOps = 1000 / ((performance.now() - t0) / 1000);
  await hsm.close();

  // Cold process path: open (C_Initialize, C_OpenSession, C_Login) + first unwrap + close.
  const cold: number[] = [];
  for (let i = 0; i < COLD_OPENS; i++) {
    const t = performance.now();
    const p = await open();
    await p.unwrap(keyId, blob, aad);
    cold.push(performance.now() - t);
    await p.close();
  }
  cold.sort((a, b) => a - b);

  const [o50, o99, p50, p99] = [
    percentile(ours, 50),
    percentile(ours, 99),
    percentile(peer, 50),
    percentile(peer, 99),
  ];
  const extra = {
    ours: 'Pkcs11RootKeyProvider.unwrap via SoftHSM2 2.6 (find key + C_DecryptInit AES-GCM + C_DecryptAsync)',
    peer: 'MemoryRootKeyProvider.unwrap (WebCrypto AES-256-GCM, non-extractable key)',
    samples: SAMPLES,
    oursP50Ms: Number(o50.toFixed(4)),
    oursP99Ms: Number(o99.toFixed(4)),
    peerP50Ms: Number(p50.toFixed(4)),
    peerP99Ms: Number(p99.toFixed(4)),
    oursMaxMs: Number((ours.at(-1) as number).toFixed(3)),
    parallelUnwrapsPerSecond2Sessions: Math.round(parallelOps),
    coldOpenPlusFirstUnwrapMedianMs: Number(percentile(cold, 50).toFixed(2)),
    coldOpenPlusFirstUnwrapMaxMs: Number((cold.at(-1) as number).toFixed(2)),
  };
  writeResults('pkcs11', [
    {
      name: 'L1 unwrap latency p50 (SoftHSM2 vs WebCrypto)',
      ours: o50,
      peer: p50,
      unit: 'ms',
      ratio: p50 / o50,
      extra,
    },
    {
      name: 'L1 unwrap latency p99 (SoftHSM2 vs WebCrypto)',
      ours: o99,
      peer: p99,
      unit: 'ms',
      ratio: p99 / o99,
    },
  ]);
  console.log(
    `parallel (2 sessions): ${Math.round(parallelOps)} unwraps/s; cold open + first unwrap: median ${extra.coldOpenPlusFirstUnwrapMedianMs} ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
