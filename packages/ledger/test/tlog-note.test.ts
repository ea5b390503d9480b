import { readFileSync } from 'node:fs';
import { fromBase64, toHex, utf8 } from '@omt/core/bytes';
import { getSuite } from '@omt/core/suites';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  formatNote,
  formatVerifierKey,
  isValidKeyName,
  NOTE_MAX_SIGNATURES,
  newNoteKey,
  noteKeyId,
  noteTypeBytes,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifyNoteSignatures,
} from '../src/tlog-note.js';

const V = JSON.parse(readFileSync(new URL('../../../testdata/c2sp/vectors.json', import.meta.url), 'utf8'));
const X = V.xmodNote;
const code = (c: string) => expect.objectContaining({ code: c });

describe('signed-note spec example (c2sp.org/signed-note)', () => {
  it('parses the vkey: name, key ID, Ed25519 public key; key ID = SHA-256(name‖0x0A‖0x01‖key)[:4]', () => {
    const v = parseVerifierKey(V.signedNote.vkey);
    expect(v.name).toBe('example.com/foo');
    expect(v.keyId).toBe(0x530d903a);
    expect(v.type).toBe('Ed25519');
    expect(toHex(v.publicKey)).toBe(V.signedNote.publicKeyHex);
    expect(noteKeyId('example.com/foo', Uint8Array.of(1), v.publicKey)).toBe(0x530d903a);
    expect(v.vkey).toBe(V.signedNote.vkey);
    expect(formatVerifierKey('example.com/foo', Uint8Array.of(1), v.publicKey)).toBe(V.signedNote.vkey);
  });

  it('verifies the example note', async () => {
    const opened = await openNote(V.signedNote.note, [parseVerifierKey(V.signedNote.vkey)]);
    expect(opened.text).toBe('This is an example message.\n');
    expect(opened.verified).toHaveLength(1);
    await expect(
      openNote(V.signedNote.note.replace('message', 'massage'), [parseVerifierKey(V.signedNote.vkey)]),
    ).rejects.toThrow(code('ledger.note.signature-invalid'));
  });
});

