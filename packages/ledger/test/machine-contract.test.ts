import { toHex, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { canonicalize } from '@omt/core/jcs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MachineEnv, replayChain } from '../src/machine.js';
import { CONTRACT_MACHINE, type ContractTerms, contractTermsHash } from '../src/machine-contract.js';
import { type Actor, actors, codes, messages, NOW, TestChain } from './event-fixtures.js';

let provider: Actor;
let c1: Actor;
let c2: Actor;
let outsider: Actor;
const env: MachineEnv = { now: NOW };

beforeAll(async () => {
  // The default suite, ML-DSA-65, for every party of this file.
  ({ provider, c1, c2, outsider } = await actors(['provider', 'c1', 'c2', 'outsider'], 'ML-DSA-65'));
});

const terms: ContractTerms = {
  purpose: 'Training a news recommendation model',
  datasets: ['urn:omt:dataset:archive-2020', 'urn:omt:dataset:photos-2021'],
  price: { amount: '500000', currency: 'EUR' },
  durationDays: 365,
  jurisdiction: 'DE',
  clauses: { attribution: 'Credit the provider in model cards.' },
};
const termsHash = contractTermsHash(terms);
const amended: ContractTerms = { ...terms, durationDays: 730 };

function draftPayload(over: Record<string, unknown> = {}) {
  return {
    provider: provider.keyId,
    parties: [provider.keyId, c1.keyId, c2.keyId],
    terms,
    termsHash,
    ...over,
  } as never;
}

async function offered(): Promise<TestChain> {
  const c = new TestChain(CONTRACT_MACHINE, 'contract:7c0e2b1a-1', env);
  await c.step('draft', draftPayload(), [provider]);
  await c.step('offer', { termsHash }, [provider]);
  return c;
}

describe('omt.contract/v1', () => {
  it('terms hash is SHA-256 of the JCS terms', () => {
    expect(termsHash).toBe(toHex(sha256(utf8(canonicalize(terms)))));
    expect(contractTermsHash({ ...terms, clauses: terms.clauses, purpose: terms.purpose })).toBe(termsHash);
  });

  it('lives: draft, offer, signatures by each party, activate, amend, terminate', {
    timeout: 60_000,
  }, async () => {
    const c = await offered();
    await c.step('sign', { termsHash }, [provider]);
    await c.step('sign', { termsHash }, [c1, c2]);
    expect(c.state?.ctx.signed).toEqual([provider.keyId, c1.keyId, c2.keyId].sort());
    await c.step('activate', { termsHash }, [c1]);
    expect(c.state?.state).toBe('active');
    const newHash = contractTermsHash(amended);
    await c.step('amend', { terms: amended, termsHash: newHash } as never, [c2, provider, c1]);
    expect(c.state?.ctx).toMatchObject({ termsHash: newHash, amendments: 1 });
    expect(c.state?.ctx.terms).toEqual(amended);
    await c.step('terminate', { reason: 'project ended' }, [c2]);
    expect(c.state?.state).toBe('terminated');
    expect(c.state?.ctx.terminationReason).toBe('project ended');
    expect(c.events.every((e) => e.signatures.every((s) => s.alg === 'ML-DSA-65'))).toBe(true);
    const replayed = await replayChain(CONTRACT_MACHINE, c.events, env);
    expect(replayed.ok && canonicalize(replayed.state)).toBe(canonicalize(c.state));
  });

  it('refuses bad drafts', { timeout: 60_000 }, async () => {
    const c = new TestChain(CONTRACT_MACHINE, 'contract:7c0e2b1a-2', env);
    expect(codes(await c.attempt('draft', draftPayload({ termsHash: 'ab'.repeat(32) }), [provider]))).toEqual(
      ['ledger.event.schema'],
    );
    expect(
      codes(
        await c.attempt('draft', draftPayload({ parties: [provider.keyId, c1.keyId, c1.keyId] }), [provider]),
      ),
    ).toEqual(['ledger.event.schema']);
    expect(codes(await c.attempt('draft', draftPayload({ parties: [provider.keyId] }), [provider]))).toEqual([
      'ledger.event.schema',
    ]);
    expect(
      codes(await c.attempt('draft', draftPayload({ terms: { ...terms, datasets: [] } }), [provider])),
    ).toEqual(['ledger.event.schema']);
    expect(
      codes(await c.attempt('draft', draftPayload({ parties: [c1.keyId, c2.keyId] }), [provider])),
    ).toEqual(['ledger.event.condition']);
    expect(codes(await c.attempt('draft', draftPayload(), [c1]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('sign', { termsHash }, [provider]))).toEqual(['ledger.event.transition']);
  });

  it('refuses double signatures, outsiders, early activation, partial amendments', {
    timeout: 60_000,
  }, async () => {
    const c = await offered();
    expect(codes(await c.attempt('sign', { termsHash }, [outsider]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('sign', { termsHash }, [c1, outsider]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('sign', { termsHash: 'cd'.repeat(32) }, [c1]))).toEqual([
      'ledger.event.condition',
    ]);
    await c.step('sign', { termsHash }, [c1]);
    const twice = await c.attempt('sign', { termsHash }, [c1]);
    expect(codes(twice)).toEqual(['ledger.event.condition']);
    expect(messages(twice)).toContain('signs only once');
    expect(codes(await c.attempt('sign', { termsHash }, [c1, c2]))).toEqual(['ledger.event.condition']);
    const early = await c.attempt('activate', { termsHash }, [c1]);
    expect(codes(early)).toEqual(['ledger.event.condition']);
    expect(messages(early)).toContain('not every party has signed');
    await c.step('sign', { termsHash }, [c2, provider]);
    expect(codes(await c.attempt('activate', { termsHash }, [outsider]))).toEqual(['ledger.event.signer']);
    await c.step('activate', { termsHash }, [provider]);
    const newHash = contractTermsHash(amended);
    expect(
      codes(await c.attempt('amend', { terms: amended, termsHash: newHash } as never, [provider, c1])),
    ).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('amend', { terms, termsHash } as never, [provider, c1, c2]))).toEqual([
      'ledger.event.condition',
    ]);
    expect(
      codes(await c.attempt('amend', { terms: amended, termsHash } as never, [provider, c1, c2])),
    ).toEqual(['ledger.event.schema']);
    expect(codes(await c.attempt('terminate', {}, [c1]))).toEqual(['ledger.event.schema']);
    await c.step('terminate', { reason: 'breach' }, [c1]);
    expect(codes(await c.attempt('terminate', { reason: 'again' }, [c1]))).toEqual([
      'ledger.event.transition',
    ]);
    expect(codes(await c.attempt('sign', { termsHash }, [c1]))).toEqual(['ledger.event.transition']);
  });
});
