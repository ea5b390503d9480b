import { OmtError } from '@omt/core/errors';
import type { PoolUtxo, ReserveRequest, Utxo, UtxoReservation, UtxoState, UtxoStore } from './ports.js';
import {
  outpointKey,
  parseReservationId,
  parseReserveRequest,
  parseTxid,
  parseUtxos,
  selectUtxos,
} from './utxo.js';

interface Row {
  utxo: Utxo;
  state: UtxoState;
  reservationId?: string | undefined;
  reservedBy?: string | undefined;
  reservedUntil?: number | undefined;
  spentBy?: string | undefined;
}

interface Held {
  readonly keys: readonly string[];
}

/**
 * In-process {@link UtxoStore}: every method body runs without an `await` in between, so it is
 * atomic within one JavaScript realm. Several processes must share the SQL store instead.
 *
 * @example
 * ```ts
 * const store = new MemoryUtxoStore();
 * await store.add([{ txid, vout: 0, satoshis: 100_000n, script }]);
 * const r = await store.reserve({ id: 'r1', worker: 'w1', satoshis: 500n, maxInputs: 4, now: new Date(), ttlMs: 60_000 });
 * ```
 */
export class MemoryUtxoStore implements UtxoStore {
  readonly #rows = new Map<string, Row>();
  /** Every reservation id ever granted (ids are never reused) → the outputs it was granted. */
  readonly #reservations = new Map<string, Held>();

  async add(utxos: readonly Utxo[]): Promise<number> {
    const list = parseUtxos(utxos);
    let added = 0;
    for (const u of list) {
      const k = outpointKey(u);
      if (this.#rows.has(k)) continue;
      this.#rows.set(k, { utxo: u, state: 'available' });
      added++;
    }
    return added;
  }

  async reserve(request: ReserveRequest): Promise<UtxoReservation | undefined> {
    const r = parseReserveRequest(request);
    if (this.#reservations.has(r.id))
      throw new OmtError('ledger.utxo.reservation-conflict', 'reservation id already used');
    const now = r.now.getTime();
    const free = [...this.#rows.values()].filter(
      (row) => row.state === 'available' || (row.state === 'reserved' && (row.reservedUntil ?? 0) <= now),
    );
    const picked = selectUtxos(
      free.map((row) => row.utxo),
      r.satoshis,
      r.maxInputs,
    );
    if (picked === undefined) return undefined;
    const expiresAt = now + r.ttlMs;
    for (const u of picked) {
      const row = this.#rows.get(outpointKey(u)) as Row;
      row.state = 'reserved';
      row.reservationId = r.id;
      row.reservedBy = r.worker;
      row.reservedUntil = expiresAt;
    }
    this.#reservations.set(r.id, { keys: picked.map(outpointKey) });
    return {
      id: r.id,
      worker: r.worker,
      expiresAt: new Date(expiresAt),
      utxos: picked.map(copyUtxo),
      total: picked.reduce((s, u) => s + u.satoshis, 0n),
    };
  }

  async markSpent(reservationId: string, spendingTxid: string): Promise<void> {
    const id = parseReservationId(reservationId);
    const txid = parseTxid(spendingTxid);
    const held = this.#reservations.get(id);
    const rows = held?.keys.map((k) => this.#rows.get(k) as Row) ?? [];
    if (held === undefined || !rows.every((row) => row.state === 'reserved' && row.reservationId === id))
      throw new OmtError('ledger.utxo.reservation-unknown', 'the reservation no longer holds its outputs');
    for (const row of rows) {
      row.state = 'spent';
      row.spentBy = txid;
      row.reservationId = undefined;
      row.reservedBy = undefined;
      row.reservedUntil = undefined;
    }
  }

  async release(reservationId: string): Promise<void> {
    const id = parseReservationId(reservationId);
    for (const row of this.#rows.values())
      if (row.state === 'reserved' && row.reservationId === id) free(row);
  }

  async expire(now: Date): Promise<number> {
    const t = now.getTime();
    let n = 0;
    for (const row of this.#rows.values()) {
      if (row.state === 'reserved' && (row.reservedUntil ?? 0) <= t) {
        free(row);
        n++;
      }
    }
    return n;
  }

  async list(filter?: { readonly state?: UtxoState }): Promise<PoolUtxo[]> {
    const rows = [...this.#rows.values()].filter(
      (r) => filter?.state === undefined || r.state === filter.state,
    );
    rows.sort((a, b) =>
      a.utxo.txid === b.utxo.txid ? a.utxo.vout - b.utxo.vout : a.utxo.txid < b.utxo.txid ? -1 : 1,
    );
    return rows.map((r) => ({
      ...copyUtxo(r.utxo),
      state: r.state,
      ...(r.reservationId === undefined
        ? {}
        : {
            reservationId: r.reservationId,
            reservedBy: r.reservedBy,
            reservedUntil: new Date(r.reservedUntil ?? 0),
          }),
      ...(r.spentBy === undefined ? {} : { spentBy: r.spentBy }),
    }));
  }
}

function free(row: Row): void {
  row.state = 'available';
  row.reservationId = undefined;
  row.reservedBy = undefined;
  row.reservedUntil = undefined;
}

function copyUtxo(u: Utxo): Utxo {
  return { ...u, script: u.script.slice() };
}
