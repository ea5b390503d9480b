import { OmtError } from '@omt/core/errors';
import {
  parseAppendItems,
  parseChainArgument,
  parseChainArguments,
  parseChainListOptions,
  parseCommittedEvent,
  parseEventListOptions,
  parseHeightArgument,
  parsePayouts,
} from './event-storage.js';
import type { AppendItem, AppendOutcome, CommittedEvent, EventStore, Payout } from './ports.js';

interface ChainRow {
  readonly events: CommittedEvent[];
  readonly payouts: Payout[];
}

/**
 * In-process {@link EventStore} (tests, single-process demos). Every method body runs without an
 * `await` in between, so an append — event, state and payouts — is atomic within one JavaScript
 * realm and concurrent appends at one height have exactly one winner; `appendMany` runs its items
 * one after another in one such pass. Several processes share
 * the SQL store (`@omt/adapters/sql` `SqlEventStore`) instead. Nothing stored is ever changed.
 *
 * @example
 * ```ts
 * const events = new MemoryEventStore();
 * await events.append({ chain: 'item:7f3a', height: 0, hash, prev: null, machine: 'omt.item/v1',
 *   type: 'mint', event, qc, state, committedAt: new Date() });
 * const head = await events.head('item:7f3a');
 * ```
 */
export class MemoryEventStore implements EventStore {
  readonly #chains = new Map<string, ChainRow>();

  async append(event: CommittedEvent, payouts?: readonly Payout[]): Promise<'appended' | 'exists'> {
    return this.#store(parseCommittedEvent(event), parsePayouts(payouts));
  }

  async appendMany(items: readonly AppendItem[]): Promise<AppendOutcome[]> {
    // One synchronous pass: no other call runs in between, as in one SQL transaction.
    return parseAppendItems(items).map((item): AppendOutcome => {
      if ('error' in item) return { error: item.error };
      try {
        return this.#store(item.event, item.payouts);
      } catch (e) {
        if (!(e instanceof OmtError)) throw e;
        return { error: { code: e.code, message: e.message } };
      }
    });
  }

  /** Appends a parsed event (synchronous: atomic within the realm). */
  #store(e: CommittedEvent, ps: readonly Payout[]): 'appended' | 'exists' {
    const row = this.#chains.get(e.chain);
    const at = row?.events[e.height];
    if (at !== undefined) {
      if (at.hash === e.hash) return 'exists';
      throw new OmtError(
        'ledger.event.conflict',
        `another event is committed at ${e.chain} height ${e.height}`,
        {
          details: { chain: e.chain, height: e.height, committed: at.hash },
        },
      );
    }
    const head = row?.events[row.events.length - 1];
    const expectedHeight = head === undefined ? 0 : head.height + 1;
    const expectedPrev = head === undefined ? null : head.hash;
    if (e.height !== expectedHeight || e.prev !== expectedPrev)
      throw outOfOrder(e.chain, e.height, expectedHeight);
    const stored = copyEvent(e);
    if (row === undefined) this.#chains.set(e.chain, { events: [stored], payouts: ps.map(copyPayout) });
    else {
      row.events.push(stored);
      for (const p of ps) row.payouts.push(copyPayout(p));
    }
    return 'appended';
  }

  async head(chain: string): Promise<CommittedEvent | undefined> {
    return this.#head(parseChainArgument(chain));
  }

  async heads(chains: readonly string[]): Promise<Map<string, CommittedEvent>> {
    const out = new Map<string, CommittedEvent>();
    for (const chain of parseChainArguments(chains)) {
      const head = this.#head(chain);
      if (head !== undefined) out.set(chain, head);
    }
    return out;
  }

  /** A copy of the last event of a (parsed) chain id. */
  #head(chain: string): CommittedEvent | undefined {
    const events = this.#chains.get(chain)?.events;
    const last = events?.[events.length - 1];
    return last === undefined ? undefined : copyEvent(last);
  }

  async get(chain: string, height: number): Promise<CommittedEvent | undefined> {
    const c = parseChainArgument(chain);
    const h = parseHeightArgument(height);
    const e = this.#chains.get(c)?.events[h];
    return e === undefined ? undefined : copyEvent(e);
  }

  async list(
    chain: string,
    options?: { readonly fromHeight?: number; readonly limit?: number },
  ): Promise<CommittedEvent[]> {
    const c = parseChainArgument(chain);
    const { fromHeight, limit } = parseEventListOptions(options);
    const events = this.#chains.get(c)?.events ?? [];
    return events.slice(fromHeight, fromHeight + limit).map(copyEvent);
  }

  async payouts(chain: string): Promise<Payout[]> {
    const c = parseChainArgument(chain);
    return (this.#chains.get(c)?.payouts ?? []).map(copyPayout);
  }

  async chains(options?: {
    readonly after?: string;
    readonly limit?: number;
  }): Promise<{ chain: string; height: number }[]> {
    const { after, limit } = parseChainListOptions(options);
    // Chain ids are ASCII, so UTF-16 order is byte order (the SQL store sorts with COLLATE "C").
    const ids = [...this.#chains.keys()].filter((id) => after === undefined || id > after).sort(byCodeUnit);
    return ids.slice(0, limit).map((chain) => {
      const events = (this.#chains.get(chain) as ChainRow).events;
      return { chain, height: events.length - 1 };
    });
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function outOfOrder(chain: string, height: number, expected: number): OmtError {
  return new OmtError(
    'ledger.event.out-of-order',
    `${chain}: expected height ${expected} linked to the head, got height ${height}`,
    { details: { chain, height, expected } },
  );
}

function copyEvent(e: CommittedEvent): CommittedEvent {
  return {
    chain: e.chain,
    height: e.height,
    hash: e.hash,
    prev: e.prev,
    machine: e.machine,
    type: e.type,
    event: e.event,
    qc: e.qc,
    state: e.state,
    committedAt: new Date(e.committedAt.getTime()),
  };
}

function copyPayout(p: Payout): Payout {
  return { invoice: p.invoice, party: p.party, role: p.role, amount: p.amount, currency: p.currency };
}
