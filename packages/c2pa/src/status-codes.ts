/**
 * C2PA validation status codes (C2PA 2.x §15.2, "Standard status codes"), spelled exactly as the
 * specification and the official SDK report them.
 *
 * @example
 * ```ts
 * if (status.code === STATUS.dataHashMismatch) …
 * ```
 */
export const STATUS: {
  readonly claimSignatureValidated: 'claimSignature.validated';
  readonly claimSignatureInsideValidity: 'claimSignature.insideValidity';
  readonly signingCredentialTrusted: 'signingCredential.trusted';
  readonly signingCredentialNotRevoked: 'signingCredential.ocsp.notRevoked';
  readonly timeStampTrusted: 'timeStamp.trusted';
  readonly timeStampValidated: 'timeStamp.validated';
  readonly hashedUriMatch: 'assertion.hashedURI.match';
  readonly dataHashMatch: 'assertion.dataHash.match';
  readonly bmffHashMatch: 'assertion.bmffHash.match';
  readonly boxesHashMatch: 'assertion.boxesHash.match';
  readonly collectionHashMatch: 'assertion.collectionHash.match';
  readonly assertionAccessible: 'assertion.accessible';
  readonly ingredientManifestValidated: 'ingredient.manifest.validated';
  readonly ingredientClaimSignatureValidated: 'ingredient.claimSignature.validated';
  readonly claimMissing: 'claim.missing';
  readonly claimMultiple: 'claim.multiple';
  readonly claimHardBindingsMissing: 'claim.hardBindings.missing';
  readonly claimRequiredMissing: 'claim.required.missing';
  readonly claimCborInvalid: 'claim.cbor.invalid';
  readonly claimMalformed: 'claim.malformed';
  readonly claimSignatureMissing: 'claimSignature.missing';
  readonly claimSignatureMismatch: 'claimSignature.mismatch';
  readonly claimSignatureOutsideValidity: 'claimSignature.outsideValidity';
  readonly manifestMissing: 'manifest.missing';
  readonly manifestMalformed: 'manifest.malformed';
  readonly manifestInaccessible: 'manifest.inaccessible';
  readonly manifestMultipleParents: 'manifest.multipleParents';
  readonly manifestUpdateInvalid: 'manifest.update.invalid';
  readonly manifestUpdateWrongParents: 'manifest.update.wrongParents';
  readonly manifestUnreferenced: 'manifest.unreferenced';
  readonly ingredientHashedUriMismatch: 'ingredient.hashedURI.mismatch';
  readonly ingredientManifestMismatch: 'ingredient.manifest.mismatch';
  readonly ingredientManifestMissing: 'ingredient.manifest.missing';
  readonly ingredientClaimSignatureMissing: 'ingredient.claimSignature.missing';
  readonly ingredientClaimSignatureMismatch: 'ingredient.claimSignature.mismatch';
  readonly signingCredentialUntrusted: 'signingCredential.untrusted';
  readonly signingCredentialInvalid: 'signingCredential.invalid';
  readonly signingCredentialRevoked: 'signingCredential.ocsp.revoked';
  readonly signingCredentialExpired: 'signingCredential.expired';
  readonly timeStampMismatch: 'timeStamp.mismatch';
  readonly timeStampUntrusted: 'timeStamp.untrusted';
  readonly timeStampOutsideValidity: 'timeStamp.outsideValidity';
  readonly timeStampMalformed: 'timeStamp.malformed';
  readonly hashedUriMissing: 'assertion.hashedURI.missing';
  readonly hashedUriMismatch: 'assertion.hashedURI.mismatch';
  readonly assertionMissing: 'assertion.missing';
  readonly assertionMultipleHardBindings: 'assertion.multipleHardBindings';
  readonly assertionUndeclared: 'assertion.undeclared';
  readonly assertionInaccessible: 'assertion.inaccessible';
  readonly assertionNotRedacted: 'assertion.notRedacted';
  readonly assertionOutsideManifest: 'assertion.outsideManifest';
  readonly assertionSelfRedacted: 'assertion.selfRedacted';
  readonly assertionCborInvalid: 'assertion.cbor.invalid';
  readonly assertionJsonInvalid: 'assertion.json.invalid';
  readonly actionIngredientMismatch: 'assertion.action.ingredientMismatch';
  readonly actionMalformed: 'assertion.action.malformed';
  readonly actionRedacted: 'assertion.action.redacted';
  readonly actionRedactionMismatch: 'assertion.action.redactionMismatch';
  readonly dataHashMalformed: 'assertion.dataHash.malformed';
  readonly dataHashMismatch: 'assertion.dataHash.mismatch';
  readonly bmffHashMalformed: 'assertion.bmffHash.malformed';
  readonly bmffHashMismatch: 'assertion.bmffHash.mismatch';
  readonly boxesHashMismatch: 'assertion.boxesHash.mismatch';
  readonly boxesHashUnknownBox: 'assertion.boxesHash.unknownBox';
  readonly collectionHashMismatch: 'assertion.collectionHash.mismatch';
  readonly ingredientMalformed: 'assertion.ingredient.malformed';
  readonly algorithmUnsupported: 'algorithm.unsupported';
  readonly algorithmDeprecated: 'algorithm.deprecated';
  readonly generalError: 'general.error';
} = {
  // §15.2.1 success codes
  claimSignatureValidated: 'claimSignature.validated',
  claimSignatureInsideValidity: 'claimSignature.insideValidity',
  signingCredentialTrusted: 'signingCredential.trusted',
  signingCredentialNotRevoked: 'signingCredential.ocsp.notRevoked',
  timeStampTrusted: 'timeStamp.trusted',
  timeStampValidated: 'timeStamp.validated',
  hashedUriMatch: 'assertion.hashedURI.match',
  dataHashMatch: 'assertion.dataHash.match',
  bmffHashMatch: 'assertion.bmffHash.match',
  boxesHashMatch: 'assertion.boxesHash.match',
  collectionHashMatch: 'assertion.collectionHash.match',
  assertionAccessible: 'assertion.accessible',
  ingredientManifestValidated: 'ingredient.manifest.validated',
  ingredientClaimSignatureValidated: 'ingredient.claimSignature.validated',
  // §15.2.3 failure codes
  claimMissing: 'claim.missing',
  claimMultiple: 'claim.multiple',
  claimHardBindingsMissing: 'claim.hardBindings.missing',
  claimRequiredMissing: 'claim.required.missing',
  claimCborInvalid: 'claim.cbor.invalid',
  claimMalformed: 'claim.malformed',
  claimSignatureMissing: 'claimSignature.missing',
  claimSignatureMismatch: 'claimSignature.mismatch',
  claimSignatureOutsideValidity: 'claimSignature.outsideValidity',
  manifestMissing: 'manifest.missing',
  manifestMalformed: 'manifest.malformed',
  manifestInaccessible: 'manifest.inaccessible',
  manifestMultipleParents: 'manifest.multipleParents',
  manifestUpdateInvalid: 'manifest.update.invalid',
  manifestUpdateWrongParents: 'manifest.update.wrongParents',
  manifestUnreferenced: 'manifest.unreferenced',
  ingredientHashedUriMismatch: 'ingredient.hashedURI.mismatch',
  ingredientManifestMismatch: 'ingredient.manifest.mismatch',
  ingredientManifestMissing: 'ingredient.manifest.missing',
  ingredientClaimSignatureMissing: 'ingredient.claimSignature.missing',
  ingredientClaimSignatureMismatch: 'ingredient.claimSignature.mismatch',
  signingCredentialUntrusted: 'signingCredential.untrusted',
  signingCredentialInvalid: 'signingCredential.invalid',
  signingCredentialRevoked: 'signingCredential.ocsp.revoked',
  signingCredentialExpired: 'signingCredential.expired',
  timeStampMismatch: 'timeStamp.mismatch',
  timeStampUntrusted: 'timeStamp.untrusted',
  timeStampOutsideValidity: 'timeStamp.outsideValidity',
  timeStampMalformed: 'timeStamp.malformed',
  hashedUriMissing: 'assertion.hashedURI.missing',
  hashedUriMismatch: 'assertion.hashedURI.mismatch',
  assertionMissing: 'assertion.missing',
  assertionMultipleHardBindings: 'assertion.multipleHardBindings',
  assertionUndeclared: 'assertion.undeclared',
  assertionInaccessible: 'assertion.inaccessible',
  assertionNotRedacted: 'assertion.notRedacted',
  assertionOutsideManifest: 'assertion.outsideManifest',
  assertionSelfRedacted: 'assertion.selfRedacted',
  assertionCborInvalid: 'assertion.cbor.invalid',
  assertionJsonInvalid: 'assertion.json.invalid',
  actionIngredientMismatch: 'assertion.action.ingredientMismatch',
  actionMalformed: 'assertion.action.malformed',
  actionRedacted: 'assertion.action.redacted',
  actionRedactionMismatch: 'assertion.action.redactionMismatch',
  dataHashMalformed: 'assertion.dataHash.malformed',
  dataHashMismatch: 'assertion.dataHash.mismatch',
  bmffHashMalformed: 'assertion.bmffHash.malformed',
  bmffHashMismatch: 'assertion.bmffHash.mismatch',
  boxesHashMismatch: 'assertion.boxesHash.mismatch',
  boxesHashUnknownBox: 'assertion.boxesHash.unknownBox',
  collectionHashMismatch: 'assertion.collectionHash.mismatch',
  ingredientMalformed: 'assertion.ingredient.malformed',
  algorithmUnsupported: 'algorithm.unsupported',
  algorithmDeprecated: 'algorithm.deprecated',
  generalError: 'general.error',
};

