/**
 * Which L1 root key provider the CLI uses, recorded by `omt kms init` in
 * `$OMT_HOME/kms/config.json` so every later command opens the same one. The file holds no
 * secret: the local key file is protected by `OMT_KMS_PASSPHRASE`, an HSM by the PIN in the
 * environment variable the config names.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OmtError } from '@omt/core/errors';
import { z } from 'zod';
import type { CliContext } from '../../context.js';
import { writeOutputFile } from '../../files.js';

/** `$OMT_HOME/kms`. */
export function kmsDir(home: string): string {
  return path.join(home, 'kms');
}

/** `$OMT_HOME/kms/config.json`. */
export function kmsConfigPath(home: string): string {
  return path.join(kmsDir(home), 'config.json');
}

/** `$OMT_HOME/kms/root-keys.json`, the local provider's key file. */
export function localKeyFilePath(home: string): string {
  return path.join(kmsDir(home), 'root-keys.json');
}

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

const localSchema = z
  .object({
    format: z.literal('omt-cli-kms/1'),
    provider: z.literal('local'),
    firstRootKeyId: z.string().min(1).max(256),
    createdAt: z.string(),
  })
  .strict();

const pkcs11Schema = z
  .object({
    format: z.literal('omt-cli-kms/1'),
    provider: z.literal('pkcs11'),
    modulePath: z.string().min(1).max(4096),
    slot: z.number().int().min(0).max(0xffff).optional(),
    tokenLabel: z.string().min(1).max(32).optional(),
    pinEnv: envName,
    firstRootKeyId: z.string().min(1).max(256),
    createdAt: z.string(),
  })
  .strict()
  .refine(
    (c) => (c.slot === undefined) !== (c.tokenLabel === undefined),
    'exactly one of slot or tokenLabel',
  );

/** The recorded provider choice. */
export type KmsCliConfig =
  | {
      format: 'omt-cli-kms/1';
      provider: 'local';
      firstRootKeyId: string;
      createdAt: string;
    }
  | {
      format: 'omt-cli-kms/1';
      provider: 'pkcs11';
      modulePath: string;
      slot?: number | undefined;
      tokenLabel?: string | undefined;
      pinEnv: string;
      firstRootKeyId: string;
      createdAt: string;
    };

const configSchema: z.ZodType<KmsCliConfig> = z.union([localSchema, pkcs11Schema]);

/** Reads the config; `cli.kms.not-initialized` when `omt kms init` has not run. */
export async function readKmsConfig(home: string): Promise<KmsCliConfig> {
  let text: string;
  try {
    text = await readFile(kmsConfigPath(home), 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw new OmtError('cli.kms.not-initialized', `no KMS in ${home} (run: omt kms init)`, { cause: e });
    }
    throw new OmtError('cli.file.unreadable', `cannot read ${kmsConfigPath(home)}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new OmtError('cli.kms.config-invalid', `${kmsConfigPath(home)} is not JSON`, { cause: e });
  }
  const r = configSchema.safeParse(json);
  if (!r.success) {
    throw new OmtError('cli.kms.config-invalid', `${kmsConfigPath(home)} is not an omt-cli-kms/1 config`, {
      cause: r.error,
    });
  }
  return r.data;
}

/** Writes the config once; an existing one is never overwritten (`cli.kms.initialized`). */
export async function writeKmsConfig(ctx: CliContext, home: string, config: KmsCliConfig): Promise<void> {
  try {
    await writeOutputFile(ctx, kmsConfigPath(home), `${JSON.stringify(config, null, 2)}\n`, {
      exclusive: true,
      secret: true,
    });
  } catch (e) {
    if (e instanceof OmtError && e.code === 'cli.file.exists') {
      throw new OmtError('cli.kms.initialized', `the KMS in ${home} is initialised already`, { cause: e });
    }
    throw e;
  }
}
