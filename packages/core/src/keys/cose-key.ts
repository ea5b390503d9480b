import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, isBytes, utf8 } from '../bytes.js';
import { type CborValue, decodeCbor, encodeCbor } from '../cbor.js';
import { OmtError } from '../errors.js';
import type { SuiteId } from '../suites/suite.js';
import { coseAlgOf } from './alg-ids.js';
import { keyId } from './jwk.js';
import { checkKeyMaterial, type KeyMaterial, malformedKey, splitHybrid } from './key-material.js';
import { ALL_SUITES, ECDSA_SUITE_BY_CURVE, isSuiteId, KEY_SPECS, RSA_SUITES } from './key-spec.js';
import { checkRsaParts, encodeRsaPublicKey, parseRsaPublicKey } from './rsa-public-key.js';

/**
 * COSE_Key (RFC 9052 §7, RFC 9053 §7): kty 1 OKP (crv 6 Ed25519, 7 Ed448;
 * x −2, d −4), kty 2 EC2 (crv 1/2/3 P-256/384/521, 8 secp256k1 per RFC 8812;
 * x −2, y −3, d −4), kty 3 RSA public (RFC 8230: n −1, e −2), kty 7 AKP
 * (RFC 9964: pub −1, priv −2, alg 3 required). Hybrid and SLH-DSA keys use
 * AKP with the suite id as a text `alg` (our convention, see alg-ids.ts).
 */

const KTY = 1;
const KID = 2;
const ALG = 3;
const KEY_OPS = 4;
const BASE_IV = 5;
const KTY_OKP = 1;
const KTY_EC2 = 2;
const KTY_RSA = 3;
const KTY_AKP = 7;

export interface ExportCoseKeyOptions {
  /** `kid` (bstr; a string is UTF-8 encoded). Default: UTF-8 of {@link keyId}; `null` omits it. */
  readonly kid?: Uint8Array | string | null;
  /** Export only the public parameters even when the key has a secret. */
  readonly publicOnly?: boolean;
}

export interface ImportCoseKeyOptions {
  /** Suite to bind the key to: required for RSA keys without `alg`, checked against the key otherwise. */
  readonly suite?: SuiteId;
}

/** The COSE_Key parameters of a validated key (without kid). */
function coseParams(k: KeyMaterial, withSecret: boolean): Map<number, CborValue> {
  const spec = KEY_SPECS[k.suite];
  const sk = withSecret ? k.secretKey : undefined;
  const m = new Map<number, CborValue>();
  switch (spec.family) {
    case 'eddsa':
      m.set(KTY, KTY_OKP).set(ALG, coseAlgOf(k.suite)).set(-1, spec.coseCrv).set(-2, k.publicKey);
      if (sk !== undefined) m.set(-4, sk);
      return m;
    case 'ecdsa':
      m.set(KTY, KTY_EC2).set(ALG, coseAlgOf(k.suite)).set(-1, spec.coseCrv);
      m.set(-2, k.publicKey.slice(1, 1 + spec.size)).set(-3, k.publicKey.slice(1 + spec.size));
      if (sk !== undefined) m.set(-4, sk);
      return m;
    case 'rsa': {
      const { n, e } = parseRsaPublicKey(k.publicKey);
      return m.set(KTY, KTY_RSA).set(ALG, coseAlgOf(k.suite)).set(-1, n.slice()).set(-2, e.slice());
    }
    case 'ml-dsa':
    case 'slh-dsa':
    case 'hybrid': {
      m.set(KTY, KTY_AKP).set(ALG, coseAlgOf(k.suite)).set(-1, k.publicKey);
      if (sk === undefined) return m;
      const pq = spec.family === 'hybrid' ? splitHybrid(k).pq : k;
      if (KEY_SPECS[pq.suite].family === 'ml-dsa' && pq.secretKey?.length !== 32) {
        // RFC 9964 §4: priv MUST be the 32-byte seed.
        throw new OmtError(
          'core.alg.unsupported',
          `${pq.suite} COSE_Key priv must be the seed; this key has only the expanded form`,
        );
      }
      return m.set(-2, sk);
    }
  }
}

/**
 * Exports a key as a deterministically encoded COSE_Key (RFC 8949 §4.2.1).
 *
 * @example
 * ```ts
 * const bytes = exportCoseKey({ suite: 'ML-DSA-44', publicKey, secretKey: seed });
 * ```
 */
export function exportCoseKey(key: KeyMaterial, opts?: ExportCoseKeyOptions): Uint8Array {
  const k = checkKeyMaterial(key);
  const m = coseParams(k, opts?.publicOnly !== true);
  const kid = opts?.kid === undefined ? utf8(keyId(k)) : opts.kid;
  if (kid !== null) {
    if (typeof kid === 'string') m.set(KID, utf8(kid));
    else if (isBytes(kid)) m.set(KID, kid);
    else throw new OmtError('core.input.invalid', 'kid must be bytes, a string or null');
  }
  return encodeCbor(m);
}

