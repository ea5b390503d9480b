import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, issueCertificate, splitHybridChain } from '@omt/c2pa/pki';
import { checkEndEntityProfile } from '@omt/c2pa/trust';
import {
  decodeCertificatesPem,
  parseCertificate,
  parseCertificatesPem,
  verifyCertificateSignature,
} from '@omt/c2pa/x509';
import { importPem } from '@omt/core/keys';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'omt-pki-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const clock = (): Date => new Date('2026-03-01T00:00:00Z');

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('classical test PKIs are accepted by OpenSSL and node:crypto', () => {
  for (const suite of ['ES256', 'ES384', 'ES512', 'Ed25519'] as const) {
    it(suite, async () => {
      const pki = await createTestPki({ suite, clock });
      if (pki.kind !== 'single') throw new Error('kind');
      const d = join(dir, suite);
      execFileSync('mkdir', ['-p', d]);
      for (const [name, text] of Object.entries(pki.files)) writeFileSync(join(d, name), text);
      // -attime: judge at the injected clock, not the wall clock.
      const at = String(Math.floor(clock().getTime() / 1000) + 60);
      expect(
        openssl([
          'verify',
          '-attime',
          at,
          '-CAfile',
          join(d, 'root.pem'),
          '-untrusted',
          join(d, 'intermediate.pem'),
          join(d, 'signer.pem'),
        ]),
      ).toContain('signer.pem: OK');
      // The chain file is signer then intermediate.
      expect(
        openssl([
          'verify',
          '-attime',
          at,
          '-CAfile',
          join(d, 'root.pem'),
          '-untrusted',
          join(d, 'chain.pem'),
          join(d, 'signer.pem'),
        ]),
      ).toContain('OK');
      const text = openssl(['x509', '-in', join(d, 'signer.pem'), '-text', '-noout']);
      expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature/);
      expect(text).toMatch(/Extended Key Usage: critical\s+1\.3\.6\.1\.5\.5\.7\.3\.36, E-mail Protection/);
      expect(text).toContain('Version: 3');
      expect(text).toContain('Authority Key Identifier');
      // A root that did not issue the chain fails.
      const other = await createTestPki({ suite, clock });
      writeFileSync(join(d, 'other-root.pem'), other.files['root.pem']);
      expect(() =>
        openssl([
          'verify',
          '-attime',
          at,
          '-CAfile',
          join(d, 'other-root.pem'),
          '-untrusted',
          join(d, 'intermediate.pem'),
          join(d, 'signer.pem'),
        ]),
      ).toThrow();
      // node:crypto parses and verifies as well.
      const signer = new X509Certificate(pki.signer.der);
      const ca = new X509Certificate(pki.intermediate.der);
      expect(signer.verify(ca.publicKey)).toBe(true);
      expect(signer.checkIssued(ca)).toBe(true);
      expect(new X509Certificate(pki.root.der).ca).toBe(true);
      expect(signer.ca).toBe(false);
      // The key file is PKCS#8 OpenSSL reads, and it matches the certificate.
      const pub = openssl(['pkey', '-in', join(d, 'signer.key.pem'), '-pubout']);
      expect(pub.replace(/\s/g, '')).toBe(
        signer.publicKey.export({ type: 'spki', format: 'pem' }).toString().replace(/\s/g, ''),
      );
      expect(checkEndEntityProfile(pki.signer.certificate)).toEqual([]);
    });
  }
});

