import { OmtError } from '@omt/core/errors';
import type { AssertionDraft } from './assertion.js';

const EXT: Record<string, string> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/heic': 'heic',
};

/**
 * A thumbnail assertion (C2PA 2.x §18.8): `c2pa.thumbnail.claim.<ext>` for the asset itself or
 * `c2pa.thumbnail.ingredient.<ext>` for an ingredient, as an embedded file.
 *
 * @example
 * ```ts
 * buildThumbnailAssertion({ mediaType: 'image/jpeg', data: smallJpeg });
 * ```
 */
export function buildThumbnailAssertion(input: {
  readonly mediaType: string;
  readonly data: Uint8Array;
  readonly for?: 'claim' | 'ingredient';
}): AssertionDraft {
  const ext = EXT[input.mediaType];
  if (ext === undefined)
    throw new OmtError(
      'core.input.invalid',
      `unsupported thumbnail media type ${JSON.stringify(String(input.mediaType).slice(0, 40))}`,
    );
  if (!(input.data instanceof Uint8Array) || input.data.length === 0)
    throw new OmtError('core.input.invalid', 'thumbnail data must be non-empty bytes');
  return {
    label: `c2pa.thumbnail.${input.for ?? 'claim'}.${ext}`,
    kind: 'embedded-file',
    mediaType: input.mediaType,
    data: input.data,
  };
}
