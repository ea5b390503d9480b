import { isOmtError } from '@omt/core/errors';
import { canonicalize } from '@omt/core/jcs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  applyEvent,
  checkEventExternal,
  defineMachine,
  type MachineDefinition,
  machineRegistry,
  replayChain,
} from '../src/machine.js';
import { CONTRACT_MACHINE } from '../src/machine-contract.js';
import { ITEM_MACHINE } from '../src/machine-item.js';
import { MANIFEST_MACHINE } from '../src/machine-manifest.js';
import { type Actor, actors, codes, NOW, TestChain } from './event-fixtures.js';

const keyId = z.string().check(z.regex(/^[0-9a-f]{64}$/));

/** A small valid machine: a door with an owner and a lock counter. */
function door(): MachineDefinition {
  return {
    id: 'acme.door/v1',
    title: 'Door',
    states: ['none', 'shut', 'open', 'gone'],
    initial: 'none',
    terminal: ['gone'],
    authorities: ['locksmith'],
    events: {
      install: {
        from: ['none'],
        to: 'shut',
        payload: z.strictObject({ owner: keyId, guests: z.optional(z.array(keyId)) }),
        signers: [{ role: 'locksmith', from: 'authority.locksmith' }],
        assign: { owner: 'payload.owner', guests: 'payload.guests' },
      },
      open: {
        from: ['shut'],
        to: 'open',
        payload: z.strictObject({}),
        signers: [
          { anyOf: [[{ role: 'owner', from: 'ctx.owner' }], [{ role: 'guests', allOf: 'ctx.guests' }]] },
        ],
        assign: { opened: { increment: 1 }, openers: { add: 'event.signers' } },
      },
      close: {
        from: ['open'],
        to: 'shut',
        payload: z.strictObject({}),
        signers: [{ role: 'anyone', oneOf: ['ctx.owner', 'ctx.guests'] }],
        assign: { note: { value: { closed: true } } },
      },
      remove: {
        from: ['shut', 'open'],
        to: 'gone',
        payload: z.strictObject({}),
        signers: [
          { role: 'owner', from: 'ctx.owner' },
          { role: 'locksmith', from: 'authority.locksmith' },
        ],
        requires: [{ present: 'ctx.opened', message: 'never used' }],
        assign: { owner: null },
      },
    },
  };
}

function expectInvalid(def: unknown, fragment: string): void {
  let thrown: unknown;
  try {
    defineMachine(def as MachineDefinition);
  } catch (e) {
    thrown = e;
  }
  expect(isOmtError(thrown, 'ledger.machine.invalid'), String(thrown)).toBe(true);
  expect((thrown as Error).message).toContain(fragment);
}

// biome-ignore lint/suspicious/noExplicitAny: tests mutate a definition copy freely
type Loose = Record<string, any>;

function edit(patch: (d: Loose) => void): unknown {
  const d = door() as unknown as Loose;
  const copy = {
    ...d,
    events: Object.fromEntries(Object.entries(d.events).map(([k, v]) => [k, { ...(v as object) }])),
  };
  patch(copy);
  return copy;
}

