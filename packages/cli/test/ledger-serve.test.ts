import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportPrivatePem, exportPublicPem } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIntent, runPublish, runSigner, serveLedger } from '../src/commands/ledger/index.js';
import type { CliContext } from '../src/context.js';
import { capture } from './capture.js';

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'omt-cli-serve-'));
  env = { OMT_HOME: path.join(dir, 'home') };
  const suite = getSuite('ML-DSA-65');
  const pair = await suite.generateKeyPair();
  const key = { suite: suite.id, publicKey: pair.publicKey, secretKey: pair.secretKey };
  await writeFile(path.join(dir, 'key.pem'), exportPrivatePem(key), { mode: 0o600 });
  await writeFile(path.join(dir, 'pub.pem'), exportPublicPem(key));
  await writeFile(path.join(dir, 'record.json'), JSON.stringify({ rid: 'urn:serve:1', title: 'a photo' }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('omt serve (HTTP on 127.0.0.1 over the $OMT_HOME database)', () => {
  it('accepts a signed intent (202), reports its job, refuses the replay (409), stops on abort', async () => {
    expect((await capture(runSigner, ['register', 'pub.pem'], env, dir)).code).toBe(0);
    const signed = await capture(
      runIntent,
      ['sign', '--key', 'key.pem', 'record.json', '--out', 'intent.json'],
      env,
      dir,
    );
    expect(signed.code, signed.stderr).toBe(0);
    const body = await readFile(path.join(dir, 'intent.json'));

    let out = '';
    const append = (t: string): void => {
      out += t;
    };
    const ctx: CliContext = { env, cwd: dir, stdout: append, stderr: append };
    const stop = new AbortController();
    const running = serveLedger(ctx, ['--port', '0', '--json'], stop.signal);
    let url: string | undefined;
    for (let i = 0; i < 600 && url === undefined; i++) {
      const m = /\{"url":"([^"]+)"\}/.exec(out);
      if (m) url = m[1];
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(url, out).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    try {
      const post = await fetch(`${url}/v1/publish`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(post.status).toBe(202);
      const accepted = (await post.json()) as { jobId: string };
      const job = await fetch(`${url}/v1/job/${accepted.jobId}`);
      expect(job.status).toBe(200);
      expect(await job.json()).toMatchObject({
        id: accepted.jobId,
        status: 'queued',
        recordId: 'urn:serve:1',
      });
      const replay = await fetch(`${url}/v1/publish`, { method: 'POST', body });
      expect(replay.status).toBe(409);
      expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('ledger.nonce.replayed');
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      stop.abort();
    }
    expect((await running).exitCode).toBe(0);
    expect(out).toContain('"stopped":true');

    // --wait without a worker running: a clear timeout, not a hang.
    expect(
      (await capture(runIntent, ['sign', '--key', 'key.pem', 'record.json', '--out', 'i2.json'], env, dir))
        .code,
    ).toBe(0);
    const waited = await capture(runPublish, ['i2.json', '--wait', '--timeout', '1', '--json'], env, dir);
    expect(waited.code).toBe(1);
    expect(JSON.parse(waited.stdout).error.code).toBe('cli.publish.timeout');
  }, 60_000);

  it('bad flags are usage errors (exit 2)', async () => {
    const run = (ctx: CliContext, argv: string[]) => serveLedger(ctx, argv, AbortSignal.abort());
    expect((await capture(run, ['--port', '70000'], env, dir)).code).toBe(2);
    expect((await capture(run, ['--frob'], env, dir)).code).toBe(2);
  });
});
