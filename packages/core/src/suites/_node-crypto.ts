import { concatBytes, toHex } from '../bytes.js';
import { OmtError, wrapErrors } from '../errors.js';
import type { KeyCache } from './_key-cache.js';

/**
 * Internal: ECDSA secp256k1 through node:crypto (OpenSSL), reached only by feature detection —
 * WebCrypto has no secp256k1, and @omt/core bundles for browsers, so there is no static import.
 */

/** The part of node:crypto we use; typed locally so @omt/core never imports node types. */
interface NodeKeyObject {
  readonly type: string;
}
interface NodeSignInput {
  key: NodeKeyObject;
  dsaEncoding: 'ieee-p1363' | 'der';
}
interface NodeCrypto {
  createPrivateKey(input: { key: Uint8Array; format: 'der'; type: 'sec1' }): NodeKeyObject;
  createPublicKey(input: { key: Uint8Array; format: 'der'; type: 'spki' }): NodeKeyObject;
  sign(algorithm: string, data: Uint8Array, key: NodeSignInput): Uint8Array;
  /** With a callback the work runs on libuv's threadpool (Node ≥ 15.12). */
  sign(
    algorithm: string,
    data: Uint8Array,
    key: NodeSignInput,
    callback: (error: Error | null, signature: Uint8Array) => void,
  ): void;
  verify(algorithm: string, data: Uint8Array, key: NodeSignInput, signature: Uint8Array): boolean;
  /** EdDSA: no digest name (`null`), the key object itself. */
  verify(algorithm: null, data: Uint8Array, key: NodeKeyObject, signature: Uint8Array): boolean;
  verify(
    algorithm: string,
    data: Uint8Array,
    key: NodeSignInput,
    signature: Uint8Array,
    callback: (error: Error | null, valid: boolean) => void,
  ): void;
  getCurves(): string[];
}

/** Opaque handle of an imported node:crypto key. */
export type NodeKey = NodeKeyObject;

let builtin: Partial<NodeCrypto> | null | undefined;
let detected: NodeCrypto | null | undefined;

/** node:crypto where the runtime has it (Node ≥ 20.16: process.getBuiltinModule); else null. */
function nodeCrypto(): Partial<NodeCrypto> | null {
  if (builtin !== undefined) return builtin;
  try {
    // Unprefixed id: keeps a literal "node:…" out of browser bundles (scripts/check-browser-bundle.mjs).
    const mod = (
      globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
    ).process?.getBuiltinModule?.('crypto') as Partial<NodeCrypto> | undefined;
    builtin = mod ?? null;
  } catch {
    builtin = null;
  }
  return builtin;
}

/** node:crypto when it exists and its OpenSSL knows secp256k1 (FIPS builds may not); else null. */
function secp256k1Crypto(): NodeCrypto | null {
  if (detected !== undefined) return detected;
  let found: NodeCrypto | null = null;
  try {
    const mod = nodeCrypto();
    if (
      mod &&
      typeof mod.sign === 'function' &&
      typeof mod.verify === 'function' &&
      typeof mod.createPrivateKey === 'function' &&
      typeof mod.createPublicKey === 'function' &&
      typeof mod.getCurves === 'function' &&
      mod.getCurves().includes('secp256k1')
    )
      found = mod as NodeCrypto;
  } catch {
    found = null;
  }
  detected = found;
  return found;
}

/** True when ES256K can run natively (Node ≥ 20.16 / 22.3 with process.getBuiltinModule). */
export function nodeSecp256k1Available(): boolean {
  return secp256k1Crypto() !== null;
}

// DER headers (RFC 5480 §2 SubjectPublicKeyInfo; RFC 5915 §3 ECPrivateKey), curve OID 1.3.132.0.10.
// SPKI: SEQUENCE { SEQUENCE { id-ecPublicKey, secp256k1 }, BIT STRING { 00 ‖ 04 ‖ x ‖ y } }.
const SPKI_PREFIX = /* @__PURE__ */ Uint8Array.from([
  0x30, 0x56, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
  0x00, 0x0a, 0x03, 0x42, 0x00,
]);
// ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING d, [0] secp256k1 }; OpenSSL derives the public key.
const SEC1_PREFIX = /* @__PURE__ */ Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x01, 0x04, 0x20]);
const SEC1_SUFFIX = /* @__PURE__ */ Uint8Array.from([0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]);

