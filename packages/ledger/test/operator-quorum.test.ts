/**
 * Operators, quorum certificates and client verification, in process: five `EventOperator`s on
 * memory stores reached directly through `OperatorApi` (the HTTP path is tested in
 * @omt/adapters and the CLI). Faults: operators down, slow, lying; conflicting concurrent events;
 * replays; catch-up after downtime; a settlement whose storage fails.
 */
import { randomUUID } from 'node:crypto';
import { toBase64, toBase64Url } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { MerkleTree } from '@omt/core/merkle';
import { getSuite } from '@omt/core/suites';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkpointRecord } from '../src/checkpoint-anchor.js';
import { verifyEquivocationEvidence } from '../src/equivocation.js';
import { type ChainEvent, type EventSigner, eventHash, partyKeyId, signEvent } from '../src/event.js';
import { submitEvents } from '../src/event-client.js';
import { type EventNetwork, parseEventNetwork } from '../src/event-network.js';
import { MemoryEventStore } from '../src/event-store-memory.js';
import { verifyChain } from '../src/event-verifier.js';
import { runItemScenario } from '../src/item-scenario.js';
import { machineRegistry } from '../src/machine.js';
import { CONTRACT_MACHINE } from '../src/machine-contract.js';
import { ITEM_MACHINE } from '../src/machine-item.js';
import { MANIFEST_MACHINE } from '../src/machine-manifest.js';
import { EventOperator } from '../src/operator.js';
import type { OperatorApi } from '../src/operator-api.js';
import { voteLeaf } from '../src/operator-receipt.js';
import { paymentChecks } from '../src/payment.js';
import { InProcessTestPaymentAdapter } from '../src/payment-test-adapter.js';
import type { AppendItem, AppendOutcome, CommittedEvent, EventStore, Payout } from '../src/ports.js';
import { forgeReceipt, lyingOperator } from '../src/testing/lying-operator.js';
import { anchorInRegtestBlock } from '../src/testing/regtest-anchor.js';
import { parseCheckpoint, signCheckpoint } from '../src/tlog-checkpoint.js';
import { newCosignerKey } from '../src/tlog-cosignature.js';
import { type NoteSigner, newNoteKey } from '../src/tlog-note.js';
import { MemoryVoteLog } from '../src/vote-log-memory.js';
import { MemoryWitnessStore } from '../src/witness-store-memory.js';

const machines = machineRegistry([ITEM_MACHINE, CONTRACT_MACHINE, MANIFEST_MACHINE]);

interface Net {
  network: EventNetwork;
  ops: EventOperator[];
  signers: NoteSigner[];
  stores: EventStore[];
  votes: MemoryVoteLog[];
  payments: InProcessTestPaymentAdapter;
  registrar: EventSigner;
  escrow: EventSigner;
}

async function authority(
  alg: 'Ed25519' | 'ML-DSA-65' = 'Ed25519',
): Promise<EventSigner & { alg: 'Ed25519' | 'ML-DSA-65'; pub: string }> {
  const kp = await getSuite(alg).generateKeyPair();
  return { alg, secretKey: kp.secretKey, publicKey: kp.publicKey, pub: toBase64Url(kp.publicKey) };
}

const opened: Net[] = [];
afterEach(async () => {
  for (const n of opened.splice(0)) await Promise.all(n.ops.map((o) => o.close()));
});

/** N operators (log keys ML-DSA-65 unless `logAlg`), quorum M, memory stores. */
async function network(
  n = 5,
  m = 3,
  options: {
    logAlg?: 'ML-DSA-65' | 'Ed25519';
    stores?: (i: number) => EventStore;
    /** How operator i reaches peer p (default: the in-process operator). */
    peer?: (i: number, p: { name: string }) => OperatorApi | undefined;
    witnessIntervalMs?: number;
    onBackgroundError?: (i: number, error: unknown) => void;
    /** Wraps operator i's log signer. */
    signer?: (i: number, signer: NoteSigner) => NoteSigner;
  } = {},
): Promise<Net> {
  const logs = await Promise.all(
    Array.from({ length: n }, (_, i) => newNoteKey(`op${i + 1}.test`, options.logAlg ?? 'ML-DSA-65')),
  );
  const witnesses = await Promise.all(
    Array.from({ length: n }, (_, i) => newCosignerKey(`op${i + 1}.test/witness`, 'Ed25519')),
  );
  const registrar = await authority();
  const escrow = await authority();
  const fees = await authority();
  const net = parseEventNetwork({
    version: 1,
    name: 'test',
    quorum: m,
    operators: logs.map((l, i) => ({
      name: l.signer.name,
      url: `http://127.0.0.1:${7000 + i}`,
      logKey: l.vkey,
      witnessKey: witnesses[i]?.vkey,
    })),
    authorities: {
      registrar: { alg: registrar.alg, pub: registrar.pub },
      escrow: { alg: escrow.alg, pub: escrow.pub },
      fees: { alg: fees.alg, pub: fees.pub },
    },
  });
  const payments = new InProcessTestPaymentAdapter();
  const stores: EventStore[] = [];
  const votes: MemoryVoteLog[] = [];
  const ops: EventOperator[] = [];
  for (let i = 0; i < n; i++) {
    const store = options.stores?.(i) ?? new MemoryEventStore();
    stores.push(store);
    ops.push(
      await EventOperator.open({
        logSigner: options.signer?.(i, logs[i]?.signer as NoteSigner) ?? (logs[i]?.signer as NoteSigner),
        witnessSigner: witnesses[i]?.signer as NoteSigner,
        witnessStore: new MemoryWitnessStore(),
        network: net,
        machines,
        events: store,
        votes: votes[votes.push(new MemoryVoteLog()) - 1] as MemoryVoteLog,
        payments,
        checks: paymentChecks(payments),
        peer: (p) => options.peer?.(i, p) ?? (ops.find((o) => o.name === p.name) as OperatorApi),
        batchDelayMs: 2,
        ...(options.witnessIntervalMs === undefined ? {} : { witnessIntervalMs: options.witnessIntervalMs }),
        ...(options.onBackgroundError === undefined
          ? {}
          : { onBackgroundError: (e: unknown) => options.onBackgroundError?.(i, e) }),
      }),
    );
  }
  const out = {
    network: net,
    ops,
    signers: logs.map((l) => l.signer),
    stores,
    votes,
    payments,
    registrar,
    escrow,
  };
  opened.push(out);
  return out;
}

