/**
 * RSA verification suites (RFC 8017): PS256/384/512 = RSASSA-PSS with SHA-2,
 * MGF1 with the same hash and salt length = hash length (RFC 7518 §3.5,
 * RFC 8230 §2), and RS256/384/512 = RSASSA-PKCS1-v1_5 (RFC 7518 §3.3, RFC 8812 §2).
 *
 * Verify only (`canSign: false`): OpenMediaTrust never issues RSA signatures but
 * must check them (C2PA certificates and manifests still use them). The work is
 * done by WebCrypto (`crypto.subtle`, browsers and Node); there is no portable path.
 *
 * Public key: PKCS#1 RSAPublicKey DER (RFC 8017 Appendix A.1.1), parsed strictly
 * (definite minimal lengths, positive minimal INTEGERs, no trailing bytes) and
 * re-wrapped in an SPKI with rsaEncryption for `importKey('spki')`. Moduli below
 * 2048 bits are rejected as malformed (NIST SP 800-131A).
 */
import { concatBytes, isBytes } from '../bytes.js';
import { algUnsupported, keyMalformed, readImplementation, requireMessage } from './_guards.js';
import { KeyCache } from './_key-cache.js';
import { detectOnce, getSubtle, ownBuffer } from './_webcrypto.js';
import type { KeyPair, SignatureSuite, SuiteId, VerifyOptions } from './suite.js';

type RsaId = 'PS256' | 'PS384' | 'PS512' | 'RS256' | 'RS384' | 'RS512';

const MIN_MODULUS_BITS = 2048;
const MAX_MODULUS_BITS = 16384;

/** Reads one DER TLV at `at`; returns tag, content bounds and next offset, or undefined if not strict DER. */
function readTlv(buf: Uint8Array, at: number): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > buf.length) return undefined;
  const tag = buf[at] as number;
  let len = buf[at + 1] as number;
  let start = at + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (count === 0 || count > 3 || start + count > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < count; i++) len = (len << 8) | (buf[start + i] as number);
    if ((buf[start] as number) === 0 || len < 0x80) return undefined; // X.690 §10.1: minimal length encoding
    start += count;
  }
  const end = start + len;
  if (end > buf.length) return undefined;
  return { tag, start, end };
}

/** Content of a positive, minimally encoded INTEGER (leading 0x00 stripped). */
function positiveInteger(
  buf: Uint8Array,
  tlv: { tag: number; start: number; end: number },
): Uint8Array | undefined {
  if (tlv.tag !== 0x02 || tlv.end === tlv.start) return undefined;
  const first = buf[tlv.start] as number;
  if (first & 0x80) return undefined; // negative
  if (first === 0 && tlv.end - tlv.start > 1 && !((buf[tlv.start + 1] as number) & 0x80)) return undefined; // non-minimal
  const v = buf.subarray(first === 0 ? tlv.start + 1 : tlv.start, tlv.end);
  return v.length === 0 ? undefined : v;
}

/**
 * Parses a PKCS#1 RSAPublicKey (RFC 8017 A.1.1) and returns the modulus and exponent.
 * Throws `core.key.malformed` on anything but strict DER with a sane key.
 * @example
 * ```ts
 * const { modulusBits } = parseRsaPublicKey(pkcs1Der);
 * ```
 */
export function parseRsaPublicKey(
  der: Uint8Array,
  suite: SuiteId = 'PS256',
): { modulus: Uint8Array; exponent: Uint8Array; modulusBits: number } {
  const bad = (why: string): Error => keyMalformed(suite, 'public key', `PKCS#1 RSAPublicKey DER (${why})`);
  if (!isBytes(der)) throw bad('not bytes');
  const seq = readTlv(der, 0);
  if (seq === undefined || seq.tag !== 0x30 || seq.end !== der.length) throw bad('expected one SEQUENCE');
  const nTlv = readTlv(der, seq.start);
  const modulus = nTlv && positiveInteger(der, nTlv);
  if (nTlv === undefined || modulus === undefined) throw bad('bad modulus INTEGER');
  const eTlv = readTlv(der, nTlv.end);
  const exponent = eTlv && positiveInteger(der, eTlv);
  if (eTlv === undefined || exponent === undefined || eTlv.end !== seq.end)
    throw bad('bad publicExponent INTEGER');
  const modulusBits = (modulus.length - 1) * 8 + (32 - Math.clz32(modulus[0] as number));
  if (modulusBits < MIN_MODULUS_BITS || modulusBits > MAX_MODULUS_BITS) {
    throw bad(`modulus must be ${MIN_MODULUS_BITS}–${MAX_MODULUS_BITS} bits, got ${modulusBits}`);
  }
  const lastE = exponent[exponent.length - 1] as number;
  if ((lastE & 1) === 0 || (exponent.length === 1 && lastE < 3) || exponent.length > 8)
    throw bad('public exponent must be odd and ≥ 3');
  return { modulus, exponent, modulusBits };
}

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
}

function derTlv(tag: number, content: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(tag), derLength(content.length), content);
}

// AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL } — RFC 3279 §2.3.1.
const RSA_ALG_ID = /* @__PURE__ */ Uint8Array.from([
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
]);

