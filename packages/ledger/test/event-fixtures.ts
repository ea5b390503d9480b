/** Shared helpers of the event-chain tests: actors, a chain under construction, status codes. */

import type { JsonValue } from '@omt/core/jcs';
import { getSuite } from '@omt/core/suites';
import {
  type ChainEvent,
  type EventAlg,
  type EventSigner,
  partyKeyId,
  partyOf,
  signEvent,
  type UnsignedChainEvent,
} from '../src/event.js';
import {
  type ApplyResult,
  applyEvent,
  type ChainState,
  type MachineDefinition,
  type MachineEnv,
} from '../src/machine.js';

export const T0: number = Date.parse('2026-11-22T10:00:00.000Z');
/** The verifiers' clock: a day after T0, so every test event lies in its past. */
export const NOW: Date = new Date(T0 + 86_400_000);

/** ISO time `minutes` after T0. */
export function at(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

export interface Actor {
  readonly name: string;
  readonly signer: EventSigner;
  readonly keyId: string;
}

export async function actor(name: string, alg: EventAlg = 'Ed25519'): Promise<Actor> {
  const kp = await getSuite(alg).generateKeyPair();
  const signer: EventSigner = { alg, secretKey: kp.secretKey, publicKey: kp.publicKey };
  return { name, signer, keyId: partyKeyId(partyOf(signer)) };
}

/** Actors by name, each with a fresh key. */
export async function actors<const N extends string>(
  names: readonly N[],
  alg: EventAlg = 'Ed25519',
): Promise<Record<N, Actor>> {
  const out = {} as Record<N, Actor>;
  for (const n of names) out[n] = await actor(n, alg);
  return out;
}

export function codes(r: ApplyResult | { readonly statuses: readonly { code: string }[] }): string[] {
  if ('ok' in r && r.ok) return [];
  return [...new Set((r as { statuses: readonly { code: string }[] }).statuses.map((s) => s.code))].sort();
}

export function messages(r: ApplyResult): string {
  return r.ok ? '' : r.statuses.map((s) => s.message).join(' | ');
}

type Payload = { readonly [k: string]: JsonValue };

/** A chain being built event by event; `step` requires acceptance, `attempt` reports. */
export class TestChain {
  state: ChainState | undefined;
  readonly events: ChainEvent[] = [];
  minute = 0;

  constructor(
    readonly machine: MachineDefinition,
    readonly chain: string,
    readonly env: MachineEnv,
  ) {}

  draft(type: string, payload: Payload, patch: Partial<UnsignedChainEvent> = {}): UnsignedChainEvent {
    this.minute += 1;
    return {
      v: 1,
      chain: this.chain,
      machine: this.machine.id,
      height: this.state === undefined ? 0 : this.state.height + 1,
      prev: this.state === undefined ? null : this.state.head,
      type,
      payload,
      time: at(this.minute),
      ...patch,
    };
  }

  async make(
    type: string,
    payload: Payload,
    signers: readonly Actor[],
    patch: Partial<UnsignedChainEvent> = {},
  ): Promise<ChainEvent> {
    return signEvent(
      this.draft(type, payload, patch),
      signers.map((a) => a.signer),
    );
  }

  async attempt(
    type: string,
    payload: Payload,
    signers: readonly Actor[],
    patch: Partial<UnsignedChainEvent> = {},
  ): Promise<ApplyResult> {
    return applyEvent(this.machine, this.state, await this.make(type, payload, signers, patch), this.env);
  }

  /** Applies an already built event, keeping it when accepted. */
  async push(event: ChainEvent): Promise<ApplyResult> {
    const r = await applyEvent(this.machine, this.state, event, this.env);
    if (r.ok) {
      this.state = r.state;
      this.events.push(r.event);
    }
    return r;
  }

  async step(type: string, payload: Payload, signers: readonly Actor[]): Promise<ChainState> {
    const r = await this.push(await this.make(type, payload, signers));
    if (!r.ok)
      throw new Error(`${type} refused: ${r.statuses.map((s) => `${s.code} ${s.message}`).join('; ')}`);
    return r.state;
  }
}
