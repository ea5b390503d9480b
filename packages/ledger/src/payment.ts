/**
 * Payments behind a port, for the sale flow of `omt.item/v1` (machine-item.ts):
 *
 * 1. the seller offers (price, fee and royalty rates); the buyer accepts;
 * 2. the host creates an invoice with its {@link PaymentAdapter} (`createInvoice`), the buyer pays
 *    it, and signs `lockEscrow` naming the invoice;
 * 3. seller and buyer (or the network's `escrow` authority) sign `settle`.
 *
 * Operators check `lockEscrow`, `settle` and `refund` against the payment provider before voting
 * ({@link paymentChecks} with machine.ts `checkEventExternal`: the invoice exists, is `paid`, in
 * the price's amount and currency). Settlement is atomic: the operator stores the `settle` event,
 * the new state (owner := buyer) and the payouts ({@link eventPayouts}) in one `EventStore.append`;
 * only after that commit does it call `release(invoice, payouts)`, which is idempotent, so a
 * crash between the two is repaired by releasing again. A refund likewise calls `refund`.
 *
 * The split is deterministic integer arithmetic in minor units: fee = ⌊price × feeBps / 10⁴⌋,
 * royalty = ⌊price × royaltyBps / 10⁴⌋, seller = price − fee − royalty (the rounding remainder
 * goes to the seller); zero amounts are left out; the payouts always sum to the price.
 */
import { OmtError } from '@omt/core/errors';
import type { JsonValue } from '@omt/core/jcs';
import * as z from 'zod/mini';
import type { ChainEvent, EventStatus } from './event.js';
import type { ChainState, ExternalCheck, ExternalCheckRequest, MachineDefinition } from './machine.js';
import type { Payout } from './ports.js';

/** What an invoice is, from the provider's point of view. */
export type InvoiceStatus = 'open' | 'paid' | 'released' | 'refunded';

/** An amount in a currency: a decimal string of minor units (cents, satoshis) and its code. */
export interface Money {
  readonly amount: string;
  readonly currency: string;
}

/** Amount of minor units as a decimal string without leading zeros: at most 30 digits. */
export const AMOUNT_RE: RegExp = /^(0|[1-9][0-9]{0,29})$/;
/** ISO 4217 code or a ticker such as `BSV`. */
export const CURRENCY_RE: RegExp = /^[A-Z][A-Z0-9]{2,7}$/;
/** An invoice id as adapters give them. */
export const INVOICE_ID_RE: RegExp = /^[A-Za-z0-9._:-]{1,128}$/;

/** zod/mini schema of {@link Money} (a positive amount). */
export const MoneySchema: z.ZodMiniType<Money> = z.strictObject({
  amount: z.string().check(
    z.regex(AMOUNT_RE, 'amount: minor units as a decimal string'),
    z.refine((a: string) => a !== '0', 'amount: must be positive'),
  ),
  currency: z.string().check(z.regex(CURRENCY_RE, 'currency: 3–8 upper-case characters, e.g. EUR')),
});

/** zod/mini schema of an invoice id. */
export const InvoiceIdSchema: z.ZodMiniType<string> = z
  .string()
  .check(z.regex(INVOICE_ID_RE, 'invoice: 1–128 of A–Z a–z 0–9 . _ : -'));

/** What {@link PaymentAdapter.createInvoice} is asked for. */
export interface InvoiceRequest {
  /** Minor units, > 0. */
  readonly amount: bigint;
  readonly currency: string;
  /** The payer's party keyId. */
  readonly payer: string;
  readonly memo?: string;
}

/** An invoice as the provider keeps it. */
export interface Invoice {
  readonly id: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly payer: string;
  readonly memo?: string;
  readonly status: InvoiceStatus;
}

/**
 * A payment provider (a PSP, a Lightning node, a BSV wallet, …).
 * - `createInvoice` opens an invoice; `status` / `invoice` read it (an unknown id: `status`
 *   throws `ledger.payment.unknown-invoice`, `invoice` gives undefined).
 * - `release(id, payouts)` pays a `paid` invoice out; the payouts' amounts must sum to the
 *   invoice's amount in its currency (`ledger.payment.mismatch`). Idempotent: releasing a
 *   `released` invoice with the same payouts does nothing; other payouts throw
 *   `ledger.payment.mismatch`; any other status throws `ledger.payment.state`.
 * - `refund(id)` returns a `paid` invoice to the payer; idempotent on `refunded`; other
 *   statuses throw `ledger.payment.state`.
 * - A provider that cannot be reached throws `ledger.payment.unavailable` (the caller retries).
 */
