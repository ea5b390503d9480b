import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createTestPaymentHandler,
  OPERATOR_NODE_FLAGS,
  parseOperatorConfig,
  type ServedHandler,
  serveHandler,
} from '@omt/adapters/http';
import { toBase64Url } from '@omt/core/bytes';
import { exportPrivatePem, exportPublicPem } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import type { EventAlg } from '@omt/ledger/event';
import { type EventNetwork, parseEventNetwork } from '@omt/ledger/event-network';
import { InProcessTestPaymentAdapter } from '@omt/ledger/payment-test-adapter';
import { newCosignerKey } from '@omt/ledger/tlog-cosignature';
import { newNoteKey } from '@omt/ledger/tlog-note';
import { parseCommandArgs, requireFlag } from '../../args.js';
import { type CliContext, type CommandResult, printJson, runUntilSignal, UsageError } from '../../context.js';
import { readTextFile, writeOutputFile } from '../../files.js';

export const networkHelp: string = `omt network — a local operator network for event chains

Usage:
  omt network init --operators <N> --quorum <M> --out <dir> [--base-port <p>]
                   [--log-alg ML-DSA-65|ML-DSA-44|ML-DSA-87|Ed25519] [--witness-alg Ed25519|ML-DSA-44]
                   [--postgres <url>] [--force]
      Writes op1.json … opN.json (each operator's name, log and witness keys, 127.0.0.1 port
      and database: a PGlite directory beside it, or its own schema of --postgres),
      network.json (operator URLs and public keys, the quorum, the authorities and the test
      payment service) and authorities/<name>.key.pem (registrar, escrow, fees: ML-DSA-65).
      The quorum must be a majority: N/2 < M ≤ N. Ports: base (default 7101) + i − 1; the test
      payment service listens on base + 98.
  omt network up --dir <dir> [--json]
      Runs every operator of the directory as its own process ("omt operator start") plus the
      test payment service, until Ctrl-C. Prints each URL once it answers.
`;

const AUTHORITIES = ['registrar', 'escrow', 'fees'] as const;

export async function runNetwork(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(networkHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'init') return networkInit(ctx, rest);
  if (sub === 'up') return runNetworkUp(ctx, rest);
  throw new UsageError(`unknown network command: ${sub} (try: omt network --help)`);
}

function intFlag(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`--${name}: an integer from ${min} to ${max}`);
  return n;
}

async function networkInit(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      operators: { type: 'string' },
      quorum: { type: 'string' },
      out: { type: 'string' },
      'base-port': { type: 'string' },
      'log-alg': { type: 'string' },
      'witness-alg': { type: 'string' },
      postgres: { type: 'string' },
      force: { type: 'boolean' },
    },
    0,
  );
  if (args.values.help) {
    ctx.stdout(networkHelp);
    return { exitCode: 0 };
  }
  const n = intFlag(args.values.operators, 'operators', 1, 64);
  const m = intFlag(args.values.quorum, 'quorum', 1, 64);
  if (m > n || 2 * m <= n)
    throw new UsageError(`--quorum must be a majority of the ${n} operators: ${Math.floor(n / 2) + 1}–${n}`);
  const out = path.resolve(ctx.cwd, requireFlag(args, 'out'));
  const basePort = intFlag(args.values['base-port'], 'base-port', 1024, 65_000, 7101);
  const logAlg = (args.values['log-alg'] as string | undefined) ?? 'ML-DSA-65';
  if (!['ML-DSA-65', 'ML-DSA-44', 'ML-DSA-87', 'Ed25519'].includes(logAlg))
    throw new UsageError('--log-alg: ML-DSA-65, ML-DSA-44, ML-DSA-87 or Ed25519');
  const witnessAlg = (args.values['witness-alg'] as string | undefined) ?? 'Ed25519';
  if (!['Ed25519', 'ML-DSA-44'].includes(witnessAlg))
    throw new UsageError('--witness-alg: Ed25519 or ML-DSA-44');
  const postgres = args.values.postgres as string | undefined;
  const exclusive = args.values.force !== true;
  await mkdir(path.join(out, 'authorities'), { recursive: true, mode: 0o700 });

  const operators: EventNetwork['operators'][number][] = [];
  const written: string[] = [];
  const stamp = Date.now().toString(36);
  for (let i = 1; i <= n; i++) {
    const name = `op${i}.omt.local`;
    const log = await newNoteKey(name, logAlg as 'ML-DSA-65');
    const witness = await newCosignerKey(`${name}/witness`, witnessAlg as 'Ed25519');
    const port = basePort + i - 1;
    operators.push({ name, url: `http://127.0.0.1:${port}`, logKey: log.vkey, witnessKey: witness.vkey });
    const config = {
      version: 1,
      name,
      listen: { host: '127.0.0.1', port },
      network: 'network.json',
      database:
        postgres === undefined
          ? { kind: 'pglite', dataDir: `op${i}.db` }
          : { kind: 'postgres', url: postgres, schema: `omt_op${i}_${stamp}` },
      logKey: log.skey,
      witnessKey: witness.skey,
      batch: { delayMs: 0, leaves: 256 },
    };
    parseOperatorConfig(config);
    written.push(
      await writeOutputFile(ctx, path.join(out, `op${i}.json`), `${JSON.stringify(config, null, 2)}\n`, {
        exclusive,
        secret: true,
      }),
    );
  }
  const authorities: Record<string, { alg: EventAlg; pub: string }> = {};
  for (const name of AUTHORITIES) {
    const kp = await getSuite('ML-DSA-65').generateKeyPair();
    authorities[name] = { alg: 'ML-DSA-65', pub: toBase64Url(kp.publicKey) };
    written.push(
      await writeOutputFile(ctx, path.join(out, 'authorities', `${name}.key.pem`), exportPrivatePem(kp), {
        exclusive,
        secret: true,
      }),
      await writeOutputFile(
        ctx,
        path.join(out, 'authorities', `${name}.pub.pem`),
        exportPublicPem({ suite: 'ML-DSA-65', publicKey: kp.publicKey }),
        { exclusive },
      ),
    );
  }
  const network = parseEventNetwork({
    version: 1,
    name: 'omt-local',
    quorum: m,
    operators,
    authorities,
    payments: { kind: 'test-service', url: `http://127.0.0.1:${basePort + 98}` },
  });
  written.push(
    await writeOutputFile(ctx, path.join(out, 'network.json'), `${JSON.stringify(network, null, 2)}\n`, {
      exclusive,
    }),
  );
  if (args.values.json) printJson(ctx, { dir: out, operators: n, quorum: m, files: written });
  else
    ctx.stdout(
      `omt network: ${n} operators, quorum ${m}, in ${out}\n${written.map((f) => `  ${f}`).join('\n')}\n`,
    );
  return { exitCode: 0 };
}

