import type { CborValue } from '@omt/core/cbor';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import type { AssertionDraft } from './assertion.js';

/**
 * `c2pa.actions.v2` (C2PA 2.x §18.15): what was done to the asset. The first action of a
 * manifest's actions must be `c2pa.created` or `c2pa.opened`; `c2pa.created` carries an IPTC
 * `digitalSourceType`.
 */

/** IPTC digital source type URIs (https://cv.iptc.org/newscodes/digitalsourcetype/). */
export const DIGITAL_SOURCE_TYPE: {
  readonly digitalCapture: string;
  readonly trainedAlgorithmicMedia: string;
  readonly compositeWithTrainedAlgorithmicMedia: string;
  readonly algorithmicMedia: string;
  readonly digitalCreation: string;
  readonly minorHumanEdits: string;
  readonly composite: string;
} = {
  digitalCapture: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture',
  trainedAlgorithmicMedia: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
  compositeWithTrainedAlgorithmicMedia:
    'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia',
  algorithmicMedia: 'http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia',
  digitalCreation: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation',
  minorHumanEdits: 'http://cv.iptc.org/newscodes/digitalsourcetype/minorHumanEdits',
  composite: 'http://cv.iptc.org/newscodes/digitalsourcetype/composite',
};

/** One action (§18.15.4). */
export interface ActionInput {
  readonly action: string;
  readonly digitalSourceType?: string;
  readonly softwareAgent?: { readonly name: string; readonly version?: string };
  /** ISO 8601 date-time with offset. */
  readonly when?: string;
  readonly description?: string;
  readonly reason?: string;
  /** Ingredients this action used (hashed URIs to ingredient assertions); the builder fills these for opened/placed. */
  readonly ingredients?: readonly {
    readonly url: string;
    readonly hash: Uint8Array;
    readonly alg?: string;
  }[];
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** Input of {@link buildActionsAssertion}. */
export interface ActionsInput {
  readonly actions: readonly ActionInput[];
  readonly allActionsIncluded?: boolean;
}

const HashedUriSchema = z.strictObject({
  url: z.string().check(z.minLength(1)),
  hash: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
  alg: z.optional(z.string()),
});

const ActionSchema = z.strictObject({
  action: z.string().check(z.regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/)),
  digitalSourceType: z.optional(z.url()),
  softwareAgent: z.optional(
    z.strictObject({ name: z.string().check(z.minLength(1)), version: z.optional(z.string()) }),
  ),
  when: z.optional(z.iso.datetime({ offset: true })),
  description: z.optional(z.string()),
  reason: z.optional(z.string()),
  ingredients: z.optional(z.array(HashedUriSchema)),
  parameters: z.optional(z.record(z.string(), z.unknown())),
});

const ActionsSchema = z
  .strictObject({
    actions: z.array(ActionSchema).check(z.minLength(1), z.maxLength(10_000)),
    allActionsIncluded: z.optional(z.boolean()),
  })
  .check(
    z.refine(
      (v) => ['c2pa.created', 'c2pa.opened'].includes(v.actions[0]?.action ?? ''),
      'the first action must be c2pa.created or c2pa.opened (C2PA 2.x §18.15.4)',
    ),
    z.refine(
      (v) => v.actions.every((a) => a.action !== 'c2pa.created' || a.digitalSourceType !== undefined),
      'c2pa.created needs a digitalSourceType',
    ),
  );

/**
 * Builds a `c2pa.actions.v2` assertion. Throws `core.input.invalid` on bad input.
 *
 * @example
 * ```ts
 * buildActionsAssertion({ actions: [{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture }] });
 * ```
 */
export function buildActionsAssertion(input: ActionsInput): AssertionDraft {
  const v = parseInput(ActionsSchema, input, 'core.input.invalid', 'c2pa.actions.v2');
  const actions = v.actions.map((a) => {
    const m = new Map<string, CborValue>([['action', a.action]]);
    if (a.digitalSourceType !== undefined) m.set('digitalSourceType', a.digitalSourceType);
    if (a.softwareAgent !== undefined) m.set('softwareAgent', { ...a.softwareAgent });
    if (a.when !== undefined) m.set('when', a.when);
    if (a.description !== undefined) m.set('description', a.description);
    if (a.reason !== undefined) m.set('reason', a.reason);
    const params = new Map<string, CborValue>(Object.entries(a.parameters ?? {}) as [string, CborValue][]);
    if (a.ingredients !== undefined)
      params.set(
        'ingredients',
        a.ingredients.map((u) => ({ ...u }) as CborValue),
      );
    if (params.size > 0) m.set('parameters', params);
    return m;
  });
  const value = new Map<string, CborValue>([['actions', actions]]);
  if (v.allActionsIncluded !== undefined) value.set('allActionsIncluded', v.allActionsIncluded);
  return { label: 'c2pa.actions.v2', kind: 'cbor', value };
}