/** A `registerManufacturer` event for `maker` at height 0 of `chain`, signed by the registrar. */
function registration(
  net: Net,
  maker: { alg: 'Ed25519' | 'ML-DSA-65'; pub: string },
  chain: string,
  name: string,
): Promise<ChainEvent> {
  return signEvent(
    {
      v: 1,
      chain,
      machine: 'omt.item/v1',
      height: 0,
      prev: null,
      type: 'registerManufacturer',
      payload: { manufacturer: partyKeyId({ alg: maker.alg, pub: maker.pub }), name },
      time: new Date().toISOString(),
    },
    [net.registrar],
  );
}

/** An operator that is down. */
function down(op: OperatorApi): OperatorApi {
  const fail = async (): Promise<never> => {
    throw new OmtError('ledger.operator.unavailable', `${op.name} is down`);
  };
  return {
    name: op.name,
    submit: fail,
    commit: fail,
    chain: fail,
    checkpoint: fail,
    consistency: fail,
    status: fail,
    addCheckpoint: fail,
  };
}

/** An operator that answers after `ms`. */
function slow(op: OperatorApi, ms: number): OperatorApi {
  const wait = <T>(p: () => Promise<T>): Promise<T> => new Promise((r) => setTimeout(r, ms)).then(p);
  return {
    name: op.name,
    submit: (e, s) => wait(() => op.submit(e, s)),
    commit: (e, s) => wait(() => op.commit(e, s)),
    chain: (c, o) => wait(() => op.chain(c, o)),
    checkpoint: (s) => wait(() => op.checkpoint(s)),
    consistency: (a, b, s) => wait(() => op.consistency(a, b, s)),
    status: (s) => wait(() => op.status(s)),
  };
}

async function scenario(net: Net, operators: readonly OperatorApi[] = net.ops, steps?: number) {
  return runItemScenario({
    network: net.network,
    operators,
    registrar: net.registrar,
    payments: net.payments,
    pay: async (id) => net.payments.markPaid(id),
    alg: 'Ed25519',
    settle: 'all',
    ...(steps === undefined ? {} : { steps }),
  });
}

