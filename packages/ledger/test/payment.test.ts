import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChainState } from '../src/machine.js';
import { settlementPayouts, splitPrice } from '../src/payment.js';
import { InProcessTestPaymentAdapter } from '../src/payment-test-adapter.js';
import type { Payout } from '../src/ports.js';

const seller = 'a1'.repeat(32);
const feeTo = 'b2'.repeat(32);
const maker = 'c3'.repeat(32);
const buyer = 'd4'.repeat(32);

function escrowed(amount: string, feeBps: number, royaltyBps: number): ChainState {
  return {
    machine: 'omt.item/v1',
    chain: 'item:x',
    state: 'escrowed',
    height: 6,
    head: 'ee'.repeat(32),
    time: '2026-11-22T10:00:00.000Z',
    ctx: {
      owner: seller,
      buyer,
      manufacturer: maker,
      price: { amount, currency: 'EUR' },
      feeBps,
      feeTo,
      royaltyBps,
      expires: '2026-12-22T10:00:00.000Z',
      invoice: 'inv-7',
    },
  };
}

const rates = fc
  .tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }))
  .filter(([f, r]) => f + r <= 10_000);
const amount = fc.bigInt({ min: 1n, max: 10n ** 30n - 1n });

describe('splitPrice', () => {
  it('rounds fee and royalty down and gives the remainder to the seller', () => {
    expect(splitPrice(1001n, 250, 500)).toEqual({ seller: 926n, fee: 25n, royalty: 50n });
    expect(splitPrice(99n, 5000, 5000)).toEqual({ seller: 1n, fee: 49n, royalty: 49n });
    expect(splitPrice(0n, 100, 100)).toEqual({ seller: 0n, fee: 0n, royalty: 0n });
  });

  it('property: the shares sum to the price and never exceed their rate', () => {
    fc.assert(
      fc.property(amount, rates, (price, [feeBps, royaltyBps]) => {
        const s = splitPrice(price, feeBps, royaltyBps);
        expect(s.seller + s.fee + s.royalty).toBe(price);
        expect(s.fee * 10_000n <= price * BigInt(feeBps)).toBe(true);
        expect((s.fee + 1n) * 10_000n > price * BigInt(feeBps)).toBe(true);
        expect(s.royalty * 10_000n <= price * BigInt(royaltyBps)).toBe(true);
        expect(s.seller >= 0n).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses bad rates and prices', () => {
    for (const [p, f, r] of [
      [-1n, 0, 0],
      [1n, -1, 0],
      [1n, 0, 10_001],
      [1n, 6000, 5000],
      [1n, 1.5, 0],
    ] as const)
      expect(() => splitPrice(p, f, r)).toThrow(expect.objectContaining({ code: 'ledger.payment.invalid' }));
  });
});

describe('settlementPayouts', () => {
  it('property: payouts sum to the price, in order seller/fee/royalty, no zero amounts', () => {
    fc.assert(
      fc.property(amount, rates, (price, [feeBps, royaltyBps]) => {
        const payouts = settlementPayouts(escrowed(price.toString(), feeBps, royaltyBps), {
          invoice: 'inv-7',
        });
        expect(payouts.reduce((s, p) => s + p.amount, 0n)).toBe(price);
        expect(payouts.every((p) => p.amount > 0n && p.invoice === 'inv-7' && p.currency === 'EUR')).toBe(
          true,
        );
        const roles = payouts.map((p) => p.role);
        expect(roles).toEqual(['seller', 'fee', 'royalty'].filter((r) => roles.includes(r)));
        const by = Object.fromEntries(payouts.map((p) => [p.role, p.party]));
        expect(by.seller ?? seller).toBe(seller);
        expect(by.fee ?? feeTo).toBe(feeTo);
        expect(by.royalty ?? maker).toBe(maker);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses other states, machines, invoices and incomplete contexts', () => {
    const s = escrowed('100', 100, 100);
    const bad = (st: ChainState, payload: unknown = { invoice: 'inv-7' }) =>
      expect(() => settlementPayouts(st, payload)).toThrow(
        expect.objectContaining({ code: 'ledger.payment.invalid' }),
      );
    bad({ ...s, state: 'owned' });
    bad({ ...s, machine: 'omt.contract/v1' });
    bad(s, { invoice: 'inv-8' });
    bad(s, null);
    bad({ ...s, ctx: { ...s.ctx, feeTo: undefined } as never });
    bad({ ...s, ctx: { ...s.ctx, price: { amount: '-5', currency: 'EUR' } } });
  });
});

describe('InProcessTestPaymentAdapter', () => {
  const payouts = (id: string, amounts: bigint[]): Payout[] =>
    amounts.map((a, i) => ({
      invoice: id,
      party: [seller, feeTo, maker][i] as string,
      role: `r${i}`,
      amount: a,
      currency: 'EUR',
    }));

  it('opens, pays, releases idempotently, and checks sums', async () => {
    const p = new InProcessTestPaymentAdapter();
    const { id } = await p.createInvoice({ amount: 100n, currency: 'EUR', payer: buyer, memo: 'bike' });
    expect(await p.status(id)).toBe('open');
    expect(await p.invoice(id)).toMatchObject({ amount: 100n, currency: 'EUR', payer: buyer, memo: 'bike' });
    await expect(p.release(id, payouts(id, [100n]))).rejects.toMatchObject({ code: 'ledger.payment.state' });
    p.markPaid(id);
    p.markPaid(id);
    expect(await p.status(id)).toBe('paid');
    await expect(p.release(id, payouts(id, [90n, 5n]))).rejects.toMatchObject({
      code: 'ledger.payment.mismatch',
    });
    await expect(p.release(id, payouts('other', [100n]))).rejects.toMatchObject({
      code: 'ledger.payment.mismatch',
    });
    await expect(
      p.release(id, [{ invoice: id, party: seller, role: 'seller', amount: 100n, currency: 'USD' }]),
    ).rejects.toMatchObject({ code: 'ledger.payment.mismatch' });
    await expect(
      p.release(id, [{ invoice: id, party: seller, role: 'seller', amount: 100 } as never]),
    ).rejects.toMatchObject({
      code: 'ledger.payment.invalid',
    });
    await p.release(id, payouts(id, [90n, 5n, 5n]));
    await p.release(id, payouts(id, [90n, 5n, 5n]));
    expect(p.released(id)?.map((x) => x.amount)).toEqual([90n, 5n, 5n]);
    await expect(p.release(id, payouts(id, [95n, 5n]))).rejects.toMatchObject({
      code: 'ledger.payment.mismatch',
    });
    await expect(p.refund(id)).rejects.toMatchObject({ code: 'ledger.payment.state' });
    expect(() => p.markPaid(id)).toThrow(expect.objectContaining({ code: 'ledger.payment.state' }));
  });

  it('refunds idempotently, refuses unknown invoices and bad requests', async () => {
    const p = new InProcessTestPaymentAdapter();
    const { id } = await p.createInvoice({ amount: 5n, currency: 'BSV', payer: buyer });
    await expect(p.refund(id)).rejects.toMatchObject({ code: 'ledger.payment.state' });
    p.markPaid(id);
    await p.refund(id);
    await p.refund(id);
    expect(await p.status(id)).toBe('refunded');
    await expect(p.status('nope')).rejects.toMatchObject({ code: 'ledger.payment.unknown-invoice' });
    expect(await p.invoice('nope')).toBeUndefined();
    for (const bad of [
      { amount: 0n, currency: 'EUR', payer: buyer },
      { amount: 5, currency: 'EUR', payer: buyer },
      { amount: 5n, currency: 'eur', payer: buyer },
      { amount: 5n, currency: 'EUR', payer: 'bob' },
    ])
      await expect(p.createInvoice(bad as never)).rejects.toMatchObject({ code: 'ledger.payment.invalid' });
    const second = await p.createInvoice({ amount: 5n, currency: 'EUR', payer: buyer });
    expect(second.id).not.toBe(id);
  });
});
