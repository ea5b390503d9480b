import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  decodeCertificatesPem,
  ecdsaDerToRaw,
  encodeCertificatesPem,
  isValidAt,
  parseCertificate,
  parseCertificatesPem,
  verifyCertificateSignature,
} from '@omt/c2pa/x509';
import { isOmtError } from '@omt/core/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const flip = (b: Uint8Array, i: number): void => {
  b[i] = (b[i] as number) ^ 1;
};
const certs = (name: string): string =>
  readFileSync(new URL(`../../../testdata/c2pa/certs/${name}`, import.meta.url), 'utf8');
const roots = parseCertificatesPem(certs('trust/test_cert_root_bundle.pem'));

describe('parseCertificate on the c2pa-rs test certificates', () => {
  for (const [file, suite, alg] of [
    ['es256.pub', 'ES256', 'ecdsa-with-SHA256'],
    ['ed25519.pub', 'Ed25519', 'Ed25519'],
    ['ps256.pub', 'PS256', 'RSASSA-PSS-SHA256'],
  ] as const) {
    it(`${file}: fields agree with node:crypto and the chain verifies to a bundled root`, async () => {
      const [leaf, ca] = parseCertificatesPem(certs(file));
      if (!leaf || !ca) throw new Error('chain');
      const node = new X509Certificate(leaf.der);
      expect(leaf.version).toBe(3);
      expect(leaf.publicKey?.suite).toBe(suite);
      expect(leaf.signatureAlgorithm.name).toBe(alg);
      expect(leaf.subject.text).toBe(node.subject.split('\n').join(', '));
      expect(leaf.issuer.text).toBe(node.issuer.split('\n').join(', '));
      expect(leaf.notAfter.getTime()).toBe(new Date(node.validTo).getTime());
      expect(leaf.notBefore.getTime()).toBe(new Date(node.validFrom).getTime());
      expect(leaf.sha256Fingerprint).toBe(node.fingerprint256.replaceAll(':', '').toLowerCase());
      expect(leaf.serialNumber.toUpperCase().replace(/^0+/, '')).toBe(node.serialNumber.replace(/^0+/, ''));
      expect(leaf.keyUsage?.digitalSignature).toBe(true);
      expect(leaf.keyUsage?.critical).toBe(true);
      expect(leaf.extendedKeyUsage?.purposes).toEqual(['1.3.6.1.5.5.7.3.4']);
      expect(leaf.basicConstraints?.ca).toBe(false);
      expect(leaf.authorityKeyIdentifier).toEqual(ca.subjectKeyIdentifier);
      expect(ca.basicConstraints?.ca).toBe(true);
      // node:crypto agrees on the issuer signature
      expect(node.verify(new X509Certificate(ca.der).publicKey)).toBe(true);
      expect(await verifyCertificateSignature(leaf, ca)).toEqual({ valid: true, suite });
      const verdicts = await Promise.all(roots.map((r) => verifyCertificateSignature(ca, r)));
      expect(verdicts.filter((v) => v.valid)).toHaveLength(1);
      expect(isValidAt(leaf, new Date('2026-01-01T00:00:00Z'))).toBe(true);
      expect(isValidAt(leaf, new Date('2031-01-01T00:00:00Z'))).toBe(false);
    });
  }

  it('every bundled root is self-signed and verifies (ES256/384/512, Ed25519, PS256/384/512, RS256)', async () => {
    const names = new Set<string>();
    for (const r of roots) {
      names.add(r.signatureAlgorithm.name);
      expect(await verifyCertificateSignature(r, r)).toMatchObject({ valid: true });
    }
    expect([...names].sort()).toEqual(
      [
        'Ed25519',
        'RSASSA-PSS-SHA256',
        'RSASSA-PSS-SHA384',
        'RSASSA-PSS-SHA512',
        'ecdsa-with-SHA256',
        'ecdsa-with-SHA384',
        'ecdsa-with-SHA512',
        'sha256WithRSAEncryption',
      ].sort(),
    );
  });

  it('parsed certificates and signature verdicts are remembered per DER, never across different bytes', async () => {
    const [leaf, ca] = decodeCertificatesPem(certs('es256.pub'));
    if (!leaf || !ca) throw new Error('chain');
    const a = parseCertificate(leaf.slice());
    const b = parseCertificate(leaf.slice());
    expect(b).toBe(a); // same DER content → the same parsed certificate
    const issuer = parseCertificate(ca);
    expect((await verifyCertificateSignature(a, issuer)).valid).toBe(true);
    expect((await verifyCertificateSignature(b, issuer)).valid).toBe(true);
    // A changed signature byte is new DER: parsed and verified afresh, and it fails.
    const bad = leaf.slice();
    flip(bad, bad.length - 3);
    const c = parseCertificate(bad);
    expect(c).not.toBe(a);
    expect(c.sha256Fingerprint).not.toBe(a.sha256Fingerprint);
    expect((await verifyCertificateSignature(c, issuer)).valid).toBe(false);
    // Mutating the caller's buffer after parsing does not change what the cache returns.
    const mine = leaf.slice();
    const d = parseCertificate(mine);
    flip(mine, mine.length - 3);
    expect(parseCertificate(leaf)).toBe(d);
    expect(parseCertificate(mine)).toEqual(c);
  });

  it('a flipped signature or TBS byte fails; a wrong issuer key is a mismatch', async () => {
    const [leaf, ca] = parseCertificatesPem(certs('es256.pub'));
    if (!leaf || !ca) throw new Error('chain');
    const tbs = leaf.tbs.slice();
    flip(tbs, tbs.length - 5);
    expect(await verifyCertificateSignature({ ...leaf, tbs }, ca)).toMatchObject({
      valid: false,
      code: 'c2pa.x509.signature-invalid',
    });
    const sig = leaf.signatureValue.slice();
    flip(sig, sig.length - 3);
    expect((await verifyCertificateSignature({ ...leaf, signatureValue: sig }, ca)).valid).toBe(false);
    const [edLeaf] = parseCertificatesPem(certs('ed25519.pub'));
    expect(await verifyCertificateSignature(leaf, edLeaf as never)).toMatchObject({
      valid: false,
      code: 'c2pa.x509.key-mismatch',
    });
  });

  it('PEM round-trips and rejects foreign labels', () => {
    const ders = decodeCertificatesPem(certs('ps256.pub'));
    expect(decodeCertificatesPem(encodeCertificatesPem(ders))).toEqual(ders);
    expect(() => decodeCertificatesPem(certs('es256.pem'))).toThrow(/unexpected PEM label/);
    expect(() => parseCertificate(certs('es256.pub'))).toThrow(/expected one certificate/);
  });

  it('ecdsaDerToRaw: strict DER only, left-pads to the field size', () => {
    const der = Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07]);
    const raw = ecdsaDerToRaw(der, 32);
    expect(raw?.length).toBe(64);
    expect(raw?.[31]).toBe(5);
    expect(raw?.[63]).toBe(7);
    expect(
      ecdsaDerToRaw(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x07]), 32),
    ).toBeUndefined();
    expect(
      ecdsaDerToRaw(Uint8Array.from([0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x07]), 32),
    ).toBeUndefined();
  });
});