export interface PaymentAdapter {
  createInvoice(request: InvoiceRequest): Promise<{ readonly id: string }>;
  status(id: string): Promise<InvoiceStatus>;
  invoice(id: string): Promise<Invoice | undefined>;
  release(id: string, payouts: readonly Payout[]): Promise<void>;
  refund(id: string): Promise<void>;
}

/** The three shares of a price. */
export interface PriceSplit {
  readonly seller: bigint;
  readonly fee: bigint;
  readonly royalty: bigint;
}

/**
 * Splits a price (minor units) by basis-point rates: fee and royalty rounded down, the remainder
 * to the seller. Throws `ledger.payment.invalid` for a negative price, rates outside 0–10,000 or
 * summing above 10,000.
 * @example
 * ```ts
 * splitPrice(1001n, 250, 500); // { seller: 926n, fee: 25n, royalty: 50n }
 * ```
 */
export function splitPrice(price: bigint, feeBps: number, royaltyBps: number): PriceSplit {
  if (typeof price !== 'bigint' || price < 0n)
    throw new OmtError('ledger.payment.invalid', 'price must be a bigint ≥ 0');
  for (const bps of [feeBps, royaltyBps])
    if (!Number.isInteger(bps) || bps < 0 || bps > 10_000)
      throw new OmtError('ledger.payment.invalid', 'rates are integers from 0 to 10,000 basis points');
  if (feeBps + royaltyBps > 10_000)
    throw new OmtError('ledger.payment.invalid', 'fee and royalty rates exceed 10,000 basis points');
  const fee = (price * BigInt(feeBps)) / 10_000n;
  const royalty = (price * BigInt(royaltyBps)) / 10_000n;
  return { seller: price - fee - royalty, fee, royalty };
}

function member(ctx: ChainState['ctx'], key: string): JsonValue | undefined {
  return Object.hasOwn(ctx, key) ? ctx[key] : undefined;
}

const settleContext = z.object({
  owner: z.string(),
  feeTo: z.string(),
  manufacturer: z.string(),
  price: MoneySchema,
  feeBps: z.int(),
  royaltyBps: z.int(),
  invoice: z.string(),
});

/**
 * The payouts of a settlement: the price of the offer in `state` (an `omt.item/v1` chain in
 * `escrowed`) split into `seller` (the owner), `fee` (the offer's `feeTo`) and `royalty` (the
 * manufacturer), in that order, zero amounts left out. `settle` is the settle event's payload
 * (its `invoice` must be the escrowed one). Throws `ledger.payment.invalid` otherwise.
 * @example
 * ```ts
 * const payouts = settlementPayouts(stateBefore, settleEvent.payload);
 * await store.append(committed, payouts); // atomically with the new owner
 * ```
 */
export function settlementPayouts(state: ChainState, settle: unknown): Payout[] {
  if (state?.machine !== 'omt.item/v1' || state.state !== 'escrowed')
    throw new OmtError('ledger.payment.invalid', 'settlement needs an omt.item/v1 chain in state escrowed');
  const ctx = z.safeParse(settleContext, {
    owner: member(state.ctx, 'owner'),
    feeTo: member(state.ctx, 'feeTo'),
    manufacturer: member(state.ctx, 'manufacturer'),
    price: member(state.ctx, 'price'),
    feeBps: member(state.ctx, 'feeBps'),
    royaltyBps: member(state.ctx, 'royaltyBps'),
    invoice: member(state.ctx, 'invoice'),
  });
  if (!ctx.success)
    throw new OmtError('ledger.payment.invalid', 'the chain context lacks the escrowed offer');
  const c = ctx.data;
  const invoice = (settle as { invoice?: unknown } | null)?.invoice;
  if (invoice !== c.invoice)
    throw new OmtError('ledger.payment.invalid', 'the settlement names another invoice');
  const split = splitPrice(BigInt(c.price.amount), c.feeBps, c.royaltyBps);
  const payouts: Payout[] = [];
  const add = (party: string, role: string, amount: bigint): void => {
    if (amount > 0n) payouts.push({ invoice: c.invoice, party, role, amount, currency: c.price.currency });
  };
  add(c.owner, 'seller', split.seller);
  add(c.feeTo, 'fee', split.fee);
  add(c.manufacturer, 'royalty', split.royalty);
  return payouts;
}

/**
 * The payouts an accepted event commits: for a rule with the effect `payment.release`
 * (`omt.item/v1` `settle`) the {@link settlementPayouts} computed from the state *before* the
 * event; none otherwise. Operators store them with the event in one `EventStore.append`.
 * @example
 * ```ts
 * const r = await applyEvent(machine, before, event, env);
 * if (r.ok) await store.append(committed, eventPayouts(machine, before, r.event));
 * ```
 */
