// Hybrid policy: under hybrid 'required' the PQ countersignature's certificate chain counts as
// much as the classical one — an invalid or expired PQ chain fails (omt.hybridSignature.credentialInvalid),
// and so does one that reaches no anchor of a configured trust list (omt.hybridSignature.untrusted):
// otherwise a forged classical signature could ride with a self-made PQ certificate. The files
// stay what the official reader sees: a classical signature it validates (Trusted with the root).
import { readFileSync } from 'node:fs';
import { createTestPki, type HybridTestPki } from '@omt/c2pa/pki';
import { signFile } from '@omt/c2pa/sign';
import { createTrustList } from '@omt/c2pa/trust';
import { validateAsset } from '@omt/c2pa/validate';
import { concatBytes } from '@omt/core/bytes';
import type { KeyMaterial } from '@omt/core/keys';
import { beforeAll, describe, expect, it } from 'vitest';
import { officialReader } from './official-reader.js';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

let a: HybridTestPki; // the signer's real PKI (classical + PQ), trusted
let b: HybridTestPki; // someone else's PKI: its PQ chain is not under A's roots
let old: HybridTestPki; // a PKI whose certificates expired long ago

const hybrid = async (p: Promise<unknown>): Promise<HybridTestPki> => {
  const pki = await p;
  if ((pki as HybridTestPki).kind !== 'hybrid') throw new Error('kind');
  return pki as HybridTestPki;
};

beforeAll(async () => {
  a = await hybrid(createTestPki({ suite: 'ML-DSA-65+ES256', subjectPrefix: 'A' }));
  b = await hybrid(createTestPki({ suite: 'ML-DSA-65+ES256', subjectPrefix: 'B' }));
  old = await hybrid(
    createTestPki({
      suite: 'ML-DSA-65+ES256',
      subjectPrefix: 'Old',
      validity: { notBefore: new Date('2001-01-01T00:00:00Z'), notAfter: new Date('2002-01-01T00:00:00Z') },
    }),
  );
}, 60_000);

/** A's classical signer with `pq`'s PQ signer: a hybrid key and the two chains. */
function mixed(pq: HybridTestPki): { key: KeyMaterial; chain: Uint8Array[] } {
  const c = a.classical.signer.key;
  const q = pq.pq.signer.key;
  return {
    key: {
      suite: 'ML-DSA-65+ES256',
      publicKey: concatBytes(q.publicKey, c.publicKey),
      secretKey: concatBytes(q.secretKey as Uint8Array, c.secretKey as Uint8Array),
    },
    chain: [...a.classical.chain, ...pq.pq.chain],
  };
}

const sign = async (pq: HybridTestPki): Promise<Uint8Array> =>
  (await signFile({ asset: td('no_manifest.jpg'), mime: 'image/jpeg', ...mixed(pq) })).asset as Uint8Array;

describe("hybrid 'required': the PQ chain must be valid and trusted", () => {
  it('the signer’s own PQ chain under a configured root → Trusted; the verdict is reported apart', async () => {
    const asset = await sign(a);
    const r = await validateAsset(asset, 'image/jpeg', {
      hybrid: 'required',
      trust: createTrustList({ anchorsPem: a.files['root.pem'] }),
    });
    expect(r.state).toBe('Trusted');
    expect(r.failureCodes).toEqual([]);
    expect(r.trust.hybridSigner).toMatchObject({ code: 'signingCredential.trusted', trusted: true });
  });

  it('an untrusted PQ chain: Invalid with omt.hybridSignature.untrusted; the reader still says Trusted', async () => {
    const asset = await sign(b);
    const trust = createTrustList({ anchorsPem: a.files['root.pem'] });
    const r = await validateAsset(asset, 'image/jpeg', { hybrid: 'required', trust });
    expect(r.state).toBe('Invalid');
    expect(r.failureCodes).toEqual(['omt.hybridSignature.untrusted']);
    expect(r.statusCodes).toContain('omt.hybridSignature.validated'); // the PQ signature itself verifies
    expect(r.trust.signer?.code).toBe('signingCredential.trusted');
    expect(r.trust.hybridSigner?.code).toBe('signingCredential.untrusted');
    // 'if-present' only reports the PQ verdict; the classical signer makes it Trusted.
    const lenient = await validateAsset(asset, 'image/jpeg', { hybrid: 'if-present', trust });
    expect(lenient.state).toBe('Trusted');
    expect(lenient.trust.hybridSigner?.code).toBe('signingCredential.untrusted');
    // Both roots trusted: the same file passes 'required'.
    const both = createTrustList({ anchorsPem: a.files['root.pem'] + b.files['root.pem'] });
    expect((await validateAsset(asset, 'image/jpeg', { hybrid: 'required', trust: both })).state).toBe(
      'Trusted',
    );
    // No trust list at all: nothing is trusted, classical nor PQ → Valid (signingCredential.untrusted only).
    const none = await validateAsset(asset, 'image/jpeg', { hybrid: 'required' });
    expect(none.state).toBe('Valid');
    expect(none.failureCodes).toEqual(['signingCredential.untrusted']);
    // The official reader sees the classical part only: unaffected.
    const classicalRoot = a.classical.files['root.pem'];
    const o = await officialReader('image/jpeg', asset, classicalRoot);
    expect(o.state).toBe('Trusted');
    expect(o.codes).toEqual([]);
  });

  it('an expired PQ chain: Invalid with omt.hybridSignature.credentialInvalid, with or without a trust list', async () => {
    const asset = await sign(old);
    const trust = createTrustList({ anchorsPem: a.files['root.pem'] + old.files['root.pem'] });
    for (const opts of [{ trust }, {}]) {
      const r = await validateAsset(asset, 'image/jpeg', { hybrid: 'required', ...opts });
      expect(r.state).toBe('Invalid');
      expect(r.failureCodes).toContain('omt.hybridSignature.credentialInvalid');
      expect(r.failureCodes).not.toContain('omt.hybridSignature.untrusted');
      expect(r.reports.find((s) => s.code === 'omt.hybridSignature.credentialInvalid')?.explanation).toMatch(
        /not valid at/,
      );
      expect(r.trust.hybridSigner?.code).toBe('signingCredential.expired');
    }
    expect((await validateAsset(asset, 'image/jpeg', { hybrid: 'if-present', trust })).state).toBe('Trusted');
    const o = await officialReader('image/jpeg', asset, a.classical.files['root.pem']);
    expect(o.state).toBe('Trusted');
  });
});