/**
 * RFC 9679 COSE Key Thumbprint (SHA-256) over the required public parameters
 * (AKP: kty, alg, pub per RFC 9964 §6; OKP: kty, crv, x; EC2: kty, crv, x, y; RSA: kty, n, e).
 *
 * @example
 * ```ts
 * const thumb = coseKeyThumbprint({ suite: 'ML-DSA-44', publicKey });
 * ```
 */
export function coseKeyThumbprint(key: KeyMaterial): Uint8Array {
  const k = checkKeyMaterial(key);
  const m = coseParams(k, false);
  // RFC 9679 §3: only the required parameters; alg is required only for AKP.
  if (m.get(KTY) !== KTY_AKP) m.delete(ALG);
  return sha256(encodeCbor(m));
}

function bytesParam(m: ReadonlyMap<CborValue, CborValue>, label: number, what: string): Uint8Array {
  const v = m.get(label);
  if (!isBytes(v)) throw malformedKey(`COSE_Key ${what} must be a byte string`);
  return v;
}

function optionalBytesParam(
  m: ReadonlyMap<CborValue, CborValue>,
  label: number,
  what: string,
): Uint8Array | undefined {
  return m.has(label) ? bytesParam(m, label, what) : undefined;
}

function checkLabels(m: ReadonlyMap<CborValue, CborValue>, allowed: readonly number[]): void {
  for (const label of m.keys()) {
    if (
      typeof label !== 'number' ||
      !(
        allowed.includes(label) ||
        label === KTY ||
        label === KID ||
        label === ALG ||
        label === KEY_OPS ||
        label === BASE_IV
      )
    ) {
      throw malformedKey('unexpected COSE_Key parameter', {
        label: typeof label === 'number' ? label : typeof label,
      });
    }
  }
}

function bindAlg(
  implied: SuiteId,
  alg: CborValue,
  requested: SuiteId | undefined,
  aliases: readonly number[] = [],
): SuiteId {
  if (
    alg !== undefined &&
    alg !== coseAlgOf(implied) &&
    !(typeof alg === 'number' && aliases.includes(alg))
  ) {
    throw new OmtError('core.key.suite-mismatch', `COSE_Key alg does not fit a ${implied} key`);
  }
  if (requested !== undefined && requested !== implied) {
    throw new OmtError('core.key.suite-mismatch', `a ${implied} key cannot be used with ${requested}`);
  }
  return implied;
}

function withSecret(suite: SuiteId, publicKey: Uint8Array, secretKey: Uint8Array | undefined): KeyMaterial {
  return checkKeyMaterial(secretKey === undefined ? { suite, publicKey } : { suite, publicKey, secretKey });
}

/**
 * Imports a COSE_Key from its CBOR bytes or a decoded map. Strict: unknown
 * labels, wrong types or lengths → `core.key.malformed`; unknown kty/alg →
 * `core.alg.unsupported`.
 *
 * @example
 * ```ts
 * const key = importCoseKey(fromHex(vector.key)); // { suite: 'ML-DSA-44', publicKey, secretKey }
 * ```
 */
