import { readFileSync } from 'node:fs';
import { buildActionsAssertion, buildCustomAssertion, DIGITAL_SOURCE_TYPE } from '@omt/c2pa/assertions';
import { jpegHandler } from '@omt/c2pa/asset';
import { padCoseSign1 } from '@omt/c2pa/builder';
import { signClaim } from '@omt/c2pa/claim-signature';
import { jumbfContentBox, jumbfSuperBox, parseJumbf, serializeJumbf } from '@omt/c2pa/jumbf';
import { parseManifestStore } from '@omt/c2pa/manifest-store';
import { createTestPki, type HybridTestPki, type SingleTestPki } from '@omt/c2pa/pki';
import { equalBytes } from '@omt/core/bytes';
import { decodeCoseSign1, encodeCoseSign1 } from '@omt/core/cose';
import { isOmtError, OmtError } from '@omt/core/errors';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreAssembler } from '../src/store-assembly.js';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

const actions = buildActionsAssertion({
  actions: [{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture }],
});

let carriedStore: ReturnType<typeof parseManifestStore> | undefined;

function assembler(): StoreAssembler {
  carriedStore ??= parseManifestStore(storeOf('CA.jpg'));
  const carried = carriedStore;
  return new StoreAssembler({
    label: 'urn:c2pa:00000000-0000-4000-8000-000000000001',
    instanceId: 'xmp:iid:00000000-0000-4000-8000-000000000002',
    title: 'ünïcode.jpg',
    generator: { name: 'test', version: '1' },
    carried: carried.manifests.map((m) => m.box),
    drafts: [actions, buildCustomAssertion('com.example.step', new Map([['n', 1]]), 'cbor')],
  });
}

function storeOf(f: string): Uint8Array {
  return jpegHandler.findManifestStore(td(f))?.store as Uint8Array;
}

