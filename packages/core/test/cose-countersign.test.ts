import { ed25519 } from '@noble/curves/ed25519.js';
import { fromHex, toHex, utf8 } from '@omt/core/bytes';
import { CborTag, type CborValue, decodeCbor, encodeCbor } from '@omt/core/cbor';
import {
  buildCountersignStructure,
  COSE_HEADER,
  type CoseVerifyKey,
  type CountersignatureInfo,
  countersignCoseSign1,
  decodeCoseSign1,
  encodeCoseSign1,
  signCoseSign1,
  verifyCoseCountersignatures,
  verifyCoseSign1,
} from '@omt/core/cose';
import { OmtError } from '@omt/core/errors';
import { getSuite, type KeyPair, type SuiteId } from '@omt/core/suites';
import { Encoder as CborXEncoder } from 'cbor-x';
import { beforeAll, describe, expect, it } from 'vitest';

const cborx = new CborXEncoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false });
const EMPTY = new Uint8Array(0);

async function errorOf(p: Promise<unknown>): Promise<OmtError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OmtError) return e;
    throw e;
  }
  throw new Error('expected an OmtError');
}

const keys: Partial<Record<SuiteId, KeyPair>> = {};
const key = (id: SuiteId): CoseVerifyKey => ({
  suite: getSuite(id),
  publicKey: (keys[id] as KeyPair).publicKey,
});
const signer = (id: SuiteId, kid?: string) => ({
  suite: getSuite(id),
  secretKey: (keys[id] as KeyPair).secretKey,
  ...(kid ? { kid: utf8(kid) } : {}),
});

beforeAll(async () => {
  for (const id of ['Ed25519', 'ES256', 'ML-DSA-44'] as const)
    keys[id] = await getSuite(id).generateKeyPair();
});

/** Resolves countersignature keys by kid; the abbreviated one is ML-DSA-44 by agreement. */
const byKid = (info: CountersignatureInfo): CoseVerifyKey | undefined => {
  if (info.kind === 'abbreviated') return key('ML-DSA-44');
  const kid = info.kid ? new TextDecoder().decode(info.kid) : '';
  return kid === 'cs-ed' ? key('Ed25519') : kid === 'cs-es' ? key('ES256') : undefined;
};

