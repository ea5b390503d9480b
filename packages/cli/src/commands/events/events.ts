import path from 'node:path';
import { shippedMachines, TestPaymentServiceClient } from '@omt/adapters/http';
import { OmtError } from '@omt/core/errors';
import { parseJson } from '@omt/core/jcs';
import {
  type ChainEvent,
  eventHash,
  parseEvent,
  signEvent,
  type UnsignedChainEvent,
} from '@omt/ledger/event';
import { submitEvents } from '@omt/ledger/event-client';
import { verifyChain } from '@omt/ledger/event-verifier';
import { runItemScenario } from '@omt/ledger/item-scenario';
import { parseCommandArgs, requireFlag, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { readTextFile } from '../../files.js';
import { readHeaders } from '../ledger/anchor.js';
import { closeClients, loadEventSigner, loadNetwork, operatorClients } from './network-files.js';

export const eventsHelp: string = `omt events — event chains on an operator network

Usage:
  omt events submit --network <network.json> --key <pem> [--key <pem> …] [--deadline <ms>] <event.json>
      Signs the event with each key and submits it to every operator; it is final once a
      quorum of operators voted for it, and stored once committed. event.json holds chain,
      machine, type and payload; height, prev and time are filled in when missing (the head
      is read from the operators). Prints {hash, chain, height, quorum}.
  omt events show --network <network.json> <subject> [--json]
      The committed events of a chain as the first answering operator serves them (unverified).
  omt events verify --network <network.json> <subject> [--deadline <ms>] [--headers <headers.json>] [--json]
      Asks every operator at once and verifies everything: prints {verdict:
      "authentic"|"not-authentic"|"undecidable", reasons, height, …}; exit 0 only when authentic.
      --headers: trusted block headers {"<height>": "<hex>"}; operators' anchored checkpoints are
      then verified and listed in "anchors".
  omt events scenario item --network <network.json> [--registrar-key <pem>] [--alg <suite>] [--json]
      Runs an item's whole life (register manufacturer, mint, transfer, offer, accept, escrow,
      settle) with fresh keys: {subject, events}. The registrar key defaults to
      authorities/registrar.key.pem beside the network file.
`;

export async function runEvents(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(eventsHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'submit') return submit(ctx, rest);
  if (sub === 'show') return show(ctx, rest);
  if (sub === 'verify') return verify(ctx, rest);
  if (sub === 'scenario') return scenario(ctx, rest);
  throw new UsageError(`unknown events command: ${sub} (try: omt events --help)`);
}

function deadline(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < 10 || n > 600_000)
    throw new UsageError('--deadline: 10–600000 ms');
  return n;
}

async function submit(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { network: { type: 'string' }, key: { type: 'string', multiple: true }, deadline: { type: 'string' } },
    1,
  );
  if (args.values.help) {
    ctx.stdout(eventsHelp);
    return { exitCode: 0 };
  }
  const { network } = await loadNetwork(ctx, requireFlag(args, 'network'));
  const keys = (args.values as unknown as { key?: string[] }).key ?? [];
  if (keys.length === 0)
    throw new UsageError('--key is required (repeat it for events several parties sign)');
  const file = requirePositional(args, 0, 'the event JSON file');
  const draft = parseJson(await readTextFile(ctx, file));
  if (typeof draft !== 'object' || draft === null || Array.isArray(draft))
    throw new OmtError('ledger.event.malformed', `${file}: an event is a JSON object`);
  const signers = await Promise.all(keys.map((k) => loadEventSigner(ctx, k)));
  const clients = operatorClients(network);
  try {
    const d = draft as Record<string, unknown>;
    let height = d.height as number | undefined;
    let prev = d.prev as string | null | undefined;
    if (height === undefined || prev === undefined) {
      const chain = d.chain;
      if (typeof chain !== 'string')
        throw new OmtError('ledger.event.malformed', `${file}: "chain" is required`);
      const views = await Promise.allSettled(clients.map((c) => c.chain(chain)));
      let best: { height: number; head: string | null } = { height: -1, head: null };
      for (const v of views) {
        if (v.status !== 'fulfilled' || v.value.height <= best.height) continue;
        const last = v.value.events[v.value.events.length - 1];
        if (last === undefined) continue;
        const e = parseEvent(last.event);
        best = { height: e.height, head: eventHash(e) };
      }
      height ??= best.height + 1;
      prev = prev === undefined ? best.head : prev;
    }
    const unsigned = {
      v: 1,
      ...d,
      height,
      prev,
      time: typeof d.time === 'string' ? d.time : new Date().toISOString(),
    } as unknown as UnsignedChainEvent;
    const { signatures: _drop, ...body } = unsigned as UnsignedChainEvent & { signatures?: unknown };
    const event: ChainEvent = await signEvent(body, signers);
    const [r] = await submitEvents(
      // A one-shot process: wait for every operator (or the deadline) before it exits.
      { network, operators: clients, deadlineMs: deadline(args.values.deadline, 5_000), settle: 'all' },
      [event],
    );
    if (r === undefined) throw new OmtError('cli.internal', 'no outcome');
    const out = r.ok
      ? {
          ok: true,
          hash: r.hash,
          chain: r.chain,
          height: r.height,
          quorum: r.qc.receipts.map((x) => x.operator),
          votes: r.votes,
          commits: r.commits,
        }
      : {
          ok: false,
          hash: r.hash,
          chain: r.chain,
          height: r.height,
          error: { code: r.code, message: r.message },
          votes: r.votes,
        };
    if (args.values.json) printJson(ctx, out);
    else if (r.ok)
      ctx.stdout(`committed ${r.chain} #${r.height} ${r.hash}\n  quorum: ${out.quorum?.join(', ')}\n`);
    else ctx.stderr(`omt events: ${r.chain} #${r.height} refused: ${r.message} [${r.code}]\n`);
    return { exitCode: r.ok ? 0 : 1 };
  } finally {
    await closeClients(clients);
  }
}

