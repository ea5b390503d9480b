/**
 * Assertion builders (C2PA 2.x §18): actions, data hash, ingredient, thumbnail, metadata, custom.
 *
 * @example
 * ```ts
 * import { buildActionsAssertion, DIGITAL_SOURCE_TYPE } from '@omt/c2pa/assertions';
 * ```
 */
export {
  type ActionInput,
  type ActionsInput,
  buildActionsAssertion,
  DIGITAL_SOURCE_TYPE,
} from './actions.js';
export { type AssertionDraft, assertionBox, checkAssertionLabel } from './assertion.js';
export { buildCustomAssertion } from './custom.js';
export { buildDataHashAssertion } from './hash-data.js';
export { buildIngredientAssertion, type IngredientInput } from './ingredient.js';
export { buildMetadataAssertion } from './metadata.js';
export { buildThumbnailAssertion } from './thumbnail.js';
