import { OmtError } from '@omt/core/errors';
import type {
  PoolUtxo,
  ReserveRequest,
  Utxo,
  UtxoReservation,
  UtxoState,
  UtxoStore,
} from '@omt/ledger/ports';
import { parseReservationId, parseReserveRequest, parseTxid, parseUtxos } from '@omt/ledger/utxo';
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';
import type { LedgerSchema, LedgerUtxosTable, OmtLedgerSchema } from './sql-ledger-schema.js';

/** Rows per INSERT in `add` (7 parameters each, well under PostgreSQL's 65 535). */
const INSERT_CHUNK = 1000;

const POOL_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Thrown inside a reservation transaction to roll it back when funds do not suffice. */
class Insufficient extends Error {}

/**
 * `UtxoStore` (@omt/ledger port) over SQL (migration `0003_ledger`), bound to one pool.
 *
 * Reservation is one transaction: it records the reservation id (primary key → never reused),
 * then picks outputs with `SELECT … FOR UPDATE SKIP LOCKED` — available rows, or reserved rows
 * whose reservation lapsed — in the coin-selection order of @omt/ledger/utxo, and marks them
 * reserved. Rows another transaction is picking are skipped, not waited for, so concurrent
 * workers in any number of processes never share an output. (Under contention a worker may be
 * told "not enough" while another's pick is in flight; it just asks again.)
 * `markSpent` updates the reservation's rows only if it still holds all of them (their count
 * equals the granted count), else rolls back with `ledger.utxo.reservation-unknown`.
 * PGlite runs the very same SQL (it serialises transactions on its one connection).
 *
 * @example
 * ```ts
 * const utxos = new SqlUtxoStore(omt.db, { pool: 'bsv-main' });
 * const r = await utxos.reserve({ id, worker: 'w1', satoshis: 1000n, maxInputs: 4, now: new Date(), ttlMs: 60_000 });
 * ```
 */
export class SqlUtxoStore implements UtxoStore {
  readonly #db: Kysely<OmtLedgerSchema>;
  readonly #pool: string;

  constructor(db: Kysely<OmtSchema>, options: { pool: string }) {
    const r = z.object({ pool: z.string().regex(POOL_RE) }).safeParse(options);
    if (!r.success) throw new OmtError('ledger.utxo.invalid', 'pool: 1–128 characters [A-Za-z0-9._:-]');
    this.#db = db.withTables<LedgerSchema>();
    this.#pool = r.data.pool;
  }

