import { encodeCbor } from '../cbor.js';

/**
 * The bytes a COSE_Sign1 signature covers (RFC 9052 §4.4):
 * `Sig_structure = ["Signature1", body_protected, external_aad, payload]`.
 * `bodyProtected` is the protected header exactly as carried in the message
 * (the bstr content, possibly zero-length) — never a re-encoding.
 *
 * @example
 * ```ts
 * const tbs = buildSigStructure1({ bodyProtected: fromHex('a10126'), payload: utf8('hi') });
 * ```
 */
export function buildSigStructure1(input: {
  readonly bodyProtected: Uint8Array;
  readonly payload: Uint8Array;
  readonly externalAad?: Uint8Array;
}): Uint8Array {
  return encodeCbor([
    'Signature1',
    input.bodyProtected,
    input.externalAad ?? new Uint8Array(0),
    input.payload,
  ]);
}

/**
 * The bytes a V2 countersignature covers (RFC 9338 §3.3):
 * `Countersign_structure = [context, body_protected, ? sign_protected, external_aad, payload, ? other_fields]`.
 * The full form (COSE_Countersignature, header label 11) carries `signProtected`; the
 * abbreviated form (COSE_Countersignature0, label 12) has none. `otherFields` are the
 * target's bstr fields after the second one — for a COSE_Sign1 target `[signature]` — and
 * when present the context is "CounterSignatureV2" / "CounterSignature0V2", else
 * "CounterSignature" / "CounterSignature0".
 *
 * @example
 * ```ts
 * const tbs = buildCountersignStructure({ bodyProtected, signProtected, payload, otherFields: [signature] });
 * ```
 */
export function buildCountersignStructure(input: {
  readonly bodyProtected: Uint8Array;
  /** Protected header of the countersignature; omit for the abbreviated form (Countersignature0). */
  readonly signProtected?: Uint8Array;
  readonly payload: Uint8Array;
  readonly externalAad?: Uint8Array;
  readonly otherFields?: readonly Uint8Array[];
}): Uint8Array {
  const abbreviated = input.signProtected === undefined;
  const v2 = input.otherFields !== undefined && input.otherFields.length > 0;
  const context = `CounterSignature${abbreviated ? '0' : ''}${v2 ? 'V2' : ''}`;
  const parts: (string | Uint8Array | Uint8Array[])[] = [context, input.bodyProtected];
  if (input.signProtected !== undefined) parts.push(input.signProtected);
  parts.push(input.externalAad ?? new Uint8Array(0), input.payload);
  if (v2) parts.push([...(input.otherFields as readonly Uint8Array[])]);
  return encodeCbor(parts);
}
