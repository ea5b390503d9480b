import { hkdfSync, randomBytes } from 'node:crypto';
import { nodeAead } from '@omt/adapters/kms-local';
import { webCryptoAead } from '@omt/kms/aead-web';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('nodeAead.hkdfSha512 (HMAC-based RFC 5869)', () => {
  it('matches node:crypto hkdfSync and the portable engine for any salt, info and length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.uint8Array({ maxLength: 140 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 0, max: 300 }),
        (ikm, salt, info, length) => {
          const ours = nodeAead.hkdfSha512(ikm, salt, info, length);
          expect(ours.length).toBe(length);
          expect(hex(ours)).toBe(hex(new Uint8Array(hkdfSync('sha512', ikm, salt, info, length))));
          if (length > 0) expect(hex(ours)).toBe(hex(webCryptoAead.hkdfSha512(ikm, salt, info, length)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic and input-sensitive at the 64 bytes envelopes derive', () => {
    const ikm = randomBytes(32);
    const salt = randomBytes(32);
    const info = new TextEncoder().encode('OMT-KMS/1 suite 1');
    const a = nodeAead.hkdfSha512(ikm, salt, info, 64);
    expect(hex(nodeAead.hkdfSha512(ikm, salt, info, 64))).toBe(hex(a));
    salt[0] = (salt[0] as number) ^ 1;
    expect(hex(nodeAead.hkdfSha512(ikm, salt, info, 64))).not.toBe(hex(a));
  });
});
