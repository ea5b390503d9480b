import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ArcClient, arcState, parseArcStatus } from '@omt/adapters/arc';
import { toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { verifyAnchorProof } from '@omt/ledger/anchor';
import { blockMerkleRoot, bumpForTransaction, encodeBump } from '@omt/ledger/anchor-bump';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { intentRecordHash } from '@omt/ledger/intent';
import { MemoryJobQueue } from '@omt/ledger/job-queue-memory';
import { jobView } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { decodeTransaction, transactionId } from '@omt/ledger/transaction';
import { MemoryUtxoStore } from '@omt/ledger/utxo-store-memory';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * An in-process fake ARC server speaking the documented API v1 (bitcoin-sv/arc doc/api.md):
 * POST /v1/tx (text/plain hex), POST /v1/txs (newline-separated), GET /v1/tx/{txid};
 * RFC 7807 error bodies with ARC's 46x codes; Bearer auth; it records the X-* headers it saw.
 */
class FakeArc {
  server!: Server;
  url = '';
  txs = new Map<
    string,
    { raw: string; status: string; blockHash?: string; blockHeight?: number; merklePath?: string }
  >();
  spent = new Map<string, string>();
  seenHeaders: Record<string, string | undefined>[] = [];
  headers = new Map<number, string>();
  tamper = false;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  error(status: number, title: string, detail: string, txid?: string, extraInfo = '') {
    return {
      status,
      body: {
        type: `https://bitcoin-sv.github.io/arc/#/errors?id=_${status}`,
        title,
        status,
        detail,
        instance: null,
        txid: txid ?? null,
        extraInfo,
      },
    };
  }

  submit(raw: string, waitFor: string | undefined): { status: number; body: unknown } {
    let tx: ReturnType<typeof decodeTransaction>;
    try {
      tx = decodeTransaction(raw.trim());
    } catch {
      return this.error(463, 'Malformed transaction', 'Transaction is malformed and cannot be processed');
    }
    const txid = transactionId(tx);
    for (const i of tx.inputs) {
      const by = this.spent.get(`${i.txid}:${i.vout}`);
      if (by !== undefined && by !== txid)
        return {
          status: 200,
          body: { ...this.statusBody(txid, 'DOUBLE_SPEND_ATTEMPTED'), competingTxs: [by] },
        };
    }
    for (const i of tx.inputs) this.spent.set(`${i.txid}:${i.vout}`, txid);
    if (!this.txs.has(txid)) this.txs.set(txid, { raw, status: waitFor ?? 'STORED' });
    return { status: 200, body: this.statusBody(txid) };
  }

  statusBody(txid: string, override?: string) {
    const t = this.txs.get(txid);
    const mined = t?.status === 'MINED';
    return {
      blockHash: mined ? t?.blockHash : '',
      blockHeight: mined ? t?.blockHeight : 0,
      extraInfo: '',
      status: 200,
      timestamp: new Date().toISOString(),
      title: 'OK',
      txStatus: override ?? t?.status ?? 'UNKNOWN',
      txid,
      merklePath: mined ? t?.merklePath : '',
    };
  }

  /** Mines every known transaction into one block with a coinbase; statuses become MINED with a BUMP. */
  mine(height: number): void {
    const txids = [toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))), ...this.txs.keys()];
    const header = new Uint8Array(80);
    header.set(blockMerkleRoot(txids), 36);
    this.headers.set(height, toHex(header));
    txids.slice(1).forEach((txid, k) => {
      const t = this.txs.get(txid);
      if (t === undefined) return;
      const path = this.tamper
        ? bumpForTransaction([toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))), txid], 1, height)
        : bumpForTransaction(txids, k + 1, height);
      Object.assign(t, {
        status: 'MINED',
        blockHeight: height,
        blockHash: '00'.repeat(32),
        merklePath: toHex(encodeBump(path)),
      });
    });
  }

  async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    this.seenHeaders.push({ ...req.headers } as Record<string, string | undefined>);
    if (req.headers.authorization !== 'Bearer test-key') return { status: 401, body: {} };
    const url = new URL(req.url ?? '/', 'http://x');
    const waitFor = req.headers['x-waitfor'] as string | undefined;
    if (req.method === 'POST' && url.pathname === '/v1/tx') {
      if (body.trim() === '')
        return this.error(400, 'Bad request', 'The request seems to be malformed and cannot be processed');
      return this.submit(body, waitFor);
    }
    if (req.method === 'POST' && url.pathname === '/v1/txs') {
      return {
        status: 200,
        body: body
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => this.submit(l, waitFor).body),
      };
    }
    const m = /^\/v1\/tx\/([0-9a-f]{64})$/.exec(url.pathname);
    if (req.method === 'GET' && m !== null) {
      if (!this.txs.has(m[1] as string))
        return this.error(404, 'Not found', 'The requested resource could not be found');
      return { status: 200, body: this.statusBody(m[1] as string) };
    }
    return this.error(404, 'Not found', 'The requested resource could not be found');
  }
}

