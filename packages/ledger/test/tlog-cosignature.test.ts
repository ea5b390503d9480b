import { readFileSync } from 'node:fs';
import { concatBytes, fromBase64, toHex, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { describe, expect, it } from 'vitest';
import { parseCheckpoint, signCheckpoint, verifyCheckpoint } from '../src/tlog-checkpoint.js';
import {
  cosignatureLines,
  cosignatureTimestamp,
  cosignatureV1Message,
  cosignCheckpoint,
  newCosignerKey,
  parseAnyVerifierKey,
  parseCosignerKey,
  parseCosignerSignerKey,
  parseLogKey,
  subtreeV1Message,
  verifyCosignatures,
} from '../src/tlog-cosignature.js';
import { newNoteKey, noteKeyId, openNote, parseNote } from '../src/tlog-note.js';

const V = JSON.parse(readFileSync(new URL('../../../testdata/c2sp/vectors.json', import.meta.url), 'utf8'));
const code = (c: string) => expect.objectContaining({ code: c });
const clock = (seconds: number) => () => new Date(seconds * 1000);

describe('cosignature/v1 (Ed25519) — interop vectors', () => {
  it('verifies a real witness cosignature (remora.n621.de) on a real checkpoint', async () => {
    const r = V.realCheckpoint;
    const remora = parseCosignerKey(r.cosignerVkey);
    expect(remora.type).toBe('cosignature/v1');
    expect(remora.keyId).toBe(0xda77ade7);
    const v = await verifyCosignatures(r.checkpoint, [r.cosignerVkey]);
    expect(v.cosignatures.map((c) => c.name)).toEqual(['remora.n621.de']);
    expect(v.invalid).toEqual([]);
    expect(v.cosignatures[0]?.timestamp).toBe(cosignatureTimestamp(v.cosignatures[0]!.signature.signature));
    // The same cosignature over a clobbered checkpoint fails.
    const clobbered = await verifyCosignatures(r.checkpoint.replace('1432088532', '1432088533'), [
      r.cosignerVkey,
    ]);
    expect(clobbered.cosignatures).toEqual([]);
    expect(clobbered.invalid.map((k) => k.name)).toEqual(['remora.n621.de']);
    // openNote with the log key and the witness key: both verify.
    const o = await openNote(r.checkpoint, [parseLogKey(r.logVkey), remora]);
    expect(o.verified.map((s) => s.verifier.name).sort()).toEqual([
      'arche2025h1.staging.ct.transparency.dev',
      'remora.n621.de',
    ]);
  });

  it('builds the signed message of the spec example byte for byte; reads its timestamp', () => {
    const note = parseNote(V.specExamples.cosignedCheckpoint);
    expect(new TextDecoder().decode(cosignatureV1Message(1679315147, note.text))).toBe(
      V.specExamples.cosignatureV1Message,
    );
    expect(cosignatureTimestamp(note.signatures[1]!.signature)).toBe(V.specExamples.cosignatureTimestamp);
    const t = V.transparencyDevKeys;
    expect(cosignatureTimestamp(fromBase64(t.timestampSignatureBase64).subarray(4))).toBe(t.timestamp);
    expect(cosignatureTimestamp(new Uint8Array(20))).toBeUndefined();
  });

  it('key IDs: 0x04 for cosigners; an Ed25519 0x01 vkey converts to its cosignature/v1 key', () => {
    const t = V.transparencyDevKeys;
    const conv = parseCosignerKey(t.ed25519VkeyForCosignature);
    expect(conv.type).toBe('cosignature/v1');
    expect(conv.keyId).toBe(noteKeyId('TEST', Uint8Array.of(4), conv.publicKey));
    expect(conv.keyId).not.toBe(0x7997405c);
    expect(parseAnyVerifierKey(t.ed25519VkeyForCosignature).type).toBe('Ed25519');
    expect(() => parseCosignerKey('rekor.sigstore.dev+12345678+AwEB')).toThrow(
      code('ledger.note.key-invalid'),
    );
    expect(() => parseCosignerKey(t.remoraVkey.replace('da77ade7', '00000000'))).toThrow(
      code('ledger.note.key-invalid'),
    );
  });
});

describe('subtree/v1 (ML-DSA-44)', () => {
  it('the transparency-dev ML-DSA-44 vkey: its text key ID is not SHA-256(name‖0x0A‖0x06‖key)[:4], so it is refused; with the computed ID it parses', () => {
    const vkey: string = V.transparencyDevKeys.mlDsa44CosignerVkey;
    // transparency-dev/formats ignores the key ID written in ML-DSA vkeys; signed-note says it MUST match.
    expect(() => parseCosignerKey(vkey)).toThrow(code('ledger.note.key-invalid'));
    const fixed = vkey.replace('test+5893dc2c+', 'test+31236897+');
    const v = parseCosignerKey(fixed);
    expect(v.type).toBe('subtree/v1');
    expect(v.name).toBe('test');
    expect(v.keyId).toBe(0x31236897);
    expect(v.keyId).toBe(noteKeyId('test', Uint8Array.of(6), v.publicKey));
    expect(v.publicKey).toHaveLength(1312);
    expect(v.vkey).toBe(fixed);
    expect(parseLogKey(fixed).type).toBe('subtree/v1');
  });

  it('cosigned_message layout: label, u8-prefixed names, big-endian u64s, hash', () => {
    const msg = subtreeV1Message('a', 0x0102_0304_0506_07, {
      origin: 'b',
      start: 0,
      end: 0x1718_191a_1b1c,
      hash: new Uint8Array(32).fill(0x42),
    });
    const u64 = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((h) => Number.parseInt(h, 16)));
    const expected = concatBytes(
      utf8('subtree/v1\n\0'),
      Uint8Array.of(1),
      utf8('a'),
      u64('0001020304050607'),
      Uint8Array.of(1),
      utf8('b'),
      u64('0000000000000000'),
      u64('000017181 91a1b1c'.replace(/ /g, '')),
      new Uint8Array(32).fill(0x42),
    );
    expect(toHex(msg)).toBe(toHex(expected));
    expect(() =>
      subtreeV1Message('a', 5, { origin: 'b', start: 4, end: 8, hash: new Uint8Array(32) }),
    ).toThrow(code('ledger.cosignature.invalid'));
    expect(() =>
      subtreeV1Message('a'.repeat(256), 0, { origin: 'b', start: 0, end: 8, hash: new Uint8Array(32) }),
    ).toThrow(code('ledger.cosignature.invalid'));
    expect(() =>
      subtreeV1Message('a', 0, { origin: '', start: 0, end: 8, hash: new Uint8Array(32) }),
    ).toThrow(code('ledger.cosignature.invalid'));
  });
});

