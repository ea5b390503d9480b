/**
 * UTXO pool model: outpoint syntax, the parsers every `UtxoStore` shares, and coin selection.
 *
 * Coin selection (used by every store, so they all pick alike):
 *   1. the smallest single available output that covers the target (no change dust, least value
 *      locked up per worker);
 *   2. otherwise the largest available outputs, largest first, until the target is covered, at
 *      most `maxInputs` of them;
 *   3. otherwise nothing (the reservation is refused and holds no output).
 */
import { isBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { z } from 'zod';
import type { ReserveRequest, Utxo } from './ports.js';

/** A txid: 64 lower-case hex characters (display byte order). */
export const TXID_RE: RegExp = /^[0-9a-f]{64}$/;
/** Reservation ids and worker names: 1–128 characters `[A-Za-z0-9._:-]`. */
export const RESERVATION_ID_RE: RegExp = /^[A-Za-z0-9._:-]{1,128}$/;
/** BIP32 path text, e.g. `m/0/7` or `m/44'/236'/0'/1/3`. */
export const KEY_PATH_RE: RegExp = /^m(?:\/[0-9]{1,10}'?){0,16}$/;
/** 21 million coins in satoshis: no amount above it is meaningful. */
export const MAX_SATOSHIS: bigint = 2_100_000_000_000_000n;

const satoshisSchema = z.bigint().min(0n).max(MAX_SATOSHIS);

/** zod schema of a {@link Utxo}. */
export const UtxoSchema: z.ZodType<Utxo> = z
  .object({
    txid: z.string().regex(TXID_RE, 'txid: 64 lower-case hex characters'),
    vout: z.number().int().min(0).max(0xffffffff),
    satoshis: satoshisSchema,
    script: z.custom<Uint8Array>((v) => isBytes(v) && v.length <= 10_000, 'script: bytes (≤ 10,000)'),
    keyPath: z.string().regex(KEY_PATH_RE, 'keyPath: a BIP32 path like m/0/7').optional(),
  })
  .strict();

/** zod schema of a {@link ReserveRequest}. */
export const ReserveRequestSchema: z.ZodType<ReserveRequest> = z
  .object({
    id: z.string().regex(RESERVATION_ID_RE),
    worker: z.string().regex(RESERVATION_ID_RE),
    satoshis: satoshisSchema.refine((v) => v > 0n, 'satoshis must be > 0'),
    maxInputs: z.number().int().min(1).max(10_000),
    now: z.date().refine((d) => !Number.isNaN(d.getTime()), 'invalid date'),
    ttlMs: z
      .number()
      .int()
      .min(1)
      .max(365 * 86_400_000),
  })
  .strict();

/** Parses outputs to add (`ledger.utxo.invalid`); duplicates within the list are an error too. */
export function parseUtxos(utxos: unknown): Utxo[] {
  const list = parseInput(z.array(UtxoSchema).max(100_000), utxos, 'ledger.utxo.invalid', 'utxos');
  const seen = new Set<string>();
  for (const u of list) {
    const k = outpointKey(u);
    if (seen.has(k)) throw new OmtError('ledger.utxo.invalid', `invalid utxos: ${k} is listed twice`);
    seen.add(k);
  }
  return list.map((u) => ({ ...u, script: u.script.slice() }));
}

/** Parses a reservation request (`ledger.utxo.invalid`). */
export function parseReserveRequest(request: unknown): ReserveRequest {
  return parseInput(ReserveRequestSchema, request, 'ledger.utxo.invalid', 'reservation request');
}

/** Parses a reservation id argument (`ledger.utxo.invalid`). */
export function parseReservationId(id: unknown): string {
  return parseInput(z.string().regex(RESERVATION_ID_RE), id, 'ledger.utxo.invalid', 'reservation id');
}

/** Parses a txid argument (`ledger.utxo.invalid`). */
export function parseTxid(txid: unknown): string {
  return parseInput(z.string().regex(TXID_RE), txid, 'ledger.utxo.invalid', 'txid');
}

/**
 * `txid:vout`, the outpoint's text form.
 * @example
 * ```ts
 * outpointKey({ txid, vout: 1 }); // 'ab…ef:1'
 * ```
 */
export function outpointKey(u: { readonly txid: string; readonly vout: number }): string {
  return `${u.txid}:${u.vout}`;
}

/**
 * Picks outputs covering `target` (file header rules). `available` may be in any order; the
 * result is in the order chosen, or undefined when they cannot cover it within `maxInputs`.
 * Ties are broken by outpoint so every store picks the same outputs.
 * @example
 * ```ts
 * selectUtxos(pool, 10_000n, 5); // the smallest output ≥ 10,000 sat, or several large ones
 * ```
 */
export function selectUtxos<U extends Utxo>(
  available: readonly U[],
  target: bigint,
  maxInputs: number,
): U[] | undefined {
  let best: U | undefined;
  for (const u of available) {
    if (u.satoshis < target) continue;
    if (best === undefined || u.satoshis < best.satoshis || (u.satoshis === best.satoshis && before(u, best)))
      best = u;
  }
  if (best !== undefined) return [best];
  const largest = [...available].sort((a, b) =>
    a.satoshis === b.satoshis ? (before(a, b) ? -1 : 1) : a.satoshis > b.satoshis ? -1 : 1,
  );
  const out: U[] = [];
  let sum = 0n;
  for (const u of largest) {
    if (out.length >= maxInputs) break;
    out.push(u);
    sum += u.satoshis;
    if (sum >= target) return out;
  }
  return undefined;
}

function before(a: Utxo, b: Utxo): boolean {
  return a.txid === b.txid ? a.vout < b.vout : a.txid < b.txid;
}
