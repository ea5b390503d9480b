// Every error code used in the sources is documented in docs/errors.md (and so kept stable).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['core', 'adapters', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : name.endsWith('.ts') ? [full] : [];
  });
}

it('docs/errors.md lists every error code the core, adapters and cli use', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const used = new Set<string>();
  for (const pkg of PACKAGES) {
    for (const file of sources(join(root, 'packages', pkg, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(
        /'((?:core|adapters|cli)\.[a-z0-9-]+\.[a-z0-9.-]+)'/g,
      )) {
        used.add(m[1] as string);
      }
    }
  }
  expect(used.size).toBeGreaterThan(30);
  const missing = [...used].filter((code) => !doc.includes(`\`${code}\``)).sort();
  expect(missing).toEqual([]);
});
