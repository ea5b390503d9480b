// Adds lockfile entries for platform-specific optional dependencies that this workplace's npm
// registry mirror does not serve (so npm cannot record them), so that `npm ci` accepts the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
const PLAT =
  /-(android|darwin|freebsd|linux|win32|openbsd|sunos|aix|netbsd)-(arm64|x64|arm|ia32|ppc64|s390x|riscv64|loong64|mips64el)(-(musl|gnu|gnueabihf|msvc|eabi))?$/;
let added = 0;
for (const [loc, meta] of Object.entries({ ...pkgs })) {
  for (const [dep, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (pkgs[key] || (loc && pkgs[`${loc}/node_modules/${dep}`])) continue;
    const m = PLAT.exec(dep);
    if (!m) continue;
    const os = m[1] === 'win32' ? 'win32' : m[1];
    const entry = {
      version: range.replace(/^[\^~=]/, ''),
      dev: meta.dev || undefined,
      optional: true,
      os: [os],
      cpu: [m[2]],
    };
    if (m[4] === 'musl') entry.libc = ['musl'];
    if (m[4] === 'gnu') entry.libc = ['glibc'];
    pkgs[key] = JSON.parse(JSON.stringify(entry));
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform entries`);
