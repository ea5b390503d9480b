/**
 * `omt kms init`: sets up the L1 root key provider of `$OMT_HOME` — a passphrase-protected local
 * key file (default) or a PKCS#11 token — creates a first L1 key in it, records the choice in
 * `$OMT_HOME/kms/config.json` and migrates the database. Refuses to run twice.
 */
import { mkdir, stat } from 'node:fs/promises';
import { OmtError } from '@omt/core/errors';
import type { RootKeyDescription } from '@omt/kms/ports';
import { type ParsedArgs, parseCommandArgs } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { ensureOmtHome } from '../../home.js';
import { type KmsCliConfig, kmsConfigPath, kmsDir, localKeyFilePath, writeKmsConfig } from './kms-config.js';
import { cliActor, openKmsDatabase } from './kms-session.js';
import { openLocalRootKeys, openPkcs11RootKeys, type Pkcs11Choice } from './root-key-provider-choice.js';

/** Flags of `omt kms init`. */
export const initOptions = {
  'pkcs11-module': { type: 'string' },
  'pkcs11-slot': { type: 'string' },
  'pkcs11-token': { type: 'string' },
  'pkcs11-pin-env': { type: 'string' },
  'scrypt-log-n': { type: 'string' },
} as const;

function pkcs11Choice(args: ParsedArgs): Pkcs11Choice | undefined {
  const modulePath = args.values['pkcs11-module'];
  const slot = args.values['pkcs11-slot'];
  const token = args.values['pkcs11-token'];
  const pinEnv = args.values['pkcs11-pin-env'];
  if (typeof modulePath !== 'string') {
    if (slot !== undefined || token !== undefined || pinEnv !== undefined)
      throw new UsageError('--pkcs11-slot/--pkcs11-token/--pkcs11-pin-env need --pkcs11-module');
    return undefined;
  }
  if ((slot === undefined) === (token === undefined))
    throw new UsageError('give exactly one of --pkcs11-slot <n> or --pkcs11-token <label>');
  if (typeof pinEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(pinEnv))
    throw new UsageError(
      '--pkcs11-pin-env <VAR> (the name of the variable holding the user PIN) is required',
    );
  if (typeof slot === 'string' && !/^\d{1,5}$/.test(slot))
    throw new UsageError('--pkcs11-slot expects a slot index (0, 1, …)');
  return {
    modulePath,
    pinEnv,
    ...(typeof slot === 'string' ? { slot: Number(slot) } : {}),
    ...(typeof token === 'string' ? { tokenLabel: token } : {}),
  };
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Runs `omt kms init`. */
export async function initKms(ctx: CliContext, argv: string[], help: string): Promise<CommandResult> {
  const args = parseCommandArgs(argv, initOptions, 0);
  if (args.values.help) {
    ctx.stdout(help);
    return { exitCode: 0 };
  }
  const hsm = pkcs11Choice(args);
  const logN = args.values['scrypt-log-n'];
  if (logN !== undefined && (hsm !== undefined || typeof logN !== 'string' || !/^(1\d|2[0-2])$/.test(logN)))
    throw new UsageError('--scrypt-log-n expects 10…22 (local key file only)');
  const home = await ensureOmtHome(ctx);
  if (await exists(kmsConfigPath(home)))
    throw new OmtError('cli.kms.initialized', `the KMS in ${home} is initialised already`);
  await mkdir(kmsDir(home), { recursive: true, mode: 0o700 });
  const label = 'omt first root key (omt kms init)';
  let first: RootKeyDescription;
  let config: KmsCliConfig;
  const createdAt = new Date().toISOString();
  if (hsm === undefined) {
    // Never reuse or overwrite a key file: it may hold the only copy of other roots.
    if (await exists(localKeyFilePath(home)))
      throw new OmtError(
        'cli.kms.initialized',
        `${localKeyFilePath(home)} exists already; not overwriting it`,
      );
    const rootKeys = await openLocalRootKeys(ctx, home, {
      create: true,
      ...(typeof logN === 'string' ? { scryptLogN: Number(logN) } : {}),
    });
    first = await rootKeys.createKey({ label });
    config = { format: 'omt-cli-kms/1', provider: 'local', firstRootKeyId: first.keyId, createdAt };
  } else {
    const opened = await openPkcs11RootKeys(ctx, hsm);
    try {
      first = await opened.rootKeys.createKey({ label });
    } finally {
      await opened.close();
    }
    config = { format: 'omt-cli-kms/1', provider: 'pkcs11', ...hsm, firstRootKeyId: first.keyId, createdAt };
  }
  await writeKmsConfig(ctx, home, config);
  const { database, audit } = await openKmsDatabase(ctx, home);
  try {
    await audit.append({
      actor: cliActor(ctx),
      action: 'kms.init',
      subject: `root:${first.keyId}`,
      outcome: 'success',
      details: { provider: config.provider },
    });
  } finally {
    await database.close();
  }
  const out = { home, provider: config.provider, config: kmsConfigPath(home), firstRootKey: first };
  if (args.values.json) printJson(ctx, out);
  else {
    ctx.stdout(
      `KMS initialised in ${home} (${config.provider === 'local' ? `local key file ${localKeyFilePath(home)}` : `PKCS#11 token via ${hsm?.modulePath}`})\n`,
    );
    ctx.stdout(`first L1 root key: ${first.keyId} (${first.state})\n`);
    ctx.stdout(`next: omt kms tenant create <tenant> --services media\n`);
  }
  return { exitCode: 0 };
}
