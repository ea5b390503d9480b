import { fromHex, toHex } from '@omt/core/bytes';
import { getSuite } from '@omt/core/suites';
import { type AnchorProof, anchorProof, verifyAnchorProof } from '@omt/ledger/anchor';
import {
  blockMerkleRoot,
  bumpForTransaction,
  bumpRoot,
  bumpToJson,
  decodeBump,
  encodeBump,
} from '@omt/ledger/anchor-bump';
import { meetsProofOfWork, parseBlockHeader, targetFromBits } from '@omt/ledger/anchor-header';
import { sealBatch } from '@omt/ledger/batch';
import { createIntent, intentRecordHash, intentSigner } from '@omt/ledger/intent';
import { encodeBatchAnchor } from '@omt/ledger/op-return';
import { mineRegtestHeader } from '@omt/ledger/testing/regtest-anchor';
import { encodeTransaction, type Transaction, transactionId } from '@omt/ledger/transaction';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

// Bitcoin mainnet block 100,000 (4 transactions): its header and txids, public chain data.
const B100K_HEADER =
  '0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710';
const B100K_TXIDS = [
  '8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87',
  'fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4',
  '6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4',
  'e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d',
];

function randomTxid(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

describe('block headers and BUMP (BRC-74)', () => {
  it('block 100,000: header parses, meets its PoW; the txids give its Merkle root; a BUMP proves each', () => {
    const h = parseBlockHeader(B100K_HEADER);
    expect(h.hash).toBe('000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506');
    expect(h.bits).toBe(0x1b04864c);
    expect(meetsProofOfWork(h)).toBe(true);
    expect(toHex(blockMerkleRoot(B100K_TXIDS))).toBe(toHex(h.merkleRoot));
    for (let i = 0; i < 4; i++) {
      const bump = decodeBump(toHex(encodeBump(bumpForTransaction(B100K_TXIDS, i, 100_000))));
      expect(bump.blockHeight).toBe(100_000);
      expect(toHex(bumpRoot(bump, B100K_TXIDS[i] as string))).toBe(toHex(h.merkleRoot));
    }
    const json = bumpToJson(bumpForTransaction(B100K_TXIDS, 2, 100_000));
    expect(json.path[0]).toEqual([
      { offset: 2, hash: B100K_TXIDS[2], txid: true },
      { offset: 3, hash: B100K_TXIDS[3] },
    ]);
  });

  it('targetFromBits follows SetCompact; a tampered header fails PoW', () => {
    expect(targetFromBits(0x1d00ffff)).toBe(0xffffn << 208n);
    expect(targetFromBits(0x01003456)).toBe(undefined);
    expect(targetFromBits(0x04923456)).toBe(undefined);
    const bytes = fromHex(B100K_HEADER);
    bytes[79] = (bytes[79] as number) ^ 1;
    expect(meetsProofOfWork(parseBlockHeader(bytes))).toBe(false);
    expect(() => parseBlockHeader('00')).toThrow(
      expect.objectContaining({ code: 'ledger.anchor.header-malformed' }),
    );
  });

  it('property: odd-sized blocks (duplicated last node) — every BUMP reaches blockMerkleRoot', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), (n, pick) => {
        const txids = Array.from({ length: n }, randomTxid);
        const i = pick % n;
        const bump = decodeBump(encodeBump(bumpForTransaction(txids, i, 7)));
        expect(toHex(bumpRoot(bump, txids[i] as string))).toBe(toHex(blockMerkleRoot(txids)));
      }),
      { numRuns: 60 },
    );
  });

  it('malformed BUMPs → ledger.anchor.bump-malformed; a txid not flagged → bump-txid-missing', () => {
    const good = encodeBump(bumpForTransaction(B100K_TXIDS, 0, 100_000));
    const bad = [
      toHex(good).slice(0, -2),
      `${toHex(good)}00`,
      'zz',
      (() => {
        const b = good.slice();
        b[b.length - 33] = 7; // flags of the last leaf
        return toHex(b);
      })(),
    ];
    for (const b of bad)
      expect(() => decodeBump(b)).toThrow(expect.objectContaining({ code: 'ledger.anchor.bump-malformed' }));
    expect(() => bumpRoot(decodeBump(good), B100K_TXIDS[1] as string)).toThrow(
      expect.objectContaining({ code: 'ledger.anchor.bump-txid-missing' }),
    );
  });
});

const mineHeader = mineRegtestHeader;

