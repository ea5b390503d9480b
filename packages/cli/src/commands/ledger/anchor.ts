import { OmtError } from '@omt/core/errors';
import { parseJson } from '@omt/core/jcs';
import { type AnchorVerification, verifyAnchorProof } from '@omt/ledger/anchor';
import { parseCommandArgs, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { readInputFile } from '../../files.js';

export const anchorHelp: string = `omt anchor — check anchoring proofs offline

Usage:
  omt anchor verify <proof.json> [--headers <headers.json>] [--require-confirmed] [--no-pow] [--json]
      Check every link of an anchoring proof: record → batch inclusion proof (RFC 9162) →
      raw transaction → txid → OP_RETURN commitment to the batch root → block Merkle
      proof (BRC-74 BUMP) → a block header you trust. <proof.json> is the proof itself or
      a job as printed by "omt job <id> --json" (its "proof" member).
      --headers: trusted 80-byte block headers, JSON {"<height>": "<hex>", …}.
      A proof whose transaction is not yet in a block is reported "unconfirmed": every
      offline link was checked; exit 0 (exit 1 with --require-confirmed).
      --no-pow skips the header's own proof-of-work check (regtest headers).
Exit codes: 0 valid or unconfirmed, 1 invalid, 2 usage.
`;

export async function runAnchor(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(anchorHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'verify') return verify(ctx, rest);
  throw new UsageError(`unknown anchor command: ${sub} (try: omt anchor --help)`);
}

async function readJson(ctx: CliContext, file: string, code: string): Promise<unknown> {
  const bytes = await readInputFile(ctx, file);
  try {
    return parseJson(bytes);
  } catch (e) {
    throw new OmtError(code, `${file} is not strict JSON`, { cause: e });
  }
}

/** Reads a trusted-headers file: JSON {"<height>": "<80-byte header hex>", …}. */
export async function readHeaders(ctx: CliContext, file: string): Promise<Map<number, string>> {
  const v = await readJson(ctx, file, 'cli.anchor.headers-malformed');
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new OmtError(
      'cli.anchor.headers-malformed',
      `${file}: expected {"<height>": "<80-byte header hex>", …}`,
    );
  const map = new Map<number, string>();
  for (const [k, h] of Object.entries(v)) {
    if (!/^(0|[1-9]\d{0,9})$/.test(k) || typeof h !== 'string' || !/^[0-9a-fA-F]{160}$/.test(h))
      throw new OmtError(
        'cli.anchor.headers-malformed',
        `${file}: entry "${k.slice(0, 20)}" is not height → 160 hex digits`,
      );
    map.set(Number(k), h.toLowerCase());
  }
  return map;
}

/** confirmed | unconfirmed (every offline link holds, no block yet) | invalid. */
export function anchorStatus(v: AnchorVerification): 'confirmed' | 'unconfirmed' | 'invalid' {
  if (v.valid) return 'confirmed';
  return v.problems.every((p) => p.code === 'ledger.anchor.unconfirmed') ? 'unconfirmed' : 'invalid';
}

async function verify(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { headers: { type: 'string' }, 'require-confirmed': { type: 'boolean' }, 'no-pow': { type: 'boolean' } },
    1,
  );
  if (args.values.help) {
    ctx.stdout(anchorHelp);
    return { exitCode: 0 };
  }
  const file = requirePositional(args, 0, '<proof.json>');
  let proof = await readJson(ctx, file, 'ledger.anchor.schema');
  // Accept a job as printed by `omt job --json` too.
  if (typeof proof === 'object' && proof !== null && 'proof' in proof && !('v' in proof))
    proof = (proof as { proof: unknown }).proof;
  const headersFile = args.values.headers as string | undefined;
  const headers = headersFile === undefined ? new Map<number, string>() : await readHeaders(ctx, headersFile);
  const v = await verifyAnchorProof(proof, { headers, requireProofOfWork: args.values['no-pow'] !== true });
  const status = anchorStatus(v);
  const p = proof as { tx?: { txid?: unknown }; record?: { hash?: unknown } };
  const ok =
    status === 'confirmed' || (status === 'unconfirmed' && args.values['require-confirmed'] !== true);
  if (args.values.json)
    printJson(ctx, {
      status,
      valid: v.valid,
      checked: v.checked,
      problems: v.problems,
      ...(v.blockHash === undefined ? {} : { blockHash: v.blockHash, blockTime: v.blockTime }),
    });
  else {
    const links = Object.entries(v.checked)
      .map(([k, done]) => `${done ? '✓' : '✗'} ${k}`)
      .join('  ');
    ctx.stdout(`${status.toUpperCase()}: ${links}\n`);
    if (status !== 'invalid') ctx.stdout(`  record ${String(p.record?.hash)} in tx ${String(p.tx?.txid)}\n`);
    if (v.blockHash !== undefined) ctx.stdout(`  block ${v.blockHash} (time ${v.blockTime})\n`);
    for (const pr of v.problems) ctx.stdout(`  ${pr.code}: ${pr.message}\n`);
  }
  return { exitCode: ok ? 0 : 1 };
}
