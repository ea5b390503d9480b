import { type $ZodType, type output, safeParse } from 'zod/v4/core';
import { OmtError } from './errors.js';

/**
 * Parses outside input with a zod schema (ARCHITECTURE rule 4). Any zod 4 schema works —
 * the browser-safe packages build theirs with `zod/mini`, which keeps bundles small. On failure throws
 * `OmtError` with `code` (default `core.input.invalid`) and a message naming every
 * offending path, so callers see what was wrong without a stack dive.
 *
 * @example
 * ```ts
 * const opts = parseInput(SignOptionsSchema, untrusted, 'core.input.invalid');
 * ```
 */
export function parseInput<S extends $ZodType>(
  schema: S,
  value: unknown,
  code = 'core.input.invalid',
  what = 'input',
): output<S> {
  const r = safeParse(schema, value);
  if (r.success) return r.data;
  const issues = r.error.issues
    .slice(0, 5)
    // String() names symbol keys too (Array.join would throw a TypeError on them).
    .map((i) => `${i.path.length ? i.path.map((k) => String(k)).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  throw new OmtError(code, `invalid ${what}: ${issues}`, { cause: r.error });
}
