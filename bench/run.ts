// Runs every bench/*.bench.ts in its own process (so memory figures are not mixed) one after another.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, ['--conditions=omt-source', '--import', 'tsx', `${dir}${f}`], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`${f} failed with exit code ${r.status}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
