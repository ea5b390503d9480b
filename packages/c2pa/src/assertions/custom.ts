import type { CborValue } from '@omt/core/cbor';
import { OmtError } from '@omt/core/errors';
import { type AssertionDraft, checkAssertionLabel } from './assertion.js';

/**
 * A custom assertion under an organisation's namespace (C2PA 2.x §6.2: entity-specific labels
 * are reverse-domain names, e.g. `com.example.workflow`); the `c2pa.` and `stds.` namespaces are
 * reserved for the specification.
 *
 * @example
 * ```ts
 * buildCustomAssertion('com.example.workflow', { step: 'ingest', operator: 'desk-3' });
 * ```
 */
export function buildCustomAssertion(
  label: string,
  value: CborValue,
  kind: 'cbor' | 'json' = 'cbor',
): AssertionDraft {
  checkAssertionLabel(label);
  if (label.startsWith('c2pa.') || label.startsWith('stds.')) {
    throw new OmtError(
      'core.input.invalid',
      'custom assertion labels may not use the reserved c2pa. or stds. namespaces',
    );
  }
  return kind === 'cbor' ? { label, kind, value } : { label, kind, value };
}
