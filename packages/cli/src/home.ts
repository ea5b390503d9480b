import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CliContext } from './context.js';

/**
 * The CLI keeps its state (embedded database, local key material, configuration) in
 * `$OMT_HOME`, default `./.omt` relative to the working directory.
 */
export function omtHome(ctx: CliContext): string {
  const home = ctx.env.OMT_HOME;
  return path.resolve(ctx.cwd, home !== undefined && home !== '' ? home : '.omt');
}

/** Creates `$OMT_HOME` (mode 0700: it holds key material) if missing and returns its path. */
export async function ensureOmtHome(ctx: CliContext): Promise<string> {
  const home = omtHome(ctx);
  await mkdir(home, { recursive: true, mode: 0o700 });
  return home;
}
