/**
 * The in-process **test** payment adapter (`@omt/ledger/payment-test-adapter`) served over HTTP,
 * so that operators running in separate processes (`omt network up`) and the clients of a local
 * network share one pretend payment provider. It moves no money; it exists for development
 * networks, the demo and tests. A real deployment plugs a real provider's `PaymentAdapter` in.
 */
import { isOmtError, OmtError } from '@omt/core/errors';
import type { Invoice, InvoiceRequest, InvoiceStatus, PaymentAdapter } from '@omt/ledger/payment';
import type { InProcessTestPaymentAdapter } from '@omt/ledger/payment-test-adapter';
import type { Payout } from '@omt/ledger/ports';
import { error, type FetchHandler, json, readBody } from './http-json.js';

function invoiceJson(inv: Invoice): Record<string, unknown> {
  return { ...inv, amount: inv.amount.toString() };
}

/**
 * The test payment service: `POST /v1/invoices` `{amount, currency, payer, memo?}` → `{id}`,
 * `GET /v1/invoices/:id`, `POST /v1/invoices/:id/pay` (the payer pays — a test hook),
 * `POST /v1/invoices/:id/release` `{payouts}`, `POST /v1/invoices/:id/refund`. Amounts are
 * decimal strings of minor units.
 * @example
 * ```ts
 * const served = await serveHandler(createTestPaymentHandler(new InProcessTestPaymentAdapter()));
 * ```
 */
export function createTestPaymentHandler(payments: InProcessTestPaymentAdapter): FetchHandler {
  return async (request: Request): Promise<Response> => {
    try {
      const path = new URL(request.url).pathname;
      const method = request.method.toUpperCase();
      const body = async (): Promise<Record<string, unknown>> => {
        const v = JSON.parse(new TextDecoder().decode(await readBody(request, 1024 * 1024))) as unknown;
        if (typeof v !== 'object' || v === null)
          throw new OmtError('ledger.payment.invalid', 'a JSON object is expected');
        return v as Record<string, unknown>;
      };
      const amount = (v: unknown): bigint => {
        if (typeof v !== 'string' || !/^\d{1,30}$/.test(v))
          throw new OmtError('ledger.payment.invalid', 'amount: a decimal string');
        return BigInt(v);
      };
      if (path === '/v1/invoices' && method === 'POST') {
        const b = await body();
        const r = await payments.createInvoice({
          ...(b as object),
          amount: amount(b.amount),
        } as InvoiceRequest);
        return json(201, r);
      }
      const m = /^\/v1\/invoices\/([^/]+)(?:\/(pay|release|refund))?$/.exec(path);
      if (m !== null) {
        const id = decodeURIComponent(m[1] as string);
        const action = m[2];
        if (action === undefined && method === 'GET') {
          const inv = await payments.invoice(id);
          return inv === undefined
            ? error(404, 'ledger.payment.unknown-invoice', `no invoice ${id}`)
            : json(200, invoiceJson(inv));
        }
        if (method === 'POST' && action === 'pay') {
          payments.markPaid(id);
          return json(200, { id, status: await payments.status(id) });
        }
        if (method === 'POST' && action === 'release') {
          const list = (await body()).payouts;
          if (!Array.isArray(list)) throw new OmtError('ledger.payment.invalid', 'payouts: an array');
          await payments.release(
            id,
            list.map(
              (p) => ({ ...(p as object), amount: amount((p as { amount?: unknown }).amount) }) as Payout,
            ),
          );
          return json(200, { id, status: await payments.status(id) });
        }
        if (method === 'POST' && action === 'refund') {
          await payments.refund(id);
          return json(200, { id, status: await payments.status(id) });
        }
      }
      return error(404, 'adapters.http.not-found', 'no such endpoint');
    } catch (e) {
      if (isOmtError(e, 'ledger.payment.unknown-invoice')) return error(404, e.code, e.message);
      if (isOmtError(e)) return error(e.code === 'adapters.http.too-large' ? 413 : 422, e.code, e.message);
      if (e instanceof SyntaxError) return error(400, 'ledger.payment.invalid', 'the body is not JSON');
      return error(500, 'adapters.http.internal', 'internal error');
    }
  };
}

/**
 * A {@link PaymentAdapter} talking to {@link createTestPaymentHandler} over HTTP (global fetch,
 * undici in Node). Unreachable service → `ledger.payment.unavailable`.
 * @example
 * ```ts
 * const payments = new TestPaymentServiceClient('http://127.0.0.1:7199');
 * ```
 */
export class TestPaymentServiceClient implements PaymentAdapter {
  readonly #base: string;
  constructor(url: string) {
    this.#base = new URL(url).origin;
  }

  async createInvoice(request: InvoiceRequest): Promise<{ readonly id: string }> {
    return (await this.#call('POST', '/v1/invoices', { ...request, amount: request.amount.toString() })) as {
      id: string;
    };
  }

  async status(id: string): Promise<InvoiceStatus> {
    const inv = await this.invoice(id);
    if (inv === undefined) throw new OmtError('ledger.payment.unknown-invoice', `no invoice ${id}`);
    return inv.status;
  }

  async invoice(id: string): Promise<Invoice | undefined> {
    try {
      const v = (await this.#call('GET', `/v1/invoices/${encodeURIComponent(id)}`)) as Record<
        string,
        unknown
      >;
      return { ...(v as object), amount: BigInt(v.amount as string) } as Invoice;
    } catch (e) {
      if (isOmtError(e, 'ledger.payment.unknown-invoice')) return undefined;
      throw e;
    }
  }

  /** The payer pays (test hook of the test service). */
  async markPaid(id: string): Promise<void> {
    await this.#call('POST', `/v1/invoices/${encodeURIComponent(id)}/pay`, {});
  }

  async release(id: string, payouts: readonly Payout[]): Promise<void> {
    await this.#call('POST', `/v1/invoices/${encodeURIComponent(id)}/release`, {
      payouts: payouts.map((p) => ({ ...p, amount: p.amount.toString() })),
    });
  }

  async refund(id: string): Promise<void> {
    await this.#call('POST', `/v1/invoices/${encodeURIComponent(id)}/refund`, {});
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        signal: AbortSignal.timeout(5_000),
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (e) {
      throw new OmtError(
        'ledger.payment.unavailable',
        `the test payment service at ${this.#base} is unreachable`,
        { cause: e },
      );
    }
    const v = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (res.ok) return v;
    throw new OmtError(
      v.error?.code ?? 'ledger.payment.unavailable',
      v.error?.message ?? `HTTP ${res.status}`,
    );
  }
}
