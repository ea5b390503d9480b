import { readFileSync } from 'node:fs';
import { utf8 } from '@omt/core/bytes';
import { hashLeaf, merkleRoot } from '@omt/core/merkle';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../src/tlog-checkpoint.js';
import { cosignCheckpoint, newCosignerKey } from '../src/tlog-cosignature.js';
import { newNoteKey } from '../src/tlog-note.js';
import { evaluatePolicy, formatPolicy, operatorNetworkPolicy, parsePolicy } from '../src/tlog-policy.js';

const V = JSON.parse(readFileSync(new URL('../../../testdata/c2sp/vectors.json', import.meta.url), 'utf8'));
const code = (c: string) => expect.objectContaining({ code: c });

describe('parsePolicy — transparency-dev vectors', () => {
  it('tidy, whitespace and comments, thresholds', () => {
    for (const text of [V.policy.tidy, V.policy.whitespace]) {
      const p = parsePolicy(text);
      expect(p.witnesses.map((w) => w.name)).toEqual(['w1', 'w2']);
      expect(p.witnesses[0]?.url).toBe('https://sigsum.org/witness/');
      expect(p.groups).toEqual([{ name: 'g1', threshold: 2, members: ['w1', 'w2'] }]);
      expect(p.quorum).toBe('g1');
    }
    const t = parsePolicy(V.policy.threshold);
    expect(t.groups[0]?.threshold).toBe(2);
    expect(t.witnesses.map((w) => w.verifier.type)).toEqual([
      'cosignature/v1',
      'cosignature/v1',
      'cosignature/v1',
    ]);
  });

  it('errors → ledger.policy.invalid', () => {
    for (const text of V.policy.errors)
      expect(() => parsePolicy(text), text.slice(0, 30)).toThrow(code('ledger.policy.invalid'));
  });
});

describe('parsePolicy — spec rules', () => {
  let n = 0;
  const witness = async () => (await newCosignerKey(`w${n++}.example`, 'Ed25519')).vkey;

  it('refuses what the spec refuses', async () => {
    const [a, b, c] = [await witness(), await witness(), await witness()];
    const log = (await newNoteKey('log.example', 'Ed25519')).vkey;
    const bad = [
      `witness a ${a}\nwitness b ${a}\nquorum a`, // duplicate witness key
      `log ${log}\nlog ${log}\nquorum none`, // duplicate log key
      `witness a ${a}\ngroup g 1 a\ngroup h 1 a\nquorum g`, // a member twice in the file
      `witness a ${a}\ngroup g 2 a\nquorum g`, // k > n
      `witness a ${a}\ngroup g 0 a\nquorum g`, // k < 1
      `witness a ${a}\ngroup g 01 a\nquorum g`,
      `witness a ${a}\ngroup g any\nquorum g`, // no members
      `group g any a\nwitness a ${a}\nquorum g`, // member defined later
      `witness a ${a}\nquorum a\nquorum a`, // two quorums
      `witness a ${a}\nwitness a ${b}\nquorum a`, // duplicate name
      `witness a ${a}\ngroup a any a\nquorum a`,
      `witness any ${a}\nquorum any`,
      `witness a ${a}\ngroup g any none\nquorum g`,
      `witness a ${a}\nquorum a\r\n`, // CR is not allowed
      `witness a ${a}\x7f\nquorum a`,
      `witness a ${a} url extra\nquorum a`,
      `witness a ${log}\nquorum a`, // a log key type that is not a cosigner key... Ed25519 0x01 is accepted as cosignature/v1
      `log ${a}\nquorum none`, // a cosignature key is not a log key
      `frobnicate\nquorum none`,
      '',
    ];
    for (const text of bad) {
      if (text.startsWith(`witness a ${log}`)) {
        expect(parsePolicy(text).witnesses[0]?.verifier.type).toBe('cosignature/v1');
        continue;
      }
      expect(() => parsePolicy(text), text.slice(0, 60)).toThrow(code('ledger.policy.invalid'));
    }
    // Non-ASCII names and comments are opaque octets: allowed.
    expect(parsePolicy(`# ünïcode comment\nwitness ünï ${c}\nquorum ünï`).witnesses[0]?.name).toBe('ünï');
    expect(parsePolicy('quorum none').quorum).toBe('none');
  });

  it('requireMajority: every group on the quorum path needs 2k > n; none is refused', async () => {
    const ws = await Promise.all([1, 2, 3, 4].map(() => witness()));
    const base = ws.map((w, i) => `witness x${i} ${w}`).join('\n');
    expect(() => parsePolicy(`${base}\ngroup g 2 x0 x1 x2 x3\nquorum g`, { requireMajority: true })).toThrow(
      code('ledger.policy.invalid'),
    );
    expect(
      parsePolicy(`${base}\ngroup g 3 x0 x1 x2 x3\nquorum g`, { requireMajority: true }).groups[0]?.threshold,
    ).toBe(3);
    expect(() =>
      parsePolicy(`${base}\ngroup g any x0 x1\ngroup h all g x2\nquorum h`, { requireMajority: true }),
    ).toThrow(code('ledger.policy.invalid'));
    expect(() => parsePolicy('quorum none', { requireMajority: true })).toThrow(
      code('ledger.policy.invalid'),
    );
    expect(parsePolicy(`${base}\nquorum x0`, { requireMajority: true }).quorum).toBe('x0');
  });

  it('formatPolicy round trips', async () => {
    const log = await newNoteKey('log.example', 'ML-DSA-65');
    const text = `log ${log.vkey} https://log.example/\nwitness a ${await witness()}\nwitness b ${await witness()}\nwitness c ${await witness()}\ngroup g 2 a b c\nquorum g\n`;
    expect(formatPolicy(parsePolicy(text))).toBe(text);
  });
});

