import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BitcoinCoreRpcClient, merkleBlockToBump } from '@omt/adapters/bitcoin-rpc';
import { fromHex, toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { verifyAnchorProof } from '@omt/ledger/anchor';
import { blockMerkleRoot, bumpRoot, decodeBump } from '@omt/ledger/anchor-bump';
import { meetsProofOfWork, parseBlockHeader } from '@omt/ledger/anchor-header';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { intentRecordHash } from '@omt/ledger/intent';
import { MemoryJobQueue } from '@omt/ledger/job-queue-memory';
import { jobView } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { decodeTransaction, transactionId, txidToBytes } from '@omt/ledger/transaction';
import { MemoryUtxoStore } from '@omt/ledger/utxo-store-memory';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dsha = (b: Uint8Array): Uint8Array =>
  new Uint8Array(createHash('sha256').update(createHash('sha256').update(b).digest()).digest());
const le32 = (n: number): Uint8Array =>
  Uint8Array.of(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255);
const varint = (n: number): Uint8Array =>
  n < 0xfd ? Uint8Array.of(n) : Uint8Array.of(0xfd, n & 255, n >> 8);
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** BIP37 partial Merkle tree (`CPartialMerkleTree`) of one matched transaction, serialized as CMerkleBlock. */
function encodeMerkleBlock(header: Uint8Array, txids: string[], match: number): string {
  const leaves = txids.map(txidToBytes);
  const n = leaves.length;
  let height = 0;
  while (Math.ceil(n / 2 ** height) > 1) height++;
  const width = (h: number) => Math.ceil(n / 2 ** h);
  const hashAt = (h: number, pos: number): Uint8Array => {
    if (h === 0) return leaves[pos] as Uint8Array;
    const l = hashAt(h - 1, pos * 2);
    const r = pos * 2 + 1 < width(h - 1) ? hashAt(h - 1, pos * 2 + 1) : l;
    return dsha(cat(l, r));
  };
  const bits: boolean[] = [];
  const hashes: Uint8Array[] = [];
  const build = (h: number, pos: number): void => {
    const parent = match >= pos << h && match < Math.min((pos + 1) << h, n);
    bits.push(parent);
    if (h === 0 || !parent) hashes.push(hashAt(h, pos));
    else {
      build(h - 1, pos * 2);
      if (pos * 2 + 1 < width(h - 1)) build(h - 1, pos * 2 + 1);
    }
  };
  build(height, 0);
  const flags = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) flags[i >> 3] = (flags[i >> 3] as number) | (1 << (i & 7));
  });
  return toHex(cat(header, le32(n), varint(hashes.length), ...hashes, varint(flags.length), flags));
}

/**
 * An in-process fake bitcoind (regtest) speaking Bitcoin Core's JSON-RPC 1.0 over HTTP with Basic
 * auth: sendrawtransaction, getrawtransaction (verbose), getblockhash, getblockheader (hex and
 * verbose), gettxoutproof; Core's error codes and HTTP statuses (401 without a body, 500 with
 * `{result: null, error: {code, message}}`, 404 for unknown methods).
 */
