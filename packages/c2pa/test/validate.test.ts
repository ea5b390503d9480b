import { readFileSync } from 'node:fs';
import { buildActionsAssertion, DIGITAL_SOURCE_TYPE } from '@omt/c2pa/assertions';
import { type ClaimSigner, signAsset } from '@omt/c2pa/builder';
import { signClaim } from '@omt/c2pa/claim-signature';
import { jumbfSuperBox, serializeJumbf } from '@omt/c2pa/jumbf';
import { parseManifestStore } from '@omt/c2pa/manifest-store';
import { createTestPki, type SingleTestPki } from '@omt/c2pa/pki';
import { signFile } from '@omt/c2pa/sign';
import { validateAsset } from '@omt/c2pa/validate';
import { isOmtError } from '@omt/core/errors';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

let signedJpeg: Uint8Array;
let signedPng: Uint8Array;
let pki: SingleTestPki;
beforeAll(async () => {
  pki = (await createTestPki({ suite: 'ES256' })) as SingleTestPki;
  const opts = { key: pki.files['signer.key.pem'], chain: pki.files['chain.pem'] };
  signedJpeg = (await signFile({ asset: td('no_manifest.jpg'), mime: 'image/jpeg', ...opts }))
    .asset as Uint8Array;
  signedPng = (await signFile({ asset: td('libpng-test.png'), mime: 'image/png', ...opts }))
    .asset as Uint8Array;
});

/** Only a report or an OmtError is acceptable: never another exception. */
async function judged(bytes: Uint8Array, mime: string): Promise<string> {
  try {
    const r = await validateAsset(bytes, mime);
    expect(['Invalid', 'Valid', 'Trusted']).toContain(r.state);
    if (r.state !== 'Invalid')
      expect(r.failureCodes.every((c) => c === 'signingCredential.untrusted')).toBe(true);
    return r.state;
  } catch (e) {
    if (!isOmtError(e)) throw e;
    return e.code;
  }
}

describe('validateAsset', () => {
  it('options and input are checked', async () => {
    await expect(
      validateAsset(signedJpeg, 'image/jpeg', { hybrid: 'sometimes' as never }),
    ).rejects.toMatchObject({
      code: 'c2pa.input.invalid',
    });
    await expect(validateAsset({}, 'image/jpeg')).rejects.toMatchObject({ code: 'c2pa.input.invalid' });
    await expect(validateAsset(signedJpeg, 'text/plain')).rejects.toMatchObject({
      code: 'c2pa.asset.unsupported',
    });
  });

  it('hybrid "required" fails a classical-only signature with omt.hybridSignature.missing', async () => {
    const r = await validateAsset(signedJpeg, 'image/jpeg', { hybrid: 'required' });
    expect(r.state).toBe('Invalid');
    expect(r.failureCodes).toContain('omt.hybridSignature.missing');
  });

  it('opts.at outside the certificate validity → signingCredential.expired, Invalid', async () => {
    const r = await validateAsset(signedJpeg, 'image/jpeg', { at: new Date('2001-01-01T00:00:00Z') });
    expect(r.state).toBe('Invalid');
    expect(r.failureCodes).toContain('signingCredential.expired');
  });

  it('fuzz: random byte mutations of signed JPEG/PNG never crash: a report or an OmtError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        async (png, muts) => {
          const src = png ? signedPng : signedJpeg;
          const bytes = src.slice();
          for (const [pos, x] of muts) bytes[pos % bytes.length] = (bytes[pos % bytes.length] as number) ^ x;
          const verdict = await judged(bytes, png ? 'image/png' : 'image/jpeg');
          // A changed byte may only pass if it sits where C2PA does not look (a PNG chunk CRC,
          // padding, …); never a crash.
          expect(typeof verdict).toBe('string');
        },
      ),
      { numRuns: 150 },
    );
  }, 50_000);

  it('fuzz: truncations and random stores in a sidecar stay bounded', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.uint8Array({ maxLength: 512 }), async (cut, junk) => {
        await judged(signedJpeg.subarray(0, cut % signedJpeg.length), 'image/jpeg');
        try {
          const r = await validateAsset(td('no_manifest.jpg'), 'image/jpeg', { sidecar: junk });
          expect(r.state).toBe('Invalid');
        } catch (e) {
          if (!isOmtError(e)) throw e;
        }
      }),
      { numRuns: 100 },
    );
  }, 50_000);

  it('a cyclic ingredient store (A lists B, B lists A) → bounded Invalid report, ingredient.manifest.mismatch', async () => {
    const asset = td('no_manifest.jpg');
    const signer: ClaimSigner = (claimBytes) =>
      signClaim({
        claimBytes,
        signer: { suite: 'ES256', secretKey: pki.signer.key.secretKey as Uint8Array },
        chain: pki.chain,
      });
    const actions = buildActionsAssertion({
      actions: [{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture }],
    });
    const sign = (manifestLabel: string, parent?: Uint8Array) =>
      signAsset({
        asset,
        mime: 'image/jpeg',
        sidecar: true,
        manifestLabel,
        signer,
        assertions: [actions],
        ...(parent
          ? {
              ingredients: [
                {
                  ingredient: { title: 'p', format: 'image/jpeg', relationship: 'parentOf' as const },
                  manifestStore: parent,
                },
              ],
            }
          : {}),
      });
    const A = 'urn:c2pa:aaaaaaaa-0000-4000-8000-000000000000';
    const B = 'urn:c2pa:bbbbbbbb-0000-4000-8000-000000000000';
    // A first version of A, then B listing it, then A (same label) listing B: the store keeps
    // B and the final A only, so B's ingredient now points at A, which points at B.
    const a0 = await signAsset({
      asset,
      mime: 'image/jpeg',
      sidecar: true,
      manifestLabel: A,
      signer,
      assertions: [actions],
    });
    const b = await sign(B, a0.store);
    const a = await sign(A, b.store);
    const parsed = parseManifestStore(a.store);
    const boxes = parsed.manifests.map((m) => m.box);
    const finalA = boxes[boxes.length - 1];
    const bBox = parsed.manifests.find((m) => m.label === B)?.box;
    expect(finalA).toBeDefined();
    expect(bBox).toBeDefined();
    const cyclic = serializeJumbf(
      jumbfSuperBox({ type: 'c2pa', label: 'c2pa' }, [bBox, finalA] as NonNullable<typeof bBox>[]),
    );
    const store = parseManifestStore(cyclic);
    expect(store.manifests.map((m) => m.label)).toEqual([B, A]);
    expect(store.activeManifest.label).toBe(A);
    const r = await validateAsset(asset, 'image/jpeg', { sidecar: cyclic });
    expect(r.failureCodes).toContain('ingredient.manifest.mismatch');
    expect(r.state).toBe('Invalid');
    const bReport = r.perManifest.find((m) => m.label === B);
    expect(bReport?.failureCodes).toContain('ingredient.manifest.mismatch');
    expect(r.failureCodes.length).toBeGreaterThan(0);
    expect(r.perManifest).toHaveLength(2);
  });
});