/** Any status code string of {@link STATUS}. */
export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

/** One validation finding, as the official SDK's `validation_status` entries carry it. */
export interface ValidationStatus {
  readonly code: string;
  /** A JUMBF URI of the item concerned (e.g. `self#jumbf=/c2pa/<label>/c2pa.assertions/c2pa.hash.data`). */
  readonly url?: string;
  readonly explanation?: string;
}

/** Codes that report success or information; everything else is a failure (§15.2). */
export const SUCCESS_CODES: ReadonlySet<string> = /* @__PURE__ */ new Set<string>([
  'claimSignature.validated',
  'claimSignature.insideValidity',
  'signingCredential.trusted',
  'signingCredential.ocsp.notRevoked',
  'timeStamp.trusted',
  'timeStamp.validated',
  'assertion.hashedURI.match',
  'assertion.dataHash.match',
  'assertion.bmffHash.match',
  'assertion.boxesHash.match',
  'assertion.collectionHash.match',
  'assertion.accessible',
  'ingredient.manifest.validated',
  'ingredient.claimSignature.validated',
  // OpenMediaTrust hybrid policy: the PQ countersignature verified (claim-signature.ts).
  'omt.hybridSignature.validated',
]);

/**
 * True when a status code reports a failure.
 *
 * @example
 * ```ts
 * isFailureCode('assertion.dataHash.mismatch'); // true
 * ```
 */
