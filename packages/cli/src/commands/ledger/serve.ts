import { createPublishHandler, serveHandler } from '@omt/adapters/http';
import { parseCommandArgs } from '../../args.js';
import { type CliContext, type CommandResult, runUntilSignal, UsageError } from '../../context.js';
import { openLedgerState, withState } from './ledger-state.js';

export const serveHelp: string = `omt serve — the publishing API over HTTP on 127.0.0.1

Usage:
  omt serve [--port <n>] [--max-body <bytes>] [--json]
      POST /v1/publish (intent JSON → 202 {jobId}), GET /v1/job/<id>, GET /v1/record/<rid>,
      GET /health. Errors are JSON {error: {code, message}}. Listens on 127.0.0.1 only
      (put a TLS-terminating proxy in front to expose it); default port 8787, 0 picks a free
      one. Runs until SIGINT / SIGTERM. Run "omt worker" beside it to anchor what it queues.
`;

/** Parses the flags of `omt serve`. */
function serveOptions(argv: string[]): { port: number; maxBodyBytes?: number; json: boolean; help: boolean } {
  const args = parseCommandArgs(
    argv,
    { port: { type: 'string', short: 'p' }, 'max-body': { type: 'string' } },
    0,
  );
  const port = Number((args.values.port as string | undefined) ?? '8787');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError('--port: 0–65535');
  const maxText = args.values['max-body'] as string | undefined;
  const maxBodyBytes = maxText === undefined ? undefined : Number(maxText);
  if (
    maxBodyBytes !== undefined &&
    (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024 || maxBodyBytes > 64 * 1024 * 1024)
  )
    throw new UsageError('--max-body: 1024 to 67108864 bytes');
  return {
    port,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
    json: args.values.json === true,
    help: args.values.help === true,
  };
}

/**
 * Serves the publishing API until `signal` aborts (what `omt serve` runs; tests pass their own
 * signal). The first line printed is the URL (or `{url}` with --json).
 */
export async function serveLedger(
  ctx: CliContext,
  argv: string[],
  signal: AbortSignal,
): Promise<CommandResult> {
  const o = serveOptions(argv);
  if (o.help) {
    ctx.stdout(serveHelp);
    return { exitCode: 0 };
  }
  return withState(openLedgerState(ctx), async (s) => {
    const handler = createPublishHandler({
      publisher: s.publisher,
      ...(o.maxBodyBytes === undefined ? {} : { maxBodyBytes: o.maxBodyBytes }),
    });
    const served = await serveHandler(handler, { port: o.port, host: '127.0.0.1' });
    try {
      if (o.json) ctx.stdout(`${JSON.stringify({ url: served.url })}\n`);
      else ctx.stdout(`${served.url}\nomt serve: publishing API on ${served.url} (Ctrl-C stops)\n`);
      if (!signal.aborted)
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
    } finally {
      await served.close();
    }
    if (o.json) ctx.stdout(`${JSON.stringify({ stopped: true })}\n`);
    else ctx.stdout('omt serve: stopped\n');
    return { exitCode: 0 };
  });
}

export async function runServe(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  return runUntilSignal((signal) => serveLedger(ctx, argv, signal));
}