async function show(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { network: { type: 'string' } }, 1);
  if (args.values.help) {
    ctx.stdout(eventsHelp);
    return { exitCode: 0 };
  }
  const { network } = await loadNetwork(ctx, requireFlag(args, 'network'));
  const subject = requirePositional(args, 0, 'the subject (chain id)');
  const clients = operatorClients(network, 3_000);
  try {
    let lastError: unknown;
    for (const c of clients) {
      try {
        const view = await c.chain(subject);
        if (args.values.json) printJson(ctx, { operator: c.name, ...view });
        else {
          ctx.stdout(
            `${subject}: ${view.height + 1} event(s), served by ${c.name} (unverified: use "omt events verify")\n`,
          );
          for (const entry of view.events) {
            const e = parseEvent(entry.event);
            ctx.stdout(
              `  #${e.height} ${e.time} ${e.type} signed by ${e.signatures.map((s) => s.keyId.slice(0, 12)).join(', ')}\n`,
            );
          }
        }
        return { exitCode: 0 };
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError ?? new OmtError('ledger.operator.unavailable', 'no operator answered');
  } finally {
    await closeClients(clients);
  }
}

async function verify(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { network: { type: 'string' }, deadline: { type: 'string' }, headers: { type: 'string' } },
    1,
  );
  if (args.values.help) {
    ctx.stdout(eventsHelp);
    return { exitCode: 0 };
  }
  const { network } = await loadNetwork(ctx, requireFlag(args, 'network'));
  const subject = requirePositional(args, 0, 'the subject (chain id)');
  const headersFile = args.values.headers as string | undefined;
  const headers = headersFile === undefined ? undefined : await readHeaders(ctx, headersFile);
  const clients = operatorClients(network, deadline(args.values.deadline, 3_000));
  try {
    const v = await verifyChain(
      {
        network,
        machines: shippedMachines(),
        operators: clients,
        deadlineMs: deadline(args.values.deadline, 3_000),
        ...(headers === undefined ? {} : { headers }),
      },
      subject,
    );
    const out = {
      verdict: v.verdict,
      reasons: v.reasons,
      height: v.height,
      chain: v.chain,
      ...(v.head === undefined ? {} : { head: v.head }),
      agreeing: v.agreeing,
      ...(v.state === undefined ? {} : { state: v.state.state, ctx: v.state.ctx }),
      evidence: v.evidence,
      anchors: v.anchors,
    };
    if (args.values.json) printJson(ctx, out);
    else {
      ctx.stdout(
        `${subject}: ${v.verdict} at height ${v.height} (${v.agreeing.length} operators agree: ${v.agreeing.join(', ')})\n`,
      );
      for (const r of v.reasons)
        ctx.stdout(`  - ${r.operator === undefined ? '' : `${r.operator}: `}${r.message} [${r.code}]\n`);
    }
    return { exitCode: v.verdict === 'authentic' ? 0 : 1 };
  } finally {
    await closeClients(clients);
  }
}

async function scenario(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      network: { type: 'string' },
      'registrar-key': { type: 'string' },
      alg: { type: 'string' },
      deadline: { type: 'string' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(eventsHelp);
    return { exitCode: 0 };
  }
  const kind = requirePositional(args, 0, 'the scenario (item)');
  if (kind !== 'item') throw new UsageError(`unknown scenario ${kind} (known: item)`);
  const loaded = await loadNetwork(ctx, requireFlag(args, 'network'));
  const { network } = loaded;
  if (network.payments === undefined)
    throw new OmtError('ledger.network.invalid', 'the network names no payment service');
  const registrarFile =
    (args.values['registrar-key'] as string | undefined) ??
    path.join(loaded.dir, 'authorities', 'registrar.key.pem');
  const registrar = await loadEventSigner(ctx, registrarFile);
  const alg = (args.values.alg as string | undefined) ?? 'ML-DSA-65';
  if (!['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87', 'Ed25519', 'ES256', 'ES256K'].includes(alg))
    throw new UsageError(`--alg: unsupported ${alg}`);
  const payments = new TestPaymentServiceClient(network.payments.url);
  const clients = operatorClients(network);
  try {
    const r = await runItemScenario({
      network,
      operators: clients,
      registrar,
      payments,
      pay: (id) => payments.markPaid(id),
      alg: alg as 'ML-DSA-65',
      deadlineMs: deadline(args.values.deadline, 5_000),
      settle: 'all',
    });
    if (args.values.json) printJson(ctx, r);
    else {
      ctx.stdout(`${r.subject}: ${r.events.length} events committed\n`);
      for (const e of r.events)
        ctx.stdout(`  #${e.height} ${e.type} ${e.hash.slice(0, 16)}… quorum ${e.quorum.join(', ')}\n`);
    }
    return { exitCode: 0 };
  } finally {
    await closeClients(clients);
  }
}