describe('golang.org/x/mod sumdb/note vectors', () => {
  it('signs byte-exactly like x/mod (Ed25519 is deterministic)', async () => {
    const signer = await parseSignerKey(X.peterSkey);
    expect(signer.vkey).toBe(X.peterVkey);
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(await signNote(X.text, [signer])).toBe(X.peterSigned);
    // An existing line of the same key is replaced, not duplicated.
    expect(await signNote(parseNote(X.peterSigned), [signer])).toBe(X.peterSigned);
  });

  it('Open: one known + one unknown signature; both known; none known', async () => {
    const peter = parseVerifierKey(X.peterVkey);
    const enoch = parseVerifierKey(X.enochVkey);
    const msg = `${X.text}\n${X.peterSig}${X.enochSig}`;
    const one = await openNote(msg, [peter]);
    expect(one.text).toBe(X.text);
    expect(one.verified.map((s) => s.verifier.name)).toEqual(['PeterNeumann']);
    expect(one.unknown.map((s) => s.name)).toEqual(['EnochRoot']);
    const both = await openNote(msg, [peter, enoch]);
    expect(both.verified.map((s) => s.signature.keyId)).toEqual([0xc74f20a3, 0xaf0cfe78]);
    await expect(openNote(msg, [])).rejects.toThrow(code('ledger.note.unverified'));
    const data = await verifyNoteSignatures(msg, []);
    expect(data.unknown).toHaveLength(2);
  });

  it('a corrupted known signature rejects the note; an unknown corrupted one is ignored', async () => {
    const peter = parseVerifierKey(X.peterVkey);
    const bad = `${X.peterSig.slice(0, 60)}ABCD${X.peterSig.slice(60)}`;
    await expect(openNote(`${X.text}\n${bad}`, [peter])).rejects.toThrow(
      code('ledger.note.signature-invalid'),
    );
    const enochBad = `${X.enochSig.slice(0, 60)}ABCD${X.enochSig.slice(60)}`;
    const n = await openNote(`${X.text}\n${X.peterSig}${X.peterSig}${X.enochSig}${X.enochSig}${enochBad}`, [
      peter,
    ]);
    expect(n.verified).toHaveLength(1);
    expect(n.unknown).toHaveLength(2); // repeated identical unknown lines are dropped
  });

  it('too many signatures and malformed messages → ledger.note.malformed', async () => {
    const peter = parseVerifierKey(X.peterVkey);
    expect(() => parseNote(`${X.text}\n${X.peterSig.repeat(NOTE_MAX_SIGNATURES + 1)}`)).toThrow(
      code('ledger.note.malformed'),
    );
    const bad = [
      X.text,
      `${X.text}\n`,
      `${X.text}\n${X.peterSig.slice(0, -1)}`,
      `\x01${X.text}\n${X.peterSig}`,
      `${X.text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${X.text}\n${X.peterSig}Unexpected line.\n`,
      `${X.text}\n— PeterNeumann AAAA\n`, // fewer than 5 bytes
      `${X.text}\n— PeterNeumann\n`,
      `${X.text}\n— Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
    ];
    for (const m of bad) await expect(openNote(m, [peter])).rejects.toThrow(code('ledger.note.malformed'));
    // Invalid UTF-8 as bytes.
    const bytes = utf8(`${X.text}\n${X.peterSig}`);
    const withFF = new Uint8Array([0xff, ...bytes]);
    expect(() => parseNote(withFF)).toThrow(code('ledger.note.malformed'));
    expect(parseNote(bytes).text).toBe(X.text);
    // A lone surrogate in a string.
    expect(() => parseNote(`\ud800${X.text}\n${X.peterSig}`)).toThrow(code('ledger.note.malformed'));
    // Over 1 MiB.
    expect(() => parseNote(`${'a'.repeat(1024 * 1024)}\n\n${X.peterSig}`)).toThrow(
      code('ledger.note.malformed'),
    );
    expect(() => parseNote(42 as unknown as string)).toThrow(code('ledger.note.malformed'));
  });

  it('rejects mangled vkeys (every substring and every byte bump, as x/mod TestNewVerifier)', () => {
    expect(() => parseVerifierKey(X.peterVkey)).not.toThrow();
    const vkey: string = X.peterVkey;
    for (let i = 0; i < vkey.length; i += 3) {
      for (let j = i + 1; j <= vkey.length; j += 5) {
        if (i === 0 && j === vkey.length) continue;
        expect(() => parseVerifierKey(vkey.slice(i, j))).toThrow(code('ledger.note.key-invalid'));
      }
    }
    for (let i = 0; i < vkey.length; i++) {
      const c = vkey.charCodeAt(i);
      const bumped = vkey.slice(0, i) + String.fromCharCode(c + 1) + vkey.slice(i + 1);
      // Bumping a name character changes the key ID check; bumping base64 changes the key or its padding.
      expect(() => parseVerifierKey(bumped)).toThrow(code('ledger.note.key-invalid'));
    }
    for (const k of X.badVkeys) expect(() => parseVerifierKey(k)).toThrow(code('ledger.note.key-invalid'));
  });

  it('rejects mangled skeys', async () => {
    const skey: string = X.peterSkey;
    for (let i = 0; i < skey.length; i++) {
      const c = skey.charCodeAt(i);
      const bumped = skey.slice(0, i) + String.fromCharCode(c + 1) + skey.slice(i + 1);
      await expect(parseSignerKey(bumped)).rejects.toThrow(code('ledger.note.key-invalid'));
    }
    await expect(parseSignerKey(skey.slice(0, -4))).rejects.toThrow(code('ledger.note.key-invalid'));
  });
});

describe('key names', () => {
  it('no Unicode white space, no plus, not empty', () => {
    expect(isValidKeyName('example.com/log42')).toBe(true);
    expect(isValidKeyName('oid/1.3.6.1.4.1')).toBe(true);
    expect(isValidKeyName('naïve')).toBe(true);
    for (const bad of [
      '',
      'a b',
      'a+b',
      'a\u00a0b',
      'a\u2003b',
      'a\u3000b',
      'a\u0085b',
      'a\tb',
      'a\nb',
      '\ud800',
    ])
      expect(isValidKeyName(bad)).toBe(false);
  });
});

describe('ML-DSA note keys (OpenMediaTrust types 0xff ‖ "omt/ML-DSA-nn/v1\\n")', () => {
  it('type bytes and round trip for ML-DSA-44/65/87 and Ed25519', async () => {
    expect(toHex(noteTypeBytes('ML-DSA-65'))).toBe(`ff${toHex(utf8('omt/ML-DSA-65/v1\n'))}`);
    expect(toHex(noteTypeBytes('Ed25519'))).toBe('01');
    for (const alg of ['Ed25519', 'ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as const) {
      const k = await newNoteKey('op1.omt.example', alg, { seed: new Uint8Array(32).fill(7) });
      expect(parseVerifierKey(k.vkey).vkey).toBe(k.vkey);
      expect(parseVerifierKey(k.vkey).type).toBe(alg);
      const s = await parseSignerKey(k.skey);
      expect(s.keyId).toBe(k.verifier.keyId);
      const signed = await signNote('hello\nworld\n', [s]);
      const o = await openNote(signed, [parseVerifierKey(k.vkey)]);
      expect(o.text).toBe('hello\nworld\n');
      // A key of another algorithm with the same seed has another key ID: its signature is unknown.
      await expect(openNote(signed, [(await newNoteKey('other', alg)).verifier])).rejects.toThrow(
        code('ledger.note.unverified'),
      );
    }
  });

  it('property: signNote/parseNote/formatNote round trip; any tampering with text or signature fails', async () => {
    const k = await newNoteKey('log.example', 'Ed25519', { seed: new Uint8Array(32).fill(1) });
    const textArb = fc
      .array(
        fc
          .string({ unit: 'grapheme', maxLength: 30 })
          .map((s) => [...s].filter((c) => c.charCodeAt(0) >= 0x20).join('')),
        {
          minLength: 1,
          maxLength: 6,
        },
      )
      .map((lines) => `${lines.join('\n')}\n`);
    await fc.assert(
      fc.asyncProperty(textArb, fc.nat(), async (text, pick) => {
        const signed = await signNote(text, [k.signer]);
        const note = parseNote(signed);
        expect(note.text).toBe(text);
        expect(formatNote(note)).toBe(signed);
        expect((await openNote(signed, [k.verifier])).text).toBe(text);
        // Flip one bit of the signature.
        const sig = note.signatures[0]!;
        const raw = fromBase64(sig.base64);
        raw[4 + (pick % (raw.length - 4))]! ^= 1;
        const forged = formatNote({ text, signatures: [{ ...sig, signature: raw.subarray(4) }] });
        await expect(openNote(forged, [k.verifier])).rejects.toThrow(code('ledger.note.signature-invalid'));
        // Change the text.
        await expect(
          openNote(formatNote({ text: `x${text}`, signatures: note.signatures }), [k.verifier]),
        ).rejects.toThrow(code('ledger.note.signature-invalid'));
      }),
      { numRuns: 60 },
    );
  });

  it('two different keys with the same name and key ID are refused', async () => {
    const a = await newNoteKey('k', 'Ed25519');
    const fake = { ...a.verifier, vkey: `${a.vkey}x`, verify: async () => true };
    await expect(verifyNoteSignatures(await signNote('t\n', [a.signer]), [a.verifier, fake])).rejects.toThrow(
      code('ledger.note.key-invalid'),
    );
  });
});

describe('verified-signature memo', () => {
  it('checks each (key, text, signature) once, trusts signatures this process made, never remembers failures', async () => {
    const { vkey, signer } = await newNoteKey('memo.test', 'ML-DSA-44');
    const seed = new Uint8Array(32).fill(7);
    const other = await newNoteKey('memo2.test', 'ML-DSA-44', { seed });
    const suite = getSuite('ML-DSA-44');
    const spy = vi.spyOn(suite, 'verify');
    try {
      const verifier = parseVerifierKey(vkey);
      // A signature made by this process's signer: valid by construction, no check.
      const own = await signer.sign('own text\n');
      expect(await verifier.verify('own text\n', own)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(0);
      // A signature made elsewhere (straight from the suite): checked once, then remembered.
      const sk = (await suite.generateKeyPair({ seed })).secretKey;
      const foreign = await suite.sign(sk, utf8('foreign text\n'));
      const v2 = parseVerifierKey(other.vkey);
      expect(await v2.verify('foreign text\n', foreign)).toBe(true);
      expect(await v2.verify('foreign text\n', foreign)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1);
      // The same signature over another text, or a flipped bit: refused, and checked every time.
      expect(await v2.verify('other text\n', foreign)).toBe(false);
      const bad = foreign.slice();
      bad[10] = (bad[10] as number) ^ 1;
      expect(await v2.verify('foreign text\n', bad)).toBe(false);
      expect(await v2.verify('foreign text\n', bad)).toBe(false);
      expect(spy).toHaveBeenCalledTimes(4);
      // Another key never matches a remembered signature.
      expect(await verifier.verify('foreign text\n', foreign)).toBe(false);
      expect(spy).toHaveBeenCalledTimes(5);
    } finally {
      spy.mockRestore();
    }
  });
});
