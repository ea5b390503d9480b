/**
 * COSE header parameter labels (IANA "COSE Header Parameters"; RFC 9052 §3.1,
 * RFC 9338 §2, RFC 9360 §2) and the COSE CBOR tags used here.
 *
 * @example
 * ```ts
 * new Map([[COSE_HEADER.alg, -49], [COSE_HEADER.kid, utf8('key-1')]]);
 * ```
 */
export const COSE_HEADER: Readonly<{
  alg: 1;
  crit: 2;
  contentType: 3;
  kid: 4;
  iv: 5;
  partialIv: 6;
  /** RFC 9338 §2: V2 countersignature(s), COSE_Countersignature / [+ COSE_Countersignature]. */
  countersignature: 11;
  /** RFC 9338 §2: V2 abbreviated countersignature, COSE_Countersignature0 (bstr). */
  countersignature0: 12;
  x5bag: 32;
  x5chain: 33;
  x5t: 34;
  x5u: 35;
}> = {
  alg: 1,
  crit: 2,
  contentType: 3,
  kid: 4,
  iv: 5,
  partialIv: 6,
  countersignature: 11,
  countersignature0: 12,
  x5bag: 32,
  x5chain: 33,
  x5t: 34,
  x5u: 35,
};

/** RFC 8152 V1 countersignature labels (deprecated by RFC 9338); not produced, not verified. */
export const COSE_HEADER_V1_COUNTERSIGNATURE: Readonly<{ countersignature: 7; countersignature0: 9 }> = {
  countersignature: 7,
  countersignature0: 9,
};

/** CBOR tag of COSE_Sign1 (RFC 9052 §2). */
export const COSE_SIGN1_TAG: 18 = 18;
/** CBOR tag of COSE_Countersignature (RFC 9338 §3.1). */
export const COSE_COUNTERSIGNATURE_TAG: 19 = 19;
