import { PrivateKey, PrivateKeyInfo } from '@peculiar/asn1-pkcs8';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { equalBytes, fromHex, isBytes, toHex } from '../bytes.js';
import { OmtError } from '../errors.js';
import type { SuiteId } from '../suites/suite.js';
import {
  encodeDer,
  encodeDerBitString,
  encodeDerSequence,
  encodeDerUnsigned,
  readDer,
  readDerBitString,
  readDerChildren,
  readDerSmallInt,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
} from './der.js';
import {
  checkKeyMaterial,
  checkPublicKey,
  derivePublicKey,
  type KeyMaterial,
  malformedKey,
} from './key-material.js';
import {
  ALL_SUITES,
  ECDSA_SUITE_BY_CURVE,
  type EcdsaSpec,
  isSuiteId,
  KEY_SPECS,
  OID_EC_PUBLIC_KEY,
  OID_RSA_ENCRYPTION,
  OID_RSASSA_PSS,
  RSA_SUITES,
} from './key-spec.js';

/** Options for importing a single SPKI / PKCS#8 structure. */
export interface ImportDerOptions {
  /**
   * The suite to bind the key to. Required for RSA keys (the OID does not say
   * PS256 vs RS256); elsewhere it must agree with what the OID implies.
   */
  readonly suite?: SuiteId;
}

const NULL_DER = '0500';

/** Parses with @peculiar/asn1-schema, then requires the input to be exactly the DER re-encoding (no BER, no trailing bytes). */
function parseStrict<T>(der: unknown, target: new () => T, what: string): T {
  if (!isBytes(der)) throw new OmtError('core.input.invalid', `${what} must be a Uint8Array`);
  let parsed: T;
  let again: Uint8Array;
  try {
    parsed = AsnConvert.parse(der, target);
    again = new Uint8Array(AsnConvert.serialize(parsed));
  } catch (e) {
    throw new OmtError('core.key.malformed', `malformed ${what}`, { cause: e });
  }
  if (!equalBytes(again, der))
    throw malformedKey(`${what} is not DER (trailing bytes or non-canonical encoding)`);
  return parsed;
}

type Implied = { readonly kind: 'suite'; readonly suite: SuiteId } | { readonly kind: 'rsa' };

/** Maps an AlgorithmIdentifier to the suite it implies (RFC 9881 §2, RFC 9909 §3, RFC 8410 §3, RFC 5480 §2.1.1, RFC 8017). */
function identify(alg: AlgorithmIdentifier): Implied {
  // @peculiar/asn1-schema yields undefined for absent parameters and null for an ASN.1 NULL.
  const params =
    alg.parameters === undefined
      ? undefined
      : alg.parameters === null
        ? NULL_DER
        : toHex(new Uint8Array(alg.parameters));
  if (alg.algorithm === OID_EC_PUBLIC_KEY) {
    if (params === undefined) throw malformedKey('id-ecPublicKey requires namedCurve parameters');
    for (const id of ALL_SUITES) {
      const s = KEY_SPECS[id];
      if (s.family === 'ecdsa' && s.curveOidDer === params)
        return { kind: 'suite', suite: ECDSA_SUITE_BY_CURVE[s.crv] };
    }
    throw new OmtError(
      'core.alg.unsupported',
      'unsupported EC curve (only named P-256, P-384, P-521, secp256k1)',
    );
  }
  if (alg.algorithm === OID_RSA_ENCRYPTION) {
    // RFC 3279 §2.3.1: parameters MUST be NULL.
    if (params !== NULL_DER) throw malformedKey('rsaEncryption parameters must be NULL');
    return { kind: 'rsa' };
  }
  if (alg.algorithm === OID_RSASSA_PSS) {
    // RFC 4055 §1.2: parameters absent or RSASSA-PSS-params; we only need the key.
    if (params !== undefined && !params.startsWith('30'))
      throw malformedKey('RSASSA-PSS parameters must be a SEQUENCE');
    return { kind: 'rsa' };
  }
  for (const id of ALL_SUITES) {
    const s = KEY_SPECS[id];
    if (
      (s.family === 'ml-dsa' || s.family === 'slh-dsa' || s.family === 'eddsa') &&
      s.oid === alg.algorithm
    ) {
      // RFC 9881 §2, RFC 9909 §3, RFC 8410 §3: parameters MUST be absent.
      if (params !== undefined) throw malformedKey(`${id} AlgorithmIdentifier parameters must be absent`);
      return { kind: 'suite', suite: id };
    }
  }
  throw new OmtError('core.alg.unsupported', 'unsupported key algorithm OID', {
    details: { oid: alg.algorithm },
  });
}

