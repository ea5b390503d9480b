import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OmtError } from '@omt/core/errors';
import type { CliContext } from './context.js';

/** Reads a file named on the command line, with a clear error for a missing or unreadable one. */
export async function readInputFile(ctx: CliContext, name: string): Promise<Uint8Array> {
  const full = path.resolve(ctx.cwd, name);
  try {
    return new Uint8Array(await readFile(full));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new OmtError('cli.file.not-found', `no such file: ${name}`, { cause: e });
    if (code === 'EISDIR') throw new OmtError('cli.file.unreadable', `${name} is a directory`, { cause: e });
    throw new OmtError('cli.file.unreadable', `cannot read ${name}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads a text file (UTF-8). */
export async function readTextFile(ctx: CliContext, name: string): Promise<string> {
  return new TextDecoder().decode(await readInputFile(ctx, name));
}

/**
 * Writes a file (given whole, or as byte runs written in order); `exclusive` refuses to overwrite
 * (`cli.file.exists`), `secret` makes it readable by the owner only (0600).
 */
export async function writeOutputFile(
  ctx: CliContext,
  name: string,
  data: string | Uint8Array | readonly Uint8Array[],
  opts: { exclusive?: boolean; secret?: boolean } = {},
): Promise<string> {
  const full = path.resolve(ctx.cwd, name);
  try {
    await writeFile(full, data, { flag: opts.exclusive ? 'wx' : 'w', mode: opts.secret ? 0o600 : 0o644 });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EEXIST') {
      throw new OmtError('cli.file.exists', `${name} exists already (use --force to overwrite)`, {
        cause: e,
      });
    }
    throw new OmtError('cli.file.unwritable', `cannot write ${name}: ${(e as Error).message}`, { cause: e });
  }
  return full;
}
