import { fromBase64Url, toBase64Url, utf8 } from '@omt/core/bytes';
import { canonicalize } from '@omt/core/jcs';
import { keyId } from '@omt/core/keys';
import { jsonSigningInput, signJson, verifyJson } from '@omt/core/signed-json';
import { getSuite, type SuiteId } from '@omt/core/suites';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const doc = { title: 'Grüße', n: 1.5, tags: ['a', 'b'], nested: { z: null, a: true } };

describe('signed JSON ({alg, kid, sig} beside JCS)', () => {
  for (const id of ['ML-DSA-65', 'Ed25519', 'ES256', 'ML-DSA-65+ES256'] as SuiteId[]) {
    it(`${id}: signs the JCS form without "signature", verifies, and catches changes`, async () => {
      const suite = getSuite(id);
      const kp = await suite.generateKeyPair();
      const kid = keyId({ suite: id, publicKey: kp.publicKey });
      const signed = await signJson(doc, { suite, secretKey: kp.secretKey, kid });
      expect(signed.signature.alg).toBe(id);
      expect(signed.signature.kid).toBe(kid);
      // The signing input is exactly the RFC 8785 text of the document.
      expect(jsonSigningInput(signed)).toEqual(utf8(canonicalize(doc)));
      const sig = fromBase64Url(signed.signature.sig);
      expect(await suite.verify(kp.publicKey, utf8(canonicalize(doc)), sig)).toBe(true);
      expect(await verifyJson(signed, { suite, publicKey: kp.publicKey, kid })).toEqual({
        valid: true,
        alg: id,
        kid,
      });
      // Any change of content fails; key order does not matter.
      const reordered = JSON.parse(
        JSON.stringify({
          signature: signed.signature,
          nested: doc.nested,
          tags: doc.tags,
          n: 1.5,
          title: doc.title,
        }),
      );
      expect((await verifyJson(reordered, { suite, publicKey: kp.publicKey })).valid).toBe(true);
      const changed = await verifyJson({ ...signed, n: 1.25 }, { suite, publicKey: kp.publicKey });
      expect(changed).toMatchObject({ valid: false, code: 'core.signature.invalid' });
      const added = await verifyJson({ ...signed, extra: 1 }, { suite, publicKey: kp.publicKey });
      expect(added).toMatchObject({ valid: false, code: 'core.signature.invalid' });
    });
  }

  it('reports why a document does not verify', async () => {
    const suite = getSuite('Ed25519');
    const other = getSuite('ES256');
    const kp = await suite.generateKeyPair();
    const signed = await signJson(doc, { suite, secretKey: kp.secretKey, kid: 'k1' });
    const pk = kp.publicKey;
    expect(await verifyJson([1, 2], { suite, publicKey: pk })).toMatchObject({
      valid: false,
      code: 'core.json.invalid',
    });
    expect(await verifyJson(doc, { suite, publicKey: pk })).toMatchObject({
      valid: false,
      code: 'core.signature.missing',
    });
    expect(
      await verifyJson({ ...signed, signature: { ...signed.signature, extra: 1 } }, { suite, publicKey: pk }),
    ).toMatchObject({
      valid: false,
      code: 'core.signature.missing',
    });
    const otherKp = await other.generateKeyPair();
    expect(await verifyJson(signed, { suite: other, publicKey: otherKp.publicKey })).toMatchObject({
      valid: false,
      code: 'core.signature.alg-mismatch',
    });
    expect(await verifyJson(signed, { suite, publicKey: pk, kid: 'k2' })).toMatchObject({
      valid: false,
      code: 'core.signature.kid-mismatch',
    });
    expect(
      await verifyJson(
        { ...signed, signature: { ...signed.signature, sig: '***' } },
        { suite, publicKey: pk },
      ),
    ).toMatchObject({
      valid: false,
      code: 'core.signature.invalid',
    });
    expect(await verifyJson({ ...signed, bad: Number.NaN }, { suite, publicKey: pk })).toMatchObject({
      valid: false,
      code: 'core.json.invalid',
    });
  });

  it('refuses to sign non-objects, already-signed documents and non-JSON values', async () => {
    const suite = getSuite('Ed25519');
    const kp = await suite.generateKeyPair();
    const signer = { suite, secretKey: kp.secretKey, kid: 'k' };
    await expect(signJson([1], signer)).rejects.toMatchObject({ code: 'core.json.invalid' });
    await expect(signJson('x', signer)).rejects.toMatchObject({ code: 'core.json.invalid' });
    await expect(signJson({ signature: 1 }, signer)).rejects.toMatchObject({
      code: 'core.json.already-signed',
    });
    await expect(signJson({ a: () => 1 }, signer)).rejects.toMatchObject({ code: 'core.json.invalid' });
    await expect(signJson({ a: 10n }, signer)).rejects.toMatchObject({ code: 'core.json.invalid' });
  });

  it('property: any JSON object round-trips; any single-bit flip of the signature fails', async () => {
    const suite = getSuite('Ed25519');
    const kp = await suite.generateKeyPair();
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.string().filter((k) => k !== 'signature'),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        fc.nat(),
        async (obj, bit) => {
          const value = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
          const signed = await signJson(value, { suite, secretKey: kp.secretKey, kid: 'k' });
          const reparsed = JSON.parse(JSON.stringify(signed));
          expect((await verifyJson(reparsed, { suite, publicKey: kp.publicKey })).valid).toBe(true);
          const sig = fromBase64Url(signed.signature.sig);
          const i = bit % (sig.length * 8);
          sig[i >> 3] = (sig[i >> 3] as number) ^ (1 << (i & 7));
          const flipped = { ...reparsed, signature: { ...reparsed.signature, sig: toBase64Url(sig) } };
          expect((await verifyJson(flipped, { suite, publicKey: kp.publicKey })).valid).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });
});
