// The envelope header is written and read directly (envelope.ts) instead of through core's generic
// CBOR codec. Deterministic CBOR has one encoding per header, so both must give the same bytes and
// the same verdicts: checked here against the generic path, for valid headers and for corrupted ones.
import { decodeCbor } from '@omt/core/cbor';
import {
  _encodeEnvelopeHeaderGeneric,
  _parseEnvelopeHeaderGeneric,
  type EnvelopeHeader,
  encodeEnvelopeHeader,
  parseEnvelopeHeader,
} from '@omt/kms/envelope';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const name = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/);
// Object ids and context values: ASCII most of the time, any UTF-16 (lone surrogates too) sometimes.
const anyText = (max: number) =>
  fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '/', '~', '\u007f'), maxLength: max }),
    fc.string({ unit: 'binary', maxLength: Math.min(max, 40) }),
    fc.string({ minLength: 20, maxLength: 300 }),
  );
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

/** Headers as encodeEnvelopeHeader may be given them: valid ones and odd-but-encodable ones. */
const arbHeader: fc.Arbitrary<EnvelopeHeader> = fc
  .record({
    tenant: fc.oneof(name, anyText(70)),
    service: fc.oneof(name, anyText(70)),
    objectId: fc.oneof(anyText(1024), fc.constant('x'.repeat(1024))),
    rootKeyId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:/-]{1,256}$/), anyText(30)),
    tenantKeyVersion: fc.oneof(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.constantFrom(23, 24, 255, 256, 65535, 65536),
    ),
    serviceKeyVersion: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    messageId: fc.oneof(bytesOf(32), fc.uint8Array({ maxLength: 40 })),
    wrappedKey: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    nonce: bytesOf(12),
    frameSize: fc.oneof(fc.constantFrom(0, 23, 24, 255, 256, 65536, 4 * 1024 * 1024), fc.nat()),
    commitment: bytesOf(32),
    context: fc.dictionary(
      fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
        fc.constantFrom('__proto__', 'é', 'a'.repeat(30)),
      ),
      anyText(1024),
      { maxKeys: 34 },
    ),
    objectRef: fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), anyText(30)), { nil: undefined }),
  })
  .map(({ objectRef, ...h }) => ({
    version: 1 as const,
    suite: 1 as const,
    ...h,
    ...(objectRef === undefined ? {} : { objectRef }),
  }));

/** Headers that parse (names, sizes and versions in range), with the odd non-ASCII text. */
const arbValidHeader: fc.Arbitrary<EnvelopeHeader> = fc
  .record({
    tenant: name,
    service: name,
    objectId: fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '/', '~'), minLength: 1, maxLength: 1024 }),
      fc.constantFrom('ünïcode', 'x'.repeat(1024)),
    ),
    rootKeyId: fc.stringMatching(/^[A-Za-z0-9._:/-]{1,256}$/),
    tenantKeyVersion: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    serviceKeyVersion: fc.oneof(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.constantFrom(23, 24, 255, 256, 65535, 65536),
    ),
    messageId: bytesOf(32),
    wrappedKey: fc.uint8Array({ minLength: 30, maxLength: 256 }),
    nonce: bytesOf(12),
    frameSize: fc.integer({ min: 0, max: 4 * 1024 * 1024 }),
    commitment: bytesOf(32),
    context: fc.dictionary(
      fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
      fc.oneof(fc.string({ maxLength: 1024 }), fc.constant('é')),
      { maxKeys: 32 },
    ),
    objectRef: fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), { nil: undefined }),
  })
  .map(({ objectRef, ...h }) => ({
    version: 1 as const,
    suite: 1 as const,
    ...h,
    ...(objectRef === undefined ? {} : { objectRef }),
  }));

