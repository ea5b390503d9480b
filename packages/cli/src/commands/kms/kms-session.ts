/**
 * One CLI command's KMS: the configured L1 provider, the SQL key store and the `kms` audit log
 * in the database of `$OMT_HOME` (or DATABASE_URL), wired by `createKms`. {@link withKmsSession}
 * always flushes the batched audit events and closes the provider and the database.
 */
import { nodeAead, SqlKmsKeyStore } from '@omt/adapters/kms-local';
import { createDatabase, databaseConfigFromEnv, type OmtDatabase, SqlAuditLogStore } from '@omt/adapters/sql';
import { AuditLog } from '@omt/core/audit-log';
import { createKms, type Kms, type KmsGovernance } from '@omt/kms';
import type { RootKeyProvider } from '@omt/kms/ports';
import type { CliContext } from '../../context.js';
import { ensureOmtHome } from '../../home.js';
import { type KmsCliConfig, readKmsConfig } from './kms-config.js';
import { kmsPassphrase, type OpenRootKeys, openConfiguredRootKeys } from './root-key-provider-choice.js';

/** The principal the CLI encrypts and decrypts as (granted on every tenant it creates). */
export const CLI_PRINCIPAL = 'omt-cli';

/** Who is recorded as the actor of governance actions: `OMT_ACTOR`, else `cli:$USER`. */
export function cliActor(ctx: CliContext): string {
  const a = ctx.env.OMT_ACTOR;
  if (a !== undefined && a !== '') return a;
  const user = ctx.env.USER ?? ctx.env.USERNAME;
  return user !== undefined && user !== '' ? `cli:${user}` : 'cli';
}

/** What a command gets inside {@link withKmsSession}. */
export interface KmsSession {
  readonly home: string;
  readonly config: KmsCliConfig;
  readonly database: OmtDatabase;
  readonly rootKeys: RootKeyProvider;
  readonly kms: Kms;
  readonly governance: KmsGovernance;
  readonly audit: AuditLog;
}

/** Opens the database (migrated) and the audit log of `$OMT_HOME`. */
export async function openKmsDatabase(
  ctx: CliContext,
  home: string,
): Promise<{ database: OmtDatabase; audit: AuditLog }> {
  const database = await createDatabase(databaseConfigFromEnv(ctx.env, home));
  try {
    await database.migrate();
  } catch (e) {
    await database.close();
    throw e;
  }
  return { database, audit: new AuditLog(new SqlAuditLogStore(database.db), { log: 'kms' }) };
}

/** Runs `fn` with an open KMS; flushes the audit and closes everything, whatever happens. */
export async function withKmsSession<T>(ctx: CliContext, fn: (s: KmsSession) => Promise<T>): Promise<T> {
  const home = await ensureOmtHome(ctx);
  const config = await readKmsConfig(home);
  // Fail on a missing secret before the (slow) database and KDF work.
  if (config.provider === 'local') kmsPassphrase(ctx);
  const opened: OpenRootKeys = await openConfiguredRootKeys(ctx, home, config);
  let db: { database: OmtDatabase; audit: AuditLog } | undefined;
  let kms: Kms | undefined;
  try {
    db = await openKmsDatabase(ctx, home);
    const made = createKms({
      rootKeys: opened.rootKeys,
      keyStore: new SqlKmsKeyStore(db.database.db),
      audit: db.audit,
      aead: nodeAead,
    });
    kms = made.kms;
    return await fn({
      home,
      config,
      database: db.database,
      rootKeys: opened.rootKeys,
      kms: made.kms,
      governance: made.governance,
      audit: db.audit,
    });
  } finally {
    try {
      await kms?.flushAudit();
    } finally {
      try {
        await db?.database.close();
      } finally {
        await opened.close();
      }
    }
  }
}
