/**
 * `omt.item/v1`: a physical item's ownership, one chain per item (e.g. `item:<serial>`).
 *
 * ```
 * none ─registerManufacturer→ registered ─mint→ owned ─offer→ offered ─accept→ accepted ─lockEscrow→ escrowed
 *                                               ↺ transfer   └──cancelOffer──┴──────────┘          │
 *                                               owned ←────────── settle (owner := buyer) / refund ─┘
 *                                               owned ─burn→ burned (terminal)
 * ```
 *
 * - `registerManufacturer` (height 0, the network authority `registrar`): vouches, inside the
 *   chain, for the manufacturer key that may mint it, so a verifier needs nothing but the chain.
 * - `mint` (the manufacturer): serial, model, attributes; owner := manufacturer.
 * - `transfer` (owner): owner := `to` (a gift; no payment).
 * - `offer` (owner): buyer, price, fee rate (paid to the network's `fees` authority), royalty rate
 *   (paid to the manufacturer), expiry. `accept` (buyer) and `lockEscrow` (buyer, naming the paid
 *   invoice in exactly the price) must come before the expiry.
 * - `cancelOffer` (seller or buyer) before escrow.
 * - `settle` (seller and buyer, or the `escrow` authority): owner := buyer; payouts per payment.ts.
 * - `refund` (seller and buyer, or `escrow`): the offer ends, the owner stays, the invoice is refunded.
 * - `burn` (owner): the item is destroyed; the chain ends.
 *
 * Authorities the network supplies (`env.authorities`): `registrar`, `escrow`, `fees`.
 * External checks: `payment.paid` on lockEscrow, settle and refund (payment.ts `paymentChecks`).
 */
import * as z from 'zod/mini';
import { EventTimeSchema, PartyKeyIdSchema } from './event.js';
import { defineMachine, type MachineDefinition } from './machine.js';
import { InvoiceIdSchema, MoneySchema } from './payment.js';

/** The id of the item machine. */
export const ITEM_MACHINE_ID = 'omt.item/v1' as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const NO_CONTROL_RE = /^[^\u0000-\u001f\u007f]*$/;
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(NO_CONTROL_RE));
const bps = z.int().check(z.gte(0), z.lte(10_000));
const ATTRIBUTE_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

const attributes = z
  .record(z.string().check(z.regex(ATTRIBUTE_NAME_RE)), z.union([text(1024), z.number(), z.boolean()]))
  .check(z.refine((r: object) => Object.keys(r).length <= 64, 'at most 64 attributes'));

const owner = { role: 'owner', from: 'ctx.owner' } as const;
const buyer = { role: 'buyer', from: 'ctx.buyer' } as const;
const sellerAndBuyerOrEscrow = {
  anyOf: [[{ role: 'seller', from: 'ctx.owner' }, buyer], [{ role: 'escrow', from: 'authority.escrow' }]],
} as const;
const clearOffer = {
  buyer: null,
  price: null,
  feeBps: null,
  feeTo: null,
  royaltyBps: null,
  expires: null,
  invoice: null,
} as const;
const escrowPaid = [{ check: 'payment.paid', args: { invoice: 'ctx.invoice', price: 'ctx.price' } }] as const;

/**
 * The item machine (see the file header).
 * @example
 * ```ts
 * const r = await applyEvent(ITEM_MACHINE, state, event, { authorities: { registrar, escrow, fees } });
 * ```
 */
