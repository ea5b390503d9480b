/**
 * `createC2paSigner`: a claim signer prepared once from a key and a certificate chain, then
 * reused for any number of assets. Importing a PEM key derives its public key (pure-JS point
 * multiplication or ML-DSA key expansion, 1–3 ms) and the chain has to be parsed and, for hybrid
 * keys, split by key family; a prepared signer does that work once, so signing an asset costs the
 * signature and the hash plus the manifest assembly only (`omt sign`, services, the benchmark).
 *
 * Classical (ES256/384/512, Ed25519), post-quantum (ML-DSA-44/65/87), hybrid (classical claim
 * signature + PQ countersignature) through `signClaim`; RSA-PSS (PS256/384/512) through WebCrypto,
 * because core's RSA suites verify only (the COSE structure is still built by core).
 *
 * @example
 * ```ts
 * import { createC2paSigner, signFile } from '@omt/c2pa/sign';
 * const signer = await createC2paSigner({ key: signerKeyPem, chain: chainPem });
 * for (const asset of assets) await signFile({ asset, mime: 'image/jpeg', signer });
 * ```
 */
import { concatBytes, isBytes } from '@omt/core/bytes';
import type { CborValue } from '@omt/core/cbor';
import {
  buildSigStructure1,
  COSE_HEADER,
  type CoseLabel,
  encodeCoseSign1,
  encodeProtectedHeader,
  x5chainHeaderValue,
} from '@omt/core/cose';
import { isOmtError, OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { decodePemBlocks, importPem, type KeyMaterial } from '@omt/core/keys';
import type { RandomSource } from '@omt/core/random';
import { getSuite, isSuiteId, type SuiteId } from '@omt/core/suites';
import * as z from 'zod/mini';
import { CLAIM_SIGNATURE_SUITES, isTimestamper, signClaim } from './claim-signature.js';
import { DerError, kids, need, oid, one } from './der-reader.js';
import { splitHybridChain } from './pki.js';
import type { TimestampAuthority } from './ports.js';
import { stampClaimSignature } from './timestamp.js';
import { decodeCertificatesPem } from './x509.js';

/** Per-call options of {@link C2paSigner.sign}. */
export interface C2paSignOptions {
  readonly random?: RandomSource;
  /** An RFC 3161 TSA (or a function over the exact bytes): the token goes in `sigTst2`. */
  readonly timestamp?: TimestampAuthority | ((data: Uint8Array) => Promise<Uint8Array>);
}

/** A prepared claim signer: key imported, chain parsed (and split for hybrid) once. */
export interface C2paSigner {
  /** The suite the claim is signed with (hybrid: e.g. 'ML-DSA-65+ES256'). */
  readonly suite: SuiteId;
  /** The x5chain of the claim signature, leaf first (hybrid: the classical chain). */
  readonly chain: readonly Uint8Array[];
  /** Hybrid only: the PQ chain carried in the countersignature. */
  readonly pqChain: readonly Uint8Array[] | undefined;
  /** The public key of the secret (hybrid: PQ ‖ classical); undefined for RSA. */
  readonly publicKey: Uint8Array | undefined;
  /**
   * The exact size of the COSE_Sign1 {@link sign} returns without a timestamp, computed from the
   * suite's fixed signature size; undefined when it is not fixed (RSA).
   */
  readonly signatureSize: number | undefined;
  /** Signs claim bytes into a C2PA COSE_Sign1 (detached payload; x5chain protected). */
  sign(claimBytes: Uint8Array, options?: C2paSignOptions): Promise<Uint8Array>;
}

/** Options of {@link createC2paSigner}. */
export interface CreateC2paSignerOptions {
  /** A core KeyMaterial (with secretKey) or PKCS#8 PEM text (hybrid: PQ block, then classical). */
  readonly key: KeyMaterial | string;
  /** Certificate chain, signer first (DER list or PEM text); hybrid: both chains (split by key family). */
  readonly chain: readonly Uint8Array[] | string;
  /** Default: the key's suite. RSA PEM keys need 'PS256' | 'PS384' | 'PS512'. */
  readonly suite?: SuiteId;
}

const bytesSchema = z.custom<Uint8Array>((v) => isBytes(v), 'must be a Uint8Array');
const CreateSchema = z.object({
  key: z.union([
    z.string().check(z.minLength(1), z.maxLength(1 << 20)),
    z.custom<KeyMaterial>(
      (v) => typeof v === 'object' && v !== null && typeof (v as KeyMaterial).suite === 'string',
    ),
  ]),
  chain: z.union([
    z.string().check(z.minLength(1)),
    z.array(bytesSchema).check(z.minLength(1), z.maxLength(32)),
  ]),
  suite: z.optional(z.string().check(z.refine((s) => isSuiteId(s), 'unknown signature suite'))),
});
const SignOptionsSchema = z.optional(
  z.object({
    random: z.optional(z.custom<RandomSource>((v) => typeof v === 'function')),
    timestamp: z.optional(
      z.custom<TimestampAuthority | ((d: Uint8Array) => Promise<Uint8Array>)>(isTimestamper),
    ),
  }),
);

const RSA: Partial<Record<SuiteId, { hash: string; saltLength: number }>> = {
  PS256: { hash: 'SHA-256', saltLength: 32 },
  PS384: { hash: 'SHA-384', saltLength: 48 },
  PS512: { hash: 'SHA-512', saltLength: 64 },
};

/**
 * Whether a suite is signed through WebCrypto RSA-PSS (PS256/384/512).
 *
 * @example
 * ```ts
 * isRsaSigningSuite('PS256'); // true
 * ```
 */
export function isRsaSigningSuite(suite: string | undefined): boolean {
  return suite !== undefined && RSA[suite as SuiteId] !== undefined;
}

const RSA_ENCRYPTION_ALG = /* @__PURE__ */ Uint8Array.of(
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
);

function derHeader(tag: number, len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(tag, len);
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(tag, 0x80 | bytes.length, ...bytes);
}

/**
 * WebCrypto imports RSA PKCS#8 only under rsaEncryption; keys labelled id-RSASSA-PSS (as
 * c2pa-rs's ps256.pem, RFC 4055 §1.2) are re-wrapped with the same RSAPrivateKey inside.
 */
function asRsaEncryptionPkcs8(pkcs8: Uint8Array): Uint8Array {
  try {
    const [version, alg, key] = kids(need(one(pkcs8), 0x30, 'PrivateKeyInfo').value);
    const algOid = oid(kids(need(alg, 0x30, 'AlgorithmIdentifier').value)[0]);
    if (algOid !== '1.2.840.113549.1.1.10' || version === undefined || key === undefined) return pkcs8;
    const body = concatBytes(version.raw, RSA_ENCRYPTION_ALG, key.raw);
    return concatBytes(derHeader(0x30, body.length), body);
  } catch (e) {
    if (e instanceof DerError)
      throw new OmtError('core.key.malformed', 'the RSA private key is not PKCS#8 DER');
    throw e;
  }
}

/** An RSA-PSS C2PA signer through WebCrypto (core's RSA suites verify only). */
async function rsaSigner(suite: SuiteId, keyPem: string, chain: readonly Uint8Array[]): Promise<C2paSigner> {
  const block = decodePemBlocks(keyPem).find((b) => b.label === 'PRIVATE KEY');
  if (block === undefined) throw new OmtError('core.key.malformed', 'no PRIVATE KEY PEM block');
  const p = RSA[suite] as { hash: string; saltLength: number };
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined)
    throw new OmtError('c2pa.signature.alg-unsupported', 'RSA signing needs WebCrypto');
  let key: CryptoKey;
  try {
    key = await subtle.importKey(
      'pkcs8',
      asRsaEncryptionPkcs8(block.der).slice(),
      { name: 'RSA-PSS', hash: p.hash },
      false,
      ['sign'],
    );
  } catch (e) {
    if (isOmtError(e)) throw e;
    throw new OmtError('core.key.malformed', 'the RSA private key could not be imported', { cause: e });
  }
  const protectedBytes = encodeProtectedHeader(
    new Map<CoseLabel, CborValue>([
      [COSE_HEADER.alg, getSuite(suite).coseAlg as number],
      [COSE_HEADER.x5chain, x5chainHeaderValue(chain)],
    ]),
  );
  return {
    suite,
    chain,
    pqChain: undefined,
    publicKey: undefined,
    signatureSize: undefined,
    async sign(claimBytes, options) {
      const opts = parseInput(SignOptionsSchema, options, 'c2pa.input.invalid', 'sign options');
      if (!isBytes(claimBytes)) throw new OmtError('c2pa.input.invalid', 'claimBytes must be a Uint8Array');
      const tbs = buildSigStructure1({ bodyProtected: protectedBytes, payload: claimBytes });
      const sig = new Uint8Array(
        await subtle.sign({ name: 'RSA-PSS', saltLength: p.saltLength }, key, tbs.slice()),
      );
      const cose = encodeCoseSign1({
        protectedBytes,
        unprotectedHeaders: new Map(),
        payload: null,
        signature: sig,
        tagged: true,
      });
      return opts?.timestamp === undefined ? cose : stampClaimSignature(cose, opts.timestamp);
    },
  };
}

