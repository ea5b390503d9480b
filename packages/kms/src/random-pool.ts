/**
 * A buffered {@link RandomSource}: it draws a block (4 KiB) from the platform CSPRNG at a time and
 * hands out slices of it, zeroing each slice in the block as it goes. One `getRandomValues` call
 * costs far more than the bytes it returns, and the warm encrypt path draws 88 bytes per envelope
 * (Node's own `randomUUID` pools its entropy for the same reason). Requests of more than a quarter
 * block go to the source directly. Only the platform default is pooled (`createKms`): an injected
 * source is used as given.
 */
import { OmtError } from '@omt/core/errors';
import { platformRandom, type RandomSource } from '@omt/core/random';

/**
 * @example
 * ```ts
 * const random = pooledRandom(); // platformRandom, 4 KiB at a time
 * const nonce = random(12);
 * ```
 */
export function pooledRandom(source: RandomSource = platformRandom, blockSize = 4096): RandomSource {
  if (!Number.isInteger(blockSize) || blockSize < 64 || blockSize > 65536) {
    throw new OmtError('kms.input.invalid', 'blockSize must be an integer in 64..65536');
  }
  const direct = blockSize >> 2;
  let block: Uint8Array = new Uint8Array(0);
  let off = 0;
  return (length: number): Uint8Array => {
    if (length > direct) return source(length);
    if (block.length - off < length) {
      block.fill(0);
      block = source(blockSize);
      if (!(block instanceof Uint8Array) || block.length !== blockSize) {
        throw new OmtError('kms.input.invalid', 'the random source returned the wrong number of bytes');
      }
      off = 0;
    }
    const out = block.slice(off, off + length);
    block.fill(0, off, off + length);
    off += length;
    return out;
  };
}
