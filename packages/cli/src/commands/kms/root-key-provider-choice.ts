/**
 * Opens the L1 root key provider a config names: the local key file (passphrase from
 * `OMT_KMS_PASSPHRASE`) or a PKCS#11 token (PIN from the environment variable the config names).
 */
import { type LocalRootKeyProvider, openLocalRootKeyProvider } from '@omt/adapters/kms-local';
import { openPkcs11RootKeyProvider } from '@omt/adapters/pkcs11';
import { OmtError } from '@omt/core/errors';
import type { RootKeyProvider } from '@omt/kms/ports';
import type { CliContext } from '../../context.js';
import { type KmsCliConfig, localKeyFilePath } from './kms-config.js';

/** An open provider and how to release it. */
export interface OpenRootKeys {
  readonly rootKeys: RootKeyProvider;
  close(): Promise<void>;
}

/** The passphrase of the local key file; never prompted for, never echoed. */
export function kmsPassphrase(ctx: CliContext): string {
  const p = ctx.env.OMT_KMS_PASSPHRASE;
  if (p === undefined || p === '') {
    throw new OmtError(
      'cli.kms.passphrase-missing',
      'OMT_KMS_PASSPHRASE is not set: the local KMS key file needs its passphrase (there is no interactive prompt)',
    );
  }
  return p;
}

/** Opens the local key file (`create` only for `omt kms init`). */
export async function openLocalRootKeys(
  ctx: CliContext,
  home: string,
  opts: { create?: boolean; scryptLogN?: number } = {},
): Promise<LocalRootKeyProvider> {
  const passphrase = kmsPassphrase(ctx);
  return openLocalRootKeyProvider({
    path: localKeyFilePath(home),
    passphrase,
    ...(opts.create === true ? { create: true } : {}),
    ...(opts.scryptLogN === undefined ? {} : { scrypt: { N: 2 ** opts.scryptLogN, r: 8, p: 1 } }),
  });
}

/** The PKCS#11 token settings a config (or `omt kms init` flags) name. */
export interface Pkcs11Choice {
  readonly modulePath: string;
  readonly slot?: number;
  readonly tokenLabel?: string;
  readonly pinEnv: string;
}

/** Opens a PKCS#11 token as root key provider; the PIN is read from `ctx.env[pinEnv]`. */
export async function openPkcs11RootKeys(ctx: CliContext, choice: Pkcs11Choice): Promise<OpenRootKeys> {
  const pin = ctx.env[choice.pinEnv];
  if (pin === undefined || pin === '') {
    throw new OmtError(
      'cli.kms.pin-missing',
      `${choice.pinEnv} is not set: the PKCS#11 token needs its user PIN (there is no interactive prompt)`,
    );
  }
  const provider = await openPkcs11RootKeyProvider({
    modulePath: choice.modulePath,
    pinEnv: choice.pinEnv,
    env: ctx.env,
    ...(choice.slot === undefined ? {} : { slot: choice.slot }),
    ...(choice.tokenLabel === undefined ? {} : { tokenLabel: choice.tokenLabel }),
  });
  return { rootKeys: provider, close: () => provider.close() };
}

/** Opens the provider recorded in the config. */
export async function openConfiguredRootKeys(
  ctx: CliContext,
  home: string,
  config: KmsCliConfig,
): Promise<OpenRootKeys> {
  if (config.provider === 'local') {
    const rootKeys = await openLocalRootKeys(ctx, home);
    return { rootKeys, close: async () => {} };
  }
  return openPkcs11RootKeys(ctx, config);
}
