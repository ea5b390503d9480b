// Event chains: a 3-of-5 operator network on loopback — five `omt operator start` processes,
// each with its own PGlite database under $OMT_HOME/network (written once by `omt network init`
// and reused by later runs) — an item minted, transferred and sold through escrow, a checkpoint
// anchored in a (regtest) block and verified with the item, an equivocating operator caught with
// portable evidence, and a client verifying the item while two operators are down.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  createTestPaymentHandler,
  HttpOperatorClient,
  OPERATOR_NODE_FLAGS,
  parseOperatorConfig,
  serveHandler,
  shippedMachines,
} from '@omt/adapters/http';
import { toBase64Url } from '@omt/core/bytes';
import { importPem } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { checkpointRecord } from '@omt/ledger/checkpoint-anchor';
import { verifyEquivocationEvidence } from '@omt/ledger/equivocation';
import { type EventAlg, partyKeyId, signEvent } from '@omt/ledger/event';
import { type EventNetwork, parseEventNetwork } from '@omt/ledger/event-network';
import { verifyChain } from '@omt/ledger/event-verifier';
import { runItemScenario } from '@omt/ledger/item-scenario';
import { InProcessTestPaymentAdapter } from '@omt/ledger/payment-test-adapter';
import { lyingOperator } from '@omt/ledger/testing/lying-operator';
import { anchorInRegtestBlock } from '@omt/ledger/testing/regtest-anchor';
import { parseSignerKey } from '@omt/ledger/tlog-note';

const cli = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));
const execCli = promisify(execFile);
/** The environment variable op1's operator reads its admin token from (anchored checkpoints). */
const ADMIN_TOKEN_ENV = 'OMT_DEMO_OP1_ADMIN_TOKEN';

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Ports of a network file: the operators' and the payment service's. */
function portsOf(network: EventNetwork): number[] {
  return [
    ...network.operators.map((o) => Number(new URL(o.url).port)),
    Number(new URL(network.payments?.url ?? 'http://x:0').port),
  ];
}

/** The network directory: reused when its ports are free, else written afresh by `omt network init`. */
async function networkDir(omtHome: string, log: (l: string) => void): Promise<EventNetwork> {
  const dir = path.join(omtHome, 'network');
  const file = path.join(dir, 'network.json');
  if (existsSync(file)) {
    const network = parseEventNetwork(await readFile(file, 'utf8'));
    if ((await Promise.all(portsOf(network).map(portFree))).every(Boolean)) {
      log(`   reusing the network in ${dir}`);
      return network;
    }
    await rm(dir, { recursive: true, force: true });
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const wanted = [0, 1, 2, 3, 4, 98].map((d) => base + d);
    if (!(await Promise.all(wanted.map(portFree))).every(Boolean)) continue;
    const args = [
      cli,
      'network',
      'init',
      '--operators',
      '5',
      '--quorum',
      '3',
      '--out',
      dir,
      '--base-port',
      String(base),
    ];
    await execCli(process.execPath, args);
    log(`   omt network init --operators 5 --quorum 3 --out ${dir} --base-port ${base}`);
    return parseEventNetwork(await readFile(file, 'utf8'));
  }
  throw new Error('no free ports for the demo network');
}

/** Starts `omt operator start --config <file>`; resolves once it serves. */
function startOperator(
  config: string,
  log: (l: string) => void,
  env?: Record<string, string>,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...OPERATOR_NODE_FLAGS, cli, 'operator', 'start', '--config', config, '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(env === undefined ? {} : { env: { ...process.env, ...env } }),
      },
    );
    child.stderr?.on('data', (d: Buffer) => log(`   [${path.basename(config)}] ${d.toString().trim()}`));
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${path.basename(config)} exited with code ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Reads an authority's key file as an event signer. */
async function authoritySigner(dir: string, name: string) {
  const key = importPem(await readFile(path.join(dir, 'authorities', `${name}.key.pem`), 'utf8'));
  return { alg: key.suite as EventAlg, secretKey: key.secretKey as Uint8Array, publicKey: key.publicKey };
}