describe('defineMachine', () => {
  it('accepts the shipped machines and a custom one', () => {
    for (const m of [ITEM_MACHINE, CONTRACT_MACHINE, MANIFEST_MACHINE, door()])
      expect(defineMachine(m).id).toBe(m.id);
  });

  it('refuses malformed definitions', () => {
    expectInvalid(null, 'object');
    expectInvalid(
      edit((d) => (d.id = 'door')),
      'id',
    );
    expectInvalid(
      edit((d) => (d.title = '')),
      'title',
    );
    expectInvalid(
      edit((d) => (d.extra = 1)),
      'unknown member extra',
    );
    expectInvalid(
      edit((d) => (d.states = [...d.states, 'shut'])),
      'twice',
    );
    expectInvalid(
      edit((d) => (d.states = [...d.states, 'Bad State'])),
      'not a name',
    );
    expectInvalid(
      edit((d) => (d.initial = 'nowhere')),
      'initial',
    );
    expectInvalid(
      edit((d) => (d.terminal = ['nowhere'])),
      'terminal nowhere',
    );
    expectInvalid(
      edit((d) => (d.terminal = ['none'])),
      'initial state cannot be terminal',
    );
    expectInvalid(
      edit((d) => (d.events = {})),
      'events',
    );
    expectInvalid(
      edit((d) => (d.events.open.from = ['ajar'])),
      'open.from: ajar is not a state',
    );
    expectInvalid(
      edit((d) => (d.events.open.from = [])),
      'open.from',
    );
    expectInvalid(
      edit((d) => (d.events.open.to = 'ajar')),
      'open.to',
    );
    expectInvalid(
      edit((d) => (d.events.open.from = ['gone'])),
      'is terminal',
    );
    expectInvalid(
      edit((d) => (d.events.open.payload = { parse() {} })),
      'zod schema',
    );
    expectInvalid(
      edit((d) => (d.events.open.colour = 'red')),
      'unknown member colour',
    );
    expectInvalid(
      edit((d) => (d.events.Open = d.events.open)),
      'not a name',
    );
  });

  it('refuses unreachable states and dead ends', () => {
    expectInvalid(
      edit((d) => (d.states = [...d.states, 'ajar'])),
      'ajar is unreachable',
    );
    expectInvalid(
      edit((d) => {
        d.events.remove.from = ['shut'];
        d.events.close.from = ['shut'];
        d.events.close.to = 'shut';
      }),
      'no event leaves open',
    );
  });

  it('refuses unknown references', () => {
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'authority.janitor' }])),
      'no declared authority',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'ctx.landlord' }])),
      'no event assigns',
    );
    expectInvalid(
      edit((d) => (d.events.install.assign = { owner: 'payload.landlord' })),
      'not a member of the payload',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'event.mood' }])),
      'event.',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'owner' }])),
      'is not a reference',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'ctx.__proto__.x' }])),
      'no event assigns',
    );
    expectInvalid(
      edit((d) => (d.events.open.requires = [{ equal: ['ctx.owner'] }])),
      'pair',
    );
    expectInvalid(
      edit((d) => (d.events.open.requires = [{ equal: ['ctx.owner', 'ctx.x'] }])),
      'no event assigns',
    );
    expectInvalid(
      edit((d) => (d.events.open.external = [{ check: 'pay', args: { a: 'ctx.y' } }])),
      'no event assigns',
    );
  });

  it('refuses malformed rules, conditions and assignments', () => {
    expectInvalid(
      edit((d) => (d.events.open.signers = [])),
      'non-empty',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'ctx.owner', allOf: 'ctx.guests' }])),
      'exactly one',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'ctx.owner', role: 'Big Boss' }])),
      'role',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ from: 'ctx.owner', weight: 2 }])),
      'unknown member weight',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ oneOf: [] }])),
      'empty',
    );
    expectInvalid(
      edit((d) => (d.events.open.signers = [{ anyOf: [[{ from: 'ctx.owner' }]] }])),
      'two alternatives',
    );
    const alt = [[{ from: 'ctx.owner' }], [{ from: 'authority.locksmith' }]];
    expectInvalid(
      edit(
        (d) =>
          (d.events.open.signers = [
            { anyOf: alt },
            { anyOf: alt },
            { anyOf: alt },
            { anyOf: alt },
            { anyOf: alt },
          ]),
      ),
      'more than 16',
    );
    expectInvalid(
      edit((d) => (d.events.open.requires = [{ sometimes: 'ctx.owner' }])),
      'exactly one',
    );
    expectInvalid(
      edit((d) => (d.events.open.requires = [{ present: 'ctx.owner', absent: 'ctx.owner' }])),
      'exactly one',
    );
    expectInvalid(
      edit((d) => (d.events.open.requires = [{ present: 'ctx.owner', message: 7 }])),
      'message',
    );
    expectInvalid(
      edit((d) => (d.events.open.requires = 'always')),
      'requires',
    );
    expectInvalid(
      edit((d) => (d.events.open.assign = { 'Bad Key': null })),
      'name',
    );
    expectInvalid(
      edit((d) => (d.events.open.assign = { opened: { increment: 0.5 } })),
      'integer',
    );
    expectInvalid(
      edit((d) => (d.events.open.assign = { opened: { multiply: 2 } })),
      'reference, null',
    );
    expectInvalid(
      edit((d) => (d.events.open.assign = { opened: { value: Number.NaN } })),
      'not JSON',
    );
    expectInvalid(
      edit((d) => (d.events.open.external = [{ check: 'Pay Now' }])),
      'check name',
    );
    expectInvalid(
      edit((d) => (d.events.open.effects = ['Pay Now'])),
      'effects',
    );
  });
});

