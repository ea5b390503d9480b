import { concatBytes, equalBytes, isBytes } from '../bytes.js';
import { OmtError } from '../errors.js';
import type { SuiteId } from '../suites/suite.js';
import { type EcdsaSpec, isSuiteId, KEY_SPECS, type KeySpec } from './key-spec.js';
import { parseRsaPublicKey } from './rsa-public-key.js';

/**
 * A key in the raw encodings of `suites/suite.ts`: what every key format
 * (PKCS#8/SPKI, JWK, COSE_Key) converts to and from. `secretKey` absent = a
 * public key only.
 */
export interface KeyMaterial {
  readonly suite: SuiteId;
  readonly publicKey: Uint8Array;
  readonly secretKey?: Uint8Array;
}

export function malformedKey(message: string, details?: Record<string, unknown>): OmtError {
  return new OmtError('core.key.malformed', message, details === undefined ? undefined : { details });
}

/** The spec of a suite id, or `core.alg.unsupported`. */
export function specOf(suite: unknown): KeySpec {
  if (!isSuiteId(suite)) throw new OmtError('core.alg.unsupported', 'unknown signature suite');
  return KEY_SPECS[suite];
}

/** Normalizes a SEC1 point to the uncompressed form, checking it lies on the curve. */
export function normalizeEcPoint(spec: EcdsaSpec, point: Uint8Array): Uint8Array {
  const size = spec.size;
  if (
    !(point.length === 2 * size + 1 && point[0] === 4) &&
    !(point.length === size + 1 && (point[0] === 2 || point[0] === 3))
  ) {
    throw malformedKey(`${spec.crv} public key must be a SEC1 point`);
  }
  try {
    return spec.impl.Point.fromBytes(point).toBytes(false);
  } catch (e) {
    throw new OmtError('core.key.malformed', `${spec.crv} public key is not a valid curve point`, {
      cause: e,
    });
  }
}

/**
 * Derives the raw public key of a component (non-hybrid) suite from its raw
 * secret key, validating the secret's length and range.
 */
export function derivePublicKey(suite: SuiteId, secretKey: Uint8Array): Uint8Array {
  const spec = specOf(suite);
  switch (spec.family) {
    case 'ml-dsa':
      // suite.ts: the 32-byte seed ξ, or the expanded FIPS 204 sk.
      if (secretKey.length === 32) return spec.impl.keygen(secretKey).publicKey;
      if (secretKey.length === spec.expandedSecretKeySize) {
        try {
          return spec.impl.getPublicKey(secretKey);
        } catch (e) {
          throw new OmtError('core.key.malformed', `${suite} expanded secret key is invalid`, { cause: e });
        }
      }
      throw malformedKey(
        `${suite} secret key must be a 32-byte seed or ${spec.expandedSecretKeySize}-byte expanded key`,
      );
    case 'slh-dsa':
      // FIPS 205 §9.1: sk = SK.seed ‖ SK.prf ‖ PK.seed ‖ PK.root, pk = PK.seed ‖ PK.root.
      if (secretKey.length !== 4 * spec.n)
        throw malformedKey(`${suite} secret key must be ${4 * spec.n} bytes`);
      return secretKey.slice(2 * spec.n);
    case 'eddsa':
      if (secretKey.length !== spec.size)
        throw malformedKey(`${suite} secret key must be ${spec.size} bytes`);
      return spec.impl.getPublicKey(secretKey);
    case 'ecdsa':
      if (secretKey.length !== spec.size || !spec.impl.utils.isValidSecretKey(secretKey)) {
        throw malformedKey(`${suite} secret key must be a ${spec.size}-byte scalar in [1, n-1]`);
      }
      return spec.impl.getPublicKey(secretKey, false);
    case 'rsa':
      throw new OmtError('core.alg.unsupported', 'RSA suites are verify-only: no secret keys');
    case 'hybrid':
      throw new OmtError('core.alg.unsupported', 'derivePublicKey takes a component suite');
  }
}

/** Validates a component public key; returns it normalized (EC: uncompressed). */
export function checkPublicKey(suite: SuiteId, publicKey: Uint8Array): Uint8Array {
  const spec = specOf(suite);
  switch (spec.family) {
    case 'ml-dsa':
      if (publicKey.length !== spec.publicKeySize)
        throw malformedKey(`${suite} public key must be ${spec.publicKeySize} bytes`);
      return publicKey;
    case 'slh-dsa':
      if (publicKey.length !== 2 * spec.n)
        throw malformedKey(`${suite} public key must be ${2 * spec.n} bytes`);
      return publicKey;
    case 'eddsa':
      if (publicKey.length !== spec.size)
        throw malformedKey(`${suite} public key must be ${spec.size} bytes`);
      try {
        spec.impl.Point.fromBytes(publicKey);
      } catch (e) {
        throw new OmtError('core.key.malformed', `${suite} public key is not a valid point`, { cause: e });
      }
      return publicKey;
    case 'ecdsa':
      return normalizeEcPoint(spec, publicKey);
    case 'rsa':
      parseRsaPublicKey(publicKey);
      return publicKey;
    case 'hybrid':
      throw new OmtError('core.alg.unsupported', 'checkPublicKey takes a component suite');
  }
}

/** Component parts of a hybrid key (suite.ts: pq ‖ classical for both keys). */
export interface HybridParts {
  readonly pq: KeyMaterial;
  readonly classical: KeyMaterial;
}

