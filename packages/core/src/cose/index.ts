/**
 * COSE_Sign1 (RFC 9052) with RFC 9338 countersignatures and RFC 9360 x5chain, over the
 * signature suites of `@omt/core/suites`.
 *
 * @example
 * ```ts
 * import { signCoseSign1, verifyCoseSign1 } from '@omt/core/cose';
 * const suite = getSuite('ML-DSA-65');
 * const kp = await suite.generateKeyPair();
 * const msg = await signCoseSign1({ signer: { suite, secretKey: kp.secretKey }, payload: utf8('hi') });
 * (await verifyCoseSign1(msg, { suite, publicKey: kp.publicKey })).valid; // true
 * ```
 */
export {
  type CountersignatureInfo,
  type CountersignatureKeyResolver,
  type CountersignatureResult,
  type CountersignCoseSign1Options,
  countersignCoseSign1,
  type VerifyCountersignaturesOptions,
  verifyCoseCountersignatures,
} from './countersignature.js';
export {
  COSE_COUNTERSIGNATURE_TAG,
  COSE_HEADER,
  COSE_HEADER_V1_COUNTERSIGNATURE,
  COSE_SIGN1_TAG,
} from './header-labels.js';
export {
  type CoseHeaderMap,
  type CoseHeaderPolicy,
  type CoseLabel,
  checkHeaderBuckets,
  decodeProtectedHeader,
  encodeProtectedHeader,
} from './headers.js';
export { buildCountersignStructure, buildSigStructure1 } from './sig-structure.js';
export {
  type CoseKeyResolver,
  type CoseSign1,
  type CoseSigner,
  type CoseVerifyKey,
  type CoseVerifyResult,
  decodeCoseSign1,
  encodeCoseSign1,
  type SignCoseSign1Options,
  signCoseSign1,
  signedProtectedBytes,
  type VerifyCoseSign1Options,
  verifyCoseSign1,
} from './sign1.js';
export { getX5Chain, x5chainHeaderValue } from './x5chain.js';
