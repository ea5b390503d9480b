import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'omt-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('omt CLI: help and usage', () => {
  it('prints help with exit 0 and usage errors with exit 2', async () => {
    const help = await runCli(['--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('keys generate');
    expect((await runCli([], { cwd: dir })).code).toBe(2);
    const unknown = await runCli(['frobnicate'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
    const badFlag = await runCli(['keys', 'generate', '--bogus'], { cwd: dir });
    expect(badFlag.code).toBe(2);
    const json = await runCli(['keys', 'generate', '--alg', 'NOPE', '--out', 'x', '--json'], { cwd: dir });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('cli.usage');
  });

  it('lists every suite with the default marked', async () => {
    const r = await runCli(['keys', 'list-algs', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.default).toBe('ML-DSA-65');
    const ids = out.suites.map((s: { id: string }) => s.id);
    for (const id of [
      'ML-DSA-44',
      'ML-DSA-65',
      'ML-DSA-87',
      'SLH-DSA-SHA2-128s',
      'SLH-DSA-SHA2-128f',
      'Ed25519',
      'ES256',
      'ES384',
      'ES256K',
      'PS256',
      'ML-DSA-65+ES256',
    ]) {
      expect(ids).toContain(id);
    }
    const mldsa = out.suites.find((s: { id: string }) => s.id === 'ML-DSA-65');
    expect(mldsa).toMatchObject({ coseAlg: -49, publicKeySize: 1952, signatureSize: 3309, canSign: true });
    const text = await runCli(['keys', 'list-algs'], { cwd: dir });
    expect(text.stdout).toMatch(/ML-DSA-65 \(default\)/);
  });
});

describe.each(['ML-DSA-65', 'Ed25519', 'ES256', 'ES256K', 'ML-DSA-65+ES256'])(
  'omt keys/sign-json/verify-json with %s',
  (alg) => {
    it('generates keys, signs, verifies, and rejects tampering', async () => {
      const out = path.join(dir, alg);
      const gen = await runCli(['keys', 'generate', '--alg', alg, '--out', out, '--json'], { cwd: dir });
      expect(gen.code, gen.stderr + gen.stdout).toBe(0);
      const info = JSON.parse(gen.stdout);
      expect(info.alg).toBe(alg);
      for (const f of ['private.pem', 'public.pem', 'private.jwk.json', 'public.jwk.json']) {
        expect(existsSync(path.join(out, f))).toBe(true);
      }
      expect((await stat(path.join(out, 'private.pem'))).mode & 0o077).toBe(0);
      const privatePem = await readFile(path.join(out, 'private.pem'), 'utf8');
      expect(privatePem).toContain('-----BEGIN PRIVATE KEY-----');
      const publicPem = await readFile(path.join(out, 'public.pem'), 'utf8');
      expect(publicPem).toContain('-----BEGIN PUBLIC KEY-----');
      const pubJwk = JSON.parse(await readFile(path.join(out, 'public.jwk.json'), 'utf8'));
      expect(pubJwk.kid).toBe(info.kid);
      expect(pubJwk.d ?? pubJwk.priv).toBeUndefined();

      // Refuses to overwrite without --force.
      const again = await runCli(['keys', 'generate', '--alg', alg, '--out', out], { cwd: dir });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('cli.file.exists');

      const doc = path.join(out, 'doc.json');
      await writeFile(doc, JSON.stringify({ z: 1, a: { b: [1, 2, 'x'] }, title: 'Grüße' }));
      const signed = await runCli(['sign-json', '--key', path.join(out, 'private.pem'), doc], { cwd: dir });
      expect(signed.code, signed.stderr).toBe(0);
      const signedDoc = JSON.parse(signed.stdout);
      expect(signedDoc.signature).toMatchObject({ alg, kid: info.kid });
      expect(signedDoc.title).toBe('Grüße');
      const signedFile = path.join(out, 'signed.json');
      await writeFile(signedFile, signed.stdout);

      const ok = await runCli(['verify-json', '--pub', path.join(out, 'public.pem'), signedFile, '--json'], {
        cwd: dir,
      });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, alg, kid: info.kid });

      // Key order and whitespace do not matter (JCS), content does.
      const reordered = {
        title: signedDoc.title,
        signature: signedDoc.signature,
        a: signedDoc.a,
        z: signedDoc.z,
      };
      await writeFile(signedFile, JSON.stringify(reordered, null, 8));
      expect(
        (await runCli(['verify-json', '--pub', path.join(out, 'public.pem'), signedFile], { cwd: dir })).code,
      ).toBe(0);
      await writeFile(signedFile, JSON.stringify({ ...reordered, z: 2 }));
      const bad = await runCli(['verify-json', '--pub', path.join(out, 'public.pem'), signedFile], {
        cwd: dir,
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('core.signature.invalid');
    });
  },
);

describe('omt sign-json / verify-json errors', () => {
  it('gives clear errors for missing files, bad JSON, public keys used for signing, wrong keys', async () => {
    const out = path.join(dir, 'err');
    expect((await runCli(['keys', 'generate', '--alg', 'Ed25519', '--out', out], { cwd: dir })).code).toBe(0);
    const other = path.join(dir, 'err2');
    expect((await runCli(['keys', 'generate', '--alg', 'Ed25519', '--out', other], { cwd: dir })).code).toBe(
      0,
    );
    const missing = await runCli(['sign-json', '--key', path.join(out, 'private.pem'), 'nope.json'], {
      cwd: dir,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cli.file.not-found');
    await writeFile(path.join(out, 'bad.json'), '{"a":1,"a":2}');
    const dup = await runCli(
      ['sign-json', '--key', path.join(out, 'private.pem'), path.join(out, 'bad.json')],
      { cwd: dir },
    );
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('core.json.invalid');
    await writeFile(path.join(out, 'doc.json'), '{"a":1}');
    const pub = await runCli(
      ['sign-json', '--key', path.join(out, 'public.pem'), path.join(out, 'doc.json')],
      { cwd: dir },
    );
    expect(pub.code).toBe(1);
    expect(pub.stderr).toContain('cli.key.not-private');
    await writeFile(
      path.join(out, 'garbage.pem'),
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    );
    const garbage = await runCli(
      ['sign-json', '--key', path.join(out, 'garbage.pem'), path.join(out, 'doc.json')],
      {
        cwd: dir,
      },
    );
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('core.key.malformed');
    const signed = await runCli(
      ['sign-json', '--key', path.join(out, 'private.pem'), path.join(out, 'doc.json')],
      { cwd: dir },
    );
    await writeFile(path.join(out, 'signed.json'), signed.stdout);
    const wrong = await runCli(
      ['verify-json', '--pub', path.join(other, 'public.pem'), path.join(out, 'signed.json'), '--json'],
      {
        cwd: dir,
      },
    );
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ valid: false, code: 'core.signature.invalid' });
    const unsigned = await runCli(
      ['verify-json', '--pub', path.join(out, 'public.pem'), path.join(out, 'doc.json')],
      { cwd: dir },
    );
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('core.signature.missing');
  });
});

describe('omt as a process (built bin)', () => {
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
  it('runs `omt keys list-algs --json` and exits non-zero on failure', async () => {
    expect(existsSync(bin), 'packages/cli/dist/bin.js: run `npm run build` (npm test builds first)').toBe(
      true,
    );
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [bin, 'keys', 'list-algs', '--json'], { cwd: dir });
    expect(JSON.parse(stdout).default).toBe('ML-DSA-65');
    await expect(
      run(process.execPath, [bin, 'verify-json', '--pub', 'missing.pem', 'x.json'], { cwd: dir }),
    ).rejects.toMatchObject({
      code: 1,
    });
  });
});
