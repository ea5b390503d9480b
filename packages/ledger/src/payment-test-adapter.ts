/**
 * An in-process **test** payment adapter: an in-memory payment provider for tests and the demo.
 * It moves no money. `markPaid(id)` stands in for the payer paying; `released(id)` shows what
 * a release paid out. Behaves as the {@link PaymentAdapter} contract says (idempotent release
 * and refund, payouts summing to the invoice amount), so flows written against it run
 * unchanged against a real provider's adapter.
 */
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import {
  CURRENCY_RE,
  INVOICE_ID_RE,
  type Invoice,
  type InvoiceRequest,
  type InvoiceStatus,
  type PaymentAdapter,
} from './payment.js';
import type { Payout } from './ports.js';

const KEY_ID_RE = /^[0-9a-f]{64}$/;

const requestSchema = z.strictObject({
  amount: z.bigint().check(z.gt(0n)),
  currency: z.string().check(z.regex(CURRENCY_RE)),
  payer: z.string().check(z.regex(KEY_ID_RE, 'payer: a party keyId')),
  memo: z.optional(z.string().check(z.maxLength(1024))),
});

const payoutSchema = z.strictObject({
  invoice: z.string().check(z.regex(INVOICE_ID_RE)),
  party: z.string().check(z.regex(KEY_ID_RE, 'party: a party keyId')),
  role: z.string().check(z.minLength(1), z.maxLength(32)),
  amount: z.bigint().check(z.gte(0n)),
  currency: z.string().check(z.regex(CURRENCY_RE)),
});

function payoutKey(p: Payout): string {
  return `${p.invoice}|${p.party}|${p.role}|${p.amount}|${p.currency}`;
}

/**
 * The in-memory test adapter. Invoice ids are `test-inv-1`, `test-inv-2`, … (deterministic).
 * @example
 * ```ts
 * const payments = new InProcessTestPaymentAdapter();
 * const { id } = await payments.createInvoice({ amount: 1000n, currency: 'EUR', payer: buyer });
 * payments.markPaid(id);
 * ```
 */
export class InProcessTestPaymentAdapter implements PaymentAdapter {
  readonly #invoices = new Map<string, Invoice>();
  readonly #payouts = new Map<string, readonly Payout[]>();
  #next = 1;

  async createInvoice(request: InvoiceRequest): Promise<{ readonly id: string }> {
    const r = parseInput(requestSchema, request, 'ledger.payment.invalid', 'invoice request');
    const id = `test-inv-${this.#next++}`;
    this.#invoices.set(id, {
      id,
      amount: r.amount,
      currency: r.currency,
      payer: r.payer,
      ...(r.memo === undefined ? {} : { memo: r.memo }),
      status: 'open',
    });
    return { id };
  }

  async status(id: string): Promise<InvoiceStatus> {
    return this.#get(id).status;
  }

  async invoice(id: string): Promise<Invoice | undefined> {
    return typeof id === 'string' ? this.#invoices.get(id) : undefined;
  }

  /** The payer paid (test hook). Idempotent on `paid`; throws `ledger.payment.state` otherwise. */
  markPaid(id: string): void {
    const inv = this.#get(id);
    if (inv.status === 'paid') return;
    if (inv.status !== 'open') throw new OmtError('ledger.payment.state', `invoice ${id} is ${inv.status}`);
    this.#invoices.set(id, { ...inv, status: 'paid' });
  }

  async release(id: string, payouts: readonly Payout[]): Promise<void> {
    const inv = this.#get(id);
    const list = parseInput(z.array(payoutSchema), payouts, 'ledger.payment.invalid', 'payouts') as Payout[];
    if (inv.status === 'released') {
      const before = (this.#payouts.get(id) ?? []).map(payoutKey);
      const now = list.map(payoutKey);
      if (before.length !== now.length || before.some((k, i) => k !== now[i]))
        throw new OmtError('ledger.payment.mismatch', `invoice ${id} was released with other payouts`);
      return;
    }
    if (inv.status !== 'paid')
      throw new OmtError('ledger.payment.state', `invoice ${id} is ${inv.status}, not paid`);
    let sum = 0n;
    for (const p of list) {
      if (p.invoice !== id || p.currency !== inv.currency)
        throw new OmtError('ledger.payment.mismatch', `a payout is not of invoice ${id} in ${inv.currency}`);
      sum += p.amount;
    }
    if (sum !== inv.amount)
      throw new OmtError(
        'ledger.payment.mismatch',
        `payouts sum to ${sum}, invoice ${id} is for ${inv.amount}`,
      );
    this.#payouts.set(id, Object.freeze(list.map((p) => Object.freeze({ ...p }))));
    this.#invoices.set(id, { ...inv, status: 'released' });
  }

  async refund(id: string): Promise<void> {
    const inv = this.#get(id);
    if (inv.status === 'refunded') return;
    if (inv.status !== 'paid')
      throw new OmtError('ledger.payment.state', `invoice ${id} is ${inv.status}, not paid`);
    this.#invoices.set(id, { ...inv, status: 'refunded' });
  }

  /** What a release paid out (test hook); undefined before release. */
  released(id: string): readonly Payout[] | undefined {
    return this.#payouts.get(id);
  }

  #get(id: string): Invoice {
    const inv = typeof id === 'string' ? this.#invoices.get(id) : undefined;
    if (inv === undefined)
      throw new OmtError(
        'ledger.payment.unknown-invoice',
        `unknown invoice ${JSON.stringify(String(id)).slice(0, 80)}`,
      );
    return inv;
  }
}
