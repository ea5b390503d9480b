/**
 * `omt encrypt`: seals a file into a framed envelope (64 KiB frames) under the tenant's service
 * key, streaming from disk to disk so memory stays bounded whatever the file size.
 */
import path from 'node:path';
import { parseCommandArgs, requireFlag, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { openInputStream, writeStreamAtomically } from './atomic-output.js';
import { CLI_PRINCIPAL, withKmsSession } from './kms-session.js';

export const encryptHelp: string = `omt encrypt — encrypt a file under a tenant's service key (L1–L4 envelope)

Usage:
  omt encrypt --tenant <t> --service <s> [--object-id <id>] [--context k=v …] [--shreddable]
              <in> -o <out> [--force] [--json]

  Streams <in> into a framed envelope (AES-256-GCM, key commitment, 64 KiB frames) in <out>;
  memory stays bounded whatever the size. --object-id (default: the input's file name) and
  --context fields are authenticated and can be required again when decrypting.
  --shreddable binds the data key to a per-object secret so 'omt kms shred --object' can
  destroy this object alone. <out> is written only when encryption completed (temp file +
  rename); an existing <out> is kept unless --force.
  Needs OMT_KMS_PASSPHRASE (local KMS) or the PIN variable named at 'omt kms init' (PKCS#11).
`;

/** Parses repeated `--context k=v` flags into an encryption context. */
export function parseContextFlags(values: string | boolean | undefined | string[]): Record<string, string> {
  const list = Array.isArray(values) ? values : typeof values === 'string' ? [values] : [];
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--context expects key=value, got: ${kv}`);
    const k = kv.slice(0, i);
    if (Object.hasOwn(out, k)) throw new UsageError(`--context ${k} given twice`);
    out[k] = kv.slice(i + 1);
  }
  return out;
}

export async function runEncrypt(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      tenant: { type: 'string' },
      service: { type: 'string' },
      'object-id': { type: 'string' },
      context: { type: 'string', multiple: true },
      shreddable: { type: 'boolean' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(encryptHelp);
    return { exitCode: 0 };
  }
  const tenant = requireFlag(args, 'tenant');
  const service = requireFlag(args, 'service');
  const input = requirePositional(args, 0, 'input file');
  const out = requireFlag(args, 'out');
  const objectId = (args.values['object-id'] as string | undefined) ?? path.basename(input);
  const context = parseContextFlags(args.values.context as string[] | undefined);
  const shreddable = args.values.shreddable === true;
  if (path.resolve(ctx.cwd, input) === path.resolve(ctx.cwd, out))
    throw new UsageError('input and output must be different files');

  const result = await withKmsSession(ctx, async ({ kms }) => {
    const source = await openInputStream(ctx, input);
    try {
      const sealed = kms.encryptStream(source.chunks, {
        principal: CLI_PRINCIPAL,
        tenant,
        service,
        objectId,
        ...(Object.keys(context).length > 0 ? { context } : {}),
        ...(shreddable ? { shreddable } : {}),
      });
      const written = await writeStreamAtomically(ctx, out, sealed as unknown as AsyncIterable<Uint8Array>, {
        force: args.values.force === true,
      });
      return { plaintextBytes: source.size, envelopeBytes: written.bytes, path: written.path };
    } finally {
      await source.close();
    }
  });
  const report = { tenant, service, objectId, context, shreddable, out: result.path, ...result };
  if (args.values.json) printJson(ctx, report);
  else {
    ctx.stdout(
      `encrypted ${input} (${result.plaintextBytes} bytes) for ${tenant}/${service}, object ${JSON.stringify(objectId)} → ${out} (${result.envelopeBytes} bytes)\n`,
    );
  }
  return { exitCode: 0 };
}