/** Combines what the OID implies with the caller's requested suite. */
function resolveSuite(implied: Implied, requested: SuiteId | undefined): SuiteId {
  if (requested !== undefined && !isSuiteId(requested))
    throw new OmtError('core.alg.unsupported', 'unknown signature suite');
  if (implied.kind === 'rsa') {
    if (requested === undefined) {
      throw new OmtError(
        'core.key.suite-required',
        'an RSA key needs an explicit suite (PS256/384/512 or RS256/384/512)',
      );
    }
    if (!RSA_SUITES.includes(requested))
      throw new OmtError('core.key.suite-mismatch', `an RSA key cannot be used with ${requested}`);
    return requested;
  }
  if (requested !== undefined && requested !== implied.suite) {
    throw new OmtError('core.key.suite-mismatch', `a ${implied.suite} key cannot be used with ${requested}`);
  }
  return implied.suite;
}

function algorithmIdentifierOf(suite: SuiteId): AlgorithmIdentifier {
  const spec = KEY_SPECS[suite];
  switch (spec.family) {
    case 'ml-dsa':
    case 'slh-dsa':
    case 'eddsa':
      return new AlgorithmIdentifier({ algorithm: spec.oid });
    case 'ecdsa':
      return new AlgorithmIdentifier({
        algorithm: OID_EC_PUBLIC_KEY,
        parameters: toArrayBuffer(fromHex(spec.curveOidDer)),
      });
    case 'rsa':
      return new AlgorithmIdentifier({ algorithm: OID_RSA_ENCRYPTION, parameters: null });
    case 'hybrid':
      throw new OmtError(
        'core.alg.unsupported',
        'hybrid keys have no single SPKI/PKCS#8 form; use exportPublicPem/exportPrivatePem (two blocks)',
      );
  }
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

/**
 * Encodes a public key as a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
 * Hybrid keys have no standard OID and throw `core.alg.unsupported`.
 *
 * @example
 * ```ts
 * const der = exportSpki({ suite: 'ML-DSA-65', publicKey });
 * ```
 */
export function exportSpki(key: KeyMaterial): Uint8Array {
  const k = checkKeyMaterial(key);
  const spki = new SubjectPublicKeyInfo({
    algorithm: algorithmIdentifierOf(k.suite),
    subjectPublicKey: toArrayBuffer(k.publicKey),
  });
  return new Uint8Array(AsnConvert.serialize(spki));
}

/**
 * Parses a DER SubjectPublicKeyInfo strictly. The suite comes from the OID
 * (and curve); RSA keys need `opts.suite` (`core.key.suite-required`).
 *
 * @example
 * ```ts
 * const key = importSpki(der); // { suite: 'Ed25519', publicKey }
 * ```
 */
export function importSpki(der: Uint8Array, opts?: ImportDerOptions): KeyMaterial {
  const spki = parseStrict(der, SubjectPublicKeyInfo, 'SubjectPublicKeyInfo');
  const suite = resolveSuite(identify(spki.algorithm), opts?.suite);
  return { suite, publicKey: checkPublicKey(suite, new Uint8Array(spki.subjectPublicKey)) };
}

/** The privateKey octets of OneAsymmetricKey for one suite. */
function encodePrivateKeyField(k: KeyMaterial & { secretKey: Uint8Array }): Uint8Array {
  const spec = KEY_SPECS[k.suite];
  switch (spec.family) {
    case 'ml-dsa':
      // RFC 9881 §6: emit the seed form `seed [0] IMPLICIT OCTET STRING (SIZE (32))`;
      // a key known only in expanded form is emitted as `expandedKey OCTET STRING`.
      return k.secretKey.length === 32
        ? encodeDer(0x80, k.secretKey)
        : encodeDer(TAG_OCTET_STRING, k.secretKey);
    case 'slh-dsa':
      // RFC 9909 §6: the privateKey OCTET STRING holds the raw 4n-byte key itself.
      return k.secretKey;
    case 'eddsa':
      // RFC 8410 §7: CurvePrivateKey ::= OCTET STRING, itself inside privateKey.
      return encodeDer(TAG_OCTET_STRING, k.secretKey);
    case 'ecdsa':
      // RFC 5915 §3 ECPrivateKey; the curve is in the AlgorithmIdentifier (RFC 5915 §3 allows omitting [0]).
      return encodeDerSequence(
        encodeDerUnsigned(Uint8Array.of(1)),
        encodeDer(TAG_OCTET_STRING, k.secretKey),
        encodeDer(0xa1, encodeDerBitString(k.publicKey)),
      );
    case 'rsa':
      throw new OmtError('core.alg.unsupported', 'RSA suites are verify-only: no private key export');
    case 'hybrid':
      throw new OmtError(
        'core.alg.unsupported',
        'hybrid keys have no single PKCS#8 form; use exportPrivatePem (two blocks)',
      );
  }
}

/**
 * Encodes a key pair as DER PKCS#8 PrivateKeyInfo (RFC 5208 / RFC 5958 v1).
 * ML-DSA uses the RFC 9881 seed form.
 *
 * @example
 * ```ts
 * const der = exportPkcs8({ suite: 'ES256', publicKey, secretKey });
 * ```
 */
export function exportPkcs8(key: KeyMaterial): Uint8Array {
  const k = checkKeyMaterial(key);
  if (k.secretKey === undefined)
    throw new OmtError('core.input.invalid', 'exportPkcs8 needs a key with a secret key');
  const algorithm = algorithmIdentifierOf(k.suite);
  const field = encodePrivateKeyField({ ...k, secretKey: k.secretKey });
  const info = new PrivateKeyInfo({
    version: 0,
    privateKeyAlgorithm: algorithm,
    privateKey: new PrivateKey(field),
  });
  return new Uint8Array(AsnConvert.serialize(info));
}

/** Decodes the ML-DSA private key CHOICE of RFC 9881 §6. */
function decodeMlDsaPrivate(suite: SuiteId, field: Uint8Array): Uint8Array {
  const spec = KEY_SPECS[suite];
  if (spec.family !== 'ml-dsa') throw new OmtError('core.alg.unsupported', 'not ML-DSA');
  const el = readDer(field);
  if (el.tag === 0x80) {
    if (el.value.length !== 32) throw malformedKey(`${suite} seed must be 32 bytes`);
    return el.value.slice();
  }
  if (el.tag === TAG_OCTET_STRING) {
    if (el.value.length !== spec.expandedSecretKeySize)
      throw malformedKey(`${suite} expandedKey must be ${spec.expandedSecretKeySize} bytes`);
    return el.value.slice();
  }
  if (el.tag === TAG_SEQUENCE) {
    const items = readDerChildren(el.value);
    const [seed, expanded] = items;
    if (items.length !== 2 || seed?.tag !== TAG_OCTET_STRING || expanded?.tag !== TAG_OCTET_STRING) {
      throw malformedKey(`${suite} 'both' private key must be SEQUENCE { seed, expandedKey }`);
    }
    if (seed.value.length !== 32) throw malformedKey(`${suite} seed must be 32 bytes`);
    if (expanded.value.length !== spec.expandedSecretKeySize)
      throw malformedKey(`${suite} expandedKey has the wrong length`);
    // RFC 9881 §8: the two must be consistent.
    if (!equalBytes(spec.impl.keygen(seed.value).secretKey, expanded.value)) {
      throw malformedKey(`${suite} private key: seed and expandedKey do not match`);
    }
    return seed.value.slice();
  }
  throw malformedKey(`${suite} private key must be seed, expandedKey or both`);
}

/** Decodes RFC 5915 ECPrivateKey; returns the scalar and the embedded public key, if any. */
function decodeEcPrivate(
  spec: EcdsaSpec,
  field: Uint8Array,
): { secretKey: Uint8Array; publicKey?: Uint8Array } {
  const items = readDerChildren(readDer(field, TAG_SEQUENCE).value);
  const [version, scalar, ...rest] = items;
  if (version === undefined || scalar === undefined || readDerSmallInt(version) !== 1) {
    throw malformedKey('ECPrivateKey version must be 1');
  }
  if (scalar.tag !== TAG_OCTET_STRING || scalar.value.length !== spec.size) {
    throw malformedKey(`ECPrivateKey privateKey must be ${spec.size} bytes`);
  }
  let publicKey: Uint8Array | undefined;
  let lastTag = 0;
  for (const el of rest) {
    // [0] parameters then [1] publicKey, each at most once, in order.
    if ((el.tag !== 0xa0 && el.tag !== 0xa1) || el.tag <= lastTag)
      throw malformedKey('unexpected ECPrivateKey field');
    lastTag = el.tag;
    if (el.tag === 0xa0) {
      if (toHex(el.value) !== spec.curveOidDer)
        throw malformedKey('ECPrivateKey parameters do not match the algorithm curve');
    } else {
      publicKey = readDerBitString(readDer(el.value));
    }
  }
  const secretKey = scalar.value.slice();
  return publicKey === undefined ? { secretKey } : { secretKey, publicKey };
}

/**
 * Parses DER PKCS#8 PrivateKeyInfo strictly and derives the public key.
 * ML-DSA accepts the seed, expandedKey and both forms (RFC 9881 §6);
 * embedded public keys (EC) must match the secret. RSA private keys are
 * `core.alg.unsupported`.
 *
 * @example
 * ```ts
 * const { suite, publicKey, secretKey } = importPkcs8(der);
 * ```
 */
export function importPkcs8(der: Uint8Array, opts?: ImportDerOptions): KeyMaterial {
  const info = parseStrict(der, PrivateKeyInfo, 'PrivateKeyInfo');
  if (info.version !== 0) throw malformedKey('PrivateKeyInfo version must be 0');
  const implied = identify(info.privateKeyAlgorithm);
  if (implied.kind === 'rsa')
    throw new OmtError(
      'core.alg.unsupported',
      'RSA suites are verify-only: RSA private keys are not imported',
    );
  const suite = resolveSuite(implied, opts?.suite);
  const spec = KEY_SPECS[suite];
  const field = new Uint8Array(info.privateKey.buffer);
  let secretKey: Uint8Array;
  let embeddedPublic: Uint8Array | undefined;
  switch (spec.family) {
    case 'ml-dsa':
      secretKey = decodeMlDsaPrivate(suite, field);
      break;
    case 'slh-dsa':
      if (field.length !== 4 * spec.n) throw malformedKey(`${suite} private key must be ${4 * spec.n} bytes`);
      secretKey = field.slice();
      break;
    case 'eddsa': {
      const inner = readDer(field, TAG_OCTET_STRING);
      if (inner.value.length !== spec.size)
        throw malformedKey(`${suite} private key must be ${spec.size} bytes`);
      secretKey = inner.value.slice();
      break;
    }
    case 'ecdsa': {
      const ec = decodeEcPrivate(spec, field);
      secretKey = ec.secretKey;
      embeddedPublic = ec.publicKey;
      break;
    }
    default:
      throw new OmtError('core.alg.unsupported', `no PKCS#8 form for ${suite}`);
  }
  const publicKey = derivePublicKey(suite, secretKey);
  if (embeddedPublic !== undefined && !equalBytes(checkPublicKey(suite, embeddedPublic), publicKey)) {
    throw malformedKey(`${suite} embedded public key does not match the private key`);
  }
  return { suite, publicKey, secretKey };
}
