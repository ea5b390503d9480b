/**
 * Internal pieces shared by the two ways of assembling a signed manifest store — the byte-array
 * builder (`builder.ts`) and the streaming signer (`sign-stream.ts`). Not a public export.
 */
import { isBytes, toHex } from '@omt/core/bytes';
import type { CborValue } from '@omt/core/cbor';
import { isOmtError, OmtError } from '@omt/core/errors';
import type { RandomSource } from '@omt/core/random';
import type { ByteRange } from './asset-handler.js';
import type { ClaimSigner } from './builder.js';

/** An RFC 9562 version-4 UUID from the injectable random source (manifest labels, instance ids). */
export function uuidV4(random: RandomSource): string {
  const b = random(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Whether two exclusion-range lists are the same (the layout has settled). */
export function sameRanges(a: readonly ByteRange[], b: readonly ByteRange[]): boolean {
  return a.length === b.length && a.every((r, i) => r.start === b[i]?.start && r.length === b[i]?.length);
}

/** Calls the caller's claim signer, turning its failures and bad results into `c2pa.signature.failed`. */
export async function callSigner(signer: ClaimSigner, claim: Uint8Array): Promise<Uint8Array> {
  let out: unknown;
  try {
    out = await signer(claim.slice());
  } catch (e) {
    if (isOmtError(e)) throw e;
    throw new OmtError('c2pa.signature.failed', 'the claim signer failed', { cause: e });
  }
  if (!(out instanceof Uint8Array) || out.length === 0)
    throw new OmtError('c2pa.signature.failed', 'the claim signer must return COSE_Sign1 bytes');
  return out;
}

/** JSON → CBOR value: objects become maps (CBOR assertions are maps, C2PA §6.3). */
export function jsonToCbor(v: unknown, depth = 0): CborValue {
  if (depth > 64) throw new OmtError('c2pa.input.invalid', 'assertion data nests too deeply');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v))
      throw new OmtError('c2pa.input.invalid', 'assertion data has a non-finite number');
    return v;
  }
  if (isBytes(v)) return v;
  if (Array.isArray(v)) return v.map((x) => jsonToCbor(x, depth + 1));
  if (typeof v === 'object') {
    return new Map(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonToCbor(x, depth + 1)]),
    );
  }
  throw new OmtError('c2pa.input.invalid', `unsupported assertion value of type ${typeof v}`);
}
