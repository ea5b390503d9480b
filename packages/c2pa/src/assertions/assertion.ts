import { utf8 } from '@omt/core/bytes';
import { type CborValue, encodeCbor } from '@omt/core/cbor';
import { OmtError } from '@omt/core/errors';
import { canonicalize } from '@omt/core/jcs';
import { EMBEDDED_FILE_UUID, type JumbfSuperBox, jumbfContentBox, jumbfSuperBox } from '../jumbf.js';

/**
 * An assertion to write (C2PA 2.x §6): its label and content. CBOR is the default serialization
 * (§6.3); JSON is for JSON-LD standards assertions; an embedded file carries binary data such as
 * a thumbnail (ISO/IEC 19566-5 §B.5).
 */
export type AssertionDraft =
  | { readonly label: string; readonly kind: 'cbor'; readonly value: CborValue }
  | { readonly label: string; readonly kind: 'json'; readonly value: unknown }
  | {
      readonly label: string;
      readonly kind: 'embedded-file';
      readonly mediaType: string;
      readonly data: Uint8Array;
    };

// §6.2: labels are dotted names; entity-specific labels use a reverse domain (`com.example.x`).
const LABEL = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/** Throws `core.input.invalid` unless `label` is a well-formed assertion label. */
export function checkAssertionLabel(label: string): void {
  if (typeof label !== 'string' || label.length > 255 || !LABEL.test(label)) {
    throw new OmtError(
      'core.input.invalid',
      `assertion label ${JSON.stringify(String(label).slice(0, 64))} is not a dotted name`,
    );
  }
}

/**
 * The JUMBF superbox of an assertion: `cbor` / `json` content type, or an embedded file
 * (`bfdb` description + `bidb` data).
 *
 * @example
 * ```ts
 * const box = assertionBox({ label: 'com.example.workflow', kind: 'cbor', value: { step: 'ingest' } });
 * ```
 */
export function assertionBox(draft: AssertionDraft): JumbfSuperBox {
  checkAssertionLabel(draft.label.replace(/__\d+$/, ''));
  switch (draft.kind) {
    case 'cbor':
      return jumbfSuperBox({ type: 'cbor', label: draft.label }, [
        jumbfContentBox('cbor', encodeCbor(draft.value)),
      ]);
    case 'json':
      return jumbfSuperBox({ type: 'json', label: draft.label }, [
        jumbfContentBox('json', utf8(canonicalize(draft.value))),
      ]);
    case 'embedded-file': {
      if (!/^[\w.+-]+\/[\w.+-]+$/.test(draft.mediaType))
        throw new OmtError('core.input.invalid', 'embedded file needs a media type like image/jpeg');
      // bfdb: toggles 0x00 (no file name, data inline), media type, NUL.
      const bfdb = new Uint8Array([0, ...utf8(draft.mediaType), 0]);
      return jumbfSuperBox({ type: EMBEDDED_FILE_UUID, label: draft.label }, [
        jumbfContentBox('bfdb', bfdb),
        jumbfContentBox('bidb', draft.data),
      ]);
    }
    default:
      throw new OmtError('core.input.invalid', 'unknown assertion kind');
  }
}
