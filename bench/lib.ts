import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** One benchmark figure: ours against a peer measured in the same run (ARCHITECTURE: Tests, vectors, benchmarks). */
export interface BenchResult {
  name: string;
  ours: number;
  peer: number;
  unit: string;
  /** ours / peer for "higher is better" units (ops/s, MB/s); peer / ours for "lower is better" ones. */
  ratio: number;
  /** Anything else worth keeping (peak RSS, sizes, which paths were compared). */
  extra?: Record<string, unknown>;
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

/** Writes bench/results/<file>.json with every result of one benchmark file, and prints a table. */
export function writeResults(file: string, results: BenchResult[]): void {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const m = machine();
  const out = results.map((r) => ({ ...r, ratio: Number(r.ratio.toFixed(3)), machine: m }));
  writeFileSync(
    new URL(`${file}.json`, dir),
    `${JSON.stringify(out.length === 1 ? out[0] : out, null, 2)}\n`,
  );
  console.table(
    results.map((r) => ({
      name: r.name,
      ours: Number(r.ours.toPrecision(4)),
      peer: Number(r.peer.toPrecision(4)),
      unit: r.unit,
      ratio: Number(r.ratio.toFixed(3)),
    })),
  );
}

/** Runs `fn` repeatedly for at least `ms` milliseconds (after a short warm-up) and returns operations per second. */
export async function opsPerSecond(
  fn: () => unknown | Promise<unknown>,
  ms = 1000,
  minOps = 3,
): Promise<number> {
  await fn();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms || n < minOps) {
    await fn();
    n++;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}