/** Wraps a PKCS#1 RSAPublicKey into a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). */
function spkiFromPkcs1(pkcs1: Uint8Array): Uint8Array {
  return derTlv(0x30, concatBytes(RSA_ALG_ID, derTlv(0x03, concatBytes(Uint8Array.of(0), pkcs1))));
}

function makeRsaSuite(
  id: RsaId,
  pss: boolean,
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512',
  coseAlg: number,
): SignatureSuite {
  const hashLen = hash === 'SHA-256' ? 32 : hash === 'SHA-384' ? 48 : 64;
  const name = pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5';
  const keys = new KeyCache<{ modulusBytes: number; key: Promise<CryptoKey> }>({ public: true });
  const nativeAvailable = (): Promise<boolean> =>
    detectOnce(`RSA-${name}`, async (subtle) => {
      if (typeof subtle.importKey !== 'function' || typeof subtle.verify !== 'function')
        throw new Error('no subtle');
    });
  const verifyOnly = (): never => {
    throw algUnsupported(id, 'RSA suites are verify-only');
  };
  return {
    id,
    family: 'rsa',
    coseAlg,
    joseAlg: id,
    publicKeySize: undefined,
    secretKeySize: undefined,
    signatureSize: undefined,
    seedSize: undefined,
    canSign: false,
    securityLevel: '≥112-bit classical (2048-bit modulus and up)',
    generateKeyPair: async (): Promise<KeyPair> => verifyOnly(),
    publicKeyFromSecret: async (): Promise<Uint8Array> => verifyOnly(),
    sign: async (): Promise<Uint8Array> => verifyOnly(),
    async verify(
      publicKey: Uint8Array,
      message: Uint8Array,
      signature: Uint8Array,
      options?: VerifyOptions,
    ): Promise<boolean> {
      const impl = readImplementation(id, options);
      const entry = keys.get(publicKey, () => {
        const { modulusBits } = parseRsaPublicKey(publicKey, id);
        const subtle = getSubtle();
        if (subtle === undefined) throw algUnsupported(id, 'WebCrypto (crypto.subtle) is not available');
        const key = subtle.importKey('spki', ownBuffer(spkiFromPkcs1(publicKey)), { name, hash }, false, [
          'verify',
        ]);
        key.catch(() => undefined); // surfaced at await below
        return { modulusBytes: Math.ceil(modulusBits / 8), key };
      });
      const msg = requireMessage(id, message);
      if (impl === 'portable') throw algUnsupported(id, 'no portable RSA implementation; use WebCrypto');
      if (!(await nativeAvailable())) throw algUnsupported(id, 'WebCrypto (crypto.subtle) is not available');
      // RFC 8017 §8.1.2 / §8.2.2 step 1: the signature is exactly k octets.
      if (!isBytes(signature) || signature.length !== entry.modulusBytes) return false;
      let key: CryptoKey;
      try {
        key = await entry.key;
      } catch (e) {
        throw keyMalformed(id, 'public key', 'an RSA public key WebCrypto accepts', undefined, e);
      }
      try {
        const algo = pss ? { name, saltLength: hashLen } : { name };
        return await getSubtle()!.verify(algo, key, ownBuffer(signature), ownBuffer(msg));
      } catch {
        return false;
      }
    },
    nativeAvailable,
  };
}

/**
 * PS256: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 (COSE −37). Verify only.
 * @example
 * ```ts
 * await PS256.verify(pkcs1PublicKeyDer, msg, sig); // true / false
 * ```
 */
export const PS256: SignatureSuite = /* @__PURE__ */ makeRsaSuite('PS256', true, 'SHA-256', -37);
/** PS384: RSASSA-PSS with SHA-384, salt 48 (COSE −38). Verify only. @example `await PS384.verify(pk, msg, sig)` */
export const PS384: SignatureSuite = /* @__PURE__ */ makeRsaSuite('PS384', true, 'SHA-384', -38);
/** PS512: RSASSA-PSS with SHA-512, salt 64 (COSE −39). Verify only. @example `await PS512.verify(pk, msg, sig)` */
export const PS512: SignatureSuite = /* @__PURE__ */ makeRsaSuite('PS512', true, 'SHA-512', -39);
/** RS256: RSASSA-PKCS1-v1_5 with SHA-256 (COSE −257). Verify only. @example `await RS256.verify(pk, msg, sig)` */
export const RS256: SignatureSuite = /* @__PURE__ */ makeRsaSuite('RS256', false, 'SHA-256', -257);
/** RS384: RSASSA-PKCS1-v1_5 with SHA-384 (COSE −258). Verify only. @example `await RS384.verify(pk, msg, sig)` */
export const RS384: SignatureSuite = /* @__PURE__ */ makeRsaSuite('RS384', false, 'SHA-384', -258);
/** RS512: RSASSA-PKCS1-v1_5 with SHA-512 (COSE −259). Verify only. @example `await RS512.verify(pk, msg, sig)` */
export const RS512: SignatureSuite = /* @__PURE__ */ makeRsaSuite('RS512', false, 'SHA-512', -259);