export function eventPayouts(
  machine: MachineDefinition,
  before: ChainState | undefined,
  event: ChainEvent,
): Payout[] {
  const rule = Object.hasOwn(machine.events, event.type) ? machine.events[event.type] : undefined;
  if (rule?.effects?.includes('payment.release') !== true) return [];
  if (before === undefined) throw new OmtError('ledger.payment.invalid', 'a settlement needs a chain state');
  return settlementPayouts(before, event.payload);
}

/** What the payment provider must do once an event is committed. */
export type PaymentEffect =
  | { readonly kind: 'release'; readonly invoice: string; readonly payouts: readonly Payout[] }
  | { readonly kind: 'refund'; readonly invoice: string };

/**
 * The payment step an accepted event calls for after its commit, from its rule's `effects`:
 * `payment.release` → release the escrowed invoice with the {@link settlementPayouts};
 * `payment.refund` → refund the escrowed invoice (`ctx.invoice` of the state before the event);
 * undefined for every other event. Both adapter calls are idempotent, so an operator may repeat
 * them after a crash.
 * @example
 * ```ts
 * const effect = paymentEffect(machine, before, event);
 * if (effect?.kind === 'release') await payments.release(effect.invoice, effect.payouts);
 * else if (effect?.kind === 'refund') await payments.refund(effect.invoice);
 * ```
 */
export function paymentEffect(
  machine: MachineDefinition,
  before: ChainState | undefined,
  event: ChainEvent,
): PaymentEffect | undefined {
  const rule = Object.hasOwn(machine.events, event.type) ? machine.events[event.type] : undefined;
  const effects = rule?.effects ?? [];
  if (effects.includes('payment.release')) {
    const payouts = eventPayouts(machine, before, event);
    const invoice = before === undefined ? undefined : member(before.ctx, 'invoice');
    if (typeof invoice !== 'string') throw new OmtError('ledger.payment.invalid', 'no escrowed invoice');
    return { kind: 'release', invoice, payouts };
  }
  if (effects.includes('payment.refund')) {
    const invoice = before === undefined ? undefined : member(before.ctx, 'invoice');
    if (typeof invoice !== 'string')
      throw new OmtError('ledger.payment.invalid', 'no escrowed invoice to refund');
    return { kind: 'refund', invoice };
  }
  return undefined;
}

function priceOf(v: JsonValue | undefined): Money | undefined {
  const r = z.safeParse(MoneySchema, v);
  return r.success ? r.data : undefined;
}

/**
 * External checks (machine.ts `checkEventExternal`) backed by a payment adapter:
 * `payment.paid` with args `invoice` (id) and `price` ({@link Money}) — and optionally `payer`
 * (keyId) — holds when the invoice exists, is `paid`, and is for exactly that price (and payer).
 * Statuses: `ledger.payment.unknown-invoice`, `ledger.payment.unpaid`, `ledger.payment.mismatch`.
 * A provider failure propagates (checkEventExternal reports it as `ledger.event.external`).
 * @example
 * ```ts
 * await checkEventExternal(ITEM_MACHINE, state, event, { checks: paymentChecks(payments) });
 * ```
 */
export function paymentChecks(payments: PaymentAdapter): Readonly<Record<string, ExternalCheck>> {
  const paid = async (request: ExternalCheckRequest): Promise<EventStatus[]> => {
    const id = request.args.invoice;
    const price = priceOf(request.args.price);
    if (typeof id !== 'string' || !INVOICE_ID_RE.test(id) || price === undefined)
      return [{ code: 'ledger.payment.mismatch', message: 'payment.paid needs an invoice id and a price' }];
    const invoice = await payments.invoice(id);
    if (invoice === undefined)
      return [
        {
          code: 'ledger.payment.unknown-invoice',
          message: `invoice ${id} is unknown to the payment provider`,
        },
      ];
    const out: EventStatus[] = [];
    if (invoice.status !== 'paid')
      out.push({ code: 'ledger.payment.unpaid', message: `invoice ${id} is ${invoice.status}, not paid` });
    if (invoice.amount !== BigInt(price.amount) || invoice.currency !== price.currency)
      out.push({
        code: 'ledger.payment.mismatch',
        message: `invoice ${id} is for ${invoice.amount} ${invoice.currency}, the price is ${price.amount} ${price.currency}`,
      });
    const payer = request.args.payer;
    if (payer !== undefined && invoice.payer !== payer)
      out.push({ code: 'ledger.payment.mismatch', message: `invoice ${id} is payable by another party` });
    return out;
  };
  return Object.freeze({ 'payment.paid': paid });
}
