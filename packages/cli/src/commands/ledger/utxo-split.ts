import { randomUUID } from 'node:crypto';
import { libsecp256k1 } from '@omt/adapters/secp256k1';
import { OmtError } from '@omt/core/errors';
import { DEFAULT_FEE_RATE, estimateTransactionSize, feeForSize, type InputKind } from '@omt/ledger/fee';
import type { WalletKey } from '@omt/ledger/hd-wallet';
import type { ChainClient } from '@omt/ledger/ports';
import { classifyScript } from '@omt/ledger/script';
import { buildTransaction } from '@omt/ledger/tx-builder';
import type { WalletState } from './ledger-state.js';

/** The documented rule for the outputs of a split, shown in `omt utxo --help`. */
export const SPLIT_RULE: string =
  'Rule: the new outputs enter the pool as available at once, before the split is mined:\n' +
  '      the wallet built and signed the parent itself, and every chain client broadcasts\n' +
  '      parents before children (the offline outbox keeps them in order), so spending them\n' +
  '      unconfirmed is safe. If the chain client refuses the split, nothing changes.';

/** What {@link splitUtxo} did. */
export interface SplitResult {
  readonly spent: string;
  readonly txid: string;
  readonly rawTx: string;
  readonly fee: string;
  readonly broadcast: string;
  readonly outputs: readonly { outpoint: string; satoshis: string; address: string; keyPath: string }[];
}

/**
 * Spends the largest available output into `into` outputs to fresh change keys: `into − 1`
 * equal payments plus the change output, which takes the remainder (so every output is about
 * the same size). Reserve → sign → hand to the chain client → mark spent; any failure before
 * the hand-over releases the reservation.
 */
export async function splitUtxo(
  s: WalletState,
  client: ChainClient,
  options: { into: number; feeRate?: number },
): Promise<SplitResult> {
  const available = await s.utxos.list({ state: 'available' });
  const largest = available.reduce<(typeof available)[number] | undefined>(
    (best, u) => (best === undefined || u.satoshis > best.satoshis ? u : best),
    undefined,
  );
  if (largest === undefined) throw new OmtError('ledger.funds.insufficient', 'no available output to split');
  const now = new Date();
  const reservation = await s.utxos.reserve({
    id: `split-${randomUUID()}`,
    worker: 'cli-split',
    satoshis: largest.satoshis,
    maxInputs: 1,
    now,
    ttlMs: 120_000,
  });
  const utxo = reservation?.utxos[0];
  if (reservation === undefined || utxo === undefined)
    throw new OmtError('cli.utxo.contended', 'the output was taken by another process; try again');
  let handedOver = false;
  try {
    if (utxo.keyPath === undefined) throw new OmtError('cli.utxo.not-ours', 'the output has no key path');
    const spender = s.wallet.keyForPath(utxo.keyPath);
    const chain = s.wallet.network.chain;
    const feeRate = options.feeRate ?? DEFAULT_FEE_RATE[chain];
    const keys: WalletKey[] = [];
    for (let i = 0; i < options.into; i++) keys.push(await s.wallet.nextChangeKey());
    const kind = classifyScript(utxo.script).type as InputKind;
    const size = estimateTransactionSize(
      [kind],
      keys.map((k) => k.script),
    );
    const each = (utxo.satoshis - feeForSize(size.vsize, feeRate)) / BigInt(options.into);
    if (each <= 0n)
      throw new OmtError(
        'ledger.funds.insufficient',
        `${utxo.satoshis} sat cannot pay for ${options.into} outputs`,
      );
    const change = keys[keys.length - 1] as WalletKey;
    const built = buildTransaction({
      network: s.wallet.network,
      utxos: [{ ...utxo, secretKey: spender.secretKey, publicKey: spender.publicKey }],
      outputs: keys.slice(0, -1).map((k) => ({ script: k.script, satoshis: each })),
      change: { script: change.script },
      feeRate,
      engine: libsecp256k1,
    });
    if (built.change === undefined)
      throw new OmtError('ledger.tx.dust', 'the outputs of this split would be dust; split into fewer');
    const status = await client.broadcast(built.hex);
    handedOver = true;
    await s.utxos.markSpent(reservation.id, built.txid);
    const outs = built.tx.outputs.map((o, vout) => ({
      txid: built.txid,
      vout,
      satoshis: o.value,
      script: o.script,
      keyPath: (keys[vout] as WalletKey).path,
    }));
    await s.utxos.add(outs);
    return {
      spent: `${utxo.txid}:${utxo.vout}`,
      txid: built.txid,
      rawTx: built.hex,
      fee: built.fee.toString(),
      broadcast: `${status.state}${status.detail ? ` (${status.detail})` : ''}`,
      outputs: outs.map((o, i) => ({
        outpoint: `${o.txid}:${o.vout}`,
        satoshis: o.satoshis.toString(),
        address: (keys[i] as WalletKey).address,
        keyPath: o.keyPath,
      })),
    };
  } catch (e) {
    // Once the chain client has the transaction its input is gone: never release it then.
    if (!handedOver) await s.utxos.release(reservation.id);
    throw e;
  }
}
