// How a broken parent ingredient propagates to the asset made from it — ours against the
// official reader (c2pa-wasm, c2pa-rs `ingredient_checks`). The parent is signed, then damaged,
// then recorded as the parentOf ingredient of a new asset (or damaged inside the new asset):
//   - an assertion changed before ingest: the ingredient manifest still matches its hashed URI,
//     so only its claim signature and credential are re-checked → Valid (the finding was
//     recorded in the ingredient's validationResults when it was ingested);
//   - its claim signature changed: claimSignature.mismatch from the ingredient → Invalid;
//   - its pixels changed: the ingredient's asset is not here → Valid;
//   - its manifest changed inside the new asset: ingredient.manifest.mismatch, and the
//     ingredient validated in full (assertion.hashedURI.mismatch) → Invalid.
// Both report the same state, and our failure codes are the reader's validation_status codes.
import { readFileSync } from 'node:fs';
import { readManifestStore } from '@omt/c2pa/manifest-store';
import { signFile } from '@omt/c2pa/sign';
import { validateAsset } from '@omt/c2pa/validate';
import { decodeCoseSign1 } from '@omt/core/cose';
import { beforeAll, describe, expect, it } from 'vitest';
import { officialReader } from './official-reader.js';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));
const text = (f: string): string => new TextDecoder().decode(td(f));
const es256 = { key: text('certs/es256.pem'), chain: text('certs/es256.pub') };
const MARKER = 'parent-marker-AAAA';

let parent: Uint8Array;
beforeAll(async () => {
  parent = (
    await signFile({
      asset: td('no_manifest.jpg'),
      mime: 'image/jpeg',
      ...es256,
      manifest: { assertions: [{ label: 'com.example.workflow', data: { step: MARKER } }] },
    })
  ).asset as Uint8Array;
});

const flipAt = (b: Uint8Array, at: number): Uint8Array => {
  const out = b.slice();
  out[at] = (out[at] as number) ^ 0x01;
  return out;
};
const indexOf = (b: Uint8Array, needle: Uint8Array | string): number => {
  const at = Buffer.from(b).indexOf(typeof needle === 'string' ? Buffer.from(needle) : Buffer.from(needle));
  if (at < 0) throw new Error('needle not found');
  return at;
};
const child = async (p: Uint8Array): Promise<Uint8Array> =>
  (
    await signFile({
      asset: td('no_manifest.jpg'),
      mime: 'image/jpeg',
      ...es256,
      parent: { bytes: p, mime: 'image/jpeg', title: 'parent.jpg' },
    })
  ).asset as Uint8Array;

/** Ours and the official reader on the same file: same state, our failures = its validation_status. */
async function compare(asset: Uint8Array): Promise<{ state: string; failures: readonly string[] }> {
  const ours = await validateAsset(asset, 'image/jpeg');
  const o = await officialReader('image/jpeg', asset);
  expect(o.error).toBeUndefined();
  expect(ours.state).toBe(o.state);
  expect([...ours.failureCodes].sort()).toEqual([...new Set(o.codes)].sort());
  return { state: ours.state, failures: ours.failureCodes };
}

describe('a damaged parent ingredient: ours propagates failures as the official reader does', () => {
  it('an assertion of the parent changed before ingest → Valid (hash-matched ingredient: signature re-checked only)', async () => {
    const damaged = flipAt(parent, indexOf(parent, MARKER) + 3);
    expect((await validateAsset(damaged, 'image/jpeg')).failureCodes).toContain(
      'assertion.hashedURI.mismatch',
    );
    const r = await compare(await child(damaged));
    expect(r).toEqual({ state: 'Valid', failures: ['signingCredential.untrusted'] });
  });

  it('the parent claim signature changed → Invalid with claimSignature.mismatch (the signer still reported)', async () => {
    const sig = decodeCoseSign1(
      readManifestStore(parent, 'image/jpeg').activeManifest.signature as Uint8Array,
    );
    const damaged = flipAt(parent, indexOf(parent, sig.signature) + 5);
    expect((await compare(damaged)).failures).toEqual([
      'signingCredential.untrusted',
      'claimSignature.mismatch',
    ]);
    const r = await compare(await child(damaged));
    expect(r.state).toBe('Invalid');
    expect([...r.failures].sort()).toEqual(['claimSignature.mismatch', 'signingCredential.untrusted']);
  });

  it('the parent pixels changed → Valid (an ingredient is not bound to bytes that are not here)', async () => {
    const damaged = flipAt(parent, parent.length - 10);
    expect((await validateAsset(damaged, 'image/jpeg')).failureCodes).toContain(
      'assertion.dataHash.mismatch',
    );
    expect((await compare(await child(damaged))).state).toBe('Valid');
  });

  it('the carried parent manifest changed inside the new asset → Invalid: ingredient.manifest.mismatch + its own findings', async () => {
    const made = await child(parent);
    expect((await compare(made)).state).toBe('Valid');
    const damaged = flipAt(made, indexOf(made, MARKER) + 3);
    const r = await compare(damaged);
    expect(r.state).toBe('Invalid');
    expect(r.failures).toEqual(
      expect.arrayContaining(['ingredient.manifest.mismatch', 'assertion.hashedURI.mismatch']),
    );
  });
});