describe('StoreAssembler (placeholder-then-patch)', () => {
  it('the patched store is byte for byte the store assembled with the signature', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 20_000 }),
        fc.nat({ max: 1 << 30 }),
        fc.nat({ max: 1 << 20 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (signatureLength, start, length, digest) => {
          const signature = Uint8Array.from({ length: signatureLength }, (_, i) => (i * 131 + start) & 0xff);
          const a = assembler();
          const ranges = [{ start, length }];
          const unsigned = a.build(ranges, digest, new Uint8Array(signature.length));
          const claimBytes = unsigned.claimBytes.slice();
          const direct = a.build(ranges, digest, signature);
          const patched = StoreAssembler.patchSignature(unsigned, signature.length, signature);
          expect(equalBytes(patched, direct.store)).toBe(true);
          expect(equalBytes(direct.claimBytes, claimBytes)).toBe(true);
          // The result reads back as a store whose active manifest carries this signature.
          const store = parseManifestStore(patched);
          expect(store.manifests.map((m) => m.label)).toEqual([
            ...(carriedStore?.manifests ?? []).map((m) => m.label),
            'urn:c2pa:00000000-0000-4000-8000-000000000001',
          ]);
          const sigBox = store.activeManifest.box.children.at(-1);
          expect(sigBox?.kind === 'super' && sigBox.children[0]?.kind === 'content').toBe(true);
          if (sigBox?.kind === 'super' && sigBox.children[0]?.kind === 'content')
            expect(equalBytes(sigBox.children[0].payload, signature)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('patchSignature refuses a signature of another size than reserved, or a store whose tail is not the signature box', () => {
    const a = assembler();
    const unsigned = a.build([{ start: 2, length: 900 }], new Uint8Array(32), new Uint8Array(300));
    const unstable = (fn: () => unknown): void => {
      try {
        fn();
      } catch (e) {
        expect(isOmtError(e, 'c2pa.builder.unstable')).toBe(true);
        return;
      }
      throw new Error('expected c2pa.builder.unstable');
    };
    unstable(() => StoreAssembler.patchSignature(unsigned, 300, new Uint8Array(299)));
    unstable(() => StoreAssembler.patchSignature(unsigned, 301, new Uint8Array(301)));
    unstable(() => StoreAssembler.patchSignature(unsigned, 299, new Uint8Array(299)));
    const damaged = { ...unsigned, store: unsigned.store.slice() };
    const typeAt = damaged.store.length - 300 - 1; // the last byte of the 'cbor' box type
    damaged.store[typeAt] = (damaged.store[typeAt] as number) ^ 1;
    unstable(() => StoreAssembler.patchSignature(damaged, 300, new Uint8Array(300)));
    // Refused patches leave the store as it was.
    const again = a.build([{ start: 2, length: 900 }], new Uint8Array(32), new Uint8Array(300));
    expect(equalBytes(unsigned.store, again.store)).toBe(true);
  });

  it('a bad assertion draft fails when the assembler is made (core.input.invalid)', () => {
    expect(
      () =>
        new StoreAssembler({
          label: 'urn:c2pa:x',
          instanceId: 'xmp:iid:x',
          title: undefined,
          generator: { name: 'g' },
          carried: [],
          drafts: [{ label: 'no-dots', kind: 'cbor', value: 1 }],
        }),
    ).toThrow(OmtError);
  });
});

describe('JUMBF serialization', () => {
  it('a built tree serializes to exactly its computed length (multi-byte labels included)', () => {
    const label = fc.oneof(
      fc.stringMatching(/^[a-z]{1,6}(\.[a-z0-9]{1,6}){0,2}$/),
      fc.constantFrom('ü.é', 'c2pa.€'),
    );
    const content = fc.record({
      type: fc.constantFrom('json', 'cbor', 'bidb'),
      data: fc.uint8Array({ maxLength: 40 }),
    });
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.record({
        label,
        id: fc.option(fc.nat({ max: 0xffff_ffff }), { nil: undefined }),
        kids: fc.array(fc.oneof({ depthSize: 'small' }, content, tie('node')), { maxLength: 3 }),
      }),
    })).node;
    type N = { label: string; id: number | undefined; kids: (N | { type: string; data: Uint8Array })[] };
    const build = (n: N): ReturnType<typeof jumbfSuperBox> =>
      jumbfSuperBox(
        { type: 'cbor', label: n.label, ...(n.id !== undefined ? { id: n.id } : {}) },
        n.kids.map((k) => ('kids' in k ? build(k) : jumbfContentBox(k.type, k.data))),
      );
    fc.assert(
      fc.property(tree, (n) => {
        const box = build(n as N);
        const bytes = serializeJumbf(box);
        expect(bytes.length).toBe(box.length);
        const back = parseJumbf(bytes);
        expect(back.description.label).toBe((n as N).label);
        expect(serializeJumbf(back)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });
});

/** The search padCoseSign1 has always made: every pad length from guess − 4 to guess + 6. */
function padBySearch(cose: Uint8Array, size: number): Uint8Array | undefined {
  if (cose.length === size) return cose;
  const msg = decodeCoseSign1(cose);
  const base = new Map(msg.unprotectedHeaders);
  base.delete('pad');
  const encode = (n: number): Uint8Array => {
    const u = new Map(base);
    if (n >= 0) u.set('pad', new Uint8Array(n));
    return encodeCoseSign1({ ...msg, unprotectedHeaders: u });
  };
  const bare = encode(-1);
  if (bare.length === size) return bare;
  const guess = size - bare.length - 6;
  for (let n = Math.max(0, guess - 4); n <= guess + 6; n++) {
    const out = encode(n);
    if (out.length === size) return out;
  }
  return undefined;
}

describe('padCoseSign1', () => {
  let es: SingleTestPki;
  let hybrid: HybridTestPki;
  beforeAll(async () => {
    es = (await createTestPki({ suite: 'ES256' })) as SingleTestPki;
    hybrid = (await createTestPki({ suite: 'ML-DSA-65+ES256' })) as HybridTestPki;
  });

  it('gives the bytes of the exhaustive search for every size (too small → c2pa.signature.too-large)', async () => {
    const classical = await signClaim({
      claimBytes: new Uint8Array(10),
      signer: { suite: 'ES256', secretKey: es.signer.key.secretKey as Uint8Array },
      chain: es.chain,
    });
    const pq = await signClaim({
      claimBytes: new Uint8Array(10),
      signer: { suite: 'ML-DSA-65+ES256', secretKey: hybrid.signerKey.secretKey as Uint8Array },
      chain: hybrid.classical.chain,
      pqChain: hybrid.pq.chain,
    });
    const padded = padBySearch(classical, classical.length + 1000) as Uint8Array;
    for (const cose of [classical, padded, pq]) {
      // Around every change of the pad's CBOR head (lengths 24, 256, 65 536) and below the minimum
      // (the large post-quantum COSE_Sign1 only around the small ones: each size re-encodes it).
      const around = (d: number): number[] => Array.from({ length: 16 }, (_, i) => cose.length + d - 8 + i);
      const sizes =
        cose === pq
          ? [...around(0), ...around(30)]
          : [
              ...around(0),
              ...around(8),
              ...around(30),
              ...around(262),
              ...around(65_542),
              cose.length + 200_000,
            ];
      for (const size of sizes) {
        const expected = padBySearch(cose, size);
        if (expected === undefined) {
          expect(() => padCoseSign1(cose, size)).toThrow(
            expect.objectContaining({ code: 'c2pa.signature.too-large' }),
          );
        } else {
          expect(equalBytes(padCoseSign1(cose, size), expected)).toBe(true);
        }
      }
    }
  });
});
