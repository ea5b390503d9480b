/**
 * Checkpoint anchoring over real HTTP: the publishing service (`createPublishHandler` on a real
 * `Publisher`, served by `serveHandler`) reached with the undici `HttpPublishClient`, and an
 * operator node (`startOperatorNode`, PGlite) whose configuration turns its anchoring job on. The
 * one fake is the chain: no Bitcoin node runs here, so an in-process chain "mines" what was
 * broadcast when the test says so.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { toBase64Url, toHex } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { exportPrivatePem, exportPublicPem } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { checkpointRecord } from '@omt/ledger/checkpoint-anchor';
import { parseEventNetwork } from '@omt/ledger/event-network';
import { verifyChain } from '@omt/ledger/event-verifier';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { createIntent, intentSigner } from '@omt/ledger/intent';
import { MemoryNonceStore } from '@omt/ledger/intent-nonce-store-memory';
import { runItemScenario } from '@omt/ledger/item-scenario';
import { MemoryJobQueue } from '@omt/ledger/job-queue-memory';
import { signerRegistration } from '@omt/ledger/key-registry';
import { MemoryKeyRegistry } from '@omt/ledger/key-registry-memory';
import { InProcessTestPaymentAdapter } from '@omt/ledger/payment-test-adapter';
import { Publisher } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { regtestMiningChain } from '@omt/ledger/testing/regtest-anchor';
import { newCosignerKey } from '@omt/ledger/tlog-cosignature';
import { newNoteKey } from '@omt/ledger/tlog-note';
import { MemoryUtxoStore } from '@omt/ledger/utxo-store-memory';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createPublishHandler,
  HttpOperatorClient,
  HttpPublishClient,
  type OperatorNode,
  parseOperatorConfig,
  type ServedHandler,
  serveHandler,
  shippedMachines,
  startOperatorNode,
} from '../src/http/index.js';

const randomHex = (n: number): string => toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

async function publishingService() {
  const queue = new MemoryJobQueue();
  const registry = new MemoryKeyRegistry();
  const publisher = new Publisher({ queue, registry, nonces: new MemoryNonceStore() });
  const served: ServedHandler = await serveHandler(createPublishHandler({ publisher }), { port: 0 });
  cleanup.push(() => served.close());
  // The one fake: no Bitcoin node runs here (regtestMiningChain mines on demand).
  const { chain, headers, mine } = regtestMiningChain({ height: 800_000 });
  const utxos = new MemoryUtxoStore();
  const wallet = HdWallet.fromSeed(
    Uint8Array.from({ length: 32 }, (_, i) => i + 99),
    {
      network: 'bsv',
      store: new MemoryKeyIndexStore(),
    },
  );
  for (let i = 0; i < 3; i++) {
    const k = await wallet.nextFundingKey();
    await utxos.add([{ txid: randomHex(32), vout: 0, satoshis: 50_000n, script: k.script, keyPath: k.path }]);
  }
  const worker = new PublishWorker({ queue, utxos, wallet, chain });
  return { publisher, registry, served, worker, mine: () => mine(), headers };
}

describe('HttpPublishClient', () => {
  it('publishes, reports jobs and records, and answers refusals and unknown ids like Publisher', async () => {
    const s = await publishingService();
    const client = new HttpPublishClient({ url: s.served.url });
    cleanup.push(() => client.close());
    const kp = await getSuite('Ed25519').generateKeyPair();
    const signer = await intentSigner('Ed25519', kp.secretKey);
    const intent = await createIntent({ rid: 'urn:test:http-publish' }, signer);
    // Not registered yet: refused with the publisher's problems, not thrown.
    const refused = await client.publish(intent);
    expect(refused).toMatchObject({
      accepted: false,
      problems: [expect.objectContaining({ code: 'ledger.signer.unknown' })],
    });
    await s.registry.register(
      signerRegistration('Ed25519', signer.publicKey, { validFrom: new Date(0) }),
      new Date(),
    );
    const r = await client.publish(await createIntent({ rid: 'urn:test:http-publish' }, signer));
    expect(r).toMatchObject({ accepted: true, recordId: 'urn:test:http-publish' });
    const jobId = (r as { jobId: string }).jobId;
    expect(await client.job(jobId)).toEqual(await s.publisher.job(jobId));
    expect((await client.record('urn:test:http-publish'))?.id).toBe(jobId);
    expect(await client.job('job-unknown')).toBeUndefined();
    expect(await client.record('urn:test:nothing')).toBeUndefined();
    // A body the service cannot read at all: its error code comes back as an OmtError.
    await expect(client.publish('{not json')).resolves.toMatchObject({ accepted: false });
  });

  it('answers over the size limit are refused (publisher and operator clients share the bounded read)', async () => {
    const big = `{"pad":"${'x'.repeat(8192)}"}`;
    const served = await serveHandler(async () => new Response(big, { status: 200 }), { port: 0 });
    cleanup.push(() => served.close());
    const publisher = new HttpPublishClient({ url: served.url, maxResponseBytes: 1024 });
    const operator = new HttpOperatorClient({
      name: 'op1.big.test',
      url: served.url,
      maxResponseBytes: 1024,
    });
    cleanup.push(() => publisher.close());
    cleanup.push(() => operator.close());
    await expect(publisher.job('job-x')).rejects.toMatchObject({ code: 'ledger.publisher.bad-answer' });
    await expect(operator.checkpoint()).rejects.toMatchObject({ code: 'ledger.operator.bad-answer' });
    // Within the limit the same answer is read whole.
    const roomy = new HttpOperatorClient({ name: 'op1.big.test', url: served.url, maxResponseBytes: 16_384 });
    cleanup.push(() => roomy.close());
    expect(new TextDecoder().decode(await roomy.get('/x'))).toBe(big);
  });

  it('refuses bad URLs and reports an unreachable service as ledger.publisher.unavailable', async () => {
    for (const url of ['not a url', 'ftp://127.0.0.1:1'])
      expect(() => new HttpPublishClient({ url })).toThrow(
        expect.objectContaining({ code: 'ledger.publisher.invalid' }),
      );
    const gone = new HttpPublishClient({ url: 'http://127.0.0.1:9', timeoutMs: 2_000 });
    cleanup.push(() => gone.close());
    const e = await gone.job('job-x').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isOmtError(e, 'ledger.publisher.unavailable') || isOmtError(e, 'ledger.publisher.timeout')).toBe(
      true,
    );
  });
});

describe('an operator node with anchoring configured', () => {
  it('publishes its checkpoint to the publishing service, serves the confirmed anchor, and clients verify it', async () => {
    const s = await publishingService();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'omt-anchoring-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    // The operator's publishing key: private PEM for the operator, registered at the publisher.
    const kp = await getSuite('ES256K').generateKeyPair();
    const key = { suite: 'ES256K' as const, publicKey: kp.publicKey, secretKey: kp.secretKey };
    await writeFile(path.join(dir, 'intent-key.pem'), exportPrivatePem(key));
    expect(exportPublicPem(key)).toContain('PUBLIC KEY');
    await s.registry.register(
      signerRegistration('ES256K', kp.publicKey, { validFrom: new Date(0) }),
      new Date(),
    );

    const name = 'op1.anchoring.test';
    const log = await newNoteKey(name, 'Ed25519');
    const witness = await newCosignerKey(`${name}/witness`, 'Ed25519');
    const parties = await Promise.all(
      [0, 1, 2].map(async () => {
        const p = await getSuite('Ed25519').generateKeyPair();
        return {
          alg: 'Ed25519' as const,
          secretKey: p.secretKey,
          publicKey: p.publicKey,
          pub: toBase64Url(p.publicKey),
        };
      }),
    );
    const [registrar, escrow, fees] = parties as [
      (typeof parties)[0],
      (typeof parties)[0],
      (typeof parties)[0],
    ];
    const network = parseEventNetwork({
      version: 1,
      name: 'anchoring-test',
      quorum: 1,
      operators: [{ name, url: 'http://127.0.0.1:1', logKey: log.vkey, witnessKey: witness.vkey }],
      authorities: {
        registrar: { alg: 'Ed25519', pub: registrar.pub },
        escrow: { alg: 'Ed25519', pub: escrow.pub },
        fees: { alg: 'Ed25519', pub: fees.pub },
      },
    });
    const errors: unknown[] = [];
    const payments = new InProcessTestPaymentAdapter(); // unused: the first 3 steps take no payment
    const node: OperatorNode = await startOperatorNode({
      config: parseOperatorConfig({
        version: 1,
        name,
        listen: { host: '127.0.0.1', port: 0 },
        network: 'network.json',
        database: { kind: 'pglite' },
        logKey: log.skey,
        witnessKey: witness.skey,
        batch: { delayMs: 1 },
        anchoring: {
          publisherUrl: s.served.url,
          intentKeyFile: 'intent-key.pem',
          everySeconds: 1,
          pollSeconds: 1,
        },
      }),
      baseDir: dir,
      network,
      onBackgroundError: (e) => errors.push(e),
    });
    cleanup.push(() => node.close());
    expect(node.anchorer).toBeDefined();
    const life = await runItemScenario({
      network,
      operators: [node.operator],
      registrar,
      payments,
      pay: async (id) => payments.markPaid(id),
      alg: 'Ed25519',
      steps: 3,
    });
    const size = checkpointRecord(await node.operator.checkpoint()).size;
    const wait = async (what: string, done: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        if (await done()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}; errors: ${errors.map(String).join('; ')}`);
    };
    // The node's job publishes on its own (every pollSeconds); the worker and the block are ours.
    await wait('the intent', async () => (await s.publisher.counts()).queued === 1);
    const job = await s.publisher.record(`omt:checkpoint:${name}:${size}`);
    expect(job?.record).toMatchObject({ kind: 'omt.checkpoint/v1', size });
    await s.worker.drain();
    const height = s.mine();
    expect(await s.worker.confirm()).toBe(1);
    await wait('the anchor', async () => node.operator.anchors().length === 1);

    // Served over HTTP with the chain view, and verified by a client with the block's header.
    const client = new HttpOperatorClient({ name, url: node.url });
    cleanup.push(() => client.close());
    expect((await client.chain(life.subject)).anchors).toHaveLength(1);
    const v = await verifyChain(
      { network, machines: shippedMachines(), operators: [client], headers: s.headers },
      life.subject,
    );
    expect(v.verdict).toBe('authentic');
    expect(v.anchors).toEqual([
      { operator: name, size, blockHeight: height, blockTime: expect.any(Number), events: 3 },
    ]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('a configuration whose intent key file holds a public key, or is missing, does not start', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'omt-anchoring-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const kp = await getSuite('Ed25519').generateKeyPair();
    await writeFile(
      path.join(dir, 'pub.pem'),
      exportPublicPem({ suite: 'Ed25519', publicKey: kp.publicKey }),
    );
    await writeFile(
      path.join(dir, 'garbage.pem'),
      '-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n',
    );
    const es256 = await getSuite('ES256').generateKeyPair();
    await writeFile(
      path.join(dir, 'es256.pem'),
      exportPrivatePem({ suite: 'ES256', publicKey: es256.publicKey, secretKey: es256.secretKey }),
    );
    const log = await newNoteKey('op1.bad.test', 'Ed25519');
    const witness = await newCosignerKey('op1.bad.test/witness', 'Ed25519');
    const config = (intentKeyFile: string) =>
      parseOperatorConfig({
        version: 1,
        name: 'op1.bad.test',
        listen: { host: '127.0.0.1', port: 0 },
        network: 'network.json',
        database: { kind: 'pglite' },
        logKey: log.skey,
        witnessKey: witness.skey,
        anchoring: { publisherUrl: 'http://127.0.0.1:1', intentKeyFile },
      });
    const network = parseEventNetwork({
      version: 1,
      name: 'bad',
      quorum: 1,
      operators: [
        { name: 'op1.bad.test', url: 'http://127.0.0.1:1', logKey: log.vkey, witnessKey: witness.vkey },
      ],
      authorities: {},
    });
    for (const [file, message] of [
      ['pub.pem', /holds a public key/],
      ['missing.pem', /cannot read the intent key file/],
      ['garbage.pem', /is not a PEM key/],
      ['es256.pem', /ES256 keys cannot sign intents/],
    ] as const) {
      const e = await startOperatorNode({ config: config(file), baseDir: dir, network }).then(
        (n) => n.close().then(() => undefined),
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(OmtError);
      expect((e as OmtError).code).toBe('ledger.operator.invalid');
      expect((e as OmtError).message).toMatch(message);
    }
    expect(() =>
      parseOperatorConfig({
        ...JSON.parse(JSON.stringify(config('pub.pem'))),
        anchoring: { publisherUrl: 'ftp://x', intentKeyFile: 'k.pem' },
      }),
    ).toThrow(expect.objectContaining({ code: 'ledger.operator.invalid' }));
  });
});
