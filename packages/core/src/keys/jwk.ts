import { sha256 } from '@noble/hashes/sha2.js';
import * as z from 'zod/mini';
import { concatBytes, fromBase64Url, toBase64Url, utf8 } from '../bytes.js';
import { OmtError } from '../errors.js';
import { parseInput } from '../input.js';
import type { SuiteId } from '../suites/suite.js';
import { joseAlgOf } from './alg-ids.js';
import { checkKeyMaterial, type KeyMaterial, malformedKey, splitHybrid } from './key-material.js';
import { ALL_SUITES, ECDSA_SUITE_BY_CURVE, isSuiteId, KEY_SPECS, RSA_SUITES } from './key-spec.js';
import { checkRsaParts, encodeRsaPublicKey, parseRsaPublicKey } from './rsa-public-key.js';

/**
 * JSON Web Keys (RFC 7517):
 * - OKP Ed25519 / Ed448 (RFC 8037 §2),
 * - EC P-256 / P-384 / P-521 (RFC 7518 §6.2), secp256k1 (RFC 8812 §3.1),
 * - RSA public keys (RFC 7518 §6.3.1; private members are rejected — RSA is verify-only here),
 * - AKP (RFC 9964 §3) for ML-DSA (`priv` = the 32-byte seed, §4) and SLH-DSA,
 * - hybrid suites: `{ kty: 'AKP', alg: '<hybrid suite id>', pub, priv }` over the
 *   raw concatenations of `suite.ts` (pq ‖ classical). This is OUR convention;
 *   no standard covers these pairs.
 */
export interface Jwk {
  readonly kty: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly d?: string;
  readonly n?: string;
  readonly e?: string;
  readonly pub?: string;
  readonly priv?: string;
}

export interface ExportJwkOptions {
  /** `kid` to set; default the RFC 7638 thumbprint ({@link keyId}). */
  readonly kid?: string;
  /** Export only the public members even when the key has a secret. */
  readonly publicOnly?: boolean;
}

export interface ImportJwkOptions {
  /** Suite to bind the key to: required for RSA JWKs without `alg`, checked against the key otherwise. */
  readonly suite?: SuiteId;
}

const b64u = z
  .string()
  .check(z.maxLength(32768), z.regex(/^[A-Za-z0-9_-]+$/, 'must be base64url without padding'));
const common = {
  kid: z.optional(z.string().check(z.maxLength(1024))),
  alg: z.optional(z.string().check(z.maxLength(64))),
  use: z.optional(z.string()),
};
const OkpSchema = z.looseObject({
  kty: z.literal('OKP'),
  crv: z.enum(['Ed25519', 'Ed448']),
  x: b64u,
  d: z.optional(b64u),
  ...common,
});
const EcSchema = z.looseObject({
  kty: z.literal('EC'),
  crv: z.enum(['P-256', 'P-384', 'P-521', 'secp256k1']),
  x: b64u,
  y: b64u,
  d: z.optional(b64u),
  ...common,
});
const RsaSchema = z.looseObject({ kty: z.literal('RSA'), n: b64u, e: b64u, ...common });
const AkpSchema = z.looseObject({
  kty: z.literal('AKP'),
  alg: z.string().check(z.maxLength(64)),
  pub: b64u,
  priv: z.optional(b64u),
  kid: common.kid,
});
const JwkSchema = z.discriminatedUnion('kty', [OkpSchema, EcSchema, RsaSchema, AkpSchema]);

const KTYS = new Set(['OKP', 'EC', 'RSA', 'AKP']);
const RSA_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

function b64(text: string, what: string): Uint8Array {
  try {
    return fromBase64Url(text);
  } catch (e) {
    throw new OmtError('core.key.malformed', `JWK member ${what} is not valid base64url`, { cause: e });
  }
}

function requireSeedForm(suite: SuiteId, secretKey: Uint8Array): void {
  if (KEY_SPECS[suite].family === 'ml-dsa' && secretKey.length !== 32) {
    // RFC 9964 §4: `priv` MUST be the 32-byte seed.
    throw new OmtError(
      'core.alg.unsupported',
      `${suite} JWK/COSE_Key priv must be the seed; this key has only the expanded form`,
    );
  }
}

