import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { toHex } from '@omt/core/bytes';
import { exportJwk, exportPrivatePem, exportPublicPem, keyId } from '@omt/core/keys';
import { DEFAULT_SUITE, getSuite, isSuiteId, listSuites } from '@omt/core/suites';
import { parseCommandArgs, requireFlag } from '../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../context.js';
import { writeOutputFile } from '../files.js';

export const keysHelp: string = `omt keys — key pairs for every signature suite

Usage:
  omt keys list-algs [--json]
      List the signature suites, their COSE/JOSE identifiers and key and signature sizes.
  omt keys generate [--alg <suite>] --out <dir> [--force] [--json]
      Generate a key pair (default suite ${DEFAULT_SUITE}) and write private.pem (PKCS#8),
      public.pem (SPKI), private.jwk.json and public.jwk.json into <dir>. Hybrid suites
      (e.g. ML-DSA-65+ES256) write two PEM blocks per file: the PQ key, then the classical key.
      Existing files are not overwritten unless --force is given.
`;

export async function runKeys(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(keysHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'list-algs') return listAlgs(ctx, rest);
  if (sub === 'generate') return generate(ctx, rest);
  throw new UsageError(`unknown keys command: ${sub} (try: omt keys --help)`);
}

async function listAlgs(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, {}, 0);
  if (args.values.help) {
    ctx.stdout(keysHelp);
    return { exitCode: 0 };
  }
  const rows = await Promise.all(
    listSuites().map(async (s) => ({
      id: s.id,
      family: s.family,
      default: s.id === DEFAULT_SUITE,
      coseAlg: s.coseAlg ?? null,
      joseAlg: s.joseAlg ?? null,
      publicKeySize: s.publicKeySize ?? null,
      secretKeySize: s.secretKeySize ?? null,
      signatureSize: s.signatureSize ?? null,
      canSign: s.canSign,
      securityLevel: s.securityLevel,
      native: await s.nativeAvailable(),
    })),
  );
  if (args.values.json) {
    printJson(ctx, { default: DEFAULT_SUITE, suites: rows });
    return { exitCode: 0 };
  }
  const head = ['suite', 'family', 'COSE', 'pk B', 'sk B', 'sig B', 'sign', 'native'];
  const table = rows.map((r) => [
    r.default ? `${r.id} (default)` : r.id,
    r.family,
    r.coseAlg === null ? '-' : String(r.coseAlg),
    r.publicKeySize === null ? 'var' : String(r.publicKeySize),
    r.secretKeySize === null ? '-' : String(r.secretKeySize),
    r.signatureSize === null ? 'var' : String(r.signatureSize),
    r.canSign ? 'yes' : 'verify only',
    r.native ? 'yes' : 'no',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  ctx.stdout(`${[line(head), ...table.map(line)].join('\n')}\n`);
  return { exitCode: 0 };
}

async function generate(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { alg: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
    0,
  );
  if (args.values.help) {
    ctx.stdout(keysHelp);
    return { exitCode: 0 };
  }
  const alg = (args.values.alg as string | undefined) ?? DEFAULT_SUITE;
  if (!isSuiteId(alg)) {
    throw new UsageError(`unknown suite "${alg}" (see: omt keys list-algs)`);
  }
  const suite = getSuite(alg);
  if (!suite.canSign) throw new UsageError(`${alg} is verify-only here: no keys are generated for it`);
  const outDir = path.resolve(ctx.cwd, requireFlag(args, 'out'));
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const pair = await suite.generateKeyPair();
  const key = { suite: pair.suite, publicKey: pair.publicKey, secretKey: pair.secretKey };
  const kid = keyId(key);
  const exclusive = args.values.force !== true;
  const files = {
    privatePem: await writeOutputFile(ctx, path.join(outDir, 'private.pem'), exportPrivatePem(key), {
      exclusive,
      secret: true,
    }),
    publicPem: await writeOutputFile(ctx, path.join(outDir, 'public.pem'), exportPublicPem(key), {
      exclusive,
    }),
    privateJwk: await writeOutputFile(
      ctx,
      path.join(outDir, 'private.jwk.json'),
      `${JSON.stringify(exportJwk(key, { kid }), null, 2)}\n`,
      { exclusive, secret: true },
    ),
    publicJwk: await writeOutputFile(
      ctx,
      path.join(outDir, 'public.jwk.json'),
      `${JSON.stringify(exportJwk({ suite: key.suite, publicKey: key.publicKey }, { kid }), null, 2)}\n`,
      { exclusive },
    ),
  };
  if (args.values.json) {
    printJson(ctx, { alg, kid, publicKey: toHex(pair.publicKey), files });
  } else {
    ctx.stdout(
      `generated ${alg} key pair, kid ${kid}\n${Object.values(files)
        .map((f) => `  ${f}\n`)
        .join('')}`,
    );
  }
  return { exitCode: 0 };
}
