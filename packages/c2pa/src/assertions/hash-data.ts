import type { CborValue } from '@omt/core/cbor';
import type { ByteRange } from '../asset-handler.js';
import type { C2paHashAlg } from '../hash-alg.js';
import type { AssertionDraft } from './assertion.js';

/**
 * Builds a `c2pa.hash.data` assertion (C2PA 2.x §18.5). In the placeholder-then-patch flow the
 * first call uses a zero hash of the right length; the final one has the same size.
 *
 * @example
 * ```ts
 * buildDataHashAssertion({ alg: 'sha256', hash: digest, exclusions: [{ start: 20, length: 9000 }] });
 * ```
 */
export function buildDataHashAssertion(input: {
  readonly alg: C2paHashAlg;
  readonly hash: Uint8Array;
  readonly exclusions: readonly ByteRange[];
  readonly name?: string;
  readonly pad?: Uint8Array;
}): AssertionDraft {
  const value = new Map<string, CborValue>([
    [
      'exclusions',
      input.exclusions.map(
        (e) =>
          new Map<string, CborValue>([
            ['start', e.start],
            ['length', e.length],
          ]),
      ),
    ],
    ['name', input.name ?? 'jumbf manifest'],
    ['alg', input.alg],
    ['hash', input.hash],
    ['pad', input.pad ?? new Uint8Array(0)],
  ]);
  return { label: 'c2pa.hash.data', kind: 'cbor', value };
}
