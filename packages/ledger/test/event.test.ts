import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatBytes, fromBase64Url, toBase64Url, toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { canonicalize } from '@omt/core/jcs';
import { getSuite } from '@omt/core/suites';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChainEvent,
  EVENT_ALGS,
  type EventAlg,
  eventHash,
  eventSigningInput,
  MAX_EVENT_BYTES,
  parseEvent,
  partyKeyId,
  partyOf,
  signEvent,
  type UnsignedChainEvent,
  verifyEventSignatures,
} from '../src/event.js';
import { actor } from './event-fixtures.js';

const base: UnsignedChainEvent = {
  v: 1,
  chain: 'item:SN-0001',
  machine: 'omt.item/v1',
  height: 0,
  prev: null,
  type: 'registerManufacturer',
  payload: { manufacturer: 'ab'.repeat(32), name: 'ACME Bikes' },
  time: '2026-11-22T10:00:00.000Z',
};

function expectMalformed(f: () => unknown): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(isOmtError(thrown, 'ledger.event.malformed'), String(thrown)).toBe(true);
}

/** The same JSON with every object's members in reverse order. */
function reorder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorder);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reorder(x)]),
    );
  return v;
}

describe('event hash and signing input', () => {
  it('is SHA-256 of the JCS bytes without signatures', async () => {
    const expected = toHex(sha256(utf8(canonicalize(base))));
    expect(eventHash(base)).toBe(expected);
    const signed = await signEvent(base, [(await actor('a')).signer]);
    expect(eventHash(signed)).toBe(expected);
    expect(toHex(eventSigningInput(signed))).toBe(
      toHex(concatBytes(utf8('omt.event.v1\n'), sha256(utf8(canonicalize(base))))),
    );
    expect(toHex(eventSigningInput(expected))).toBe(toHex(eventSigningInput(base)));
  });

  it('is stable under member order and whitespace, and changes with any field', async () => {
    const a = await actor('a');
    const signed = await signEvent(base, [a.signer]);
    const text = JSON.stringify(reorder(signed), null, 2);
    const parsed = parseEvent(text);
    expect(eventHash(parsed)).toBe(eventHash(signed));
    expect(await verifyEventSignatures(parsed)).toEqual([]);
    expect(eventHash({ ...base, time: '2026-11-22T10:00:00.001Z' })).not.toBe(eventHash(base));
    expect(eventHash({ ...base, payload: { ...base.payload, name: 'ACME bikes' } })).not.toBe(
      eventHash(base),
    );
  });

  it('property: member order never changes the hash', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
        (payload) => {
          const event = { ...base, payload: payload as UnsignedChainEvent['payload'] };
          expect(eventHash(reorder(event) as UnsignedChainEvent)).toBe(eventHash(event));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses a hash that is not 64 hex characters', () => {
    expectMalformed(() => eventSigningInput('ABCD'));
  });
});

