import { toBase64, toHex, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { MerkleTree } from '@omt/core/merkle';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildReceipt,
  checkReceipt,
  type OperatorReceipt,
  parseReceipt,
  verifyReceipt,
  voteLeaf,
} from '../src/operator-receipt.js';
import {
  parseQuorumCertificate,
  type QuorumCertificate,
  verifyQuorumCertificate,
} from '../src/quorum-certificate.js';
import { signCheckpoint } from '../src/tlog-checkpoint.js';
import { type NoteKeyPair, newNoteKey } from '../src/tlog-note.js';

const code = (c: string) => expect.objectContaining({ code: c });
const H = (s: string) => toHex(sha256(utf8(s)));

/** A minimal operator: a vote log and an ML-DSA-65 log key. */
class Op {
  readonly tree = new MerkleTree();
  constructor(
    readonly name: string,
    readonly key: NoteKeyPair,
  ) {}
  static async create(name: string): Promise<Op> {
    return new Op(name, await newNoteKey(name, 'ML-DSA-65', { seed: sha256(utf8(name)) }));
  }
  vote(chain: string, height: number, hash: string): number {
    return this.tree.append(voteLeaf(chain, height, hash));
  }
  async receipt(index: number): Promise<OperatorReceipt> {
    const checkpoint = await signCheckpoint(
      { origin: this.name, size: this.tree.size, root: this.tree.root() },
      [this.key.signer],
    );
    return buildReceipt(this.name, index, checkpoint, this.tree.inclusionProof(index));
  }
}

let ops: Op[];
let network: { quorum: number; operators: { name: string; logKey: string; witnessKey: string }[] };
const chain = 'item:42';
const hash = H('event 3');

beforeAll(async () => {
  ops = await Promise.all(['op1.omt.example', 'op2.omt.example', 'op3.omt.example'].map(Op.create));
  network = {
    quorum: 2,
    operators: ops.map((o) => ({ name: o.name, logKey: o.key.vkey, witnessKey: 'unused' })),
  };
  for (const o of ops) {
    o.vote('item:1', 0, H('other'));
    o.vote(chain, 3, hash);
  }
});

describe('vote leaf and receipts', () => {
  it('the leaf is omt.vote.v1\\n<chain>\\n<height>\\n<hash>\\n; bad votes refused', () => {
    expect(new TextDecoder().decode(voteLeaf('item:42', 3, hash))).toBe(`omt.vote.v1\nitem:42\n3\n${hash}\n`);
    expect(() => voteLeaf('Item:42', 3, hash)).toThrow(code('ledger.vote.invalid'));
    expect(() => voteLeaf('item:4\n2', 3, hash)).toThrow(code('ledger.vote.invalid'));
    expect(() => voteLeaf('item:42', -1, hash)).toThrow(code('ledger.vote.invalid'));
    expect(() => voteLeaf('item:42', 1.5, hash)).toThrow(code('ledger.vote.invalid'));
    expect(() => voteLeaf('item:42', 3, hash.toUpperCase())).toThrow(code('ledger.vote.invalid'));
  });

  it('a receipt verifies with the operator key; every tamper is reported', async () => {
    const op = ops[0]!;
    const r = await op.receipt(1);
    const vote = { chain, height: 3, hash };
    expect(await verifyReceipt(r, vote, op.key.vkey)).toEqual([]);
    expect(await verifyReceipt(JSON.stringify(r), vote, network.operators[0]!)).toEqual([]);
    expect((await checkReceipt(r, vote, op.key.verifier)).checkpoint?.checkpoint.size).toBe(2);
    const first = async (x: unknown, v = vote, key: unknown = op.key.vkey) =>
      (await verifyReceipt(x, v, key as string))[0]?.code;
    expect(await first(r, { ...vote, hash: H('another') })).toBe('ledger.receipt.inclusion-invalid');
    expect(await first(r, { ...vote, height: 4 })).toBe('ledger.receipt.inclusion-invalid');
    expect(await first({ ...r, index: 0 })).toBe('ledger.receipt.inclusion-invalid');
    expect(await first({ ...r, index: 9 })).toBe('ledger.receipt.inclusion-invalid');
    expect(await first({ ...r, proof: [...r.proof].reverse().concat(toBase64(new Uint8Array(32))) })).toBe(
      'ledger.receipt.inclusion-invalid',
    );
    expect(await first({ ...r, checkpoint: r.checkpoint.replace('\n2\n', '\n3\n') })).toBe(
      'ledger.receipt.signature-invalid',
    );
    expect(await first(r, vote, ops[1]!.key.vkey)).toBe('ledger.receipt.operator-mismatch');
    expect(await first({ ...r, operator: 'op2.omt.example' })).toBe('ledger.receipt.operator-mismatch');
    // Same name, another key: the checkpoint is not signed by it.
    const impostor = await newNoteKey(op.name, 'ML-DSA-65');
    expect(await first(r, vote, impostor.vkey)).toBe('ledger.receipt.signature-invalid');
    expect(await first({ ...r, extra: 1 })).toBe('ledger.receipt.malformed');
    expect(await first({ ...r, proof: ['nope'] })).toBe('ledger.receipt.malformed');
    expect(await first('not json')).toBe('ledger.receipt.malformed');
    expect(await first(r, { ...vote, chain: 'BAD' })).toBe('ledger.vote.invalid');
    expect(await first(r, vote, 'not a vkey')).toBe('ledger.receipt.key-invalid');
    expect(() => parseReceipt({ ...r, index: -1 })).toThrow(code('ledger.receipt.malformed'));
  });
});

