import { createPublishHandler, type ServedHandler, serveHandler } from '@omt/adapters/http';
import {
  createDatabase,
  type OmtDatabase,
  SqlJobQueue,
  SqlKeyIndexStore,
  SqlKeyRegistry,
  SqlNonceStore,
  SqlUtxoStore,
} from '@omt/adapters/sql';
import { toHex } from '@omt/core/bytes';
import { getSuite } from '@omt/core/suites';
import { verifyAnchorProof } from '@omt/ledger/anchor';
import { HdWallet } from '@omt/ledger/hd-wallet';
import { createIntent, type IntentSigner, intentSigner } from '@omt/ledger/intent';
import { signerRegistration } from '@omt/ledger/key-registry';
import { OfflineChainClient } from '@omt/ledger/offline-chain-client';
import { Publisher } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('HTTP publishing API over real HTTP on 127.0.0.1 (PGlite)', () => {
  let omt: OmtDatabase;
  let served: ServedHandler;
  let signer: IntentSigner;
  let worker: PublishWorker;

  beforeAll(async () => {
    omt = await createDatabase({ kind: 'pglite' });
    await omt.migrate();
    const registry = new SqlKeyRegistry(omt.db);
    const publisher = new Publisher({
      queue: new SqlJobQueue(omt.db),
      registry,
      nonces: new SqlNonceStore(omt.db),
    });
    const kp = await getSuite('ES256K').generateKeyPair();
    signer = await intentSigner('ES256K', kp.secretKey);
    await registry.register(
      signerRegistration('ES256K', signer.publicKey, { validFrom: new Date(0) }),
      new Date(),
    );
    const wallet = HdWallet.fromSeed(new Uint8Array(32).fill(7), {
      network: 'bsv',
      store: new SqlKeyIndexStore(omt.db),
    });
    const utxos = new SqlUtxoStore(omt.db, { pool: 'http' });
    const k = await wallet.nextFundingKey();
    await utxos.add([
      {
        txid: toHex(new Uint8Array(32).fill(9)),
        vout: 0,
        satoshis: 100_000n,
        script: k.script,
        keyPath: k.path,
      },
    ]);
    worker = new PublishWorker({
      queue: new SqlJobQueue(omt.db),
      utxos,
      wallet,
      chain: new OfflineChainClient('bsv'),
    });
    served = await serveHandler(createPublishHandler({ publisher, maxBodyBytes: 4096 }), { port: 0 });
  });
  afterAll(async () => {
    await served?.close();
    await omt?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${served.url}/v1/publish`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('POST /v1/publish → 202 + job id; GET /v1/job/:id and /v1/record/:rid follow the job to signed with a proof', async () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const intent = JSON.stringify(await createIntent({ rid: 'urn:x:1', uri: 'https://e.x/1' }, signer));
    const r = await post(intent);
    expect(r.status).toBe(202);
    const body = (await r.json()) as { jobId: string; status: string };
    expect(body.status).toBe('queued');
    expect(r.headers.get('location')).toBe(`/v1/job/${body.jobId}`);
    const queued = await (await fetch(`${served.url}/v1/job/${body.jobId}`)).json();
    expect(queued).toMatchObject({ id: body.jobId, status: 'queued', recordId: 'urn:x:1' });
    await worker.drain();
    const job = (await (await fetch(`${served.url}/v1/job/${body.jobId}`)).json()) as Record<string, unknown>;
    expect(job).toMatchObject({ status: 'signed', batchStatus: 'stored' });
    expect(typeof job.txid).toBe('string');
    const rec = (await (
      await fetch(`${served.url}/v1/record/${encodeURIComponent('urn:x:1')}`)
    ).json()) as Record<string, unknown>;
    expect(rec).toMatchObject({
      jobId: body.jobId,
      status: 'signed',
      txid: job.txid,
      record: { rid: 'urn:x:1' },
    });
    const v = await verifyAnchorProof(rec.proof, { headers: new Map() });
    expect(v.problems.map((p) => p.code)).toEqual(['ledger.anchor.unconfirmed']);
    // Replay → 409 with the ledger code.
    const again = await post(intent);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('ledger.nonce.replayed');
  });

  it('JSON errors with OmtError codes: bad JSON 400, unknown signer 403, unknown ids 404, wrong method 405, too large 413', async () => {
    const bad = await post('{not json');
    expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'ledger.intent.schema',
    ]);
    const stranger = await intentSigner('ES256K', (await getSuite('ES256K').generateKeyPair()).secretKey);
    const s = await post(JSON.stringify(await createIntent({ rid: 'y' }, stranger)));
    expect([s.status, ((await s.json()) as { error: { code: string } }).error.code]).toEqual([
      403,
      'ledger.signer.unknown',
    ]);
    const nf = await fetch(`${served.url}/v1/job/job-nope`);
    expect([nf.status, ((await nf.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      'ledger.job.unknown',
    ]);
    const nr = await fetch(`${served.url}/v1/record/none`);
    expect(nr.status).toBe(404);
    const m = await fetch(`${served.url}/v1/publish`);
    expect([m.status, m.headers.get('allow')]).toEqual([405, 'POST']);
    await m.body?.cancel();
    const big = await post(JSON.stringify({ pad: 'x'.repeat(10_000) }));
    expect([big.status, ((await big.json()) as { error: { code: string } }).error.code]).toEqual([
      413,
      'adapters.http.too-large',
    ]);
    // Chunked upload without content-length is cut off too.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(1000).fill(0x20));
        c.close();
      },
    });
    const chunked = await fetch(`${served.url}/v1/publish`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    const x = await fetch(`${served.url}/nope`);
    expect([x.status, ((await x.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      'adapters.http.not-found',
    ]);
    const h = await fetch(`${served.url}/health`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true, jobs: { queued: 0 } });
  });
});
