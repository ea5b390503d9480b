import { createHash } from 'node:crypto';
import {
  AUDIT_ZERO_HASH,
  type AuditEvent,
  AuditLog,
  auditEntryHash,
  auditHeadSigningInput,
  auditInclusionProof,
  parseAuditEntry,
  parseAuditHead,
  type SignedAuditHead,
  verifyAuditInclusion,
  verifyAuditLog,
} from '@omt/core/audit-log';
import { MemoryAuditLogStore } from '@omt/core/audit-log-memory';
import { fromBase64Url, toBase64Url } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { canonicalize } from '@omt/core/jcs';
import { merkleRoot } from '@omt/core/merkle';
import type { StoredAuditEntry } from '@omt/core/ports';
import { getSuite } from '@omt/core/suites';
import { beforeAll, describe, expect, it } from 'vitest';

const ed = getSuite('Ed25519');
const mldsa = getSuite('ML-DSA-65');

/** A clock that advances one second per call from a fixed start. */
function steppingClock(start = Date.UTC(2026, 0, 2, 3, 4, 5, 678)): () => Date {
  let t = start;
  return () => {
    const d = new Date(t);
    t += 1000;
    return d;
  };
}

const ev = (i: number): AuditEvent => ({
  actor: `svc:worker-${i % 3}`,
  action: i % 2 ? 'kms.key.unseal' : 'ledger.intent.submit',
  subject: `key:${i}`,
  outcome: i % 5 === 0 ? 'deny' : 'allow',
  details: { i, nested: { list: [1, 'two', null, true], z: 'é' } },
});

const codes = (r: { problems: readonly { code: string }[] }): string[] => [
  ...new Set(r.problems.map((p) => p.code)),
];

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isOmtError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
}

describe('entry format', () => {
  it('stores the JCS text, hashes it as an RFC 9162 leaf, chains prev, uses the injected clock', async () => {
    const store = new MemoryAuditLogStore();
    const log = new AuditLog(store, { log: 'kms', clock: steppingClock() });
    const a = await log.append({ actor: 'svc:api', action: 'kms.key.unseal', outcome: 'allow' });
    const b = await log.append({
      actor: 'svc:api',
      action: 'kms.key.rotate',
      subject: 'key:1',
      outcome: 'success',
      details: { b: 2, a: 1 },
    });
    expect(a.body).toBe(
      '{"action":"kms.key.unseal","actor":"svc:api","log":"kms","outcome":"allow","prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":0,"time":"2026-01-02T03:04:05.678Z","v":1}',
    );
    expect(a.body).toBe(canonicalize(a.entry));
    // Independent hash: SHA-256(0x00 ‖ UTF-8 text).
    const want = createHash('sha256')
      .update(Buffer.from([0]))
      .update(Buffer.from(a.body, 'utf8'))
      .digest();
    expect(Buffer.from(a.hash).equals(want)).toBe(true);
    expect(a.prevHash).toEqual(AUDIT_ZERO_HASH);
    expect(b.entry.prev).toBe(toBase64Url(a.hash));
    expect(b.prevHash).toEqual(a.hash);
    expect(b.entry.time).toBe('2026-01-02T03:04:06.678Z');
    expect(b.entry.details).toEqual({ a: 1, b: 2 });
    expect(parseAuditEntry(b.body)).toEqual(b.entry);
    const stored = await store.read('kms', 0, 10);
    expect(stored.map((s) => s.body)).toEqual([a.body, b.body]);
    expect(auditEntryHash(stored[1]?.body ?? '')).toEqual(b.hash);
  });

  it('validates events and options with core.audit.invalid', async () => {
    const log = new AuditLog(new MemoryAuditLogStore(), { log: 'kms' });
    const base = { actor: 'a', action: 'kms.x', outcome: 'allow' } as const;
    const bad: unknown[] = [
      { ...base, action: 'NoDots' },
      { ...base, action: 'single' },
      { ...base, outcome: 'maybe' },
      { ...base, actor: '' },
      { ...base, actor: 'a\nb' },
      { ...base, extra: 1 },
      { ...base, details: [] },
      { ...base, details: { key: new Uint8Array(3) } },
      { ...base, details: { n: Number.NaN } },
      { ...base, details: { secretKey: 'x' } },
      { ...base, details: { deep: [{ password: 'x' }] } },
      { ...base, details: { big: 'x'.repeat(70_000) } },
      null,
    ];
    for (const b of bad) await expectCode(log.append(b as AuditEvent), 'core.audit.invalid');
    expect(() => new AuditLog(new MemoryAuditLogStore(), { log: 'Bad Name' })).toThrow();
    expect(() => new AuditLog(new MemoryAuditLogStore(), { log: '' })).toThrow();
    const broken = new AuditLog(new MemoryAuditLogStore(), { log: 'kms', clock: () => new Date(Number.NaN) });
    await expectCode(broken.append(base), 'core.audit.invalid');
    expect(await log.entries()).toEqual([]);
  });
});