describe('bad input', () => {
  const der = decodeCertificatesPem(certs('es256.pub'))[0] as Uint8Array;
  const onlyMalformed = (input: Uint8Array): void => {
    try {
      parseCertificate(input);
    } catch (e) {
      if (!isOmtError(e) || !e.code.startsWith('c2pa.')) throw e;
    }
  };
  it('random bytes give c2pa.x509.malformed, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyMalformed(b)),
      { numRuns: 300 },
    );
  });
  it('mutations of a real certificate never crash', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = der.slice();
        m[i] = (m[i] as number) ^ x;
        onlyMalformed(m);
      }),
      { numRuns: 400 },
    );
  });
  it('a name that parses but cannot be re-encoded is malformed (a fast-check counterexample)', () => {
    const m = der.slice();
    m[59] = (m[59] as number) ^ 4;
    expect(() => parseCertificate(m)).toThrow(expect.objectContaining({ code: 'c2pa.x509.malformed' }));
  });
  it('truncations and absurd lengths are malformed', () => {
    for (let n = 0; n < der.length; n += 37) expect(() => parseCertificate(der.subarray(0, n))).toThrow();
    expect(() => parseCertificate(Uint8Array.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]))).toThrow(
      /malformed/,
    );
    expect(() => parseCertificate(new Uint8Array(300_000))).toThrow(/too large/);
    expect(() => parseCertificate(42 as never)).toThrow(/DER bytes or PEM/);
  });
});