describe('signEvent', () => {
  it('signs with ML-DSA-65 by default and the signature verifies over the signing input', async () => {
    const kp = await getSuite('ML-DSA-65').generateKeyPair();
    const event = await signEvent(base, [{ secretKey: kp.secretKey, publicKey: kp.publicKey }]);
    expect(event.signatures).toHaveLength(1);
    const [s] = event.signatures as [ChainEvent['signatures'][number]];
    expect(s.alg).toBe('ML-DSA-65');
    expect(s.keyId).toBe(toHex(sha256(kp.publicKey)));
    expect(
      await getSuite('ML-DSA-65').verify(kp.publicKey, eventSigningInput(base), fromBase64Url(s.sig)),
    ).toBe(true);
    expect(await verifyEventSignatures(event)).toEqual([]);
    expect(parseEvent(JSON.stringify(event))).toEqual(event);
  });

  it('appends signatures made on separate devices, once per key', async () => {
    const [a, b] = [await actor('a'), await actor('b', 'ES256K')];
    const first = await signEvent(base, [a.signer]);
    const both = await signEvent(first, [b.signer]);
    expect(both.signatures.map((s) => s.keyId)).toEqual([a.keyId, b.keyId]);
    expect(await verifyEventSignatures(both)).toEqual([]);
    await expect(signEvent(both, [a.signer])).rejects.toMatchObject({ code: 'ledger.event.malformed' });
  });

  it('refuses bad signers and malformed events', async () => {
    const a = await actor('a');
    const other = await actor('o');
    await expect(signEvent(base, [])).rejects.toMatchObject({ code: 'ledger.event.signer-invalid' });
    await expect(signEvent(base, [{ ...a.signer, publicKey: other.signer.publicKey }])).rejects.toMatchObject(
      {
        code: 'ledger.event.signer-invalid',
      },
    );
    await expect(signEvent(base, [{ ...a.signer, alg: 'RS256' as EventAlg }])).rejects.toMatchObject({
      code: 'ledger.event.signer-invalid',
    });
    await expect(signEvent({ ...base, chain: 'Item:1' }, [a.signer])).rejects.toMatchObject({
      code: 'ledger.event.malformed',
    });
    await expect(signEvent({ ...base, extra: 1 } as UnsignedChainEvent, [a.signer])).rejects.toMatchObject({
      code: 'ledger.event.malformed',
    });
    const nine = await Promise.all(Array.from({ length: 9 }, (_, i) => actor(`s${i}`)));
    await expect(
      signEvent(
        base,
        nine.map((x) => x.signer),
      ),
    ).rejects.toMatchObject({
      code: 'ledger.event.malformed',
    });
  });

  it('signs and verifies with every event algorithm', { timeout: 120_000 }, async () => {
    for (const alg of EVENT_ALGS) {
      const a = await actor(alg, alg);
      const event = await signEvent(base, [a.signer]);
      expect(await verifyEventSignatures(event), alg).toEqual([]);
      expect(event.signatures[0]?.keyId).toBe(a.keyId);
    }
  });
});

describe('partyKeyId', () => {
  it('gives one id for either SEC1 spelling of a secp256k1 or P-256 key', () => {
    const k1 = secp256k1.Point.BASE.multiply(7n);
    const id1 = partyKeyId({ alg: 'ES256K', pub: toBase64Url(k1.toBytes(true)) });
    expect(partyKeyId({ alg: 'ES256K', pub: toBase64Url(k1.toBytes(false)) })).toBe(id1);
    expect(id1).toBe(toHex(sha256(k1.toBytes(true))));
    const k2 = p256.Point.BASE.multiply(7n);
    const id2 = partyKeyId({ alg: 'ES256', pub: toBase64Url(k2.toBytes(true)) });
    expect(partyKeyId({ alg: 'ES256', pub: toBase64Url(k2.toBytes(false)) })).toBe(id2);
    expect(id2).toBe(toHex(sha256(k2.toBytes(false))));
  });

  it('refuses unknown algorithms and keys of the wrong size', () => {
    expectMalformed(() => partyKeyId({ alg: 'RS256' as EventAlg, pub: 'AAAA' }));
    expectMalformed(() => partyKeyId({ alg: 'Ed25519', pub: toBase64Url(new Uint8Array(31)) }));
    expectMalformed(() => partyKeyId({ alg: 'ES256K', pub: toBase64Url(new Uint8Array(33)) }));
    expectMalformed(() => partyKeyId({ alg: 'Ed25519', pub: '***' }));
    expectMalformed(() => partyOf({ alg: 'Ed25519', publicKey: 'x' as unknown as Uint8Array }));
  });
});

