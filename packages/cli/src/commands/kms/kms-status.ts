/**
 * `omt kms status [--tenant <t>]`: the provider in use and, per tenant, its state, its L1 key's
 * state and its key versions. Never key material.
 */
import { parseCommandArgs } from '../../args.js';
import { type CliContext, type CommandResult, printJson } from '../../context.js';
import { localKeyFilePath } from './kms-config.js';
import { withKmsSession } from './kms-session.js';

/** Runs `omt kms status`. */
export async function runStatus(ctx: CliContext, argv: string[], help: string): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { tenant: { type: 'string' } }, 0);
  if (args.values.help) {
    ctx.stdout(help);
    return { exitCode: 0 };
  }
  const only = args.values.tenant;
  const report = await withKmsSession(ctx, async ({ home, config, governance }) => {
    const provider =
      config.provider === 'local'
        ? { kind: 'local', keyFile: localKeyFilePath(home) }
        : {
            kind: 'pkcs11',
            modulePath: config.modulePath,
            ...(config.slot === undefined ? {} : { slot: config.slot }),
            ...(config.tokenLabel === undefined ? {} : { tokenLabel: config.tokenLabel }),
            pinEnv: config.pinEnv,
          };
    const names =
      typeof only === 'string' ? [only] : (await governance.listTenants()).map((t) => t.tenant).sort();
    const tenants = [];
    for (const name of names) tenants.push(await governance.status(name));
    return { provider, firstRootKeyId: config.firstRootKeyId, tenants };
  });
  if (args.values.json) {
    printJson(ctx, report);
    return { exitCode: 0 };
  }
  ctx.stdout(`provider: ${report.provider.kind}\n`);
  if (report.tenants.length === 0)
    ctx.stdout('no tenants (omt kms tenant create <tenant> --services media)\n');
  for (const s of report.tenants) {
    const root = 'state' in s.rootKey ? s.rootKey.state : `unknown (${s.rootKey.error})`;
    const l2 = s.tenantKeys.map((k) => `v${k.version} ${k.state}`).join(', ');
    ctx.stdout(`${s.tenant.tenant}: ${s.tenant.state}; L1 ${s.tenant.rootKeyId} ${root}; L2 ${l2}\n`);
    for (const [service, keys] of Object.entries(s.services))
      ctx.stdout(`  ${service}: L3 ${keys.map((k) => `v${k.version} ${k.state}`).join(', ')}\n`);
  }
  return { exitCode: 0 };
}
