import { readFileSync } from 'node:fs';
import { fromBase64, toBase64, utf8 } from '@omt/core/bytes';
import { hashLeaf, inclusionProof, merkleRoot } from '@omt/core/merkle';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../src/tlog-checkpoint.js';
import { cosignCheckpoint, newCosignerKey } from '../src/tlog-cosignature.js';
import { newNoteKey } from '../src/tlog-note.js';
import { parsePolicy } from '../src/tlog-policy.js';
import { buildTlogProof, formatTlogProof, parseTlogProof, verifyTlogProof } from '../src/tlog-proof.js';

const V = JSON.parse(readFileSync(new URL('../../../testdata/c2sp/vectors.json', import.meta.url), 'utf8'));
const code = (c: string) => expect.objectContaining({ code: c });

describe('tlog-proof format — transparency-dev vectors', () => {
  it('formats byte for byte and parses back', () => {
    for (const c of V.tlogProof.cases) {
      const p = {
        index: c.index,
        proof: c.hashes.map(fromBase64),
        checkpoint: c.checkpoint,
        ...(c.extra === undefined ? {} : { extra: fromBase64(c.extra) }),
      };
      expect(formatTlogProof(p)).toBe(c.text);
      const back = parseTlogProof(c.text);
      expect(back.index).toBe(c.index);
      expect(back.proof.map(toBase64)).toEqual(c.hashes);
      expect(back.checkpoint).toBe(c.checkpoint);
      expect(back.extra === undefined ? undefined : toBase64(back.extra)).toBe(c.extra);
    }
  });

  it('refuses the malformed ones', () => {
    for (const t of V.tlogProof.bad)
      expect(() => parseTlogProof(t), t.slice(0, 40)).toThrow(code('ledger.proof.malformed'));
    expect(() => parseTlogProof(`c2sp.org/tlog-proof@v1\nindex 01\n\nx\n`)).toThrow(
      code('ledger.proof.malformed'),
    );
    expect(() =>
      parseTlogProof(
        `c2sp.org/tlog-proof@v1\nindex 0\n${`${toBase64(new Uint8Array(32))}\n`.repeat(64)}\nx\n`,
      ),
    ).toThrow(code('ledger.proof.malformed'));
  });
});

describe('build and verify against a policy', () => {
  it('a cosigned checkpoint, an inclusion proof, a 2-of-2 witness policy', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => utf8(`entry ${i}`));
    const hashes = entries.map(hashLeaf);
    const log = await newNoteKey('log.example/fancy', 'ML-DSA-65');
    const w1 = await newCosignerKey('witness1.example', 'Ed25519');
    const w2 = await newCosignerKey('witness2.example', 'ML-DSA-44');
    const signed = await signCheckpoint({ origin: 'log.example/fancy', size: 11, root: merkleRoot(hashes) }, [
      log.signer,
    ]);
    const cosigned = await cosignCheckpoint(signed, [w1.signer, w2.signer]);
    const policy = parsePolicy(
      `log ${log.vkey}\nwitness w1 ${w1.vkey}\nwitness w2 ${w2.vkey}\ngroup both all w1 w2\nquorum both\n`,
    );
    const text = await buildTlogProof({
      index: 7,
      leafHash: hashes[7]!,
      proof: inclusionProof(hashes, 7),
      checkpoint: cosigned,
      extra: utf8('ctx'),
    });
    expect(text.startsWith('c2sp.org/tlog-proof@v1\nextra Y3R4\nindex 7\n')).toBe(true);
    const ok = await verifyTlogProof(text, { data: entries[7]! }, policy);
    expect(ok.statuses).toEqual([]);
    expect(ok.ok).toBe(true);
    expect(ok.witnesses).toEqual(['w1', 'w2']);
    // Wrong entry, wrong index, missing cosignature, tampered proof.
    expect((await verifyTlogProof(text, { data: entries[6]! }, policy)).statuses).toEqual([
      code('ledger.proof.invalid'),
    ]);
    const p = parseTlogProof(text);
    expect((await verifyTlogProof(formatTlogProof({ ...p, index: 6 }), hashes[7]!, policy)).ok).toBe(false);
    const onlyW1 = await buildTlogProof({
      index: 7,
      leafHash: hashes[7]!,
      proof: inclusionProof(hashes, 7),
      checkpoint: await cosignCheckpoint(signed, [w1.signer]),
    });
    expect((await verifyTlogProof(onlyW1, hashes[7]!, policy)).statuses).toEqual([
      code('ledger.policy.quorum-not-met'),
    ]);
    const bent = p.proof.map((h) => h.slice());
    bent[1]![3]! ^= 1;
    expect((await verifyTlogProof(formatTlogProof({ ...p, proof: bent }), hashes[7]!, policy)).ok).toBe(
      false,
    );
    expect((await verifyTlogProof('garbage', hashes[7]!, policy)).statuses).toEqual([
      code('ledger.proof.malformed'),
    ]);
    // Building a proof that does not verify is refused.
    await expect(
      buildTlogProof({
        index: 6,
        leafHash: hashes[7]!,
        proof: inclusionProof(hashes, 7),
        checkpoint: cosigned,
      }),
    ).rejects.toThrow(code('ledger.proof.invalid'));
    // A policy without log lines plus the log key given by the context.
    const noLogs = parsePolicy(`witness w1 ${w1.vkey}\nquorum w1\n`);
    expect((await verifyTlogProof(text, hashes[7]!, noLogs)).ok).toBe(false);
    expect((await verifyTlogProof(text, hashes[7]!, noLogs, [log.verifier])).ok).toBe(true);
  });
});
