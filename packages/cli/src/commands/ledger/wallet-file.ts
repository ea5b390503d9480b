import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fromHex, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { parseJson } from '@omt/core/jcs';
import { platformRandom, type RandomSource } from '@omt/core/random';
import { NETWORKS, type NetworkName } from '@omt/ledger/network';
import type { CliContext } from '../../context.js';
import { readInputFile, writeOutputFile } from '../../files.js';

/** The wallet's seed file inside `$OMT_HOME` (mode 0600; its content is never printed). */
export const WALLET_FILE = 'wallet.json';

/** What the seed file holds. */
export interface WalletFile {
  readonly v: 1;
  readonly network: NetworkName;
  /** 32-byte BIP32 seed, hex. Secret. */
  readonly seed: string;
  readonly createdAt: string;
}

/** The file's shape (checked by hand: the CLI has no schema library of its own). */
function isWalletFile(v: unknown): v is WalletFile {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    Object.keys(o).sort().join(',') === 'createdAt,network,seed,v' &&
    o.v === 1 &&
    typeof o.network === 'string' &&
    Object.hasOwn(NETWORKS, o.network) &&
    typeof o.seed === 'string' &&
    /^(?:[0-9a-f]{2}){16,64}$/.test(o.seed) &&
    typeof o.createdAt === 'string'
  );
}

/** Path of the seed file. */
export function walletFilePath(home: string): string {
  return path.join(home, WALLET_FILE);
}

/**
 * Creates the seed file (32 random bytes), refusing to overwrite one (`cli.wallet.exists`):
 * losing a seed loses every output it controls.
 */
export async function createWalletFile(
  ctx: CliContext,
  home: string,
  network: NetworkName,
  random: RandomSource = platformRandom,
): Promise<WalletFile> {
  const file: WalletFile = {
    v: 1,
    network,
    seed: toHex(random(32)),
    createdAt: new Date().toISOString(),
  };
  try {
    await writeOutputFile(ctx, walletFilePath(home), `${JSON.stringify(file, null, 2)}\n`, {
      exclusive: true,
      secret: true,
    });
  } catch (e) {
    if (e instanceof OmtError && e.code === 'cli.file.exists')
      throw new OmtError(
        'cli.wallet.exists',
        `a wallet exists already in ${home} (it is never overwritten; move it away first)`,
      );
    throw e;
  }
  return file;
}

/**
 * Reads the seed file. Missing → `cli.wallet.missing`; unparsable → `cli.wallet.malformed`
 * (the message never quotes the file); readable by group or others → `cli.wallet.insecure`
 * (like ssh with a private key, a seed others could read is refused rather than used).
 */
export async function readWalletFile(ctx: CliContext, home: string): Promise<WalletFile> {
  const full = walletFilePath(home);
  let mode: number;
  try {
    mode = (await stat(full)).mode;
  } catch {
    throw new OmtError('cli.wallet.missing', `no wallet in ${home} (run: omt wallet init)`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0)
    throw new OmtError(
      'cli.wallet.insecure',
      `${full} is readable by others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${full}`,
    );
  const bytes = await readInputFile(ctx, full);
  let value: unknown;
  try {
    value = parseJson(bytes);
  } catch {
    value = undefined;
  }
  if (!isWalletFile(value)) throw new OmtError('cli.wallet.malformed', `${full} is not an omt wallet file`);
  return value;
}

/** The seed bytes of a wallet file. */
export function walletSeed(file: WalletFile): Uint8Array {
  return fromHex(file.seed);
}