export function importCoseKey(
  input: Uint8Array | ReadonlyMap<CborValue, CborValue>,
  opts?: ImportCoseKeyOptions,
): KeyMaterial {
  const requested = opts?.suite;
  if (requested !== undefined && !isSuiteId(requested))
    throw new OmtError('core.alg.unsupported', 'unknown signature suite');
  let value: CborValue;
  if (isBytes(input)) {
    try {
      value = decodeCbor(input);
    } catch (e) {
      throw new OmtError('core.key.malformed', 'COSE_Key is not well-formed CBOR', { cause: e });
    }
  } else {
    value = input;
  }
  if (!(value instanceof Map)) throw malformedKey('COSE_Key must be a CBOR map');
  const m = value as ReadonlyMap<CborValue, CborValue>;
  const kty = m.get(KTY);
  const alg = m.get(ALG);
  if (alg !== undefined && typeof alg !== 'number' && typeof alg !== 'string')
    throw malformedKey('COSE_Key alg must be an int or text');
  if (m.has(KID) && !isBytes(m.get(KID))) throw malformedKey('COSE_Key kid must be a byte string');
  switch (kty) {
    case KTY_OKP: {
      checkLabels(m, [-1, -2, -4]);
      const crv = m.get(-1);
      const implied = ALL_SUITES.find((s) => {
        const sp = KEY_SPECS[s];
        return sp.family === 'eddsa' && sp.coseCrv === crv;
      });
      if (implied === undefined) throw new OmtError('core.alg.unsupported', 'unsupported OKP curve');
      // −19 / −53 are the RFC 9864 fully-specified Ed25519 / Ed448 ids.
      const suite = bindAlg(implied, alg, requested, [implied === 'Ed25519' ? -19 : -53]);
      return withSecret(suite, bytesParam(m, -2, 'x'), optionalBytesParam(m, -4, 'd'));
    }
    case KTY_EC2: {
      checkLabels(m, [-1, -2, -3, -4]);
      const crv = m.get(-1);
      const implied = ALL_SUITES.find((s) => {
        const sp = KEY_SPECS[s];
        return sp.family === 'ecdsa' && sp.coseCrv === crv;
      });
      const spec = implied === undefined ? undefined : KEY_SPECS[implied];
      if (implied === undefined || spec?.family !== 'ecdsa')
        throw new OmtError('core.alg.unsupported', 'unsupported EC2 curve');
      const suite = bindAlg(ECDSA_SUITE_BY_CURVE[spec.crv], alg, requested);
      const x = bytesParam(m, -2, 'x');
      const y = m.get(-3);
      // RFC 9053 §7.1.1: x (and a bstr y) keep leading zeros; y may be a bool (compressed point sign).
      if (x.length !== spec.size) throw malformedKey(`${spec.crv} x must be ${spec.size} bytes`);
      let point: Uint8Array;
      if (typeof y === 'boolean') point = concatBytes(Uint8Array.of(y ? 3 : 2), x);
      else if (isBytes(y) && y.length === spec.size) point = concatBytes(Uint8Array.of(4), x, y);
      else throw malformedKey(`${spec.crv} y must be ${spec.size} bytes or a bool`);
      const d = optionalBytesParam(m, -4, 'd');
      if (d !== undefined && d.length !== spec.size)
        throw malformedKey(`${spec.crv} d must be ${spec.size} bytes`);
      return withSecret(suite, point, d);
    }
    case KTY_RSA: {
      if ([-3, -4, -5, -6, -7, -8, -9, -10, -11, -12].some((l) => m.has(l))) {
        throw new OmtError(
          'core.alg.unsupported',
          'RSA suites are verify-only: RSA private COSE_Keys are not imported',
        );
      }
      checkLabels(m, [-1, -2]);
      const fromAlg = alg === undefined ? undefined : RSA_SUITES.find((s) => coseAlgOf(s) === alg);
      if (alg !== undefined && fromAlg === undefined)
        throw new OmtError('core.key.suite-mismatch', 'COSE_Key alg is not an RSA algorithm');
      const suite = fromAlg ?? requested;
      if (suite === undefined)
        throw new OmtError('core.key.suite-required', 'an RSA COSE_Key without alg needs an explicit suite');
      if (!RSA_SUITES.includes(suite) || (requested !== undefined && requested !== suite)) {
        throw new OmtError(
          'core.key.suite-mismatch',
          `this RSA key cannot be used with ${requested ?? suite}`,
        );
      }
      const n = bytesParam(m, -1, 'n');
      const e = bytesParam(m, -2, 'e');
      if (n[0] === 0 || e[0] === 0) throw malformedKey('RSA n and e must not have leading zero octets');
      return { suite, publicKey: encodeRsaPublicKey(checkRsaParts(n, e)) };
    }
    case KTY_AKP: {
      checkLabels(m, [-1, -2]);
      if (alg === undefined) throw malformedKey('AKP COSE_Key requires alg (RFC 9964 §3)');
      const suite = ALL_SUITES.find((s) => {
        const f = KEY_SPECS[s].family;
        return (f === 'ml-dsa' || f === 'slh-dsa' || f === 'hybrid') && coseAlgOf(s) === alg;
      });
      if (suite === undefined) throw new OmtError('core.alg.unsupported', 'unsupported AKP alg');
      bindAlg(suite, alg, requested);
      const priv = optionalBytesParam(m, -2, 'priv');
      const key = withSecret(suite, bytesParam(m, -1, 'pub'), priv);
      if (priv !== undefined) {
        const pq = KEY_SPECS[suite].family === 'hybrid' ? splitHybrid(key).pq : key;
        if (KEY_SPECS[pq.suite].family === 'ml-dsa' && pq.secretKey?.length !== 32) {
          throw malformedKey('ML-DSA AKP priv must be the 32-byte seed');
        }
      }
      return key;
    }
    default:
      if (typeof kty === 'number' || typeof kty === 'string')
        throw new OmtError('core.alg.unsupported', 'unsupported COSE_Key kty');
      throw malformedKey('COSE_Key kty missing or not an int');
  }
}