describe('verifyQuorumCertificate', () => {
  const qcOf = async (which: number[]): Promise<QuorumCertificate> => ({
    chain,
    height: 3,
    event: hash,
    receipts: await Promise.all(which.map((i) => ops[i]!.receipt(1))),
  });

  it('3 ML-DSA-65 receipts; 2 of 3 suffice; 1 does not', async () => {
    const all = await verifyQuorumCertificate(await qcOf([0, 1, 2]), network);
    expect(all).toEqual({
      ok: true,
      operators: ['op1.omt.example', 'op2.omt.example', 'op3.omt.example'],
      statuses: [],
    });
    expect((await verifyQuorumCertificate(await qcOf([2, 0]), network)).ok).toBe(true);
    const one = await verifyQuorumCertificate(await qcOf([1]), network);
    expect(one.ok).toBe(false);
    expect(one.statuses).toEqual([code('ledger.qc.quorum-not-met')]);
    // JSON text works too.
    expect((await verifyQuorumCertificate(JSON.stringify(await qcOf([0, 1])), network)).ok).toBe(true);
  });

  it('a parsed QC and its receipts are frozen copies that parse again as themselves (checked once)', async () => {
    const input = await qcOf([0, 1]);
    const qc = parseQuorumCertificate(JSON.parse(JSON.stringify(input)));
    expect(qc).toEqual(input);
    expect(Object.isFrozen(qc) && Object.isFrozen(qc.receipts)).toBe(true);
    expect(qc.receipts.every((r) => Object.isFrozen(r) && Object.isFrozen(r.proof))).toBe(true);
    expect(parseQuorumCertificate(qc)).toBe(qc);
    expect(parseReceipt(qc.receipts[0])).toBe(qc.receipts[0]);
    expect(() => {
      (qc.receipts[0]!.proof as string[]).push('x');
    }).toThrow(TypeError);
    // A caller's own object is copied and checked, never adopted: changing it later changes nothing.
    const mine = JSON.parse(JSON.stringify(input)) as { receipts: { index: number }[] };
    const parsed = parseQuorumCertificate(mine);
    expect(parsed).not.toBe(mine);
    mine.receipts[0]!.index = 99;
    expect(parsed.receipts[0]!.index).toBe(1);
    expect(() => parseReceipt(mine.receipts[0])).not.toThrow();
    // A receipt parsed alone is remembered too, and a bad one still fails.
    const r = parseReceipt(JSON.parse(JSON.stringify(input.receipts[1])));
    expect(parseReceipt(r)).toBe(r);
    expect(() => parseReceipt({ ...r, proof: ['not base64'] })).toThrow(
      expect.objectContaining({ code: 'ledger.receipt.malformed' }),
    );
    expect((await verifyQuorumCertificate(qc, network)).ok).toBe(true);
  });

  it('the same operator twice counts once; bad and unknown receipts get statuses', async () => {
    const qc = await qcOf([0, 0]);
    const v = await verifyQuorumCertificate(qc, network);
    expect(v.ok).toBe(false);
    expect(v.operators).toEqual(['op1.omt.example']);
    const stranger = await Op.create('op9.omt.example');
    stranger.vote(chain, 3, hash);
    const r9 = await stranger.receipt(0);
    const good = await qcOf([0, 1]);
    const bad = { ...good.receipts[1]!, checkpoint: good.receipts[1]!.checkpoint.replace('op2', 'op3') };
    const mixed = await verifyQuorumCertificate({ ...good, receipts: [good.receipts[0]!, bad, r9] }, network);
    expect(mixed.ok).toBe(false);
    expect(mixed.statuses.map((s) => s.code).sort()).toEqual(
      [
        'ledger.qc.quorum-not-met',
        'ledger.receipt.operator-mismatch',
        'ledger.receipt.operator-unknown',
      ].sort(),
    );
    // A QC for another event (receipts are for `hash`).
    expect((await verifyQuorumCertificate({ ...good, event: H('x') }, network)).ok).toBe(false);
    expect((await verifyQuorumCertificate({ ...good, height: 2 }, network)).ok).toBe(false);
    // Malformed QCs are data.
    expect((await verifyQuorumCertificate({ ...good, receipts: [] }, network)).statuses).toEqual([
      code('ledger.qc.malformed'),
    ]);
    expect((await verifyQuorumCertificate('{', network)).statuses).toEqual([code('ledger.qc.malformed')]);
    expect(() => parseQuorumCertificate({ ...good, chain: 'no' })).toThrow(code('ledger.qc.malformed'));
  });

  it('refuses networks that would allow two quorums (2M ≤ N) or misnamed keys', async () => {
    const qc = await qcOf([0, 1]);
    await expect(verifyQuorumCertificate(qc, { ...network, quorum: 1 })).rejects.toThrow(
      code('ledger.policy.invalid'),
    );
    await expect(verifyQuorumCertificate(qc, { ...network, quorum: 4 })).rejects.toThrow(
      code('ledger.policy.invalid'),
    );
    const misnamed = {
      quorum: 2,
      operators: network.operators.map((o, i) => (i === 0 ? { ...o, name: 'opX.omt.example' } : o)),
    };
    await expect(verifyQuorumCertificate(qc, misnamed)).rejects.toThrow(code('ledger.policy.invalid'));
  });

  it('verifying many QCs of one batch checks each checkpoint signature once (cache)', async () => {
    // Not a timing assertion: a wrong signature after a cached success must still fail.
    const qc = await qcOf([0, 1, 2]);
    for (let i = 0; i < 5; i++) expect((await verifyQuorumCertificate(qc, network)).ok).toBe(true);
    const forged = {
      ...qc,
      receipts: qc.receipts.map((r) => ({ ...r, checkpoint: r.checkpoint.replace(/ \S{8}/, ' AAAAAAAA') })),
    };
    expect((await verifyQuorumCertificate(forged, network)).ok).toBe(false);
  });

  it('the checkpoint cache is per key: a note that verified under its own key fails under another', async () => {
    const r = await (ops[0] as Op).receipt(1);
    const vote = { chain, height: 3, hash };
    expect(await verifyReceipt(r, vote, (ops[0] as Op).key.vkey)).toEqual([]);
    // The same text (cached as verified for op1's key), now claimed under op2's key.
    const codes = (
      await verifyReceipt({ ...r, operator: 'op2.omt.example' }, vote, (ops[1] as Op).key.vkey)
    ).map((s) => s.code);
    expect(codes.length).toBeGreaterThan(0);
    expect(await verifyReceipt(r, vote, (ops[0] as Op).key.vkey)).toEqual([]);
  });
});
