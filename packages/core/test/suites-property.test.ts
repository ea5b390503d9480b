import { isOmtError } from '@omt/core/errors';
import { getSuite, type SuiteId } from '@omt/core/suites';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Bounded runs: fast classical suites 15, ML-DSA/hybrid 5, SLH-DSA-128f 2.
const RUNS: [SuiteId, number][] = [
  ['Ed25519', 15],
  ['Ed448', 10],
  ['ES256', 15],
  ['ES384', 10],
  ['ES512', 10],
  ['ES256K', 15],
  ['ML-DSA-44', 5],
  ['ML-DSA-65', 5],
  ['ML-DSA-87', 5],
  ['ML-DSA-44+Ed25519', 5],
  ['ML-DSA-65+ES256', 5],
  ['SLH-DSA-SHA2-128f', 2],
  ['SLH-DSA-SHAKE-128f', 2],
];

const flip = (b: Uint8Array, bit: number): Uint8Array => {
  const out = b.slice();
  const i = (bit >> 3) % out.length;
  out[i] = (out[i] as number) ^ (1 << (bit & 7));
  return out;
};

/** Verification of a tampered input must never be true: false, or core.key.malformed for an unparsable key. */
async function neverTrue(p: Promise<boolean>): Promise<void> {
  try {
    expect(await p).toBe(false);
  } catch (e) {
    if (!isOmtError(e, 'core.key.malformed')) throw e;
  }
}

describe.each(RUNS)('%s properties', (id, numRuns) => {
  const suite = getSuite(id);
  it('sign → verify round trip; any single-bit flip of message, signature or public key fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: suite.seedSize as number, maxLength: suite.seedSize as number }),
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        async (seed, message, mBit, sBit, kBit) => {
          const kp = await suite.generateKeyPair({ seed });
          const sig = await suite.sign(kp.secretKey, message);
          expect(await suite.verify(kp.publicKey, message, sig)).toBe(true);
          const flippedMsg =
            message.length === 0 ? Uint8Array.of(0) : flip(message, mBit % (message.length * 8));
          await neverTrue(suite.verify(kp.publicKey, flippedMsg, sig));
          await neverTrue(suite.verify(kp.publicKey, message, flip(sig, sBit % (sig.length * 8))));
          await neverTrue(suite.verify(flip(kp.publicKey, kBit % (kp.publicKey.length * 8)), message, sig));
        },
      ),
      { numRuns },
    );
  }, 60_000);
});
