/**
 * `omt.contract/v1`: a digital contract between a data provider and its consumers, one chain per
 * contract (e.g. `contract:<uuid>`).
 *
 * ```
 * none ─draft→ drafted ─offer→ offered ─activate→ active ─terminate→ terminated (terminal)
 *                 │            ↺ sign             ↺ amend
 *                 └────────────┴── terminate ──────────────→ terminated
 * ```
 *
 * - `draft` (the provider): the parties (provider and 1–7 consumers, ≤ 8 so that every party fits
 *   in one event's signatures), the terms and `termsHash` = hex SHA-256 of the terms' JCS bytes
 *   ({@link contractTermsHash}).
 * - `offer` (the provider) opens the terms for signature.
 * - `sign` (parties, each once, naming the terms hash): signers are collected in `ctx.signed`.
 * - `activate` (any party) once every party has signed.
 * - `amend` (every party in the one event): new terms and their hash.
 * - `terminate` (any party, with a reason) from any non-final state.
 */
import { toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import { canonicalizeToBytes } from '@omt/core/jcs';
import * as z from 'zod/mini';
import { PartyKeyIdSchema } from './event.js';
import { defineMachine, type MachineDefinition } from './machine.js';
import { type Money, MoneySchema } from './payment.js';

/** The id of the contract machine. */
export const CONTRACT_MACHINE_ID = 'omt.contract/v1' as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const NO_CONTROL_RE = /^[^\u0000-\u001f\u007f]*$/;
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(NO_CONTROL_RE));
const HASH_RE = /^[0-9a-f]{64}$/;
const hash = z.string().check(z.regex(HASH_RE, 'a hex SHA-256'));

/** The terms of a data contract. */
export interface ContractTerms {
  /** What the data may be used for. */
  readonly purpose: string;
  /** Dataset identifiers (URIs, DOIs, catalogue ids). */
  readonly datasets: readonly string[];
  readonly price?: Money;
  readonly durationDays?: number;
  /** Governing law, e.g. `DE` or `EU`. */
  readonly jurisdiction: string;
  /** Further clauses by name. */
  readonly clauses?: Readonly<Record<string, string>>;
}

/** zod/mini schema of {@link ContractTerms}. */
export const ContractTermsSchema: z.ZodMiniType<ContractTerms> = z.strictObject({
  purpose: text(1024),
  datasets: z.array(text(512)).check(z.minLength(1), z.maxLength(64)),
  price: z.optional(MoneySchema),
  durationDays: z.optional(z.int().check(z.gte(1), z.lte(36_500))),
  jurisdiction: text(64),
  clauses: z.optional(
    z
      .record(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/)), text(4096))
      .check(z.refine((r: object) => Object.keys(r).length <= 32, 'at most 32 clauses')),
  ),
});

/**
 * The terms hash: lower-case hex SHA-256 of the terms' RFC 8785 bytes. Throws
 * `ledger.event.malformed` for terms that are not JSON.
 * @example
 * ```ts
 * const termsHash = contractTermsHash(terms);
 * ```
 */
export function contractTermsHash(terms: unknown): string {
  try {
    return toHex(sha256(canonicalizeToBytes(terms)));
  } catch (e) {
    throw new OmtError('ledger.event.malformed', 'contract terms are not canonicalizable JSON', { cause: e });
  }
}

const termsWithHash = (t: { terms: unknown; termsHash: string }): boolean => {
  try {
    return contractTermsHash(t.terms) === t.termsHash;
  } catch {
    return false;
  }
};

const party = { role: 'party', oneOf: 'ctx.parties' } as const;
const sameTerms = {
  equal: ['payload.termsHash', 'ctx.termsHash'],
  message: 'not the current terms',
} as const;

/**
 * The contract machine (see the file header).
 * @example
 * ```ts
 * const r = await replayChain(CONTRACT_MACHINE, events, {});
 * ```
 */
export const CONTRACT_MACHINE: MachineDefinition = /* @__PURE__ */ defineMachine({
  id: CONTRACT_MACHINE_ID,
  title: 'Data contract between a provider and consumers',
  states: ['none', 'drafted', 'offered', 'active', 'terminated'],
  initial: 'none',
  terminal: ['terminated'],
  events: {
    draft: {
      from: ['none'],
      to: 'drafted',
      payload: z
        .strictObject({
          provider: PartyKeyIdSchema,
          parties: z.array(PartyKeyIdSchema).check(
            z.minLength(2),
            z.maxLength(8),
            z.refine((p: string[]) => new Set(p).size === p.length, 'a party is listed twice'),
          ),
          terms: ContractTermsSchema,
          termsHash: hash,
        })
        .check(z.refine(termsWithHash, 'termsHash is not the SHA-256 of the terms (JCS)')),
      signers: [{ role: 'provider', from: 'payload.provider' }],
      requires: [
        { includes: ['payload.parties', 'payload.provider'], message: 'the provider is not a party' },
      ],
      assign: {
        provider: 'payload.provider',
        parties: 'payload.parties',
        terms: 'payload.terms',
        termsHash: 'payload.termsHash',
      },
    },
    offer: {
      from: ['drafted'],
      to: 'offered',
      payload: z.strictObject({ termsHash: hash }),
      signers: [{ role: 'provider', from: 'ctx.provider' }],
      requires: [sameTerms],
      assign: { offeredAt: 'event.time' },
    },
    sign: {
      from: ['offered'],
      to: 'offered',
      payload: z.strictObject({ termsHash: hash }),
      signers: [party],
      requires: [
        sameTerms,
        { excludes: ['ctx.signed', 'event.signers'], message: 'a party signs only once' },
      ],
      assign: { signed: { add: 'event.signers' } },
    },
    activate: {
      from: ['offered'],
      to: 'active',
      payload: z.strictObject({ termsHash: hash }),
      signers: [party],
      requires: [
        sameTerms,
        { includes: ['ctx.signed', 'ctx.parties'], message: 'not every party has signed' },
      ],
      assign: { activatedAt: 'event.time' },
    },
    amend: {
      from: ['active'],
      to: 'active',
      payload: z
        .strictObject({ terms: ContractTermsSchema, termsHash: hash })
        .check(z.refine(termsWithHash, 'termsHash is not the SHA-256 of the terms (JCS)')),
      signers: [{ role: 'parties', allOf: 'ctx.parties' }],
      requires: [{ differ: ['payload.termsHash', 'ctx.termsHash'], message: 'the terms are unchanged' }],
      assign: { terms: 'payload.terms', termsHash: 'payload.termsHash', amendments: { increment: 1 } },
    },
    terminate: {
      from: ['drafted', 'offered', 'active'],
      to: 'terminated',
      payload: z.strictObject({ reason: text(1024) }),
      signers: [party],
      assign: { terminatedAt: 'event.time', terminationReason: 'payload.reason' },
    },
  },
});
