// omt certs | sign | verify | inspect, end to end on real files: the round trip for JPEG and PNG
// with ES256, ML-DSA-65 and hybrid test PKIs (Trusted with --trust, Valid without, Invalid after
// one changed byte), the c2pa-rs vector files against expected.json, and bad input.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certsHelp,
  inspectHelp,
  runCerts,
  runInspect,
  runSign,
  runVerify,
  signHelp,
  verifyHelp,
} from '../src/commands/c2pa/index.js';
import { type Captured, capture } from './capture.js';

const testdata = fileURLToPath(new URL('../../../testdata/c2pa/', import.meta.url));
let dir: string;

/** Runs a command (exit 1, 2 for usage, the message on stderr); a non-OmtError fails the test. */
const run = (fn: Parameters<typeof capture>[0], argv: string[]): Promise<Captured> =>
  capture(fn, argv, { OMT_HOME: path.join(dir, '.omt') }, dir, { strict: true, messagesOnStderr: true });

const json = (o: Captured): Record<string, unknown> => JSON.parse(o.stdout) as Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'omt-c2pa-cli-'));
  await copyFile(path.join(testdata, 'no_manifest.jpg'), path.join(dir, 'photo.jpg'));
  await copyFile(path.join(testdata, 'sample1.png'), path.join(dir, 'image.png'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('help and usage', () => {
  it('prints help with exit 0; usage errors exit 2', async () => {
    for (const [fn, help] of [
      [runCerts, certsHelp],
      [runSign, signHelp],
      [runVerify, verifyHelp],
      [runInspect, inspectHelp],
    ] as const) {
      const r = await run(fn, ['--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(help);
    }
    expect((await run(runCerts, [])).code).toBe(2);
    expect((await run(runCerts, ['frob'])).code).toBe(2);
    expect((await run(runVerify, [])).code).toBe(2);
    expect((await run(runSign, ['photo.jpg', '--key', 'k'])).code).toBe(2); // -o and --cert missing
    expect((await run(runVerify, ['photo.jpg', '--bogus'])).code).toBe(2);
    expect((await run(runVerify, ['photo.jpg', '--hybrid', 'maybe'])).code).toBe(2);
  });

  it('rejects unknown algorithms with a usage error', async () => {
    const r = await run(runCerts, ['create-test-pki', '--alg', 'RSA-1024', '--out', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown algorithm');
    const rs = await run(runCerts, ['create-test-pki', '--alg', 'PS256', '--out', 'x']);
    expect(rs.code).toBe(2);
  });
});

const CASES = [
  { alg: 'ES256', dir: 'pki-es256' },
  { alg: 'ML-DSA-65', dir: 'pki-mldsa' },
  { alg: 'ML-DSA-65+ES256', dir: 'pki-hybrid' },
] as const;

describe.each(CASES)('round trip with $alg', ({ alg, dir: pkiDir }) => {
  beforeAll(async () => {
    const r = await run(runCerts, ['create-test-pki', '--alg', alg, '--out', pkiDir, '--json']);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out.alg).toBe(alg);
    for (const f of ['root.pem', 'intermediate.pem', 'signer.pem', 'signer.key.pem', 'chain.pem']) {
      expect(Object.keys(out.files as object)).toContain(f);
    }
    const key = await readFile(path.join(dir, pkiDir, 'signer.key.pem'), 'utf8');
    expect(key).toContain('BEGIN PRIVATE KEY');
  }, 60_000);

  for (const input of ['photo.jpg', 'image.png']) {
    it(`signs ${input}, verifies Trusted/Valid, fails after one changed byte`, async () => {
      const ext = path.extname(input);
      const out = `${pkiDir}-signed${ext}`;
      const s = await run(runSign, [
        input,
        '-o',
        out,
        '--key',
        `${pkiDir}/signer.key.pem`,
        '--cert',
        `${pkiDir}/chain.pem`,
        '--json',
      ]);
      expect(s.stderr).toBe('');
      expect(s.code).toBe(0);
      expect(json(s)).toMatchObject({ alg, sidecar: false });

      const trusted = await run(runVerify, [out, '--trust', `${pkiDir}/root.pem`, '--json']);
      expect(trusted.code).toBe(0);
      const t = json(trusted);
      expect(t.state).toBe('Trusted');
      expect(t.failureCodes).toEqual([]);
      expect(t.manifests).toBe(1);
      expect(t.activeManifest).toBe(json(s).manifestLabel);
      expect(t.statusCodes).toEqual(
        expect.arrayContaining(['claimSignature.validated', 'assertion.dataHash.match']),
      );
      expect(t.signatureAlg).toBe(alg === 'ML-DSA-65+ES256' ? 'ES256' : alg);
      if (alg === 'ML-DSA-65+ES256') {
        expect(t.hybrid).toMatchObject({ present: true, valid: true, suite: 'ML-DSA-65' });
        const req = await run(runVerify, [out, '--trust', `${pkiDir}/root.pem`, '--hybrid', 'required']);
        expect(req.code).toBe(0);
      }

      const valid = await run(runVerify, [out, '--json']);
      expect(valid.code).toBe(0);
      expect(json(valid).state).toBe('Valid');
      expect(json(valid).failureCodes).toEqual(['signingCredential.untrusted']);

      const text = await run(runVerify, [out]);
      expect(text.stdout).toMatch(/: Valid\n/);

      // One byte of image data, near the end of the file (before JPEG EOI / in PNG IDAT…IEND).
      const bytes = new Uint8Array(await readFile(path.join(dir, out)));
      const at = bytes.length - (ext === '.png' ? 20 : 10);
      bytes[at] = (bytes[at] as number) ^ 0x01;
      await writeFile(path.join(dir, `tampered-${out}`), bytes);
      const bad = await run(runVerify, [`tampered-${out}`, '--trust', `${pkiDir}/root.pem`, '--json']);
      expect(bad.code).toBe(1);
      expect(json(bad).state).toBe('Invalid');
      expect(json(bad).failureCodes).toContain('assertion.dataHash.mismatch');
      const badText = await run(runVerify, [`tampered-${out}`]);
      expect(badText.code).toBe(1);
      expect(badText.stdout).toContain('assertion.dataHash.mismatch');

      const inspect = await run(runInspect, [out, '--json']);
      expect(inspect.code).toBe(0);
      const ins = json(inspect);
      expect(ins.manifestCount).toBe(1);
      const m = (ins.manifests as Record<string, unknown>[])[0] as Record<string, unknown>;
      expect(m.assertionLabels).toEqual(expect.arrayContaining(['c2pa.actions.v2', 'c2pa.hash.data']));
      const sig = m.signature as Record<string, unknown>;
      expect(sig.alg).toBe(alg === 'ML-DSA-65+ES256' ? 'ES256' : alg);
      expect(sig.subject).toContain('C2PA Signer');
      expect(sig.issuer).toContain('Intermediate CA');
      expect(new Date(sig.notAfter as string).getTime()).toBeGreaterThan(Date.now());
      const cs = sig.countersignatures as Record<string, unknown>[];
      if (alg === 'ML-DSA-65+ES256') expect(cs[0]).toMatchObject({ alg: 'ML-DSA-65' });
      else expect(cs).toEqual([]);
    }, 60_000);
  }
});

describe('sidecar, manifest definition, parent', () => {
  it('writes a .c2pa sidecar and leaves the asset unchanged; verify --sidecar', async () => {
    await run(runCerts, ['create-test-pki', '--alg', 'ES256', '--out', 'pki-side']);
    await writeFile(
      path.join(dir, 'manifest.json'),
      JSON.stringify({
        title: 'Sidecar photo',
        assertions: [{ label: 'com.example.workflow', data: { step: 'ingest', desk: 'photo' } }],
      }),
    );
    const before = await readFile(path.join(dir, 'photo.jpg'));
    const s = await run(runSign, [
      'photo.jpg',
      '-o',
      'photo.c2pa',
      '--key',
      'pki-side/signer.key.pem',
      '--cert',
      'pki-side/chain.pem',
      '--manifest',
      'manifest.json',
      '--sidecar',
    ]);
    expect(s.code).toBe(0);
    expect(await readFile(path.join(dir, 'photo.jpg'))).toEqual(before);
    const v = await run(runVerify, [
      'photo.jpg',
      '--sidecar',
      'photo.c2pa',
      '--trust',
      'pki-side/root.pem',
      '--json',
    ]);
    expect(v.code).toBe(0);
    expect(json(v).state).toBe('Trusted');
    const other = await run(runVerify, ['image.png', '--sidecar', 'photo.c2pa', '--json']);
    expect(other.code).toBe(1);
    expect(json(other).failureCodes).toContain('assertion.dataHash.mismatch');
    const ins = await run(runInspect, ['photo.c2pa', '--json']);
    expect(ins.code).toBe(0);
    const m = (json(ins).manifests as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect((m.claim as Record<string, unknown>).title).toBe('Sidecar photo');
    const custom = (m.assertions as Record<string, unknown>[]).find(
      (a) => a.label === 'com.example.workflow',
    );
    expect(custom?.data).toEqual({ step: 'ingest', desk: 'photo' });
  }, 60_000);

  it('records a signed parent as an ingredient whose manifest travels along', async () => {
    const p = await run(runSign, [
      'photo.jpg',
      '-o',
      'parent.jpg',
      '--key',
      'pki-side/signer.key.pem',
      '--cert',
      'pki-side/chain.pem',
    ]);
    expect(p.code).toBe(0);
    const c = await run(runSign, [
      'photo.jpg',
      '-o',
      'child.jpg',
      '--key',
      'pki-mldsa/signer.key.pem',
      '--cert',
      'pki-mldsa/chain.pem',
      '--parent',
      'parent.jpg',
      '--json',
    ]);
    expect(c.code).toBe(0);
    const v = await run(runVerify, ['child.jpg', '--json']);
    expect(v.code).toBe(0);
    expect(json(v).manifests).toBe(2);
    expect(json(v).statusCodes).toContain('ingredient.manifest.validated');
    const ins = json(await run(runInspect, ['child.jpg', '--json']));
    const active = (ins.manifests as Record<string, unknown>[]).find(
      (m) => m.label === ins.activeManifest,
    ) as Record<string, unknown>;
    expect(active.ingredients).toEqual([
      expect.objectContaining({ title: 'parent.jpg', relationship: 'parentOf', format: 'image/jpeg' }),
    ]);
  }, 60_000);

  it('refuses to overwrite without --force', async () => {
    const args = [
      'photo.jpg',
      '-o',
      'parent.jpg',
      '--key',
      'pki-side/signer.key.pem',
      '--cert',
      'pki-side/chain.pem',
    ];
    const r = await run(runSign, args);
    expect(r.code).toBe(1);
    expect(r.error).toBe('cli.file.exists');
    expect((await run(runSign, [...args, '--force'])).code).toBe(0);
  }, 60_000);
});

describe('official vector files (c2pa-rs) against expected.json', () => {
  it('reports the state the official reader recorded, and the trusted state with its roots', async () => {
    const expected = JSON.parse(await readFile(path.join(testdata, 'expected.json'), 'utf8')) as Record<
      string,
      {
        validation_state: string | null;
        active_manifest: string | null;
        manifest_count: number;
        active_manifest_failure_codes: string[];
        with_test_trust: { validation_state: string | null; active_manifest_failure_codes: string[] };
      }
    >;
    const roots = path.join(testdata, 'certs/trust/test_cert_root_bundle.pem');
    for (const [file, want] of Object.entries(expected)) {
      const r = await run(runVerify, [path.join(testdata, file), '--json']);
      if (want.validation_state === null) {
        expect(r.code, file).toBe(1);
        expect(r.error, file).toBe('c2pa.jumbf.not-found');
        expect(r.stderr, file).toContain('has no C2PA manifest');
        continue;
      }
      const got = json(r);
      expect(got.state, file).toBe(want.validation_state);
      expect(r.code, file).toBe(want.validation_state === 'Invalid' ? 1 : 0);
      expect(got.activeManifest, file).toBe(want.active_manifest);
      expect(got.manifests, file).toBe(want.manifest_count);
      expect([...(got.failureCodes as string[])].sort(), file).toEqual(
        [...want.active_manifest_failure_codes].sort(),
      );
      const t = json(await run(runVerify, [path.join(testdata, file), '--trust', roots, '--json']));
      expect(t.state, file).toBe(want.with_test_trust.validation_state);
      expect([...(t.failureCodes as string[])].sort(), file).toEqual(
        [...want.with_test_trust.active_manifest_failure_codes].sort(),
      );
    }
  }, 60_000);

  it('inspects a c2pa-rs file: claim, assertions, ingredient and signer', async () => {
    const r = await run(runInspect, [path.join(testdata, 'CA.jpg'), '--json']);
    expect(r.code).toBe(0);
    const m = (json(r).manifests as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(m.assertionLabels).toContain('c2pa.ingredient');
    expect(m.ingredients).toEqual([expect.objectContaining({ title: 'A.jpg', relationship: 'parentOf' })]);
    const sig = m.signature as Record<string, unknown>;
    expect(sig).toMatchObject({ alg: 'PS256' });
    expect(sig.issuer).toContain('C2PA Test Intermediate Root CA');
    const thumb = (m.assertions as Record<string, unknown>[]).find(
      (a) => a.label === 'c2pa.thumbnail.claim.jpeg',
    );
    expect(thumb).toMatchObject({ kind: 'embedded-file', mediaType: 'image/jpeg' });
    expect((thumb?.data as { size?: number } | undefined)?.size ?? 0).toBeGreaterThan(1000);
    const text = await run(runInspect, [path.join(testdata, 'CA.jpg')]);
    expect(text.stdout).toContain('ingredient: A.jpg (parentOf, image/jpeg)');
  });
});

describe('bad input gives clear errors', () => {
  it('missing file, not an image, no manifest', async () => {
    const missing = await run(runVerify, ['nope.jpg']);
    expect(missing).toMatchObject({ code: 1, error: 'cli.file.not-found' });
    await writeFile(path.join(dir, 'notes.txt'), 'just text, not an image\n');
    const text = await run(runVerify, ['notes.txt']);
    expect(text).toMatchObject({ code: 1, error: 'c2pa.asset.unsupported' });
    expect(text.stderr).toContain('is not a JPEG or PNG');
    await writeFile(path.join(dir, 'fake.jpg'), 'not really a jpeg');
    const fake = await run(runSign, [
      'fake.jpg',
      '-o',
      'x.jpg',
      '--key',
      'pki-side/signer.key.pem',
      '--cert',
      'pki-side/chain.pem',
    ]);
    expect(fake).toMatchObject({ code: 1, error: 'c2pa.asset.unsupported' });
    expect(fake.stderr).toContain('does not look like a JPG');
    const none = await run(runVerify, ['photo.jpg']);
    expect(none).toMatchObject({ code: 1, error: 'c2pa.jumbf.not-found' });
    const noneInspect = await run(runInspect, ['photo.jpg', '--json']);
    expect(noneInspect).toMatchObject({ code: 1, error: 'c2pa.jumbf.not-found' });
  });

  it('wrong key for the certificate, unknown alg, key/alg mismatch, bad manifest JSON, bad trust file', async () => {
    const wrong = await run(runSign, [
      'photo.jpg',
      '-o',
      'w.jpg',
      '--key',
      'pki-mldsa/signer.key.pem',
      '--cert',
      'pki-hybrid/chain.pem',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.error).toBe('cli.key.cert-mismatch');
    const other = await run(runSign, [
      'photo.jpg',
      '-o',
      'w.jpg',
      '--key',
      'pki-es256/signer.key.pem',
      '--cert',
      'pki-side/chain.pem',
    ]);
    expect(other.error).toBe('cli.key.cert-mismatch');
    const unknown = await run(runSign, [
      'photo.jpg',
      '-o',
      'w.jpg',
      '--key',
      'pki-es256/signer.key.pem',
      '--cert',
      'pki-es256/chain.pem',
      '--alg',
      'FALCON-512',
    ]);
    expect(unknown.code).toBe(2);
    const mismatch = await run(runSign, [
      'photo.jpg',
      '-o',
      'w.jpg',
      '--key',
      'pki-es256/signer.key.pem',
      '--cert',
      'pki-es256/chain.pem',
      '--alg',
      'ML-DSA-65',
    ]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.error).toMatch(/^core\.key\./);
    await writeFile(path.join(dir, 'bad.json'), '{ "title": ');
    const badJson = await run(runSign, [
      'photo.jpg',
      '-o',
      'w.jpg',
      '--key',
      'pki-es256/signer.key.pem',
      '--cert',
      'pki-es256/chain.pem',
      '--manifest',
      'bad.json',
    ]);
    expect(badJson.error).toBe('cli.manifest.malformed');
    await writeFile(path.join(dir, 'odd.json'), JSON.stringify({ title: 5 }));
    const odd = await run(runSign, [
      'photo.jpg',
      '-o',
      'w.jpg',
      '--key',
      'pki-es256/signer.key.pem',
      '--cert',
      'pki-es256/chain.pem',
      '--manifest',
      'odd.json',
    ]);
    expect(odd.error).toBe('c2pa.input.invalid');
    const badTrust = await run(runVerify, ['pki-es256-signed.jpg', '--trust', 'notes.txt']);
    expect(badTrust.code).toBe(1);
    expect(badTrust.error).toBe('cli.trust.empty');
    const keyAsCert = await run(runSign, [
      'photo.jpg',
      '-o',
      'w.jpg',
      '--key',
      'pki-es256/signer.key.pem',
      '--cert',
      'pki-es256/signer.key.pem',
    ]);
    expect(keyAsCert.code).toBe(1);
  }, 60_000);
});
