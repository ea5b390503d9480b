// The append path writes entries without the generic validators and canonicalizer when it can
// (events checked field by field, flat details and the entry text written directly). Whatever it
// is given, the log must hold what the schema + JCS path gives: the same accept/refuse verdicts,
// the canonical text of the entry, its details as their canonical text parses, and the RFC 9162
// leaf hash of that text.
import { createHash } from 'node:crypto';
import { type AuditEvent, AuditLog, auditEntryHash, verifyAuditLog } from '@omt/core/audit-log';
import { MemoryAuditLogStore } from '@omt/core/audit-log-memory';
import { toBase64Url } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { canonicalize } from '@omt/core/jcs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const leaf = (text: string): string =>
  createHash('sha256')
    .update(Buffer.from([0]))
    .update(Buffer.from(text, 'utf8'))
    .digest('hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** What the log must hold for `ev` at `seq` after `prev`, built with the generic canonicalizer. */
function expected(
  ev: AuditEvent,
  seq: number,
  time: string,
  prev: string,
): { text: string; details?: unknown } {
  // The schema's record copy (own enumerable string keys, `__proto__` left out), then JCS.
  const copy =
    ev.details === undefined
      ? undefined
      : Object.fromEntries(Object.entries(ev.details).filter(([k]) => k !== '__proto__'));
  const details = copy === undefined ? undefined : JSON.parse(canonicalize(copy));
  const entry = {
    v: 1,
    log: 'kms',
    seq,
    time,
    actor: ev.actor,
    action: ev.action,
    ...(ev.subject === undefined ? {} : { subject: ev.subject }),
    outcome: ev.outcome,
    ...(details === undefined ? {} : { details }),
    prev,
  };
  return { text: canonicalize(entry), details };
}

const scalar = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }), // lone surrogates included
  fc.double(), // NaN, ±Infinity, -0 included
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const key = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.constantFrom('l3', 'code', '10', '9', 'a', 'A', '__proto__', 'secret', 'apiKey', 'é', '\ud800'),
);
const details = fc.oneof(
  fc.dictionary(key, scalar, { maxKeys: 6 }),
  fc.dictionary(key, fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(key, scalar)), {
    maxKeys: 4,
  }),
);
const event = fc.record(
  {
    actor: fc.oneof(
      fc.constantFrom('svc:bench', 'a', '', 'x\ny', 'ops \ud83d\ude00', 'bad \udc00'),
      fc.string(),
    ),
    action: fc.constantFrom(
      'kms.data.encrypt',
      'kms.data.decrypt',
      'Kms.bad',
      'single',
      'ledger.intent.submit',
    ),
    subject: fc.oneof(fc.constantFrom('object:acme/media/rec', 'é/ü', '\u0007'), fc.string()),
    outcome: fc.constantFrom('allow', 'deny', 'success', 'failure', 'maybe'),
    details,
  },
  { requiredKeys: ['actor', 'action', 'outcome'] },
);