describe('machineRegistry', () => {
  it('finds machines by id and refuses duplicates and unknown ids', () => {
    const reg = machineRegistry([ITEM_MACHINE, CONTRACT_MACHINE, MANIFEST_MACHINE]);
    expect(reg.ids).toEqual(['omt.contract/v1', 'omt.item/v1', 'omt.manifest/v1']);
    expect(reg.getMachine('omt.item/v1')).toBe(ITEM_MACHINE);
    expect(reg.findMachine('omt.nothing/v1')).toBeUndefined();
    expect(() => reg.getMachine('omt.nothing/v1')).toThrow(
      expect.objectContaining({ code: 'ledger.machine.unknown' }),
    );
    expect(() => machineRegistry([ITEM_MACHINE, ITEM_MACHINE])).toThrow(
      expect.objectContaining({ code: 'ledger.machine.invalid' }),
    );
  });
});

describe('applyEvent with a custom machine', () => {
  let smith: Actor;
  let owner: Actor;
  let g1: Actor;
  let g2: Actor;
  let stranger: Actor;
  const machine = defineMachine(door());

  beforeAll(async () => {
    ({ smith, owner, g1, g2, stranger } = await actors(['smith', 'owner', 'g1', 'g2', 'stranger']));
  });

  function chain(): TestChain {
    return new TestChain(machine, 'door:front', { authorities: { locksmith: smith.keyId }, now: NOW });
  }

  it('interprets alternatives, sets, counters and literals', async () => {
    const c = chain();
    await c.step('install', { owner: owner.keyId, guests: [g2.keyId, g1.keyId] }, [smith]);
    expect(codes(await c.attempt('open', {}, [g1]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('open', {}, [owner, g1]))).toEqual(['ledger.event.signer']);
    await c.step('open', {}, [g1, g2]);
    expect(c.state?.ctx.openers).toEqual([g1.keyId, g2.keyId].sort());
    await c.step('close', {}, [g1]);
    expect(c.state?.ctx.note).toEqual({ closed: true });
    await c.step('open', {}, [owner]);
    expect(c.state?.ctx.opened).toBe(2);
    expect(c.state?.ctx.openers).toEqual([g1.keyId, g2.keyId, owner.keyId].sort());
    expect(codes(await c.attempt('remove', {}, [owner]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('remove', {}, [owner, smith, stranger]))).toEqual(['ledger.event.signer']);
    await c.step('remove', {}, [smith, owner]);
    expect(c.state?.state).toBe('gone');
    expect(c.state?.ctx.owner).toBeUndefined();
    expect(JSON.parse(canonicalize(c.state))).toEqual(c.state);
  });

  it('refuses a missing condition and unresolvable roles', async () => {
    const c = chain();
    await c.step('install', { owner: owner.keyId }, [smith]);
    expect(codes(await c.attempt('remove', {}, [owner, smith]))).toEqual(['ledger.event.condition']);
    // no guests: the guests alternative names nobody, the owner one still works
    expect(codes(await c.attempt('open', {}, [g1]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('close', {}, [owner]))).toEqual(['ledger.event.transition']);
  });

  it('refuses another machine, another chain and malformed events', async () => {
    const c = chain();
    await c.step('install', { owner: owner.keyId }, [smith]);
    const e = await c.make('open', {}, [owner]);
    expect(codes(await applyEvent(machine, c.state, { ...e, machine: 'acme.gate/v1' }, c.env))).toContain(
      'ledger.event.machine',
    );
    expect(codes(await applyEvent(ITEM_MACHINE, c.state, e, c.env))).toContain('ledger.event.machine');
    expect(codes(await applyEvent(machine, c.state, { ...e, chain: 'door:back' }, c.env))).toContain(
      'ledger.event.chain',
    );
    expect(codes(await applyEvent(machine, c.state, 'garbage', c.env))).toEqual(['ledger.event.malformed']);
    expect(codes(await applyEvent(machine, c.state, { ...e, signatures: [] }, c.env))).toEqual([
      'ledger.event.malformed',
    ]);
    await expect(applyEvent(machine, c.state, e, { maxClockSkewMs: -1 })).rejects.toMatchObject({
      code: 'ledger.machine.env',
    });
    expect((await applyEvent(machine, c.state, e, { now: () => NOW })).ok).toBe(true);
  });

  it('replayChain folds, reports the first refused height, refuses an empty chain', async () => {
    const c = chain();
    await c.step('install', { owner: owner.keyId }, [smith]);
    await c.step('open', {}, [owner]);
    await c.step('close', {}, [owner]);
    const ok = await replayChain(machine, c.events, c.env);
    expect(ok.ok && ok.state.head).toBe(c.state?.head);
    const swapped = [c.events[0], c.events[2], c.events[1]];
    const bad = await replayChain(machine, swapped, c.env);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.height).toBe(1);
    expect(!bad.ok && bad.state?.height).toBe(0);
    const first = await replayChain(machine, c.events.slice(1), c.env);
    expect(!first.ok && first.height).toBe(0);
    expect(codes(first as never)).toEqual(['ledger.event.height', 'ledger.event.prev']);
    expect(codes((await replayChain(machine, [], c.env)) as never)).toEqual(['ledger.event.height']);
  });

  it('checkEventExternal runs the named checks with resolved arguments', async () => {
    const m = defineMachine({
      ...door(),
      events: {
        ...door().events,
        open: {
          ...door().events.open,
          external: [{ check: 'door.allowed', args: { who: 'ctx.owner', t: 'event.time' } }],
        },
      } as MachineDefinition['events'],
    });
    const c = new TestChain(m, 'door:side', { authorities: { locksmith: smith.keyId }, now: NOW });
    await c.step('install', { owner: owner.keyId }, [smith]);
    const e = await c.make('open', {}, [owner]);
    const seen: unknown[] = [];
    const statuses = await checkEventExternal(m, c.state, e, {
      checks: {
        'door.allowed': async (req) => {
          seen.push(req.args);
          return req.args.who === owner.keyId ? [] : [{ code: 'x.no', message: 'no' }];
        },
      },
    });
    expect(statuses).toEqual([]);
    expect(seen).toEqual([{ who: owner.keyId, t: e.time }]);
    const thrown = await checkEventExternal(m, c.state, e, {
      checks: {
        'door.allowed': async () => {
          throw new Error('provider down');
        },
      },
    });
    expect(codes({ statuses: thrown })).toEqual(['ledger.event.external']);
    expect(codes({ statuses: await checkEventExternal(m, c.state, e, { checks: {} }) })).toEqual([
      'ledger.event.external',
    ]);
    expect(codes({ statuses: await checkEventExternal(m, c.state, 'x', { checks: {} }) })).toEqual([
      'ledger.event.malformed',
    ]);
    expect(await checkEventExternal(m, c.state, await c.make('close', {}, [owner]), { checks: {} })).toEqual(
      [],
    );
  });
});
