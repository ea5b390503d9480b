/**
 * The operator's anchoring job against the real publishing pipeline: a real `EventOperator` (one
 * operator, memory stores) with votes in its log, the real `Publisher` and `PublishWorker` with a
 * wallet and UTXO pool, and — the one fake, as no Bitcoin node runs here — an in-process chain that
 * "mines" every broadcast transaction into a regtest-difficulty block on demand.
 */
import { toBase64Url, toHex } from '@omt/core/bytes';
import { isOmtError, type OmtError } from '@omt/core/errors';
import { getSuite } from '@omt/core/suites';
import { checkpointRecord } from '@omt/ledger/checkpoint-anchor';
import { CheckpointAnchorer, type CheckpointAnchorerOptions } from '@omt/ledger/checkpoint-anchorer';
import type { EventSigner } from '@omt/ledger/event';
import { parseEventNetwork } from '@omt/ledger/event-network';
import { MemoryEventStore } from '@omt/ledger/event-store-memory';
import { verifyChain } from '@omt/ledger/event-verifier';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { type IntentSigner, intentSigner } from '@omt/ledger/intent';
import { MemoryNonceStore } from '@omt/ledger/intent-nonce-store-memory';
import { runItemScenario } from '@omt/ledger/item-scenario';
import { MemoryJobQueue } from '@omt/ledger/job-queue-memory';
import { signerRegistration } from '@omt/ledger/key-registry';
import { MemoryKeyRegistry } from '@omt/ledger/key-registry-memory';
import { machineRegistry } from '@omt/ledger/machine';
import { ITEM_MACHINE } from '@omt/ledger/machine-item';
import { EventOperator } from '@omt/ledger/operator';
import { InProcessTestPaymentAdapter } from '@omt/ledger/payment-test-adapter';
import { Publisher } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { regtestMiningChain } from '@omt/ledger/testing/regtest-anchor';
import { newCosignerKey } from '@omt/ledger/tlog-cosignature';
import { newNoteKey } from '@omt/ledger/tlog-note';
import { MemoryUtxoStore } from '@omt/ledger/utxo-store-memory';
import { MemoryVoteLog } from '@omt/ledger/vote-log-memory';
import { afterEach, describe, expect, it } from 'vitest';

const randomHex = (n: number): string => toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));

async function party(): Promise<EventSigner & { alg: 'Ed25519'; pub: string }> {
  const kp = await getSuite('Ed25519').generateKeyPair();
  return {
    alg: 'Ed25519',
    secretKey: kp.secretKey,
    publicKey: kp.publicKey,
    pub: toBase64Url(kp.publicKey),
  };
}

