/**
 * The whole life of one item on an operator network — register the manufacturer, mint, transfer,
 * offer, accept, escrow (a paid invoice), settle — with fresh keys for the manufacturer, the first
 * owner and the buyer. `omt events scenario item` runs it as an operators' smoke test, and the
 * demo and the benchmark build on it.
 */
import { toBase64Url, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { getSuite } from '@omt/core/suites';
import {
  type ChainEvent,
  type EventAlg,
  type EventSigner,
  partyKeyId,
  signEvent,
  type UnsignedChainEvent,
} from './event.js';
import { type SubmitOutcome, submitEvents } from './event-client.js';
import type { EventNetwork } from './event-network.js';
import { ITEM_MACHINE_ID } from './machine-item.js';
import type { OperatorApi } from './operator-api.js';
import type { PaymentAdapter } from './payment.js';

/** One committed step. */
export interface ScenarioStep {
  readonly height: number;
  readonly type: string;
  readonly hash: string;
  /** Operators whose receipts formed the quorum certificate. */
  readonly quorum: readonly string[];
}

/** Result of {@link runItemScenario}. */
export interface ItemScenarioResult {
  readonly subject: string;
  readonly events: readonly ScenarioStep[];
  /** keyIds of the parties. */
  readonly parties: { readonly manufacturer: string; readonly firstOwner: string; readonly buyer: string };
  readonly invoice: string;
}

/** Options of {@link runItemScenario}. */
export interface ItemScenarioOptions {
  readonly network: EventNetwork;
  readonly operators: readonly OperatorApi[];
  /** The network's registrar (signs height 0). */
  readonly registrar: EventSigner;
  readonly payments: PaymentAdapter;
  /** Makes the buyer pay an invoice (a test provider's `markPaid`; a real one: the buyer's wallet). */
  readonly pay: (invoice: string) => Promise<void>;
  /** Suite of the fresh party keys (default ML-DSA-65). */
  readonly alg?: EventAlg;
  /** Item subject (default `item:<16 random bytes hex>`). */
  readonly subject?: string;
  readonly now?: () => Date;
  /** Stop after this many events (1–7; default all 7). */
  readonly steps?: number;
  readonly deadlineMs?: number;
  /** Passed to `submitEvents` (default `'quorum'`). */
  readonly settle?: 'quorum' | 'all';
}

/**
 * Runs the item's life; throws `ledger.scenario.failed` naming the step whose submission failed.
 * @example
 * ```ts
 * const r = await runItemScenario({ network, operators, registrar, payments, pay: (id) => payments.markPaid(id) });
 * ```
 */
export async function runItemScenario(o: ItemScenarioOptions): Promise<ItemScenarioResult> {
  const alg = o.alg ?? 'ML-DSA-65';
  const now = o.now ?? (() => new Date());
  const fresh = async (): Promise<EventSigner & { keyId: string }> => {
    const kp = await getSuite(alg).generateKeyPair();
    return {
      alg,
      secretKey: kp.secretKey,
      publicKey: kp.publicKey,
      keyId: partyKeyId({ alg, pub: toBase64Url(kp.publicKey) }),
    };
  };
  const [manufacturer, alice, bob] = [await fresh(), await fresh(), await fresh()];
  const fees = o.network.authorities.fees;
  if (fees === undefined) throw new OmtError('ledger.network.invalid', 'the network has no fees authority');
  const subject = o.subject ?? `item:${toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)))}`;
  const steps: ScenarioStep[] = [];
  let prev: string | null = null;
  const maxSteps = o.steps ?? 7;

  const step = async (
    type: string,
    payload: UnsignedChainEvent['payload'],
    signers: readonly EventSigner[],
  ): Promise<boolean> => {
    if (steps.length >= maxSteps) return false;
    const event: ChainEvent = await signEvent(
      {
        v: 1,
        chain: subject,
        machine: ITEM_MACHINE_ID,
        height: steps.length,
        prev,
        type,
        payload,
        time: now().toISOString(),
      },
      signers,
    );
    const [r] = (await submitEvents(
      {
        network: o.network,
        operators: o.operators,
        ...(o.deadlineMs === undefined ? {} : { deadlineMs: o.deadlineMs }),
        ...(o.settle === undefined ? {} : { settle: o.settle }),
      },
      [event],
    )) as [SubmitOutcome];
    if (!r.ok)
      throw new OmtError(
        'ledger.scenario.failed',
        `${type} (height ${steps.length}) failed: ${r.code}: ${r.message}`,
      );
    steps.push({ height: r.height, type, hash: r.hash, quorum: r.qc.receipts.map((x) => x.operator) });
    prev = r.hash;
    return true;
  };

  const price = { amount: '125000', currency: 'EUR' };
  let invoice = '';
  (await step('registerManufacturer', { manufacturer: manufacturer.keyId, name: 'ACME Watches' }, [
    o.registrar,
  ])) &&
    (await step(
      'mint',
      { serial: `SN-${subject.slice(-8)}`, model: 'Chronograph 42', attributes: { material: 'steel' } },
      [manufacturer],
    )) &&
    (await step('transfer', { to: alice.keyId }, [manufacturer])) &&
    (await step(
      'offer',
      {
        buyer: bob.keyId,
        price,
        feeBps: 250,
        feeTo: partyKeyId(fees),
        royaltyBps: 500,
        expires: new Date(now().getTime() + 3_600_000).toISOString(),
      },
      [alice],
    )) &&
    (await step('accept', {}, [bob])) &&
    (await (async () => {
      invoice = (
        await o.payments.createInvoice({
          amount: BigInt(price.amount),
          currency: price.currency,
          payer: bob.keyId,
          memo: subject,
        })
      ).id;
      await o.pay(invoice);
      return step('lockEscrow', { invoice, price }, [bob]);
    })()) &&
    (await step('settle', { invoice }, [alice, bob]));
  return {
    subject,
    events: steps,
    parties: { manufacturer: manufacturer.keyId, firstOwner: alice.keyId, buyer: bob.keyId },
    invoice,
  };
}
