import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportPrivatePem, exportPublicPem } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runAnchor,
  runIntent,
  runJob,
  runPublish,
  runSigner,
  runUtxo,
  runWallet,
  runWorker,
} from '../src/commands/ledger/index.js';
import { type Captured, capture } from './capture.js';

let dir: string;
let env: Record<string, string>;
const run = (fn: Parameters<typeof capture>[0], argv: string[]): Promise<Captured> =>
  capture(fn, argv, env, dir);
// biome-ignore lint/suspicious/noExplicitAny: the CLI's JSON output, checked field by field below
const json = (r: Captured): any => {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'omt-cli-ledger-'));
  env = { OMT_HOME: path.join(dir, 'home') };
  for (const alg of ['ES256K', 'ML-DSA-65'] as const) {
    const suite = getSuite(alg);
    const pair = await suite.generateKeyPair();
    const key = { suite: alg, publicKey: pair.publicKey, secretKey: pair.secretKey };
    await writeFile(path.join(dir, `${alg}.key.pem`), exportPrivatePem(key), { mode: 0o600 });
    await writeFile(path.join(dir, `${alg}.pub.pem`), exportPublicPem(key));
  }
  await writeFile(
    path.join(dir, 'record.json'),
    JSON.stringify({ rid: 'urn:demo:1', uri: 'https://example.com/a.jpg' }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('omt wallet / utxo / signer / intent (PGlite in a temp $OMT_HOME)', () => {
  it('wallet init writes a 0600 seed file, never prints it, and refuses to overwrite', async () => {
    const r = json(await run(runWallet, ['init', '--network', 'bsv-regtest', '--json']));
    expect(r).toMatchObject({ network: 'bsv-regtest', addressType: 'p2pkh', accountPath: "m/44'/1'/0'" });
    const mode = (await stat(r.file)).mode & 0o777;
    expect(mode).toBe(0o600);
    const again = await run(runWallet, ['init', '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error.code).toBe('cli.wallet.exists');
    expect((await run(runWallet, ['init', '--network', 'doge'])).code).toBe(2);
  });

  it('wallet address hands out a fresh address each time', async () => {
    const a = json(await run(runWallet, ['address', '--json']));
    const b = json(await run(runWallet, ['address', '--json']));
    expect(a.address).not.toBe(b.address);
    expect(a.path).toBe("m/44'/1'/0'/0/0");
    expect(b.path).toBe("m/44'/1'/0'/0/1");
  }, 60_000);

  it('utxo add derives the key path; list shows it; bad outpoints are usage errors', async () => {
    const txid = 'ab'.repeat(32);
    const added = json(await run(runUtxo, ['add', `${txid}:0`, '--satoshis', '1000000', '--json']));
    expect(added).toMatchObject({ keyPath: "m/44'/1'/0'/0/1", added: true });
    const first = json(await run(runWallet, ['address', '--json']));
    void first;
    const byAddress = json(await run(runWallet, ['address', '--json']));
    const second = json(
      await run(runUtxo, [
        'add',
        `${'cd'.repeat(32)}:3`,
        '--satoshis',
        '5000',
        '--address',
        byAddress.address,
        '--json',
      ]),
    );
    expect(second.keyPath).toBe(byAddress.path);
    const list = json(await run(runUtxo, ['list', '--json']));
    expect(list.utxos).toHaveLength(2);
    expect(list.utxos.every((u: { state: string }) => u.state === 'available')).toBe(true);
    expect((await run(runUtxo, ['add', 'nothex:0', '--satoshis', '1'])).code).toBe(2);
    expect((await run(runUtxo, ['add', `${txid}:1`, '--satoshis', '-5'])).code).toBe(2);
    const foreign = await run(runUtxo, [
      'add',
      `${txid}:2`,
      '--satoshis',
      '5',
      '--address',
      'mzBc4XEFSdzCDcTxAgf6EZXgsZWpztRhef',
      '--json',
    ]);
    expect(foreign.code).toBe(1);
    expect(JSON.parse(foreign.stdout).error.code).toBe('cli.utxo.not-ours');
  }, 60_000);

  it('signer register is idempotent; a private key is refused', async () => {
    const a = json(await run(runSigner, ['register', path.join(dir, 'ES256K.pub.pem'), '--json']));
    expect(a).toMatchObject({ alg: 'ES256K', status: 'active', new: true });
    const b = json(await run(runSigner, ['register', path.join(dir, 'ES256K.pub.pem'), '--json']));
    expect(b).toMatchObject({ keyId: a.keyId, new: false });
    const priv = await run(runSigner, ['register', path.join(dir, 'ES256K.key.pem'), '--json']);
    expect(JSON.parse(priv.stdout).error.code).toBe('cli.signer.private-key');
    json(await run(runSigner, ['register', path.join(dir, 'ML-DSA-65.pub.pem'), '--json']));
    expect(json(await run(runSigner, ['list', '--json'])).signers).toHaveLength(2);
  }, 60_000);

  it('intent sign adds timestamp and nonce and signs ES256K-DER / ML-DSA-65', async () => {
    const es = json(await run(runIntent, ['sign', '--key', path.join(dir, 'ES256K.key.pem'), 'record.json']));
    expect(es.protocol).toBe('omt-publish');
    expect(es.signature.alg).toBe('ES256K-DER');
    expect(es.record).toMatchObject({ rid: 'urn:demo:1' });
    expect(typeof es.record.nonce).toBe('string');
    const ml = json(
      await run(runIntent, ['sign', '--key', path.join(dir, 'ML-DSA-65.key.pem'), 'record.json']),
    );
    expect(ml.signature.alg).toBe('ML-DSA-65');
    expect(ml.record.nonce).not.toBe(es.record.nonce);
    const pub = await run(runIntent, [
      'sign',
      '--key',
      path.join(dir, 'ES256K.pub.pem'),
      'record.json',
      '--json',
    ]);
    expect(JSON.parse(pub.stdout).error.code).toBe('cli.intent.public-key');
  }, 60_000);

  it('utxo split spends the largest output into fresh outputs, available at once (offline outbox)', async () => {
    const r = json(await run(runUtxo, ['split', '--into', '4', '--json']));
    expect(r.outputs).toHaveLength(4);
    expect(r.chainClient).toBe('offline');
    expect(r.broadcast).toMatch(/^stored/);
    const list = json(await run(runUtxo, ['list', '--json'])).utxos as {
      state: string;
      txid: string;
      spentBy?: string;
    }[];
    expect(list.filter((u) => u.state === 'spent').map((u) => u.spentBy)).toEqual([r.txid]);
    expect(list.filter((u) => u.txid === r.txid && u.state === 'available')).toHaveLength(4);
    expect((await run(runUtxo, ['split', '--into', '1'])).code).toBe(2);
    // An unreachable node: the split fails with the chain's code and its input is released.
    const down = await run(runUtxo, [
      'split',
      '--into',
      '2',
      '--rpc-url',
      'http://u:secret@127.0.0.1:1',
      '--json',
    ]);
    expect(down.code, down.stdout + down.stderr).toBe(1);
    expect(down.stdout).not.toContain('secret');
    expect(JSON.parse(down.stdout).error.code).toBe('ledger.chain.unavailable');
    const after = json(await run(runUtxo, ['list', '--state', 'reserved', '--json']));
    expect(after.utxos).toEqual([]);
  }, 60_000);

  it('publish → worker --once → job with txid and proof → anchor verify; replay and tampering refused', async () => {
    const intentFile = path.join(dir, 'intent.json');
    const signed = await run(runIntent, [
      'sign',
      '--key',
      path.join(dir, 'ES256K.key.pem'),
      'record.json',
      '--out',
      intentFile,
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const pub = json(await run(runPublish, [intentFile, '--json']));
    expect(pub.accepted).toBe(true);
    const replay = await run(runPublish, [intentFile, '--json']);
    expect(replay.code).toBe(1);
    expect(JSON.parse(replay.stdout).error.code).toBe('ledger.nonce.replayed');

    const worked = json(await run(runWorker, ['--once', '--json']));
    expect(worked.batches).toHaveLength(1);
    expect(worked.batches[0].result).toBe('stored');

    const job = json(await run(runJob, [pub.jobId, '--json']));
    expect(job).toMatchObject({
      id: pub.jobId,
      status: 'signed',
      recordId: 'urn:demo:1',
      recordHash: pub.recordHash,
    });
    expect(job.txid).toMatch(/^[0-9a-f]{64}$/);
    expect(job.rawTx).toMatch(/^[0-9a-f]+$/);
    expect(job.proof.tx.txid).toBe(job.txid);
    const proofFile = path.join(dir, 'proof.json');
    await writeFile(proofFile, JSON.stringify(job.proof));
    const ok = json(await run(runAnchor, ['verify', proofFile, '--json']));
    expect(ok.status).toBe('unconfirmed');
    expect(ok.checked).toMatchObject({ record: true, batch: true, tx: true, opReturn: true, block: false });
    expect((await run(runAnchor, ['verify', proofFile, '--require-confirmed'])).code).toBe(1);

    const tampered = { ...job.proof, batch: { ...job.proof.batch, root: '00'.repeat(32) } };
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify(tampered));
    const bad = await run(runAnchor, ['verify', 'bad.json', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).status).toBe('invalid');
    expect((await run(runJob, ['job-nope', '--json'])).code).toBe(1);
  }, 60_000);
});
