/**
 * Declarative state machines for event chains (docs/event-chains.md "State machines as data") and
 * their interpreter. A machine is data: states, per event type the states it may fire from, the
 * state it goes to, a payload schema (zod), who must sign, preconditions and context assignments.
 * No callbacks: what a definition means can be read, diffed and audited.
 *
 * ## The mini language
 * **References** (`Ref`) name a value: `ctx.<key>[.<member>…]` (the chain's context before the
 * event), `payload.<member>[…]` (the event's payload), `authority.<name>` (a party keyId — or a
 * list — the network supplies in `env.authorities`; the machine declares the names it uses in
 * `authorities`), `event.signers` (sorted keyIds that signed), `event.time`, `event.hash`,
 * `event.height`, `event.type`, `event.chain`.
 *
 * **Signer rules** (all of an event's rules must hold, and nobody else may sign):
 * - `{ role, from: Ref }` — the party whose keyId is at `Ref` signs (`{ role: 'owner', from: 'ctx.owner' }`);
 * - `{ role, allOf: Ref }` — every keyId of the list at `Ref` signs (`allOf: 'ctx.parties'`);
 * - `{ role, oneOf: Ref | Ref[] }` — at least one of the keyIds there signs (any party, any of
 *   editor/legal/compliance);
 * - `{ anyOf: [[rules…], [rules…]] }` — one of the alternative rule lists holds (settlement by
 *   seller and buyer, or by the escrow authority).
 *
 * **Preconditions** (`requires`, each fails with `ledger.event.condition`): `{ equal: [a, b] }`,
 * `{ differ: [a, b] }` (JCS equality; an absent value never equals), `{ present: a }`,
 * `{ absent: a }`, `{ includes: [list, x] }` (x, or every element of the list x, is in list;
 * an absent list is empty), `{ excludes: [list, x] }` (no element of x is in list),
 * `{ before: [t1, t2] }` (ISO times, t1 strictly earlier). Each may carry a `message`.
 *
 * **Assignments** (`assign: { ctxKey: … }`), all computed from the context *before* the event, so
 * `{ owner: 'ctx.buyer', buyer: null }` swaps cleanly: a `Ref` copies that value (absent removes
 * the key), `null` removes the key, `{ value: json }` sets a literal, `{ add: Ref }` adds the value
 * (or each element of a list) to the sorted set at the key, `{ increment: n }` adds n to a counter.
 *
 * **External checks** (`external: [{ check: 'payment.paid', args: { invoice: 'payload.invoice' } }]`)
 * and **effects** (`effects: ['payment.release']`) are names only. `applyEvent` never performs I/O:
 * a chain must replay to the same state years later, when an invoice that was `paid` at vote
 * time is long `released`. So operators call {@link checkEventExternal} (with the check functions
 * they configure, e.g. payment.ts `paymentChecks`) after `applyEvent` accepted an event and
 * before they vote; clients replaying a chain rely on the operators' quorum for those facts.
 * Effects are performed by the operator after commit (payment.ts `eventPayouts`).
 *
 * Before height 0 a chain is in the machine's `initial` state with an empty context.
 */
import { OmtError } from '@omt/core/errors';
import { canonicalize, type JsonValue } from '@omt/core/jcs';
import type { Clock } from '@omt/core/random';
import * as z from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';
import {
  type ChainEvent,
  EVENT_TYPE_RE,
  type EventStatus,
  eventHash,
  MACHINE_ID_RE,
  parseEvent,
  verifyEventSignatures,
} from './event.js';

/** A reference to a value (see the file header). */
export type Ref = string;

/** Who must sign an event (see the file header). */
export type SignerRule =
  | { readonly role?: string; readonly from: Ref }
  | { readonly role?: string; readonly allOf: Ref }
  | { readonly role?: string; readonly oneOf: Ref | readonly Ref[] }
  | { readonly anyOf: readonly (readonly SignerRule[])[] };

/** A precondition (see the file header). */
export type Condition = { readonly message?: string } & (
  | { readonly equal: readonly [Ref, Ref] }
  | { readonly differ: readonly [Ref, Ref] }
  | { readonly present: Ref }
  | { readonly absent: Ref }
  | { readonly includes: readonly [Ref, Ref] }
  | { readonly excludes: readonly [Ref, Ref] }
  | { readonly before: readonly [Ref, Ref] }
);

/** A context assignment (see the file header). */
export type Assignment =
  | Ref
  | null
  | { readonly value: JsonValue }
  | { readonly add: Ref }
  | { readonly increment: number };

/** A named check outside the chain (payments…) with its arguments (see the file header). */
export interface ExternalCheckSpec {
  readonly check: string;
  readonly args?: Readonly<Record<string, Ref>>;
}

/** What one event type does. */
export interface EventRule {
  /** States it may fire from (never a terminal state). */
  readonly from: readonly string[];
  /** The state after it. */
  readonly to: string;
  /** Schema of the payload (zod or zod/mini). */
  readonly payload: $ZodType;
  readonly signers: readonly SignerRule[];
  readonly requires?: readonly Condition[];
  readonly assign?: Readonly<Record<string, Assignment>>;
  readonly external?: readonly ExternalCheckSpec[];
  readonly effects?: readonly string[];
  readonly description?: string;
}