/** Size of the classical component's raw public key in uncompressed form / secret key. */
function classicalSizes(suite: SuiteId): { publicKey: number; secretKey: number } {
  const spec = specOf(suite);
  if (spec.family === 'eddsa') return { publicKey: spec.size, secretKey: spec.size };
  if (spec.family === 'ecdsa') return { publicKey: 2 * spec.size + 1, secretKey: spec.size };
  throw new OmtError('core.alg.unsupported', 'unsupported hybrid classical component');
}

/** Splits a hybrid key into its components (not yet validated). */
export function splitHybrid(key: KeyMaterial): HybridParts {
  const spec = specOf(key.suite);
  if (spec.family !== 'hybrid') throw new OmtError('core.alg.unsupported', 'not a hybrid suite');
  const pqSpec = specOf(spec.pq);
  if (pqSpec.family !== 'ml-dsa')
    throw new OmtError('core.alg.unsupported', 'unsupported hybrid PQ component');
  const cs = classicalSizes(spec.classical);
  // The PQ public key has a fixed size; the classical one follows (a compressed EC point is accepted).
  if (key.publicKey.length <= pqSpec.publicKeySize) throw malformedKey(`${key.suite} public key too short`);
  const pqPublic = key.publicKey.subarray(0, pqSpec.publicKeySize);
  const classicalPublic = key.publicKey.subarray(pqSpec.publicKeySize);
  let pqSecret: Uint8Array | undefined;
  let classicalSecret: Uint8Array | undefined;
  if (key.secretKey !== undefined) {
    // The classical secret has a fixed size at the end; the PQ secret (seed or expanded) precedes it.
    if (key.secretKey.length <= cs.secretKey) throw malformedKey(`${key.suite} secret key too short`);
    pqSecret = key.secretKey.subarray(0, key.secretKey.length - cs.secretKey);
    classicalSecret = key.secretKey.subarray(key.secretKey.length - cs.secretKey);
  }
  return {
    pq:
      pqSecret === undefined
        ? { suite: spec.pq, publicKey: pqPublic }
        : { suite: spec.pq, publicKey: pqPublic, secretKey: pqSecret },
    classical:
      classicalSecret === undefined
        ? { suite: spec.classical, publicKey: classicalPublic }
        : { suite: spec.classical, publicKey: classicalPublic, secretKey: classicalSecret },
  };
}

/** Joins validated component keys into a hybrid key of `suite`. */
export function joinHybrid(suite: SuiteId, pq: KeyMaterial, classical: KeyMaterial): KeyMaterial {
  const publicKey = concatBytes(pq.publicKey, classical.publicKey);
  if (pq.secretKey === undefined && classical.secretKey === undefined) return { suite, publicKey };
  if (pq.secretKey === undefined || classical.secretKey === undefined) {
    throw malformedKey('hybrid key needs both component secret keys or neither');
  }
  return { suite, publicKey, secretKey: concatBytes(pq.secretKey, classical.secretKey) };
}

function checkComponent(
  suite: SuiteId,
  publicKey: Uint8Array,
  secretKey: Uint8Array | undefined,
): KeyMaterial {
  const pk = checkPublicKey(suite, publicKey);
  if (secretKey === undefined) return { suite, publicKey: pk };
  const derived = derivePublicKey(suite, secretKey);
  if (!equalBytes(derived, pk)) throw malformedKey(`${suite} public key does not match the secret key`);
  return { suite, publicKey: pk, secretKey };
}

/**
 * Validates outside key material: known suite, byte arrays, lengths, points
 * on the curve, and that the public key belongs to the secret key. Returns a
 * normalized copy (EC points uncompressed).
 *
 * @example
 * ```ts
 * const key = checkKeyMaterial({ suite: 'Ed25519', publicKey, secretKey });
 * ```
 */
export function checkKeyMaterial(key: unknown): KeyMaterial {
  if (typeof key !== 'object' || key === null)
    throw new OmtError('core.input.invalid', 'key must be an object');
  const k = key as { suite?: unknown; publicKey?: unknown; secretKey?: unknown };
  if (!isSuiteId(k.suite)) throw new OmtError('core.alg.unsupported', 'unknown signature suite');
  if (!isBytes(k.publicKey)) throw new OmtError('core.input.invalid', 'key.publicKey must be a Uint8Array');
  if (k.secretKey !== undefined && !isBytes(k.secretKey))
    throw new OmtError('core.input.invalid', 'key.secretKey must be a Uint8Array');
  const suite = k.suite;
  const publicKey = Uint8Array.from(k.publicKey);
  const secretKey = k.secretKey === undefined ? undefined : Uint8Array.from(k.secretKey);
  const spec = KEY_SPECS[suite];
  if (spec.family !== 'hybrid') return checkComponent(suite, publicKey, secretKey);
  const parts = splitHybrid(secretKey === undefined ? { suite, publicKey } : { suite, publicKey, secretKey });
  return joinHybrid(
    suite,
    checkComponent(parts.pq.suite, parts.pq.publicKey, parts.pq.secretKey),
    checkComponent(parts.classical.suite, parts.classical.publicKey, parts.classical.secretKey),
  );
}

/** Returns a copy of `key` without its secret key. */
export function publicPart(key: KeyMaterial): KeyMaterial {
  return { suite: key.suite, publicKey: key.publicKey };
}