/**
 * The command line that runs this CLI again (for child processes): the built `dist/bin.js` of
 * this package, found the same way from `src/` (tests) and `dist/` (installed).
 */
function cliCommand(): { command: string; args: string[] } {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/bin.js');
  return { command: process.execPath, args: [...OPERATOR_NODE_FLAGS, bin] };
}

/** Runs the operators of `dir` as child processes until `signal` aborts. */
export async function networkUp(
  ctx: CliContext,
  argv: string[],
  signal: AbortSignal,
): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { dir: { type: 'string' } }, 0);
  if (args.values.help) {
    ctx.stdout(networkHelp);
    return { exitCode: 0 };
  }
  const dir = path.resolve(ctx.cwd, requireFlag(args, 'dir'));
  const network = parseEventNetwork(await readTextFile(ctx, path.join(dir, 'network.json')));
  const configs = (await readdir(dir))
    .filter((f) => /^op\d+\.json$/.test(f))
    .sort((a, b) => Number(a.slice(2, -5)) - Number(b.slice(2, -5)));
  if (configs.length === 0) throw new UsageError(`no op<N>.json in ${dir} (run: omt network init)`);
  let payments: ServedHandler | undefined;
  if (network.payments !== undefined) {
    const u = new URL(network.payments.url);
    payments = await serveHandler(createTestPaymentHandler(new InProcessTestPaymentAdapter()), {
      host: u.hostname,
      port: Number(u.port),
    });
  }
  const { command, args: base } = cliCommand();
  const children: ChildProcess[] = [];
  const started: { name: string; url: string }[] = [];
  try {
    await Promise.all(
      configs.map(
        (file) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              command,
              [...base, 'operator', 'start', '--config', path.join(dir, file), '--json'],
              {
                stdio: ['ignore', 'pipe', 'pipe'],
                env: { ...process.env, ...ctx.env },
              },
            );
            children.push(child);
            let out = '';
            child.stdout?.on('data', (d: Buffer) => {
              out += d.toString();
              const line = out.split('\n')[0];
              if (out.includes('\n') && line !== undefined) {
                try {
                  started.push(JSON.parse(line) as { name: string; url: string });
                } catch {
                  // not the first JSON line
                }
                resolve();
              }
            });
            child.stderr?.on('data', (d: Buffer) => ctx.stderr(`[${file}] ${d.toString()}`));
            child.once('exit', (code) => reject(new Error(`${file} exited with code ${code}`)));
          }),
      ),
    );
    const result = {
      operators: started.sort((a, b) => a.name.localeCompare(b.name)),
      payments: payments?.url,
    };
    if (args.values.json) ctx.stdout(`${JSON.stringify(result)}\n`);
    else
      ctx.stdout(
        `omt network: ${started.length} operators up (quorum ${network.quorum}); Ctrl-C stops\n${started.map((s) => `  ${s.name} ${s.url}`).join('\n')}\n`,
      );
    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await payments?.close();
  }
  return { exitCode: 0 };
}

async function runNetworkUp(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  return runUntilSignal((signal) => networkUp(ctx, argv, signal));
}
