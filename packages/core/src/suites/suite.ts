import type { RandomSource } from '../random.js';

/**
 * Signature suites behind one interface. Raw key and signature encodings (the
 * "raw" form every other format — JWK, COSE_Key, PKCS#8/SPKI — converts to/from):
 *
 * | family   | publicKey                                   | secretKey                                    | signature |
 * |----------|---------------------------------------------|----------------------------------------------|-----------|
 * | ML-DSA   | FIPS 204 pk encoding (1312/1952/2592 B)      | 32-byte seed ξ (RFC 9881 "seed"); the expanded FIPS 204 sk is accepted too | FIPS 204 (2420/3309/4627 B) |
 * | SLH-DSA  | FIPS 205 PK.seed‖PK.root (2n)                | FIPS 205 SK.seed‖SK.prf‖PK.seed‖PK.root (4n)  | FIPS 205 |
 * | EdDSA    | RFC 8032 public key (32 / 57 B)              | RFC 8032 private key seed (32 / 57 B)         | 64 / 114 B |
 * | ECDSA    | SEC1 uncompressed point (compressed accepted)| big-endian scalar, field length               | IEEE P1363 r‖s (as COSE/JWS) |
 * | RSA      | PKCS#1 RSAPublicKey DER                      | — (verify only)                               | PKCS#1 v1.5 / PSS, modulus length |
 * | hybrid   | pq.publicKey ‖ classical.publicKey            | pq.secretKey ‖ classical.secretKey            | pq.signature ‖ classical.signature |
 */
export type SuiteId =
  | 'ML-DSA-44'
  | 'ML-DSA-65'
  | 'ML-DSA-87'
  | 'SLH-DSA-SHA2-128s'
  | 'SLH-DSA-SHA2-128f'
  | 'SLH-DSA-SHA2-192s'
  | 'SLH-DSA-SHA2-192f'
  | 'SLH-DSA-SHA2-256s'
  | 'SLH-DSA-SHA2-256f'
  | 'SLH-DSA-SHAKE-128s'
  | 'SLH-DSA-SHAKE-128f'
  | 'SLH-DSA-SHAKE-192s'
  | 'SLH-DSA-SHAKE-192f'
  | 'SLH-DSA-SHAKE-256s'
  | 'SLH-DSA-SHAKE-256f'
  | 'Ed25519'
  | 'Ed448'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'ES256K'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'ML-DSA-44+Ed25519'
  | 'ML-DSA-65+ES256'
  | 'ML-DSA-87+ES384';

/** The default signature suite of OpenMediaTrust. */
export const DEFAULT_SUITE: SuiteId = 'ML-DSA-65';

export type SuiteFamily = 'ml-dsa' | 'slh-dsa' | 'eddsa' | 'ecdsa' | 'rsa' | 'hybrid';

/** A key pair in the suite's raw encodings (see table above). */
export interface KeyPair {
  readonly suite: SuiteId;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface GenerateOptions {
  /** Deterministic key generation from a seed of {@link SignatureSuite.seedSize} bytes. */
  readonly seed?: Uint8Array;
  /** Randomness source when no seed is given (default: the platform CSPRNG). */
  readonly random?: RandomSource;
}

export interface SignOptions {
  /** Randomness for hedged/randomized signing; omit for the platform CSPRNG. */
  readonly random?: RandomSource;
  /**
   * Which code runs: 'auto' (default) picks 'native' where the runtime has the algorithm, else
   * 'wasm' where the suite has a WebAssembly path that loads here (ML-DSA and SLH-DSA on Node,
   * through liboqs), else 'portable' (noble, pure JavaScript). A path named explicitly that is not available →
   * `core.alg.unsupported`. With a `random` source, signing runs on the portable path.
   */
  readonly implementation?: 'auto' | 'portable' | 'native' | 'wasm';
}

export interface VerifyOptions {
  /** As {@link SignOptions.implementation}. */
  readonly implementation?: 'auto' | 'portable' | 'native' | 'wasm';
}

/**
 * One signature algorithm. `sign` and `verify` are async because native paths
 * (WebCrypto, node:crypto) are; results are identical whichever path runs.
 *
 * Contract: `verify` returns `false` for any signature that does not verify —
 * wrong length, wrong bytes, wrong message — and throws `OmtError`
 * (`core.key.malformed`) only when the *public key* cannot be parsed.
 * `sign` throws `core.key.malformed` for a bad secret key and
 * `core.alg.unsupported` for verify-only suites.
 */
export interface SignatureSuite {
  readonly id: SuiteId;
  readonly family: SuiteFamily;
  /** IANA COSE algorithm identifier, or undefined where none is assigned (hybrid). */
  readonly coseAlg: number | undefined;
  /** JOSE `alg` name, or undefined where none is assigned. */
  readonly joseAlg: string | undefined;
  /** Raw public key length in bytes; undefined where it varies (RSA). */
  readonly publicKeySize: number | undefined;
  /** Raw secret key length in bytes as generated; undefined for verify-only suites. */
  readonly secretKeySize: number | undefined;
  /** Signature length in bytes; undefined where it varies (RSA). */
  readonly signatureSize: number | undefined;
  /** Seed length accepted by `generateKeyPair({ seed })`; undefined if unsupported. */
  readonly seedSize: number | undefined;
  /** False for verify-only suites (RSA). */
  readonly canSign: boolean;
  /** Claimed security category / strength, informational (e.g. NIST category 3). */
  readonly securityLevel: string;
  generateKeyPair(options?: GenerateOptions): Promise<KeyPair>;
  /** Derives the raw public key from a raw secret key. */
  publicKeyFromSecret(secretKey: Uint8Array): Promise<Uint8Array>;
  sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Promise<Uint8Array>;
  verify(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    options?: VerifyOptions,
  ): Promise<boolean>;
  /** Whether a native implementation (WebCrypto / node:crypto) is used under 'auto' in this runtime. */
  nativeAvailable(): Promise<boolean>;
}