class FakeBitcoind {
  server!: Server;
  url = '';
  mempool = new Map<string, string>();
  spent = new Map<string, string>();
  blocks: { hash: string; header: Uint8Array; txids: string[]; height: number }[] = [];
  where = new Map<string, number>();
  tamperProof = false;
  hang = false;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.hang) return;
        if (req.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="jsonrpc"' });
          res.end();
          return;
        }
        const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          id: unknown;
          method: string;
          params: unknown[];
        };
        let status = 200;
        let out: unknown;
        try {
          out = { result: this.dispatch(call.method, call.params), error: null, id: call.id };
        } catch (e) {
          const { code, message } = e as { code: number; message: string };
          status = code === -32601 ? 404 : 500;
          out = { result: null, error: { code, message }, id: call.id };
        }
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify(out)}\n`);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.mine(); // genesis-like first block
  }

  stop(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  mine(): void {
    const coinbase = toHex(dsha(le32(this.blocks.length + 7)));
    const txids = [coinbase, ...this.mempool.keys()];
    const prev = this.blocks.at(-1);
    for (let nonce = 0; ; nonce++) {
      const header = cat(
        le32(0x20000000),
        prev === undefined ? new Uint8Array(32) : txidToBytes(prev.hash),
        blockMerkleRoot(txids),
        le32(1_700_000_000 + this.blocks.length),
        le32(0x207fffff),
        le32(nonce),
      );
      const parsed = parseBlockHeader(header);
      if (!meetsProofOfWork(parsed)) continue;
      const height = this.blocks.length;
      this.blocks.push({ hash: parsed.hash, header, txids, height });
      for (const t of txids) this.where.set(t, height);
      this.mempool.clear();
      return;
    }
  }

  dispatch(method: string, params: unknown[]): unknown {
    const fail = (code: number, message: string) => {
      throw { code, message };
    };
    switch (method) {
      case 'sendrawtransaction': {
        let tx: ReturnType<typeof decodeTransaction>;
        try {
          tx = decodeTransaction(String(params[0]), { witness: true });
        } catch {
          return fail(-22, 'TX decode failed. Make sure the tx has at least one input.');
        }
        const txid = transactionId(tx);
        if (this.where.has(txid)) return fail(-27, 'Transaction outputs already in utxo set');
        for (const i of tx.inputs) {
          const by = this.spent.get(`${i.txid}:${i.vout}`);
          if (by !== undefined && by !== txid) return fail(-26, 'txn-mempool-conflict');
        }
        for (const i of tx.inputs) this.spent.set(`${i.txid}:${i.vout}`, txid);
        this.mempool.set(txid, String(params[0]));
        return txid;
      }
      case 'getrawtransaction': {
        const txid = String(params[0]);
        const h = this.where.get(txid);
        if (h === undefined && !this.mempool.has(txid))
          return fail(
            -5,
            'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
          );
        if (h === undefined) return { txid, hash: txid, hex: this.mempool.get(txid) };
        const b = this.blocks[h] as (typeof this.blocks)[0];
        return {
          txid,
          hash: txid,
          confirmations: this.blocks.length - h,
          blockhash: b.hash,
          blocktime: 1_700_000_000 + h,
        };
      }
      case 'getblockhash': {
        const b = this.blocks[Number(params[0])];
        return b === undefined ? fail(-8, 'Block height out of range') : b.hash;
      }
      case 'getblockheader': {
        const b = this.blocks.find((x) => x.hash === params[0]);
        if (b === undefined) return fail(-5, 'Block not found');
        if (params[1] === false) return toHex(b.header);
        return {
          hash: b.hash,
          confirmations: this.blocks.length - b.height,
          height: b.height,
          merkleroot: toHex(parseBlockHeader(b.header).merkleRoot.slice().reverse()),
        };
      }
      case 'gettxoutproof': {
        const [txids, blockhash] = params as [string[], string];
        const b = this.blocks.find((x) => x.hash === blockhash);
        const i = b?.txids.indexOf(txids[0] as string) ?? -1;
        if (b === undefined || i < 0) return fail(-5, 'Transaction not yet in block');
        const hex = encodeMerkleBlock(b.header, b.txids, i);
        // Flip one bit of the last hash: the tree no longer leads to the header's root.
        return this.tamperProof
          ? `${hex.slice(0, -8)}${(Number.parseInt(hex.slice(-8, -6), 16) ^ 1).toString(16).padStart(2, '0')}${hex.slice(-6)}`
          : hex;
      }
      default:
        return fail(-32601, 'Method not found');
    }
  }
}

describe('BitcoinCoreRpcClient against an in-process fake bitcoind (regtest, 127.0.0.1)', () => {
  const node = new FakeBitcoind();
  beforeAll(() => node.start());
  afterAll(() => node.stop());
  const client = () =>
    new BitcoinCoreRpcClient({
      url: node.url,
      username: 'alice',
      password: 's3cret',
      chain: 'btc',
      timeoutMs: 5000,
    });

  it('publishes a batch on btc-regtest (P2WPKH), confirms it with a gettxoutproof → BUMP checked against the header', async () => {
    const wallet = HdWallet.fromSeed(new Uint8Array(32).fill(5), {
      network: 'btc-regtest',
      store: new MemoryKeyIndexStore(),
    });
    const utxos = new MemoryUtxoStore();
    const k = await wallet.nextFundingKey();
    await utxos.add([
      { txid: 'aa'.repeat(32), vout: 0, satoshis: 100_000n, script: k.script, keyPath: k.path },
    ]);
    const queue = new MemoryJobQueue();
    for (let i = 0; i < 3; i++)
      await queue.enqueue({
        id: `job-${i}`,
        recordId: `r${i}`,
        recordHash: toHex(intentRecordHash({ rid: `r${i}` })),
        keyId: 'ab'.repeat(32),
        intent: JSON.stringify({ record: { rid: `r${i}` } }),
        maxAttempts: 3,
        now: new Date(),
      });
    // Other traffic in the block, so the proof has real siblings.
    for (let i = 0; i < 4; i++) node.mempool.set(toHex(dsha(le32(1000 + i))), '00');
    const worker = new PublishWorker({ queue, utxos, wallet, chain: client() });
    const [o] = await worker.drain();
    expect(o?.result).toBe('sent');
    expect(await client().txStatus(o?.txid as string)).toMatchObject({ state: 'seen' });
    expect(await client().merkleProof(o?.txid as string)).toBeUndefined();
    node.mine();
    const st = await client().txStatus(o?.txid as string);
    expect(st).toMatchObject({ state: 'mined', blockHeight: 1, blockHash: node.blocks[1]?.hash });
    expect(await worker.confirm()).toBe(1);
    const view = jobView((await queue.get('job-1')) as NonNullable<Awaited<ReturnType<typeof queue.get>>>);
    expect(view.status).toBe('confirmed');
    const header = await client().blockHeader(1);
    const v = await verifyAnchorProof(view.proof, { headers: new Map([[1, header as string]]) });
    expect(v.problems).toEqual([]);
    expect(v.valid).toBe(true);
    expect(await client().blockHeader(99)).toBeUndefined();
  });

  it('gettxoutproof → BUMP: every position in blocks of 2..40 transactions; a tampered proof is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), (n, pick) => {
        const txids = Array.from({ length: n }, (_, i) => toHex(dsha(le32(i * 7919 + n))));
        const header = new Uint8Array(80);
        header.set(blockMerkleRoot(txids), 36);
        const idx = pick % n;
        const r = merkleBlockToBump(encodeMerkleBlock(header, txids, idx), 123);
        expect(r.txid).toBe(txids[idx]);
        expect(toHex(bumpRoot(decodeBump(r.bumpHex), r.txid))).toBe(toHex(blockMerkleRoot(txids)));
      }),
      { numRuns: 60 },
    );
    const txids = ['11', '22', '33'].map((b) => b.repeat(32));
    const header = new Uint8Array(80);
    header.set(blockMerkleRoot(txids), 36);
    const good = encodeMerkleBlock(header, txids, 1);
    const bad = `${good.slice(0, 200)}${good[200] === '0' ? '1' : '0'}${good.slice(201)}`;
    expect(() => merkleBlockToBump(bad, 1)).toThrow(
      expect.objectContaining({ code: 'adapters.bitcoin-rpc.proof-invalid' }),
    );
    expect(() => merkleBlockToBump(`${good}00`, 1)).toThrow(
      expect.objectContaining({ code: 'adapters.bitcoin-rpc.proof-invalid' }),
    );
    expect(() => merkleBlockToBump(good.slice(0, 170), 1)).toThrow(
      expect.objectContaining({ code: 'adapters.bitcoin-rpc.proof-invalid' }),
    );
    expect(fromHex(good).length).toBeGreaterThan(80);
  });

  it('errors map to the port: rejected, already-in-chain, unknown txid, bad credentials, timeout, unknown method, tampered proof', async () => {
    const c = client();
    expect(isOmtError(await c.broadcast('0000').catch((e: unknown) => e), 'ledger.chain.rejected')).toBe(
      true,
    );
    // A conflicting spend of an outpoint the mempool already spends → -26 → rejected.
    const { buildTransaction } = await import('@omt/ledger/tx-builder');
    const w = HdWallet.fromSeed(new Uint8Array(32).fill(6), {
      network: 'btc-regtest',
      store: new MemoryKeyIndexStore(),
    });
    const k = await w.nextFundingKey();
    const spend = (rate: number) =>
      buildTransaction({
        network: 'btc-regtest',
        utxos: [
          { txid: 'bb'.repeat(32), vout: 0, satoshis: 50_000n, script: k.script, secretKey: k.secretKey },
        ],
        change: { script: k.script },
        feeRate: rate,
      }).hex;
    const first = await c.broadcast(spend(1000));
    expect(first.state).toBe('seen');
    const e = await c.broadcast(spend(2000)).catch((x: unknown) => x);
    expect(isOmtError(e, 'ledger.chain.rejected') && (e as Error).message).toContain('txn-mempool-conflict');
    node.mine();
    expect(await c.broadcast(spend(1000))).toMatchObject({ txid: first.txid, state: 'mined' });
    expect(await c.txStatus('cd'.repeat(32))).toEqual({ txid: 'cd'.repeat(32), state: 'unknown' });
    const wrong = new BitcoinCoreRpcClient({ url: node.url, username: 'alice', password: 'nope' });
    const auth = await wrong.txStatus('cd'.repeat(32)).catch((x: unknown) => x);
    expect(isOmtError(auth, 'ledger.chain.unavailable') && !(auth as Error).message.includes('nope')).toBe(
      true,
    );
    expect(
      await c.call('getnetworkinfo').catch((x: unknown) => (x as { details?: unknown }).details),
    ).toEqual({ rpcCode: -32601 });
    node.tamperProof = true;
    const p = await c.merkleProof(first.txid).catch((x: unknown) => x);
    node.tamperProof = false;
    expect(isOmtError(p, 'adapters.bitcoin-rpc.proof-invalid')).toBe(true);
    node.hang = true;
    const slow = new BitcoinCoreRpcClient({
      url: node.url,
      username: 'alice',
      password: 's3cret',
      timeoutMs: 300,
    });
    const t = await slow.txStatus('cd'.repeat(32)).catch((x: unknown) => x);
    node.hang = false;
    expect(isOmtError(t, 'ledger.chain.unavailable') && (t as Error).message).toContain('300 ms');
    const dead = new BitcoinCoreRpcClient({ url: 'http://127.0.0.1:9', timeoutMs: 2000 });
    expect(isOmtError(await dead.broadcast('00').catch((x: unknown) => x), 'ledger.chain.unavailable')).toBe(
      true,
    );
  });
});
