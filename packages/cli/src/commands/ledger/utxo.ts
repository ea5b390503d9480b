import { toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import type { PoolUtxo } from '@omt/ledger/ports';
import { MAX_SATOSHIS, TXID_RE } from '@omt/ledger/utxo';
import { parseCommandArgs, requireFlag, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import {
  chainClientFlags,
  chainClientOptions,
  describeChainClient,
  openChainClient,
} from './chain-client-choice.js';
import { openWalletState, type WalletState, withState } from './ledger-state.js';
import { SPLIT_RULE, splitUtxo } from './utxo-split.js';
import { findIssuedKey } from './wallet-keys.js';

export const utxoHelp: string = `omt utxo — the pool of outputs that fund publishing transactions

Usage:
  omt utxo add <txid>:<vout> --satoshis <n> [--address <addr>] [--json]
      Add an output paying one of this wallet's addresses (default: the newest funding
      address). Its key path is derived and stored beside it; the seed never leaves $OMT_HOME.
  omt utxo list [--state available|reserved|spent] [--json]
      The outputs of this wallet's pool.
  omt utxo split --into <n> [--fee-rate <sat/kB>] [chain client options] [--json]
      Spend the largest available output into <n> outputs to fresh change addresses, so
      several workers can publish without contending for one output.
      ${SPLIT_RULE}

Chain client options: ${chainClientFlags}
`;

export async function runUtxo(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(utxoHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'add') return add(ctx, rest);
  if (sub === 'list') return list(ctx, rest);
  if (sub === 'split') return split(ctx, rest);
  throw new UsageError(`unknown utxo command: ${sub} (try: omt utxo --help)`);
}

/** Parses `<txid>:<vout>`. */
export function parseOutpoint(text: string): { txid: string; vout: number } {
  const m = /^([0-9a-fA-F]{64}):(0|[1-9]\d{0,9})$/.exec(text);
  const vout = m === null ? Number.NaN : Number(m[2]);
  if (m === null || vout > 0xffffffff)
    throw new UsageError(`expected <txid>:<vout>, got "${text.slice(0, 80)}"`);
  const txid = (m[1] as string).toLowerCase();
  if (!TXID_RE.test(txid)) throw new UsageError('txid: 64 hex characters');
  return { txid, vout };
}

/** Parses a satoshi amount (a positive integer, at most 21 million coins). */
export function parseSatoshis(text: string, flag: string): bigint {
  if (!/^[1-9]\d{0,16}$/.test(text)) throw new UsageError(`--${flag}: a positive whole number of satoshis`);
  const v = BigInt(text);
  if (v > MAX_SATOSHIS) throw new UsageError(`--${flag}: more than 21 million coins`);
  return v;
}

async function add(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { satoshis: { type: 'string' }, address: { type: 'string' } }, 1);
  if (args.values.help) {
    ctx.stdout(utxoHelp);
    return { exitCode: 0 };
  }
  const outpoint = parseOutpoint(requirePositional(args, 0, '<txid>:<vout>'));
  const satoshis = parseSatoshis(requireFlag(args, 'satoshis'), 'satoshis');
  return withState(openWalletState(ctx), async (s) => {
    const key = await findIssuedKey(s.wallet, s.keyIndex, args.values.address as string | undefined);
    const added = await s.utxos.add([{ ...outpoint, satoshis, script: key.script, keyPath: key.path }]);
    const out = {
      outpoint: `${outpoint.txid}:${outpoint.vout}`,
      satoshis: satoshis.toString(),
      address: key.address,
      keyPath: key.path,
      added: added === 1,
    };
    if (args.values.json) printJson(ctx, out);
    else
      ctx.stdout(
        added === 1
          ? `added ${out.outpoint} (${out.satoshis} sat to ${out.address}, ${out.keyPath})\n`
          : `${out.outpoint} is already in the pool\n`,
      );
    return { exitCode: 0 };
  });
}

/** A pool output as printed. */
export function utxoRow(s: WalletState, u: PoolUtxo): Record<string, unknown> {
  let address: string | null = null;
  if (u.keyPath !== undefined) {
    try {
      address = s.wallet.keyForPath(u.keyPath).address;
    } catch {
      address = null;
    }
  }
  return {
    outpoint: `${u.txid}:${u.vout}`,
    txid: u.txid,
    vout: u.vout,
    satoshis: u.satoshis.toString(),
    state: u.state,
    address,
    keyPath: u.keyPath ?? null,
    script: toHex(u.script),
    ...(u.reservedBy === undefined ? {} : { reservedBy: u.reservedBy }),
    ...(u.reservedUntil === undefined ? {} : { reservedUntil: u.reservedUntil.toISOString() }),
    ...(u.spentBy === undefined ? {} : { spentBy: u.spentBy }),
  };
}

async function list(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { state: { type: 'string' } }, 0);
  if (args.values.help) {
    ctx.stdout(utxoHelp);
    return { exitCode: 0 };
  }
  const state = args.values.state as string | undefined;
  if (state !== undefined && state !== 'available' && state !== 'reserved' && state !== 'spent')
    throw new UsageError('--state: available, reserved or spent');
  return withState(openWalletState(ctx), async (s) => {
    const rows = await s.utxos.list(state === undefined ? undefined : { state });
    const out = rows.map((u) => utxoRow(s, u));
    if (args.values.json) printJson(ctx, { pool: s.pool, utxos: out });
    else {
      if (out.length === 0)
        ctx.stdout('the pool is empty (add one: omt utxo add <txid>:<vout> --satoshis <n>)\n');
      for (const r of out)
        ctx.stdout(`${r.outpoint}  ${String(r.satoshis).padStart(14)} sat  ${r.state}  ${r.address ?? ''}\n`);
      const total = rows.filter((u) => u.state === 'available').reduce((a, u) => a + u.satoshis, 0n);
      if (out.length) ctx.stdout(`available: ${total} sat\n`);
    }
    return { exitCode: 0 };
  });
}

async function split(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { into: { type: 'string' }, 'fee-rate': { type: 'string' }, ...chainClientOptions },
    0,
  );
  if (args.values.help) {
    ctx.stdout(utxoHelp);
    return { exitCode: 0 };
  }
  const into = Number(requireFlag(args, 'into'));
  if (!Number.isInteger(into) || into < 2 || into > 1000)
    throw new UsageError('--into: a whole number from 2 to 1000');
  const feeRateText = args.values['fee-rate'] as string | undefined;
  const feeRate = feeRateText === undefined ? undefined : Number(feeRateText);
  if (feeRate !== undefined && (!Number.isFinite(feeRate) || feeRate < 0))
    throw new UsageError('--fee-rate: sat/kB ≥ 0');
  return withState(openWalletState(ctx), async (s) => {
    const client = openChainClient(ctx, s, args);
    const r = await splitUtxo(s, client, { into, ...(feeRate === undefined ? {} : { feeRate }) });
    const out = { ...r, chainClient: describeChainClient(client) };
    if (args.values.json) printJson(ctx, out);
    else
      ctx.stdout(
        `split ${r.spent} into ${r.outputs.length} outputs of ~${r.outputs[0]?.satoshis ?? 0} sat (fee ${r.fee} sat)\n` +
          `  txid ${r.txid} — ${r.broadcast}\n`,
      );
    return { exitCode: 0 };
  });
}
void OmtError;