describe('Countersign_structure (RFC 9338 §3.3)', () => {
  it('matches the cose-wg V1 layout without other_fields, and that vector verifies', () => {
    // cose-wg/Examples countersign/signed1-01.json (RFC 8152 layout = RFC 9338 without other_fields).
    const tbs = buildCountersignStructure({
      bodyProtected: fromHex('a201270300'),
      signProtected: fromHex('a10127'),
      payload: utf8('This is the content.'),
    });
    expect(toHex(tbs)).toBe(
      '8570436f756e7465725369676e617475726545a20127030043a101274054546869732069732074686520636f6e74656e742e',
    );
    const sig = fromHex(
      '6daed158afe4032e8dd477d3d2b7f667e7957aa8302bb5e568b4dcbcce3cf0ed5a90f831351c85d6155a42a17ca1f25f501cc13f67108ae53bda92db88272e00',
    );
    expect(
      ed25519.verify(sig, tbs, fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')),
    ).toBe(true);
  });

  it('uses the V2 contexts and a nested other_fields array when the target has a third bstr', () => {
    const bodyProtected = fromHex('a10127');
    const signProtected = fromHex('a10126');
    const payload = utf8('p');
    const signature = fromHex('0102');
    const aad = fromHex('aa');
    const full = buildCountersignStructure({
      bodyProtected,
      signProtected,
      payload,
      externalAad: aad,
      otherFields: [signature],
    });
    expect(full).toEqual(
      new Uint8Array(
        cborx.encode(['CounterSignatureV2', bodyProtected, signProtected, aad, payload, [signature]]),
      ),
    );
    const abbreviated = buildCountersignStructure({ bodyProtected, payload, otherFields: [signature] });
    expect(abbreviated).toEqual(
      new Uint8Array(cborx.encode(['CounterSignature0V2', bodyProtected, EMPTY, payload, [signature]])),
    );
    expect(toHex(buildCountersignStructure({ bodyProtected: EMPTY, payload: EMPTY }))).toBe(
      toHex(encodeCbor(['CounterSignature0', EMPTY, EMPTY, EMPTY])),
    );
  });
});

describe('countersignCoseSign1 / verifyCoseCountersignatures', () => {
  it('adds two full countersignatures and an abbreviated one; all verify, the message still verifies', async () => {
    const payload = utf8('media manifest');
    const base = await signCoseSign1({ signer: signer('Ed25519', 'main'), payload });
    const one = await countersignCoseSign1(base, { signer: signer('Ed25519', 'cs-ed') });
    // A single full countersignature is stored as one COSE_Countersignature, not an array.
    const single = decodeCoseSign1(one).unprotectedHeaders.get(COSE_HEADER.countersignature) as CborValue[];
    expect(single).toHaveLength(3);
    expect(single[0]).toBeInstanceOf(Uint8Array);
    const two = await countersignCoseSign1(one, { signer: signer('ES256', 'cs-es') });
    const three = await countersignCoseSign1(two, { signer: signer('ML-DSA-44'), abbreviated: true });

    const msg = decodeCoseSign1(three);
    const list = msg.unprotectedHeaders.get(COSE_HEADER.countersignature) as CborValue[][];
    expect(list).toHaveLength(2);
    expect(msg.unprotectedHeaders.get(COSE_HEADER.countersignature0)).toBeInstanceOf(Uint8Array);
    // The main message is untouched: same protected bytes, payload and signature, still valid.
    const orig = decodeCoseSign1(base);
    expect(msg.protectedBytes).toEqual(orig.protectedBytes);
    expect(msg.signature).toEqual(orig.signature);
    expect(await verifyCoseSign1(three, key('Ed25519'))).toMatchObject({ valid: true });

    const results = await verifyCoseCountersignatures(three, byKid);
    expect(results.map((r) => [r.info.kind, r.valid, r.valid ? r.suite : r.code])).toEqual([
      ['full', true, 'Ed25519'],
      ['full', true, 'ES256'],
      ['abbreviated', true, 'ML-DSA-44'],
    ]);
    expect(results[1]?.info.alg).toBe(-7);

    // Independent check of the first (Ed25519, deterministic) countersignature with noble + cbor-x.
    const [csProtected, , csSig] = list[0] as [Uint8Array, Map<CborValue, CborValue>, Uint8Array];
    const tbs = new Uint8Array(
      cborx.encode(['CounterSignatureV2', msg.protectedBytes, csProtected, EMPTY, payload, [msg.signature]]),
    );
    expect(ed25519.verify(csSig, tbs, key('Ed25519').publicKey)).toBe(true);
  });

  it('each countersignature fails on its own, with a reason', async () => {
    const base = await signCoseSign1({ signer: signer('Ed25519'), payload: utf8('x') });
    const signed = await countersignCoseSign1(
      await countersignCoseSign1(base, { signer: signer('Ed25519', 'cs-ed') }),
      { signer: signer('ES256', 'cs-es') },
    );
    const msg = decodeCoseSign1(signed);
    const list = (msg.unprotectedHeaders.get(COSE_HEADER.countersignature) as CborValue[][]).map((c) => [
      ...c,
    ]);
    const sig0 = ((list[0] as CborValue[])[2] as Uint8Array).slice();
    sig0[0] = (sig0[0] as number) ^ 1;
    (list[0] as CborValue[])[2] = sig0;
    const tampered = encodeCoseSign1({
      ...msg,
      unprotectedHeaders: new Map([...msg.unprotectedHeaders, [COSE_HEADER.countersignature, list]]),
    });
    const results = await verifyCoseCountersignatures(tampered, byKid);
    expect(results.map((r) => (r.valid ? 'ok' : r.code))).toEqual(['core.cose.signature-invalid', 'ok']);
    // Countersignatures cover the main signature (other_fields): replacing it breaks them all.
    const swapped = encodeCoseSign1({ ...msg, signature: new Uint8Array(64) });
    const r2 = await verifyCoseCountersignatures(swapped, byKid);
    expect(r2.every((r) => !r.valid && r.code === 'core.cose.signature-invalid')).toBe(true);
    // Unknown key and alg/key mismatch.
    const r3 = await verifyCoseCountersignatures(signed, (info) =>
      info.index === 0 ? undefined : key('Ed25519'),
    );
    expect(r3.map((r) => (r.valid ? 'ok' : r.code))).toEqual([
      'core.cose.key-unknown',
      'core.cose.alg-mismatch',
    ]);
    // A different external AAD fails.
    const r4 = await verifyCoseCountersignatures(signed, byKid, { externalAad: utf8('other') });
    expect(r4.every((r) => !r.valid)).toBe(true);
  });

  it('external AAD and detached payloads', async () => {
    const payload = utf8('detached');
    const externalAad = utf8('ctx');
    const base = await signCoseSign1({ signer: signer('Ed25519'), payload, detached: true });
    expect((await errorOf(countersignCoseSign1(base, { signer: signer('Ed25519', 'cs-ed') }))).code).toBe(
      'core.cose.payload-missing',
    );
    const cs = await countersignCoseSign1(base, {
      signer: signer('Ed25519', 'cs-ed'),
      detachedPayload: payload,
      externalAad,
    });
    expect(
      await verifyCoseCountersignatures(cs, byKid, { detachedPayload: payload, externalAad }),
    ).toMatchObject([{ valid: true }]);
    expect(
      await verifyCoseCountersignatures(cs, byKid, { detachedPayload: utf8('other'), externalAad }),
    ).toMatchObject([{ valid: false, code: 'core.cose.signature-invalid' }]);
  });

  it('rejects a second abbreviated countersignature and headers on the abbreviated form', async () => {
    const base = await signCoseSign1({ signer: signer('Ed25519'), payload: utf8('x') });
    const once = await countersignCoseSign1(base, { signer: signer('ML-DSA-44'), abbreviated: true });
    expect(
      (await errorOf(countersignCoseSign1(once, { signer: signer('ML-DSA-44'), abbreviated: true }))).code,
    ).toBe('core.cose.countersignature-exists');
    expect(
      (
        await errorOf(
          countersignCoseSign1(base, {
            signer: signer('ML-DSA-44'),
            abbreviated: true,
            protectedHeaders: new Map([[3, 0]]),
          }),
        )
      ).code,
    ).toBe('core.input.invalid');
  });

  it('reports malformed countersignature entries per entry, accepts tag 19, ignores V1 labels', async () => {
    const base = decodeCoseSign1(await signCoseSign1({ signer: signer('Ed25519'), payload: utf8('x') }));
    const good = decodeCoseSign1(await countersignCoseSign1(base, { signer: signer('Ed25519', 'cs-ed') }));
    const entry = good.unprotectedHeaders.get(COSE_HEADER.countersignature) as CborValue;
    const withGarbage = encodeCoseSign1({
      ...base,
      unprotectedHeaders: new Map<number | string, CborValue>([
        [COSE_HEADER.countersignature, [new CborTag(19, entry), [1, 2], 'junk']],
        [7, 'v1 countersignature, ignored'],
      ]),
    });
    const results = await verifyCoseCountersignatures(withGarbage, byKid);
    expect(results.map((r) => (r.valid ? 'ok' : r.code))).toEqual([
      'ok',
      'core.cose.malformed',
      'core.cose.malformed',
    ]);
    // A bad tag on an entry is malformed too.
    const badTag = encodeCoseSign1({
      ...base,
      unprotectedHeaders: new Map<number | string, CborValue>([
        [COSE_HEADER.countersignature, [new CborTag(18, entry)]],
      ]),
    });
    expect(await verifyCoseCountersignatures(badTag, byKid)).toMatchObject([
      { valid: false, code: 'core.cose.malformed' },
    ]);
    // No countersignatures: no results.
    expect(await verifyCoseCountersignatures(encodeCoseSign1(base), byKid)).toEqual([]);
  });

  it('survives a decode/encode round trip of the countersigned message', async () => {
    const base = await signCoseSign1({ signer: signer('ES256'), payload: utf8('x'), tagged: false });
    const cs = await countersignCoseSign1(base, { signer: signer('Ed25519', 'cs-ed') });
    expect(Array.isArray(decodeCbor(cs))).toBe(true); // untagged stays untagged
    const reencoded = encodeCoseSign1({ ...decodeCoseSign1(cs), tagged: false });
    expect(toHex(reencoded)).toBe(toHex(cs));
    expect(await verifyCoseCountersignatures(reencoded, byKid)).toMatchObject([{ valid: true }]);
  });
});
