/**
 * Event-chain operators over real HTTP on loopback: `createOperatorHandler` served by
 * `serveHandler`, reached with the undici `HttpOperatorClient`. Five operators on PGlite (each
 * its own in-memory database): the item's life, client verification, tlog-tiles served and read
 * back with no operator online (a static copy, as a CDN would hold it), witness cosigning
 * between operators, and bad HTTP input.
 */

import { createServer } from 'node:net';
import { toBase64Url } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { hashLeaf, verifyInclusion } from '@omt/core/merkle';
import { getSuite } from '@omt/core/suites';
import { checkpointRecord } from '@omt/ledger/checkpoint-anchor';
import { type EventSigner, partyKeyId, signEvent } from '@omt/ledger/event';
import { submitEvents } from '@omt/ledger/event-client';
import { type EventNetwork, parseEventNetwork } from '@omt/ledger/event-network';
import { verifyChain } from '@omt/ledger/event-verifier';
import { runItemScenario } from '@omt/ledger/item-scenario';
import { parseReceipt, voteLeaf } from '@omt/ledger/operator-receipt';
import { InProcessTestPaymentAdapter } from '@omt/ledger/payment-test-adapter';
import { anchorInRegtestBlock } from '@omt/ledger/testing/regtest-anchor';
import { verifyCheckpoint } from '@omt/ledger/tlog-checkpoint';
import { newCosignerKey, verifyCosignatures } from '@omt/ledger/tlog-cosignature';
import { newNoteKey } from '@omt/ledger/tlog-note';
import { TileReader } from '@omt/ledger/tlog-tiles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestPaymentHandler,
  HttpOperatorClient,
  type OperatorNode,
  parseOperatorConfig,
  type ServedHandler,
  serveHandler,
  shippedMachines,
  startOperatorNode,
} from '../src/http/index.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let network: EventNetwork;
let nodes: OperatorNode[] = [];
let clients: HttpOperatorClient[] = [];
let payments: ServedHandler;
const paymentsAdapter = new InProcessTestPaymentAdapter();
let registrar: EventSigner;
/** op1's admin token (the others run without one: their anchor endpoint is off). */
const ADMIN_TOKEN = 'test-admin-token-0123456789';
process.env.OMT_TEST_OPERATOR_TOKEN = ADMIN_TOKEN;

