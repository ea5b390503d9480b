// The AAD tuple encoder was rewritten for speed (one sized buffer, no BigInt); envelopes written
// before must still open, so its bytes are pinned here against the original encoder.
import { concatBytes, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { dataKeyWrapAad, type EnvelopeHeader, headerBindingHash } from '@omt/kms/envelope';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Item = string | number | Uint8Array | Readonly<Record<string, string>> | null;

/** The original (pre-optimisation) encoder, kept as the reference. */
function referenceTuple(items: readonly Item[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const push = (type: number, body: Uint8Array): void => {
    const h = new Uint8Array(5);
    h[0] = type;
    new DataView(h.buffer).setUint32(1, body.length);
    parts.push(h, body);
  };
  for (const it of items) {
    if (it === null) push(0, new Uint8Array(0));
    else if (typeof it === 'string') push(1, utf8(it));
    else if (typeof it === 'number') {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(it));
      push(2, b);
    } else if (it instanceof Uint8Array) push(3, it);
    else {
      const keys = Object.keys(it).sort();
      push(4, referenceTuple(keys.flatMap((k) => [k, it[k] as string])));
    }
  }
  return concatBytes(...parts);
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
// Any UTF-16 content, lone surrogates included (TextEncoder writes U+FFFD for them).
const text = fc.string({ unit: 'binary', maxLength: 40 });
const arbHeader = fc.record({
  tenant: text,
  service: text,
  objectId: text,
  rootKeyId: text,
  tenantKeyVersion: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  serviceKeyVersion: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  messageId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }),
  frameSize: fc.integer({ min: 0, max: 4 * 1024 * 1024 }),
  commitment: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  context: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 10 }), text, { maxKeys: 5 }),
  objectRef: fc.option(text, { nil: undefined }),
});

describe('envelope AAD encoding is byte-for-byte unchanged', () => {
  it('dataKeyWrapAad and headerBindingHash equal the original encoder', () => {
    fc.assert(
      fc.property(arbHeader, (h) => {
        const { objectRef, ...rest } = h;
        const header = {
          version: 1,
          suite: 1,
          ...rest,
          ...(objectRef === undefined ? {} : { objectRef }),
          wrappedKey: new Uint8Array(45),
        } as EnvelopeHeader;
        expect(hex(dataKeyWrapAad(header))).toBe(
          hex(
            referenceTuple([
              'OMT-KMS/1 L4',
              h.tenant,
              h.service,
              h.objectId,
              h.rootKeyId,
              h.tenantKeyVersion,
              h.serviceKeyVersion,
              h.messageId,
              h.context,
              h.objectRef ?? null,
            ]),
          ),
        );
        expect(hex(headerBindingHash(header))).toBe(
          hex(
            sha256(
              referenceTuple([
                'OMT-KMS/1 header',
                1,
                1,
                h.tenant,
                h.service,
                h.objectId,
                h.messageId,
                h.nonce,
                h.frameSize,
                h.commitment,
                h.context,
                h.objectRef ?? null,
              ]),
            ),
          ),
        );
      }),
      { numRuns: 300 },
    );
  });
});