export async function demoEvents(ctx: {
  log: (line: string) => void;
  omtHome: string;
}): Promise<{ ok: boolean; summary: string }> {
  const { log } = ctx;
  const dir = path.join(ctx.omtHome, 'network');
  const network = await networkDir(ctx.omtHome, log);
  const paymentsAdapter = new InProcessTestPaymentAdapter();
  const payUrl = new URL(network.payments?.url ?? '');
  const payments = await serveHandler(createTestPaymentHandler(paymentsAdapter), {
    host: payUrl.hostname,
    port: Number(payUrl.port),
  });
  const t0 = performance.now();
  const children: ChildProcess[] = [];
  const clients = network.operators.map(
    (o) => new HttpOperatorClient({ name: o.name, url: o.url, timeoutMs: 3_000 }),
  );
  let ok = true;
  try {
    // op1 takes anchored checkpoints from its operator (admin token in an environment variable):
    // its config as `omt network init` wrote it, plus `adminTokenEnv`, in a file beside it.
    const op1Anchoring = path.join(dir, 'op1.anchoring.json');
    const op1Config = JSON.parse(await readFile(path.join(dir, 'op1.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(op1Anchoring, JSON.stringify({ ...op1Config, adminTokenEnv: ADMIN_TOKEN_ENV }, null, 2));
    const adminToken = toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(24)));
    const starting = network.operators.map((_, i) =>
      i === 0
        ? startOperator(op1Anchoring, log, { [ADMIN_TOKEN_ENV]: adminToken })
        : startOperator(path.join(dir, `op${i + 1}.json`), log),
    );
    for (const c of await Promise.allSettled(starting)) if (c.status === 'fulfilled') children.push(c.value);
    for (const c of await Promise.allSettled(starting)) if (c.status === 'rejected') throw c.reason;
    log(
      `   ${children.length} operator processes up in ${((performance.now() - t0) / 1000).toFixed(1)} s (ML-DSA-65 log keys, Ed25519 witness keys, a PGlite database each), quorum ${network.quorum}`,
    );
    const registrar = await authoritySigner(dir, 'registrar');

    // The item's life: register manufacturer, mint, transfer, offer, accept, escrow, settle.
    const t1 = performance.now();
    const life = await runItemScenario({
      network,
      operators: clients,
      registrar,
      payments: paymentsAdapter,
      pay: async (id) => paymentsAdapter.markPaid(id),
      // Every operator stores each event before the next: two of them are stopped below, and the
      // other three must then hold the whole history (with 'quorum' a slow one may still lag).
      settle: 'all',
    });
    log(
      `   ${life.subject}: ${life.events.length} events committed in ${(performance.now() - t1).toFixed(0)} ms`,
    );
    for (const e of life.events)
      log(
        `     #${e.height} ${e.type.padEnd(20)} ${e.hash.slice(0, 16)}…  quorum ${e.quorum.map((q) => q.slice(0, 3)).join(' ')}`,
      );
    // Every operator releases the escrow after its commit (idempotently); wait for the first.
    for (let i = 0; i < 100 && paymentsAdapter.released(life.invoice) === undefined; i++)
      await new Promise((r) => setTimeout(r, 20));
    const released = paymentsAdapter.released(life.invoice) ?? [];
    log(`   settlement paid out: ${released.map((p) => `${p.role} ${p.amount} ${p.currency}`).join(', ')}`);

    const machines = shippedMachines();
    // op1's operator anchors op1's latest checkpoint on chain. The offline chain client of this demo
    // never mines, so the anchoring transaction goes into a regtest block built in-process (with
    // its proof of work); the client then checks the checkpoint → batch → transaction → block.
    const op1 = clients[0] as HttpOperatorClient;
    const cp = await op1.checkpoint();
    const stamp = {
      timestamp: new Date().toISOString(),
      nonce: toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    };
    const record = checkpointRecord(cp);
    const { proofs, headers } = anchorInRegtestBlock([{ ...record, ...stamp }], {
      height: 900_000,
    });
    await op1.addAnchor({ checkpoint: cp, proof: proofs[0] as NonNullable<(typeof proofs)[0]> }, adminToken);
    const anchoredView = await verifyChain(
      { network, machines, operators: clients, deadlineMs: 2_000, headers },
      life.subject,
    );
    const anchorsSeen = anchoredView.anchors.map((a) => `${a.operator} in block ${a.blockHeight}`);
    log(
      `   op1's checkpoint (size ${record.size}) anchored in a regtest block built in-process → client verdict: ${anchoredView.verdict}; anchors verified: ${anchorsSeen.join(', ') || 'none'}`,
    );
    ok &&= anchoredView.verdict === 'authentic' && anchoredView.anchors.length >= 1;

    // op3 equivocates: its key also signs a different event at height 2 (a transfer to a thief,
    // signed by the thief) and it serves that history. The client asks all five.
    const thief = await getSuite('ML-DSA-65').generateKeyPair();
    const view = await clients[0]?.chain(life.subject);
    const honest2 = view?.events[2]?.event as Parameters<typeof signEvent>[0];
    const forged = await signEvent(
      { ...honest2, payload: { to: partyKeyId({ alg: 'ML-DSA-65', pub: toBase64Url(thief.publicKey) }) } },
      [{ alg: 'ML-DSA-65', secretKey: thief.secretKey, publicKey: thief.publicKey }],
    );
    const op3 = parseOperatorConfig(await readFile(path.join(dir, 'op3.json'), 'utf8'));
    const liar = lyingOperator(clients[2] as HttpOperatorClient, await parseSignerKey(op3.logKey), {
      chain: life.subject,
      height: 2,
      forged,
    });
    const withLiar = clients.map((c, i) => (i === 2 ? liar : c));
    const seen = await verifyChain(
      { network, machines, operators: withLiar, deadlineMs: 2_000 },
      life.subject,
    );
    log(
      `   op3 equivocates at height 2 → client verdict: ${seen.verdict} (${seen.agreeing.length} honest operators agree)`,
    );
    for (const r of seen.reasons) log(`     - ${r.operator ?? ''} ${r.message.slice(0, 100)} [${r.code}]`);
    for (const e of seen.evidence) {
      const check = await verifyEquivocationEvidence(e, network);
      log(
        `     ${e.kind} evidence against ${e.operator}: verifies with the network's public keys alone: ${check.ok}`,
      );
      ok &&= check.ok;
    }
    ok &&=
      seen.verdict === 'authentic' &&
      seen.evidence.length > 0 &&
      seen.evidence.every((e) => e.operator === 'op3.omt.local');
    ok &&= released.length === 3;

    // Two operators go down; a client still gets an authentic answer from the other three.
    await stop(children[3] as ChildProcess);
    await stop(children[4] as ChildProcess);
    const v = await verifyChain({ network, machines, operators: clients, deadlineMs: 2_000 }, life.subject);
    const owner = v.state?.ctx.owner;
    log(
      `   op4, op5 stopped → client verdict: ${v.verdict} at height ${v.height} (${v.agreeing.length} agree); owner is the buyer: ${owner === life.parties.buyer}`,
    );
    for (const r of v.reasons) log(`     - ${r.operator ?? ''} ${r.message.slice(0, 100)} [${r.code}]`);
    ok &&= v.verdict === 'authentic' && owner === life.parties.buyer;
    return {
      ok,
      summary: `3-of-5: ${life.events.length} events, a checkpoint anchored (${anchoredView.anchors.length} verified), ${v.verdict} with 2 down, ${seen.evidence.length} equivocation proof(s)`,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(children.map(stop));
    await payments.close();
  }
}
