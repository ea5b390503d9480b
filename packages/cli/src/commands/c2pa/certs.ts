import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createTestPki, type SingleTestPki, type TestPki, type TestPkiFiles } from '@omt/c2pa/pki';
import { parseCommandArgs, requireFlag } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { writeOutputFile } from '../../files.js';
import { C2PA_SIGNING_SUITES, resolveC2paSuite } from './suite-option.js';

export const certsHelp: string = `omt certs — certificates for C2PA signing

Usage:
  omt certs create-test-pki [--alg <suite>|hybrid] --out <dir> [--force] [--json]
      Create a TEST root → intermediate → signer chain with the key usage and EKU C2PA
      requires of signing certificates (ML-DSA certificates use the RFC 9881 OIDs).
      Writes into <dir>: root.pem, intermediate.pem, signer.pem, signer.key.pem (PKCS#8)
      and chain.pem (signer, then intermediate) — the files omt sign --key/--cert and
      omt verify --trust take.
      --alg: ${C2PA_SIGNING_SUITES.join(', ')}, or hybrid (= ML-DSA-65+ES256).
      Default ML-DSA-65. A hybrid PKI holds two chains (classical, then PQ) in each file;
      signer.key.pem holds both keys (PQ block, then classical block).
      Existing files are not overwritten unless --force is given.
      For testing only: the keys are written unencrypted.
`;

const FILES: readonly (keyof TestPkiFiles)[] = [
  'root.pem',
  'intermediate.pem',
  'signer.pem',
  'signer.key.pem',
  'chain.pem',
];

function describeChain(pki: SingleTestPki): Record<string, unknown> {
  const cert = pki.signer.certificate;
  return {
    suite: pki.suite,
    root: pki.root.certificate.subject.text,
    intermediate: pki.intermediate.certificate.subject.text,
    signer: cert.subject.text,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    rootSha256: pki.root.certificate.sha256Fingerprint,
  };
}

function chainsOf(pki: TestPki): Record<string, unknown>[] {
  return pki.kind === 'single' ? [describeChain(pki)] : [describeChain(pki.classical), describeChain(pki.pq)];
}

/** `omt certs <sub>`: only `create-test-pki` for now. */
export async function runCerts(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(certsHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'create-test-pki') return createPki(ctx, rest);
  throw new UsageError(`unknown certs command: ${sub} (try: omt certs --help)`);
}

async function createPki(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { alg: { type: 'string' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
    0,
  );
  if (args.values.help) {
    ctx.stdout(certsHelp);
    return { exitCode: 0 };
  }
  const suite = resolveC2paSuite(args.values.alg as string | undefined);
  const outDir = path.resolve(ctx.cwd, requireFlag(args, 'out'));
  const pki = await createTestPki({ suite });
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const exclusive = args.values.force !== true;
  const files: Record<string, string> = {};
  for (const name of FILES) {
    files[name] = await writeOutputFile(ctx, path.join(outDir, name), pki.files[name], {
      exclusive,
      secret: name === 'signer.key.pem',
    });
  }
  const chains = chainsOf(pki);
  if (args.values.json) {
    printJson(ctx, { alg: suite, kind: pki.kind, files, chains });
  } else {
    const lines = [
      `created a ${suite} test PKI (${pki.kind === 'hybrid' ? 'classical + PQ chains' : 'one chain'})`,
    ];
    for (const c of chains) lines.push(`  signer: ${c.signer} (valid until ${c.notAfter})`);
    for (const f of Object.values(files)) lines.push(`  ${f}`);
    lines.push('  for testing only: the signer key is not encrypted');
    ctx.stdout(`${lines.join('\n')}\n`);
  }
  return { exitCode: 0 };
}
