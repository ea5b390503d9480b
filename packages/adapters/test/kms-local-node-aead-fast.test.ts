// nodeAead's shortcuts: raw data keys in place of KeyObjects, HMAC on one-shot hashing inside HKDF
// (with the Hmac-object fallback for long inputs), SHA-256 read back as text — same bytes as the
// plain node:crypto calls.
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { nodeAead } from '@omt/adapters/kms-local';
import { describe, expect, it } from 'vitest';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('nodeAead shortcuts', () => {
  it('accepts raw keys: same bytes as with an imported key, and keeps no reference to them', () => {
    expect(nodeAead.acceptsRawKeys).toBe(true);
    const { sealDetached, openDetached } = nodeAead;
    if (sealDetached === undefined || openDetached === undefined) throw new Error('detached calls expected');
    for (const n of [0, 1, 32, 1024, 70_000]) {
      const raw = new Uint8Array(randomBytes(32));
      const imported = nodeAead.importKey(raw) as object;
      const iv = randomBytes(12);
      const aad = randomBytes(45);
      const pt = randomBytes(n);
      const a = nodeAead.seal(imported, iv, aad, pt) as Uint8Array;
      const b = nodeAead.seal(raw, iv, aad, pt) as Uint8Array;
      expect(hex(b)).toBe(hex(a));
      const [ct, tag] = sealDetached(raw, iv, aad, pt) as readonly [Uint8Array, Uint8Array];
      expect(hex(ct) + hex(tag)).toBe(hex(a));
      expect(hex(nodeAead.open(raw, iv, aad, a) as Uint8Array)).toBe(hex(pt));
      // Wiping the caller's bytes after the call changes nothing already done…
      const copy = raw.slice();
      raw.fill(0);
      expect(hex(openDetached(copy, iv, aad, ct, tag) as Uint8Array)).toBe(hex(pt));
      // …and the wiped bytes are a different key.
      expect(() => nodeAead.open(raw, iv, aad, a)).toThrow();
    }
  });

  it('HKDF-SHA-512 equals hkdfSync also for salts past a SHA-512 block and inputs past its scratch', () => {
    const cases: [number, number, number, number][] = [
      [32, 32, 17, 64], // the envelope derivation
      [32, 0, 0, 64], // empty salt: 64 zero bytes
      [32, 128, 5, 64], // salt of exactly one block
      [32, 129, 5, 64], // salt hashed first (RFC 2104)
      [33, 300, 40, 200], // several expand blocks
      [2000, 32, 17, 64], // an extract input that does not fit the scratch: Hmac object
      [32, 32, 1000, 130], // an expand input that does not fit the scratch
    ];
    for (const [ikmLen, saltLen, infoLen, length] of cases) {
      const ikm = randomBytes(ikmLen);
      const salt = randomBytes(saltLen);
      const info = randomBytes(infoLen);
      expect(
        hex(nodeAead.hkdfSha512(ikm, salt, info, length)),
        `${ikmLen}/${saltLen}/${infoLen}/${length}`,
      ).toBe(hex(new Uint8Array(hkdfSync('sha512', ikm, salt, info, length))));
    }
  });

  it('SHA-256 is SHA-256 (a fresh 32-byte array each call)', () => {
    const sha256 = nodeAead.sha256;
    if (sha256 === undefined) throw new Error('sha256 expected');
    for (const n of [0, 1, 55, 64, 1000]) {
      const data = randomBytes(n);
      const a = sha256(data);
      expect(hex(a)).toBe(createHash('sha256').update(data).digest('hex'));
      expect(a).toBeInstanceOf(Uint8Array);
      expect(a.length).toBe(32);
      expect(sha256(data)).not.toBe(a);
    }
  });
});
