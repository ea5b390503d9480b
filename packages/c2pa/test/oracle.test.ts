import { readFileSync } from 'node:fs';
import {
  buildActionsAssertion,
  buildCustomAssertion,
  buildIngredientAssertion,
  buildMetadataAssertion,
  buildThumbnailAssertion,
  DIGITAL_SOURCE_TYPE,
} from '@omt/c2pa/assertions';
import { type ClaimSigner, signAsset } from '@omt/c2pa/builder';
import { verifyDataHash } from '@omt/c2pa/data-hash';
import { verifyClaimAssertionUris } from '@omt/c2pa/hashed-uri';
import { parseManifestStore, readManifestStore } from '@omt/c2pa/manifest-store';
import { signCoseSign1 } from '@omt/core/cose';
import { decodePemBlocks, importPem } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { describe, expect, it } from 'vitest';
import { type OracleResult, officialReader } from './official-reader.js';

// The official C2PA reader (c2pa-rs compiled to WebAssembly) is the oracle for everything we write.
const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));
const text = (f: string): string => new TextDecoder().decode(td(f));

/** The official reader's verdict; `trust` adds the c2pa-rs test roots as its anchors. */
const oracle = (mime: string, bytes: Uint8Array, trust = false): Promise<OracleResult> =>
  officialReader(mime, bytes, trust ? text('certs/trust/test_cert_root_bundle.pem') : undefined);

const key = importPem(text('certs/es256.pem'));
const chain = decodePemBlocks(text('certs/es256.pub')).map((b) => b.der);
const es256: ClaimSigner = (claim) =>
  signCoseSign1({
    signer: { suite: getSuite(key.suite), secretKey: key.secretKey as Uint8Array },
    payload: claim,
    detached: true,
    x5chain: chain,
  });

const created = buildActionsAssertion({
  actions: [
    {
      action: 'c2pa.created',
      digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture,
      softwareAgent: { name: 'omt-test', version: '1' },
    },
  ],
});