describe('cosigning round trips', () => {
  const cp = { origin: 'op1.omt.example', size: 42, root: sha256(utf8('root')) };

  it.each(['Ed25519', 'ML-DSA-44'] as const)(
    '%s: cosign a signed checkpoint, verify, tamper',
    async (alg) => {
      const log = await newNoteKey('op1.omt.example', 'ML-DSA-65');
      const w = await newCosignerKey('op2.omt.example/witness', alg, { clock: clock(1_700_000_000) });
      const signed = await signCheckpoint(cp, [log.signer]);
      const cosigned = await cosignCheckpoint(signed, [w.signer]);
      expect(parseNote(cosigned).signatures).toHaveLength(2);
      const v = await verifyCosignatures(cosigned, [w.vkey]);
      expect(v.cosignatures).toHaveLength(1);
      expect(v.cosignatures[0]?.timestamp).toBe(1_700_000_000);
      expect((await verifyCheckpoint(cosigned, log.vkey)).checkpoint.size).toBe(42);
      // Cosigning again replaces the line (no duplicate).
      expect(parseNote(await cosignCheckpoint(cosigned, [w.signer])).signatures).toHaveLength(2);
      // Tampering: the size, the root, a signature byte, the timestamp.
      const swapped = cosigned.replace('\n42\n', '\n43\n');
      expect((await verifyCosignatures(swapped, [w.vkey])).invalid).toHaveLength(1);
      const note = parseNote(cosigned);
      const line = note.signatures[1]!;
      const sig = line.signature.slice();
      sig[7]! ^= 1; // timestamp
      const t1 = { text: note.text, signatures: [note.signatures[0]!, { ...line, signature: sig }] };
      expect((await verifyCosignatures(t1, [w.vkey])).invalid).toHaveLength(1);
      const sig2 = line.signature.slice();
      sig2[20]! ^= 1;
      expect(
        (
          await verifyCosignatures(
            { ...t1, signatures: [note.signatures[0]!, { ...line, signature: sig2 }] },
            [w.vkey],
          )
        ).invalid,
      ).toHaveLength(1);
      expect(
        (
          await verifyCosignatures(
            { ...t1, signatures: [note.signatures[0]!, { ...line, signature: sig.subarray(0, 40) }] },
            [w.vkey],
          )
        ).invalid,
      ).toHaveLength(1);
      // skey round trip.
      const again = await parseCosignerSignerKey(w.skey, { clock: clock(5) });
      expect(again.vkey).toBe(w.vkey);
      const lines = await cosignatureLines(parseNote(signed).text, [again]);
      expect(lines.startsWith('\u2014 op2.omt.example/witness ')).toBe(true);
      expect(
        (await verifyCosignatures(`${parseNote(signed).text}\n${lines}`, [w.verifier])).cosignatures[0]
          ?.timestamp,
      ).toBe(5);
    },
  );

  it('ML-DSA-44: the cosignature does not cover extension lines, commits to the cosigner name', async () => {
    const w = await newCosignerKey('w1', 'ML-DSA-44', { clock: clock(100) });
    const text = `op1.omt.example\n42\n${Buffer.from(cp.root).toString('base64')}\n`;
    const sig = await w.signer.sign(text);
    expect(await w.verifier.verify(`${text}ext\n`, sig)).toBe(true);
    expect(await w.verifier.verify(text.replace('42', '41'), sig)).toBe(false);
    // Same key under another name: different message, fails.
    const renamed = parseCosignerKey(
      w.vkey.replace(
        /^w1\+[0-9a-f]{8}/,
        `w2+${noteKeyId('w2', Uint8Array.of(6), w.verifier.publicKey).toString(16).padStart(8, '0')}`,
      ),
    );
    expect(await renamed.verify(text, sig)).toBe(false);
    // Ed25519 cosignatures do cover extension lines.
    const e = await newCosignerKey('w1', 'Ed25519', { clock: clock(100) });
    const esig = await e.signer.sign(text);
    expect(await e.verifier.verify(`${text}ext\n`, esig)).toBe(false);
  });

  it('ML-DSA-44 subtree signatures (start ≠ 0 → timestamp 0)', async () => {
    const w = await newCosignerKey('ca.example/c', 'ML-DSA-44');
    const st = { origin: 'log.example/origin', start: 8, end: 16, hash: new Uint8Array(32).fill(0x77) };
    const sig = await w.signer.signSubtree(st);
    expect(await w.verifier.verifySubtree(st, sig)).toBe(true);
    expect(await w.verifier.verifySubtree({ ...st, end: 17 }, sig)).toBe(false);
    expect(await w.verifier.verifySubtree({ ...st, hash: new Uint8Array(32) }, sig)).toBe(false);
    expect(await w.verifier.verifySubtree({ ...st, origin: 'other' }, sig)).toBe(false);
    await expect(w.signer.signSubtree(st, 12345)).rejects.toThrow(code('ledger.cosignature.invalid'));
    const ed = await newCosignerKey('w', 'Ed25519');
    await expect(ed.signer.signSubtree(st)).rejects.toThrow(code('ledger.cosignature.invalid'));
    expect(await ed.verifier.verifySubtree(st, sig)).toBe(false);
    // A checkpoint cosigner refuses to sign a size-0 tree (no subtree) and non-checkpoints.
    await expect(
      w.signer.sign(`x\n0\n${Buffer.from(new Uint8Array(32)).toString('base64')}\n`),
    ).rejects.toThrow(code('ledger.cosignature.invalid'));
    expect(parseCheckpoint(`x\n0\n${Buffer.from(new Uint8Array(32)).toString('base64')}\n`).size).toBe(0);
  });

  it('bad keys and skeys → ledger.note.key-invalid', async () => {
    const w = await newCosignerKey('w', 'Ed25519');
    await expect(parseCosignerSignerKey(w.skey.replace('PRIVATE', 'PUBLIC'))).rejects.toThrow(
      code('ledger.note.key-invalid'),
    );
    const log = await newNoteKey('w', 'ML-DSA-65');
    await expect(parseCosignerSignerKey(log.skey)).rejects.toThrow(code('ledger.note.key-invalid'));
    expect(() => parseCosignerKey(log.vkey)).toThrow(code('ledger.note.key-invalid'));
    expect(() => parseLogKey(w.vkey)).toThrow(code('ledger.note.key-invalid'));
    await expect(newCosignerKey('w', 'ML-DSA-65' as 'Ed25519')).rejects.toThrow(
      code('ledger.note.key-invalid'),
    );
    await expect(newCosignerKey('bad name', 'Ed25519')).rejects.toThrow(code('ledger.note.key-invalid'));
  });
});
