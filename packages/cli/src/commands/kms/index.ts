/**
 * The KMS commands of `omt`: `omt kms …` (init, tenants, kill switch, rotation, shredding,
 * status), `omt encrypt` and `omt decrypt`.
 */
import { type CliContext, type CommandResult, UsageError } from '../../context.js';
import { initKms } from './kms-init.js';
import { runShred } from './kms-shred.js';
import { runStatus } from './kms-status.js';
import { runTenant } from './kms-tenant.js';

export { decryptHelp, runDecrypt } from './decrypt.js';
export { encryptHelp, runEncrypt } from './encrypt.js';

export const kmsHelp: string = `omt kms — envelope-encryption keys (L1 root → L2 tenant → L3 service → L4 data)

Usage:
  omt kms init [--scrypt-log-n <10…22>] [--json]
      Create the local root key file $OMT_HOME/kms/root-keys.json (passphrase: OMT_KMS_PASSPHRASE)
      and a first L1 key. Refuses to overwrite an existing KMS.
  omt kms init --pkcs11-module <lib> (--pkcs11-slot <n> | --pkcs11-token <label>)
               --pkcs11-pin-env <VAR> [--json]
      Use an HSM through PKCS#11 instead (the user PIN is read from $VAR); creates the first
      L1 key in the token. The choice is kept in $OMT_HOME/kms/config.json.
  omt kms tenant create <tenant> [--services media,payments] [--root-key <id>] [--json]
      New tenant with its own L1 key (or an existing one), L2 v1 and L3 v1 per service.
  omt kms tenant disable|enable <tenant> [--reason <text>] [--json]
      The kill switch: disable the tenant's L1 key; every encrypt/decrypt fails with
      kms.key.revoked until 'enable'.
  omt kms tenant revoke|reinstate <tenant> [--reason <text>] [--json]
      Governance revocation in the key store (same effect, no provider call).
  omt kms tenant rotate <tenant> [--new-root] [--json]
      New L2 version (under a new L1 key with --new-root); every L3 is re-wrapped; existing
      envelopes keep decrypting.
  omt kms tenant rotate <tenant> --service <s> [--json]
      New active L3 version of one service; older versions keep decrypting.
  omt kms shred --tenant <t> --service <s> [--version <n>] [--json]
      Crypto-shred: destroy the service's L3 keys; envelopes under them are unrecoverable.
  omt kms shred --tenant <t> --service <s> --object <id> [--json]
      Destroy one object's secret (envelopes encrypted with 'omt encrypt --shreddable').
  omt kms status [--tenant <t>] [--json]
      Provider, tenants, L1 state and key versions (never key material).

Encrypt and decrypt files with 'omt encrypt' and 'omt decrypt'. Every action is written to the
'kms' audit log in the database ($OMT_HOME or DATABASE_URL). Governance actions are recorded with
the actor OMT_ACTOR (default cli:$USER). Non-interactive: secrets only from the environment.
`;

/** Runs `omt kms <subcommand> …`. */
export async function runKms(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(kmsHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  switch (sub) {
    case 'init':
      return initKms(ctx, rest, kmsHelp);
    case 'tenant':
      return runTenant(ctx, rest, kmsHelp);
    case 'shred':
      return runShred(ctx, rest, kmsHelp);
    case 'status':
      return runStatus(ctx, rest, kmsHelp);
    default:
      throw new UsageError(`unknown kms command: ${sub} (try: omt kms --help)`);
  }
}