export function isFailureCode(code: string): boolean {
  return !SUCCESS_CODES.has(code);
}

/**
 * Library error codes of `@omt/c2pa` structure handling (OmtError `code`s), and how they map to
 * the official SDK: `c2pa.jumbf.not-found` ⇔ c2pa-rs `Error::JumbfNotFound` (no C2PA data in the
 * asset); `c2pa.jumbf.malformed` ⇔ `InvalidClaim(...)`/JUMBF parse errors; `c2pa.manifest.malformed`
 * carries status `manifest.malformed` and `c2pa.claim.malformed` carries `claim.malformed` in
 * `details.status`.
 */
export const C2PA_ERROR: {
  readonly jumbfNotFound: 'c2pa.jumbf.not-found';
  readonly jumbfMalformed: 'c2pa.jumbf.malformed';
  readonly manifestMalformed: 'c2pa.manifest.malformed';
  readonly claimMalformed: 'c2pa.claim.malformed';
  readonly assetMalformed: 'c2pa.asset.malformed';
  readonly assetUnsupported: 'c2pa.asset.unsupported';
} = {
  jumbfNotFound: 'c2pa.jumbf.not-found',
  jumbfMalformed: 'c2pa.jumbf.malformed',
  manifestMalformed: 'c2pa.manifest.malformed',
  claimMalformed: 'c2pa.claim.malformed',
  assetMalformed: 'c2pa.asset.malformed',
  assetUnsupported: 'c2pa.asset.unsupported',
};