export const ITEM_MACHINE: MachineDefinition = /* @__PURE__ */ defineMachine({
  id: ITEM_MACHINE_ID,
  title: 'Physical item ownership',
  states: ['none', 'registered', 'owned', 'offered', 'accepted', 'escrowed', 'burned'],
  initial: 'none',
  terminal: ['burned'],
  authorities: ['registrar', 'escrow', 'fees'],
  events: {
    registerManufacturer: {
      description: 'The registrar vouches for the manufacturer key that may mint this item.',
      from: ['none'],
      to: 'registered',
      payload: z.strictObject({ manufacturer: PartyKeyIdSchema, name: text(256) }),
      signers: [{ role: 'registrar', from: 'authority.registrar' }],
      assign: { manufacturer: 'payload.manufacturer', manufacturerName: 'payload.name' },
    },
    mint: {
      from: ['registered'],
      to: 'owned',
      payload: z.strictObject({ serial: text(128), model: text(128), attributes: z.optional(attributes) }),
      signers: [{ role: 'manufacturer', from: 'ctx.manufacturer' }],
      assign: {
        owner: 'ctx.manufacturer',
        serial: 'payload.serial',
        model: 'payload.model',
        attributes: 'payload.attributes',
        mintedAt: 'event.time',
      },
    },
    transfer: {
      from: ['owned'],
      to: 'owned',
      payload: z.strictObject({ to: PartyKeyIdSchema, note: z.optional(text(1024)) }),
      signers: [owner],
      requires: [{ differ: ['payload.to', 'ctx.owner'], message: 'the item already belongs to that party' }],
      assign: { owner: 'payload.to' },
    },
    offer: {
      from: ['owned'],
      to: 'offered',
      payload: z
        .strictObject({
          buyer: PartyKeyIdSchema,
          price: MoneySchema,
          feeBps: bps,
          feeTo: PartyKeyIdSchema,
          royaltyBps: bps,
          expires: EventTimeSchema,
        })
        .check(
          z.refine(
            (p: { feeBps: number; royaltyBps: number }) => p.feeBps + p.royaltyBps <= 10_000,
            'feeBps + royaltyBps must not exceed 10,000',
          ),
        ),
      signers: [owner],
      requires: [
        { differ: ['payload.buyer', 'ctx.owner'], message: 'the owner cannot buy from itself' },
        { equal: ['payload.feeTo', 'authority.fees'], message: 'the fee goes to the network fee account' },
        { before: ['event.time', 'payload.expires'], message: 'the offer expires before it is made' },
      ],
      assign: {
        buyer: 'payload.buyer',
        price: 'payload.price',
        feeBps: 'payload.feeBps',
        feeTo: 'payload.feeTo',
        royaltyBps: 'payload.royaltyBps',
        expires: 'payload.expires',
      },
    },
    accept: {
      from: ['offered'],
      to: 'accepted',
      payload: z.strictObject({ note: z.optional(text(1024)) }),
      signers: [buyer],
      requires: [{ before: ['event.time', 'ctx.expires'], message: 'the offer has expired' }],
    },
    cancelOffer: {
      from: ['offered', 'accepted'],
      to: 'owned',
      payload: z.strictObject({ reason: z.optional(text(1024)) }),
      signers: [{ role: 'party', oneOf: ['ctx.owner', 'ctx.buyer'] }],
      assign: clearOffer,
    },
    lockEscrow: {
      from: ['accepted'],
      to: 'escrowed',
      payload: z.strictObject({ invoice: InvoiceIdSchema, price: MoneySchema }),
      signers: [buyer],
      requires: [
        { equal: ['payload.price', 'ctx.price'], message: 'the escrowed amount is not the price' },
        { before: ['event.time', 'ctx.expires'], message: 'the offer has expired' },
      ],
      external: [
        {
          check: 'payment.paid',
          args: { invoice: 'payload.invoice', price: 'ctx.price', payer: 'ctx.buyer' },
        },
      ],
      assign: { invoice: 'payload.invoice' },
    },
    settle: {
      from: ['escrowed'],
      to: 'owned',
      payload: z.strictObject({ invoice: InvoiceIdSchema }),
      signers: [sellerAndBuyerOrEscrow],
      requires: [{ equal: ['payload.invoice', 'ctx.invoice'], message: 'not the escrowed invoice' }],
      external: escrowPaid,
      effects: ['payment.release'],
      assign: { ...clearOffer, owner: 'ctx.buyer', sales: { increment: 1 } },
    },
    refund: {
      from: ['escrowed'],
      to: 'owned',
      payload: z.strictObject({ invoice: InvoiceIdSchema, reason: z.optional(text(1024)) }),
      signers: [sellerAndBuyerOrEscrow],
      requires: [{ equal: ['payload.invoice', 'ctx.invoice'], message: 'not the escrowed invoice' }],
      external: escrowPaid,
      effects: ['payment.refund'],
      assign: clearOffer,
    },
    burn: {
      from: ['owned'],
      to: 'burned',
      payload: z.strictObject({ reason: z.optional(text(1024)) }),
      signers: [owner],
      assign: { burnedAt: 'event.time' },
    },
  },
});