describe('parseEvent', () => {
  async function signed(): Promise<ChainEvent> {
    return signEvent(base, [(await actor('a')).signer]);
  }

  it('accepts text, bytes and values and returns a detached copy', async () => {
    const event = await signed();
    expect(parseEvent(JSON.stringify(event))).toEqual(event);
    expect(parseEvent(utf8(JSON.stringify(event)))).toEqual(event);
    const value = JSON.parse(JSON.stringify(event));
    const copy = parseEvent(value);
    value.payload.name = 'changed';
    expect(copy.payload.name).toBe('ACME Bikes');
  });

  it('returns a deep-frozen copy: parsing it again returns it, and its hash is that of the same event unfrozen', async () => {
    const event = await signed();
    const parsed = parseEvent(JSON.stringify(event));
    expect(Object.isFrozen(parsed) && Object.isFrozen(parsed.payload)).toBe(true);
    expect(Object.isFrozen(parsed.signatures) && Object.isFrozen(parsed.signatures[0])).toBe(true);
    expect(parseEvent(parsed)).toBe(parsed);
    // The remembered hash (computed once) equals the hash of a structural copy, every time.
    const hash = eventHash(parsed);
    expect(eventHash(parsed)).toBe(hash);
    expect(eventHash(structuredClone(parsed))).toBe(hash);
    expect(eventHash(event)).toBe(hash);
    expect(eventSigningInput(parsed)).toEqual(eventSigningInput(hash));
    // Nothing can change under the remembered hash.
    expect(() => {
      (parsed.payload as Record<string, unknown>).name = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      (parsed as { height: number }).height = 1;
    }).toThrow(TypeError);
    expect(eventHash(parsed)).toBe(hash);
    // A changed copy is another event.
    const moved = parseEvent({ ...parsed, payload: { ...parsed.payload, name: 'Other' } });
    expect(eventHash(moved)).not.toBe(hash);
    expect(eventHash(moved)).toBe(eventHash({ ...event, payload: { ...event.payload, name: 'Other' } }));
  });

  it('refuses malformed events', async () => {
    const event = await signed();
    const variants: unknown[] = [
      'not json',
      '{"v":1,"v":1}',
      { ...event, v: 2 },
      { ...event, chain: 'item' },
      { ...event, chain: `item:${'x'.repeat(129)}` },
      { ...event, chain: 'ITEM:1' },
      { ...event, machine: 'omt.item' },
      { ...event, height: -1 },
      { ...event, height: 1.5 },
      { ...event, prev: 'ab'.repeat(32) },
      { ...event, height: 1, prev: null },
      { ...event, height: 1, prev: 'AB'.repeat(32) },
      { ...event, type: 'Register' },
      { ...event, payload: [] },
      { ...event, payload: 'x' },
      { ...event, time: '2026-11-22T10:00:00Z' },
      { ...event, time: '2026-02-30T10:00:00.000Z' },
      { ...event, time: '2026-11-22T10:00:00.000+01:00' },
      { ...event, signatures: [] },
      { ...event, signatures: undefined },
      { ...event, signatures: [{ ...event.signatures[0], alg: 'RS256' }] },
      { ...event, signatures: [{ ...event.signatures[0], keyId: 'AB'.repeat(32) }] },
      { ...event, signatures: [{ ...event.signatures[0], sig: 'a+b/' }] },
      { ...event, signatures: [{ ...event.signatures[0], extra: true }] },
      { ...event, signatures: [event.signatures[0], event.signatures[0]] },
      { ...event, signatures: Array.from({ length: 9 }, () => event.signatures[0]) },
      { ...event, extra: 1 },
      { ...event, payload: { n: Number.NaN } },
      { ...event, payload: { n: undefined } },
      { ...event, payload: { big: 'x'.repeat(MAX_EVENT_BYTES) } },
      JSON.stringify({ ...event, payload: { big: 'x'.repeat(MAX_EVENT_BYTES) } }),
      null,
      42,
    ];
    for (const v of variants) expectMalformed(() => parseEvent(v));
  });
});

describe('verifyEventSignatures', () => {
  it('reports forged, re-keyed and mismatched signatures', async () => {
    const [a, b] = [await actor('a'), await actor('b')];
    const event = await signEvent(base, [a.signer, b.signer]);
    const sig = fromBase64Url(event.signatures[0]?.sig as string);
    sig[5] = (sig[5] as number) ^ 1;
    const forged = {
      ...event,
      signatures: [{ ...event.signatures[0], sig: toBase64Url(sig) }, event.signatures[1]],
    } as ChainEvent;
    expect((await verifyEventSignatures(forged)).map((s) => s.code)).toEqual(['ledger.event.signature']);
    // b's key under a's keyId
    const rekeyed = {
      ...event,
      signatures: [{ ...event.signatures[0], pub: event.signatures[1]?.pub }],
    } as ChainEvent;
    expect((await verifyEventSignatures(rekeyed)).map((s) => s.code)).toEqual(['ledger.event.signature']);
    // a changed payload breaks every signature
    const changed = { ...event, payload: { ...event.payload, name: 'Evil Corp' } } as ChainEvent;
    expect(await verifyEventSignatures(changed)).toHaveLength(2);
    const shortPub = {
      ...event,
      signatures: [{ ...event.signatures[0], pub: toBase64Url(new Uint8Array(5)) }],
    } as ChainEvent;
    expect((await verifyEventSignatures(shortPub)).map((s) => s.code)).toEqual(['ledger.event.signature']);
  });
});
