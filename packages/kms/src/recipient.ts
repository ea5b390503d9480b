/**
 * Sharing an envelope with an outside recipient: the envelope's data key is wrapped to the
 * recipient's X-Wing public key (ML-KEM-768 + X25519, draft-connolly-cfrg-xwing-kem; HPKE KEM id
 * 0x647a; noble's `ml_kem768_x25519`), so the recipient decrypts — in a browser too — with no
 * access to the key hierarchy.
 *
 * A *share* is deterministic CBOR:
 * `{ v: 1, kem: 0x647a, rid, mid, enc, wk }` where `enc` is the X-Wing ciphertext (1120 bytes),
 * `mid` the envelope's message id, and `wk` the data key's HKDF input wrapped with AES-256-GCM
 * under `HKDF-SHA-256(ss, salt = mid, info = "OMT-KMS/1 X-Wing share" ‖ rid)`, AAD binding the
 * recipient id and the envelope's header binding hash. The envelope's key commitment still decides:
 * a share for another envelope fails with `kms.envelope.commitment-mismatch` or `kms.unwrap.failed`.
 */

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { concatBytes, utf8 } from '@omt/core/bytes';
import { type CborValue, decodeCbor, encodeCbor } from '@omt/core/cbor';
import { OmtError } from '@omt/core/errors';
import { platformRandom, type RandomSource } from '@omt/core/random';
import {
  deriveEnvelopeKeys,
  EnvelopeCipher,
  headerBindingHash,
  openEnvelopeBody,
  parseEnvelopeHeader,
} from './envelope.js';
import { ByteReader, type ByteSource, FrameOpener, pullStream, readStreamHeader } from './envelope-stream.js';
import { importWrappingKey, unwrapKeyBytes, wrapKeyBytes } from './key-wrap.js';
import type { Kms } from './kms.js';
import { PrincipalSchema } from './record-schemas.js';

/** HPKE KEM identifier of X-Wing. */
export const XWING_KEM_ID = 0x647a as const;
const PUBLIC_KEY_SIZE = 1216;
const SECRET_KEY_SIZE = 32;
const CIPHERTEXT_SIZE = 1120;

