import { isBytes } from '../bytes.js';
import { type CborValue, decodeCbor, encodeCbor } from '../cbor.js';
import { isOmtError, OmtError } from '../errors.js';
import { COSE_HEADER } from './header-labels.js';

/** A COSE header label: an integer or a text string (RFC 9052 §3). */
export type CoseLabel = number | string;
/** A header bucket: label → value. */
export type CoseHeaderMap = ReadonlyMap<CoseLabel, CborValue>;

export interface CoseHeaderPolicy {
  /**
   * Labels the application processes beyond the ones this library handles itself
   * (alg, crit, content type, kid, countersignatures, x5chain). A `crit` entry naming
   * any other label makes the message unprocessable (RFC 9052 §3.1).
   */
  readonly understoodCritLabels?: readonly CoseLabel[];
}

const UNDERSTOOD: ReadonlySet<CoseLabel> = new Set<CoseLabel>([
  COSE_HEADER.alg,
  COSE_HEADER.crit,
  COSE_HEADER.contentType,
  COSE_HEADER.kid,
  COSE_HEADER.countersignature,
  COSE_HEADER.countersignature0,
  COSE_HEADER.x5chain,
]);

/** A `core.cose.malformed` error. */
export function coseMalformed(message: string, cause?: unknown): OmtError {
  return new OmtError(
    'core.cose.malformed',
    `malformed COSE structure: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function isLabel(k: unknown): k is CoseLabel {
  return (typeof k === 'number' && Number.isSafeInteger(k)) || typeof k === 'string';
}

/** Turns a decoded CBOR map into a header map, rejecting labels that are neither int nor tstr. */
export function toHeaderMap(value: CborValue, what: string): Map<CoseLabel, CborValue> {
  if (!(value instanceof Map)) throw coseMalformed(`${what} header is not a map`);
  for (const k of value.keys()) {
    if (!isLabel(k))
      throw coseMalformed(`${what} header has a label that is neither an integer nor a text string`);
  }
  return value as Map<CoseLabel, CborValue>;
}

/**
 * Parses the serialized protected header (the bstr content): zero-length means an empty
 * map (RFC 9052 §3); otherwise exactly one CBOR map. The bytes themselves stay authoritative
 * for the Sig_structure — never re-encode them.
 *
 * @example
 * ```ts
 * decodeProtectedHeader(fromHex('a10126')).get(1); // -7
 * ```
 */
export function decodeProtectedHeader(bytes: Uint8Array): Map<CoseLabel, CborValue> {
  if (bytes.length === 0) return new Map();
  let value: CborValue;
  try {
    value = decodeCbor(bytes);
  } catch (e) {
    if (isOmtError(e) && e.code.startsWith('core.cbor.'))
      throw coseMalformed('protected header is not valid CBOR', e);
    throw e;
  }
  return toHeaderMap(value, 'protected');
}

/**
 * Serializes a protected header bucket: the empty map becomes the zero-length bstr content
 * (RFC 9052 §3), anything else deterministic CBOR.
 *
 * @example
 * ```ts
 * encodeProtectedHeader(new Map([[1, -7]])); // a1 01 26
 * ```
 */
export function encodeProtectedHeader(headers: CoseHeaderMap): Uint8Array {
  return headers.size === 0 ? new Uint8Array(0) : encodeCbor(headers as ReadonlyMap<CborValue, CborValue>);
}

/**
 * Checks a protected/unprotected pair: labels are int/tstr, no label in both buckets
 * (RFC 9052 §3), `crit` only protected, non-empty, naming present and understood labels
 * (§3.1; otherwise `core.cose.crit-unsupported`), value types of the labels this library
 * reads (alg int/tstr, content type uint/tstr, kid bstr, x5chain bstr / [+bstr]),
 * countersignatures only unprotected (RFC 9338 §2). Other problems: `core.cose.malformed`.
 *
 * @example
 * ```ts
 * checkHeaderBuckets(new Map([[1, -7]]), new Map([[4, kid]]));
 * ```
 */
export function checkHeaderBuckets(
  protectedHeaders: CoseHeaderMap,
  unprotectedHeaders: CoseHeaderMap,
  policy?: CoseHeaderPolicy,
): void {
  for (const [bucket, what] of [
    [protectedHeaders, 'protected'],
    [unprotectedHeaders, 'unprotected'],
  ] as const) {
    for (const [label, value] of bucket) {
      if (!isLabel(label))
        throw coseMalformed(`${what} header has a label that is neither an integer nor a text string`);
      checkValueType(label, value);
    }
  }
  for (const label of protectedHeaders.keys()) {
    if (unprotectedHeaders.has(label))
      throw coseMalformed(`header label ${String(label)} appears in both buckets`);
  }
  if (unprotectedHeaders.has(COSE_HEADER.crit)) throw coseMalformed('crit must be a protected header');
  for (const label of [COSE_HEADER.countersignature, COSE_HEADER.countersignature0]) {
    if (protectedHeaders.has(label))
      throw coseMalformed(`countersignature label ${label} must be unprotected`);
  }
  const crit = protectedHeaders.get(COSE_HEADER.crit);
  if (crit === undefined) return;
  if (!Array.isArray(crit) || crit.length === 0)
    throw coseMalformed('crit must be a non-empty array of labels');
  const extra = new Set<CoseLabel>(policy?.understoodCritLabels ?? []);
  for (const label of crit as readonly CborValue[]) {
    if (!isLabel(label)) throw coseMalformed('crit holds something other than a label');
    if (!protectedHeaders.has(label))
      throw coseMalformed(`crit names label ${String(label)}, absent from the protected header`);
    if (!UNDERSTOOD.has(label) && !extra.has(label)) {
      throw new OmtError(
        'core.cose.crit-unsupported',
        `critical header label ${JSON.stringify(label)} is not understood`,
        {
          details: { label },
        },
      );
    }
  }
}

function checkValueType(label: CoseLabel, value: CborValue): void {
  switch (label) {
    case COSE_HEADER.alg:
      if (!isLabel(value)) throw coseMalformed('alg must be an integer or a text string');
      return;
    case COSE_HEADER.contentType:
      if (
        !(
          typeof value === 'string' ||
          (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)
        )
      ) {
        throw coseMalformed('content type must be an unsigned integer or a text string');
      }
      return;
    case COSE_HEADER.kid:
      if (!isBytes(value)) throw coseMalformed('kid must be a byte string');
      return;
    case COSE_HEADER.x5chain:
      if (!isBytes(value) && !(Array.isArray(value) && value.length > 0 && value.every((c) => isBytes(c)))) {
        throw coseMalformed('x5chain must be a byte string or a non-empty array of byte strings');
      }
      return;
    case COSE_HEADER.countersignature0:
      if (!isBytes(value)) throw coseMalformed('Countersignature0 (12) must be a byte string');
      return;
    default:
      return;
  }
}

/** A header value looked up in the protected bucket first, then the unprotected one. */
export function findHeader(
  protectedHeaders: CoseHeaderMap,
  unprotectedHeaders: CoseHeaderMap,
  label: CoseLabel,
): CborValue {
  return protectedHeaders.has(label) ? protectedHeaders.get(label) : unprotectedHeaders.get(label);
}
