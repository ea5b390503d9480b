/**
 * SoftHSM2 test environment: each test file initialises its own tokens in a temporary directory
 * (SOFTHSM2_CONF → a private config whose tokendir is that directory). In CI (`CI=true`) a missing
 * SoftHSM2 or pkcs11js FAILS the tests; elsewhere they skip with the reason in the test name.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';

export const softhsmModule: string = process.env.OMT_PKCS11_MODULE || '/usr/lib/softhsm/libsofthsm2.so';

function findUtil(): string | undefined {
  for (const p of ['/usr/bin/softhsm2-util', '/usr/local/bin/softhsm2-util']) if (existsSync(p)) return p;
  return undefined;
}

/** Why SoftHSM2 tests cannot run here, or undefined when they can. */
export function softhsmMissing(): string | undefined {
  if (findUtil() === undefined) return 'softhsm2-util not found (apt-get install softhsm2)';
  if (!existsSync(softhsmModule)) return `PKCS#11 module ${softhsmModule} not found`;
  try {
    createRequire(import.meta.url)('pkcs11js');
  } catch {
    return 'the pkcs11js native addon does not load';
  }
  return undefined;
}

export interface TestToken {
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
}

export interface SoftHsm {
  readonly dir: string;
  readonly conf: string;
  /** Removes the token directory. */
  cleanup(): void;
}

/**
 * Creates a temp dir + config, initialises `tokens` in it and points this process's
 * SOFTHSM2_CONF at it (read by SoftHSM2 at C_Initialize, so call it before opening a token).
 */
export function createSoftHsm(tokens: readonly TestToken[]): SoftHsm {
  const util = findUtil();
  if (util === undefined) throw new Error('softhsm2-util not found');
  const dir = mkdtempSync(join(tmpdir(), 'omt-softhsm-'));
  const tokenDir = join(dir, 'tokens');
  mkdirSync(tokenDir, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  for (const t of tokens) {
    execFileSync(util, ['--init-token', '--free', '--label', t.label, '--pin', t.pin, '--so-pin', t.soPin], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: 'pipe',
    });
  }
  process.env.SOFTHSM2_CONF = conf;
  return { dir, conf, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `describe` for SoftHSM2-backed tests: fails in CI when SoftHSM2 is missing, skips (saying why) elsewhere. */
export function describeSoftHsm(name: string, body: () => void): void {
  const missing = softhsmMissing();
  if (missing === undefined) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('requires SoftHSM2 in CI', () => {
        throw new Error(`SoftHSM2 tests must run in CI: ${missing}`);
      });
    });
  } else {
    describe(name, () => {
      it.skip(`skipped: ${missing}`, () => {});
    });
  }
}
