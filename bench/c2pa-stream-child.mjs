// Child process of bench/c2pa.bench.ts: validates a large JPEG streamed from disk with the BUILT
// library (dist/, as users run it — no TypeScript loader in memory) and prints timings and the
// peak resident set as JSON. Alternating runs, best of 3 each: the first pass over a fresh 1 GiB
// file pays for cold JIT and a page cache still flushing; peak RSS is read after our first run,
// before the node:crypto peer has run at all.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { validateAsset } from '@omt/c2pa/validate';

const file = process.argv[2];
const stream = async function* () {
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) {
    yield new Uint8Array(c.buffer, c.byteOffset, c.length);
  }
};
// VmHWM (Linux): this process's own peak resident set (getrusage's maxRSS carries over from the
// parent across exec).
const peak = () => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
};
const rssBefore = peak();
let oursMs = Number.POSITIVE_INFINITY;
let peerMs = Number.POSITIVE_INFINITY;
let report;
let peakRss = 0;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  report = await validateAsset({ stream }, 'image/jpeg');
  oursMs = Math.min(oursMs, performance.now() - t0);
  if (i === 0) peakRss = peak();
  const t1 = performance.now();
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c);
  h.digest();
  peerMs = Math.min(peerMs, performance.now() - t1);
}
process.stdout.write(
  `${JSON.stringify({ oursMs, peerMs, peakRss, rssBefore, state: report.state, failures: report.failureCodes })}\n`,
);