/** A state machine as data. Build it with {@link defineMachine}. */
export interface MachineDefinition {
  /** `name/vN`, e.g. `omt.item/v1`; equals every event's `machine`. */
  readonly id: string;
  readonly title: string;
  readonly states: readonly string[];
  /** The state before height 0. */
  readonly initial: string;
  /** States no event leaves. */
  readonly terminal: readonly string[];
  /** Names of the network authorities the rules refer to (`authority.<name>`). */
  readonly authorities?: readonly string[];
  readonly events: Readonly<Record<string, EventRule>>;
}

/** A chain's state after an event; JSON-serialisable (store it as JCS text). */
export interface ChainState {
  readonly machine: string;
  readonly chain: string;
  readonly state: string;
  /** Height of the last applied event. */
  readonly height: number;
  /** Hash of the last applied event (the next event's `prev`). */
  readonly head: string;
  /** `time` of the last applied event (the next may not be earlier). */
  readonly time: string;
  readonly ctx: { readonly [key: string]: JsonValue };
}

/** What the interpreter needs from the network and the host. */
export interface MachineEnv {
  /** Named authority keyIds (`authority.<name>`): one keyId or a list. */
  readonly authorities?: Readonly<Record<string, string | readonly string[]>>;
  /** The verifier's clock (default: the platform's). */
  readonly now?: Date | Clock;
  /** How far an event's time may be ahead of `now`; default {@link DEFAULT_MAX_CLOCK_SKEW_MS}. */
  readonly maxClockSkewMs?: number;
}

/** Result of {@link applyEvent}. */
export type ApplyResult =
  | { readonly ok: true; readonly state: ChainState; readonly event: ChainEvent; readonly hash: string }
  | { readonly ok: false; readonly statuses: readonly EventStatus[]; readonly hash?: string };

/** Result of {@link replayChain}: the last state, or the first refused event's height and statuses. */
export type ReplayResult =
  | { readonly ok: true; readonly state: ChainState }
  | {
      readonly ok: false;
      readonly height: number;
      readonly statuses: readonly EventStatus[];
      /** The state before the refused event (undefined when height 0 was refused). */
      readonly state?: ChainState;
    };

/** Default allowed lead of an event's time over the verifier's clock: 10 minutes. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 600_000 as const;

const NAME_RE = /^[a-z][A-Za-z0-9]{0,63}$/;
const REF_RE = /^(ctx|payload|authority|event)((?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,8})$/;
const EVENT_REFS: readonly string[] = ['signers', 'time', 'hash', 'height', 'type', 'chain'];
const CHECK_NAME_RE = /^[a-z][a-z0-9.-]{0,63}$/;
const KEY_ID_RE = /^[0-9a-f]{64}$/;
const CONDITION_OPS = ['equal', 'differ', 'present', 'absent', 'includes', 'excludes', 'before'] as const;
const PAIR_OPS: readonly string[] = ['equal', 'differ', 'includes', 'excludes', 'before'];
/** Bound on the signer alternatives a rule list expands to. */
const MAX_ALTERNATIVES = 16;

// ─── Definition checks ───────────────────────────────────────────────────────────────────────

