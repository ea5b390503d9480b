import { toHex, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { MerkleTree } from '@omt/core/merkle';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type EquivocationEvidence,
  findEquivocation,
  parseEquivocationEvidence,
  verifyEquivocationEvidence,
} from '../src/equivocation.js';
import { buildReceipt, type OperatorReceipt, voteLeaf } from '../src/operator-receipt.js';
import type { QuorumCertificate } from '../src/quorum-certificate.js';
import { signCheckpoint } from '../src/tlog-checkpoint.js';
import { type NoteKeyPair, newNoteKey } from '../src/tlog-note.js';

const code = (c: string) => expect.objectContaining({ code: c });
const H = (s: string) => toHex(sha256(utf8(s)));
const chain = 'item:7';

/** An operator log; `fork()` gives a second log with the same key and the same history so far. */
class Log {
  tree = new MerkleTree();
  constructor(
    readonly name: string,
    readonly key: NoteKeyPair,
  ) {}
  fork(): Log {
    const l = new Log(this.name, this.key);
    for (let i = 0; i < this.tree.size; i++) l.tree.appendLeafHash(this.tree.leafHash(i));
    return l;
  }
  vote(height: number, hash: string): number {
    return this.tree.append(voteLeaf(chain, height, hash));
  }
  checkpoint(): Promise<string> {
    return signCheckpoint({ origin: this.name, size: this.tree.size, root: this.tree.root() }, [
      this.key.signer,
    ]);
  }
  async receipt(index: number): Promise<OperatorReceipt> {
    return buildReceipt(this.name, index, await this.checkpoint(), this.tree.inclusionProof(index));
  }
}

let honest: Log;
let liar: Log;
let network: { quorum: number; operators: { name: string; logKey: string }[] };

beforeAll(async () => {
  honest = new Log('op1.omt.example', await newNoteKey('op1.omt.example', 'Ed25519'));
  liar = new Log('op2.omt.example', await newNoteKey('op2.omt.example', 'ML-DSA-65'));
  const third = await newNoteKey('op3.omt.example', 'Ed25519');
  network = {
    quorum: 2,
    operators: [honest, liar]
      .map((l) => ({ name: l.name, logKey: l.key.vkey }))
      .concat({ name: 'op3.omt.example', logKey: third.vkey }),
  };
});

describe('vote equivocation', () => {
  it('two QCs for one height with different events: the shared operator is caught, the evidence verifies', async () => {
    const a = H('event A');
    const b = H('event B');
    const liarB = liar.fork();
    const ia = liar.vote(0, a); // one view of its log…
    const ib = liarB.vote(0, b); // …and another: same index, different leaf
    honest.vote(0, a);
    const qcA: QuorumCertificate = {
      chain,
      height: 0,
      event: a,
      receipts: [await honest.receipt(0), await liar.receipt(ia)],
    };
    const qcB: QuorumCertificate = { chain, height: 0, event: b, receipts: [await liarB.receipt(ib)] };
    const evidence = await findEquivocation({ certificates: [qcA, qcB] }, network);
    const kinds = evidence
      .map((e) => `${e.kind}:${e.kind === 'checkpoint' ? e.reason : ''}:${e.operator}`)
      .sort();
    // Same height, two events; same index, two leaves; same size, two roots.
    expect(kinds).toEqual([
      'checkpoint:leaf:op2.omt.example',
      'checkpoint:root:op2.omt.example',
      'vote::op2.omt.example',
    ]);
    for (const e of evidence) {
      const json = JSON.parse(JSON.stringify(e));
      expect(await verifyEquivocationEvidence(json, network), e.kind).toEqual({ ok: true, statuses: [] });
      expect(parseEquivocationEvidence(JSON.stringify(e))).toEqual(e);
    }
    // The honest operator is never accused.
    expect(evidence.some((e) => e.operator === honest.name)).toBe(false);
  });

  it('forged or inconclusive evidence does not verify', async () => {
    const a = H('x1');
    const b = H('x2');
    const i = honest.vote(5, a);
    const ra = await honest.receipt(i);
    const vote = (event: string, receipt: OperatorReceipt) => ({ event, receipt });
    const base = { v: 1 as const, kind: 'vote' as const, operator: honest.name, chain, height: 5 };
    // Claiming the honest operator voted for b with its receipt for a: the receipt does not prove b.
    const forged = { ...base, votes: [vote(a, ra), vote(b, ra)] as const };
    const v = await verifyEquivocationEvidence(forged, network);
    expect(v.ok).toBe(false);
    expect(v.statuses).toContainEqual(code('ledger.receipt.inclusion-invalid'));
    // Same event twice is not equivocation.
    expect(
      (await verifyEquivocationEvidence({ ...base, votes: [vote(a, ra), vote(a, ra)] }, network)).statuses,
    ).toEqual([code('ledger.equivocation.invalid')]);
    // Unknown operator, malformed evidence.
    expect(
      (await verifyEquivocationEvidence({ ...forged, operator: 'op9.omt.example' }, network)).statuses,
    ).toEqual([code('ledger.receipt.operator-unknown')]);
    expect((await verifyEquivocationEvidence({ kind: 'vote' }, network)).statuses).toEqual([
      code('ledger.equivocation.malformed'),
    ]);
    expect(() => parseEquivocationEvidence('{')).toThrow(code('ledger.equivocation.malformed'));
    // A receipt of another operator inside the evidence.
    const other = { ...base, operator: liar.name, votes: [vote(a, ra), vote(b, ra)] as const };
    expect((await verifyEquivocationEvidence(other, network)).ok).toBe(false);
  });
});