describe('3-of-5 operators, in process', () => {
  it('commits an item’s whole life; every operator stores it; the settlement pays out; the client says authentic', async () => {
    const net = await network();
    const life = await scenario(net);
    expect(life.events.map((e) => e.type)).toEqual([
      'registerManufacturer',
      'mint',
      'transfer',
      'offer',
      'accept',
      'lockEscrow',
      'settle',
    ]);
    for (const e of life.events) expect(new Set(e.quorum).size).toBeGreaterThanOrEqual(3);
    for (const store of net.stores) expect((await store.head(life.subject))?.height).toBe(6);
    const payouts: Payout[] = await net.stores[0]!.payouts(life.subject);
    expect(payouts.map((p) => [p.role, p.amount])).toEqual(
      expect.arrayContaining([
        ['fee', 3125n],
        ['royalty', 6250n],
        ['seller', 115625n],
      ]),
    );
    await new Promise((r) => setTimeout(r, 20)); // the release runs after the commit
    expect(net.payments.released(life.invoice)?.reduce((s, p) => s + p.amount, 0n)).toBe(125000n);
    const v = await verifyChain({ network: net.network, machines, operators: net.ops }, life.subject);
    expect(v.verdict).toBe('authentic');
    expect(v.height).toBe(6);
    expect(v.state?.ctx.owner).toBe(life.parties.buyer);
    expect(v.agreeing).toHaveLength(5);
    expect(v.evidence).toEqual([]);
  });

  it('keeps working with N − M operators down, and says undecidable with more down', async () => {
    const net = await network();
    const ops: OperatorApi[] = [net.ops[0]!, net.ops[1]!, net.ops[2]!, down(net.ops[3]!), down(net.ops[4]!)];
    const life = await scenario(net, ops);
    expect(life.events).toHaveLength(7);
    const v = await verifyChain({ network: net.network, machines, operators: ops }, life.subject);
    expect(v.verdict).toBe('authentic');
    expect(v.agreeing).toHaveLength(3);
    expect(
      v.reasons
        .filter((r) => r.code === 'ledger.operator.unavailable')
        .map((r) => r.operator)
        .sort(),
    ).toEqual(['op4.test', 'op5.test']);

    const three = [net.ops[0]!, net.ops[1]!, down(net.ops[2]!), down(net.ops[3]!), down(net.ops[4]!)];
    await expect(scenario(net, three, 1)).rejects.toThrow(/ledger\.quorum\.not-reached/);
    const u = await verifyChain({ network: net.network, machines, operators: three }, life.subject);
    expect(u.verdict).toBe('undecidable');
    expect(u.reasons.map((r) => r.code)).toContain('ledger.quorum.not-reached');
  });

  it('treats operators slower than the deadline as silent', async () => {
    const net = await network();
    const ops = [net.ops[0]!, net.ops[1]!, net.ops[2]!, slow(net.ops[3]!, 400), slow(net.ops[4]!, 400)];
    const life = await runItemScenario({
      network: net.network,
      operators: ops,
      registrar: net.registrar,
      payments: net.payments,
      pay: async (id) => net.payments.markPaid(id),
      alg: 'Ed25519',
      steps: 2,
      deadlineMs: 150,
    });
    expect(life.events).toHaveLength(2);
    const v = await verifyChain(
      { network: net.network, machines, operators: ops, deadlineMs: 150 },
      life.subject,
    );
    expect(v.verdict).toBe('authentic');
    expect(v.reasons.filter((r) => r.code === 'ledger.operator.timeout')).toHaveLength(2);
  });

  it('lets exactly one of two concurrent conflicting events win, every time', async () => {
    const net = await network();
    const owner = await authority();
    const a = await authority();
    const b = await authority();
    const ownerId = partyKeyId({ alg: owner.alg, pub: owner.pub });
    let wins = 0;
    for (let trial = 0; trial < 8; trial++) {
      const subject = `item:conflict-${trial}-${Math.random().toString(36).slice(2)}`;
      const t = Date.now();
      const e0 = await signEvent(
        {
          v: 1,
          chain: subject,
          machine: 'omt.item/v1',
          height: 0,
          prev: null,
          type: 'registerManufacturer',
          payload: { manufacturer: ownerId, name: 'M' },
          time: new Date(t).toISOString(),
        },
        [net.registrar],
      );
      const [r0] = await submitEvents({ network: net.network, operators: net.ops }, [e0]);
      expect(r0?.ok).toBe(true);
      const e1 = await signEvent(
        {
          v: 1,
          chain: subject,
          machine: 'omt.item/v1',
          height: 1,
          prev: r0!.hash,
          type: 'mint',
          payload: { serial: 'S', model: 'M' },
          time: new Date(t + 1).toISOString(),
        },
        [owner],
      );
      const [r1] = await submitEvents({ network: net.network, operators: net.ops }, [e1]);
      expect(r1?.ok).toBe(true);
      const transfer = (to: typeof a) =>
        signEvent(
          {
            v: 1,
            chain: subject,
            machine: 'omt.item/v1',
            height: 2,
            prev: r1!.hash,
            type: 'transfer',
            payload: { to: partyKeyId({ alg: to.alg, pub: to.pub }) },
            time: new Date(t + 2).toISOString(),
          },
          [owner],
        );
      const [ta, tb] = [await transfer(a), await transfer(b)];
      const outcomes = await Promise.all([
        submitEvents({ network: net.network, operators: net.ops }, [ta]),
        submitEvents({ network: net.network, operators: [...net.ops].reverse() }, [tb]),
      ]);
      const oks = outcomes.flat().filter((o) => o.ok);
      expect(oks).toHaveLength(1);
      wins++;
      const loser = outcomes.flat().find((o) => !o.ok);
      expect(loser?.ok === false && ['ledger.event.conflict', 'ledger.quorum.not-reached']).toContain(
        loser?.ok === false ? loser.code : '',
      );
      const heads = await Promise.all(net.stores.map((s) => s.get(subject, 2)));
      expect(new Set(heads.filter((h) => h !== undefined).map((h) => h?.hash)).size).toBe(1);
      expect(heads.filter((h) => h !== undefined).length).toBeGreaterThanOrEqual(3);
    }
    expect(wins).toBe(8);
  });

  it('answers a replayed event idempotently and never grows the chain', async () => {
    const net = await network();
    const life = await scenario(net, net.ops, 3);
    const view = await net.ops[0]!.chain(life.subject);
    const replay = view.events[1]!.event as ChainEvent;
    const [r] = await submitEvents({ network: net.network, operators: net.ops }, [replay]);
    expect(r?.ok).toBe(true);
    expect(r?.hash).toBe(eventHash(replay));
    for (const s of net.stores) expect((await s.head(life.subject))?.height).toBe(2);
    // The same committed event re-sent at the next height is another event (a new hash), refused by its prev.
    const moved = await signEvent({ ...replay, height: 3 }, [net.registrar]);
    const [m] = await submitEvents({ network: net.network, operators: net.ops }, [moved]);
    expect(m?.ok).toBe(false);
  });

  it('catches up an operator that was down, from its peers, verifying each quorum certificate', async () => {
    const net = await network();
    const ops: OperatorApi[] = [net.ops[0]!, net.ops[1]!, net.ops[2]!, net.ops[3]!, down(net.ops[4]!)];
    const life = await scenario(net, ops, 4);
    expect(await net.stores[4]!.head(life.subject)).toBeUndefined();
    // op5 is back: it is asked to vote on height 4 and first fetches heights 0–3 from its peers.
    const view = await net.ops[0]!.chain(life.subject);
    const e3 = view.events[3]!.event as ChainEvent;
    const next = await signEvent(
      {
        v: 1,
        chain: life.subject,
        machine: 'omt.item/v1',
        height: 4,
        prev: eventHash(e3),
        type: 'cancelOffer',
        payload: {},
        time: new Date().toISOString(),
      },
      [net.registrar],
    );
    const answers = await net.ops[4]!.submit([next]);
    // The vote itself is refused (the registrar is neither seller nor buyer), but op5 caught up first.
    expect(answers[0]?.ok).toBe(false);
    expect((await net.stores[4]!.head(life.subject))?.height).toBe(3);
  });

  it('stores the event it verified at its vote when a commit resends it with other signatures, and parses strangers in full', async () => {
    const net = await network();
    // Whoever carries the commit swaps the signature for garbage: the QC covers the unsigned event
    // only, so the hash still matches what the operators voted on.
    const swapped = net.ops.map(
      (op): OperatorApi => ({
        ...down(op),
        submit: (e) => op.submit(e),
        commit: (entries) =>
          op.commit(
            entries.map((x) => ({
              ...x,
              event: {
                ...(x.event as ChainEvent),
                signatures: (x.event as ChainEvent).signatures.map((g) => ({ ...g, sig: 'AAAA' })),
              },
            })),
          ),
      }),
    );
    const mint = await signEvent(
      {
        v: 1,
        chain: `item:${randomUUID()}`,
        machine: 'omt.item/v1',
        height: 0,
        prev: null,
        type: 'registerManufacturer',
        payload: {
          manufacturer: partyKeyId({ alg: 'Ed25519', pub: toBase64Url(net.registrar.publicKey) }),
          name: 'Swap',
        },
        time: new Date().toISOString(),
      },
      [net.registrar],
    );
    const [m] = await submitEvents({ network: net.network, operators: swapped, settle: 'all' }, [mint]);
    expect(m).toMatchObject({ ok: true, hash: eventHash(mint) });
    for (const s of net.stores)
      expect(JSON.parse((await s.get(mint.chain, 0))?.event ?? 'null')).toEqual(mint);
    // An entry that is not an event at all, and one this operator never voted on, get the full
    // parse and its refusal.
    const qc = (await net.ops[0]!.chain(mint.chain)).events[0]!.qc;
    const [bad] = await net.ops[0]!.commit([{ event: null as unknown as ChainEvent, qc }]);
    expect(bad).toMatchObject({ ok: false, code: 'ledger.event.malformed' });
    const [stranger] = await net.ops[0]!.commit([{ event: { ...mint, type: 'mint' } as ChainEvent, qc }]);
    expect(stranger).toMatchObject({ ok: false, code: 'ledger.qc.mismatch' });
  });

  it('refuses a commit whose quorum certificate holds a forged or foreign receipt', async () => {
    const net = await network();
    const life = await scenario(net, net.ops, 2);
    const view = await net.ops[0]!.chain(life.subject);
    const entry = view.events[1]! as {
      event: ChainEvent;
      qc: { receipts: { operator: string; checkpoint: string }[] };
    };
    // Tamper one receipt's checkpoint signature: a forged cosignature.
    const tampered = structuredClone(entry.qc);
    const r0 = tampered.receipts[0]!;
    r0.checkpoint = r0.checkpoint.replace(
      /— (\S+) (\S)/,
      (_m, n: string, c: string) => `— ${n} ${c === 'A' ? 'B' : 'A'}`,
    );
    tampered.receipts = tampered.receipts.slice(0, 3);
    // Operators check the certificate before anything else, even for an event they hold.
    const [genuine] = await net.ops[0]!.commit([
      { event: entry.event, qc: { ...entry.qc, receipts: entry.qc.receipts.slice(0, 3) } },
    ]);
    expect(genuine).toMatchObject({ ok: true, status: 'exists' });
    const [answer] = await net.ops[0]!.commit([{ event: entry.event, qc: tampered }]);
    expect(answer).toMatchObject({ ok: false, code: 'ledger.qc.invalid' });
    // …and a receipt of a log the network does not know does not count towards the quorum.
    const outsider = await newNoteKey('op9.test', 'Ed25519');
    const foreign = {
      ...entry.qc,
      receipts: [...entry.qc.receipts.slice(0, 2), await forgeReceipt(outsider.signer, entry.event)],
    };
    const [answer2] = await net.ops[0]!.commit([{ event: entry.event, qc: foreign }]);
    expect(answer2).toMatchObject({ ok: false, code: 'ledger.qc.invalid' });
    // The client refuses the same: a history whose certificate is tampered is not authentic.
    const v = await verifyChain({ network: net.network, machines, operators: net.ops }, life.subject);
    expect(v.verdict).toBe('authentic');
  });

  it('catches an equivocating operator with portable evidence while the honest majority stays authentic', async () => {
    const net = await network();
    const life = await scenario(net, net.ops, 3);
    const view = await net.ops[0]!.chain(life.subject);
    const honest = view.events[2]!.event as ChainEvent;
    const thief = await authority();
    const forged = await signEvent(
      { ...honest, payload: { to: partyKeyId({ alg: thief.alg, pub: thief.pub }) } },
      [thief],
    );
    const liar = lyingOperator(net.ops[2]!, net.signers[2]!, { chain: life.subject, height: 2, forged });
    const ops = net.ops.map((o, i) => (i === 2 ? liar : o));
    const v = await verifyChain({ network: net.network, machines, operators: ops }, life.subject);
    expect(v.verdict).toBe('authentic');
    expect(v.agreeing).toHaveLength(4);
    expect(v.reasons.some((r) => r.operator === 'op3.test')).toBe(true);
    expect(v.evidence.length).toBeGreaterThan(0);
    for (const e of v.evidence) {
      expect(e.operator).toBe('op3.test');
      const ok = await verifyEquivocationEvidence(JSON.parse(JSON.stringify(e)), net.network);
      expect(ok.ok).toBe(true);
    }
    // The evidence is about op3 only: presented against the wrong network keys it fails.
    const other = await network();
    const bad = await verifyEquivocationEvidence(v.evidence[0]!, other.network);
    expect(bad.ok).toBe(false);
  });

  it('says not-authentic when every answering operator serves a false history', async () => {
    const net = await network(3, 2);
    const life = await scenario(net, net.ops, 3);
    const view = await net.ops[0]!.chain(life.subject);
    const honest = view.events[2]!.event as ChainEvent;
    const thief = await authority();
    const forged = await signEvent(
      { ...honest, payload: { to: partyKeyId({ alg: thief.alg, pub: thief.pub }) } },
      [thief],
    );
    const liars = net.ops.map((o, i) =>
      lyingOperator(o, net.signers[i]!, { chain: life.subject, height: 2, forged }),
    );
    const v = await verifyChain({ network: net.network, machines, operators: liars }, life.subject);
    expect(v.verdict).toBe('not-authentic');
    expect(v.reasons.map((r) => r.code)).toContain('ledger.qc.invalid');
  });

  it('settles atomically: when the store refuses the settlement nothing changes and nothing is released', async () => {
    class FailingSettle extends MemoryEventStore {
      override async append(e: CommittedEvent, payouts?: readonly Payout[]): Promise<'appended' | 'exists'> {
        if (e.type === 'settle') throw new OmtError('ledger.store.unavailable', 'disk full');
        return super.append(e, payouts);
      }
      override async appendMany(items: readonly AppendItem[]): Promise<AppendOutcome[]> {
        if (items.some((i) => i.event.type === 'settle'))
          throw new OmtError('ledger.store.unavailable', 'disk full');
        return super.appendMany(items);
      }
    }
    const net = await network(5, 3, { stores: () => new FailingSettle() });
    await expect(scenario(net)).rejects.toThrow(/settle/);
    for (const s of net.stores) {
      expect((await s.head((await s.chains())[0]!.chain))?.type).toBe('lockEscrow');
      expect(await s.payouts((await s.chains())[0]!.chain)).toEqual([]);
    }
    const invoice = 'test-inv-1';
    expect(await net.payments.status(invoice)).toBe('paid');
  });

  it('verifies a checkpoint’s Bitcoin anchor and counts the events it covers', async () => {
    const net = await network();
    const life = await scenario(net, net.ops, 3);
    const cp = await net.ops[0]!.checkpoint();
    const record = { ...checkpointRecord(cp), timestamp: new Date().toISOString(), nonce: 'bm9uY2Utbm9uY2U' };
    const other = { rid: 'urn:other', timestamp: new Date().toISOString(), nonce: 'b3RoZXItbm9uY2U' };
    const { proofs, headers } = anchorInRegtestBlock([record, other], { height: 900_001 });
    await expect(net.ops[0]!.addAnchor({ checkpoint: cp, proof: proofs[1]! })).rejects.toMatchObject({
      code: 'ledger.anchor.record-mismatch',
    });
    await net.ops[0]!.addAnchor({ checkpoint: cp, proof: proofs[0]! });
    const v = await verifyChain(
      { network: net.network, machines, operators: net.ops, headers },
      life.subject,
    );
    expect(v.verdict).toBe('authentic');
    expect(v.reasons).toEqual([]);
    expect(v.anchors).toEqual([
      {
        operator: 'op1.test',
        size: expect.any(Number),
        blockHeight: 900_001,
        blockTime: 1_767_225_600,
        events: 3,
      },
    ]);
    // Without the block's header the anchor is not counted, and the reason says why.
    const unknown = await verifyChain(
      { network: net.network, machines, operators: net.ops, headers: new Map() },
      life.subject,
    );
    expect(unknown.anchors).toEqual([]);
    expect(unknown.reasons.map((r) => r.code)).toContain('ledger.anchor.header-unknown');
    // Another operator cannot present op1's anchor as its own.
    await expect(
      net.ops[1]!.addAnchor({ checkpoint: await net.ops[1]!.checkpoint(), proof: proofs[0]! }),
    ).rejects.toMatchObject({ code: 'ledger.anchor.record-mismatch' });
    // op1 restarted over the same stores serves the anchor again.
    await net.ops[0]!.close();
    net.ops[0] = await EventOperator.open({
      logSigner: net.signers[0] as NoteSigner,
      network: net.network,
      machines,
      events: net.stores[0] as EventStore,
      votes: net.votes[0] as MemoryVoteLog,
    });
    expect(
      (await net.ops[0].chain(life.subject)).anchors?.map((a) => (a as { checkpoint: string }).checkpoint),
    ).toEqual([cp]);
    const again = await verifyChain(
      { network: net.network, machines, operators: net.ops, headers },
      life.subject,
    );
    expect(again.anchors.map((a) => a.blockHeight)).toEqual([900_001]);
  });

  it('groups concurrent requests: many single-event submits and commits share a voteMany / appendMany, with each answer its own', async () => {
    const voteCalls: number[] = [];
    const appendCalls: number[] = [];
    /** A MemoryVoteLog / MemoryEventStore that counts batch calls (the stores are real). */
    const countingVotes = (): MemoryVoteLog => {
      const log = new MemoryVoteLog();
      const voteMany = log.voteMany.bind(log);
      log.voteMany = async (r) => {
        voteCalls.push(r.length);
        return voteMany(r);
      };
      return log;
    };
    const net = await network(5, 3, {
      stores: () => {
        const store = new MemoryEventStore();
        const appendMany = store.appendMany.bind(store);
        store.appendMany = async (items) => {
          appendCalls.push(items.length);
          return appendMany(items);
        };
        return store;
      },
    });
    // Re-open op1 over a counting vote log (the other four keep theirs).
    const op1 = net.ops[0] as EventOperator;
    const signer = net.signers[0] as NoteSigner;
    await op1.close();
    const counted = await EventOperator.open({
      logSigner: signer,
      network: net.network,
      machines,
      events: new MemoryEventStore(),
      votes: countingVotes(),
      batchDelayMs: 2,
    });
    net.ops[0] = counted;
    const regs = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const maker = await authority();
        return registration(net, maker, `item:group-${i}-${Math.random().toString(36).slice(2)}`, `M${i}`);
      }),
    );
    appendCalls.length = 0;
    const answers = await Promise.all(regs.map((e) => counted.submit([e])));
    expect(answers.every((a) => a[0]?.ok === true)).toBe(true);
    // Each request got the receipt of its own event.
    for (const [i, a] of answers.entries()) expect(a[0]?.hash).toBe(eventHash(regs[i] as ChainEvent));
    expect(voteCalls.reduce((x, y) => x + y, 0)).toBe(24);
    expect(voteCalls.length).toBeLessThan(24);
    // Commit them through the network, each event twice at once (a client retrying): every
    // request is answered ok, and each event is stored once (appended, then exists).
    const outcomes = await Promise.all(
      [...regs, ...regs].map((e) =>
        submitEvents({ network: net.network, operators: net.ops, settle: 'all' }, [e]),
      ),
    );
    expect(outcomes.every(([o]) => o?.ok === true)).toBe(true);
    for (const e of regs) {
      const stored = await net.stores[1]?.get(e.chain, 0);
      expect(stored?.hash).toBe(eventHash(e));
    }
    expect(appendCalls.length).toBeLessThan(48 * 4);
    await counted.close();
  });

  it("settle 'quorum' (the default) answers once M operators stored, without waiting for slow ones, who still store", async () => {
    const net = await network();
    /** Vote answers of op5 whose members were read (its receipts, had they been checked). */
    const read: string[] = [];
    const op5 = slow(net.ops[4]!, 400);
    const ops: OperatorApi[] = [
      net.ops[0]!,
      net.ops[1]!,
      net.ops[2]!,
      slow(net.ops[3]!, 400),
      {
        ...op5,
        submit: async (e, s) =>
          (await op5.submit(e, s)).map(
            (a) =>
              new Proxy(a, {
                get(target, key, receiver) {
                  read.push(String(key));
                  return Reflect.get(target, key, receiver);
                },
              }),
          ),
      },
    ];
    const maker = await authority();
    const e = await registration(net, maker, `item:settle-${Math.random().toString(36).slice(2)}`, 'M');
    const [r] = await submitEvents({ network: net.network, operators: ops, deadlineMs: 5_000 }, [e]);
    expect(r?.ok).toBe(true);
    expect(r?.votes.filter((v) => v.code === 'ledger.operator.not-awaited').map((v) => v.operator)).toEqual([
      'op4.test',
      'op5.test',
    ]);
    expect(r?.ok === true && r.commits.filter((c) => c.ok)).toHaveLength(3);
    // It returned before the slow operators stored the event…
    expect(await net.stores[4]?.get(e.chain, 0)).toBeUndefined();
    // …and what op5 answered to the vote after the quorum was complete was never read.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(read).toEqual([]);
    // …and their requests still run: both store it.
    for (let i = 0; i < 100 && (await net.stores[4]?.get(e.chain, 0)) === undefined; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await net.stores[3]?.get(e.chain, 0))?.hash).toBe(eventHash(e));
    expect((await net.stores[4]?.get(e.chain, 0))?.hash).toBe(eventHash(e));
    // settle 'all' waits for them.
    const e2 = await registration(net, maker, `item:settle-all-${Math.random().toString(36).slice(2)}`, 'M');
    const [r2] = await submitEvents({ network: net.network, operators: ops, settle: 'all' }, [e2]);
    expect(r2?.ok === true && r2.commits.every((c) => c.ok)).toBe(true);
    expect((await net.stores[4]?.get(e2.chain, 0))?.hash).toBe(eventHash(e2));
    await expect(
      submitEvents({ network: net.network, operators: ops, settle: 'some' as 'all' }, [e2]),
    ).rejects.toMatchObject({ code: 'ledger.event.invalid' });
  });

  it('looks up the heads of a request’s new chains in one heads call, not a head per chain', async () => {
    const net = await network();
    const store = net.stores[0] as MemoryEventStore;
    const head = vi.spyOn(store, 'head');
    const heads = vi.spyOn(store, 'heads');
    const maker = await authority();
    const events = await Promise.all(
      Array.from({ length: 20 }, (_, i) => registration(net, maker, `item:heads-${i}-${randomUUID()}`, 'H')),
    );
    const out = await submitEvents({ network: net.network, operators: net.ops, settle: 'all' }, events);
    expect(out.every((o) => o.ok)).toBe(true);
    expect(heads).toHaveBeenCalledTimes(1);
    expect(heads.mock.calls[0]?.[0]).toHaveLength(20);
    expect(head).not.toHaveBeenCalled();
    // Their next heights validate against the remembered state: no lookups at all.
    heads.mockClear();
    const next = await Promise.all(
      out.map((o, i) =>
        signEvent(
          {
            v: 1,
            chain: (events[i] as ChainEvent).chain,
            machine: 'omt.item/v1',
            height: 1,
            prev: o.hash,
            type: 'mint',
            payload: { serial: `S${i}`, model: 'H' },
            time: new Date().toISOString(),
          },
          [maker],
        ),
      ),
    );
    expect(
      (await submitEvents({ network: net.network, operators: net.ops, settle: 'all' }, next)).every(
        (o) => o.ok,
      ),
    ).toBe(true);
    expect(heads).not.toHaveBeenCalled();
    expect(head).not.toHaveBeenCalled();
  });

  it('grows its tree from its own votes (signing reads nothing back), and reads the log when another writer appended to it', async () => {
    const net = await network();
    const log = net.votes[0] as MemoryVoteLog;
    const size = vi.spyOn(log, 'size');
    const leafHashes = vi.spyOn(log, 'leafHashes');
    const signedAt = async () => parseCheckpoint(`${(await net.ops[0]!.checkpoint()).split('\n\n')[0]}\n`);
    const storedRoot = async () => {
      const n = await log.size();
      return { size: n, root: MerkleTree.fromLeafHashes(await log.leafHashes(0, n)).root() };
    };
    await scenario(net, net.ops, 3);
    expect(size).not.toHaveBeenCalled();
    expect(leafHashes).not.toHaveBeenCalled();
    let cp = await signedAt();
    expect({ size: cp.size, root: cp.root }).toEqual(await storedRoot());
    // Another writer of the same vote log appends a leaf the operator never saw.
    const hash = 'ab'.repeat(32);
    await log.vote({
      chain: 'item:other-writer',
      height: 0,
      hash,
      leaf: voteLeaf('item:other-writer', 0, hash),
      at: new Date(),
    });
    size.mockClear();
    leafHashes.mockClear();
    // The operator's next vote does not follow its tree: the checkpoint reads the log first.
    const maker = await authority();
    const e = await registration(net, maker, `item:lag-${randomUUID()}`, 'L');
    const [r] = await submitEvents({ network: net.network, operators: net.ops, settle: 'all' }, [e]);
    expect(r?.ok).toBe(true);
    expect(size).toHaveBeenCalled();
    cp = await signedAt();
    expect({ size: cp.size, root: cp.root }).toEqual(await storedRoot());
  });

  it('a slow first checkpoint signature (a cold signer) does not hold the following checkpoints back', async () => {
    // op1's signer takes 1.5 s for its first signature (the empty checkpoint signed at open), as a
    // signer that loads and compiles its code on first use can; later ones take what they take.
    // The signing budget counted that 1.5 s against the next signatures: op1 then waited ≈ 6 s
    // before it signed the checkpoint of its second vote.
    let calls = 0;
    const net = await network(5, 3, {
      signer: (i, signer) =>
        i !== 0
          ? signer
          : {
              ...signer,
              verifier: signer.verifier,
              sign: async (text: string) => {
                if (calls++ === 0) await new Promise((r) => setTimeout(r, 1_500));
                return signer.sign(text);
              },
            },
    });
    const maker = await authority();
    for (const k of [1, 2, 3]) {
      const e = await registration(net, maker, `item:cold-${k}-${Math.random().toString(36).slice(2)}`, 'M');
      const t = performance.now();
      const [r] = await submitEvents({ network: net.network, operators: net.ops, settle: 'all' }, [e]);
      expect(r?.ok === true && r.commits.every((c) => c.ok)).toBe(true);
      // Generous: the point is seconds of waiting, not milliseconds (timing goals live in the bench).
      expect(performance.now() - t).toBeLessThan(2_500);
    }
    expect(calls).toBeGreaterThanOrEqual(4);
  });

  type AddCheckpoint = (body: string) => Promise<{ status: number; body: string }>;

  /**
   * A 3-of-5 network witnessing every 10 ms in which op1 reaches op5's add-checkpoint through
   * `add` (given op5 as `up`, or `down` when `op5Down`); op1's background errors land in `errors`.
   */
  async function witnessedByOp5(
    add: (forward: AddCheckpoint, body: string) => Promise<{ status: number; body: string }>,
    op5Down: boolean,
    errors: unknown[],
  ): Promise<Net> {
    let net: Net | undefined;
    net = await network(5, 3, {
      witnessIntervalMs: 10,
      peer: (i, p) => {
        if (i !== 0 || p.name !== 'op5.test' || net === undefined) return undefined;
        const target = op5Down ? down(net.ops[4]!) : (net.ops[4] as OperatorApi);
        const forward = (target.addCheckpoint as AddCheckpoint).bind(target);
        return { ...target, addCheckpoint: (body: string) => add(forward, body) };
      },
      onBackgroundError: (i, e) => {
        if (i === 0) errors.push(e);
      },
    });
    return net;
  }

  it('reports a peer that stops cosigning once to onBackgroundError, not again every round', async () => {
    let asked = 0;
    const errors: unknown[] = [];
    const net = await witnessedByOp5(
      (forward, body) => {
        asked++;
        return forward(body);
      },
      true,
      errors,
    );
    // Each step grows op1's log, so op1 asks its peers to cosign again.
    for (let step = 0; step < 6 && asked < 3; step++) {
      await scenario(net, net.ops, 1);
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(asked).toBeGreaterThanOrEqual(3);
    expect(errors).toHaveLength(1);
    expect((errors[0] as OmtError).code).toBe('ledger.operator.unavailable');
    expect((await net.ops[0]!.status()).witness?.find((w) => w.peer === 'op5.test')?.lastError?.code).toBe(
      'ledger.operator.unavailable',
    );
  });

  it('reports a peer that flaps between cosigning and failing the same way once a minute, not at every relapse', async () => {
    let asked = 0;
    let failed = 0;
    let cosigned = 0;
    const errors: unknown[] = [];
    // Every other request fails as a busy peer's would (a timeout); the others cosign.
    const net = await witnessedByOp5(
      async (forward, body) => {
        asked++;
        if (asked % 2 === 1) {
          failed++;
          throw new OmtError('ledger.operator.timeout', 'op5.test did not answer within 2000 ms');
        }
        cosigned++;
        return forward(body);
      },
      false,
      errors,
    );
    for (let step = 0; step < 12 && (failed < 3 || cosigned < 2); step++) {
      await scenario(net, net.ops, 1);
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(failed).toBeGreaterThanOrEqual(3);
    expect(cosigned).toBeGreaterThanOrEqual(2);
    expect(errors).toHaveLength(1);
    expect((errors[0] as OmtError).code).toBe('ledger.operator.timeout');
  });

  it('reports in status() which peers cosign its checkpoints and why one does not', async () => {
    let net: Net | undefined;
    net = await network(5, 3, {
      witnessIntervalMs: 20,
      peer: (i, p) => (i === 0 && p.name === 'op5.test' && net !== undefined ? down(net.ops[4]!) : undefined),
    });
    await scenario(net, net.ops, 1);
    const op1 = net.ops[0] as EventOperator;
    const settled = async () => {
      const w = (await op1.status()).witness ?? [];
      const byPeer = new Map(w.map((x) => [x.peer, x]));
      return byPeer.get('op5.test')?.lastError !== undefined &&
        ['op2.test', 'op3.test', 'op4.test'].every((n) => (byPeer.get(n)?.cosignedSize ?? 0) > 0)
        ? byPeer
        : undefined;
    };
    let byPeer = await settled();
    for (let i = 0; i < 250 && byPeer === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      byPeer = await settled();
    }
    expect([...(byPeer?.keys() ?? [])].sort()).toEqual(['op2.test', 'op3.test', 'op4.test', 'op5.test']);
    expect(byPeer?.get('op5.test')?.lastError?.code).toBe('ledger.operator.unavailable');
    expect(byPeer?.get('op5.test')?.cosignedSize).toBe(0);
    for (const name of ['op2.test', 'op3.test', 'op4.test'])
      expect(byPeer?.get(name)?.lastError).toBeUndefined();
  });
});

