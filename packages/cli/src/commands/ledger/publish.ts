import { OmtError } from '@omt/core/errors';
import type { JobView } from '@omt/ledger/publisher';
import { parseCommandArgs, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { readInputFile } from '../../files.js';
import { openLedgerState, withState } from './ledger-state.js';

export const publishHelp: string = `omt publish — submit a signed intent for anchoring

Usage:
  omt publish <intent.json> [--wait] [--timeout <seconds>] [--json]
      Verify the intent (schema, RFC 8785 hash, signature, registered and active signer,
      timestamp within ±10 minutes, nonce never used before — every decision is audited)
      and queue it; prints the job id. "omt worker" batches queued jobs into OP_RETURN
      transactions. --wait: wait until the job is signed (offline chain client) or sent
      (--rpc-url/--arc-url configured), default timeout 60 s; needs a worker running.
Exit codes: 0 queued (and with --wait: reached the state), 1 refused or failed, 2 usage.
`;

const TERMINAL = new Set(['failed', 'confirmed']);

export async function runPublish(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  if (argv[0] === undefined || argv[0] === 'help') {
    ctx.stdout(publishHelp);
    return { exitCode: argv[0] === undefined ? 2 : 0 };
  }
  const args = parseCommandArgs(
    argv,
    {
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      'rpc-url': { type: 'string' },
      'arc-url': { type: 'string' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(publishHelp);
    return { exitCode: 0 };
  }
  const file = requirePositional(args, 0, '<intent.json>');
  const timeoutS = Number((args.values.timeout as string | undefined) ?? '60');
  if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > 86_400)
    throw new UsageError('--timeout: seconds, 0 < t ≤ 86400');
  const online = Boolean(
    args.values['rpc-url'] ?? args.values['arc-url'] ?? ctx.env.OMT_BITCOIN_RPC_URL ?? ctx.env.OMT_ARC_URL,
  );
  const bytes = await readInputFile(ctx, file);
  return withState(openLedgerState(ctx), async (s) => {
    const r = await s.publisher.publish(bytes);
    if (!r.accepted) {
      const first = r.problems[0];
      if (args.values.json) {
        printJson(ctx, {
          accepted: false,
          error: { code: first?.code, message: first?.message },
          problems: r.problems,
        });
        return { exitCode: 1 };
      }
      throw new OmtError(
        first?.code ?? 'ledger.intent.schema',
        `intent refused: ${r.problems.map((p) => p.code).join(', ')}`,
      );
    }
    let view: JobView | undefined;
    if (args.values.wait) {
      const want = online ? ['sent', 'confirmed'] : ['signed', 'sent', 'confirmed'];
      const deadline = Date.now() + timeoutS * 1000;
      for (;;) {
        view = await s.publisher.job(r.jobId);
        if (view === undefined || want.includes(view.status) || TERMINAL.has(view.status)) break;
        if (Date.now() > deadline)
          throw new OmtError(
            'cli.publish.timeout',
            `job ${r.jobId} is still ${view.status} after ${timeoutS} s (is "omt worker" running?)`,
          );
        await new Promise((res) => setTimeout(res, 250));
      }
    }
    const failed = view?.status === 'failed';
    if (args.values.json)
      printJson(ctx, {
        accepted: true,
        jobId: r.jobId,
        recordId: r.recordId,
        recordHash: r.recordHash,
        ...(view === undefined ? {} : { status: view.status, txid: view.txid ?? null }),
      });
    else
      ctx.stdout(
        view === undefined
          ? `${r.jobId}\n`
          : `${r.jobId} ${view.status}${view.txid ? ` ${view.txid}` : ''}\n`,
      );
    return { exitCode: failed ? 1 : 0 };
  });
}