  async add(utxos: readonly Utxo[]): Promise<number> {
    const list = parseUtxos(utxos);
    if (list.length === 0) return 0;
    return runLedgerQuery('adding utxos', () =>
      this.#db.transaction().execute(async (trx) => {
        let added = 0;
        for (let i = 0; i < list.length; i += INSERT_CHUNK) {
          const rows = list.slice(i, i + INSERT_CHUNK).map((u) => ({
            pool: this.#pool,
            txid: u.txid,
            vout: u.vout,
            satoshis: u.satoshis,
            script: u.script,
            key_path: u.keyPath ?? null,
            state: 'available' as const,
          }));
          const r = await trx
            .insertInto('omt_ledger_utxos')
            .values(rows)
            .onConflict((oc) => oc.columns(['pool', 'txid', 'vout']).doNothing())
            .returning('vout')
            .execute();
          added += r.length;
        }
        return added;
      }),
    );
  }

  async reserve(request: ReserveRequest): Promise<UtxoReservation | undefined> {
    const r = parseReserveRequest(request);
    const expiresAt = new Date(r.now.getTime() + r.ttlMs);
    try {
      return await runLedgerQuery('reserving utxos', () =>
        this.#db.transaction().execute(async (trx) => {
          const claimed = await trx
            .insertInto('omt_ledger_utxo_reservations')
            .values({
              pool: this.#pool,
              id: r.id,
              worker: r.worker,
              inputs: 1,
              total: 0n,
              expires_at: expiresAt,
            })
            .onConflict((oc) => oc.columns(['pool', 'id']).doNothing())
            .returning('id')
            .executeTakeFirst();
          if (claimed === undefined)
            throw new OmtError('ledger.utxo.reservation-conflict', 'reservation id already used');
          const picked = await this.#pick(trx, r);
          if (picked === undefined) throw new Insufficient();
          const total = picked.reduce((s, u) => s + u.satoshis, 0n);
          await trx
            .updateTable('omt_ledger_utxos')
            .set({
              state: 'reserved',
              reservation_id: r.id,
              reserved_by: r.worker,
              reserved_until: expiresAt,
            })
            .where('pool', '=', this.#pool)
            .where((eb) =>
              eb.or(picked.map((u) => eb.and([eb('txid', '=', u.txid), eb('vout', '=', String(u.vout))]))),
            )
            .execute();
          await trx
            .updateTable('omt_ledger_utxo_reservations')
            .set({ inputs: picked.length, total })
            .where('pool', '=', this.#pool)
            .where('id', '=', r.id)
            .execute();
          return { id: r.id, worker: r.worker, expiresAt, utxos: picked, total };
        }),
      );
    } catch (e) {
      if (e instanceof OmtError && e.cause instanceof Insufficient) return undefined;
      if (e instanceof Insufficient) return undefined;
      throw e;
    }
  }

  /** Coin selection of @omt/ledger/utxo, in SQL, skipping rows other transactions hold. */
  async #pick(trx: Transaction<OmtLedgerSchema>, r: ReserveRequest): Promise<Utxo[] | undefined> {
    const base = () =>
      trx
        .selectFrom('omt_ledger_utxos')
        .select(['txid', 'vout', 'satoshis', 'script', 'key_path'])
        .where('pool', '=', this.#pool)
        .where((eb) =>
          eb.or([
            eb('state', '=', 'available'),
            eb.and([eb('state', '=', 'reserved'), eb('reserved_until', '<=', r.now)]),
          ]),
        );
    const single = await base()
      .where('satoshis', '>=', String(r.satoshis))
      .orderBy('satoshis', 'asc')
      .orderBy('txid', 'asc')
      .orderBy('vout', 'asc')
      .limit(1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (single !== undefined) return [toUtxo(single)];
    const largest = await base()
      .orderBy('satoshis', 'desc')
      .orderBy('txid', 'asc')
      .orderBy('vout', 'asc')
      .limit(r.maxInputs)
      .forUpdate()
      .skipLocked()
      .execute();
    const out: Utxo[] = [];
    let sum = 0n;
    for (const row of largest) {
      const u = toUtxo(row);
      out.push(u);
      sum += u.satoshis;
      if (sum >= r.satoshis) return out;
    }
    return undefined;
  }

  async markSpent(reservationId: string, spendingTxid: string): Promise<void> {
    const id = parseReservationId(reservationId);
    const txid = parseTxid(spendingTxid);
    await runLedgerQuery('marking utxos spent', () =>
      this.#db.transaction().execute(async (trx) => {
        const reservation = await trx
          .selectFrom('omt_ledger_utxo_reservations')
          .select('inputs')
          .where('pool', '=', this.#pool)
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst();
        if (reservation === undefined) throw unknownReservation();
        const r = await trx
          .updateTable('omt_ledger_utxos')
          .set({
            state: 'spent',
            spent_by: txid,
            reservation_id: null,
            reserved_by: null,
            reserved_until: null,
          })
          .where('pool', '=', this.#pool)
          .where('reservation_id', '=', id)
          .where('state', '=', 'reserved')
          .executeTakeFirst();
        // Fewer rows than granted: part of it lapsed and was taken; the throw rolls the update back.
        if (Number(r.numUpdatedRows) !== reservation.inputs) throw unknownReservation();
      }),
    );
  }

  async release(reservationId: string): Promise<void> {
    const id = parseReservationId(reservationId);
    await runLedgerQuery('releasing a reservation', () =>
      this.#db
        .updateTable('omt_ledger_utxos')
        .set({ state: 'available', reservation_id: null, reserved_by: null, reserved_until: null })
        .where('pool', '=', this.#pool)
        .where('reservation_id', '=', id)
        .where('state', '=', 'reserved')
        .execute(),
    );
  }

  async expire(now: Date): Promise<number> {
    if (!(now instanceof Date) || Number.isNaN(now.getTime()))
      throw new OmtError('ledger.utxo.invalid', 'now must be a valid Date');
    const r = await runLedgerQuery('expiring reservations', () =>
      this.#db
        .updateTable('omt_ledger_utxos')
        .set({ state: 'available', reservation_id: null, reserved_by: null, reserved_until: null })
        .where('pool', '=', this.#pool)
        .where('state', '=', 'reserved')
        .where('reserved_until', '<=', now)
        .executeTakeFirst(),
    );
    return Number(r.numUpdatedRows);
  }

  async list(filter?: { readonly state?: UtxoState }): Promise<PoolUtxo[]> {
    const state = filter?.state;
    if (state !== undefined && state !== 'available' && state !== 'reserved' && state !== 'spent')
      throw new OmtError('ledger.utxo.invalid', 'state must be available, reserved or spent');
    const rows = await runLedgerQuery('listing utxos', () => {
      let q = this.#db.selectFrom('omt_ledger_utxos').selectAll().where('pool', '=', this.#pool);
      if (state !== undefined) q = q.where('state', '=', state);
      return q.orderBy(sql`txid collate "C"`).orderBy('vout').execute();
    });
    return rows.map(toPoolUtxo);
  }
}

function unknownReservation(): OmtError {
  return new OmtError('ledger.utxo.reservation-unknown', 'the reservation no longer holds its outputs');
}

function toUtxo(row: {
  txid: string;
  vout: string;
  satoshis: string;
  script: Uint8Array;
  key_path: string | null;
}): Utxo {
  return {
    txid: row.txid,
    vout: Number(row.vout),
    satoshis: BigInt(row.satoshis),
    script: new Uint8Array(row.script),
    ...(row.key_path === null ? {} : { keyPath: row.key_path }),
  };
}

function toPoolUtxo(row: Selectable<LedgerUtxosTable>): PoolUtxo {
  return {
    ...toUtxo(row),
    state: row.state,
    ...(row.reservation_id === null
      ? {}
      : {
          reservationId: row.reservation_id,
          reservedBy: row.reserved_by ?? undefined,
          reservedUntil: row.reserved_until === null ? undefined : new Date(row.reserved_until),
        }),
    ...(row.spent_by === null ? {} : { spentBy: row.spent_by }),
  };
}
