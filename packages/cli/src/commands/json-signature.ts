import { OmtError } from '@omt/core/errors';
import { parseJson } from '@omt/core/jcs';
import { importPem, keyId } from '@omt/core/keys';
import { signJson, verifyJson } from '@omt/core/signed-json';
import { getSuite, isSuiteId, type SuiteId } from '@omt/core/suites';
import { parseCommandArgs, requireFlag, requirePositional } from '../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../context.js';
import { readTextFile, writeOutputFile } from '../files.js';

export const signJsonHelp: string = `omt sign-json — sign a JSON document

Usage:
  omt sign-json --key <private.pem> [--alg <suite>] [--kid <kid>] [-o <out>] <file.json>
      Prints the document with "signature": { alg, kid, sig } attached. The signed bytes are
      the RFC 8785 (JCS) form of the document without its "signature" member; sig is
      base64url. The suite comes from the key (--alg only to pick among suites sharing a key
      type); kid defaults to the key's RFC 7638 thumbprint.
`;

export const verifyJsonHelp: string = `omt verify-json — verify a signed JSON document

Usage:
  omt verify-json --pub <public.pem> [--alg <suite>] [--json] <signed.json>
      Exit code 0 only when the signature verifies with the given public key; 1 otherwise,
      with the reason.
`;

function suiteOption(args: { values: Record<string, unknown> }): SuiteId | undefined {
  const alg = args.values.alg;
  if (alg === undefined) return undefined;
  if (typeof alg !== 'string' || !isSuiteId(alg)) throw new UsageError(`unknown suite "${String(alg)}"`);
  return alg;
}

export async function runSignJson(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      key: { type: 'string' },
      alg: { type: 'string' },
      kid: { type: 'string' },
      out: { type: 'string', short: 'o' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(signJsonHelp);
    return { exitCode: 0 };
  }
  const keyFile = requireFlag(args, 'key');
  const docFile = requirePositional(args, 0, 'the JSON file to sign');
  const alg = suiteOption(args);
  const key = importPem(await readTextFile(ctx, keyFile), alg === undefined ? {} : { suite: alg });
  if (key.secretKey === undefined) {
    throw new OmtError(
      'cli.key.not-private',
      `${keyFile} holds no private key: sign-json needs a private key`,
    );
  }
  const document = parseJson(await readTextFile(ctx, docFile));
  const kid = typeof args.values.kid === 'string' ? args.values.kid : keyId(key);
  const signed = await signJson(document, { suite: getSuite(key.suite), secretKey: key.secretKey, kid });
  const text = `${JSON.stringify(signed, null, 2)}\n`;
  if (typeof args.values.out === 'string') {
    const full = await writeOutputFile(ctx, args.values.out, text);
    if (args.values.json) printJson(ctx, { alg: key.suite, kid, out: full });
    else ctx.stdout(`signed with ${key.suite} (kid ${kid}) → ${full}\n`);
  } else {
    ctx.stdout(text);
  }
  return { exitCode: 0 };
}

export async function runVerifyJson(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { pub: { type: 'string' }, alg: { type: 'string' } }, 1);
  if (args.values.help) {
    ctx.stdout(verifyJsonHelp);
    return { exitCode: 0 };
  }
  const pubFile = requireFlag(args, 'pub');
  const docFile = requirePositional(args, 0, 'the signed JSON file');
  const alg = suiteOption(args);
  const key = importPem(await readTextFile(ctx, pubFile), alg === undefined ? {} : { suite: alg });
  const document = parseJson(await readTextFile(ctx, docFile));
  const result = await verifyJson(document, { suite: getSuite(key.suite), publicKey: key.publicKey });
  if (args.values.json) {
    printJson(ctx, result);
  } else if (result.valid) {
    ctx.stdout(`valid: ${result.alg} signature, kid ${result.kid}\n`);
  } else {
    ctx.stderr(`invalid [${result.code}]: ${result.reason}\n`);
  }
  return { exitCode: result.valid ? 0 : 1 };
}
