import { readFileSync } from 'node:fs';
import { fromBase64, toBase64, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from '../src/tlog-checkpoint.js';
import { newNoteKey, parseNote, parseVerifierKey } from '../src/tlog-note.js';

const V = JSON.parse(readFileSync(new URL('../../../testdata/c2sp/vectors.json', import.meta.url), 'utf8'));
const code = (c: string) => expect.objectContaining({ code: c });

describe('tlog-checkpoint', () => {
  it('parses the spec example and formats it back byte for byte', () => {
    const note = parseNote(V.specExamples.checkpoint);
    const cp = parseCheckpoint(note.text);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(toBase64(cp.root)).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(cp.extensions).toEqual([]);
    expect(formatCheckpoint(cp)).toBe(note.text);
  });

  it('verifies a real checkpoint of a transparency-dev log (Ed25519 log key, unknown signatures ignored)', async () => {
    const r = V.realCheckpoint;
    const signed = await verifyCheckpoint(r.checkpoint, r.logVkey);
    expect(signed.checkpoint.origin).toBe('arche2025h1.staging.ct.transparency.dev');
    expect(signed.checkpoint.size).toBe(1432088532);
    expect(signed.log.verified).toHaveLength(1);
    expect(signed.log.unknown.length).toBeGreaterThanOrEqual(5); // RFC 6962 signature and witness cosignatures
    expect(signed.text).toBe(r.checkpoint);
    // As bytes too.
    expect((await verifyCheckpoint(utf8(r.checkpoint), r.logVkey)).text).toBe(r.checkpoint);
    // Clobbered size: the log signature fails.
    await expect(verifyCheckpoint(r.checkpoint.replace('1432088532', '42'), r.logVkey)).rejects.toThrow(
      code('ledger.note.signature-invalid'),
    );
    // A key of another name is not a log key for this origin.
    await expect(verifyCheckpoint(r.checkpoint, V.signedNote.vkey)).rejects.toThrow(
      code('ledger.checkpoint.origin-mismatch'),
    );
  });

  it('sign → verify round trip with ML-DSA-65 and Ed25519 log keys, extension lines included', async () => {
    for (const alg of ['ML-DSA-65', 'Ed25519'] as const) {
      const k = await newNoteKey('op1.omt.example', alg);
      const cp = { origin: 'op1.omt.example', size: 7, root: sha256(utf8('x')), extensions: ['ext one'] };
      const text = await signCheckpoint(cp, [k.signer]);
      const v = await verifyCheckpoint(text, k.vkey);
      expect(v.checkpoint).toEqual(cp);
      await expect(verifyCheckpoint(text.replace('ext one', 'ext two'), k.vkey)).rejects.toThrow(
        code('ledger.note.signature-invalid'),
      );
      const other = await newNoteKey('op1.omt.example', alg);
      await expect(verifyCheckpoint(text, other.vkey)).rejects.toThrow(code('ledger.note.unverified'));
    }
    const k = await newNoteKey('op1.omt.example', 'Ed25519');
    await expect(
      signCheckpoint({ origin: 'other', size: 0, root: new Uint8Array(32) }, [k.signer]),
    ).rejects.toThrow(code('ledger.checkpoint.origin-mismatch'));
  });

  it('malformed bodies → ledger.checkpoint.malformed (transparency-dev cases and spec rules)', () => {
    const root = toBase64(new Uint8Array(32));
    const bad = [
      'Head\n9944\n',
      `\n9944\n${root}\n`,
      `Log\n123\n${root}`,
      `Log\nbananas\n${root}\n`,
      `Log\n-34\n${root}\n`,
      `Log\n3438945738945739845734895735\n${root}\n`,
      `Log\n9007199254740992\n${root}\n`, // 2^53: beyond safe integers
      `Log\n0123\n${root}\n`, // leading zero
      "Log\n123\nThisIsn'tBase64\n",
      'Log\n123\nYmFuYW5hcw==\n', // 7 bytes: not a SHA-256 root
      `Log\n123\n${root}\next\n\n`, // empty extension line
    ];
    for (const b of bad) expect(() => parseCheckpoint(b)).toThrow(code('ledger.checkpoint.malformed'));
    expect(parseCheckpoint(`Log\n0\n${root}\n`).size).toBe(0);
    expect(parseCheckpoint(`Log\n9007199254740991\n${root}\nlots\nof\nlines\n`).extensions).toEqual([
      'lots',
      'of',
      'lines',
    ]);
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root: new Uint8Array(32) })).toThrow(
      code('ledger.checkpoint.malformed'),
    );
    expect(() => formatCheckpoint({ origin: 'a', size: -1, root: new Uint8Array(32) })).toThrow(
      code('ledger.checkpoint.malformed'),
    );
    expect(() => formatCheckpoint({ origin: 'a', size: 1, root: new Uint8Array(31) })).toThrow(
      code('ledger.checkpoint.malformed'),
    );
  });

  it('property: format/parse round trip', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9./-]{1,40}$/),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.stringMatching(/^[ -~]{1,20}$/), { maxLength: 3 }),
        (origin, size, root, extensions) => {
          const cp = { origin, size, root, extensions };
          expect(parseCheckpoint(formatCheckpoint(cp))).toEqual(cp);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the real log key parses as an Ed25519 vkey', () => {
    const v = parseVerifierKey(V.realCheckpoint.logVkey);
    expect(v.type).toBe('Ed25519');
    expect(v.publicKey).toHaveLength(32);
    expect(fromBase64(V.realCheckpoint.logVkey.slice(v.name.length + 10))).toHaveLength(33);
  });
});
