import { type CborValue, encodeCbor } from '@omt/core/cbor';
import { OmtError } from '@omt/core/errors';
import type { HashedUri } from './manifest-store.js';

/**
 * Writes a claim v2 (C2PA 2.x §10.2, label `c2pa.claim.v2`) as deterministic CBOR.
 */

/** Fields of a v2 claim to write. */
export interface ClaimV2Init {
  /** `instanceID` of the asset (e.g. `xmp:iid:<uuid>`). */
  readonly instanceId: string;
  /** `claim_generator_info`: at least a name. */
  readonly claimGeneratorInfo: { readonly name: string; readonly version?: string };
  readonly title?: string;
  readonly createdAssertions: readonly HashedUri[];
  readonly gatheredAssertions?: readonly HashedUri[];
  readonly redactedAssertions?: readonly string[];
  /** Default hash algorithm of the hashed URIs (default `sha256`). */
  readonly alg?: string;
}

/** The JUMBF URI of the claim signature, relative to its manifest (§10.2). */
export const CLAIM_SIGNATURE_URI = 'self#jumbf=c2pa.signature';

function uri(u: HashedUri): Map<string, CborValue> {
  const m = new Map<string, CborValue>([
    ['url', u.url],
    ['hash', u.hash],
  ]);
  if (u.alg !== undefined) m.set('alg', u.alg);
  return m;
}

/**
 * Encodes a v2 claim.
 *
 * @example
 * ```ts
 * const bytes = encodeClaimV2({ instanceId: 'xmp:iid:…', claimGeneratorInfo: { name: 'omt' }, createdAssertions: uris });
 * ```
 */
export function encodeClaimV2(init: ClaimV2Init): Uint8Array {
  if (!init.instanceId || !init.claimGeneratorInfo?.name || init.createdAssertions.length === 0) {
    throw new OmtError(
      'core.input.invalid',
      'a v2 claim needs instanceId, claimGeneratorInfo.name and at least one created assertion',
    );
  }
  const info = new Map<string, CborValue>([['name', init.claimGeneratorInfo.name]]);
  if (init.claimGeneratorInfo.version !== undefined) info.set('version', init.claimGeneratorInfo.version);
  const m = new Map<string, CborValue>([
    ['instanceID', init.instanceId],
    ['claim_generator_info', info],
    ['signature', CLAIM_SIGNATURE_URI],
    ['created_assertions', init.createdAssertions.map(uri)],
  ]);
  if (init.title !== undefined) m.set('dc:title', init.title);
  if (init.gatheredAssertions !== undefined && init.gatheredAssertions.length > 0)
    m.set('gathered_assertions', init.gatheredAssertions.map(uri));
  if (init.redactedAssertions !== undefined && init.redactedAssertions.length > 0)
    m.set('redacted_assertions', [...init.redactedAssertions]);
  m.set('alg', init.alg ?? 'sha256');
  return encodeCbor(m);
}
