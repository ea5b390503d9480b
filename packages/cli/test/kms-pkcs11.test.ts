/**
 * `omt kms init --pkcs11-…` against a real SoftHSM2 token: L1 keys live in the token; the kill
 * switch flips them there. In CI (`CI=true`) a missing SoftHSM2 fails the test.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDecrypt, runEncrypt, runKms } from '../src/commands/kms/index.js';
import { capture } from './capture.js';

const MODULE = process.env.OMT_PKCS11_MODULE || '/usr/lib/softhsm/libsofthsm2.so';
const UTIL = '/usr/bin/softhsm2-util';

function softhsmMissing(): string | undefined {
  if (!existsSync(UTIL)) return `${UTIL} not found (apt-get install softhsm2)`;
  if (!existsSync(MODULE)) return `PKCS#11 module ${MODULE} not found`;
  try {
    createRequire(import.meta.url)('pkcs11js');
  } catch {
    return 'the pkcs11js native addon does not load';
  }
  return undefined;
}

const PIN = '246810';
let dir: string;
let hsmDir: string;
let env: Record<string, string>;
const kms = (...argv: string[]) => capture(runKms, argv, env, dir);
const enc = (...argv: string[]) => capture(runEncrypt, argv, env, dir);
const dec = (...argv: string[]) => capture(runDecrypt, argv, env, dir);
const file = (name: string) => path.join(dir, name);
const bytesOf = (name: string) => new Uint8Array(readFileSync(file(name)));

function suite(): void {
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'omt-kms-hsm-cli-'));
    // A private token directory: SoftHSM2 reads SOFTHSM2_CONF (this process's env) at C_Initialize.
    hsmDir = mkdtempSync(path.join(tmpdir(), 'omt-softhsm-cli-'));
    mkdirSync(path.join(hsmDir, 'tokens'));
    const conf = path.join(hsmDir, 'softhsm2.conf');
    writeFileSync(
      conf,
      `directories.tokendir = ${path.join(hsmDir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    );
    execFileSync(
      UTIL,
      ['--init-token', '--free', '--label', 'omt-cli', '--pin', PIN, '--so-pin', '13579111'],
      {
        env: { ...process.env, SOFTHSM2_CONF: conf },
        stdio: 'pipe',
      },
    );
    process.env.SOFTHSM2_CONF = conf;
    // No OMT_KMS_PASSPHRASE: the HSM needs none.
    env = { OMT_HOME: path.join(dir, '.omt'), OMT_TEST_HSM_PIN: PIN, OMT_ACTOR: 'hsm-ops' };
    writeFileSync(file('a.jpg'), randomBytes(150_000));
    writeFileSync(file('b.json'), JSON.stringify({ tenant: 'b' }));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(hsmDir, { recursive: true, force: true });
  });

  it('init needs the PIN variable and creates the first L1 key in the token', async () => {
    const init = ['init', '--pkcs11-module', MODULE, '--pkcs11-token', 'omt-cli', '--pkcs11-pin-env'];
    const noPin = await kms(...init, 'OMT_NO_SUCH_PIN');
    expect(noPin.error).toBe('cli.kms.pin-missing');
    const r = await kms(...init, 'OMT_TEST_HSM_PIN', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.provider).toBe('pkcs11');
    expect(out.firstRootKey.provider).toBe('pkcs11');
    const config = readFileSync(path.join(env.OMT_HOME as string, 'kms', 'config.json'), 'utf8');
    expect(config).toContain('OMT_TEST_HSM_PIN');
    expect(config).not.toContain(PIN);
    expect((await kms(...init, 'OMT_TEST_HSM_PIN')).error).toBe('cli.kms.initialized');
  }, 60_000);

  it('encrypts and decrypts for two tenants; disabling A in the token refuses A, B works', async () => {
    expect((await kms('tenant', 'create', 'hsm-a', '--services', 'media')).code).toBe(0);
    expect((await kms('tenant', 'create', 'hsm-b', '--services', 'media')).code).toBe(0);
    expect((await enc('--tenant', 'hsm-a', '--service', 'media', 'a.jpg', '-o', 'a.omte')).code).toBe(0);
    expect((await enc('--tenant', 'hsm-b', '--service', 'media', 'b.json', '-o', 'b.omte')).code).toBe(0);
    expect((await dec('a.omte', '-o', 'a.out')).code).toBe(0);
    expect(bytesOf('a.out')).toEqual(bytesOf('a.jpg'));

    expect((await kms('tenant', 'disable', 'hsm-a')).code).toBe(0);
    const refused = await dec('a.omte', '-o', 'a2.out');
    expect(refused.error).toBe('kms.key.revoked');
    expect(existsSync(file('a2.out'))).toBe(false);
    expect((await dec('b.omte', '-o', 'b.out')).code).toBe(0);
    expect(bytesOf('b.out')).toEqual(bytesOf('b.json'));
    const st = JSON.parse((await kms('status', '--json')).stdout);
    expect(st.provider.kind).toBe('pkcs11');
    expect(
      st.tenants.find((t: { tenant: { tenant: string } }) => t.tenant.tenant === 'hsm-a').rootKey.state,
    ).toBe('disabled');

    expect((await kms('tenant', 'enable', 'hsm-a')).code).toBe(0);
    expect((await dec('a.omte', '-o', 'a2.out')).code).toBe(0);
    expect(bytesOf('a2.out')).toEqual(bytesOf('a.jpg'));
  }, 60_000);
}

const missing = softhsmMissing();
if (missing === undefined) describe('omt kms on a SoftHSM2 token (PKCS#11)', suite);
else if (process.env.CI === 'true') {
  describe('omt kms on a SoftHSM2 token (PKCS#11)', () => {
    it('requires SoftHSM2 in CI', () => {
      throw new Error(`SoftHSM2 tests must run in CI: ${missing}`);
    });
  });
} else {
  describe('omt kms on a SoftHSM2 token (PKCS#11)', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
}