describe('evaluatePolicy', () => {
  it('a real checkpoint: log arche2025h1 + witness remora.n621.de satisfies "quorum remora"', async () => {
    const r = V.realCheckpoint;
    const policy = parsePolicy(`log ${r.logVkey}\nwitness remora ${r.cosignerVkey}\nquorum remora\n`);
    const e = await evaluatePolicy(policy, r.checkpoint);
    expect(e.statuses).toEqual([]);
    expect(e.satisfied).toBe(true);
    expect(e.witnesses).toEqual(['remora']);
    expect(e.log?.name).toBe('arche2025h1.staging.ct.transparency.dev');
    // A quorum of a witness that did not cosign is not met.
    const w = await newCosignerKey('absent.example', 'Ed25519');
    const p2 = parsePolicy(
      `log ${r.logVkey}\nwitness remora ${r.cosignerVkey}\nwitness absent ${w.vkey}\ngroup g all remora absent\nquorum g\n`,
    );
    const e2 = await evaluatePolicy(p2, r.checkpoint);
    expect(e2.satisfied).toBe(false);
    expect(e2.statuses).toEqual([code('ledger.policy.quorum-not-met')]);
    // Clobbered: the log signature and the cosignature fail.
    const e3 = await evaluatePolicy(policy, r.checkpoint.replace('1432088532', '1432088531'));
    expect(e3.satisfied).toBe(false);
    expect(e3.statuses.map((s) => s.code)).toContain('ledger.note.signature-invalid');
    // Not a trusted log.
    const e4 = await evaluatePolicy(
      parsePolicy(`witness remora ${r.cosignerVkey}\nquorum remora\n`),
      r.checkpoint,
    );
    expect(e4.statuses).toContainEqual(code('ledger.policy.unknown-log'));
    expect((await evaluatePolicy(policy, 'garbage')).statuses).toEqual([code('ledger.note.malformed')]);
  });

  it('an operator network: 2 of 3 operators cosign → satisfied; 1 of 3 → not', async () => {
    const ops = await Promise.all(
      ['op1.omt.example', 'op2.omt.example', 'op3.omt.example'].map(async (name) => ({
        name,
        log: await newNoteKey(name, 'Ed25519'),
        witness: await newCosignerKey(`${name}/witness`, 'ML-DSA-44'),
      })),
    );
    const policy = operatorNetworkPolicy(
      ops.map((o) => ({ name: o.name, logKey: o.log.vkey, witnessKey: o.witness.vkey })),
      2,
    );
    expect(policy.groups).toEqual([{ name: 'operators', threshold: 2, members: ops.map((o) => o.name) }]);
    const root = merkleRoot([hashLeaf(utf8('a')), hashLeaf(utf8('b'))]);
    const cp = await signCheckpoint({ origin: 'op1.omt.example', size: 2, root }, [ops[0]!.log.signer]);
    const one = await cosignCheckpoint(cp, [ops[1]!.witness.signer]);
    expect((await evaluatePolicy(policy, one)).satisfied).toBe(false);
    const two = await cosignCheckpoint(one, [ops[2]!.witness.signer]);
    const e = await evaluatePolicy(policy, two);
    expect(e.satisfied).toBe(true);
    expect(e.witnesses).toEqual(['op2.omt.example', 'op3.omt.example']);
    // M ≤ N/2 refused.
    const list = ops.map((o) => ({ name: o.name, logKey: o.log.vkey, witnessKey: o.witness.vkey }));
    expect(() => operatorNetworkPolicy(list, 1)).toThrow(code('ledger.policy.invalid'));
    expect(() => operatorNetworkPolicy(list, 4)).toThrow(code('ledger.policy.invalid'));
    expect(() => operatorNetworkPolicy([{ ...list[0]!, name: 'other' }], 1)).toThrow(
      code('ledger.policy.invalid'),
    );
  });
});