/**
 * Verification keys by algorithm and content (public data, so a bounded global map is safe):
 * verifiers see the same signer's key as a fresh Uint8Array per request, which a per-object cache
 * never hits. `null` remembers a key node:crypto refused.
 */
const publicKeys = new Map<string, NodeKeyObject | null>();
const MAX_PUBLIC_KEYS = 1024;

/** The imported key for `publicKey` of `kind`, made by `make` on a miss (a throw is not kept). */
function importedPublicKey(
  kind: string,
  publicKey: Uint8Array,
  make: () => NodeKeyObject | null,
): NodeKeyObject | null {
  const id = `${kind}:${toHex(publicKey)}`;
  const hit = publicKeys.get(id);
  if (hit !== undefined) return hit;
  const key = make();
  if (publicKeys.size >= MAX_PUBLIC_KEYS) publicKeys.delete(publicKeys.keys().next().value as string);
  publicKeys.set(id, key);
  return key;
}

/**
 * Imported verification key for a SEC1 point, memoised by its bytes. `validate` is called on a
 * miss and must return the validated uncompressed point (or throw `core.key.malformed`): a key
 * that once validated is never re-parsed.
 */
export function nodeSecp256k1PublicKey(publicKey: Uint8Array, validate: () => Uint8Array): NodeKey {
  return importedPublicKey('secp256k1', publicKey, () => {
    const point = validate();
    const nc = secp256k1Crypto() as NodeCrypto;
    return nc.createPublicKey({ key: concatBytes(SPKI_PREFIX, point), format: 'der', type: 'spki' });
  }) as NodeKey;
}

// ECPrivateKey with its [1] publicKey: SEQUENCE { INTEGER 1, OCTET STRING d, [0] secp256k1,
// [1] BIT STRING { 00 ‖ SEC1 point } } (RFC 5915 §3). With the point present OpenSSL does not
// derive it (a scalar multiplication): the import then costs a third as much.
const SEC1_PUB_TAG = /* @__PURE__ */ Uint8Array.from([0xa1]);

function sec1PrivateKey(secretKey: Uint8Array, publicKey: Uint8Array | undefined): Uint8Array {
  if (publicKey === undefined) return concatBytes(SEC1_PREFIX, secretKey, SEC1_SUFFIX);
  const n = publicKey.length; // 33 or 65: every length below fits one DER length byte
  const body = 3 + 34 + SEC1_SUFFIX.length + 2 + 3 + n;
  return concatBytes(
    Uint8Array.of(0x30, body, 0x02, 0x01, 0x01, 0x04, 0x20),
    secretKey,
    SEC1_SUFFIX,
    SEC1_PUB_TAG,
    Uint8Array.of(n + 3, 0x03, n + 1, 0x00),
    publicKey,
  );
}

/**
 * Imported signing key, once per key object (`cache`). `publicKey` (SEC1, 33 or 65 bytes; ECDSA
 * signing never reads it) spares OpenSSL deriving the point; one OpenSSL refuses is dropped.
 */
function importSecretKey(
  nc: NodeCrypto,
  cache: KeyCache<NodeKey>,
  secretKey: Uint8Array,
  publicKey?: Uint8Array,
): NodeKey {
  const load = (pub: Uint8Array | undefined): NodeKey =>
    nc.createPrivateKey({ key: sec1PrivateKey(secretKey, pub), format: 'der', type: 'sec1' });
  return cache.get(secretKey, () => {
    if (publicKey === undefined) return load(undefined);
    try {
      return load(publicKey);
    } catch {
      return load(undefined);
    }
  });
}

/**
 * ES256K signature (ECDSA over SHA-256(message), raw r‖s, possibly high-S) with the secret key
 * imported once per key object (`cache`). A key OpenSSL refuses → `core.key.malformed`.
 */
