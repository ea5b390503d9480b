import {
  createDatabase,
  databaseConfigFromEnv,
  type OmtDatabase,
  SqlAuditLogStore,
  SqlJobQueue,
  SqlKeyIndexStore,
  SqlKeyRegistry,
  SqlNonceStore,
  SqlUtxoStore,
} from '@omt/adapters/sql';
import { AuditLog } from '@omt/core/audit-log';
import { HdWallet, type KeyIndexStore } from '@omt/ledger/hd-wallet';
import type { JobQueue, KeyRegistry, NonceStore, UtxoStore } from '@omt/ledger/ports';
import { Publisher } from '@omt/ledger/publisher';
import type { CliContext } from '../../context.js';
import { ensureOmtHome, omtHome } from '../../home.js';
import { readWalletFile, type WalletFile, walletSeed } from './wallet-file.js';

/** Name of the audit log every ledger decision of the CLI is appended to. */
export const LEDGER_AUDIT_LOG = 'ledger';

/** The SQL state of `$OMT_HOME` (or DATABASE_URL), migrated, with the ledger stores over it. */
export interface LedgerState {
  readonly home: string;
  readonly database: OmtDatabase;
  readonly registry: KeyRegistry;
  readonly nonces: NonceStore;
  readonly audit: AuditLog;
  readonly queue: JobQueue;
  /** Verifies intents and enqueues them; reports jobs. */
  readonly publisher: Publisher;
  close(): Promise<void>;
}

/** The state plus the wallet (seed file) and its UTXO pool. */
export interface WalletState extends LedgerState {
  readonly walletFile: WalletFile;
  readonly wallet: HdWallet;
  readonly keyIndex: KeyIndexStore;
  /** Pool name: `<network>:<wallet id>`, so wallets sharing a database never mix outputs. */
  readonly pool: string;
  readonly utxos: UtxoStore;
}

/** Builds the stores over an open, migrated database. */
export function ledgerStores(home: string, database: OmtDatabase): LedgerState {
  const registry = new SqlKeyRegistry(database.db);
  const nonces = new SqlNonceStore(database.db);
  const audit = new AuditLog(new SqlAuditLogStore(database.db), { log: LEDGER_AUDIT_LOG });
  const queue = new SqlJobQueue(database.db);
  return {
    home,
    database,
    registry,
    nonces,
    audit,
    queue,
    publisher: new Publisher({ queue, registry, nonces, audit }),
    close: () => database.close(),
  };
}

/** Opens (and migrates) the database of `$OMT_HOME` / DATABASE_URL. */
export async function openLedgerState(ctx: CliContext): Promise<LedgerState> {
  const home = await ensureOmtHome(ctx);
  const database = await createDatabase(databaseConfigFromEnv(ctx.env, home));
  try {
    await database.migrate();
  } catch (e) {
    await database.close();
    throw e;
  }
  return ledgerStores(home, database);
}

/** The wallet over an open state (the seed file must exist: `cli.wallet.missing`). */
export async function walletStateOf(
  ctx: CliContext,
  state: LedgerState,
  file?: WalletFile,
): Promise<WalletState> {
  const walletFile = file ?? (await readWalletFile(ctx, state.home));
  const keyIndex = new SqlKeyIndexStore(state.database.db);
  const seed = walletSeed(walletFile);
  const wallet = HdWallet.fromSeed(seed, { network: walletFile.network, store: keyIndex });
  seed.fill(0);
  const pool = `${walletFile.network}:${wallet.id}`;
  return {
    ...state,
    walletFile,
    wallet,
    keyIndex,
    pool,
    utxos: new SqlUtxoStore(state.database.db, { pool }),
  };
}

/** Opens the state and the wallet. */
export async function openWalletState(ctx: CliContext): Promise<WalletState> {
  // The seed file first: no database is created for a command that cannot run without a wallet.
  const file = await readWalletFile(ctx, omtHome(ctx));
  const state = await openLedgerState(ctx);
  try {
    return await walletStateOf(ctx, state, file);
  } catch (e) {
    await state.close();
    throw e;
  }
}

/** Runs `fn` over an opened state and always closes the database. */
export async function withState<S extends LedgerState, T>(
  open: Promise<S>,
  fn: (s: S) => Promise<T>,
): Promise<T> {
  const s = await open;
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
