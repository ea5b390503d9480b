import { toHex } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { OfflineChainClient } from '@omt/ledger/offline-chain-client';
import type { ChainClient } from '@omt/ledger/ports';
import { buildTransaction } from '@omt/ledger/tx-builder';
import { describe, expect, it } from 'vitest';

async function signedTx(n: number): Promise<{ hex: string; txid: string }> {
  const w = HdWallet.fromSeed(new Uint8Array(32).fill(n), {
    network: 'bsv',
    store: new MemoryKeyIndexStore(),
  });
  const k = await w.nextFundingKey();
  const t = buildTransaction({
    network: 'bsv',
    utxos: [
      {
        txid: toHex(new Uint8Array(32).fill(n)),
        vout: 0,
        satoshis: 10_000n,
        script: k.script,
        secretKey: k.secretKey,
      },
    ],
    change: { script: k.script },
  });
  return { hex: t.hex, txid: t.txid };
}

describe('OfflineChainClient (embedded default)', () => {
  it('keeps signed transactions (state stored), idempotently, and never claims they were mined', async () => {
    const c = new OfflineChainClient('bsv', { clock: () => new Date(0) });
    const a = await signedTx(1);
    expect(await c.broadcast(a.hex)).toMatchObject({ txid: a.txid, state: 'stored' });
    expect(await c.broadcast(a.hex.toUpperCase())).toMatchObject({ txid: a.txid, state: 'stored' });
    expect(c.stored()).toEqual([{ txid: a.txid, rawTx: a.hex, storedAt: new Date(0) }]);
    expect(await c.txStatus(a.txid)).toEqual({ txid: a.txid, state: 'stored' });
    expect(await c.txStatus('00'.repeat(32))).toEqual({ txid: '00'.repeat(32), state: 'unknown' });
    expect(await c.merkleProof()).toBeUndefined();
    expect(await c.blockHeader()).toBeUndefined();
  });

  it('refuses what is not a transaction (ledger.chain.rejected)', async () => {
    const c = new OfflineChainClient();
    for (const bad of ['', 'zz', '0', '0100', 'ab'.repeat(10)])
      expect(isOmtError(await c.broadcast(bad).catch((e: unknown) => e), 'ledger.chain.rejected')).toBe(true);
    expect(c.stored()).toEqual([]);
    expect(() => new OfflineChainClient('eth' as never)).toThrow(
      expect.objectContaining({ code: 'ledger.chain.invalid' }),
    );
  });

  it('forward() broadcasts held transactions through a real client later; failures stay held', async () => {
    const c = new OfflineChainClient('bsv');
    const a = await signedTx(2);
    const b = await signedTx(3);
    await c.broadcast(a.hex);
    await c.broadcast(b.hex);
    const sent: string[] = [];
    const target: ChainClient = {
      chain: 'bsv',
      broadcast: async (raw) => {
        if (raw === b.hex) throw new OmtError('ledger.chain.unavailable', 'offline still');
        sent.push(raw);
        return { txid: a.txid, state: 'seen' };
      },
      txStatus: async (txid) => ({ txid, state: 'unknown' }),
      merkleProof: async () => undefined,
      blockHeader: async () => undefined,
    };
    const r = await c.forward(target);
    expect(r).toEqual([
      { txid: a.txid, status: { txid: a.txid, state: 'seen' } },
      { txid: b.txid, error: 'ledger.chain.unavailable' },
    ]);
    expect(sent).toEqual([a.hex]);
    expect(c.stored().map((t) => t.txid)).toEqual([b.txid]);
  });
});
