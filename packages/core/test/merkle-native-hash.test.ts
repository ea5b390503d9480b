// hashLeaf/hashChildren take node:crypto's one-shot SHA-256 in Node; the portable (noble) path
// runs in browsers. Both must give the same bytes.
import { sha256 } from '@noble/hashes/sha2.js';
import { hashChildren, hashLeaf } from '@omt/core/merkle';
import fc from 'fast-check';
import { expect, it } from 'vitest';

it('RFC 9162 leaf and node hashes equal the portable SHA-256 of the prefixed input', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2048 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (data, right) => {
        const leaf = hashLeaf(data);
        expect(leaf).toEqual(sha256(Uint8Array.of(0, ...data)));
        expect(hashChildren(leaf, right)).toEqual(sha256(Uint8Array.of(1, ...leaf, ...right)));
        // Fresh, unshared bytes (not a view into a pooled buffer).
        expect(leaf.byteLength).toBe(32);
        expect(leaf.buffer.byteLength).toBe(32);
      },
    ),
    { numRuns: 200 },
  );
});
