import { canonicalize } from '@omt/core/jcs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MachineEnv, replayChain } from '../src/machine.js';
import { MANIFEST_MACHINE } from '../src/machine-manifest.js';
import { type Actor, actors, codes, messages, NOW, TestChain } from './event-fixtures.js';

let editor: Actor;
let reviewer: Actor;
let legal: Actor;
let compliance: Actor;
let outsider: Actor;
let env: MachineEnv;

beforeAll(async () => {
  ({ editor, reviewer, legal, compliance, outsider } = await actors([
    'editor',
    'reviewer',
    'legal',
    'compliance',
    'outsider',
  ]));
  env = { authorities: { legal: legal.keyId, compliance: compliance.keyId }, now: NOW };
});

const h1 = '11'.repeat(32);
const h2 = '22'.repeat(32);

async function reviewed(): Promise<TestChain> {
  const c = new TestChain(MANIFEST_MACHINE, 'manifest:asset-42', env);
  await c.step(
    'draft',
    { editor: editor.keyId, manifestHash: h1, assetUri: 'https://cdn.example/a/42.jpg' },
    [editor],
  );
  await c.step('submitForReview', { manifestHash: h1, reviewer: reviewer.keyId }, [editor]);
  await c.step('review', { manifestHash: h1 }, [reviewer]);
  return c;
}

describe('omt.manifest/v1', () => {
  it('lives: draft, revise, review with changes, approvals in either order, publish, revoke', async () => {
    const c = new TestChain(MANIFEST_MACHINE, 'manifest:asset-41', env);
    await c.step(
      'draft',
      { editor: editor.keyId, manifestHash: h1, assetUri: 'https://cdn.example/a/41.jpg', title: 'Flood' },
      [editor],
    );
    await c.step('submitForReview', { manifestHash: h1, reviewer: reviewer.keyId }, [editor]);
    await c.step('requestChanges', { manifestHash: h1, comment: 'crop the caption' }, [reviewer]);
    expect(c.state?.state).toBe('draft');
    expect(c.state?.ctx.reviewer).toBeUndefined();
    await c.step('revise', { manifestHash: h2, assetUri: 'https://cdn.example/a/41b.jpg' }, [editor]);
    await c.step('submitForReview', { manifestHash: h2, reviewer: reviewer.keyId }, [editor]);
    await c.step('review', { manifestHash: h2, comment: 'fine' }, [reviewer]);
    await c.step('approveCompliance', { manifestHash: h2 }, [compliance]);
    await c.step('approveLegal', { manifestHash: h2 }, [legal]);
    await c.step('publish', { manifestHash: h2 }, [editor]);
    expect(c.state?.state).toBe('published');
    expect(c.state?.ctx).toMatchObject({
      manifestHash: h2,
      revisions: 1,
      assetUri: 'https://cdn.example/a/41b.jpg',
    });
    await c.step('revoke', { reason: 'rights withdrawn' }, [legal]);
    expect(c.state?.state).toBe('revoked');
    const replayed = await replayChain(MANIFEST_MACHINE, c.events, env);
    expect(replayed.ok && canonicalize(replayed.state)).toBe(canonicalize(c.state));
  });

  it('publishes only with both approvals, each given once by its authority', async () => {
    const c = await reviewed();
    const none = await c.attempt('publish', { manifestHash: h1 }, [editor]);
    expect(codes(none)).toEqual(['ledger.event.condition']);
    expect(messages(none)).toContain('legal approval is missing');
    expect(messages(none)).toContain('compliance approval is missing');
    expect(codes(await c.attempt('approveLegal', { manifestHash: h1 }, [compliance]))).toEqual([
      'ledger.event.signer',
    ]);
    expect(codes(await c.attempt('approveLegal', { manifestHash: h1 }, [legal, compliance]))).toEqual([
      'ledger.event.signer',
    ]);
    expect(codes(await c.attempt('approveLegal', { manifestHash: h2 }, [legal]))).toEqual([
      'ledger.event.condition',
    ]);
    await c.step('approveLegal', { manifestHash: h1 }, [legal]);
    expect(codes(await c.attempt('approveLegal', { manifestHash: h1 }, [legal]))).toEqual([
      'ledger.event.condition',
    ]);
    const half = await c.attempt('publish', { manifestHash: h1 }, [editor]);
    expect(codes(half)).toEqual(['ledger.event.condition']);
    expect(messages(half)).not.toContain('legal approval is missing');
    await c.step('approveCompliance', { manifestHash: h1 }, [compliance]);
    expect(codes(await c.attempt('publish', { manifestHash: h1 }, [reviewer]))).toEqual([
      'ledger.event.signer',
    ]);
    expect((await c.attempt('publish', { manifestHash: h1 }, [editor])).ok).toBe(true);
  });

  it('refuses self-review, wrong reviewers, early and unauthorised revocation, bad payloads', async () => {
    const c = new TestChain(MANIFEST_MACHINE, 'manifest:asset-43', env);
    expect(
      codes(
        await c.attempt('draft', { editor: editor.keyId, manifestHash: h1, assetUri: 'http://x' }, [editor]),
      ),
    ).toEqual(['ledger.event.schema']);
    expect(
      codes(
        await c.attempt('draft', { editor: editor.keyId, manifestHash: h1, assetUri: 'https://x' }, [
          outsider,
        ]),
      ),
    ).toEqual(['ledger.event.signer']);
    await c.step('draft', { editor: editor.keyId, manifestHash: h1, assetUri: 'urn:omt:asset:43' }, [editor]);
    expect(
      codes(await c.attempt('submitForReview', { manifestHash: h1, reviewer: editor.keyId }, [editor])),
    ).toEqual(['ledger.event.condition']);
    expect(codes(await c.attempt('review', { manifestHash: h1 }, [reviewer]))).toEqual([
      'ledger.event.transition',
    ]);
    await c.step('submitForReview', { manifestHash: h1, reviewer: reviewer.keyId }, [editor]);
    expect(codes(await c.attempt('review', { manifestHash: h1 }, [editor]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('review', { manifestHash: h2 }, [reviewer]))).toEqual([
      'ledger.event.condition',
    ]);
    expect(codes(await c.attempt('revoke', { reason: 'x' }, [legal]))).toEqual(['ledger.event.transition']);
    await c.step('review', { manifestHash: h1 }, [reviewer]);
    await c.step('approveLegal', { manifestHash: h1 }, [legal]);
    await c.step('approveCompliance', { manifestHash: h1 }, [compliance]);
    await c.step('publish', { manifestHash: h1 }, [editor]);
    expect(codes(await c.attempt('revoke', { reason: 'x' }, [outsider]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('revoke', { reason: 'x' }, [reviewer]))).toEqual(['ledger.event.signer']);
    expect(codes(await c.attempt('revoke', {}, [editor]))).toEqual(['ledger.event.schema']);
    expect((await c.attempt('revoke', { reason: 'x' }, [compliance])).ok).toBe(true);
    expect((await c.attempt('revoke', { reason: 'x' }, [editor])).ok).toBe(true);
    await c.step('revoke', { reason: 'retracted' }, [editor, legal]);
    expect(codes(await c.attempt('publish', { manifestHash: h1 }, [editor]))).toEqual([
      'ledger.event.transition',
    ]);
  });
});
