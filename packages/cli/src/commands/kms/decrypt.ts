/**
 * `omt decrypt`: opens an envelope file; the tenant and service come from its header. The
 * plaintext reaches `<out>` only after the final frame authenticated (temp file + rename), so a
 * refusal (`kms.key.revoked`, `kms.envelope.auth-failed`, …) leaves nothing behind.
 */
import path from 'node:path';
import type { EnvelopeHeader } from '@omt/kms';
import { ByteReader, readStreamHeader } from '@omt/kms/envelope-stream';
import { parseCommandArgs, requireFlag, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { openInputStream, writeStreamAtomically } from './atomic-output.js';
import { parseContextFlags } from './encrypt.js';
import { CLI_PRINCIPAL, withKmsSession } from './kms-session.js';

export const decryptHelp: string = `omt decrypt — decrypt an envelope made by 'omt encrypt'

Usage:
  omt decrypt <in> -o <out> [--tenant <t>] [--service <s>] [--object-id <id>] [--context k=v …]
              [--force] [--json]

  Tenant and service come from the envelope header; the optional flags are expectations the
  header must meet (else kms.context.mismatch). Every frame is authenticated before it is
  written, and <out> appears only after the last one did: a refused or tampered envelope
  (kms.key.revoked, kms.envelope.auth-failed, …) exits 1 and leaves no output file.
`;

async function readHeader(ctx: CliContext, input: string): Promise<EnvelopeHeader> {
  const source = await openInputStream(ctx, input);
  try {
    return (await readStreamHeader(new ByteReader(source.chunks))).header;
  } finally {
    await source.close();
  }
}

export async function runDecrypt(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      tenant: { type: 'string' },
      service: { type: 'string' },
      'object-id': { type: 'string' },
      context: { type: 'string', multiple: true },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(decryptHelp);
    return { exitCode: 0 };
  }
  const input = requirePositional(args, 0, 'input file');
  const out = requireFlag(args, 'out');
  if (path.resolve(ctx.cwd, input) === path.resolve(ctx.cwd, out))
    throw new UsageError('input and output must be different files');
  const context = parseContextFlags(args.values.context as string[] | undefined);
  const expect = {
    ...(typeof args.values.tenant === 'string' ? { tenant: args.values.tenant } : {}),
    ...(typeof args.values.service === 'string' ? { service: args.values.service } : {}),
    ...(typeof args.values['object-id'] === 'string' ? { objectId: args.values['object-id'] } : {}),
    ...(Object.keys(context).length > 0 ? { context } : {}),
  };
  // A file that is no envelope is refused before the KMS is opened.
  const header = await readHeader(ctx, input);

  const written = await withKmsSession(ctx, async ({ kms }) => {
    const source = await openInputStream(ctx, input);
    try {
      const plain = kms.decryptStream(source.chunks, {
        principal: CLI_PRINCIPAL,
        ...(Object.keys(expect).length > 0 ? { expect } : {}),
      });
      return await writeStreamAtomically(ctx, out, plain as unknown as AsyncIterable<Uint8Array>, {
        force: args.values.force === true,
      });
    } finally {
      await source.close();
    }
  });
  const report = {
    tenant: header.tenant,
    service: header.service,
    objectId: header.objectId,
    context: header.context,
    rootKeyId: header.rootKeyId,
    tenantKeyVersion: header.tenantKeyVersion,
    serviceKeyVersion: header.serviceKeyVersion,
    shreddable: header.objectRef !== undefined,
    out: written.path,
    plaintextBytes: written.bytes,
  };
  if (args.values.json) printJson(ctx, report);
  else {
    ctx.stdout(
      `decrypted ${input} (${header.tenant}/${header.service}, object ${JSON.stringify(header.objectId)}) → ${out} (${written.bytes} bytes)\n`,
    );
  }
  return { exitCode: 0 };
}
