import { libsecp256k1 } from '@omt/adapters/secp256k1';
import { isOmtError } from '@omt/core/errors';
import { type BatchOutcome, PublishWorker } from '@omt/ledger/publisher-worker';
import { parseCommandArgs } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import {
  chainClientFlags,
  chainClientOptions,
  describeChainClient,
  openChainClient,
} from './chain-client-choice.js';
import { openWalletState, withState } from './ledger-state.js';

export const workerHelp: string = `omt worker — the publisher: batch queued jobs into OP_RETURN transactions

Usage:
  omt worker [--once] [--max-records <n>] [--max-delay-ms <ms>] [--fee-rate <sat/kB>]
             [--max-inputs <n>] [chain client options] [--json]
      Claim queued jobs, seal them in batches (at most --max-records, default 1000, or
      --max-delay-ms after the first, default 200), and anchor each batch in one transaction
      funded from the wallet's UTXO pool: its OP_RETURN commits the batch's RFC 9162 root,
      every record gets its inclusion proof, change goes to a fresh key. Runs until SIGINT /
      SIGTERM (finishing the batch in hand); --once anchors what is queued now and exits.
      Several workers (processes) may share one database: jobs and UTXOs are never shared.
Chain client options: ${chainClientFlags}
`;

function intFlag(v: unknown, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${flag}: a whole number from ${min} to ${max}`);
  return n;
}

export async function runWorker(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      once: { type: 'boolean' },
      'max-records': { type: 'string' },
      'max-delay-ms': { type: 'string' },
      'fee-rate': { type: 'string' },
      'max-inputs': { type: 'string' },
      ...chainClientOptions,
    },
    0,
  );
  if (args.values.help) {
    ctx.stdout(workerHelp);
    return { exitCode: 0 };
  }
  const maxRecords = intFlag(args.values['max-records'], 'max-records', 1, 1_000_000);
  const maxDelayMs = intFlag(args.values['max-delay-ms'], 'max-delay-ms', 0, 3_600_000);
  const feeRate = intFlag(args.values['fee-rate'], 'fee-rate', 0, 100_000_000);
  const maxInputs = intFlag(args.values['max-inputs'], 'max-inputs', 1, 1000);
  return withState(openWalletState(ctx), async (s) => {
    const chain = openChainClient(ctx, s, args);
    const errors: string[] = [];
    const worker = new PublishWorker({
      queue: s.queue,
      utxos: s.utxos,
      wallet: s.wallet,
      chain,
      engine: libsecp256k1,
      ...(maxRecords === undefined ? {} : { maxRecords }),
      ...(maxDelayMs === undefined ? {} : { maxDelayMs }),
      ...(feeRate === undefined ? {} : { feeRate }),
      ...(maxInputs === undefined ? {} : { maxInputs }),
      onError: (e) => {
        const text = isOmtError(e) ? `${e.code}: ${e.message}` : String(e);
        errors.push(text);
        if (!args.values.json) ctx.stderr(`omt worker: ${text}\n`);
      },
    });
    const print = (o: BatchOutcome): void => {
      if (!args.values.json)
        ctx.stdout(
          `${o.result.padEnd(8)} ${o.jobIds.length} job(s)${o.txid ? ` in tx ${o.txid}` : ''}${o.error ? ` — ${o.error}` : ''}\n`,
        );
    };
    if (args.values.once) {
      const outcomes = await worker.drain();
      const confirmed = await worker.confirm();
      outcomes.forEach(print);
      const anchored = outcomes.filter((o) => o.result === 'sent' || o.result === 'stored');
      if (args.values.json)
        printJson(ctx, {
          worker: worker.id,
          chainClient: describeChainClient(chain),
          batches: outcomes,
          confirmed,
        });
      else if (outcomes.length === 0) ctx.stdout('nothing queued\n');
      // Requeued work (no funds, a refused transaction) is a failure of this run.
      return { exitCode: outcomes.length === anchored.length ? 0 : 1 };
    }
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (!args.values.json)
      ctx.stdout(
        `worker ${worker.id} on ${s.wallet.network.name} (${describeChainClient(chain)}); Ctrl-C stops\n`,
      );
    try {
      await worker.run(stop.signal);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (args.values.json) printJson(ctx, { worker: worker.id, stopped: true, errors: errors.length });
    else ctx.stdout(`worker ${worker.id} stopped\n`);
    return { exitCode: 0 };
  });
}
