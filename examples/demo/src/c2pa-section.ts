// C2PA Content Credentials: metadata read from a shipped JPEG and PNG, signed into C2PA
// manifests with ML-DSA-65 (the default), ES256 and hybrid (ES256 + an ML-DSA-65
// countersignature), each validated as the official SDK would report it; then one byte changed
// and the failure shown with its C2PA status code.
import { readFile } from 'node:fs/promises';
import type { OmtDatabase } from '@omt/adapters/sql';
import { readManifestStore } from '@omt/c2pa/manifest-store';
import { extractMetadata } from '@omt/c2pa/metadata-extract';
import { createTestPki } from '@omt/c2pa/pki';
import { signFile } from '@omt/c2pa/sign';
import { createTrustList } from '@omt/c2pa/trust';
import { type ValidationReport, validateAsset } from '@omt/c2pa/validate';
import { decodeCoseSign1 } from '@omt/core/cose';
import type { SuiteId } from '@omt/core/suites';

export interface C2paDemoContext {
  log: (line: string) => void;
  omtHome: string;
  database: OmtDatabase;
}

const SUITES: readonly { suite: SuiteId; note: string }[] = [
  { suite: 'ML-DSA-65', note: 'post-quantum, the default' },
  { suite: 'ES256', note: 'classical' },
  { suite: 'ML-DSA-65+ES256', note: 'hybrid: ES256 claim signature + ML-DSA-65 countersignature' },
];

const ASSETS = [
  { file: 'no_manifest.jpg', mime: 'image/jpeg', title: 'newsroom-photo.jpg' },
  { file: 'sample1.png', mime: 'image/png', title: 'product-shot.png' },
] as const;

function codes(r: ValidationReport, pick: readonly string[]): string {
  return r.statusCodes.filter((c) => pick.includes(c)).join(', ');
}

/** Signs two shipped images with three suites, validates each, and shows a tampered one failing. */
export async function demoC2pa(ctx: C2paDemoContext): Promise<{ ok: boolean; summary: string }> {
  const { log } = ctx;
  let ok = true;
  const images = await Promise.all(
    ASSETS.map(async (a) => ({
      ...a,
      bytes: new Uint8Array(await readFile(new URL(`../../../testdata/c2pa/${a.file}`, import.meta.url))),
    })),
  );
  for (const img of images) {
    const meta = await extractMetadata(img.bytes);
    const keys = Object.keys(meta);
    const show = [
      'tiff:Make',
      'tiff:Model',
      'tiff:Software',
      'exif:DateTimeOriginal',
      'exif:LensModel',
      'xmp:CreateDate',
    ]
      .filter((k) => meta[k] !== undefined)
      .slice(0, 3)
      .map((k) => `${k}=${JSON.stringify(String(meta[k]).slice(0, 32))}`)
      .join(', ');
    log(
      `   ${img.file} (${(img.bytes.length / 1024).toFixed(0)} KiB): ${keys.length} EXIF/IPTC/XMP fields → c2pa.metadata; ${show}`,
    );
  }

  let signedCount = 0;
  let mldsaJpeg: { bytes: Uint8Array; trustPem: string } | undefined;
  for (const { suite, note } of SUITES) {
    const t0 = performance.now();
    const pki = await createTestPki({ suite, subjectPrefix: 'OMT Demo' });
    const trust = createTrustList({ anchorsPem: pki.files['root.pem'] });
    log(
      `   ${suite} (${note}): test PKI root → intermediate → signer in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    for (const img of images) {
      const t1 = performance.now();
      const signed = await signFile({
        asset: img.bytes,
        mime: img.mime,
        key: pki.files['signer.key.pem'],
        chain: pki.files['chain.pem'],
        metadata: true,
        manifest: {
          title: img.title,
          assertions: [{ label: 'com.example.workflow', data: { desk: 'photo', step: 'ingest' } }],
        },
      });
      const asset = signed.asset as Uint8Array;
      const signMs = performance.now() - t1;
      const report = await validateAsset(asset, img.mime, {
        trust,
        ...(suite.includes('+') ? { hybrid: 'required' as const } : {}),
      });
      const good = report.state === 'Trusted';
      ok &&= good;
      signedCount++;
      const hybrid = suite.includes('+') ? ', omt.hybridSignature.validated' : '';
      log(
        `      ${img.file.padEnd(15)} +${String(asset.length - img.bytes.length).padStart(5)} B C2PA data, signed in ${signMs.toFixed(0).padStart(3)} ms → ${report.state}` +
          ` (${codes(report, ['claimSignature.validated', 'assertion.dataHash.match', 'signingCredential.trusted'])}${report.statusCodes.includes('omt.hybridSignature.validated') ? hybrid : ''})`,
      );
      if (suite === 'ML-DSA-65' && img.mime === 'image/jpeg')
        mldsaJpeg = { bytes: asset, trustPem: pki.files['root.pem'] };
    }
  }

  if (mldsaJpeg !== undefined) {
    const trust = createTrustList({ anchorsPem: mldsaJpeg.trustPem });
    const untrusted = await validateAsset(mldsaJpeg.bytes, 'image/jpeg');
    log(
      `   without the test root in the trust list: ${untrusted.state} (${untrusted.failureCodes.join(', ')}) — as the official SDK reports test-signed files`,
    );
    ok &&= untrusted.state === 'Valid';
    const pixels = mldsaJpeg.bytes.slice();
    const at = pixels.length - 100; // entropy-coded image data, before the EOI marker
    pixels[at] = (pixels[at] as number) ^ 0x01;
    const r1 = await validateAsset(pixels, 'image/jpeg', { trust });
    log(`   one bit of image data flipped (byte ${at}): ${r1.state} — ${r1.failureCodes.join(', ')}`);
    ok &&= r1.state === 'Invalid' && r1.failureCodes.includes('assertion.dataHash.mismatch');
    // One byte inside the ML-DSA-65 signature value of the claim signature (COSE_Sign1).
    const sigAt = findSignatureByte(mldsaJpeg.bytes);
    const sig = mldsaJpeg.bytes.slice();
    sig[sigAt] = (sig[sigAt] as number) ^ 0x01;
    const r2 = await validateAsset(sig, 'image/jpeg', { trust });
    log(`   one bit of the claim signature flipped: ${r2.state} — ${r2.failureCodes.join(', ')}`);
    ok &&= r2.state === 'Invalid' && r2.failureCodes.includes('claimSignature.mismatch');
  }
  const summary = `${signedCount} images signed (ML-DSA-65, ES256, hybrid) and validated; tampering detected: ${ok ? 'yes' : 'NO'}`;
  return { ok, summary };
}

/** The offset of a byte in the middle of the active manifest's claim signature value. */
function findSignatureByte(asset: Uint8Array): number {
  const cose = readManifestStore(asset, 'image/jpeg').activeManifest.signature;
  if (cose === undefined) throw new Error('signed asset without a claim signature');
  const sig = decodeCoseSign1(cose).signature;
  const probe = sig.subarray(0, 32);
  for (let i = 0; i + sig.length <= asset.length; i++) {
    let j = 0;
    while (j < probe.length && asset[i + j] === probe[j]) j++;
    if (j === probe.length) return i + Math.floor(sig.length / 2);
  }
  throw new Error('claim signature not found in the asset');
}
