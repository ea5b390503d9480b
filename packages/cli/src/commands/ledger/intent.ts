import { OmtError } from '@omt/core/errors';
import { parseJson } from '@omt/core/jcs';
import { importPem } from '@omt/core/keys';
import { createIntent, INTENT_ALGS, intentAlgFor, intentSigner } from '@omt/ledger/intent';
import { parseCommandArgs, requireFlag, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { readInputFile, readTextFile, writeOutputFile } from '../../files.js';

export const intentHelp: string = `omt intent — sign publishing intents on this device (the server never sees the key)

Usage:
  omt intent sign --key <private.pem> <record.json> [--compact] [--out <file>] [--json]
      Sign a record (a JSON object). Adds "timestamp" (now, RFC 3339 UTC) and "nonce"
      (16 random bytes, base64url) when the record lacks them, then prints the intent:
      {protocol, version, record, signer: {pubkey}, signature: {alg, hash, sig}} where
      hash = SHA-256 of the RFC 8785 form of the record. secp256k1 keys sign ES256K-DER
      (Bitcoin-style DER, low-S; --compact: ES256K raw r‖s); other keys sign with their
      suite: ${INTENT_ALGS.filter((a) => !a.startsWith('ES256K')).join(', ')}.
`;

export async function runIntent(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(intentHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'sign') return sign(ctx, rest);
  throw new UsageError(`unknown intent command: ${sub} (try: omt intent --help)`);
}

async function sign(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      key: { type: 'string', short: 'k' },
      compact: { type: 'boolean' },
      out: { type: 'string', short: 'o' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(intentHelp);
    return { exitCode: 0 };
  }
  const keyFile = requireFlag(args, 'key');
  const recordFile = requirePositional(args, 0, '<record.json>');
  const key = importPem(await readTextFile(ctx, keyFile));
  if (key.secretKey === undefined)
    throw new OmtError(
      'cli.intent.public-key',
      `${keyFile} holds a public key: signing needs the private key`,
    );
  if (args.values.compact && key.suite !== 'ES256K')
    throw new UsageError('--compact applies to secp256k1 keys only');
  const alg = intentAlgFor(key.suite, { compact: args.values.compact === true });
  let record: unknown;
  try {
    record = parseJson(await readInputFile(ctx, recordFile));
  } catch (e) {
    if (e instanceof OmtError && e.code.startsWith('cli.file.')) throw e;
    throw new OmtError('ledger.intent.schema', `${recordFile} is not strict JSON`, { cause: e });
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    throw new OmtError('ledger.intent.schema', `${recordFile}: the record must be a JSON object`);
  const signer = await intentSigner(alg, key.secretKey);
  const intent = await createIntent(record as Record<string, unknown>, signer);
  const out = args.values.out as string | undefined;
  if (out !== undefined) {
    const full = await writeOutputFile(ctx, out, `${JSON.stringify(intent, null, 2)}\n`);
    if (args.values.json) printJson(ctx, { file: full, hash: intent.signature.hash, alg });
    else ctx.stdout(`signed ${alg} intent ${intent.signature.hash} → ${full}\n`);
  } else printJson(ctx, intent);
  return { exitCode: 0 };
}
