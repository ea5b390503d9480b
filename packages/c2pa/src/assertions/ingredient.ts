import type { CborValue } from '@omt/core/cbor';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import type { AssertionDraft } from './assertion.js';

/**
 * `c2pa.ingredient.v3` (C2PA 2.x §18.7): an asset used to make this one. When the ingredient has
 * its own manifest, `activeManifest` and `claimSignature` are hashed URIs into the ingredient's
 * manifest, which the builder copies into this store (§18.7.3).
 */

const HashedUriSchema = z.strictObject({
  url: z.string().check(z.minLength(1)),
  hash: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
  alg: z.optional(z.string()),
});

type UriInput = { readonly url: string; readonly hash: Uint8Array; readonly alg?: string };

/** Input of {@link buildIngredientAssertion}. */
export interface IngredientInput {
  readonly title: string;
  readonly format: string;
  readonly relationship: 'parentOf' | 'componentOf' | 'inputTo';
  readonly instanceId?: string;
  readonly description?: string;
  readonly activeManifest?: UriInput;
  readonly claimSignature?: UriInput;
  readonly thumbnail?: UriInput;
  /** `validationResults` as the ingredient's validation produced them (§18.7.2), passed through. */
  readonly validationResults?: CborValue;
}

const IngredientSchema = z.strictObject({
  title: z.string().check(z.minLength(1), z.maxLength(1024)),
  format: z.string().check(z.minLength(1), z.maxLength(200)),
  relationship: z.enum(['parentOf', 'componentOf', 'inputTo']),
  instanceId: z.optional(z.string().check(z.maxLength(1024))),
  description: z.optional(z.string()),
  activeManifest: z.optional(HashedUriSchema),
  claimSignature: z.optional(HashedUriSchema),
  thumbnail: z.optional(HashedUriSchema),
  validationResults: z.optional(z.custom<CborValue>((v) => v !== undefined)),
});

function uri(u: { url: string; hash: Uint8Array; alg?: string | undefined }): Map<string, CborValue> {
  const m = new Map<string, CborValue>([
    ['url', u.url],
    ['hash', u.hash],
  ]);
  if (u.alg !== undefined) m.set('alg', u.alg);
  return m;
}

/**
 * Builds a `c2pa.ingredient.v3` assertion; `instance` > 0 gives the label `c2pa.ingredient.v3__N`.
 *
 * @example
 * ```ts
 * buildIngredientAssertion({ title: 'A.jpg', format: 'image/jpeg', relationship: 'parentOf' });
 * ```
 */
export function buildIngredientAssertion(input: IngredientInput, instance = 0): AssertionDraft {
  const v = parseInput(IngredientSchema, input, 'core.input.invalid', 'c2pa.ingredient.v3');
  const m = new Map<string, CborValue>([
    ['dc:title', v.title],
    ['dc:format', v.format],
    ['relationship', v.relationship],
  ]);
  if (v.instanceId !== undefined) m.set('instanceID', v.instanceId);
  if (v.description !== undefined) m.set('description', v.description);
  if (v.activeManifest !== undefined) m.set('activeManifest', uri(v.activeManifest));
  if (v.claimSignature !== undefined) m.set('claimSignature', uri(v.claimSignature));
  if (v.thumbnail !== undefined) m.set('thumbnail', uri(v.thumbnail));
  if (v.validationResults !== undefined) m.set('validationResults', v.validationResults as CborValue);
  return {
    label: instance > 0 ? `c2pa.ingredient.v3__${instance}` : 'c2pa.ingredient.v3',
    kind: 'cbor',
    value: m,
  };
}