describe('anchoring proofs: record → batch → tx → block → header', () => {
  let proof: AnchorProof;
  let headers: Map<number, string>;
  let records: Record<string, unknown>[];

  beforeAll(async () => {
    const kp = await getSuite('ES256K').generateKeyPair();
    const signer = await intentSigner('ES256K-DER', kp.secretKey);
    const intents = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        createIntent({ rid: `urn:rec:${i}`, uri: `https://x/${i}` }, signer),
      ),
    );
    records = intents.map((x) => x.record as unknown as Record<string, unknown>);
    const batch = sealBatch(intents.map((x) => fromHex(x.signature.hash)));
    const tx: Transaction = {
      version: 1,
      inputs: [
        { txid: randomTxid(), vout: 0, scriptSig: Uint8Array.of(0x51), sequence: 0xffffffff, witness: [] },
      ],
      outputs: [
        {
          value: 0n,
          script: encodeBatchAnchor({ root: batch.root, n: batch.size, ts: 1_767_225_600 }, { chain: 'bsv' }),
        },
        { value: 900n, script: Uint8Array.of(0x51) },
      ],
      locktime: 0,
    };
    const raw = toHex(encodeTransaction(tx, { witness: false }));
    const txid = transactionId(tx);
    const blockTxids = [randomTxid(), randomTxid(), txid, randomTxid(), randomTxid()];
    headers = new Map([[812_345, mineHeader(blockMerkleRoot(blockTxids))]]);
    proof = anchorProof({
      batch: batch.inclusion(3),
      tx: { chain: 'bsv', raw, vout: 0 },
      block: { height: 812_345, bump: toHex(encodeBump(bumpForTransaction(blockTxids, 2, 812_345))) },
      record: records[3],
    });
  });

  const codes = (v: { problems: readonly { code: string }[] }): string[] => v.problems.map((p) => p.code);

  it('a complete proof verifies offline (also after a JSON round trip)', async () => {
    const v = await verifyAnchorProof(JSON.parse(JSON.stringify(proof)), { headers });
    expect(codes(v)).toEqual([]);
    expect(v.valid).toBe(true);
    expect(v.checked).toEqual({
      record: true,
      batch: true,
      tx: true,
      opReturn: true,
      block: true,
      header: true,
    });
    expect(v.blockTime).toBe(1_767_225_600);
    expect(proof.record.hash).toBe(toHex(intentRecordHash(records[3])));
    const viaFn = await verifyAnchorProof(proof, { headers: async (h) => headers.get(h) });
    expect(viaFn.valid).toBe(true);
  });

  it('every broken link is named', async () => {
    const cases: [Partial<AnchorProof> | ((p: AnchorProof) => unknown), string[]][] = [
      [
        { record: { hash: proof.record.hash, body: records[2] as Record<string, unknown> } },
        ['ledger.anchor.record-mismatch'],
      ],
      [{ batch: { ...proof.batch, index: 2 } }, ['ledger.anchor.batch-proof-invalid']],
      [{ tx: { ...proof.tx, txid: randomTxid() } }, ['ledger.anchor.txid-mismatch']],
      [{ tx: { ...proof.tx, vout: 1 } }, ['ledger.anchor.op-return-mismatch']],
      [{ tx: { ...proof.tx, raw: `${proof.tx.raw}00` } }, ['ledger.anchor.tx-malformed']],
      [{ block: undefined }, ['ledger.anchor.unconfirmed']],
      [
        { block: { height: 812_346, bump: proof.block?.bump as string } },
        ['ledger.anchor.bump-height-mismatch'],
      ],
      [{ block: { height: 812_345, bump: '00' } }, ['ledger.anchor.bump-malformed']],
      [
        {
          block: {
            height: 812_345,
            bump: toHex(encodeBump(bumpForTransaction([randomTxid(), randomTxid()], 0, 812_345))),
          },
        },
        ['ledger.anchor.bump-txid-missing'],
      ],
    ];
    for (const [patch, expected] of cases) {
      const p = typeof patch === 'function' ? patch(proof) : { ...proof, ...patch };
      expect(codes(await verifyAnchorProof(p, { headers })), JSON.stringify(expected)).toEqual(expected);
    }
    expect(codes(await verifyAnchorProof(proof, { headers: new Map() }))).toEqual([
      'ledger.anchor.header-unknown',
    ]);
    const other = new Map([[812_345, mineHeader(new Uint8Array(32))]]);
    expect(codes(await verifyAnchorProof(proof, { headers: other }))).toEqual([
      'ledger.anchor.header-mismatch',
    ]);
    const weak = fromHex(headers.get(812_345) as string);
    new DataView(weak.buffer).setUint32(72, 0x03000001, true); // a target no hash meets
    expect(codes(await verifyAnchorProof(proof, { headers: new Map([[812_345, toHex(weak)]]) }))).toEqual([
      'ledger.anchor.header-pow',
    ]);
    expect(codes(await verifyAnchorProof(proof, { headers: new Map([[812_345, '00']]) }))).toEqual([
      'ledger.anchor.header-malformed',
    ]);
  });

  it('malformed proofs → ledger.anchor.schema, never a crash', async () => {
    for (const bad of [
      null,
      1,
      'x',
      {},
      { ...proof, v: 2 },
      { ...proof, extra: 1 },
      { ...proof, tx: { ...proof.tx, raw: 'ZZ' } },
    ]) {
      expect(codes(await verifyAnchorProof(bad, { headers }))).toEqual(['ledger.anchor.schema']);
    }
  });
});