/**
 * The size of the COSE_Sign1 `signClaim` makes (protected alg + x5chain, the suite's fixed-size
 * signature; hybrid: plus the PQ countersignature with its own alg + x5chain), computed from the
 * suite's known signature size instead of a trial signature. Undefined when a part has no fixed
 * size.
 */
function claimSignatureSize(
  suite: SuiteId,
  chain: readonly Uint8Array[],
  pqChain: readonly Uint8Array[] | undefined,
): number | undefined {
  const part = (id: SuiteId, c: readonly Uint8Array[]) => {
    const s = getSuite(id);
    if (s.coseAlg === undefined || s.signatureSize === undefined) return undefined;
    return {
      protectedBytes: encodeProtectedHeader(
        new Map<CoseLabel, CborValue>([
          [COSE_HEADER.alg, s.coseAlg],
          [COSE_HEADER.x5chain, x5chainHeaderValue(c)],
        ]),
      ),
      signature: new Uint8Array(s.signatureSize),
    };
  };
  const [pqId, classicalId] = pqChain === undefined ? [undefined, suite] : suite.split('+');
  const main = part(classicalId as SuiteId, chain);
  if (main === undefined) return undefined;
  const unprotectedHeaders = new Map<CoseLabel, CborValue>();
  if (pqChain !== undefined) {
    const pq = pqId === undefined ? undefined : part(pqId as SuiteId, pqChain);
    if (pq === undefined) return undefined;
    unprotectedHeaders.set(COSE_HEADER.countersignature, [pq.protectedBytes, new Map(), pq.signature]);
  }
  return encodeCoseSign1({ ...main, unprotectedHeaders, payload: null, tagged: true }).length;
}

