import { readFileSync } from 'node:fs';
import { toBase64, utf8 } from '@omt/core/bytes';
import { consistencyProof, emptyRoot, hashLeaf, merkleRoot } from '@omt/core/merkle';
import { describe, expect, it } from 'vitest';
import type { WitnessStore } from '../src/ports.js';
import { signCheckpoint, verifyCheckpoint } from '../src/tlog-checkpoint.js';
import { newCosignerKey, verifyCosignatures } from '../src/tlog-cosignature.js';
import { newNoteKey, parseNote } from '../src/tlog-note.js';
import {
  applyWitnessResponse,
  formatAddCheckpointRequest,
  parseAddCheckpointRequest,
  TLOG_SIZE_CONTENT_TYPE,
  Witness,
} from '../src/tlog-witness.js';
import { MemoryWitnessStore } from '../src/witness-store-memory.js';

const V = JSON.parse(readFileSync(new URL('../../../testdata/c2sp/vectors.json', import.meta.url), 'utf8'));
const code = (c: string) => expect.objectContaining({ code: c });
const HASHES = Array.from({ length: 64 }, (_, i) => hashLeaf(utf8(`vote ${i}`)));
const ORIGIN = 'op1.omt.example';

async function setup(
  witnessAlg: 'Ed25519' | 'ML-DSA-44' = 'Ed25519',
  store: WitnessStore = new MemoryWitnessStore(),
) {
  const log = await newNoteKey(ORIGIN, 'ML-DSA-65');
  const w = await newCosignerKey('op2.omt.example/witness', witnessAlg, {
    clock: () => new Date(1_750_000_000_000),
  });
  const witness = new Witness({ signer: w.signer, store, logs: [log.vkey] });
  const checkpoint = (size: number, signer = log.signer, origin = ORIGIN) =>
    signCheckpoint({ origin, size, root: size === 0 ? emptyRoot() : merkleRoot(HASHES.slice(0, size)) }, [
      signer,
    ]);
  const request = async (oldSize: number, size: number, proof?: Uint8Array[]) =>
    formatAddCheckpointRequest({
      oldSize,
      proof:
        proof ?? (oldSize === 0 || oldSize === size ? [] : consistencyProof(HASHES.slice(0, size), oldSize)),
      checkpoint: await checkpoint(size),
    });
  return { log, w, witness, store, checkpoint, request };
}

describe('add-checkpoint request codec', () => {
  it('parses the spec example', () => {
    const r = parseAddCheckpointRequest(V.specExamples.addCheckpointRequest);
    expect(r.oldSize).toBe(20852014);
    expect(r.proof.map(toBase64)).toEqual([
      'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=',
      'jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=',
      '5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=',
      '/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=',
    ]);
    expect(parseNote(r.checkpoint).signatures).toHaveLength(2);
    expect(formatAddCheckpointRequest(r)).toBe(V.specExamples.addCheckpointRequest);
    expect(parseAddCheckpointRequest(utf8(V.specExamples.addCheckpointRequest)).oldSize).toBe(20852014);
  });

  it('malformed bodies → ledger.witness.malformed', () => {
    const cp = V.specExamples.checkpoint;
    for (const b of [
      `old 1\n${cp}`, // no blank line before the checkpoint: the checkpoint's blank line is found, header then has junk
      `old 01\n\n${cp}`,
      `old -1\n\n${cp}`,
      `old\n\n${cp}`,
      `new 1\n\n${cp}`,
      `old 1\nnot base64!\n\n${cp}`,
      `old 1\n${toBase64(new Uint8Array(31))}\n\n${cp}`,
      `old 1\n${`${toBase64(new Uint8Array(32))}\n`.repeat(64)}\n${cp}`,
      'old 1',
    ]) {
      expect(() => parseAddCheckpointRequest(b), b.slice(0, 20)).toThrow(code('ledger.witness.malformed'));
    }
    expect(() => parseAddCheckpointRequest(Uint8Array.of(0x6f, 0xff))).toThrow(
      code('ledger.witness.malformed'),
    );
  });
});