/** A valid header with one field just out of range (or of the wrong kind). */
const arbNearlyValidHeader: fc.Arbitrary<EnvelopeHeader> = fc
  .tuple(
    arbValidHeader,
    fc.constantFrom<[string, unknown][]>(
      [['wrappedKey', new Uint8Array(29)]],
      [['wrappedKey', new Uint8Array(257)]],
      [['messageId', new Uint8Array(31)]],
      [['nonce', new Uint8Array(13)]],
      [['commitment', new Uint8Array(33)]],
      [['tenantKeyVersion', 0]],
      [['serviceKeyVersion', 2 ** 31]],
      [['frameSize', 4 * 1024 * 1024 + 1]],
      [['tenant', 'Acme']],
      [['service', '']],
      [['objectId', '']],
      [['objectId', 'x'.repeat(1025)]],
      [['objectId', 'tab\there']],
      [['rootKeyId', 'a b']],
      [['objectRef', 'short']],
      [['context', { 'bad key': 'v' }]],
      [['context', { k: 'v'.repeat(1025) }]],
      [['context', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']))]],
    ),
  )
  .map(([h, patch]) => ({ ...h, ...Object.fromEntries(patch) }) as EnvelopeHeader);

/** The outcome of a parser as comparable data: the header (bytes as hex) or the error code. */
function outcome(parse: () => { header: EnvelopeHeader; headerBytes: Uint8Array }): unknown {
  try {
    const { header, headerBytes } = parse();
    return {
      headerBytes: hex(headerBytes),
      header: JSON.stringify(header, (_, v) => (v instanceof Uint8Array ? `bytes:${hex(v)}` : v)),
      ctxProto: Object.getPrototypeOf(header.context) === Object.prototype,
      ctxKeys: Reflect.ownKeys(header.context),
    };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? String(e) };
  }
}

function encodeOutcome(encode: () => Uint8Array): unknown {
  try {
    return hex(encode());
  } catch (e) {
    return { code: (e as { code?: string }).code ?? String(e) };
  }
}

describe('envelope header codec: direct writer and reader = core CBOR', () => {
  it('encodeEnvelopeHeader writes the generic encoder’s bytes (or its error) for any header', () => {
    fc.assert(
      fc.property(arbHeader, (h) => {
        expect(encodeOutcome(() => encodeEnvelopeHeader(h))).toEqual(
          encodeOutcome(() => _encodeEnvelopeHeaderGeneric(h)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('the written header is deterministic CBOR with the sorted keys (decoded by core, strict)', () => {
    fc.assert(
      fc.property(arbHeader, (h) => {
        let bytes: Uint8Array;
        try {
          bytes = encodeEnvelopeHeader(h);
        } catch {
          return;
        }
        const m = decodeCbor(bytes.subarray(9), { requireDeterministic: true }) as Map<string, unknown>;
        expect(m.get('tenant')).toBe(h.tenant);
        expect(m.get('object')).toBe(h.objectId);
        expect(m.get('frame')).toBe(h.frameSize);
        expect(m.has('ref')).toBe(h.objectRef !== undefined);
      }),
      { numRuns: 100 },
    );
  });

  it('parseEnvelopeHeader agrees with the generic reader on valid and corrupted headers', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      // Bytes added at the end of the header, the prefix's length grown to cover them.
      fc.record({ kind: fc.constant('grow' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 3 }) }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          { arbitrary: arbValidHeader, weight: 4 },
          { arbitrary: arbNearlyValidHeader, weight: 2 },
          { arbitrary: arbHeader, weight: 1 },
        ),
        fc.array(mutation, { maxLength: 2 }),
        fc.uint8Array({ maxLength: 8 }),
        (h, muts, tail) => {
          let bytes: Uint8Array;
          try {
            bytes = encodeEnvelopeHeader(h);
          } catch {
            return;
          }
          for (const m of muts) {
            if (m.kind === 'grow') {
              // Needs the prefix's length field (bytes 5–8) to say the header grew.
              if (bytes.length < 9) continue;
              const b = Buffer.concat([bytes, m.extra]);
              b.writeUInt32BE(b.readUInt32BE(5) + m.extra.length, 5);
              bytes = b;
              continue;
            }
            const at = m.at % (bytes.length + 1);
            if (m.kind === 'flip' && at < bytes.length) {
              bytes = bytes.slice();
              bytes[at] = (bytes[at] as number) ^ (1 << m.bit);
            } else if (m.kind === 'set' && at < bytes.length) {
              bytes = bytes.slice();
              bytes[at] = m.value;
            } else if (m.kind === 'cut') bytes = bytes.slice(0, at);
            else if (m.kind === 'insert') {
              const b = new Uint8Array(bytes.length + 1);
              b.set(bytes.subarray(0, at), 0);
              b[at] = 'value' in m ? m.value : 0;
              b.set(bytes.subarray(at), at + 1);
              bytes = b;
            }
          }
          // The header length in the prefix may no longer cover it all: frames follow in real envelopes.
          const env = Buffer.concat([bytes, tail]);
          expect(outcome(() => parseEnvelopeHeader(env))).toEqual(
            outcome(() => _parseEnvelopeHeaderGeneric(env)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('context keys out of order or repeated are refused as the generic reader refuses them', () => {
    const h: EnvelopeHeader = {
      version: 1,
      suite: 1,
      tenant: 'acme',
      service: 'media',
      objectId: 'o',
      rootKeyId: 'root:1',
      tenantKeyVersion: 1,
      serviceKeyVersion: 1,
      messageId: new Uint8Array(32),
      wrappedKey: new Uint8Array(61),
      nonce: new Uint8Array(12),
      frameSize: 0,
      commitment: new Uint8Array(32),
      context: { a: '1', b: '2', cc: '3' },
    };
    const good = Buffer.from(encodeEnvelopeHeader(h));
    const sorted = Buffer.from('a3616161316162613262636361 33'.replace(/ /g, ''), 'hex');
    const at = good.indexOf(sorted);
    expect(at).toBeGreaterThan(0);
    for (const body of [
      'a3616261326161613162636361 33', // b before a
      'a3616161316161613262636361 33', // a twice
      'a3626363613361616131616261 32', // the longer key first
    ]) {
      const bad = Buffer.from(good);
      Buffer.from(body.replace(/ /g, ''), 'hex').copy(bad, at);
      const got = outcome(() => parseEnvelopeHeader(bad));
      expect(got).toEqual({ code: 'kms.envelope.malformed' });
      expect(got).toEqual(outcome(() => _parseEnvelopeHeaderGeneric(bad)));
    }
  });

  it('heads not in their shortest form are refused as the generic reader refuses them', () => {
    const h: EnvelopeHeader = {
      version: 1,
      suite: 1,
      tenant: 'acme',
      service: 'media',
      objectId: 'o',
      rootKeyId: 'root:1',
      tenantKeyVersion: 1,
      serviceKeyVersion: 300,
      messageId: new Uint8Array(32),
      wrappedKey: new Uint8Array(61),
      nonce: new Uint8Array(12),
      frameSize: 0,
      commitment: new Uint8Array(32),
      context: {},
    };
    const good = Buffer.from(encodeEnvelopeHeader(h));
    const replace = (from: string, to: string): Buffer => {
      const at = good.indexOf(Buffer.from(from, 'hex'));
      expect(at).toBeGreaterThan(0);
      const b = Buffer.concat([
        good.subarray(0, at),
        Buffer.from(to, 'hex'),
        good.subarray(at + from.length / 2),
      ]);
      b.writeUInt32BE(b.length - 9, 5);
      return b;
    };
    for (const bad of [
      replace('626c3201', '626c321801'), // l2: 1 as a one-byte argument
      replace('626c3319012c', '626c331a0000012c'), // l3: 300 as a four-byte argument
      replace('6674656e616e746461636d65', '6674656e616e74780461636d65'), // tenant: text length 4 long
      replace('636d69645820', '636d6964590020'), // mid: byte-string length 32 in two bytes
      replace('63637478a0', '63637478b800'), // ctx: empty map, count in one byte
    ]) {
      const got = outcome(() => parseEnvelopeHeader(bad));
      expect(got).toEqual({ code: 'kms.envelope.malformed' });
      expect(got).toEqual(outcome(() => _parseEnvelopeHeaderGeneric(bad)));
    }
  });

  it('round trip: a valid header parses back to itself; the returned header bytes are a copy', () => {
    const h: EnvelopeHeader = {
      version: 1,
      suite: 1,
      tenant: 'acme',
      service: 'media',
      objectId: 'asset/1 ünïcode',
      rootKeyId: 'root:1',
      tenantKeyVersion: 300,
      serviceKeyVersion: 70_000,
      messageId: new Uint8Array(32).fill(1),
      wrappedKey: new Uint8Array(61).fill(2),
      nonce: new Uint8Array(12).fill(3),
      frameSize: 65536,
      commitment: new Uint8Array(32).fill(4),
      context: { purpose: 'bench', b: 'x', aa: 'y', __proto__x: 'z' },
      objectRef: 'AAAAAAAAAAAAAAAAAAAAAA',
    };
    for (const header of [h, { ...h, objectId: 'plain-ascii' }]) {
      const bytes = encodeEnvelopeHeader(header);
      const parsed = parseEnvelopeHeader(bytes);
      expect(parsed.header).toEqual(header);
      expect(hex(parsed.headerBytes)).toBe(hex(bytes));
      expect(outcome(() => parsed)).toEqual(outcome(() => _parseEnvelopeHeaderGeneric(bytes)));
      expect(parsed.headerBytes.buffer).not.toBe(bytes.buffer);
    }
  });
});
