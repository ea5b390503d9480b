import type { z } from 'zod';
import { OmtError } from './errors.js';

/**
 * Parses outside input with a zod schema (ARCHITECTURE rule 4). On failure throws
 * `OmtError` with `code` (default `core.input.invalid`) and a message naming every
 * offending path, so callers see what was wrong without a stack dive.
 *
 * @example
 * ```ts
 * const opts = parseInput(SignOptionsSchema, untrusted, 'core.input.invalid');
 * ```
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code = 'core.input.invalid',
  what = 'input',
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  throw new OmtError(code, `invalid ${what}: ${issues}`, { cause: r.error });
}
