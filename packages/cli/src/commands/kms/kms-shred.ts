/**
 * `omt kms shred`: crypto-shredding. `--tenant --service` destroys the service's L3 keys (all
 * versions, or `--version n`): every envelope under them becomes unrecoverable. `--object <id>`
 * destroys one object's per-object secrets (envelopes encrypted with `--shreddable`).
 */
import { parseCommandArgs, requireFlag } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { cliActor, withKmsSession } from './kms-session.js';

/** Runs `omt kms shred …`. */
export async function runShred(ctx: CliContext, argv: string[], help: string): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      tenant: { type: 'string' },
      service: { type: 'string' },
      object: { type: 'string' },
      version: { type: 'string' },
    },
    0,
  );
  if (args.values.help) {
    ctx.stdout(help);
    return { exitCode: 0 };
  }
  const tenant = requireFlag(args, 'tenant');
  const service = requireFlag(args, 'service');
  const objectId = args.values.object;
  const version = args.values.version;
  if (typeof objectId === 'string' && version !== undefined)
    throw new UsageError('--version applies to service keys, not to --object');
  if (version !== undefined && (typeof version !== 'string' || !/^[1-9]\d{0,8}$/.test(version)))
    throw new UsageError('--version expects a key version (1, 2, …)');
  const actor = cliActor(ctx);
  const result = await withKmsSession(ctx, async ({ governance }) => {
    if (typeof objectId === 'string') {
      const n = await governance.shredObject({ actor, tenant, service, objectId });
      return { tenant, service, objectId, secretsDestroyed: n };
    }
    const n = await governance.destroyServiceKey({
      actor,
      tenant,
      service,
      ...(typeof version === 'string' ? { version: Number(version) } : {}),
    });
    return { tenant, service, serviceKeysDestroyed: n };
  });
  if (args.values.json) printJson(ctx, result);
  else if ('objectId' in result) {
    ctx.stdout(
      `object ${JSON.stringify(result.objectId)} of ${tenant}/${service}: ${result.secretsDestroyed} object secret(s) destroyed — its shreddable envelopes are unrecoverable\n`,
    );
  } else {
    ctx.stdout(
      `${tenant}/${service}: ${result.serviceKeysDestroyed} service key version(s) destroyed — envelopes under them are unrecoverable\n`,
    );
  }
  return { exitCode: 0 };
}