function invalid(id: unknown, message: string): OmtError {
  return new OmtError('ledger.machine.invalid', `machine ${String(id).slice(0, 80)}: ${message}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSchema(v: unknown): v is $ZodType {
  return isRecord(v) && isRecord((v as { _zod?: unknown })._zod);
}

function requireStringArray(id: unknown, v: unknown, what: string, min: number): string[] {
  if (!Array.isArray(v) || v.length < min || v.some((x) => typeof x !== 'string'))
    throw invalid(id, `${what} must be a list of at least ${min} names`);
  if (new Set(v).size !== v.length) throw invalid(id, `${what} lists a name twice`);
  return v as string[];
}

/** Top-level member names of an object schema, when the schema says (zod keeps them in def.shape). */
function schemaKeys(schema: $ZodType): Set<string> | undefined {
  const def = (schema as unknown as { _zod: { def: { shape?: unknown } } })._zod.def;
  return isRecord(def.shape) ? new Set(Object.keys(def.shape)) : undefined;
}

interface RefContext {
  readonly id: string;
  readonly type: string;
  readonly authorities: ReadonlySet<string>;
  readonly payloadKeys: ReadonlySet<string> | undefined;
  /** ctx refs, checked against the assigned keys once every event is read. */
  readonly ctxRefs: { ref: string; where: string }[];
}

function checkRef(rc: RefContext, ref: unknown, where: string): void {
  const m = typeof ref === 'string' ? REF_RE.exec(ref) : null;
  if (m === null) throw invalid(rc.id, `${rc.type}: ${where}: ${JSON.stringify(ref)} is not a reference`);
  const root = m[1] as string;
  const path = (m[2] as string).slice(1).split('.');
  const first = path[0] as string;
  if (root === 'authority') {
    if (path.length !== 1 || !rc.authorities.has(first))
      throw invalid(rc.id, `${rc.type}: ${where}: ${ref} names no declared authority`);
  } else if (root === 'event') {
    if (path.length !== 1 || !EVENT_REFS.includes(first))
      throw invalid(rc.id, `${rc.type}: ${where}: ${ref} is not one of event.${EVENT_REFS.join('|')}`);
  } else if (root === 'payload') {
    if (rc.payloadKeys !== undefined && !rc.payloadKeys.has(first))
      throw invalid(rc.id, `${rc.type}: ${where}: ${ref} is not a member of the payload schema`);
  } else {
    rc.ctxRefs.push({ ref: ref as string, where: `${rc.type}: ${where}` });
  }
}

function checkSignerRules(rc: RefContext, rules: unknown, where: string, depth: number): void {
  if (!Array.isArray(rules) || rules.length === 0)
    throw invalid(rc.id, `${rc.type}: ${where} must be a non-empty list of signer rules`);
  if (depth > 3) throw invalid(rc.id, `${rc.type}: ${where}: anyOf nested too deeply`);
  for (const [i, rule] of rules.entries()) {
    const at = `${where}[${i}]`;
    if (!isRecord(rule)) throw invalid(rc.id, `${rc.type}: ${at} is not a signer rule`);
    const kinds = ['from', 'allOf', 'oneOf', 'anyOf'].filter((k) => k in rule);
    if (kinds.length !== 1)
      throw invalid(rc.id, `${rc.type}: ${at} needs exactly one of from, allOf, oneOf, anyOf`);
    const allowed = new Set([kinds[0] as string, ...(kinds[0] === 'anyOf' ? [] : ['role'])]);
    for (const k of Object.keys(rule))
      if (!allowed.has(k)) throw invalid(rc.id, `${rc.type}: ${at}: unknown member ${k}`);
    if ('role' in rule && (typeof rule.role !== 'string' || !NAME_RE.test(rule.role)))
      throw invalid(rc.id, `${rc.type}: ${at}: role must be a name`);
    if ('from' in rule) checkRef(rc, rule.from, `${at}.from`);
    else if ('allOf' in rule) checkRef(rc, rule.allOf, `${at}.allOf`);
    else if ('oneOf' in rule) {
      const refs = Array.isArray(rule.oneOf) ? rule.oneOf : [rule.oneOf];
      if (refs.length === 0) throw invalid(rc.id, `${rc.type}: ${at}.oneOf is empty`);
      for (const r of refs) checkRef(rc, r, `${at}.oneOf`);
    } else {
      const alts = rule.anyOf;
      if (!Array.isArray(alts) || alts.length < 2)
        throw invalid(rc.id, `${rc.type}: ${at}.anyOf needs at least two alternatives`);
      for (const [j, alt] of alts.entries()) checkSignerRules(rc, alt, `${at}.anyOf[${j}]`, depth + 1);
    }
  }
}

function checkCondition(rc: RefContext, c: unknown, at: string): void {
  if (!isRecord(c)) throw invalid(rc.id, `${rc.type}: ${at} is not a condition`);
  const ops = CONDITION_OPS.filter((op) => op in c);
  if (ops.length !== 1)
    throw invalid(rc.id, `${rc.type}: ${at} needs exactly one of ${CONDITION_OPS.join(', ')}`);
  const op = ops[0] as string;
  for (const k of Object.keys(c))
    if (k !== op && k !== 'message') throw invalid(rc.id, `${rc.type}: ${at}: unknown member ${k}`);
  if ('message' in c && (typeof c.message !== 'string' || c.message.length > 200))
    throw invalid(rc.id, `${rc.type}: ${at}: message must be a short string`);
  const arg = c[op];
  if (PAIR_OPS.includes(op)) {
    if (!Array.isArray(arg) || arg.length !== 2)
      throw invalid(rc.id, `${rc.type}: ${at}.${op} must be a pair of references`);
    for (const r of arg) checkRef(rc, r, `${at}.${op}`);
  } else checkRef(rc, arg, `${at}.${op}`);
}

function checkAssignment(rc: RefContext, key: string, a: unknown): void {
  const at = `assign.${key}`;
  if (!NAME_RE.test(key)) throw invalid(rc.id, `${rc.type}: ${at}: the key must be a name`);
  if (a === null) return;
  if (typeof a === 'string') {
    checkRef(rc, a, at);
    return;
  }
  if (!isRecord(a) || Object.keys(a).length !== 1)
    throw invalid(rc.id, `${rc.type}: ${at} must be a reference, null, {value}, {add} or {increment}`);
  if ('value' in a) {
    try {
      canonicalize(a.value);
    } catch {
      throw invalid(rc.id, `${rc.type}: ${at}.value is not JSON`);
    }
  } else if ('add' in a) checkRef(rc, a.add, `${at}.add`);
  else if ('increment' in a) {
    if (!Number.isSafeInteger(a.increment))
      throw invalid(rc.id, `${rc.type}: ${at}.increment must be an integer`);
  } else throw invalid(rc.id, `${rc.type}: ${at} must be a reference, null, {value}, {add} or {increment}`);
}

/**
 * Checks a machine definition and returns it frozen. Throws `ledger.machine.invalid` for a
 * malformed id or name, unknown states in `initial`/`terminal`/`from`/`to`, an event leaving a
 * terminal state, a state that cannot be reached from `initial`, a non-terminal state no event
 * leaves, a reference to an undeclared authority, a context key no event assigns, a payload
 * member the payload schema lacks, and malformed signer rules, conditions or assignments.
 * @example
 * ```ts
 * const door = defineMachine({
 *   id: 'acme.door/v1', title: 'Door', states: ['none', 'shut', 'open'], initial: 'none', terminal: [],
 *   events: {
 *     install: { from: ['none'], to: 'shut', payload: z.strictObject({ owner: z.string() }),
 *                signers: [{ role: 'owner', from: 'payload.owner' }], assign: { owner: 'payload.owner' } },
 *     open: { from: ['shut'], to: 'open', payload: z.strictObject({}), signers: [{ role: 'owner', from: 'ctx.owner' }] },
 *     close: { from: ['open'], to: 'shut', payload: z.strictObject({}), signers: [{ role: 'owner', from: 'ctx.owner' }] },
 *   },
 * });
 * ```
 */
export function defineMachine(definition: MachineDefinition): MachineDefinition {
  if (!isRecord(definition)) throw invalid('?', 'a definition must be an object');
  const d = definition as unknown as Record<string, unknown>;
  const id = d.id;
  if (typeof id !== 'string' || !MACHINE_ID_RE.test(id)) throw invalid(id, 'id must look like name/v1');
  for (const k of Object.keys(d))
    if (!['id', 'title', 'states', 'initial', 'terminal', 'authorities', 'events'].includes(k))
      throw invalid(id, `unknown member ${k}`);
  if (typeof d.title !== 'string' || d.title.length === 0 || d.title.length > 200)
    throw invalid(id, 'title must be 1–200 characters');
  const states = requireStringArray(id, d.states, 'states', 1);
  for (const s of states) if (!NAME_RE.test(s)) throw invalid(id, `state ${JSON.stringify(s)} is not a name`);
  const stateSet = new Set(states);
  if (typeof d.initial !== 'string' || !stateSet.has(d.initial)) throw invalid(id, 'initial is not a state');
  const terminal = new Set(requireStringArray(id, d.terminal, 'terminal', 0));
  for (const t of terminal) if (!stateSet.has(t)) throw invalid(id, `terminal ${t} is not a state`);
  if (terminal.has(d.initial)) throw invalid(id, 'the initial state cannot be terminal');
  const authorities = new Set(
    d.authorities === undefined ? [] : requireStringArray(id, d.authorities, 'authorities', 0),
  );
  for (const a of authorities) if (!NAME_RE.test(a)) throw invalid(id, `authority ${a} is not a name`);
  if (!isRecord(d.events) || Object.keys(d.events).length === 0)
    throw invalid(id, 'events must be a non-empty object');

  const ctxRefs: { ref: string; where: string }[] = [];
  const assigned = new Set<string>();
  const edges = new Map<string, Set<string>>();
  for (const [type, raw] of Object.entries(d.events)) {
    if (!EVENT_TYPE_RE.test(type)) throw invalid(id, `event type ${JSON.stringify(type)} is not a name`);
    if (!isRecord(raw)) throw invalid(id, `${type} must be an object`);
    for (const k of Object.keys(raw))
      if (
        ![
          'from',
          'to',
          'payload',
          'signers',
          'requires',
          'assign',
          'external',
          'effects',
          'description',
        ].includes(k)
      )
        throw invalid(id, `${type}: unknown member ${k}`);
    const from = requireStringArray(id, raw.from, `${type}.from`, 1);
    for (const s of from) {
      if (!stateSet.has(s)) throw invalid(id, `${type}.from: ${s} is not a state`);
      if (terminal.has(s)) throw invalid(id, `${type}.from: ${s} is terminal`);
    }
    if (typeof raw.to !== 'string' || !stateSet.has(raw.to)) throw invalid(id, `${type}.to is not a state`);
    for (const s of from) {
      const set = edges.get(s) ?? new Set<string>();
      set.add(raw.to);
      edges.set(s, set);
    }
    if (!isSchema(raw.payload)) throw invalid(id, `${type}.payload must be a zod schema`);
    if (raw.description !== undefined && typeof raw.description !== 'string')
      throw invalid(id, `${type}.description must be a string`);
    const rc: RefContext = { id, type, authorities, payloadKeys: schemaKeys(raw.payload), ctxRefs };
    checkSignerRules(rc, raw.signers, 'signers', 0);
    if (expandSignerRules(raw.signers as readonly SignerRule[]).length > MAX_ALTERNATIVES)
      throw invalid(id, `${type}: signers expand to more than ${MAX_ALTERNATIVES} alternatives`);
    if (raw.requires !== undefined) {
      if (!Array.isArray(raw.requires)) throw invalid(id, `${type}.requires must be a list`);
      for (const [i, c] of raw.requires.entries()) checkCondition(rc, c, `requires[${i}]`);
    }
    if (raw.assign !== undefined) {
      if (!isRecord(raw.assign)) throw invalid(id, `${type}.assign must be an object`);
      for (const [k, a] of Object.entries(raw.assign)) {
        checkAssignment(rc, k, a);
        assigned.add(k);
      }
    }
    if (raw.external !== undefined) {
      if (!Array.isArray(raw.external)) throw invalid(id, `${type}.external must be a list`);
      for (const [i, x] of raw.external.entries()) {
        if (!isRecord(x) || typeof x.check !== 'string' || !CHECK_NAME_RE.test(x.check))
          throw invalid(id, `${type}.external[${i}] needs a check name`);
        for (const k of Object.keys(x))
          if (k !== 'check' && k !== 'args') throw invalid(id, `${type}.external[${i}]: unknown member ${k}`);
        if (x.args !== undefined) {
          if (!isRecord(x.args)) throw invalid(id, `${type}.external[${i}].args must be an object`);
          for (const [k, r] of Object.entries(x.args)) checkRef(rc, r, `external[${i}].args.${k}`);
        }
      }
    }
    if (raw.effects !== undefined) {
      const effects = requireStringArray(id, raw.effects, `${type}.effects`, 0);
      for (const e of effects)
        if (!CHECK_NAME_RE.test(e)) throw invalid(id, `${type}.effects: ${e} is not a name`);
    }
  }
  for (const { ref, where } of ctxRefs) {
    const key = ref.split('.')[1] as string;
    if (!assigned.has(key)) throw invalid(id, `${where}: ${ref} refers to a context key no event assigns`);
  }
  // Every state reachable from the initial one; every non-terminal state has a way out.
  const seen = new Set<string>([d.initial]);
  const queue = [d.initial];
  for (let s = queue.shift(); s !== undefined; s = queue.shift())
    for (const next of edges.get(s) ?? [])
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
  for (const s of states) {
    if (!seen.has(s)) throw invalid(id, `state ${s} is unreachable from ${d.initial}`);
    if (!terminal.has(s) && !edges.has(s)) throw invalid(id, `no event leaves ${s}; declare it terminal`);
  }
  return Object.isFrozen(definition) ? definition : Object.freeze({ ...definition });
}

// ─── Registry ─────────────────────────────────────────────────────────────────────────────────

/** Machines by id. */
export interface MachineRegistry {
  readonly ids: readonly string[];
  /** The machine with this id; `ledger.machine.unknown` otherwise. */
  getMachine(id: string): MachineDefinition;
  /** The machine with this id, or undefined. */
  findMachine(id: string): MachineDefinition | undefined;
}

/**
 * A registry of machines (each checked by {@link defineMachine}); two with one id throw
 * `ledger.machine.invalid`.
 * @example
 * ```ts
 * const machines = machineRegistry([ITEM_MACHINE, CONTRACT_MACHINE, MANIFEST_MACHINE]);
 * const machine = machines.getMachine(event.machine);
 * ```
 */
export function machineRegistry(machines: readonly MachineDefinition[]): MachineRegistry {
  const byId = new Map<string, MachineDefinition>();
  for (const m of machines) {
    const checked = defineMachine(m);
    if (byId.has(checked.id)) throw invalid(checked.id, 'registered twice');
    byId.set(checked.id, checked);
  }
  const ids = Object.freeze([...byId.keys()].sort());
  return {
    ids,
    getMachine(id: string): MachineDefinition {
      const m = typeof id === 'string' ? byId.get(id) : undefined;
      if (m === undefined)
        throw new OmtError('ledger.machine.unknown', `no machine ${JSON.stringify(String(id)).slice(0, 80)}`);
      return m;
    },
    findMachine(id: string): MachineDefinition | undefined {
      return byId.get(id);
    },
  };
}

// ─── Interpreter ──────────────────────────────────────────────────────────────────────────────

interface Scope {
  readonly ctx: { readonly [key: string]: JsonValue };
  readonly payload: { readonly [key: string]: JsonValue };
  readonly authority: Readonly<Record<string, string | readonly string[]>>;
  readonly event: { readonly [key: string]: JsonValue };
}

/** The value a reference names in a scope, or undefined. Own members only. */
function resolve(scope: Scope, ref: Ref): JsonValue | undefined {
  const parts = ref.split('.');
  let v: unknown = (scope as unknown as Record<string, unknown>)[parts[0] as string];
  for (const p of parts.slice(1)) {
    if (!isRecord(v) || !Object.hasOwn(v, p)) return undefined;
    v = v[p];
  }
  return v as JsonValue | undefined;
}

function same(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return a !== undefined && b !== undefined && canonicalize(a) === canonicalize(b);
}

function listOf(v: JsonValue | undefined): JsonValue[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function timeOf(v: JsonValue | undefined): number {
  return typeof v === 'string' ? Date.parse(v) : Number.NaN;
}

function conditionHolds(scope: Scope, c: Condition): boolean {
  const r = (ref: Ref): JsonValue | undefined => resolve(scope, ref);
  if ('equal' in c) return same(r(c.equal[0]), r(c.equal[1]));
  if ('differ' in c) return !same(r(c.differ[0]), r(c.differ[1]));
  if ('present' in c) return r(c.present) !== undefined && r(c.present) !== null;
  if ('absent' in c) return r(c.absent) === undefined || r(c.absent) === null;
  if ('includes' in c) {
    const list = listOf(r(c.includes[0])).map((x) => canonicalize(x));
    const xs = r(c.includes[1]);
    return xs !== undefined && listOf(xs).every((x) => list.includes(canonicalize(x)));
  }
  if ('excludes' in c) {
    const list = listOf(r(c.excludes[0])).map((x) => canonicalize(x));
    return listOf(r(c.excludes[1])).every((x) => !list.includes(canonicalize(x)));
  }
  const [a, b] = [timeOf(r(c.before[0])), timeOf(r(c.before[1]))];
  return Number.isFinite(a) && Number.isFinite(b) && a < b;
}

function describeCondition(c: Condition): string {
  if (c.message !== undefined) return c.message;
  const op = CONDITION_OPS.find((o) => o in c) as string;
  return `${op} ${JSON.stringify((c as unknown as Record<string, unknown>)[op])} does not hold`;
}

type AtomicRule = Exclude<SignerRule, { readonly anyOf: unknown }>;

/** The rule list as alternatives of anyOf-free rule lists (disjunctive normal form). */
function expandSignerRules(rules: readonly SignerRule[]): AtomicRule[][] {
  let out: AtomicRule[][] = [[]];
  for (const rule of rules) {
    if ('anyOf' in rule) {
      const next: AtomicRule[][] = [];
      for (const alt of rule.anyOf)
        for (const expanded of expandSignerRules(alt))
          for (const prefix of out) next.push([...prefix, ...expanded]);
      out = next;
    } else out = out.map((prefix) => [...prefix, rule]);
    if (out.length > MAX_ALTERNATIVES * 4) return out;
  }
  return out;
}

function ruleRole(rule: AtomicRule): string {
  const ref = 'from' in rule ? rule.from : 'allOf' in rule ? rule.allOf : [rule.oneOf].flat().join('|');
  return rule.role === undefined ? ref : `${rule.role} (${ref})`;
}

function keyIdsAt(scope: Scope, ref: Ref): string[] | undefined {
  const v = resolve(scope, ref);
  const list = listOf(v);
  if (v === undefined || list.length === 0) return undefined;
  return list.every((k) => typeof k === 'string' && KEY_ID_RE.test(k)) ? (list as string[]) : undefined;
}

/** The statuses one alternative leaves (empty: it holds). */
function signerProblems(
  scope: Scope,
  rules: readonly AtomicRule[],
  signed: ReadonlySet<string>,
): EventStatus[] {
  const problems: EventStatus[] = [];
  const allowed = new Set<string>();
  for (const rule of rules) {
    const role = ruleRole(rule);
    const refs = 'from' in rule ? [rule.from] : 'allOf' in rule ? [rule.allOf] : [rule.oneOf].flat();
    const keys: string[] = [];
    let unresolved: string | undefined;
    for (const ref of refs) {
      const ks = keyIdsAt(scope, ref);
      if (ks === undefined || ('from' in rule && ks.length !== 1)) unresolved ??= ref;
      else keys.push(...ks);
    }
    if ('oneOf' in rule ? keys.length === 0 : unresolved !== undefined) {
      problems.push({ code: 'ledger.event.signer', message: `${role}: ${unresolved} names no party` });
      continue;
    }
    for (const k of keys) allowed.add(k);
    if ('oneOf' in rule) {
      if (!keys.some((k) => signed.has(k)))
        problems.push({ code: 'ledger.event.signer', message: `${role} has not signed` });
    } else
      for (const k of keys)
        if (!signed.has(k))
          problems.push({
            code: 'ledger.event.signer',
            message: `${role} has not signed (${k.slice(0, 16)}…)`,
          });
  }
  for (const k of signed)
    if (!allowed.has(k))
      problems.push({
        code: 'ledger.event.signer',
        message: `extra signer ${k.slice(0, 16)}…: no role in this event`,
      });
  return problems;
}

function checkSigners(
  scope: Scope,
  rules: readonly SignerRule[],
  signed: ReadonlySet<string>,
): EventStatus[] {
  let best: EventStatus[] | undefined;
  for (const alt of expandSignerRules(rules)) {
    const problems = signerProblems(scope, alt, signed);
    if (problems.length === 0) return [];
    if (best === undefined || problems.length < best.length) best = problems;
  }
  return best ?? [];
}

function assignContext(
  scope: Scope,
  assign: Readonly<Record<string, Assignment>> | undefined,
): { [key: string]: JsonValue } {
  const ctx: { [key: string]: JsonValue } = { ...scope.ctx };
  for (const [key, a] of Object.entries(assign ?? {})) {
    let v: JsonValue | undefined;
    if (a === null) v = undefined;
    else if (typeof a === 'string') v = resolve(scope, a);
    else if ('value' in a) v = a.value;
    else if ('add' in a) {
      const set = new Map<string, JsonValue>();
      for (const x of [...listOf(scope.ctx[key]), ...listOf(resolve(scope, a.add))])
        set.set(canonicalize(x), x);
      v = [...set.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, x]) => x);
    } else {
      const n = scope.ctx[key];
      v = (typeof n === 'number' ? n : 0) + a.increment;
    }
    if (v === undefined) delete ctx[key];
    else ctx[key] = structuredClone(v);
  }
  return ctx;
}

function nowOf(env: MachineEnv): number {
  const n = env.now;
  const d = n === undefined ? new Date() : typeof n === 'function' ? n() : n;
  return d.getTime();
}

// Any safe integer: an operator committing a late event (catch-up) may disable the check.
const skewSchema = z.optional(z.int().check(z.gte(0)));

function issues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Applies one event to a chain state (undefined: a new chain). Checks, reporting every failure
 * as a status: the event's format (`ledger.event.malformed`), machine (`ledger.event.machine`)
 * and chain (`ledger.event.chain`), `height` = previous + 1 (`ledger.event.height`), `prev` = the
 * previous hash (`ledger.event.prev`), `time` not before the previous event's nor more than
 * `env.maxClockSkewMs` ahead of `env.now` (`ledger.event.time`), the type allowed in the current
 * state (`ledger.event.transition`), the payload schema (`ledger.event.schema`), preconditions
 * (`ledger.event.condition`), signer rights — every required role signed, nobody else
 * (`ledger.event.signer`) — and every signature (`ledger.event.signature`). Preconditions and
 * signer rights are judged only for an event that extends this state in a state its type may
 * fire from (otherwise they would be measured against the wrong context). Pure: no I/O
 * (external checks: {@link checkEventExternal}). A malformed `env` throws `ledger.machine.env`.
 * @example
 * ```ts
 * const r = await applyEvent(ITEM_MACHINE, state, event, { authorities: { registrar } });
 * if (r.ok) state = r.state; else refuse(r.statuses);
 * ```
 */
export async function applyEvent(
  machine: MachineDefinition,
  state: ChainState | undefined,
  event: unknown,
  env: MachineEnv = {},
): Promise<ApplyResult> {
  const skew = z.safeParse(skewSchema, env.maxClockSkewMs);
  if (!skew.success)
    throw new OmtError('ledger.machine.env', `invalid maxClockSkewMs: ${issues(skew.error)}`);
  const maxSkew = skew.data ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  let e: ChainEvent;
  try {
    e = parseEvent(event);
  } catch (err) {
    return { ok: false, statuses: [{ code: 'ledger.event.malformed', message: (err as Error).message }] };
  }
  const hash = eventHash(e);
  const statuses: EventStatus[] = [];
  const fail = (code: string, message: string): void => {
    statuses.push({ code, message });
  };

  if (e.machine !== machine.id) fail('ledger.event.machine', `event is for ${e.machine}, not ${machine.id}`);
  if (state !== undefined && state.machine !== machine.id)
    fail('ledger.event.machine', `the chain runs ${state.machine}, not ${machine.id}`);
  if (state !== undefined && state.chain !== e.chain)
    fail('ledger.event.chain', `event is for chain ${e.chain}, the state is of ${state.chain}`);
  const height = state === undefined ? 0 : state.height + 1;
  if (e.height !== height) fail('ledger.event.height', `expected height ${height}, got ${e.height}`);
  const prev = state === undefined ? null : state.head;
  if (e.prev !== prev) fail('ledger.event.prev', `prev is not the hash of the event at height ${height - 1}`);
  const time = Date.parse(e.time);
  if (state !== undefined && time < Date.parse(state.time))
    fail('ledger.event.time', `time ${e.time} is before the previous event's ${state.time}`);
  if (time > nowOf(env) + maxSkew)
    fail('ledger.event.time', `time ${e.time} is more than ${maxSkew} ms ahead of the verifier's clock`);

  // An event that does not extend this state (another machine, chain, height or prev) is not
  // judged against it: its transition, conditions and signers would be measured on the wrong ctx.
  const linked = statuses.every((s) => s.code === 'ledger.event.time');
  const current = state === undefined ? machine.initial : state.state;
  const rule = Object.hasOwn(machine.events, e.type) ? machine.events[e.type] : undefined;
  if (rule === undefined) fail('ledger.event.transition', `${machine.id} has no event type ${e.type}`);
  else if (linked && !rule.from.includes(current))
    fail(
      'ledger.event.transition',
      `${e.type} is not allowed in state ${current} (only from ${rule.from.join(', ')})`,
    );

  const signed = new Set(e.signatures.map((s) => s.keyId));
  const scope: Scope = {
    ctx: state?.ctx ?? {},
    payload: e.payload,
    authority: env.authorities ?? {},
    event: {
      signers: [...signed].sort(),
      time: e.time,
      hash,
      height: e.height,
      type: e.type,
      chain: e.chain,
    },
  };
  if (rule !== undefined) {
    const payload = z.safeParse(rule.payload as z.ZodMiniType, e.payload);
    if (!payload.success) fail('ledger.event.schema', `invalid ${e.type} payload: ${issues(payload.error)}`);
    else if (linked && rule.from.includes(current)) {
      for (const c of rule.requires ?? [])
        if (!conditionHolds(scope, c)) fail('ledger.event.condition', `${e.type}: ${describeCondition(c)}`);
      statuses.push(...checkSigners(scope, rule.signers, signed));
    }
  }
  statuses.push(...(await verifyEventSignatures(e)));
  if (statuses.length > 0 || rule === undefined) return { ok: false, statuses, hash };
  return {
    ok: true,
    hash,
    event: e,
    state: {
      machine: machine.id,
      chain: e.chain,
      state: rule.to,
      height: e.height,
      head: hash,
      time: e.time,
      ctx: assignContext(scope, rule.assign),
    },
  };
}

/**
 * Folds {@link applyEvent} over a chain from height 0: the last state, or the first refused
 * event's height with its statuses (and the state before it). An empty list is refused
 * (`ledger.event.height`). Deterministic: the same events give the same state.
 * @example
 * ```ts
 * const r = await replayChain(getMachine(events[0].machine), events, env);
 * ```
 */
export async function replayChain(
  machine: MachineDefinition,
  events: readonly unknown[],
  env: MachineEnv = {},
): Promise<ReplayResult> {
  if (!Array.isArray(events) || events.length === 0)
    return {
      ok: false,
      height: 0,
      statuses: [{ code: 'ledger.event.height', message: 'a chain has at least one event' }],
    };
  let state: ChainState | undefined;
  for (const [height, event] of events.entries()) {
    const r = await applyEvent(machine, state, event, env);
    if (!r.ok)
      return state === undefined
        ? { ok: false, height, statuses: r.statuses }
        : { ok: false, height, statuses: r.statuses, state };
    state = r.state;
  }
  return { ok: true, state: state as ChainState };
}

/** What an external check is asked. */
export interface ExternalCheckRequest {
  readonly machine: string;
  readonly chain: string;
  readonly type: string;
  /** The spec's `args`, resolved against the event and the state before it (absent → undefined). */
  readonly args: Readonly<Record<string, JsonValue | undefined>>;
  readonly event: ChainEvent;
  readonly state: ChainState | undefined;
}

/** A check outside the chain (an invoice is paid…): the statuses it found (empty: it holds). */
export type ExternalCheck = (request: ExternalCheckRequest) => Promise<readonly EventStatus[]>;

/**
 * Runs the external checks an event's rule names (`external`), with the check functions the
 * operator configured, after {@link applyEvent} accepted the event and before the operator votes.
 * Never throws for a failing check: a check that is not configured, throws, or finds a problem
 * gives statuses (`ledger.event.external` for the first two). An event whose type the machine
 * does not know, or a malformed one, gives `ledger.event.transition` / `ledger.event.malformed`.
 * @example
 * ```ts
 * const statuses = await checkEventExternal(ITEM_MACHINE, state, event, { checks: paymentChecks(payments) });
 * ```
 */
export async function checkEventExternal(
  machine: MachineDefinition,
  state: ChainState | undefined,
  event: unknown,
  env: {
    readonly checks: Readonly<Record<string, ExternalCheck>>;
    readonly authorities?: MachineEnv['authorities'];
  },
): Promise<EventStatus[]> {
  let e: ChainEvent;
  try {
    e = parseEvent(event);
  } catch (err) {
    return [{ code: 'ledger.event.malformed', message: (err as Error).message }];
  }
  const rule = Object.hasOwn(machine.events, e.type) ? machine.events[e.type] : undefined;
  if (rule === undefined)
    return [{ code: 'ledger.event.transition', message: `${machine.id} has no event type ${e.type}` }];
  const scope: Scope = {
    ctx: state?.ctx ?? {},
    payload: e.payload,
    authority: env.authorities ?? {},
    event: {
      signers: [...new Set(e.signatures.map((s) => s.keyId))].sort(),
      time: e.time,
      hash: eventHash(e),
      height: e.height,
      type: e.type,
      chain: e.chain,
    },
  };
  const out: EventStatus[] = [];
  for (const spec of rule.external ?? []) {
    const check = Object.hasOwn(env.checks, spec.check) ? env.checks[spec.check] : undefined;
    if (check === undefined) {
      out.push({ code: 'ledger.event.external', message: `no external check ${spec.check} is configured` });
      continue;
    }
    const args: Record<string, JsonValue | undefined> = {};
    for (const [k, ref] of Object.entries(spec.args ?? {})) args[k] = resolve(scope, ref);
    try {
      out.push(
        ...(await check({ machine: machine.id, chain: e.chain, type: e.type, args, event: e, state })),
      );
    } catch (err) {
      const why = err instanceof Error ? err.message : 'failed';
      out.push({ code: 'ledger.event.external', message: `${spec.check}: ${why}` });
    }
  }
  return out;
}
