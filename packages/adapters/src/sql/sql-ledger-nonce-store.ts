import { parseNonceUse } from '@omt/ledger/intent-nonce';
import type { NonceStore, NonceUse } from '@omt/ledger/ports';
import type { Kysely } from 'kysely';
import { isRowError } from './group-commit.js';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';
import type { LedgerSchema, OmtLedgerSchema } from './sql-ledger-schema.js';

/** Rows per INSERT (4 parameters each: far below PostgreSQL's 65,535). */
const MAX_BATCH = 500;
/** INSERTs in flight at once per store; calls arriving meanwhile wait and go together. */
const MAX_IN_FLIGHT = 2;

interface PendingUse {
  readonly use: NonceUse;
  readonly resolve: (fresh: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * `NonceStore` (@omt/ledger port) over SQL (migration `0003_ledger`). `consume` is an
 * `INSERT … ON CONFLICT DO NOTHING RETURNING`: the primary key (signer, nonce) lets exactly one of
 * any number of concurrent callers, in any number of processes, insert the row.
 *
 * Group commit: at most two INSERTs per store are in flight; calls made meanwhile queue and go
 * as one multi-row INSERT whose RETURNING rows say, row by row, who inserted. Within a batch the
 * first call for a (signer, nonce) is the one inserted; later ones for the same pair lose (false),
 * so exactly-once holds inside a batch as between batches and processes. If a batch fails on one
 * row's data (SQLSTATE 22/23), its rows are retried one by one (a failed statement inserted
 * nothing), so one bad row fails only its own call; any other failure rejects the whole batch.
 *
 * @example
 * ```ts
 * const nonces = new SqlNonceStore(omt.db);
 * await verifyIntent(intent, { registry, nonces });
 * ```
 */
export class SqlNonceStore implements NonceStore {
  readonly #db: Kysely<OmtLedgerSchema>;
  #queue: PendingUse[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db.withTables<LedgerSchema>();
  }

  async consume(use: NonceUse): Promise<boolean> {
    const u = parseNonceUse(use);
    return new Promise<boolean>((resolve, reject) => {
      this.#queue.push({ use: u, resolve, reject });
      // Calls made in the same tick (a Promise.all of submissions) join before the first INSERT.
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      this.#inFlight++;
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #run(batch: PendingUse[]): Promise<void> {
    const groups = new Map<string, PendingUse[]>();
    for (const p of batch) {
      const k = `${p.use.signer}\u0000${p.use.nonce}`;
      const g = groups.get(k);
      if (g === undefined) groups.set(k, [p]);
      else g.push(p);
    }
    const settle = (g: PendingUse[], fresh: boolean): void => {
      for (const [i, p] of g.entries()) p.resolve(i === 0 && fresh);
    };
    try {
      const won = await this.#insert([...groups.values()].map((g) => (g[0] as PendingUse).use));
      for (const [k, g] of groups) settle(g, won.has(k));
    } catch (e) {
      if (groups.size === 1 || !isRowError(e)) {
        for (const p of batch) p.reject(e);
        return;
      }
      await Promise.all(
        [...groups].map(async ([k, g]) => {
          try {
            settle(g, (await this.#insert([(g[0] as PendingUse).use])).has(k));
          } catch (e1) {
            for (const p of g) p.reject(e1);
          }
        }),
      );
    }
  }

  /** Inserts the rows (distinct pairs); returns the `signer\0nonce` keys this INSERT created. */
  async #insert(uses: NonceUse[]): Promise<Set<string>> {
    const rows = await runLedgerQuery('consuming a nonce', () =>
      this.#db
        .insertInto('omt_ledger_nonces')
        .values(uses.map((u) => ({ signer: u.signer, nonce: u.nonce, hash: u.hash, timestamp: u.timestamp })))
        .onConflict((oc) => oc.columns(['signer', 'nonce']).doNothing())
        .returning(['signer', 'nonce'])
        .execute(),
    );
    return new Set(rows.map((r) => `${r.signer}\u0000${r.nonce}`));
  }

  async has(signer: string, nonce: string): Promise<boolean> {
    if (typeof signer !== 'string' || typeof nonce !== 'string') return false;
    if (signer.includes('\u0000') || nonce.includes('\u0000')) return false;
    const row = await runLedgerQuery('looking up a nonce', () =>
      this.#db
        .selectFrom('omt_ledger_nonces')
        .select('signer')
        .where('signer', '=', signer)
        .where('nonce', '=', nonce)
        .executeTakeFirst(),
    );
    return row !== undefined;
  }

  async prune(before: Date): Promise<number> {
    const r = await runLedgerQuery('pruning nonces', () =>
      this.#db.deleteFrom('omt_ledger_nonces').where('timestamp', '<', before).executeTakeFirst(),
    );
    return Number(r.numDeletedRows);
  }
}
