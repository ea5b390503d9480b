import type { CborValue } from '@omt/core/cbor';
import { parseInput } from '@omt/core/input';
import { z } from 'zod';
import type { AssertionDraft } from './assertion.js';

/**
 * `c2pa.ingredient.v3` (C2PA 2.x §18.7): an asset used to make this one. When the ingredient has
 * its own manifest, `activeManifest` and `claimSignature` are hashed URIs into the ingredient's
 * manifest, which the builder copies into this store (§18.7.3).
 */

const HashedUriSchema = z
  .object({
    url: z.string().min(1),
    hash: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
    alg: z.string().optional(),
  })
  .strict();

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

const IngredientSchema: z.ZodType<IngredientInput> = z
  .object({
    title: z.string().min(1).max(1024),
    format: z.string().min(1).max(200),
    relationship: z.enum(['parentOf', 'componentOf', 'inputTo']),
    instanceId: z.string().max(1024).optional(),
    description: z.string().optional(),
    activeManifest: HashedUriSchema.optional(),
    claimSignature: HashedUriSchema.optional(),
    thumbnail: HashedUriSchema.optional(),
    validationResults: z.custom<CborValue>((v) => v !== undefined).optional(),
  })
  .strict();

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
