import { padCoseSign1 } from '@omt/c2pa/builder';
import { CLAIM_SIGNATURE_URI, encodeClaimV2 } from '@omt/c2pa/claim';
import { readClaim } from '@omt/c2pa/manifest-store';
import { decodeCoseSign1, signCoseSign1, verifyCoseSign1 } from '@omt/core/cose';
import { getSuite } from '@omt/core/suites';
import { describe, expect, it } from 'vitest';

describe('claim v2 (C2PA 2.x §10.2)', () => {
  it('encodes the v2 fields and reads back', () => {
    const uri = { url: 'self#jumbf=c2pa.assertions/c2pa.actions.v2', hash: new Uint8Array(32).fill(3) };
    const bytes = encodeClaimV2({
      instanceId: 'xmp:iid:1',
      claimGeneratorInfo: { name: 'omt', version: '1' },
      title: 't',
      createdAssertions: [uri],
      gatheredAssertions: [{ ...uri, alg: 'sha384' }],
      redactedAssertions: ['self#jumbf=/c2pa/x/c2pa.assertions/y'],
    });
    const c = readClaim(bytes, 2);
    expect(c.version).toBe(2);
    expect(c.instanceId).toBe('xmp:iid:1');
    expect(c.signature).toBe(CLAIM_SIGNATURE_URI);
    expect(c.createdAssertions).toEqual([uri]);
    expect(c.gatheredAssertions[0]?.alg).toBe('sha384');
    expect(c.redactedAssertions).toEqual(['self#jumbf=/c2pa/x/c2pa.assertions/y']);
    expect(c.alg).toBe('sha256');
    expect((c.claimGeneratorInfo as Map<string, string>).get('name')).toBe('omt');
  });

  it('rejects a claim without created assertions', () => {
    expect(() =>
      encodeClaimV2({ instanceId: 'x', claimGeneratorInfo: { name: 'n' }, createdAssertions: [] }),
    ).toThrow(expect.objectContaining({ code: 'core.input.invalid' }));
  });

  it('padCoseSign1 fills the reserved size exactly with an unprotected pad (signature still verifies)', async () => {
    const suite = getSuite('ES256');
    const kp = await suite.generateKeyPair();
    const cose = await signCoseSign1({
      signer: { suite, secretKey: kp.secretKey },
      payload: new Uint8Array(10),
      detached: true,
    });
    for (const extra of [30, 31, 57, 100, 200, 261]) {
      const padded = padCoseSign1(cose, cose.length + extra);
      expect(padded.length).toBe(cose.length + extra);
      const d = decodeCoseSign1(padded);
      expect(d.unprotectedHeaders.has('pad')).toBe(true);
      expect(
        (
          await verifyCoseSign1(
            padded,
            { suite, publicKey: kp.publicKey },
            { detachedPayload: new Uint8Array(10) },
          )
        ).valid,
      ).toBe(true);
    }
    expect(() => padCoseSign1(cose, cose.length - 1)).toThrow(
      expect.objectContaining({ code: 'c2pa.signature.too-large' }),
    );
  });
});
