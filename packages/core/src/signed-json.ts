import * as z from 'zod/mini';
import { fromBase64Url, toBase64Url } from './bytes.js';
import { OmtError } from './errors.js';
import { parseInput } from './input.js';
import { canonicalizeToBytes } from './jcs.js';
import type { SignatureSuite } from './suites/suite.js';

/**
 * Signed JSON: a JSON object with a `signature` member `{ alg, kid, sig }` beside it
 * (ARCHITECTURE, Formats). The signing input is the RFC 8785 (JCS) form of the object
 * *without* its `signature` member, so key order and whitespace never matter; `sig` is
 * base64url (RFC 4648 §5, unpadded); `alg` is the suite id (`ML-DSA-65`, `ES256`,
 * `ML-DSA-65+ES256`, …); `kid` names the key (default: its RFC 7638 thumbprint).
 */

/** The member added to a signed document. */
export interface JsonSignature {
  readonly alg: string;
  readonly kid: string;
  readonly sig: string;
}

/** A JSON object carrying a {@link JsonSignature} in its `signature` member. */
export type SignedJson = Record<string, unknown> & { readonly signature: JsonSignature };

export interface JsonSigner {
  readonly suite: SignatureSuite;
  readonly secretKey: Uint8Array;
  readonly kid: string;
}

export interface JsonVerifier {
  readonly suite: SignatureSuite;
  readonly publicKey: Uint8Array;
  /** When set, the document's `kid` must equal it. */
  readonly kid?: string;
}

/** Result of {@link verifyJson}: a failure always says why. */
export type JsonVerifyResult =
  | { readonly valid: true; readonly alg: string; readonly kid: string }
  | { readonly valid: false; readonly code: string; readonly reason: string };

const documentSchema = z.record(z.string(), z.unknown());
const signatureSchema = z.strictObject({
  alg: z.string().check(z.minLength(1)),
  kid: z.string(),
  sig: z.string().check(z.minLength(1)),
});

/** The exact bytes that are signed for `document` (its JCS form without `signature`). */
export function jsonSigningInput(document: Record<string, unknown>): Uint8Array {
  const { signature: _ignored, ...rest } = document;
  return canonicalizeToBytes(rest);
}

/**
 * Signs a JSON object, returning a copy with `signature: { alg, kid, sig }` attached.
 * A document that already has a `signature` member is refused (`core.json.already-signed`)
 * rather than silently re-signed.
 *
 * @example
 * ```ts
 * const suite = getSuite('ML-DSA-65');
 * const { publicKey, secretKey } = await suite.generateKeyPair();
 * const signed = await signJson({ hello: 'world' }, { suite, secretKey, kid: 'k1' });
 * (await verifyJson(signed, { suite, publicKey })).valid; // true
 * ```
 */
export async function signJson(document: unknown, signer: JsonSigner): Promise<SignedJson> {
  const doc = parseInput(documentSchema, document, 'core.json.invalid', 'JSON document (must be an object)');
  if (Object.hasOwn(doc, 'signature')) {
    throw new OmtError('core.json.already-signed', 'the document already has a "signature" member');
  }
  const sig = await signer.suite.sign(signer.secretKey, jsonSigningInput(doc));
  return { ...doc, signature: { alg: signer.suite.id, kid: signer.kid, sig: toBase64Url(sig) } };
}

/**
 * Verifies a signed JSON object against a public key. Returns data, not exceptions:
 * `{ valid: false, code, reason }` for a missing or malformed signature member, an
 * algorithm other than the key's suite, a kid mismatch, or a signature that does not
 * verify. Throws only for a malformed public key (`core.key.malformed`).
 */
export async function verifyJson(document: unknown, verifier: JsonVerifier): Promise<JsonVerifyResult> {
  const doc = documentSchema.safeParse(document);
  if (!doc.success)
    return { valid: false, code: 'core.json.invalid', reason: 'the document is not a JSON object' };
  const sigMember = signatureSchema.safeParse(doc.data.signature);
  if (!sigMember.success) {
    return {
      valid: false,
      code: 'core.signature.missing',
      reason: 'no well-formed "signature": { alg, kid, sig } member',
    };
  }
  const { alg, kid, sig } = sigMember.data;
  if (alg !== verifier.suite.id) {
    return {
      valid: false,
      code: 'core.signature.alg-mismatch',
      reason: `signed with ${alg}, but the key is ${verifier.suite.id}`,
    };
  }
  if (verifier.kid !== undefined && kid !== verifier.kid) {
    return {
      valid: false,
      code: 'core.signature.kid-mismatch',
      reason: `signed by kid ${kid}, expected ${verifier.kid}`,
    };
  }
  let sigBytes: Uint8Array;
  try {
    sigBytes = fromBase64Url(sig);
  } catch {
    return { valid: false, code: 'core.signature.invalid', reason: 'sig is not base64url' };
  }
  let input: Uint8Array;
  try {
    input = jsonSigningInput(doc.data);
  } catch (e) {
    return { valid: false, code: 'core.json.invalid', reason: e instanceof Error ? e.message : String(e) };
  }
  const ok = await verifier.suite.verify(verifier.publicKey, input, sigBytes);
  return ok
    ? { valid: true, alg, kid }
    : { valid: false, code: 'core.signature.invalid', reason: `the ${alg} signature does not verify` };
}