/** Forwards to `op`, counting consistency requests; `lie` makes every proof a wrong hash. */
function proofs(op: OperatorApi, lie: boolean): OperatorApi & { asked: number[][] } {
  const wrong = [toBase64(new Uint8Array(32).fill(7))];
  const asked: number[][] = [];
  return {
    name: op.name,
    asked,
    submit: (e, s) => op.submit(e, s),
    commit: (e, s) => op.commit(e, s),
    chain: (c, o) => op.chain(c, o),
    checkpoint: (s) => op.checkpoint(s),
    status: (s) => op.status(s),
    consistency: async (from, to, s) => {
      asked.push([from, to]);
      return lie ? wrong : op.consistency(from, to, s);
    },
    consistencyMany: async (froms, to, s) => {
      asked.push([...froms, to]);
      return lie ? froms.map(() => wrong) : (op.consistencyMany?.(froms, to, s) ?? []);
    },
  };
}

describe('client verification: consistency of each operator’s checkpoints', () => {
  it('asks each operator for proofs between the checkpoints seen of its log and reports one whose proofs fail (ledger.log.inconsistent)', async () => {
    const net = await network();
    const life = await scenario(net, net.ops, 4);
    const honest = net.ops.map((o) => proofs(o, false));
    const clean = await verifyChain({ network: net.network, machines, operators: honest }, life.subject);
    expect(clean.verdict).toBe('authentic');
    expect(clean.reasons).toEqual([]);
    // Every operator whose receipts span more than one checkpoint was asked, once.
    const askedOps = honest.filter((h) => h.asked.length > 0);
    expect(askedOps.length).toBeGreaterThan(0);
    for (const h of askedOps) expect(h.asked).toHaveLength(1);
    const liar = askedOps[0] as (typeof askedOps)[number];
    const operators = net.ops.map((o) => (o.name === liar.name ? proofs(o, true) : o));
    const v = await verifyChain({ network: net.network, machines, operators }, life.subject);
    expect(v.reasons).toContainEqual(
      expect.objectContaining({ code: 'ledger.log.inconsistent', operator: liar.name }),
    );
    expect(v.reasons.filter((r) => r.code === 'ledger.log.inconsistent').map((r) => r.operator)).toEqual(
      expect.arrayContaining([liar.name]),
    );
    expect(
      new Set(v.reasons.filter((r) => r.code === 'ledger.log.inconsistent').map((r) => r.operator)),
    ).toEqual(new Set([liar.name]));
  });

  it('a receipt forged in another operator’s view does not get the operator it names asked about, or blamed for, a log it never had', async () => {
    const net = await network();
    const life = await scenario(net, net.ops, 2);
    // The victim: an operator whose receipt is in the last event's QC; the liar: another one.
    const lastQc = (await (net.ops[0] as EventOperator).chain(life.subject)).events.at(-1)?.qc as {
      receipts: { operator: string }[];
    };
    const victim = net.ops.find((o) => lastQc.receipts.some((r) => r.operator === o.name)) as EventOperator;
    const liarOp = net.ops.find((o) => o !== victim) as EventOperator;
    const impostor = await newNoteKey(victim.name, 'ML-DSA-65');
    const forgedNote = await signCheckpoint({ origin: victim.name, size: 999, root: new Uint8Array(32) }, [
      impostor.signer,
    ]);
    const liar: OperatorApi = {
      ...proofs(liarOp, false),
      chain: async (c, o) => {
        const view = await liarOp.chain(c, o);
        const events = view.events.map((e, i) => {
          if (i !== view.events.length - 1) return e;
          const qc = e.qc as { receipts: { operator: string; checkpoint: string }[] };
          return {
            ...e,
            qc: {
              ...qc,
              receipts: qc.receipts.map((r) =>
                r.operator === victim.name ? { ...r, checkpoint: forgedNote } : r,
              ),
            },
          };
        });
        return { ...view, events };
      },
    };
    const victimApi = proofs(victim, false);
    const operators = net.ops.map((o) => (o === victim ? victimApi : o === liarOp ? liar : o));
    const v = await verifyChain({ network: net.network, machines, operators }, life.subject);
    expect(v.verdict).toBe('authentic');
    expect(v.reasons).toContainEqual(expect.objectContaining({ operator: liarOp.name }));
    expect(v.reasons.filter((r) => r.operator === victim.name)).toEqual([]);
    for (const q of victimApi.asked) expect(q).not.toContain(999);
  });
});