const SEED = new Uint8Array(32).fill(3);

describe('ArcClient against an in-process fake ARC server (127.0.0.1)', () => {
  const arc = new FakeArc();
  beforeAll(() => arc.start());
  afterAll(() => arc.stop());
  beforeEach(() => {
    arc.txs.clear();
    arc.spent.clear();
    arc.seenHeaders = [];
    arc.tamper = false;
  });

  async function setup(
    wallet = HdWallet.fromSeed(SEED, { network: 'bsv', store: new MemoryKeyIndexStore() }),
  ) {
    const utxos = new MemoryUtxoStore();
    const k = await wallet.nextFundingKey();
    await utxos.add([
      {
        txid: toHex(globalThis.crypto.getRandomValues(new Uint8Array(32))),
        vout: 0,
        satoshis: 20_000n,
        script: k.script,
        keyPath: k.path,
      },
    ]);
    const queue = new MemoryJobQueue();
    for (let i = 0; i < 5; i++) {
      const hash = toHex(intentRecordHash({ rid: `r${i}` }));
      await queue.enqueue({
        id: `job-${i}`,
        recordId: `r${i}`,
        recordHash: hash,
        keyId: 'ab'.repeat(32),
        intent: JSON.stringify({ record: { rid: `r${i}` } }),
        maxAttempts: 3,
        now: new Date(),
      });
    }
    return { queue, utxos, wallet };
  }

  it('broadcast sends hex with X-WaitFor and callback headers; the lifecycle maps to port states; a mined BUMP confirms the batch', async () => {
    const client = new ArcClient({
      url: arc.url,
      apiKey: 'test-key',
      waitFor: 'SEEN_ON_NETWORK',
      callbackUrl: 'https://cb.example/arc',
      callbackToken: 'cb-secret',
      fullStatusUpdates: true,
      maxTimeoutSeconds: 10,
      headers: async (h) => arc.headers.get(h),
    });
    const env = await setup();
    const worker = new PublishWorker({ ...env, chain: client });
    const [o] = await worker.drain();
    expect(o?.result).toBe('sent');
    const h = arc.seenHeaders[0] ?? {};
    expect([
      h['x-waitfor'],
      h['x-callbackurl'],
      h['x-callbacktoken'],
      h['x-fullstatusupdates'],
      h['x-maxtimeout'],
      h['content-type'],
    ]).toEqual(['SEEN_ON_NETWORK', 'https://cb.example/arc', 'cb-secret', 'true', '10', 'text/plain']);
    expect((await client.txStatus(o?.txid as string)).state).toBe('seen');
    expect(await client.merkleProof(o?.txid as string)).toBeUndefined();
    arc.mine(800_000);
    expect(await client.txStatus(o?.txid as string)).toMatchObject({
      state: 'mined',
      blockHeight: 800_000,
      detail: 'MINED',
    });
    expect(await worker.confirm()).toBe(1);
    const job = await env.queue.get('job-3');
    expect(job?.status).toBe('confirmed');
    const view = jobView(job as NonNullable<typeof job>);
    const v = await verifyAnchorProof(view.proof, { headers: arc.headers, requireProofOfWork: false });
    expect(v.problems).toEqual([]);
    expect(v.valid).toBe(true);
  });

  it("a BUMP that does not lead to the header's root is refused (re-verified, never trusted)", async () => {
    const client = new ArcClient({
      url: arc.url,
      apiKey: 'test-key',
      headers: async (h) => arc.headers.get(h),
    });
    const env = await setup();
    const errors: unknown[] = [];
    const worker = new PublishWorker({ ...env, chain: client, onError: (e) => errors.push(e) });
    await worker.drain();
    arc.tamper = true;
    arc.mine(800_001);
    expect(await worker.confirm()).toBe(0);
    expect(errors.some((e) => isOmtError(e, 'ledger.anchor.header-mismatch'))).toBe(true);
    expect((await env.queue.get('job-0'))?.status).toBe('sent');
  });

  it('errors: 46x → ledger.chain.rejected, 401 → unavailable, unreachable → unavailable, 404 status → unknown; double spend state', async () => {
    const client = new ArcClient({ url: arc.url, apiKey: 'test-key' });
    const e1 = await client.broadcast('00').catch((e: unknown) => e);
    expect(isOmtError(e1, 'ledger.chain.rejected') && (e1 as Error).message).toContain('463');
    const noAuth = new ArcClient({ url: arc.url });
    expect(
      isOmtError(await noAuth.txStatus('ab'.repeat(32)).catch((e: unknown) => e), 'ledger.chain.unavailable'),
    ).toBe(true);
    const dead = new ArcClient({ url: 'http://127.0.0.1:9', apiKey: 'k', timeoutMs: 2000 });
    expect(isOmtError(await dead.broadcast('00').catch((e: unknown) => e), 'ledger.chain.unavailable')).toBe(
      true,
    );
    expect(await client.txStatus('cd'.repeat(32))).toEqual({ txid: 'cd'.repeat(32), state: 'unknown' });
    // Batch endpoint, and a double spend of the same outpoint by a different transaction.
    const env = await setup();
    const k = env.wallet.deriveKey('funding', 0);
    const { buildTransaction } = await import('@omt/ledger/tx-builder');
    const utxo = (await env.utxos.list())[0] as NonNullable<Awaited<ReturnType<typeof env.utxos.list>>[0]>;
    const spend = (feeRate: number) =>
      buildTransaction({
        network: 'bsv',
        utxos: [{ ...utxo, secretKey: k.secretKey }],
        change: { script: k.script },
        feeRate,
      }).hex;
    const [a, b] = await client.broadcastMany([spend(100), spend(200)]);
    expect(a?.state).toBe('queued');
    expect(b?.state).toBe('double-spend');
    expect(
      isOmtError(
        await new ArcClient({ url: arc.url }).blockHeader(1).catch((e: unknown) => e),
        'adapters.arc.unsupported',
      ),
    ).toBe(true);
  });

  it('maps every documented ARC status and parses callback payloads', () => {
    expect(
      [
        'UNKNOWN',
        'QUEUED',
        'RECEIVED',
        'STORED',
        'ANNOUNCED_TO_NETWORK',
        'REQUESTED_BY_NETWORK',
        'SENT_TO_NETWORK',
        'ACCEPTED_BY_NETWORK',
        'SEEN_IN_ORPHAN_MEMPOOL',
        'SEEN_ON_NETWORK',
        'DOUBLE_SPEND_ATTEMPTED',
        'REJECTED',
        'MINED_IN_STALE_BLOCK',
        'MINED',
      ].map(arcState),
    ).toEqual([
      'unknown',
      'queued',
      'queued',
      'queued',
      'sent',
      'sent',
      'sent',
      'sent',
      'seen',
      'seen',
      'double-spend',
      'rejected',
      'seen',
      'mined',
    ]);
    // The example response of ARC's API documentation (POST /v1/tx, MINED).
    const doc = {
      blockHash: '0000000000000aac89fbed163ed60061ba33bc0ab9de8e7fd8b34ad94c2414cd',
      blockHeight: 736228,
      extraInfo: '',
      merklePath:
        'fe54251800020400028d97f9ebeddd9f9aa8e0e953b3a76f316298ab05e9834aa811716e9d397564e501025f64aa8e012e26a5c5803c9f94d1c2c8ea68ecef1415011e1c2e26b9c966b6ad02021f5fa39607ca3b48d53c902bd5bb4bbf6a7ac99cf9fda45cc21b71e6e2f7889603024a2bb116e86325c9b8512f10b22c228ab3272fe3f373b1bd4a9a6b334b068bb602000061793b278303101a1390ceae5a713de0eabd9cda63702fe84c928970acf7c45e0100a567e3d066e38638b27897559302eabc85eb69b202c2e86d4338bab73008f460',
      status: 200,
      timestamp: '2023-03-09T12:03:48.382910514Z',
      title: 'OK',
      txStatus: 'MINED',
      txid: 'b68b064b336b9a4abdb173f3e32f27b38a222cb2102f51b8c92563e816b12b4a',
    };
    expect(parseArcStatus(doc)).toMatchObject({ state: 'mined', blockHeight: 736228 });
    expect(() => parseArcStatus({ txStatus: 'MINED' })).toThrow(
      expect.objectContaining({ code: 'adapters.arc.response-invalid' }),
    );
    expect(() => new ArcClient({ url: 'ftp://x' })).toThrow(
      expect.objectContaining({ code: 'adapters.arc.config-invalid' }),
    );
  });
});
