import { OmtError } from '@omt/core/errors';
import type { HdWallet, KeyIndexStore, WalletKey } from '@omt/ledger/hd-wallet';

/** Most issued keys per chain that a lookup scans (bounds the work of a typo'd address). */
const MAX_SCAN = 100_000;

/**
 * Finds the issued wallet key (funding or change chain) paying `address`; without an address,
 * the most recently issued funding key. Unknown → `cli.utxo.not-ours`.
 */
export async function findIssuedKey(
  wallet: HdWallet,
  store: KeyIndexStore,
  address: string | undefined,
): Promise<WalletKey> {
  const funding = await store.peek(wallet.id, 'funding');
  if (address === undefined) {
    if (funding === 0)
      throw new OmtError('cli.utxo.not-ours', 'no funding address issued yet (run: omt wallet address)');
    return wallet.deriveKey('funding', funding - 1);
  }
  const change = await store.peek(wallet.id, 'change');
  for (const [chain, issued] of [
    ['funding', funding],
    ['change', change],
  ] as const) {
    for (let i = Math.min(issued, MAX_SCAN) - 1; i >= 0; i--) {
      const key = wallet.deriveKey(chain, i);
      if (key.address === address) return key;
    }
  }
  throw new OmtError(
    'cli.utxo.not-ours',
    `${address.slice(0, 100)} is not an address this wallet issued (see: omt wallet address)`,
  );
}