describe('signed heads and verification', () => {
  let keys: { publicKey: Uint8Array; secretKey: Uint8Array };
  let pq: { publicKey: Uint8Array; secretKey: Uint8Array };
  let store: MemoryAuditLogStore;
  let log: AuditLog;
  let entries: StoredAuditEntry[];
  let head: SignedAuditHead;

  beforeAll(async () => {
    keys = await ed.generateKeyPair({ seed: new Uint8Array(32).fill(7) });
    pq = await mldsa.generateKeyPair({ seed: new Uint8Array(32).fill(9) });
    store = new MemoryAuditLogStore();
    log = new AuditLog(store, { log: 'ledger.publisher', clock: steppingClock() });
    for (let i = 0; i < 20; i++) await log.append(ev(i));
    await log.appendBatch([ev(20), ev(21), ev(22)]);
    head = await log.signHead({ suite: ed, secretKey: keys.secretKey, kid: 'audit-ed' });
    entries = await log.entries();
  });

  it('appends many; head commits to size, last hash and the Merkle root; stored via putHead', async () => {
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(head.size).toBe(23);
    expect(head.head).toBe(toBase64Url(entries[22]?.hash ?? new Uint8Array()));
    expect(head.root).toBe(toBase64Url(merkleRoot(entries.map((e) => auditEntryHash(e.body)))));
    expect(head.sig).toMatchObject({ alg: 'Ed25519', kid: 'audit-ed' });
    const stored = await store.latestHead('ledger.publisher');
    expect(stored?.size).toBe(23);
    expect(parseAuditHead(stored?.body ?? '')).toEqual(head);
    expect(await log.latestHead()).toEqual(head);
    // Signature covers the JCS of the head without sig.
    const { sig: _s, ...unsigned } = head;
    expect(new TextDecoder().decode(auditHeadSigningInput(head))).toBe(canonicalize(unsigned));
    expect(await ed.verify(keys.publicKey, auditHeadSigningInput(head), fromBase64Url(head.sig.sig))).toBe(
      true,
    );
  });

  it('an untouched log verifies, with and without head and key (Ed25519 and ML-DSA-65)', async () => {
    expect(await verifyAuditLog(entries)).toMatchObject({
      valid: true,
      size: 23,
      problems: [],
      headChecked: false,
    });
    const r = await verifyAuditLog(entries, { head, publicKey: keys.publicKey, suite: ed, kid: 'audit-ed' });
    expect(r).toMatchObject({ valid: true, headChecked: true, signatureChecked: true, problems: [] });
    // alg from the head selects the suite when none is pinned; the stored head form works too.
    const storedHead = await store.latestHead('ledger.publisher');
    expect((await verifyAuditLog(entries, { head: storedHead, publicKey: keys.publicKey })).valid).toBe(true);
    expect(
      (
        await verifyAuditLog(
          entries.map((e) => e.body),
          { head: storedHead?.body },
        )
      ).valid,
    ).toBe(true);
    const pqHead = await log.signHead({ suite: mldsa, secretKey: pq.secretKey, kid: 'audit-pq' });
    expect(pqHead.sig.alg).toBe('ML-DSA-65');
    const r2 = await verifyAuditLog(entries, { head: pqHead, publicKey: pq.publicKey, suite: mldsa });
    expect(r2.valid).toBe(true);
    // An older head (prefix) still verifies against the longer log.
    const r3 = await verifyAuditLog([...entries], { head, publicKey: keys.publicKey, suite: ed });
    expect(r3.valid).toBe(true);
  });

  it('an edited body → core.audit.entry-modified (and the next link breaks)', async () => {
    const t = entries.map((e) => ({ ...e }));
    const e5 = t[5] as StoredAuditEntry;
    t[5] = { ...e5, body: e5.body.replace('"outcome":"deny"', '"outcome":"allow"') };
    expect(t[5]?.body).not.toBe(e5.body);
    const r = await verifyAuditLog(t, { head });
    expect(r.valid).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ seq: 5, code: 'core.audit.entry-modified' }));
    expect(r.problems).toContainEqual(expect.objectContaining({ seq: 6, code: 'core.audit.chain-broken' }));
    expect(codes(r)).toContain('core.audit.head-mismatch');
  });

  it('an edited body with a recomputed hash → chain-broken at the next entry', async () => {
    const t = entries.map((e) => ({ ...e }));
    const body = (t[3] as StoredAuditEntry).body.replace('svc:worker-0', 'svc:worker-2');
    t[3] = { ...(t[3] as StoredAuditEntry), body, hash: auditEntryHash(body) };
    const r = await verifyAuditLog(t);
    expect(r.problems).toEqual([expect.objectContaining({ seq: 4, code: 'core.audit.chain-broken' })]);
  });

  it('a rewritten history (every hash recomputed) is caught only by the signed head', async () => {
    const rebuilt: StoredAuditEntry[] = [];
    let prev = AUDIT_ZERO_HASH;
    for (const e of entries) {
      const entry = parseAuditEntry(e.body);
      const changed = { ...entry, outcome: 'allow' as const, prev: toBase64Url(prev) };
      const body = canonicalize(changed);
      const hash = auditEntryHash(body);
      rebuilt.push({ log: e.log, seq: e.seq, prevHash: prev, hash, body });
      prev = hash;
    }
    expect((await verifyAuditLog(rebuilt)).valid).toBe(true);
    const r = await verifyAuditLog(rebuilt, { head, publicKey: keys.publicKey, suite: ed });
    expect(codes(r)).toEqual(['core.audit.head-mismatch']);
  });

  it('a deleted entry → core.audit.gap (+ chain-broken); a deleted tail → head-mismatch', async () => {
    const t = entries.filter((e) => e.seq !== 7);
    const r = await verifyAuditLog(t);
    expect(r.problems).toContainEqual(expect.objectContaining({ seq: 8, code: 'core.audit.gap' }));
    expect(codes(r)).toContain('core.audit.chain-broken');
    const first = await verifyAuditLog(entries.slice(1));
    expect(codes(first)).toContain('core.audit.gap');
    const truncated = entries.slice(0, 20);
    expect((await verifyAuditLog(truncated)).valid).toBe(true);
    const r2 = await verifyAuditLog(truncated, { head });
    expect(codes(r2)).toEqual(['core.audit.head-mismatch']);
  });

  it('reordered or duplicated entries → core.audit.out-of-order', async () => {
    const t = [...entries];
    [t[10], t[11]] = [t[11] as StoredAuditEntry, t[10] as StoredAuditEntry];
    const r = await verifyAuditLog(t);
    expect(r.problems).toContainEqual(expect.objectContaining({ seq: 11, code: 'core.audit.out-of-order' }));
    expect(r.problems).toContainEqual(expect.objectContaining({ seq: 10, code: 'core.audit.out-of-order' }));
    expect(codes(r)).not.toContain('core.audit.gap');
    const dup = [...entries.slice(0, 5), entries[4] as StoredAuditEntry, ...entries.slice(5)];
    expect(codes(await verifyAuditLog(dup))).toContain('core.audit.out-of-order');
  });

  it('a swapped head signature, a wrong key, a wrong alg or kid → core.audit.signature-invalid', async () => {
    const other = await log.signHead({ suite: ed, secretKey: keys.secretKey, kid: 'audit-ed' });
    // Same key, another head's signature.
    const swapped = { ...head, sig: { ...head.sig, sig: other.sig.sig } };
    const otherHead2 = { ...other, time: '2030-01-01T00:00:00.000Z' };
    for (const h of [swapped, otherHead2]) {
      const r = await verifyAuditLog(entries, { head: h, publicKey: keys.publicKey, suite: ed });
      expect(codes(r)).toEqual(['core.audit.signature-invalid']);
    }
    const wrong = await ed.generateKeyPair({ seed: new Uint8Array(32).fill(8) });
    const r2 = await verifyAuditLog(entries, { head, publicKey: wrong.publicKey, suite: ed });
    expect(codes(r2)).toEqual(['core.audit.signature-invalid']);
    const r3 = await verifyAuditLog(entries, { head, publicKey: pq.publicKey, suite: mldsa });
    expect(codes(r3)).toEqual(['core.audit.signature-invalid']);
    const r4 = await verifyAuditLog(entries, {
      head,
      publicKey: keys.publicKey,
      suite: ed,
      kid: 'someone-else',
    });
    expect(codes(r4)).toEqual(['core.audit.signature-invalid']);
    const r5 = await verifyAuditLog(entries, {
      head: { ...head, sig: { ...head.sig, alg: 'Nope' } },
      publicKey: keys.publicKey,
    });
    expect(codes(r5)).toEqual(['core.audit.signature-invalid']);
    // A head with a forged size/root but the original signature.
    const forged = {
      ...head,
      size: 22,
      head: toBase64Url(entries[21]?.hash ?? new Uint8Array()),
      root: toBase64Url(merkleRoot(entries.slice(0, 22).map((e) => e.hash))),
    };
    const r6 = await verifyAuditLog(entries, { head: forged, publicKey: keys.publicKey, suite: ed });
    expect(codes(r6)).toEqual(['core.audit.signature-invalid']);
  });

  it('malformed inputs are reported, not thrown', async () => {
    const t = entries.map((e) => ({ ...e }));
    t[2] = { ...(t[2] as StoredAuditEntry), body: ' {"not":"canonical"}' };
    const r = await verifyAuditLog(t);
    expect(r.problems).toContainEqual(
      expect.objectContaining({ seq: 2, code: 'core.audit.entry-malformed' }),
    );
    const r2 = await verifyAuditLog(entries, { head: '{"v":1}' });
    expect(codes(r2)).toEqual(['core.audit.head-malformed']);
    const other = new AuditLog(new MemoryAuditLogStore(), { log: 'other', clock: steppingClock() });
    const o = await other.append(ev(1));
    const r3 = await verifyAuditLog([...entries, o]);
    expect(codes(r3)).toContain('core.audit.log-mismatch');
    await expect(verifyAuditLog('nope' as unknown as StoredAuditEntry[])).rejects.toThrow();
  });

  it('inclusion proof of an entry against a signed head verifies; tampering fails', async () => {
    for (const seq of [0, 1, 7, 22]) {
      const proof = await log.inclusionProof(seq, head.size);
      expect(proof).toEqual(auditInclusionProof(entries, seq, head.size));
      const ok = await verifyAuditInclusion(entries[seq] as StoredAuditEntry, proof, head, {
        publicKey: keys.publicKey,
        suite: ed,
      });
      expect(ok).toMatchObject({ valid: true, signatureChecked: true });
      const wrongEntry = await verifyAuditInclusion(entries[(seq + 1) % 23] as StoredAuditEntry, proof, head);
      expect(wrongEntry.valid).toBe(false);
      const badProof = {
        ...proof,
        proof: proof.proof.map((p, i) => (i === 0 ? toBase64Url(new Uint8Array(32)) : p)),
      };
      expect(codes(await verifyAuditInclusion(entries[seq] as StoredAuditEntry, badProof, head))).toContain(
        'core.audit.inclusion-invalid',
      );
      const wrongKey = await verifyAuditInclusion(entries[seq] as StoredAuditEntry, proof, head, {
        publicKey: pq.publicKey,
        suite: mldsa,
      });
      expect(codes(wrongKey)).toEqual(['core.audit.signature-invalid']);
    }
    // A proof against an older, smaller head.
    const proof = auditInclusionProof(entries.slice(0, 10), 3);
    const small: SignedAuditHead = {
      ...head,
      size: 10,
      root: toBase64Url(merkleRoot(entries.slice(0, 10).map((e) => e.hash))),
    };
    expect((await verifyAuditInclusion((entries[3] as StoredAuditEntry).body, proof, small)).valid).toBe(
      true,
    );
    expect(codes(await verifyAuditInclusion((entries[3] as StoredAuditEntry).body, proof, head))).toContain(
      'core.audit.head-mismatch',
    );
    // Consistency proof between two heads' sizes.
    const c = await log.consistencyProof(10, 23);
    expect(c.length).toBeGreaterThan(0);
  });

  it('signHead refuses a tampered store', async () => {
    const s = new MemoryAuditLogStore();
    const good = new AuditLog(s, { log: 'x' });
    await good.append(ev(1));
    const e = (await s.read('x', 0, 1))[0] as StoredAuditEntry;
    // A store that serves a modified body.
    const lying = {
      ...s,
      append: s.append.bind(s),
      last: s.last.bind(s),
      putHead: s.putHead.bind(s),
      latestHead: s.latestHead.bind(s),
      read: async () => [{ ...e, body: e.body.replace('allow', 'deny') }],
    };
    const l2 = new AuditLog(lying, { log: 'x' });
    await expectCode(
      l2.signHead({ suite: ed, secretKey: keys.secretKey, kid: 'k' }),
      'core.audit.entry-modified',
    );
  });

  it('an empty log signs a size-0 head that verifies', async () => {
    const l = new AuditLog(new MemoryAuditLogStore(), { log: 'empty', clock: steppingClock() });
    const h = await l.signHead({ suite: ed, secretKey: keys.secretKey, kid: 'k' });
    expect(h.size).toBe(0);
    expect((await verifyAuditLog([], { head: h, publicKey: keys.publicKey, suite: ed })).valid).toBe(true);
  });

  it('an external signer (KMS/HSM style) works', async () => {
    const l = new AuditLog(new MemoryAuditLogStore(), { log: 'ext', clock: steppingClock() });
    await l.append(ev(3));
    const h = await l.signHead({ alg: 'Ed25519', kid: 'hsm-1', sign: (m) => ed.sign(keys.secretKey, m) });
    expect(
      (await verifyAuditLog(await l.entries(), { head: h, publicKey: keys.publicKey, suite: ed })).valid,
    ).toBe(true);
  });
});