const machines = machineRegistry([ITEM_MACHINE]);
const open: EventOperator[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function setup(options: { maxAttempts?: number } = {}) {
  const now = { t: Date.UTC(2026, 11, 7, 12) };
  const clock = (): Date => new Date(now.t);
  const log = await newNoteKey('op1.anchor.test', 'Ed25519');
  const witness = await newCosignerKey('op1.anchor.test/witness', 'Ed25519');
  const registrar = await party();
  const network = parseEventNetwork({
    version: 1,
    name: 'anchor-test',
    quorum: 1,
    operators: [
      { name: 'op1.anchor.test', url: 'http://127.0.0.1:7100', logKey: log.vkey, witnessKey: witness.vkey },
    ],
    authorities: Object.fromEntries(
      await Promise.all(
        ['registrar', 'escrow', 'fees'].map(async (name) => {
          const p = name === 'registrar' ? registrar : await party();
          return [name, { alg: p.alg, pub: p.pub }];
        }),
      ),
    ),
  });
  const payments = new InProcessTestPaymentAdapter();
  const events = new MemoryEventStore();
  const votes = new MemoryVoteLog();
  const operator = await EventOperator.open({
    logSigner: log.signer,
    network,
    machines,
    events,
    votes,
    payments,
    batchDelayMs: 1,
  });
  open.push(operator);
  const item = async (steps: number) =>
    runItemScenario({
      network,
      operators: [operator],
      registrar,
      payments,
      pay: async (id) => payments.markPaid(id),
      alg: 'Ed25519',
      steps,
    });

  const queue = new MemoryJobQueue();
  const registry = new MemoryKeyRegistry();
  const kp = await getSuite('ES256K').generateKeyPair();
  const signer = await intentSigner('ES256K-DER', kp.secretKey);
  await registry.register(
    signerRegistration('ES256K', signer.publicKey, { validFrom: new Date(0) }),
    clock(),
  );
  const publisher = new Publisher({
    queue,
    registry,
    nonces: new MemoryNonceStore(),
    clock,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
  const utxos = new MemoryUtxoStore();
  const wallet = HdWallet.fromSeed(
    Uint8Array.from({ length: 32 }, (_, i) => i + 7),
    { network: 'bsv', store: new MemoryKeyIndexStore() },
  );
  for (let i = 0; i < 3; i++) {
    const k = await wallet.nextFundingKey();
    await utxos.add([{ txid: randomHex(32), vout: 0, satoshis: 50_000n, script: k.script, keyPath: k.path }]);
  }
  const chain = regtestMiningChain();
  const worker = new PublishWorker({
    queue,
    utxos,
    wallet,
    chain: chain.chain,
    clock,
    retry: { baseMs: 1000, maxMs: 1000 },
  });
  return {
    now,
    clock,
    network,
    operator,
    events,
    votes,
    log,
    item,
    publisher,
    signer,
    chain,
    worker,
    /** An anchorer over this operator, publisher, signer and clock (`extra` overrides). */
    anchorer: (extra: Partial<CheckpointAnchorerOptions> = {}) =>
      new CheckpointAnchorer({ log: operator, publisher, signer, clock, ...extra }),
  };
}

describe('CheckpointAnchorer: an operator anchors its checkpoints through the publisher', () => {
  it('publishes the latest checkpoint, waits for the block, hands the confirmed anchor to the operator; clients verify it', async () => {
    const s = await setup();
    const life = await s.item(3);
    const anchorer = s.anchorer({ everyMs: 60_000 });
    const cp = await s.operator.checkpoint();
    const size = checkpointRecord(cp).size;
    expect(size).toBeGreaterThanOrEqual(3);

    const first = await anchorer.tick();
    expect(first).toMatchObject({ action: 'published', size });
    const job = await s.publisher.job((first as { jobId: string }).jobId);
    expect(job?.record).toMatchObject({
      kind: 'omt.checkpoint/v1',
      rid: `omt:checkpoint:op1.anchor.test:${size}`,
    });
    expect(await anchorer.tick()).toMatchObject({ action: 'waiting', status: 'queued' });
    await s.worker.drain();
    expect(await anchorer.tick()).toMatchObject({ action: 'waiting', status: 'sent' });
    expect(s.operator.anchors()).toEqual([]); // an unconfirmed proof is not handed over
    const height = s.chain.mine();
    expect(await s.worker.confirm()).toBe(1);
    expect(await anchorer.tick()).toEqual({ action: 'anchored', size, blockHeight: height });
    expect(anchorer.inFlight).toBeUndefined();
    expect(s.operator.anchors().map((a) => a.checkpoint)).toEqual([cp]);

    const v = await verifyChain(
      { network: s.network, machines, operators: [s.operator], headers: s.chain.headers },
      life.subject,
    );
    expect(v.verdict).toBe('authentic');
    expect(v.reasons).toEqual([]);
    expect(v.anchors).toEqual([
      { operator: 'op1.anchor.test', size, blockHeight: height, blockTime: expect.any(Number), events: 3 },
    ]);

    // Nothing new: no second publication of the same log size.
    expect(await anchorer.tick()).toEqual({ action: 'idle', reason: 'nothing-new' });
    // The log grows: publication waits for the interval, then goes out.
    await s.item(2);
    expect(await anchorer.tick()).toEqual({ action: 'idle', reason: 'too-soon' });
    s.now.t += 60_000;
    const next = await anchorer.tick();
    expect(next).toMatchObject({ action: 'published' });
    expect((next as { size: number }).size).toBeGreaterThan(size);
  });

  it('an operator restarted over its stores keeps its anchors and the anchorer does not publish them again', async () => {
    const s = await setup();
    await s.item(2);
    const a = s.anchorer();
    expect((await a.tick()).action).toBe('published');
    await s.worker.drain();
    s.chain.mine();
    await s.worker.confirm();
    expect((await a.tick()).action).toBe('anchored');
    await s.operator.close();
    const reopened = await EventOperator.open({
      logSigner: s.log.signer,
      network: s.network,
      machines,
      events: s.events,
      votes: s.votes,
    });
    open.push(reopened);
    const b = s.anchorer({ log: reopened });
    expect(await b.tick()).toEqual({ action: 'idle', reason: 'nothing-new' });
  });

  it('after a restart finds the job in flight by its record id instead of publishing again', async () => {
    const s = await setup();
    await s.item(2);
    const a = s.anchorer();
    const published = await a.tick();
    // A new anchorer (the process restarted) over the same operator and publisher.
    const b = s.anchorer();
    expect(await b.tick()).toEqual({ ...published, action: 'resumed' });
    expect((await s.publisher.counts()).queued).toBe(1);
    await s.worker.drain();
    s.chain.mine();
    await s.worker.confirm();
    expect((await b.tick()).action).toBe('anchored');
  });

  it('a job that fails is dropped and the checkpoint is published again after the interval', async () => {
    const s = await setup({ maxAttempts: 1 });
    await s.item(2);
    const a = s.anchorer({ everyMs: 5_000 });
    const first = await a.tick();
    expect(first.action).toBe('published');
    s.chain.reject = true;
    for (let i = 0; i < 5 && (await s.publisher.counts()).failed === 0; i++) {
      await s.worker.drain();
      s.now.t += 2_000;
      await s.worker.recover();
    }
    expect((await s.publisher.counts()).failed).toBe(1);
    const failed = await a.tick();
    expect(failed).toMatchObject({ action: 'failed', jobId: (first as { jobId: string }).jobId });
    expect(a.inFlight).toBeUndefined();
    s.chain.reject = false;
    s.now.t += 5_000;
    const again = await a.tick();
    expect(again).toMatchObject({ action: 'published', size: (first as { size: number }).size });
    expect((again as { jobId: string }).jobId).not.toBe((first as { jobId: string }).jobId);
  });

  it('a publisher that refuses the intent (unregistered key) fails the tick with ledger.anchorer.refused; nothing is in flight', async () => {
    const s = await setup();
    await s.item(1);
    const stranger = await intentSigner('ES256K-DER', (await getSuite('ES256K').generateKeyPair()).secretKey);
    const a = s.anchorer({ signer: stranger });
    const err = await a.tick().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isOmtError(err, 'ledger.anchorer.refused')).toBe(true);
    expect((err as Error).message).toContain('ledger.signer.unknown');
    expect((err as OmtError).details?.code).toBe('ledger.signer.unknown');
    expect(a.inFlight).toBeUndefined();
    expect((await s.publisher.counts()).queued).toBe(0);
  });

  it('an empty log is not published; overlapping ticks share one step', async () => {
    const s = await setup();
    const a = s.anchorer();
    expect(await a.tick()).toEqual({ action: 'idle', reason: 'empty-log' });
    await s.item(1);
    const [x, y] = await Promise.all([a.tick(), a.tick()]);
    expect(x).toBe(y);
    expect((await s.publisher.counts()).queued).toBe(1);
  });

  it('run() ticks until aborted and reports failing ticks to onError', async () => {
    const s = await setup();
    await s.item(1);
    const stranger: IntentSigner = await intentSigner(
      'ES256K-DER',
      (await getSuite('ES256K').generateKeyPair()).secretKey,
    );
    const errors: unknown[] = [];
    const a = s.anchorer({ signer: stranger, pollMs: 5, onError: (e) => errors.push(e) });
    const stop = new AbortController();
    const running = a.run(stop.signal);
    for (let i = 0; i < 200 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    await running;
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.every((e) => isOmtError(e, 'ledger.anchorer.refused'))).toBe(true);
  });

  it('refuses bad options with ledger.anchorer.invalid', async () => {
    const s = await setup();
    const base = { log: s.operator, publisher: s.publisher, signer: s.signer };
    for (const bad of [{}, { ...base, everyMs: 0 }, { ...base, pollMs: 1.5 }, { ...base, everyMs: 2 ** 31 }])
      expect(() => new CheckpointAnchorer(bad as never)).toThrow(
        expect.objectContaining({ code: 'ledger.anchorer.invalid' }),
      );
  });
});
