/**
 * Streams bytes from a file on disk into another without holding either in memory, and publishes
 * the output only when the whole stream succeeded: the bytes go to a temp file (mode 0600) beside
 * the target, which is fsynced and then linked (new file) or renamed (`--force`) into place. On any
 * error the temp file is removed, so a refused or tampered decryption leaves no partial plaintext.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, type FileHandle, link, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { OmtError } from '@omt/core/errors';
import type { CliContext } from '../../context.js';

/** Opens an input file as a bounded-memory byte stream (64 KiB reads), with clear errors. */
export async function openInputStream(
  ctx: CliContext,
  name: string,
): Promise<{ chunks: AsyncIterable<Uint8Array>; size: number; close(): Promise<void> }> {
  const full = path.resolve(ctx.cwd, name);
  let fh: FileHandle;
  try {
    fh = await open(full, 'r');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new OmtError('cli.file.not-found', `no such file: ${name}`, { cause: e });
    throw new OmtError('cli.file.unreadable', `cannot read ${name}: ${(e as Error).message}`, { cause: e });
  }
  const st = await fh.stat();
  if (st.isDirectory()) {
    await fh.close();
    throw new OmtError('cli.file.unreadable', `${name} is a directory`);
  }
  const stream = fh.createReadStream({ highWaterMark: 64 * 1024, autoClose: false });
  return {
    chunks: stream as AsyncIterable<Uint8Array>,
    size: st.size,
    close: async () => {
      stream.destroy();
      await fh.close();
    },
  };
}

/**
 * Writes every chunk of `chunks` to `name` atomically. Refuses an existing output unless `force`
 * (`cli.file.exists`, checked before any work and again, atomically, when publishing).
 * Returns the number of bytes written.
 */
export async function writeStreamAtomically(
  ctx: CliContext,
  name: string,
  chunks: AsyncIterable<Uint8Array>,
  opts: { force?: boolean } = {},
): Promise<{ path: string; bytes: number }> {
  const full = path.resolve(ctx.cwd, name);
  if (opts.force !== true && (await exists(full))) {
    throw new OmtError('cli.file.exists', `${name} exists already (use --force to overwrite)`);
  }
  const temp = path.join(
    path.dirname(full),
    `.${path.basename(full)}.${randomBytes(6).toString('hex')}.partial`,
  );
  let fh: FileHandle;
  try {
    fh = await open(temp, 'wx', 0o600);
  } catch (e) {
    throw new OmtError('cli.file.unwritable', `cannot write ${name}: ${(e as Error).message}`, { cause: e });
  }
  let bytes = 0;
  let published = false;
  try {
    try {
      for await (const chunk of chunks) {
        // Awaiting each write is the backpressure: at most one chunk is in flight.
        await fh.write(chunk);
        bytes += chunk.length;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      if (opts.force === true) await rename(temp, full);
      else {
        await link(temp, full);
        await unlink(temp);
      }
      published = true;
    } catch (e) {
      if ((e as { code?: string }).code === 'EEXIST') {
        throw new OmtError('cli.file.exists', `${name} exists already (use --force to overwrite)`, {
          cause: e,
        });
      }
      throw new OmtError('cli.file.unwritable', `cannot write ${name}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  } finally {
    if (!published) await unlink(temp).catch(() => {});
  }
  return { path: full, bytes };
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
