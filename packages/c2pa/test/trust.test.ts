import { readFileSync } from 'node:fs';
import { createTestPki, issueCertificate } from '@omt/c2pa/pki';
import { createTrustList, verifyCredential } from '@omt/c2pa/trust';
import { decodeCertificatesPem } from '@omt/c2pa/x509';
import { toHex, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { describe, expect, it } from 'vitest';

const text = (name: string): string =>
  readFileSync(new URL(`../../../testdata/c2pa/certs/${name}`, import.meta.url), 'utf8');
const bundle = text('trust/test_cert_root_bundle.pem');
// The c2pa-rs test leaves expire 2030-08-26: judge at an injected time.
const at = new Date('2026-06-01T00:00:00Z');

describe('c2pa-rs test chains against test_cert_root_bundle.pem', () => {
  const trust = createTrustList({ anchorsPem: bundle });
  for (const f of ['es256.pub', 'ed25519.pub', 'ps256.pub']) {
    it(`${f}: trusted, expired after 2030, untrusted without anchors`, async () => {
      const chain = decodeCertificatesPem(text(f));
      const v = await verifyCredential(chain, { trust, at });
      expect(v.code).toBe('signingCredential.trusted');
      expect(v.trusted).toBe(true);
      expect(v.trustedBy).toBe('anchor');
      expect(v.path.map((c) => c.subject.attributes.find((a) => a.name === 'CN')?.value)).toEqual([
        'C2PA Signer',
        'Intermediate CA',
        'Root CA',
      ]);
      const late = await verifyCredential(chain, { trust, at: new Date('2031-01-01T00:00:00Z') });
      expect(late.code).toBe('signingCredential.expired');
      expect(late.trusted).toBe(false);
      const none = await verifyCredential(chain, { at });
      expect(none.statuses.map((s) => s.code)).toEqual(['signingCredential.untrusted']);
      // Leaf alone: the intermediate is missing, no path.
      expect((await verifyCredential(chain.slice(0, 1), { trust, at })).code).toBe(
        'signingCredential.untrusted',
      );
    });
  }

  it('allowed list: end-entity certificates trusted directly, by PEM or fingerprint', async () => {
    const chain = decodeCertificatesPem(text('es256.pub'));
    const allowed = createTrustList({ allowedPem: text('trust/allowed_list.pem') });
    expect(allowed.allowed).toHaveLength(7);
    const v = await verifyCredential(chain.slice(0, 1), { trust: allowed, at });
    expect(v).toMatchObject({ code: 'signingCredential.trusted', trustedBy: 'allowed-list' });
    const byPrint = createTrustList({ allowedFingerprints: [toHex(sha256(chain[0] as Uint8Array))] });
    expect((await verifyCredential(chain, { trust: byPrint, at })).trustedBy).toBe('allowed-list');
  });

  it('pins: bundle SHA-256 and per-anchor fingerprints', () => {
    const good = toHex(sha256(utf8(bundle)));
    expect(createTrustList({ anchorsPem: bundle, anchorsPemSha256: good }).anchorsSha256).toBe(good);
    expect(() => createTrustList({ anchorsPem: bundle, anchorsPemSha256: '00'.repeat(32) })).toThrow(
      expect.objectContaining({ code: 'c2pa.trust.pin-mismatch' }),
    );
    const prints = createTrustList({ anchorsPem: bundle }).anchors.map((a) => a.sha256Fingerprint);
    expect(createTrustList({ anchorsPem: bundle, anchorFingerprints: prints }).anchors).toHaveLength(8);
    expect(() => createTrustList({ anchorsPem: bundle, anchorFingerprints: prints.slice(1) })).toThrow(
      /pinned/,
    );
    expect(() => createTrustList({ anchorsPem: 'garbage' })).toThrow(
      expect.objectContaining({ code: 'c2pa.x509.malformed' }),
    );
  });
});

describe('our PKIs', () => {
  const clock = (): Date => new Date('2026-01-01T00:00:00Z');
  for (const suite of ['ML-DSA-65', 'ES256'] as const) {
    it(`${suite}: trusted by its root, untrusted by another, invalid with a bad profile`, async () => {
      const pki = await createTestPki({ suite, clock });
      if (pki.kind !== 'single') throw new Error('kind');
      const trust = createTrustList({ anchorsPem: pki.files['root.pem'] });
      expect((await verifyCredential(pki.chain, { trust, at: clock() })).code).toBe(
        'signingCredential.trusted',
      );
      const other = await createTestPki({ suite, clock });
      const wrong = createTrustList({ anchorsPem: other.files['root.pem'] });
      const v = await verifyCredential(pki.chain, { trust: wrong, at: clock() });
      expect(v.code).toBe('signingCredential.untrusted');
      // A root presented inside the x5chain is untrusted input: it does not make itself an anchor.
      expect(
        (await verifyCredential([...pki.chain, pki.root.der], { trust: wrong, at: clock() })).trusted,
      ).toBe(false);
      // Post-quantum certificates can be refused by policy.
      if (suite === 'ML-DSA-65') {
        const r = await verifyCredential(pki.chain, {
          trust,
          at: clock(),
          policy: { allowPostQuantum: false },
        });
        expect(r.code).toBe('signingCredential.invalid');
      }
      // A leaf without EKU, issued by the real intermediate: invalid but still chained to the anchor.
      const noEku = await issueCertificate({
        issuer: {
          name: pki.intermediate.certificate.subject.der,
          key: pki.intermediate.key,
          keyIdentifier: pki.intermediate.certificate.subjectKeyIdentifier,
        },
        subject: { CN: 'no eku' },
        subjectKey: pki.signer.key,
        profile: 'signer',
        notBefore: clock(),
        notAfter: new Date('2027-01-01'),
        extendedKeyUsage: null,
      });
      const bad = await verifyCredential([noEku, pki.intermediate.der], { trust, at: clock() });
      expect(bad.code).toBe('signingCredential.invalid');
      expect(bad.statuses.map((s) => s.code)).toEqual(['signingCredential.invalid']);
      expect(bad.trustedBy).toBe('anchor');
    });
  }

  it('expired intermediate and not-yet-valid leaf are expired; statuses list every finding', async () => {
    const pki = await createTestPki({
      suite: 'Ed25519',
      clock,
      validity: { notBefore: new Date('2026-01-01'), notAfter: new Date('2026-02-01') },
    });
    const trust = createTrustList({ anchorsPem: pki.files['root.pem'] });
    if (pki.kind !== 'single') throw new Error('kind');
    const v = await verifyCredential(pki.chain, { trust, at: new Date('2026-03-01') });
    expect(v.code).toBe('signingCredential.expired');
    expect(v.statuses.map((s) => s.code)).toEqual(Array(3).fill('signingCredential.expired'));
    expect((await verifyCredential(pki.chain, { trust, at: new Date('2025-12-01') })).code).toBe(
      'signingCredential.expired',
    );
  });

  it('roles are kept apart: a TSA credential gets timeStamp.* codes and needs id-kp-timeStamping', async () => {
    const pki = await createTestPki({ suite: 'ES256', clock });
    if (pki.kind !== 'single') throw new Error('kind');
    const trust = createTrustList({ anchorsPem: pki.files['root.pem'] });
    const tsaDer = await issueCertificate({
      issuer: {
        name: pki.intermediate.certificate.subject.der,
        key: pki.intermediate.key,
        keyIdentifier: pki.intermediate.certificate.subjectKeyIdentifier,
      },
      subject: { CN: 'TSA' },
      subjectKey: pki.signer.key,
      profile: 'tsa',
      notBefore: clock(),
      notAfter: new Date('2027-01-01'),
    });
    const tsa = await verifyCredential([tsaDer, pki.intermediate.der], {
      trust,
      at: clock(),
      role: 'timestamp',
    });
    expect(tsa).toMatchObject({ role: 'timestamp', code: 'timeStamp.trusted' });
    const signerAsTsa = await verifyCredential(pki.chain, { trust, at: clock(), role: 'timestamp' });
    expect(signerAsTsa.code).toBe('timeStamp.untrusted');
    expect(
      (
        await verifyCredential([tsaDer, pki.intermediate.der], {
          trust,
          at: new Date('2030-01-01'),
          role: 'timestamp',
        })
      ).code,
    ).toBe('timeStamp.outsideValidity');
    const ing = await verifyCredential(pki.chain, { at: clock(), role: 'ingredient' });
    expect(ing).toMatchObject({ role: 'ingredient', code: 'signingCredential.untrusted' });
  });

  it('garbage chains are verdicts, not exceptions; bad options are c2pa.input.invalid', async () => {
    expect((await verifyCredential([], { at })).code).toBe('signingCredential.invalid');
    expect((await verifyCredential([new Uint8Array([1, 2, 3])], { at })).code).toBe(
      'signingCredential.invalid',
    );
    await expect(verifyCredential([new Uint8Array(1)], { at: 'now' as never })).rejects.toMatchObject({
      code: 'c2pa.input.invalid',
    });
  });
});