export function nodeSecp256k1Sign(
  cache: KeyCache<NodeKey>,
  secretKey: Uint8Array,
  message: Uint8Array,
): Uint8Array {
  const nc = secp256k1Crypto() as NodeCrypto;
  return wrapErrors('core.key.malformed', 'ES256K: native signing rejected the secret key', () => {
    const key = importSecretKey(nc, cache, secretKey);
    // A plain copy: node returns a Buffer, whose slice() would alias.
    return new Uint8Array(nc.sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
  });
}

/** ES256K verification (accepts high-S, as ECDSA itself does); anything OpenSSL refuses is `false`. */
export function nodeSecp256k1Verify(key: NodeKey, message: Uint8Array, signature: Uint8Array): boolean {
  const nc = secp256k1Crypto() as NodeCrypto;
  try {
    return nc.verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/**
 * {@link nodeSecp256k1Sign} on libuv's threadpool: the signature is computed off the event loop,
 * so concurrent calls use every core. The key import (cached per key object) stays synchronous.
 * A key OpenSSL refuses → `core.key.malformed` (rejected promise).
 */
export function nodeSecp256k1SignAsync(
  cache: KeyCache<NodeKey>,
  secretKey: Uint8Array,
  message: Uint8Array,
  publicKey?: Uint8Array,
): Promise<Uint8Array> {
  const nc = secp256k1Crypto() as NodeCrypto;
  return new Promise((resolve, reject) => {
    let key: NodeKey;
    try {
      key = wrapErrors('core.key.malformed', 'ES256K: native signing rejected the secret key', () =>
        importSecretKey(nc, cache, secretKey, publicKey),
      );
      nc.sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, (error, signature) => {
        if (error !== null)
          reject(new OmtError('core.key.malformed', 'ES256K: native signing failed', { cause: error }));
        else resolve(new Uint8Array(signature));
      });
    } catch (e) {
      reject(e);
    }
  });
}

/**
 * {@link nodeSecp256k1Verify} on libuv's threadpool, for a raw r‖s or (`encoding: 'der'`, which
 * spares node a conversion) a DER signature; anything OpenSSL refuses is `false`.
 */
export function nodeSecp256k1VerifyAsync(
  key: NodeKey,
  message: Uint8Array,
  signature: Uint8Array,
  encoding: 'ieee-p1363' | 'der' = 'ieee-p1363',
): Promise<boolean> {
  const nc = secp256k1Crypto() as NodeCrypto;
  return new Promise((resolve) => {
    try {
      nc.verify('sha256', message, { key, dsaEncoding: encoding }, signature, (error, valid) =>
        resolve(error === null && valid === true),
      );
    } catch {
      resolve(false);
    }
  });
}

// RFC 8410 §4 SubjectPublicKeyInfo of an Ed25519 key: SEQUENCE { SEQUENCE { id-Ed25519 },
// BIT STRING { 00 ‖ 32-byte key } }.
const ED25519_SPKI_PREFIX = /* @__PURE__ */ Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

/**
 * Ed25519 verification through node:crypto, synchronously: the same OpenSSL code WebCrypto runs
 * in Node, without its promise and threadpool round trip (≈ 2× less CPU per verification). The
 * imported key is memoised by its bytes (public data, bounded). `undefined` where node:crypto is
 * not there (browsers) or refuses the key: the caller then takes its WebCrypto path.
 */
export function nodeEd25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean | undefined {
  const nc = nodeCrypto();
  if (nc === null || typeof nc.verify !== 'function' || typeof nc.createPublicKey !== 'function')
    return undefined;
  const createPublicKey = nc.createPublicKey;
  const key = importedPublicKey('ed25519', publicKey, () => {
    try {
      return createPublicKey({
        key: concatBytes(ED25519_SPKI_PREFIX, publicKey),
        format: 'der',
        type: 'spki',
      });
    } catch {
      return null;
    }
  });
  if (key === null) return undefined;
  try {
    return nc.verify(null, message, key, signature);
  } catch {
    return false;
  }
}
