import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ledger from '../src/commands/ledger/index.js';
import { capture } from './capture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'omt-cli-ledger-help-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const words = [
  ['wallet', ledger.runWallet, ledger.walletHelp],
  ['utxo', ledger.runUtxo, ledger.utxoHelp],
  ['signer', ledger.runSigner, ledger.signerHelp],
  ['intent', ledger.runIntent, ledger.intentHelp],
  ['publish', ledger.runPublish, ledger.publishHelp],
  ['job', ledger.runJob, ledger.jobHelp],
  ['anchor', ledger.runAnchor, ledger.anchorHelp],
  ['worker', ledger.runWorker, ledger.workerHelp],
  ['serve', ledger.runServe, ledger.serveHelp],
] as const;

describe('ledger command words: --help and usage errors', () => {
  it.each(words)(
    '%s --help prints its help (exit 0); an unknown flag is a usage error (exit 2)',
    async (word, run, help) => {
      const env = { OMT_HOME: path.join(dir, 'home') };
      const h = await capture(run, ['--help'], env, dir);
      expect(h.code).toBe(0);
      expect(h.stdout).toBe(help);
      expect(help).toContain(`omt ${word}`);
      const bad = await capture(
        run,
        word === 'worker' || word === 'serve' || word === 'publish' || word === 'job'
          ? ['--frobnicate']
          : ['frobnicate'],
        env,
        dir,
      );
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toContain('[cli.usage]');
    },
  );

  it('commands that need a wallet say so when there is none', async () => {
    const env = { OMT_HOME: path.join(dir, 'empty') };
    const r = await capture(ledger.runWallet, ['address', '--json'], env, dir);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('cli.wallet.missing');
  }, 60_000);

  it('a seed file readable by others is refused; a malformed one is reported without its content', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const home = path.join(dir, 'loose');
    await mkdir(home, { recursive: true });
    await writeFile(
      path.join(home, 'wallet.json'),
      '{"v":1,"network":"bsv","seed":"00112233445566778899aabbccddeeff","createdAt":"x"}',
      { mode: 0o644 },
    );
    const loose = await capture(ledger.runWallet, ['address', '--json'], { OMT_HOME: home }, dir);
    expect(JSON.parse(loose.stdout).error.code).toBe('cli.wallet.insecure');
    const bad = path.join(dir, 'bad');
    await mkdir(bad, { recursive: true });
    await writeFile(path.join(bad, 'wallet.json'), '{"seed":"secret-words-here"}', { mode: 0o600 });
    const r = await capture(ledger.runUtxo, ['list', '--json'], { OMT_HOME: bad }, dir);
    expect(JSON.parse(r.stdout).error.code).toBe('cli.wallet.malformed');
    expect(r.stdout).not.toContain('secret-words');
  });

  it('anchor verify: a missing file and a non-proof are failures with clear codes, never a stack trace', async () => {
    const env = { OMT_HOME: path.join(dir, 'home') };
    const missing = await capture(ledger.runAnchor, ['verify', 'nope.json', '--json'], env, dir);
    expect(JSON.parse(missing.stdout).error.code).toBe('cli.file.not-found');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'junk.json'), '{"v":1,"hello":true}');
    const junk = await capture(ledger.runAnchor, ['verify', 'junk.json', '--json'], env, dir);
    expect(junk.code).toBe(1);
    expect(JSON.parse(junk.stdout).problems[0].code).toBe('ledger.anchor.schema');
  });
});