/** The JWK members of a validated key, without kid/alg. */
function jwkMembers(k: KeyMaterial, withSecret: boolean): Record<string, string> {
  const spec = KEY_SPECS[k.suite];
  const sk = withSecret ? k.secretKey : undefined;
  switch (spec.family) {
    case 'eddsa':
      return sk === undefined
        ? { kty: 'OKP', crv: spec.crv, x: toBase64Url(k.publicKey) }
        : { kty: 'OKP', crv: spec.crv, x: toBase64Url(k.publicKey), d: toBase64Url(sk) };
    case 'ecdsa': {
      const x = toBase64Url(k.publicKey.subarray(1, 1 + spec.size));
      const y = toBase64Url(k.publicKey.subarray(1 + spec.size));
      return sk === undefined
        ? { kty: 'EC', crv: spec.crv, x, y }
        : { kty: 'EC', crv: spec.crv, x, y, d: toBase64Url(sk) };
    }
    case 'rsa': {
      const { n, e } = parseRsaPublicKey(k.publicKey);
      return { kty: 'RSA', n: toBase64Url(n), e: toBase64Url(e) };
    }
    case 'ml-dsa':
    case 'slh-dsa':
    case 'hybrid': {
      const pub = toBase64Url(k.publicKey);
      if (sk === undefined) return { kty: 'AKP', alg: joseAlgOf(k.suite), pub };
      if (spec.family === 'hybrid') {
        const parts = splitHybrid(k);
        requireSeedForm(parts.pq.suite, parts.pq.secretKey as Uint8Array);
      } else {
        requireSeedForm(k.suite, sk);
      }
      return { kty: 'AKP', alg: joseAlgOf(k.suite), pub, priv: toBase64Url(sk) };
    }
  }
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url) over the required public
 * members: OKP crv/kty/x, EC crv/kty/x/y, RSA e/kty/n, AKP alg/kty/pub
 * (RFC 9964 §6).
 *
 * @example
 * ```ts
 * jwkThumbprint({ suite: 'ML-DSA-44', publicKey }); // 'T4xl70S7MT6Zeq6r9V9fPJGVn76wfnXJ21-gyo0Gu6o' for the all-zero seed
 * ```
 */