describe('audit append path = schema + JCS', () => {
  it('property: same verdict, text, details and hash as the generic path, any event', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 4 }), async (events) => {
        const time = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
        const store = new MemoryAuditLogStore();
        const log = new AuditLog(store, { log: 'kms', clock: () => time });
        // The verdict of the generic path, event by event: the schema, then the details, then JCS.
        let verdict: 'ok' | string = 'ok';
        const want: { text: string; details?: unknown }[] = [];
        let prev = toBase64Url(new Uint8Array(32));
        try {
          for (const [i, ev] of events.entries()) {
            const w = expected(ev as AuditEvent, i, time.toISOString(), prev);
            want.push(w);
            prev = toBase64Url(
              createHash('sha256')
                .update(Buffer.from([0]))
                .update(w.text)
                .digest(),
            );
          }
        } catch {
          verdict = 'refused';
        }
        let got: Awaited<ReturnType<AuditLog['appendBatch']>> | undefined;
        let error: unknown;
        try {
          got = await log.appendBatch(events as AuditEvent[]);
        } catch (e) {
          error = e;
        }
        if (got === undefined) {
          // Refused: with an OmtError, and nothing written.
          expect(isOmtError(error)).toBe(true);
          expect(await store.last('kms')).toBeUndefined();
          return;
        }
        // Accepted: the generic canonicalizer accepted it too (the schema checks are covered below).
        expect(verdict).toBe('ok');
        expect(got.map((g) => g.body)).toEqual(want.map((w) => w.text));
        for (const [i, g] of got.entries()) {
          expect(g.body).toBe(canonicalize(g.entry));
          expect(hex(g.hash)).toBe(leaf(g.body));
          expect(hex(auditEntryHash(g.body))).toBe(leaf(g.body));
          expect(g.entry.details).toEqual(want[i]?.details);
          if (g.entry.details !== undefined) {
            expect(Object.keys(g.entry.details)).toEqual(Object.keys(want[i]?.details as object));
          }
        }
        expect((await verifyAuditLog(await log.entries())).valid).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses what the schema or JCS refuse, with the same codes', async () => {
    const base = { actor: 'svc:a', action: 'kms.data.encrypt', outcome: 'allow' } as const;
    const withSymbol = { ...base, details: { a: 1 } } as Record<string, unknown>;
    (withSymbol.details as Record<symbol, unknown>)[Symbol('s')] = 1;
    const hidden = { a: 1 };
    Object.defineProperty(hidden, 'b', { value: 2, enumerable: false });
    const cases: [unknown, string][] = [
      [{ ...base, actor: 'x\u0000' }, 'core.audit.invalid'],
      [{ ...base, extra: 1 }, 'core.audit.invalid'],
      [{ ...base, details: { n: -Infinity } }, 'core.audit.invalid'],
      [{ ...base, details: { nested: { passphrase: 'x' } } }, 'core.audit.invalid'],
      [{ ...base, details: { s: 'lone \ud800' } }, 'core.audit.invalid'],
      [{ ...base, details: new Map() }, 'core.audit.invalid'],
      // Well-formed for the schema, not for JCS: the canonicalizer's code.
      [{ ...base, actor: 'lone \udc00' }, 'core.json.invalid'],
      [{ ...base, subject: 'lone \ud800' }, 'core.json.invalid'],
    ];
    for (const [ev, code] of cases) {
      const log = new AuditLog(new MemoryAuditLogStore(), { log: 'kms' });
      const err = await log.appendBatch([base, ev as AuditEvent]).catch((e: unknown) => e);
      expect(isOmtError(err, code), `${JSON.stringify(ev)}: ${String(err)}`).toBe(true);
    }
    // An enumerable symbol-keyed member is refused (the schema's path: its error message cannot
    // name a symbol, so this surfaces as a TypeError, as it always has); nothing is written.
    const symStore = new MemoryAuditLogStore();
    await expect(
      new AuditLog(symStore, { log: 'kms' }).appendBatch([withSymbol as unknown as AuditEvent]),
    ).rejects.toMatchObject({ code: 'core.audit.invalid' });
    expect(await symStore.last('kms')).toBeUndefined();
    // A non-enumerable member is not part of the record (as the schema's copy leaves it out).
    const log = new AuditLog(new MemoryAuditLogStore(), { log: 'kms' });
    const [e] = await log.appendBatch([{ ...base, details: hidden }]);
    expect(e?.entry.details).toEqual({ a: 1 });
    // `__proto__` as a member name: the schema's copy drops it (the generic path decides).
    const proto = JSON.parse('{"__proto__": 1, "b": 2}') as Record<string, unknown>;
    const [p] = await log.appendBatch([{ ...base, details: proto }]);
    expect(p?.body).toContain('"details":{"b":2}');
  });

  it('-0, integer-like and unicode member names, and large numbers come out as JCS writes them', async () => {
    const log = new AuditLog(new MemoryAuditLogStore(), { log: 'kms', clock: () => new Date(0) });
    const details = { b: -0, '10': 1e21, '9': 5e-324, é: 'ü', A: true, a: null, z: 'q"\\\n' };
    const [e] = await log.appendBatch([
      { actor: 'svc:a', action: 'kms.data.encrypt', outcome: 'allow', subject: 'object:x', details },
    ]);
    expect(e?.body).toBe(
      canonicalize({
        v: 1,
        log: 'kms',
        seq: 0,
        time: '1970-01-01T00:00:00.000Z',
        actor: 'svc:a',
        action: 'kms.data.encrypt',
        subject: 'object:x',
        outcome: 'allow',
        details,
        prev: toBase64Url(new Uint8Array(32)),
      }),
    );
    expect(Object.is(e?.entry.details?.b, 0)).toBe(true);
    expect(Object.keys(e?.entry.details ?? {})).toEqual(Object.keys(JSON.parse(canonicalize(details))));
  });
});

describe('MemoryAuditLogStore keeps entries compactly', () => {
  it('hash bytes of any length round-trip through its growing buffer, copied in and out', async () => {
    const store = new MemoryAuditLogStore();
    const put: { prevHash: Uint8Array; hash: Uint8Array; body: string }[] = [];
    for (let i = 0; i < 400; i++) {
      const prevHash = Uint8Array.from({ length: i % 7 === 0 ? 0 : 32 + (i % 40) }, (_, j) => (i + j) & 0xff);
      const hash = Uint8Array.from({ length: 32 + (i % 3) }, (_, j) => (i * 7 + j) & 0xff);
      put.push({ prevHash, hash, body: `{"i":${i}}` });
      await store.append([{ log: 'a', seq: i, prevHash, hash, body: `{"i":${i}}` }]);
      prevHash.fill(0xee); // the caller's arrays are not kept
    }
    const all = await store.read('a', 0, 1000);
    expect(all.length).toBe(400);
    for (const [i, e] of all.entries()) {
      expect(e.seq).toBe(i);
      expect(e.log).toBe('a');
      expect(e.body).toBe(put[i]?.body);
      expect(hex(e.hash)).toBe(hex(put[i]?.hash as Uint8Array));
      expect(e.prevHash.length).toBe(i % 7 === 0 ? 0 : 32 + (i % 40));
      expect(e.prevHash.every((b, j) => b === ((i + j) & 0xff))).toBe(true);
    }
    all[5]?.hash.fill(0); // nor are the arrays it hands out
    expect(hex((await store.read('a', 5, 1))[0]?.hash as Uint8Array)).toBe(hex(put[5]?.hash as Uint8Array));
    expect((await store.last('a'))?.seq).toBe(399);
    expect(await store.read('a', 398, 10)).toHaveLength(2);
    expect(await store.read('a', 400, 10)).toEqual([]);
    expect(await store.read('b', 0, 10)).toEqual([]);
  });
});