describe('concurrency', () => {
  it('concurrent appends on one instance are serialised', async () => {
    const l = new AuditLog(new MemoryAuditLogStore(), { log: 'one' });
    const got = await Promise.all(Array.from({ length: 30 }, (_, i) => l.append(ev(i))));
    expect(got.map((g) => g.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect((await verifyAuditLog(await l.entries())).valid).toBe(true);
  });

  it('two AuditLog instances on one store never fork the chain (conflicts are retried)', async () => {
    const store = new MemoryAuditLogStore();
    let conflicts = 0;
    // Count conflicts the store raises, to prove the retry path ran.
    const counting = {
      append: async (e: readonly StoredAuditEntry[]) => {
        try {
          await store.append(e);
        } catch (x) {
          if (isOmtError(x, 'core.audit.conflict')) conflicts++;
          throw x;
        }
      },
      last: (log: string) => store.last(log),
      read: (log: string, f: number, n: number) => store.read(log, f, n),
      putHead: store.putHead.bind(store),
      latestHead: store.latestHead.bind(store),
    };
    const a = new AuditLog(counting, { log: 'shared' });
    const b = new AuditLog(counting, { log: 'shared' });
    await a.append(ev(0));
    await b.append(ev(1)); // b learns the tail; a's cached tail is now stale
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 25; i++) {
      jobs.push(a.append(ev(i)));
      jobs.push(b.appendBatch([ev(i), ev(i + 1)]));
    }
    await Promise.all(jobs);
    expect(conflicts).toBeGreaterThan(0);
    const all = await store.read('shared', 0, 1000);
    expect(all).toHaveLength(2 + 25 + 50);
    const r = await verifyAuditLog(all);
    expect(r.problems).toEqual([]);
    // Heads from both instances are consistent with the single chain.
    const k = await ed.generateKeyPair({ seed: new Uint8Array(32).fill(1) });
    const ha = await a.signHead({ suite: ed, secretKey: k.secretKey, kid: 'a' });
    await b.append(ev(99));
    const hb = await b.signHead({ suite: ed, secretKey: k.secretKey, kid: 'b' });
    const all2 = await store.read('shared', 0, 1000);
    expect((await verifyAuditLog(all2, { head: ha, publicKey: k.publicKey, suite: ed })).valid).toBe(true);
    expect((await verifyAuditLog(all2, { head: hb, publicKey: k.publicKey, suite: ed })).valid).toBe(true);
    expect(hb.size).toBe(ha.size + 1);
  });

  it('gives up with core.audit.conflict after maxRetries', async () => {
    const store = new MemoryAuditLogStore();
    const always = {
      append: async () => {
        throw new (await import('@omt/core/errors')).OmtError('core.audit.conflict', 'x');
      },
      last: (log: string) => store.last(log),
      read: (log: string, f: number, n: number) => store.read(log, f, n),
      putHead: store.putHead.bind(store),
      latestHead: store.latestHead.bind(store),
    };
    const l = new AuditLog(always, { log: 'busy', maxRetries: 3 });
    await expectCode(l.append(ev(0)), 'core.audit.conflict');
    // The instance stays usable afterwards.
    await expectCode(l.append(ev(0)), 'core.audit.conflict');
  });
});
