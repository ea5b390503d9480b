import { OmtError } from '../errors.js';
import {
  encodeDerSequence,
  encodeDerUnsigned,
  readDer,
  readDerChildren,
  readDerUnsigned,
  TAG_SEQUENCE,
} from './der.js';

/** RSA public key parts as unsigned big-endian magnitudes (no leading zeros). */
export interface RsaPublicParts {
  readonly n: Uint8Array;
  readonly e: Uint8Array;
}

/** Smallest modulus we accept (NIST SP 800-131A: 2048 bits). */
const MIN_MODULUS_BITS = 2048;
/** Largest modulus we accept, bounding verification work. */
const MAX_MODULUS_BITS = 16384;

function bitLength(m: Uint8Array): number {
  const top = m[0] ?? 0;
  return top === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(top));
}

/** Checks n and e ranges; returns them with leading zeros stripped. */
export function checkRsaParts(n: Uint8Array, e: Uint8Array): RsaPublicParts {
  let i = 0;
  while (i < n.length - 1 && n[i] === 0) i++;
  let j = 0;
  while (j < e.length - 1 && e[j] === 0) j++;
  const nn = n.subarray(i);
  const ee = e.subarray(j);
  const bits = bitLength(nn);
  if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS || ((nn[nn.length - 1] as number) & 1) === 0) {
    throw new OmtError(
      'core.key.malformed',
      `RSA modulus must be odd and ${MIN_MODULUS_BITS}..${MAX_MODULUS_BITS} bits`,
      {
        details: { bits },
      },
    );
  }
  // RFC 8017 §3.1: 3 <= e <= n-1, odd; we also cap e at 8 bytes.
  if (
    ee.length > 8 ||
    ((ee[ee.length - 1] as number) & 1) === 0 ||
    (ee.length === 1 && (ee[0] as number) < 3)
  ) {
    throw new OmtError('core.key.malformed', 'RSA public exponent out of range');
  }
  return { n: nn, e: ee };
}

/** Parses a PKCS#1 RSAPublicKey (RFC 8017 Appendix A.1.1), strictly. */
export function parseRsaPublicKey(der: Uint8Array): RsaPublicParts {
  const seq = readDer(der, TAG_SEQUENCE);
  const items = readDerChildren(seq.value);
  const [n, e] = items;
  if (n === undefined || e === undefined || items.length !== 2) {
    throw new OmtError('core.key.malformed', 'RSAPublicKey must have exactly n and e');
  }
  return checkRsaParts(readDerUnsigned(n), readDerUnsigned(e));
}

/** Encodes a PKCS#1 RSAPublicKey. */
export function encodeRsaPublicKey(parts: RsaPublicParts): Uint8Array {
  return encodeDerSequence(encodeDerUnsigned(parts.n), encodeDerUnsigned(parts.e));
}
