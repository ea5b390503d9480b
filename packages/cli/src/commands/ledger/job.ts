import { OmtError } from '@omt/core/errors';
import { parseCommandArgs, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson } from '../../context.js';
import { openLedgerState, withState } from './ledger-state.js';

export const jobHelp: string = `omt job — a publishing job and its anchoring proof

Usage:
  omt job <id> [--json]
      Show a job: {id, status, recordId, recordHash, txid, rawTx, proof, …}. Status:
      queued → signed → sent → confirmed, or failed. From "signed" on, "proof" is the
      anchoring proof (record → batch inclusion → transaction whose OP_RETURN commits the
      batch's Merkle root → block, once mined); check it with "omt anchor verify".
  omt job --record <rid> [--json]
      The latest job of a record id.
`;

export async function runJob(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  if (argv[0] === undefined || argv[0] === 'help') {
    ctx.stdout(jobHelp);
    return { exitCode: argv[0] === undefined ? 2 : 0 };
  }
  const args = parseCommandArgs(argv, { record: { type: 'string' } }, 1);
  if (args.values.help) {
    ctx.stdout(jobHelp);
    return { exitCode: 0 };
  }
  const rid = args.values.record as string | undefined;
  const id = rid === undefined ? requirePositional(args, 0, '<job id>') : undefined;
  return withState(openLedgerState(ctx), async (s) => {
    const view = id !== undefined ? await s.publisher.job(id) : await s.publisher.record(rid as string);
    if (view === undefined)
      throw new OmtError(
        'cli.job.not-found',
        id !== undefined ? `no job ${id.slice(0, 130)}` : `no job for record ${String(rid).slice(0, 130)}`,
      );
    const out = { ...view, txid: view.txid ?? null, rawTx: view.rawTx ?? null, proof: view.proof ?? null };
    if (args.values.json) printJson(ctx, out);
    else {
      ctx.stdout(`job ${view.id}: ${view.status}\n  record ${view.recordId} (${view.recordHash})\n`);
      if (view.txid) ctx.stdout(`  txid ${view.txid} (${view.batchStatus})\n`);
      if (view.proof)
        ctx.stdout(
          `  proof: batch of ${view.proof.batch.size}, index ${view.proof.batch.index}${view.proof.block ? `, block ${view.proof.block.height}` : ', not yet in a block'}\n`,
        );
      if (view.lastError) ctx.stdout(`  last error: ${view.lastError}\n`);
    }
    return { exitCode: 0 };
  });
}