describe('post-quantum test PKIs (OpenSSL 3.0 has no ML-DSA: our verifier)', () => {
  for (const suite of ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87', 'SLH-DSA-SHA2-128f'] as const) {
    it(suite, async () => {
      const pki = await createTestPki({ suite, clock, subjectPrefix: 'Acme' });
      if (pki.kind !== 'single') throw new Error('kind');
      const { root, intermediate, signer } = pki;
      expect(signer.certificate.signatureAlgorithm.suite).toBe(suite);
      expect(signer.certificate.publicKey?.suite).toBe(suite);
      expect(await verifyCertificateSignature(signer.certificate, intermediate.certificate)).toEqual({
        valid: true,
        suite,
      });
      expect(await verifyCertificateSignature(intermediate.certificate, root.certificate)).toEqual({
        valid: true,
        suite,
      });
      expect(await verifyCertificateSignature(root.certificate, root.certificate)).toEqual({
        valid: true,
        suite,
      });
      expect(await verifyCertificateSignature(signer.certificate, root.certificate)).toMatchObject({
        valid: false,
      });
      expect(signer.certificate.subject.text).toBe(
        `O=Acme, OU=FOR TESTING ONLY, CN=Acme C2PA Signer (${suite})`,
      );
      expect(checkEndEntityProfile(signer.certificate)).toEqual([]);
      expect(importPem(pki.files['signer.key.pem'])).toEqual(signer.key);
      expect(decodeCertificatesPem(pki.files['chain.pem'])).toEqual([signer.der, intermediate.der]);
      // OpenSSL 3.0 still parses the ASN.1 (the key is unknown to it).
      const p = join(dir, `${suite}.pem`);
      writeFileSync(p, pki.files['signer.pem']);
      expect(openssl(['asn1parse', '-in', p])).toContain(':2.16.840.1.101.3.4.3.');
    });
  }

  it('hybrid ML-DSA-65+ES256: two chains, a two-block key, the classical chain first', async () => {
    const pki = await createTestPki({ suite: 'ML-DSA-65+ES256', clock });
    if (pki.kind !== 'hybrid') throw new Error('kind');
    expect(pki.classical.suite).toBe('ES256');
    expect(pki.pq.suite).toBe('ML-DSA-65');
    const chain = decodeCertificatesPem(pki.files['chain.pem']);
    expect(chain).toEqual([...pki.classical.chain, ...pki.pq.chain]);
    expect(splitHybridChain(chain)).toEqual({ classical: [...pki.classical.chain], pq: [...pki.pq.chain] });
    expect(importPem(pki.files['signer.key.pem'])).toEqual(pki.signerKey);
    expect(parseCertificatesPem(pki.files['root.pem']).map((c) => c.publicKey?.suite)).toEqual([
      'ES256',
      'ML-DSA-65',
    ]);
    expect(() => splitHybridChain(pki.classical.chain)).toThrow(/hybrid chain/);
  });

  it('deterministic with an injected random source and clock', async () => {
    let n = 0;
    const random = (len: number): Uint8Array => Uint8Array.from({ length: len }, () => n++ & 0xff);
    const a = await createTestPki({ suite: 'Ed25519', clock, random });
    n = 0;
    const b = await createTestPki({ suite: 'Ed25519', clock, random });
    expect(a.files).toEqual(b.files);
    if (a.kind !== 'single') throw new Error('kind');
    expect(a.signer.certificate.notBefore.toISOString()).toBe('2026-02-28T23:00:00.000Z');
  });

  it('rejects verify-only and unknown suites, bad validity', async () => {
    await expect(createTestPki({ suite: 'PS256' })).rejects.toMatchObject({
      code: 'c2pa.pki.alg-unsupported',
    });
    await expect(createTestPki({ suite: 'nope' as never })).rejects.toMatchObject({
      code: 'c2pa.input.invalid',
    });
    await expect(
      createTestPki({ suite: 'ES256', validity: { notBefore: clock(), notAfter: clock() } }),
    ).rejects.toMatchObject({ code: 'c2pa.input.invalid' });
  });

  it('issueCertificate overrides make profile violations the profile check finds', async () => {
    const pki = await createTestPki({ suite: 'ES256', clock });
    if (pki.kind !== 'single') throw new Error('kind');
    const issuer = {
      name: pki.intermediate.certificate.subject.der,
      key: pki.intermediate.key,
      keyIdentifier: pki.intermediate.certificate.subjectKeyIdentifier,
    };
    const base = {
      issuer,
      subject: { CN: 'x' },
      subjectKey: pki.signer.key,
      profile: 'signer' as const,
      notBefore: clock(),
      notAfter: new Date('2027-01-01'),
    };
    const noEku = parseCertificate(await issueCertificate({ ...base, extendedKeyUsage: null }));
    expect(checkEndEntityProfile(noEku)).toEqual(['extendedKeyUsage extension is missing']);
    const anyEku = parseCertificate(await issueCertificate({ ...base, extendedKeyUsage: ['2.5.29.37.0'] }));
    expect(checkEndEntityProfile(anyEku)).toContain('anyExtendedKeyUsage is not allowed');
    const ca = parseCertificate(await issueCertificate({ ...base, ca: true, keyUsageFlags: 1 | 32 }));
    expect(checkEndEntityProfile(ca)).toEqual(
      expect.arrayContaining([
        'expected an end-entity certificate, found a CA',
        'keyUsage keyCertSign is not allowed on an end-entity certificate',
      ]),
    );
    const noDs = parseCertificate(await issueCertificate({ ...base, keyUsageFlags: 2 }));
    expect(checkEndEntityProfile(noDs)).toEqual(['keyUsage lacks digitalSignature']);
  });
});