/**
 * Prepares a C2PA claim signer from a key and its certificate chain: RSA-PSS from PKCS#8 PEM,
 * every claim signature suite, and hybrid keys with their split classical/PQ chains. Throws
 * `c2pa.input.invalid` (bad options, a hybrid chain without both families), `core.key.*`
 * (unusable key, suite mismatch, no secret part), `c2pa.signature.alg-unsupported`,
 * `c2pa.x509.malformed` (unparsable chain).
 *
 * @example
 * ```ts
 * const signer = await createC2paSigner({ key: pki.files['signer.key.pem'], chain: pki.files['chain.pem'] });
 * const cose = await signer.sign(claimBytes);
 * ```
 */
export async function createC2paSigner(options: CreateC2paSignerOptions): Promise<C2paSigner> {
  const o = parseInput(CreateSchema, options, 'c2pa.input.invalid', 'createC2paSigner options');
  const ders = typeof o.chain === 'string' ? decodeCertificatesPem(o.chain) : [...o.chain];
  if (ders.length === 0) throw new OmtError('c2pa.input.invalid', 'the chain holds no certificate');
  const requested = o.suite as SuiteId | undefined;
  if (isRsaSigningSuite(requested)) {
    if (typeof o.key !== 'string')
      throw new OmtError('c2pa.input.invalid', 'RSA keys are given as PKCS#8 PEM text');
    return rsaSigner(requested as SuiteId, o.key, ders);
  }
  let key: KeyMaterial;
  try {
    key = typeof o.key === 'string' ? importPem(o.key, requested ? { suite: requested } : undefined) : o.key;
  } catch (e) {
    if (isOmtError(e)) throw e;
    throw new OmtError('core.key.malformed', 'the signing key could not be read', { cause: e });
  }
  const suite = requested ?? key.suite;
  if (key.suite !== suite)
    throw new OmtError('core.key.suite-mismatch', `a ${key.suite} key cannot sign with ${suite}`);
  if (!isBytes(key.secretKey)) throw new OmtError('core.key.malformed', 'the key has no secret part');
  const secretKey = key.secretKey;
  const hybrid = getSuite(suite).family === 'hybrid';
  if (!hybrid && !CLAIM_SIGNATURE_SUITES.includes(suite))
    throw new OmtError('c2pa.signature.alg-unsupported', `${suite} is not a C2PA claim signature algorithm`);
  const split = hybrid ? splitHybridChain(ders) : undefined;
  const chain = split ? split.classical : ders;
  return {
    suite,
    chain,
    pqChain: split?.pq,
    publicKey: key.publicKey,
    signatureSize: claimSignatureSize(suite, chain, split?.pq),
    sign(claimBytes, options) {
      const opts = parseInput(SignOptionsSchema, options, 'c2pa.input.invalid', 'sign options');
      return signClaim({
        claimBytes,
        signer: { suite, secretKey },
        chain,
        ...(split ? { pqChain: split.pq } : {}),
        ...(opts?.random ? { random: opts.random } : {}),
        ...(opts?.timestamp ? { timestamp: opts.timestamp } : {}),
      });
    },
  };
}

/**
 * Whether `v` looks like a {@link C2paSigner} (what `signFile` accepts as `signer`).
 *
 * @example
 * ```ts
 * isC2paSigner(await createC2paSigner({ key, chain })); // true
 * ```
 */
export function isC2paSigner(v: unknown): v is C2paSigner {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as C2paSigner).sign === 'function' &&
    typeof (v as C2paSigner).suite === 'string' &&
    Array.isArray((v as C2paSigner).chain)
  );
}