export function jwkThumbprint(key: KeyMaterial): string {
  const members = jwkMembers(checkKeyMaterial(key), false);
  // RFC 7638 §3.3: required members only, sorted by code unit, no whitespace.
  const names = Object.keys(members).sort();
  const json = `{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(members[n])}`).join(',')}}`;
  return toBase64Url(sha256(utf8(json)));
}

/**
 * The default key identifier of OpenMediaTrust: the RFC 7638 JWK thumbprint.
 *
 * @example
 * ```ts
 * const kid = keyId(key);
 * ```
 */
export function keyId(key: KeyMaterial): string {
  return jwkThumbprint(key);
}

/**
 * Exports a key as a JWK; includes the private member (`d` / `priv`) when
 * the key has a secret (unless `publicOnly`). `alg` is the suite's JOSE name,
 * `kid` defaults to {@link keyId}.
 *
 * @example
 * ```ts
 * exportJwk({ suite: 'ML-DSA-65', publicKey, secretKey }); // { kty: 'AKP', alg: 'ML-DSA-65', pub, priv, kid }
 * ```
 */
export function exportJwk(key: KeyMaterial, opts?: ExportJwkOptions): Jwk {
  const k = checkKeyMaterial(key);
  if (opts?.kid !== undefined && typeof opts.kid !== 'string')
    throw new OmtError('core.input.invalid', 'kid must be a string');
  const members = jwkMembers(k, opts?.publicOnly !== true);
  return { ...members, alg: joseAlgOf(k.suite), kid: opts?.kid ?? keyId(k) } as Jwk;
}

function bindSuite(
  implied: SuiteId,
  alg: string | undefined,
  requested: SuiteId | undefined,
  aliases: readonly string[] = [],
): SuiteId {
  if (alg !== undefined && alg !== joseAlgOf(implied) && !aliases.includes(alg)) {
    throw new OmtError('core.key.suite-mismatch', `JWK alg ${alg} does not fit a ${implied} key`);
  }
  if (requested !== undefined && requested !== implied) {
    throw new OmtError('core.key.suite-mismatch', `a ${implied} key cannot be used with ${requested}`);
  }
  return implied;
}

/**
 * Imports a JWK (validated with zod; unknown `kty` → `core.alg.unsupported`,
 * bad members → `core.key.malformed`). Returns raw key material.
 *
 * @example
 * ```ts
 * const key = importJwk({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' });
 * ```
 */
export function importJwk(jwk: unknown, opts?: ImportJwkOptions): KeyMaterial {
  const requested = opts?.suite;
  if (requested !== undefined && !isSuiteId(requested))
    throw new OmtError('core.alg.unsupported', 'unknown signature suite');
  if (typeof jwk === 'object' && jwk !== null && typeof (jwk as { kty?: unknown }).kty === 'string') {
    const kty = (jwk as { kty: string }).kty;
    if (!KTYS.has(kty))
      throw new OmtError('core.alg.unsupported', 'unsupported JWK kty', {
        details: { kty: kty.slice(0, 16) },
      });
    if (kty === 'RSA' && RSA_PRIVATE_MEMBERS.some((m) => Object.hasOwn(jwk, m))) {
      throw new OmtError(
        'core.alg.unsupported',
        'RSA suites are verify-only: RSA private JWKs are not imported',
      );
    }
  }
  const j = parseInput(JwkSchema, jwk, 'core.key.malformed', 'JWK');
  switch (j.kty) {
    case 'OKP': {
      const suite = bindSuite(j.crv, j.alg, requested, ['EdDSA']);
      const publicKey = b64(j.x, 'x');
      return checkKeyMaterial(
        j.d === undefined ? { suite, publicKey } : { suite, publicKey, secretKey: b64(j.d, 'd') },
      );
    }
    case 'EC': {
      const suite = bindSuite(ECDSA_SUITE_BY_CURVE[j.crv], j.alg, requested);
      const spec = KEY_SPECS[suite];
      if (spec.family !== 'ecdsa') throw new OmtError('core.alg.unsupported', 'not an EC suite');
      const x = b64(j.x, 'x');
      const y = b64(j.y, 'y');
      // RFC 7518 §6.2.1.2/3, §6.2.2.1: full field-length octet strings.
      if (x.length !== spec.size || y.length !== spec.size)
        throw malformedKey(`${j.crv} x and y must be ${spec.size} bytes`);
      const publicKey = concatBytes(Uint8Array.of(4), x, y);
      if (j.d === undefined) return checkKeyMaterial({ suite, publicKey });
      const d = b64(j.d, 'd');
      if (d.length !== spec.size) throw malformedKey(`${j.crv} d must be ${spec.size} bytes`);
      return checkKeyMaterial({ suite, publicKey, secretKey: d });
    }
    case 'RSA': {
      const suite = j.alg ?? requested;
      if (suite === undefined)
        throw new OmtError('core.key.suite-required', 'an RSA JWK without alg needs an explicit suite');
      if (!isSuiteId(suite) || !RSA_SUITES.includes(suite))
        throw new OmtError('core.key.suite-mismatch', 'JWK alg is not an RSA suite');
      if (requested !== undefined && requested !== suite)
        throw new OmtError('core.key.suite-mismatch', `JWK alg ${suite} is not ${requested}`);
      const n = b64(j.n, 'n');
      const e = b64(j.e, 'e');
      // RFC 7518 §6.3.1.1: unsigned big-endian, no leading zero octets.
      if (n[0] === 0 || e[0] === 0) throw malformedKey('RSA n and e must not have leading zero octets');
      return { suite, publicKey: encodeRsaPublicKey(checkRsaParts(n, e)) };
    }
    case 'AKP': {
      const suite = ALL_SUITES.find((s) => joseAlgOf(s) === j.alg);
      const family = suite === undefined ? undefined : KEY_SPECS[suite].family;
      if (suite === undefined || (family !== 'ml-dsa' && family !== 'slh-dsa' && family !== 'hybrid')) {
        throw new OmtError('core.alg.unsupported', 'unsupported AKP alg', {
          details: { alg: j.alg.slice(0, 64) },
        });
      }
      bindSuite(suite, undefined, requested);
      const publicKey = b64(j.pub, 'pub');
      if (j.priv === undefined) return checkKeyMaterial({ suite, publicKey });
      const secretKey = b64(j.priv, 'priv');
      const key = checkKeyMaterial({ suite, publicKey, secretKey });
      const pqSecret = family === 'hybrid' ? (splitHybrid(key).pq.secretKey as Uint8Array) : secretKey;
      const pqSuite = family === 'hybrid' ? splitHybrid(key).pq.suite : suite;
      if (KEY_SPECS[pqSuite].family === 'ml-dsa' && pqSecret.length !== 32)
        throw malformedKey('ML-DSA AKP priv must be the 32-byte seed');
      return key;
    }
  }
}