describe('official reader (c2pa-wasm 0.13.3) accepts what we sign', () => {
  for (const [file, mime] of [
    ['no_manifest.jpg', 'image/jpeg'],
    ['sample1.png', 'image/png'],
    ['libpng-test.png', 'image/png'],
  ] as const) {
    it(`${file}: ES256, created + custom + metadata + thumbnail → Valid (untrusted only), Trusted with the test roots`, async () => {
      const signed = await signAsset({
        asset: td(file),
        mime,
        signer: es256,
        title: file,
        assertions: [
          created,
          buildCustomAssertion('com.example.workflow', { step: 'ingest', desk: 3 }),
          buildMetadataAssertion({ 'dc:creator': ['Jane Doe'], 'exif:Make': 'OMT' }),
          buildThumbnailAssertion({ mediaType: 'image/jpeg', data: td('no_manifest.jpg').subarray(0, 2000) }),
        ],
      });
      const o = await oracle(mime, signed.asset);
      expect(o.error).toBeUndefined();
      expect(o.state).toBe('Valid');
      expect(o.codes).toEqual(['signingCredential.untrusted']);
      expect(o.active).toBe(signed.manifestLabel);
      const t = await oracle(mime, signed.asset, true);
      expect(t.state).toBe('Trusted');
      expect(t.codes).toEqual([]);
      // ours reads it back the same way
      const store = readManifestStore(signed.asset, mime);
      expect(store.activeManifest.label).toBe(signed.manifestLabel);
      expect(store.activeManifest.claim.version).toBe(2);
      expect((await verifyDataHash(store.activeManifest, signed.asset)).map((s) => s.code)).toEqual([
        'assertion.dataHash.match',
      ]);
      expect(
        verifyClaimAssertionUris(store, store.activeManifest).every(
          (s) => s.code === 'assertion.hashedURI.match',
        ),
      ).toBe(true);
    });
  }

  it('one changed image byte: Invalid with assertion.dataHash.mismatch in the oracle and in ours', async () => {
    const signed = await signAsset({
      asset: td('no_manifest.jpg'),
      mime: 'image/jpeg',
      signer: es256,
      assertions: [created],
    });
    const tampered = signed.asset.slice();
    const at = tampered.length - 1000;
    tampered[at] = (tampered[at] as number) ^ 0x01;
    const o = await oracle('image/jpeg', tampered);
    expect(o.state).toBe('Invalid');
    expect(o.activeFailures).toContain('assertion.dataHash.mismatch');
    const ours = await verifyDataHash(readManifestStore(tampered, 'image/jpeg').activeManifest, tampered);
    expect(ours.map((s) => s.code)).toEqual(['assertion.dataHash.mismatch']);
  });

  it('one changed byte inside an assertion: hashedURI mismatch in the oracle and in ours', async () => {
    const signed = await signAsset({
      asset: td('sample1.png'),
      mime: 'image/png',
      signer: es256,
      assertions: [created, buildCustomAssertion('com.example.workflow', { step: 'ingest-step-marker' })],
    });
    const tampered = signed.asset.slice();
    const needle = new TextEncoder().encode('ingest-step-marker');
    const at = Buffer.from(tampered).indexOf(Buffer.from(needle));
    expect(at).toBeGreaterThan(0);
    tampered[at] = 0x49; // 'i' → 'I'
    const o = await oracle('image/png', tampered);
    expect(o.state).toBe('Invalid');
    expect(o.activeFailures).toContain('assertion.hashedURI.mismatch');
    const store = readManifestStore(tampered, 'image/png');
    expect(verifyClaimAssertionUris(store, store.activeManifest).map((s) => s.code)).toContain(
      'assertion.hashedURI.mismatch',
    );
  });

  it('a signed file re-signed with it as parentOf ingredient: both manifests carried, oracle Valid', async () => {
    const first = await signAsset({
      asset: td('no_manifest.jpg'),
      mime: 'image/jpeg',
      signer: es256,
      assertions: [created],
    });
    const parent = readManifestStore(first.asset, 'image/jpeg');
    const second = await signAsset({
      asset: first.asset,
      mime: 'image/jpeg',
      signer: es256,
      ingredients: [
        {
          ingredient: { title: 'parent.jpg', format: 'image/jpeg', relationship: 'parentOf' },
          manifestStore: parent.bytes,
        },
      ],
      assertions: [
        buildActionsAssertion({ actions: [{ action: 'c2pa.opened' }, { action: 'c2pa.edited' }] }),
      ],
    });
    const ours = readManifestStore(second.asset, 'image/jpeg');
    expect(ours.manifests.map((m) => m.label)).toEqual([first.manifestLabel, second.manifestLabel]);
    expect(
      verifyClaimAssertionUris(ours, ours.activeManifest).every(
        (s) => s.code === 'assertion.hashedURI.match',
      ),
    ).toBe(true);
    const o = await oracle('image/jpeg', second.asset);
    expect(o.manifests).toBe(2);
    expect(o.active).toBe(second.manifestLabel);
    expect(o.state).toBe('Valid');
  });

  it('sidecar: the store alone, asset untouched, data hash over the whole asset (ours)', async () => {
    const asset = td('no_manifest.jpg');
    const signed = await signAsset({
      asset,
      mime: 'image/jpeg',
      signer: es256,
      assertions: [created],
      sidecar: true,
    });
    expect(signed.asset).toEqual(asset);
    const store = parseManifestStore(signed.store);
    expect((await verifyDataHash(store.activeManifest, asset)).map((s) => s.code)).toEqual([
      'assertion.dataHash.match',
    ]);
    expect(store.activeManifest.label).toBe(signed.manifestLabel);
  });

  it('the ingredient assertion builder output is accepted inside a signed manifest', async () => {
    const signed = await signAsset({
      asset: td('sample1.png'),
      mime: 'image/png',
      signer: es256,
      assertions: [
        created,
        buildIngredientAssertion({ title: 'stock.png', format: 'image/png', relationship: 'componentOf' }),
      ],
    });
    const o = await oracle('image/png', signed.asset);
    expect(o.state).toBe('Valid');
  });
});
