/** Injectable randomness and time (ARCHITECTURE rule 5). */

/** Returns `length` cryptographically random bytes. */
export type RandomSource = (length: number) => Uint8Array;

/** A clock returning the current time; tests inject a fixed one. */
export type Clock = () => Date;

/** The platform CSPRNG (`crypto.getRandomValues`, chunked to its 64 KiB limit). */
export const platformRandom: RandomSource = (length: number): Uint8Array => {
  const out = new Uint8Array(length);
  for (let o = 0; o < length; o += 65536)
    globalThis.crypto.getRandomValues(out.subarray(o, Math.min(length, o + 65536)));
  return out;
};

/** The platform clock. */
export const systemClock: Clock = (): Date => new Date();