beforeAll(async () => {
  payments = await serveHandler(createTestPaymentHandler(paymentsAdapter), { port: 0 });
  const auth = async () => {
    const kp = await getSuite('Ed25519').generateKeyPair();
    return {
      alg: 'Ed25519' as const,
      secretKey: kp.secretKey,
      publicKey: kp.publicKey,
      pub: toBase64Url(kp.publicKey),
    };
  };
  const [r, e, f] = [await auth(), await auth(), await auth()];
  registrar = r;
  const ops = [];
  for (let i = 1; i <= 5; i++) {
    const name = `op${i}.http.test`;
    ops.push({
      name,
      port: await freePort(),
      log: await newNoteKey(name, 'ML-DSA-65'),
      witness: await newCosignerKey(`${name}/witness`, 'Ed25519'),
    });
  }
  network = parseEventNetwork({
    version: 1,
    name: 'http-test',
    quorum: 3,
    operators: ops.map((o) => ({
      name: o.name,
      url: `http://127.0.0.1:${o.port}`,
      logKey: o.log.vkey,
      witnessKey: o.witness.vkey,
    })),
    authorities: {
      registrar: { alg: r.alg, pub: r.pub },
      escrow: { alg: e.alg, pub: e.pub },
      fees: { alg: f.alg, pub: f.pub },
    },
    payments: { kind: 'test-service', url: payments.url },
  });
  nodes = await Promise.all(
    ops.map((o) =>
      startOperatorNode({
        config: parseOperatorConfig({
          version: 1,
          name: o.name,
          listen: { host: '127.0.0.1', port: o.port },
          network: 'network.json',
          database: { kind: 'pglite' },
          logKey: o.log.skey,
          witnessKey: o.witness.skey,
          batch: { delayMs: 2 },
          ...(o.name === 'op1.http.test' ? { adminTokenEnv: 'OMT_TEST_OPERATOR_TOKEN' } : {}),
        }),
        baseDir: '/nonexistent',
        network,
      }),
    ),
  );
  clients = network.operators.map(
    (o) => new HttpOperatorClient({ name: o.name, url: o.url, timeoutMs: 5_000 }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodes.map((n) => n.close()));
  await payments?.close();
});

describe('operators over HTTP', () => {
  let subject = '';

  it('runs an item’s life over HTTP and the client finds it authentic', async () => {
    const life = await runItemScenario({
      network,
      operators: clients,
      registrar,
      payments: paymentsAdapter,
      pay: async (id) => paymentsAdapter.markPaid(id),
      alg: 'Ed25519',
      settle: 'all', // all five then hold the history (checked below)
    });
    subject = life.subject;
    expect(life.events).toHaveLength(7);
    const v = await verifyChain({ network, machines: shippedMachines(), operators: clients }, subject);
    expect(v.reasons.filter((r) => r.code !== 'ledger.equivocation')).toEqual([]);
    expect(v.verdict).toBe('authentic');
    expect(v.agreeing).toHaveLength(5);
    expect(v.reasons.filter((r) => r.code !== 'ledger.equivocation')).toEqual([]);
    for (let i = 0; i < 100 && paymentsAdapter.released(life.invoice) === undefined; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(paymentsAdapter.released(life.invoice)).toHaveLength(3);
  });

  it('serves its log as tlog tiles that prove a receipt with no operator online', async () => {
    const view = await clients[0]!.chain(subject);
    const qc = view.events[3]!.qc as { receipts: unknown[]; event: string; chain: string; height: number };
    const receipt = parseReceipt(
      qc.receipts.find((r) => (r as { operator: string }).operator === 'op1.http.test') ?? qc.receipts[0],
    );
    const op = clients.find((c) => c.name === receipt.operator)!;
    const checkpointText = await op.checkpoint();
    const head = await verifyCheckpoint(
      checkpointText,
      network.operators.find((o) => o.name === op.name)!.logKey,
    );
    // Copy every tile the reader asks for into a static map (a CDN), then read only from it.
    const cdn = new Map<string, Uint8Array>();
    const online = new TileReader(async (path) => {
      const data = await op.get(`/${path}`);
      if (data === undefined) throw new Error(`no tile ${path}`);
      cdn.set(path, data);
      return data;
    });
    await online.inclusionProof(receipt.index, head.checkpoint);
    const offline = new TileReader(async (path) => {
      const data = cdn.get(path);
      if (data === undefined) throw new Error(`not cached: ${path}`);
      return data;
    });
    const cp = head.checkpoint;
    const proof = await offline.inclusionProof(receipt.index, cp);
    const leaf = hashLeaf(voteLeaf(qc.chain, qc.height, qc.event));
    expect(verifyInclusion(receipt.index, cp.size, leaf, proof, cp.root)).toBe(true);
    expect(cdn.size).toBeGreaterThan(0);
  });

  it('cosigns each other’s checkpoints witness-style (tlog-witness add-checkpoint)', async () => {
    // The operators push their checkpoints every second; wait until op1's is cosigned.
    let cosigned = 0;
    for (let i = 0; i < 60 && cosigned < 2; i++) {
      const text = await clients[0]!.checkpoint();
      const v = await verifyCosignatures(
        text,
        network.operators.slice(1).map((o) => o.witnessKey),
      );
      cosigned = v.cosignatures.length;
      if (cosigned < 2) await new Promise((r) => setTimeout(r, 250));
    }
    expect(cosigned).toBeGreaterThanOrEqual(2);
  });

  it('takes an anchored checkpoint over HTTP with the admin token only, keeps it, and clients verify it', async () => {
    const life = await runItemScenario({
      network,
      operators: clients,
      registrar,
      payments: paymentsAdapter,
      pay: async (id) => paymentsAdapter.markPaid(id),
      alg: 'Ed25519',
      steps: 2,
      settle: 'all',
    });
    const op1 = clients[0] as HttpOperatorClient;
    const cp = await op1.checkpoint();
    const stamp = { timestamp: new Date().toISOString(), nonce: 'aHR0cC1hbmNob3ItdGVzdA' };
    const { proofs, headers } = anchorInRegtestBlock(
      [
        { ...checkpointRecord(cp), ...stamp },
        { rid: 'urn:other', ...stamp },
      ],
      { height: 900_002 },
    );
    const anchored = { checkpoint: cp, proof: proofs[0]! };
    await expect(op1.addAnchor(anchored, 'not-the-admin-token-at-all')).rejects.toMatchObject({
      code: 'adapters.http.forbidden',
    });
    await expect((clients[1] as HttpOperatorClient).addAnchor(anchored, ADMIN_TOKEN)).rejects.toMatchObject({
      code: 'ledger.operator.not-found',
    });
    await expect(op1.addAnchor({ checkpoint: cp, proof: proofs[1]! }, ADMIN_TOKEN)).rejects.toMatchObject({
      code: 'ledger.anchor.record-mismatch',
    });
    await op1.addAnchor(anchored, ADMIN_TOKEN);
    const v = await verifyChain(
      { network, machines: shippedMachines(), operators: clients, headers },
      life.subject,
    );
    expect(v.verdict).toBe('authentic');
    expect(v.anchors.map((a) => [a.operator, a.blockHeight])).toEqual([['op1.http.test', 900_002]]);
    // A configured token variable that is unset stops the node from starting.
    await expect(
      startOperatorNode({
        config: parseOperatorConfig({
          version: 1,
          name: 'op1.http.test',
          listen: { host: '127.0.0.1', port: 0 },
          network: 'network.json',
          database: { kind: 'pglite' },
          logKey: 'x'.repeat(16),
          witnessKey: 'x'.repeat(16),
          adminTokenEnv: 'OMT_TEST_UNSET_TOKEN_VARIABLE',
        }),
        baseDir: '/nonexistent',
        network,
      }),
    ).rejects.toMatchObject({
      code: 'ledger.operator.invalid',
      message: expect.stringContaining('OMT_TEST_UNSET_TOKEN_VARIABLE'),
    });
    expect(() =>
      parseOperatorConfig({
        version: 1,
        name: 'op1.http.test',
        listen: { host: '127.0.0.1', port: 0 },
        network: 'network.json',
        database: { kind: 'pglite' },
        logKey: 'x'.repeat(16),
        witnessKey: 'x'.repeat(16),
        adminTokenEnv: 'lower-case; rm -rf',
      }),
    ).toThrow(expect.objectContaining({ code: 'ledger.operator.invalid' }));
  });

  it('answers bad HTTP input with JSON errors and the right statuses', async () => {
    const base = network.operators[0]!.url;
    const post = (path: string, body: string) =>
      fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const notJson = await post('/v1/events', '{nope');
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('adapters.http.bad-request');
    expect((await post('/v1/events', JSON.stringify({ events: 'x' }))).status).toBe(400);
    expect((await post('/v1/events', JSON.stringify({ events: [] }))).status).toBe(400);
    const huge = await post('/v1/events', JSON.stringify({ events: ['x'.repeat(33 * 1024 * 1024)] }));
    expect(huge.status).toBe(413);
    const malformed = await post('/v1/events', JSON.stringify({ events: [{ v: 1 }, 'junk'] }));
    expect(malformed.status).toBe(200);
    const answers = (await malformed.json()).results;
    expect(answers.map((a: { ok: boolean; code: string }) => [a.ok, a.code])).toEqual([
      [false, 'ledger.event.malformed'],
      [false, 'ledger.event.malformed'],
    ]);
    const badCommit = await post('/v1/commit', JSON.stringify({ entries: [{ event: {}, qc: {} }] }));
    expect((await badCommit.json()).results[0].ok).toBe(false);
    expect((await fetch(`${base}/v1/events`)).status).toBe(405);
    expect((await fetch(`${base}/v1/log/consistency?from=x&to=2`)).status).toBe(400);
    expect((await fetch(`${base}/v1/log/consistency?from=5&to=2`)).status).toBe(400);
    expect((await fetch(`${base}/tile/0/x999`)).status).toBe(404);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/v1/chains/%E0%A4%A`)).status).toBe(400);
    const witness = await post('/add-checkpoint', 'old 0\n\nnot a checkpoint');
    expect(witness.status).toBe(400);
    const empty = await clients[0]!.chain('item:never-seen');
    expect(empty).toMatchObject({ height: -1, events: [] });
  });

  it('coalesces concurrent single-event submitters into shared requests (coalesce: false sends each alone)', async () => {
    // A counting proxy in front of each operator: how many vote and commit requests arrive.
    const counted = await Promise.all(
      network.operators.map(async (o) => {
        const seen = { votes: 0, commits: 0 };
        const proxy = await serveHandler(async (req) => {
          const url = new URL(req.url);
          if (url.pathname === '/v1/events') seen.votes++;
          if (url.pathname === '/v1/commit') seen.commits++;
          const body = req.method === 'GET' ? undefined : await req.arrayBuffer();
          return fetch(o.url + url.pathname + url.search, {
            method: req.method,
            headers: { 'content-type': req.headers.get('content-type') ?? 'application/json' },
            ...(body === undefined ? {} : { body }),
          });
        });
        return { name: o.name, proxy, seen };
      }),
    );
    const manufacturer = await getSuite('Ed25519').generateKeyPair();
    const keyId = partyKeyId({ alg: 'Ed25519', pub: toBase64Url(manufacturer.publicKey) });
    const registerEvent = (chain: string) =>
      signEvent(
        {
          v: 1,
          chain,
          machine: 'omt.item/v1',
          height: 0,
          prev: null,
          time: new Date().toISOString(),
          type: 'registerManufacturer',
          payload: { manufacturer: keyId, name: 'Coalesced' },
        },
        [registrar],
      );
    const run = async (coalesce: boolean, tag: string) => {
      for (const c of counted) Object.assign(c.seen, { votes: 0, commits: 0 });
      const via = counted.map(
        (c) =>
          new HttpOperatorClient({
            name: c.name,
            url: c.proxy.url,
            timeoutMs: 10_000,
            ...(coalesce ? {} : { coalesce: false as const }),
          }),
      );
      const events = await Promise.all(
        Array.from({ length: 12 }, (_, i) => registerEvent(`item:coalesce-${tag}-${i}`)),
      );
      // Twelve submitters, each starting a tick after the last and sending one event.
      const outcomes = await Promise.all(
        events.map(async (e, i) => {
          await new Promise((r) => setTimeout(r, i));
          const [r] = await submitEvents({ network, operators: via, settle: 'all' }, [e]);
          return r;
        }),
      );
      await Promise.all(via.map((c) => c.close()));
      expect(outcomes.map((r) => r?.ok)).toEqual(events.map(() => true));
      for (const [i, e] of events.entries()) expect(outcomes[i]).toMatchObject({ chain: e.chain, height: 0 });
      return counted.map((c) => ({ ...c.seen }));
    };
    try {
      const alone = await run(false, 'alone');
      expect(alone).toEqual(counted.map(() => ({ votes: 12, commits: 12 })));
      const shared = await run(true, 'shared');
      for (const s of shared) {
        expect(s.votes).toBeLessThan(12);
        expect(s.commits).toBeLessThan(12);
        expect(s.votes).toBeGreaterThan(0);
      }
      const v = await verifyChain(
        { network, machines: shippedMachines(), operators: clients },
        'item:coalesce-shared-11',
      );
      expect(v.verdict).toBe('authentic');
    } finally {
      await Promise.all(counted.map((c) => c.proxy.close()));
    }
  });

  it('ends an aborted coalesced call with ledger.operator.timeout and leaves the others be', async () => {
    const hang = await serveHandler(() => new Promise(() => undefined), { port: 0 });
    const slow = new HttpOperatorClient({
      name: 'slow',
      url: hang.url,
      timeoutMs: 300,
      coalesce: { maxInFlight: 1 },
    });
    const ctl = new AbortController();
    const first = slow.submit([{ n: 1 }]);
    const aborted = slow.submit([{ n: 2 }], ctl.signal);
    ctl.abort();
    await expect(aborted).rejects.toSatisfy((e: unknown) => isOmtError(e, 'ledger.operator.timeout'));
    // The request already sent still ends on the client's own deadline, with its own code.
    await expect(first).rejects.toSatisfy((e: unknown) => isOmtError(e, 'ledger.operator.timeout'));
    await slow.close();
    hang.server.closeAllConnections();
    await hang.close();
  });

  it('close() with coalesced calls queued: the running request completes, the queued ones end unavailable', async () => {
    const srv = await serveHandler(async (req) => {
      const n = ((await req.json()) as { events: unknown[] }).events.length;
      await new Promise((r) => setTimeout(r, 50));
      const results = Array.from({ length: n }, () => ({ ok: false, hash: 'x', code: 'c', message: 'm' }));
      return new Response(JSON.stringify({ results }), { headers: { 'content-type': 'application/json' } });
    });
    const c = new HttpOperatorClient({
      name: 'q',
      url: srv.url,
      timeoutMs: 2_000,
      coalesce: { maxInFlight: 1 },
    });
    const running = c.submit([{}]);
    await new Promise((r) => setTimeout(r, 0));
    // Settled as they end (they reject while close() is awaited).
    const queued = Promise.allSettled([c.submit([{}]), c.submit([{}, {}])]);
    await new Promise((r) => setTimeout(r, 0));
    await c.close();
    expect(await running).toHaveLength(1);
    for (const q of await queued) {
      expect(q.status).toBe('rejected');
      expect(isOmtError((q as PromiseRejectedResult).reason, 'ledger.operator.unavailable')).toBe(true);
    }
    await srv.close();
  });

  it("a request per call: the caller's abort ends it at once, before its deadline; an aborted signal sends nothing", async () => {
    let seen = 0;
    const hang = await serveHandler(
      () => {
        seen++;
        return new Promise(() => undefined);
      },
      { port: 0 },
    );
    const c = new HttpOperatorClient({ name: 'slow', url: hang.url, timeoutMs: 10_000, coalesce: false });
    const ctl = new AbortController();
    const t0 = performance.now();
    const call = c.submit([{ n: 1 }], ctl.signal);
    setTimeout(() => ctl.abort(), 50);
    await expect(call).rejects.toSatisfy(
      (e: unknown) =>
        isOmtError(e, 'ledger.operator.timeout') && /request aborted/.test((e as Error).message),
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(seen).toBe(1);
    await expect(c.commit([], AbortSignal.abort())).rejects.toSatisfy((e: unknown) =>
      isOmtError(e, 'ledger.operator.timeout'),
    );
    expect(seen).toBe(1);
    // Its own deadline still ends a call whose caller never aborts.
    const quick = new HttpOperatorClient({ name: 'slow', url: hang.url, timeoutMs: 150, coalesce: false });
    await expect(quick.status(new AbortController().signal)).rejects.toSatisfy(
      (e: unknown) => isOmtError(e, 'ledger.operator.timeout') && /within 150 ms/.test((e as Error).message),
    );
    await c.close();
    await quick.close();
    hang.server.closeAllConnections();
    await hang.close();
  });

  it('reports unreachable and slow operators with their codes', async () => {
    const dead = new HttpOperatorClient({
      name: 'dead',
      url: `http://127.0.0.1:${await freePort()}`,
      timeoutMs: 500,
    });
    await expect(dead.status()).rejects.toSatisfy((e: unknown) =>
      isOmtError(e, 'ledger.operator.unavailable'),
    );
    await dead.close();
    const hang = await serveHandler(() => new Promise(() => undefined), { port: 0 });
    const slow = new HttpOperatorClient({ name: 'slow', url: hang.url, timeoutMs: 200 });
    await expect(slow.status()).rejects.toSatisfy((e: unknown) => isOmtError(e, 'ledger.operator.timeout'));
    await slow.close();
    hang.server.closeAllConnections();
    await hang.close();
  });
});