/** An X-Wing key pair of a recipient. */
export interface RecipientKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * Generates an X-Wing key pair (32-byte seed secret key, 1216-byte public key).
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = generateRecipientKeyPair();
 * ```
 */
export function generateRecipientKeyPair(random: RandomSource = platformRandom): RecipientKeyPair {
  const seed = random(32);
  const kp = ml_kem768_x25519.keygen(seed);
  seed.fill(0);
  return { publicKey: kp.publicKey, secretKey: kp.secretKey };
}

function shareKey(ss: Uint8Array, messageId: Uint8Array, recipientId: string): Uint8Array {
  return hkdf(sha256, ss, messageId, concatBytes(utf8('OMT-KMS/1 X-Wing share'), utf8(recipientId)), 32);
}

function shareAad(recipientId: string, binding: Uint8Array): Uint8Array {
  return encodeCbor(['OMT-KMS/1 share', XWING_KEM_ID, recipientId, binding]);
}

/**
 * Wraps an envelope's data key to a recipient (needs a decrypt grant; audited as `kms.data.share`).
 *
 * @example
 * ```ts
 * const share = await shareEnvelope(kms, envelope, { principal: 'svc:dam', recipientId: 'press@example.org', recipientPublicKey });
 * ```
 */
export async function shareEnvelope(
  kms: Kms,
  envelope: Uint8Array,
  options: { principal: string; recipientId: string; recipientPublicKey: Uint8Array; random?: RandomSource },
): Promise<Uint8Array> {
  const pk = options?.recipientPublicKey;
  if (!(pk instanceof Uint8Array) || pk.length !== PUBLIC_KEY_SIZE) {
    throw new OmtError('kms.input.invalid', `recipient public key must be ${PUBLIC_KEY_SIZE} bytes (X-Wing)`);
  }
  const recipientId = PrincipalSchema.safeParse(options.recipientId);
  if (!recipientId.success) throw new OmtError('kms.input.invalid', 'invalid recipient id');
  const { header, ikm } = await kms.exportDataKeyForSharing(envelope, {
    principal: options.principal,
    recipientId: recipientId.data,
  });
  try {
    let enc: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      enc = ml_kem768_x25519.encapsulate(pk, (options.random ?? platformRandom)(64));
    } catch (e) {
      throw new OmtError('kms.input.invalid', 'recipient public key is not a valid X-Wing key', { cause: e });
    }
    const k = shareKey(enc.sharedSecret, header.messageId, recipientId.data);
    enc.sharedSecret.fill(0);
    const kek = await importWrappingKey(k);
    k.fill(0);
    const wk = await wrapKeyBytes(
      kek,
      ikm,
      shareAad(recipientId.data, headerBindingHash(header)),
      options.random,
    );
    return encodeCbor({
      v: 1,
      kem: XWING_KEM_ID,
      rid: recipientId.data,
      mid: header.messageId,
      enc: enc.cipherText,
      wk,
    });
  } finally {
    ikm.fill(0);
  }
}

interface ParsedShare {
  rid: string;
  mid: Uint8Array;
  enc: Uint8Array;
  wk: Uint8Array;
}

function parseShare(share: Uint8Array): ParsedShare {
  if (!(share instanceof Uint8Array)) throw new OmtError('kms.input.invalid', 'share must be a Uint8Array');
  let v: CborValue;
  try {
    v = decodeCbor(share, { maxDepth: 2, requireDeterministic: true });
  } catch (e) {
    throw new OmtError('kms.recipient.malformed', 'share is not deterministic CBOR', { cause: e });
  }
  if (!(v instanceof Map)) throw new OmtError('kms.recipient.malformed', 'share is not a map');
  const get = (k: string): CborValue => v.get(k);
  const rid = get('rid');
  const mid = get('mid');
  const enc = get('enc');
  const wk = get('wk');
  if (get('v') !== 1 || get('kem') !== XWING_KEM_ID || v.size !== 6) {
    throw new OmtError('kms.recipient.unsupported', 'unsupported share version or KEM');
  }
  if (
    typeof rid !== 'string' ||
    !(mid instanceof Uint8Array) ||
    mid.length !== 32 ||
    !(enc instanceof Uint8Array) ||
    enc.length !== CIPHERTEXT_SIZE ||
    !(wk instanceof Uint8Array) ||
    wk.length > 256
  ) {
    throw new OmtError('kms.recipient.malformed', 'share fields are invalid');
  }
  return { rid, mid, enc, wk };
}

async function recipientCipher(
  header: Parameters<typeof headerBindingHash>[0],
  share: Uint8Array,
  secretKey: Uint8Array,
): Promise<EnvelopeCipher> {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_SIZE) {
    throw new OmtError(
      'kms.input.invalid',
      `recipient secret key must be ${SECRET_KEY_SIZE} bytes (X-Wing seed)`,
    );
  }
  const s = parseShare(share);
  if (s.mid.length !== header.messageId.length || !s.mid.every((b, i) => b === header.messageId[i])) {
    throw new OmtError('kms.context.mismatch', 'this share belongs to another envelope');
  }
  const ss = ml_kem768_x25519.decapsulate(s.enc, secretKey);
  const k = shareKey(ss, s.mid, s.rid);
  ss.fill(0);
  const kek = await importWrappingKey(k);
  k.fill(0);
  const ikm = await unwrapKeyBytes(kek, s.wk, shareAad(s.rid, headerBindingHash(header)));
  // The HKDF input is L4 (‖ object secret): deriveEnvelopeKeys gets it as the data key.
  const keys = deriveEnvelopeKeys(ikm, header.messageId);
  ikm.fill(0);
  return EnvelopeCipher.create(header, keys);
}

/**
 * Decrypts an in-memory envelope with a share and the recipient's X-Wing secret key.
 *
 * @example
 * ```ts
 * const plain = await decryptWithShare(envelope, share, secretKey);
 * ```
 */
export async function decryptWithShare(
  envelope: Uint8Array,
  share: Uint8Array,
  secretKey: Uint8Array,
): Promise<Uint8Array> {
  const { header, headerBytes } = parseEnvelopeHeader(envelope);
  const cipher = await recipientCipher(header, share, secretKey);
  return openEnvelopeBody(cipher, envelope.subarray(headerBytes.length));
}

/** Streaming form of {@link decryptWithShare} (bounded memory; browsers included). */
export function decryptStreamWithShare(
  source: ByteSource,
  share: Uint8Array,
  secretKey: Uint8Array,
): ReadableStream<Uint8Array> {
  let opener: FrameOpener | undefined;
  let reader: ByteReader | undefined;
  return pullStream(
    async () => {
      if (opener === undefined) {
        reader = new ByteReader(source);
        const { header } = await readStreamHeader(reader);
        opener = new FrameOpener(await recipientCipher(header, share, secretKey), reader);
      }
      const plain = await opener.next();
      return plain === undefined ? undefined : [plain];
    },
    async () => {
      await reader?.cancel();
    },
  );
}