describe('checkpoint equivocation', () => {
  it('same size, different roots: found from plain checkpoints and receipts; a re-signed equal checkpoint is not evidence', async () => {
    const l = new Log('op3.omt.example', await newNoteKey('op3.omt.example', 'Ed25519'));
    const n3 = network.operators.find((o) => o.name === 'op3.omt.example')!;
    const net = {
      ...network,
      operators: network.operators.map((o) => (o === n3 ? { ...o, logKey: l.key.vkey } : o)),
    };
    l.vote(0, H('a'));
    const f = l.fork();
    l.vote(1, H('b'));
    f.vote(1, H('c'));
    const c1 = await l.checkpoint();
    const c2 = await f.checkpoint();
    const found = await findEquivocation({ checkpoints: [c1, c1, c2] }, net);
    expect(found).toHaveLength(1);
    const e = found[0] as Extract<EquivocationEvidence, { reason: 'root' }>;
    expect(e.reason).toBe('root');
    expect((await verifyEquivocationEvidence(e, net)).ok).toBe(true);
    // Ed25519 signing is deterministic: the same checkpoint twice is one statement, not two.
    expect(await findEquivocation({ checkpoints: [c1, await l.checkpoint()] }, net)).toEqual([]);
    // From receipts alone (no votes), the checkpoints are compared.
    expect(await findEquivocation({ receipts: [await l.receipt(1), await f.receipt(1)] }, net)).toHaveLength(
      1,
    );
    // Different sizes prove nothing by themselves.
    l.vote(2, H('d'));
    const bigger = await l.checkpoint();
    expect((await verifyEquivocationEvidence({ ...e, checkpoints: [c2, bigger] }, net)).statuses).toEqual([
      code('ledger.equivocation.invalid'),
    ]);
    // A checkpoint signed by someone else does not count.
    const impostor = await newNoteKey('op3.omt.example', 'Ed25519');
    const fake = await signCheckpoint({ origin: 'op3.omt.example', size: 2, root: new Uint8Array(32) }, [
      impostor.signer,
    ]);
    expect(await findEquivocation({ checkpoints: [c1, fake] }, net)).toEqual([]);
    expect((await verifyEquivocationEvidence({ ...e, checkpoints: [c1, fake] }, net)).statuses).toEqual([
      code('ledger.receipt.signature-invalid'),
    ]);
    // Checkpoints of operators outside the network are ignored.
    expect(await findEquivocation({ checkpoints: ['garbage', fake] }, { operators: [] })).toEqual([]);
  });

  it('leaf evidence with a bent proof fails', async () => {
    const l = liar.fork();
    const f = liar.fork();
    const i = l.vote(9, H('p'));
    f.vote(9, H('q'));
    l.vote(10, H('r')); // different sizes: only the index conflict shows
    const ev = await findEquivocation(
      {
        votes: [
          { chain, height: 9, event: H('p'), receipt: await l.receipt(i) },
          { chain, height: 9, event: H('q'), receipt: await f.receipt(i) },
        ],
      },
      network,
    );
    const leaf = ev.find((e) => e.kind === 'checkpoint' && e.reason === 'leaf') as Extract<
      EquivocationEvidence,
      { reason: 'leaf' }
    >;
    expect(leaf).toBeDefined();
    expect((await verifyEquivocationEvidence(leaf, network)).ok).toBe(true);
    const bent = {
      ...leaf,
      leaves: [leaf.leaves[0], { ...leaf.leaves[1], leafHash: leaf.leaves[0].leafHash.replace(/^./, 'A') }],
    };
    expect((await verifyEquivocationEvidence(bent, network)).ok).toBe(false);
    expect(
      (await verifyEquivocationEvidence({ ...leaf, leaves: [leaf.leaves[0], leaf.leaves[0]] }, network))
        .statuses,
    ).toEqual([code('ledger.equivocation.invalid')]);
  });
});
