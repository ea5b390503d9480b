import { toHex } from '@omt/core/bytes';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { getNetwork, type NetworkName } from '@omt/ledger/network';
import { parseCommandArgs } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { ensureOmtHome } from '../../home.js';
import { openWalletState, withState } from './ledger-state.js';
import { createWalletFile, walletFilePath, walletSeed } from './wallet-file.js';

const NETWORKS: readonly NetworkName[] = [
  'bsv',
  'btc',
  'bsv-regtest',
  'btc-regtest',
  'bsv-testnet',
  'btc-testnet',
  'btc-signet',
];

export const walletHelp: string = `omt wallet — the HD wallet that funds publishing transactions

Usage:
  omt wallet init [--network bsv|btc|bsv-regtest|btc-regtest|bsv-testnet|btc-testnet|btc-signet] [--json]
      Create a BIP32 seed in $OMT_HOME/wallet.json (mode 0600; never printed, never
      overwritten). Default network: bsv. Keys: BIP44 P2PKH on BSV, BIP84 P2WPKH on BTC.
  omt wallet address [--json]
      Hand out the next funding address (each address is issued once, never reused).
`;

export async function runWallet(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(walletHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'init') return init(ctx, rest);
  if (sub === 'address') return address(ctx, rest);
  throw new UsageError(`unknown wallet command: ${sub} (try: omt wallet --help)`);
}

async function init(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { network: { type: 'string' } }, 0);
  if (args.values.help) {
    ctx.stdout(walletHelp);
    return { exitCode: 0 };
  }
  const network = (args.values.network as string | undefined) ?? 'bsv';
  if (!(NETWORKS as readonly string[]).includes(network))
    throw new UsageError(`unknown network "${network}" (one of: ${NETWORKS.join(', ')})`);
  const home = await ensureOmtHome(ctx);
  const file = await createWalletFile(ctx, home, network as NetworkName);
  const seed = walletSeed(file);
  const wallet = HdWallet.fromSeed(seed, { network: file.network, store: new MemoryKeyIndexStore() });
  seed.fill(0);
  const out = {
    network: getNetwork(file.network).name,
    walletId: wallet.id,
    accountPath: wallet.accountPath,
    addressType: wallet.addressType,
    accountXpub: wallet.accountExtendedPublicKey,
    file: walletFilePath(home),
  };
  if (args.values.json) printJson(ctx, out);
  else
    ctx.stdout(
      `created a ${out.network} wallet ${out.walletId} (${out.addressType}, account ${out.accountPath})\n` +
        `  seed: ${out.file} (mode 0600 — back it up; it is never printed)\n` +
        '  next: omt wallet address\n',
    );
  return { exitCode: 0 };
}

async function address(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, {}, 0);
  if (args.values.help) {
    ctx.stdout(walletHelp);
    return { exitCode: 0 };
  }
  return withState(openWalletState(ctx), async (s) => {
    const key = await s.wallet.nextFundingKey();
    const out = {
      network: s.wallet.network.name,
      address: key.address,
      path: key.path,
      index: key.index,
      script: toHex(key.script),
    };
    if (args.values.json) printJson(ctx, out);
    else ctx.stdout(`${out.address}\n`);
    return { exitCode: 0 };
  });
}