describe('Witness.addCheckpoint', () => {
  it.each(['Ed25519', 'ML-DSA-44'] as const)(
    '%s: cosigns a first checkpoint, then consistent growth',
    async (alg) => {
      const { witness, request, w, log, store, checkpoint } = await setup(alg);
      const r1 = await witness.addCheckpoint(await request(0, 5));
      expect(r1.status).toBe(200);
      expect(r1.body).toMatch(/^\u2014 op2\.omt\.example\/witness \S+\n$/);
      expect(await store.get(ORIGIN)).toEqual({ size: 5, root: merkleRoot(HASHES.slice(0, 5)) });
      const cp5 = await checkpoint(5);
      const cosigned = await applyWitnessResponse(cp5, r1.body, [w.vkey]);
      expect((await verifyCosignatures(cosigned, [w.vkey])).cosignatures).toHaveLength(1);
      expect((await verifyCheckpoint(cosigned, log.vkey)).checkpoint.size).toBe(5);
      const r2 = await witness.addCheckpoint(await request(5, 13));
      expect(r2.status).toBe(200);
      // Same size, same root again: cosigned again.
      expect((await witness.addCheckpoint(await request(13, 13))).status).toBe(200);
      expect((await store.get(ORIGIN))?.size).toBe(13);
    },
  );

  it('maps every refusal to the spec status', async () => {
    const { witness, request, checkpoint, store } = await setup();
    expect((await witness.addCheckpoint('garbage')).status).toBe(400);
    // Unknown origin → 404.
    const stranger = await newNoteKey('stranger.example', 'Ed25519');
    const unknown = formatAddCheckpointRequest({
      oldSize: 0,
      proof: [],
      checkpoint: await checkpoint(3, stranger.signer, 'stranger.example'),
    });
    expect((await witness.addCheckpoint(unknown)).status).toBe(404);
    // Signed by another key of the right name → 403 (unknown key: no trusted signature).
    const impostor = await newNoteKey(ORIGIN, 'ML-DSA-65');
    const forged = formatAddCheckpointRequest({
      oldSize: 0,
      proof: [],
      checkpoint: await checkpoint(3, impostor.signer),
    });
    expect((await witness.addCheckpoint(forged)).status).toBe(403);
    // A trusted key's signature that fails → 403.
    const good = await request(0, 3);
    const tampered = good.replace(`\n3\n`, '\n4\n');
    expect((await witness.addCheckpoint(tampered)).status).toBe(403);
    // Old size above the checkpoint size → 400.
    expect((await witness.addCheckpoint(await request(9, 3, []))).status).toBe(400);
    // Nothing stored yet but old size 2 → 409 with "0\n".
    const c = await witness.addCheckpoint(await request(2, 3));
    expect(c).toEqual({ status: 409, body: '0\n', contentType: TLOG_SIZE_CONTENT_TYPE });
    // From 0 with a non-empty proof → 422.
    expect((await witness.addCheckpoint(await request(0, 3, [HASHES[0]!]))).status).toBe(422);
    expect(await store.get(ORIGIN)).toBeUndefined();
    // Good first submission.
    expect((await witness.addCheckpoint(good)).status).toBe(200);
    // Stale old size → 409 "3\n".
    expect(await witness.addCheckpoint(await request(0, 5))).toEqual({
      status: 409,
      body: '3\n',
      contentType: TLOG_SIZE_CONTENT_TYPE,
    });
    // A bad consistency proof → 422; the store is unchanged.
    const wrong = consistencyProof(HASHES.slice(0, 8), 3).map((h) => h.slice());
    wrong[0]![0]! ^= 1;
    expect((await witness.addCheckpoint(await request(3, 8, wrong))).status).toBe(422);
    expect((await store.get(ORIGIN))?.size).toBe(3);
  });

  it('a fork signed by the trusted log key is refused with 422 and not cosigned', async () => {
    const { witness, request, log } = await setup();
    expect((await witness.addCheckpoint(await request(0, 4))).status).toBe(200);
    const other = merkleRoot([...HASHES.slice(0, 3), hashLeaf(utf8('other'))]);
    const fork = formatAddCheckpointRequest({
      oldSize: 4,
      proof: [],
      checkpoint: await signCheckpoint({ origin: ORIGIN, size: 4, root: other }, [log.signer]),
    });
    const r = await witness.addCheckpoint(fork);
    expect(r.status).toBe(422);
    expect(r.body).not.toContain('\u2014');
    // Growth that is inconsistent with the cosigned size 4 (a proof for the forked tree) → 422.
    const forkedLeaves = [...HASHES.slice(0, 3), hashLeaf(utf8('other')), ...HASHES.slice(4, 10)];
    const grown = formatAddCheckpointRequest({
      oldSize: 4,
      proof: consistencyProof(forkedLeaves, 4),
      checkpoint: await signCheckpoint({ origin: ORIGIN, size: 10, root: merkleRoot(forkedLeaves) }, [
        log.signer,
      ]),
    });
    expect((await witness.addCheckpoint(grown)).status).toBe(422);
  });

  it('size 0: the empty root is cosigned, any other root is 422', async () => {
    const { witness, log } = await setup();
    const empty = formatAddCheckpointRequest({
      oldSize: 0,
      proof: [],
      checkpoint: await signCheckpoint({ origin: ORIGIN, size: 0, root: emptyRoot() }, [log.signer]),
    });
    expect((await witness.addCheckpoint(empty)).status).toBe(200);
    const bad = formatAddCheckpointRequest({
      oldSize: 0,
      proof: [],
      checkpoint: await signCheckpoint({ origin: ORIGIN, size: 0, root: new Uint8Array(32) }, [log.signer]),
    });
    expect((await witness.addCheckpoint(bad)).status).toBe(422);
  });

  it('concurrent submissions from one old size: exactly one wins, the others get 409 (no rollback)', async () => {
    const { witness, request, store } = await setup();
    expect((await witness.addCheckpoint(await request(0, 4))).status).toBe(200);
    const bodies = await Promise.all([6, 9, 12, 20, 33].map((n) => request(4, n)));
    const answers = await Promise.all(bodies.map((b) => witness.addCheckpoint(b)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(4);
    const won = (await store.get(ORIGIN))?.size;
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body).toBe(`${won}\n`);
  });

  it('configuration errors and the client side', async () => {
    const log = await newNoteKey(ORIGIN, 'Ed25519');
    expect(() => new Witness({ store: new MemoryWitnessStore(), logs: [log.vkey] })).toThrow(
      code('ledger.witness.config-invalid'),
    );
    expect(() => new Witness({ signer: log.signer, store: new MemoryWitnessStore(), logs: [] })).toThrow(
      code('ledger.witness.config-invalid'),
    );
    const { witness, request, w, checkpoint } = await setup();
    const r = await witness.addCheckpoint(await request(0, 2));
    const cp = await checkpoint(2);
    // An unknown witness's lines are dropped; a bad line of a trusted witness throws.
    expect(parseNote(await applyWitnessResponse(cp, r.body, [])).signatures).toHaveLength(1);
    const other = await newCosignerKey('op3.omt.example/witness', 'Ed25519');
    await expect(
      applyWitnessResponse(cp.replace('\n2\n', '\n2\n'), r.body.replace(/.{6}\n$/, 'AAAAAA\n'), [w.vkey]),
    ).rejects.toThrow(code('ledger.note.signature-invalid'));
    expect(parseNote(await applyWitnessResponse(cp, r.body, [w.vkey, other.vkey])).signatures).toHaveLength(
      2,
    );
  });
});
