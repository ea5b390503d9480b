/**
 * `omt kms tenant create|disable|enable|revoke|reinstate|rotate <tenant>`: the governance side.
 * `disable`/`enable` flip the tenant's L1 root key in the provider (the customer's kill switch);
 * `revoke`/`reinstate` set the tenant state in the key store (the operator's switch). Both make
 * every later encrypt and decrypt of the tenant fail with `kms.key.revoked`.
 */
import { parseCommandArgs, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { CLI_PRINCIPAL, cliActor, withKmsSession } from './kms-session.js';

const ACTIONS = ['create', 'disable', 'enable', 'revoke', 'reinstate', 'rotate'] as const;
type TenantAction = (typeof ACTIONS)[number];

function parseServices(v: string | boolean | undefined): string[] {
  if (typeof v !== 'string') return [];
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0)
    throw new UsageError('--services expects a comma-separated list, e.g. media,payments');
  return list;
}

/** Runs `omt kms tenant …`. */
export async function runTenant(ctx: CliContext, argv: string[], help: string): Promise<CommandResult> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    ctx.stdout(help);
    return { exitCode: action === undefined ? 2 : 0 };
  }
  if (!(ACTIONS as readonly string[]).includes(action))
    throw new UsageError(`unknown kms tenant command: ${action} (try: omt kms --help)`);
  const args = parseCommandArgs(
    rest,
    {
      services: { type: 'string' },
      'root-key': { type: 'string' },
      'new-root': { type: 'boolean' },
      service: { type: 'string' },
      reason: { type: 'string' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(help);
    return { exitCode: 0 };
  }
  const tenant = requirePositional(args, 0, 'tenant name');
  const a = action as TenantAction;
  const allowed: Record<TenantAction, string[]> = {
    create: ['services', 'root-key'],
    disable: ['reason'],
    enable: ['reason'],
    revoke: ['reason'],
    reinstate: ['reason'],
    rotate: ['new-root', 'service'],
  };
  for (const k of ['services', 'root-key', 'new-root', 'service', 'reason'])
    if (args.values[k] !== undefined && !allowed[a].includes(k))
      throw new UsageError(`--${k} does not apply to 'kms tenant ${a}'`);
  const actor = cliActor(ctx);
  const reason = typeof args.values.reason === 'string' ? { reason: args.values.reason } : {};

  const result = await withKmsSession(
    ctx,
    async ({ governance, rootKeys }): Promise<Record<string, unknown>> => {
      switch (a) {
        case 'create': {
          const services = parseServices(args.values.services);
          const rootKeyId = args.values['root-key'];
          const rec = await governance.createTenant({
            actor,
            tenant,
            services,
            // Each tenant gets its own L1 key unless told otherwise, so its kill switch stops it alone.
            ...(typeof rootKeyId === 'string' ? { rootKeyId } : {}),
            grants: [{ principal: CLI_PRINCIPAL, service: '*', operations: ['encrypt', 'decrypt'] }],
          });
          return { action: a, tenant: rec, services };
        }
        case 'disable':
          return { action: a, tenant, rootKey: await governance.disableRoot({ actor, tenant, ...reason }) };
        case 'enable':
          return { action: a, tenant, rootKey: await governance.enableRoot({ actor, tenant, ...reason }) };
        case 'revoke':
          return { action: a, tenant: await governance.revokeTenant({ actor, tenant, ...reason }) };
        case 'reinstate':
          return { action: a, tenant: await governance.reinstateTenant({ actor, tenant, ...reason }) };
        case 'rotate': {
          const service = args.values.service;
          if (typeof service === 'string') {
            const key = await governance.rotateService({ actor, tenant, service });
            return { action: a, tenant, service, serviceKey: key };
          }
          const rootKeyId =
            args.values['new-root'] === true
              ? (await rootKeys.createKey({ label: `omt tenant ${tenant} (rotated)` })).keyId
              : undefined;
          const r = await governance.rotateTenant({
            actor,
            tenant,
            ...(rootKeyId === undefined ? {} : { rootKeyId }),
          });
          return {
            action: a,
            tenant,
            job: r.job,
            rewrapped: r.rewrapped,
            ...(rootKeyId ? { rootKeyId } : {}),
          };
        }
      }
    },
  );
  if (args.values.json) printJson(ctx, result);
  else ctx.stdout(`${describe(a, tenant, result)}\n`);
  return { exitCode: 0 };
}

function describe(a: TenantAction, tenant: string, r: Record<string, unknown>): string {
  switch (a) {
    case 'create': {
      const t = r.tenant as { rootKeyId: string };
      const s = r.services as string[];
      return `tenant ${tenant} created: L1 ${t.rootKeyId}, L2 v1${s.length ? `, L3 v1 for ${s.join(', ')}` : ''}; ${CLI_PRINCIPAL} may encrypt and decrypt`;
    }
    case 'disable':
      return `tenant ${tenant}: L1 root key disabled — every encrypt and decrypt now fails with kms.key.revoked`;
    case 'enable':
      return `tenant ${tenant}: L1 root key enabled again`;
    case 'revoke':
      return `tenant ${tenant} revoked — every encrypt and decrypt now fails with kms.key.revoked`;
    case 'reinstate':
      return `tenant ${tenant} reinstated`;
    case 'rotate': {
      if (r.service !== undefined) {
        const k = r.serviceKey as { version: number };
        return `tenant ${tenant}: service ${String(r.service)} now encrypts under L3 v${k.version}; older versions still decrypt`;
      }
      const job = r.job as { fromVersion: number; toVersion: number; state: string };
      return `tenant ${tenant}: L2 v${job.fromVersion} → v${job.toVersion}, ${String(r.rewrapped)} service keys re-wrapped (job ${job.state}); existing envelopes still decrypt`;
    }
  }
}
