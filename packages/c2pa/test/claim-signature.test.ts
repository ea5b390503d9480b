import { readFileSync } from 'node:fs';
import { claimSignatureTimestampTokens, signClaim, verifyClaimSignature } from '@omt/c2pa/claim-signature';
import { createTestPki } from '@omt/c2pa/pki';
import { claimSignatureTimestampMessage } from '@omt/c2pa/timestamp';
import { createTrustList } from '@omt/c2pa/trust';
import { concatBytes, fromUtf8, utf8 } from '@omt/core/bytes';
import { CborTag, decodeCbor, encodeCbor } from '@omt/core/cbor';
import { COSE_HEADER, decodeCoseSign1, encodeCoseSign1 } from '@omt/core/cose';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const flip = (b: Uint8Array, i: number): void => {
  b[i] = (b[i] as number) ^ 1;
};
const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${name}`, import.meta.url)));
const bundle = readFileSync(
  new URL('../../../testdata/c2pa/certs/trust/test_cert_root_bundle.pem', import.meta.url),
  'utf8',
);

// --- a minimal JUMBF walk, for this test only (the real parser lives elsewhere) ---
function jumbfFromJpeg(jpeg: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff && jpeg[at + 1] !== 0xda) {
    const len = ((jpeg[at + 2] as number) << 8) | (jpeg[at + 3] as number);
    if (jpeg[at + 1] === 0xeb && jpeg[at + 4] === 0x4a && jpeg[at + 5] === 0x50) {
      const seg = jpeg.subarray(at + 4, at + 2 + len);
      const z = new DataView(seg.buffer, seg.byteOffset).getUint32(4);
      parts.push(z === 1 ? seg.subarray(8) : seg.subarray(16));
    }
    at += 2 + len;
  }
  return concatBytes(...parts);
}
interface Box {
  type: string;
  label?: string;
  content: Uint8Array;
  children: Box[];
}
function readBoxes(b: Uint8Array): Box[] {
  const out: Box[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at + 8 <= b.length; ) {
    const len = dv.getUint32(at);
    const type = fromUtf8(b.subarray(at + 4, at + 8));
    const content = b.subarray(at + 8, at + len);
    const box: Box = { type, content, children: [] };
    if (type === 'jumb') {
      box.children = readBoxes(content);
      const d = box.children[0];
      if (d?.type === 'jumd' && (d.content[16] as number) & 2) {
        const end = d.content.indexOf(0, 17);
        box.label = fromUtf8(d.content.subarray(17, end));
      }
    }
    out.push(box);
    at += len;
  }
  return out;
}
function activeManifestParts(jpeg: Uint8Array): { claim: Uint8Array; signature: Uint8Array } {
  const [store] = readBoxes(jumbfFromJpeg(jpeg));
  const manifests = (store?.children ?? []).filter((c) => c.type === 'jumb');
  const active = manifests[manifests.length - 1] as Box;
  const find = (labels: string[]): Uint8Array => {
    const sb = active.children.find((c) => c.label !== undefined && labels.includes(c.label));
    const cbor = sb?.children.find((c) => c.type === 'cbor');
    if (!cbor) throw new Error(`no ${labels.join('/')}`);
    return cbor.content;
  };
  return { claim: find(['c2pa.claim.v2', 'c2pa.claim']), signature: find(['c2pa.signature']) };
}

const codes = (r: { statuses: readonly { code: string }[] }): string[] => r.statuses.map((s) => s.code);
const at = new Date('2026-06-01T00:00:00Z');

describe('claim signatures made by c2pa-rs', () => {
  for (const [file, suite] of [
    ['C.jpg', 'PS256'],
    ['boxhash.jpg', 'ES256'],
    ['CA.jpg', 'PS256'],
  ] as const) {
    it(`${file}: ${suite} validates; trusted with the test roots; a changed claim byte is a mismatch`, async () => {
      const { claim, signature } = activeManifestParts(fixture(file));
      const untrusted = await verifyClaimSignature({ signature, claimBytes: claim, at });
      expect(untrusted.valid).toBe(true);
      expect(untrusted.suite).toBe(suite);
      expect(codes(untrusted)).toEqual([
        'claimSignature.validated',
        'claimSignature.insideValidity',
        'signingCredential.untrusted',
      ]);
      const trust = createTrustList({ anchorsPem: bundle });
      const trusted = await verifyClaimSignature({ signature, claimBytes: claim, trust, at });
      expect(codes(trusted)).toEqual([
        'claimSignature.validated',
        'claimSignature.insideValidity',
        'signingCredential.trusted',
      ]);
      expect(trusted.certificate?.issuer.text).toContain('C2PA Test Intermediate Root CA');
      const tampered = claim.slice();
      flip(tampered, Math.floor(tampered.length / 2));
      const bad = await verifyClaimSignature({ signature, claimBytes: tampered, trust, at });
      expect(bad.valid).toBe(false);
      // The credential is still judged, as the official reader reports it beside the mismatch.
      expect(codes(bad)).toEqual(['signingCredential.trusted', 'claimSignature.mismatch']);
    });
  }

  it('C.jpg carries an RFC 3161 token (sigTst / sigTst2), reported raw', async () => {
    const { claim, signature } = activeManifestParts(fixture('C.jpg'));
    const r = await verifyClaimSignature({ signature, claimBytes: claim, at });
    expect(r.timestampTokens.length).toBe(1);
    expect(r.timestampTokens[0]?.[0]).toBe(0x30);
    // The cheap reader a validator uses to verify the timestamp before the signature agrees.
    expect(claimSignatureTimestampTokens(signature)).toEqual(r.timestampTokens);
    expect(claimSignatureTimestampTokens(undefined)).toEqual([]);
    expect(claimSignatureTimestampTokens(Uint8Array.of(1, 2, 3))).toEqual([]);
  });
});

describe('signClaim → verifyClaimSignature', () => {
  const clock = (): Date => new Date('2026-01-01T00:00:00Z');
  const claimBytes = encodeCbor(
    new Map<string, unknown>([
      ['instanceID', 'xmp:iid:1'],
      ['claim_generator_info', [{ name: 'omt' }]],
    ]) as never,
  );

  for (const suite of ['ES256', 'ES384', 'Ed25519', 'ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as const) {
    it(`${suite}: c2pa-rs layout, verifies, trusted with our root, any changed byte fails`, async () => {
      const pki = await createTestPki({ suite, clock });
      if (pki.kind !== 'single') throw new Error('kind');
      const sig = await signClaim({
        claimBytes,
        signer: { suite, secretKey: pki.signer.key.secretKey as Uint8Array },
        chain: pki.chain,
      });
      const decoded = decodeCbor(sig);
      expect(decoded).toBeInstanceOf(CborTag); // tag 18
      const msg = decodeCoseSign1(sig);
      expect(msg.payload).toBeNull();
      expect([...msg.protectedHeaders.keys()]).toEqual([COSE_HEADER.alg, COSE_HEADER.x5chain]);
      const trust = createTrustList({ anchorsPem: pki.files['root.pem'] });
      const r = await verifyClaimSignature({ signature: sig, claimBytes, trust, at: clock() });
      expect(codes(r)).toEqual([
        'claimSignature.validated',
        'claimSignature.insideValidity',
        'signingCredential.trusted',
      ]);
      const later = await verifyClaimSignature({
        signature: sig,
        claimBytes,
        trust,
        at: new Date('2028-01-01'),
      });
      expect(codes(later)).toEqual(['claimSignature.validated', 'signingCredential.expired']);
      // Flipping a byte in the signature value or the protected header fails (bounded runs).
      const sigStart = sig.length - msg.signature.length;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: msg.signature.length - 1 }), async (i) => {
          const m = sig.slice();
          flip(m, sigStart + i);
          const v = await verifyClaimSignature({ signature: m, claimBytes, trust, at: clock() });
          expect(v.valid).toBe(false);
          expect(codes(v).at(-1)).toBe('claimSignature.mismatch');
        }),
        { numRuns: 8 },
      );
    });
  }

  it('padTo gives exactly the reserved size and still verifies; too small is an error', async () => {
    const pki = await createTestPki({ suite: 'ES256', clock });
    if (pki.kind !== 'single') throw new Error('kind');
    const signer = { suite: 'ES256' as const, secretKey: pki.signer.key.secretKey as Uint8Array };
    const plain = await signClaim({ claimBytes, signer, chain: pki.chain });
    for (const extra of [8, 9, 10, 25, 26, 27, 28, 29, 30, 263, 264, 265, 266, 267, 5000, 70000]) {
      const target = plain.length + extra;
      const padded = await signClaim({ claimBytes, signer, chain: pki.chain, padTo: target });
      expect(padded.length).toBe(target);
      const v = await verifyClaimSignature({ signature: padded, claimBytes, at: clock() });
      expect(v.valid).toBe(true);
      expect(decodeCoseSign1(padded).unprotectedHeaders.has('pad')).toBe(true);
    }
    await expect(
      signClaim({ claimBytes, signer, chain: pki.chain, padTo: plain.length - 1 }),
    ).rejects.toMatchObject({
      code: 'c2pa.signature.too-small',
    });
  });

  it('a timestamp callback gets ["CounterSignature", protected, h\'\', bstr(bstr(signature))] (c2pa-rs v2); a non-token reply is refused', async () => {
    // The real TSA round trip (OpenSSL, official reader) is in timestamp-openssl-tsa.test.ts.
    const pki = await createTestPki({ suite: 'Ed25519', clock });
    if (pki.kind !== 'single') throw new Error('kind');
    const signer = { suite: 'Ed25519' as const, secretKey: pki.signer.key.secretKey as Uint8Array };
    let seen: Uint8Array | undefined;
    await expect(
      signClaim({
        claimBytes,
        signer,
        chain: pki.chain,
        timestamp: async (d) => {
          seen = d;
          return Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00);
        },
      }),
    ).rejects.toMatchObject({ code: 'c2pa.timestamp.malformed' });
    // Ed25519 is deterministic: the plain signature is the one that was stamped.
    const msg = decodeCoseSign1(await signClaim({ claimBytes, signer, chain: pki.chain }));
    const expected = encodeCbor([
      'CounterSignature',
      msg.protectedBytes,
      new Uint8Array(0),
      encodeCbor(msg.signature),
    ]);
    expect(seen).toEqual(expected);
    expect(claimSignatureTimestampMessage(msg.protectedBytes, msg.signature)).toEqual(expected);
    await expect(
      signClaim({
        claimBytes,
        signer,
        chain: pki.chain,
        timestamp: {
          timestamp: async () => {
            throw new Error('TSA down');
          },
        },
      }),
    ).rejects.toMatchObject({ code: 'c2pa.timestamp.failed' });
    expect(claimSignatureTimestampTokens(encodeCoseSign1(msg))).toEqual([]);
  });

  it('hybrid ML-DSA-65+ES256: classical signature + PQ countersignature; both required by policy', async () => {
    const pki = await createTestPki({ suite: 'ML-DSA-65+ES256', clock });
    if (pki.kind !== 'hybrid') throw new Error('kind');
    const sig = await signClaim({
      claimBytes,
      signer: { suite: 'ML-DSA-65+ES256', secretKey: pki.signerKey.secretKey as Uint8Array },
      chain: pki.classical.chain,
      pqChain: pki.pq.chain,
    });
    const trust = createTrustList({ anchorsPem: pki.files['root.pem'] });
    const ok = await verifyClaimSignature({
      signature: sig,
      claimBytes,
      trust,
      at: clock(),
      hybrid: 'required',
    });
    expect(ok.valid).toBe(true);
    expect(ok.suite).toBe('ES256');
    expect(ok.pq).toMatchObject({ present: true, valid: true, suite: 'ML-DSA-65' });
    expect(ok.pq?.credential?.code).toBe('signingCredential.trusted');
    expect(codes(ok)).toEqual([
      'claimSignature.validated',
      'claimSignature.insideValidity',
      'signingCredential.trusted',
      'omt.hybridSignature.validated',
    ]);
    // Strip the PQ part: classical still validates, the hybrid policy fails.
    const msg = decodeCoseSign1(sig);
    const u = new Map(msg.unprotectedHeaders);
    u.delete(COSE_HEADER.countersignature);
    const stripped = encodeCoseSign1({ ...msg, unprotectedHeaders: u });
    const s1 = await verifyClaimSignature({
      signature: stripped,
      claimBytes,
      trust,
      at: clock(),
      hybrid: 'required',
    });
    expect(s1.valid).toBe(false);
    expect(codes(s1)).toContain('omt.hybridSignature.missing');
    expect(codes(s1)).toContain('claimSignature.validated');
    expect((await verifyClaimSignature({ signature: stripped, claimBytes, trust, at: clock() })).valid).toBe(
      true,
    );
    // Alter one byte of the PQ signature.
    const cs = msg.unprotectedHeaders.get(COSE_HEADER.countersignature) as [Uint8Array, unknown, Uint8Array];
    const pqSig = cs[2].slice();
    flip(pqSig, 100);
    const u2 = new Map(msg.unprotectedHeaders);
    u2.set(COSE_HEADER.countersignature, [cs[0], cs[1], pqSig] as never);
    const altered = encodeCoseSign1({ ...msg, unprotectedHeaders: u2 });
    const s2 = await verifyClaimSignature({
      signature: altered,
      claimBytes,
      trust,
      at: clock(),
      hybrid: 'if-present',
    });
    expect(s2.valid).toBe(false);
    expect(codes(s2)).toContain('omt.hybridSignature.mismatch');
    // The PQ countersignature is bound to this claim: another claim fails both parts.
    const other = await verifyClaimSignature({
      signature: sig,
      claimBytes: utf8('other'),
      trust,
      at: clock(),
      hybrid: 'required',
    });
    expect(codes(other)).toEqual(['signingCredential.trusted', 'claimSignature.mismatch']);
  });

  it('hybrid: one key object signs many claims; a key changed in place signs with its new halves', async () => {
    const a = await createTestPki({ suite: 'ML-DSA-65+ES256', clock });
    const b = await createTestPki({ suite: 'ML-DSA-65+ES256', clock });
    if (a.kind !== 'hybrid' || b.kind !== 'hybrid') throw new Error('kind');
    const key = (a.signerKey.secretKey as Uint8Array).slice();
    const sign = (pki: typeof a) =>
      signClaim({
        claimBytes,
        signer: { suite: 'ML-DSA-65+ES256', secretKey: key },
        chain: pki.classical.chain,
        pqChain: pki.pq.chain,
      });
    const check = async (sig: Uint8Array, pki: typeof a) =>
      verifyClaimSignature({
        signature: sig,
        claimBytes,
        trust: createTrustList({ anchorsPem: pki.files['root.pem'] }),
        at: clock(),
        hybrid: 'required',
      });
    for (let i = 0; i < 2; i++) expect((await check(await sign(a), a)).valid).toBe(true);
    // The same Uint8Array now holds b's secret: both halves must sign as b (nothing stale).
    key.set(b.signerKey.secretKey as Uint8Array);
    const withB = await check(await sign(b), b);
    expect(withB.valid).toBe(true);
    expect(withB.pq).toMatchObject({ present: true, valid: true });
  });

  it('bad input: statuses for missing / malformed / unsupported; OmtError for bad options', async () => {
    expect(codes(await verifyClaimSignature({ signature: undefined, claimBytes, at }))).toEqual([
      'claimSignature.missing',
    ]);
    expect(codes(await verifyClaimSignature({ signature: utf8('junk'), claimBytes, at }))).toEqual([
      'claimSignature.mismatch',
    ]);
    const pki = await createTestPki({ suite: 'ES256', clock });
    if (pki.kind !== 'single') throw new Error('kind');
    const sig = await signClaim({
      claimBytes,
      signer: { suite: 'ES256', secretKey: pki.signer.key.secretKey as Uint8Array },
      chain: pki.chain,
    });
    const msg = decodeCoseSign1(sig);
    const noChain = encodeCoseSign1({ ...msg, protectedBytes: encodeCbor(new Map([[1, -7]])) });
    expect(codes(await verifyClaimSignature({ signature: noChain, claimBytes, at }))).toEqual([
      'signingCredential.invalid',
    ]);
    const weird = encodeCoseSign1({ ...msg, protectedBytes: encodeCbor(new Map([[1, -65535]])) });
    expect(codes(await verifyClaimSignature({ signature: weird, claimBytes, at }))).toEqual([
      'algorithm.unsupported',
    ]);
    const es384 = encodeCoseSign1({
      ...msg,
      protectedBytes: encodeCbor(
        new Map<number, unknown>([
          [1, -35],
          [33, pki.chain as never],
        ]) as never,
      ),
    });
    expect(codes(await verifyClaimSignature({ signature: es384, claimBytes, at }))).toEqual([
      'claimSignature.mismatch',
    ]);
    await expect(
      signClaim({
        claimBytes,
        signer: { suite: 'SLH-DSA-SHA2-128f', secretKey: new Uint8Array(64) },
        chain: pki.chain,
      }),
    ).rejects.toMatchObject({ code: 'c2pa.signature.alg-unsupported' });
    await expect(
      verifyClaimSignature({ signature: sig, claimBytes: 'x' as never, at }),
    ).rejects.toMatchObject({ code: 'c2pa.input.invalid' });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (b) => {
        const r = await verifyClaimSignature({ signature: b, claimBytes, at });
        expect(r.valid).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
