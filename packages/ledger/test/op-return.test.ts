import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '@omt/core/bytes';
import { encodeCbor } from '@omt/core/cbor';
import { isOmtError } from '@omt/core/errors';
import {
  DATA_CARRIER_LIMITS,
  decodeAnchorScript,
  encodeBatchAnchor,
  encodeRecordAnchor,
  recordCommitment,
  verifyRecordCommitment,
} from '@omt/ledger/op-return';
import { classifyScript, opReturnScript } from '@omt/ledger/script';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const hash = new Uint8Array(32).fill(0xab);
const record = { rid: 'rec-0001', hash, uri: 'https://example.org/records/rec-0001', ts: 1_700_000_000 };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isOmtError(e) ? e.code : `non-OmtError: ${String(e)}`;
  }
  return 'no error';
}

describe('record payload {p, v, rid, hash, uri, ts}', () => {
  it('documented wire form: <"omt"> <deterministic CBOR {v, rid, hash, ts, uri}>', () => {
    const { script, kind, body } = encodeRecordAnchor(record, { chain: 'bsv' });
    expect(kind).toBe('record');
    expect(toHex(body)).toBe(
      toHex(encodeCbor({ v: 1, rid: record.rid, hash, ts: record.ts, uri: record.uri })),
    );
    expect(toHex(script)).toBe(toHex(opReturnScript('bsv', [utf8('omt'), body])));
    expect(decodeAnchorScript(script)).toEqual({ kind: 'record', payload: { p: 'omt', v: 1, ...record } });
  });
  it('hex hash input, no uri, custom protocol tag; BTC bare OP_RETURN form', () => {
    const { script } = encodeRecordAnchor({ p: 'xyz', rid: 'r', hash: toHex(hash), ts: 5 }, { chain: 'btc' });
    expect(script[0]).toBe(0x6a);
    expect(decodeAnchorScript(script, { protocol: 'xyz' })).toEqual({
      kind: 'record',
      payload: { p: 'xyz', v: 1, rid: 'r', hash, ts: 5 },
    });
    expect(code(() => decodeAnchorScript(script, { protocol: 'omt' }))).toBe('ledger.opreturn.malformed');
  });
  it('data-carrier policy: Core ≥ 30 keeps the record; 80-byte relays get the hash commitment', () => {
    const core30 = encodeRecordAnchor(record, { chain: 'btc', dataCarrier: 'core-30' });
    expect(core30.kind).toBe('record');
    const legacy = encodeRecordAnchor(record, { chain: 'btc', dataCarrier: 'legacy' });
    expect(legacy.kind).toBe('commitment');
    expect(legacy.script.length).toBeLessThanOrEqual(DATA_CARRIER_LIMITS.legacy);
    expect(legacy.script.length).toBe(46);
    const decoded = decodeAnchorScript(legacy.script);
    expect(decoded).toEqual({ kind: 'commitment', p: 'omt', v: 1, commitment: sha256(legacy.body) });
    expect(verifyRecordCommitment(decoded, record)).toBe(true);
    expect(verifyRecordCommitment(decoded, { ...record, ts: record.ts + 1 })).toBe(false);
    expect(toHex(recordCommitment(record))).toBe(toHex(sha256(legacy.body)));
    // a short record still fits 83 bytes
    expect(encodeRecordAnchor({ rid: 'a', hash, ts: 1 }, { chain: 'btc', dataCarrier: 'legacy' }).kind).toBe(
      'record',
    );
    // a limit below even the commitment
    expect(code(() => encodeRecordAnchor(record, { chain: 'btc', dataCarrier: 40 }))).toBe(
      'ledger.opreturn.too-large',
    );
    expect(code(() => encodeRecordAnchor(record, { chain: 'btc', dataCarrier: 'nope' as 'legacy' }))).toBe(
      'core.input.invalid',
    );
  });
  it('rejects bad payloads with ledger.payload.invalid', () => {
    for (const bad of [
      { ...record, hash: new Uint8Array(31) },
      { ...record, hash: 'zz' },
      { ...record, rid: '' },
      { ...record, ts: -1 },
      { ...record, ts: 1.5 },
      { ...record, uri: '' },
    ]) {
      expect(code(() => encodeRecordAnchor(bad, { chain: 'bsv' }))).toBe('ledger.payload.invalid');
    }
  });
});

describe('batch payload (Merkle root)', () => {
  it('round-trips and fits 80-byte relays', () => {
    const script = encodeBatchAnchor(
      { root: hash, n: 1000, ts: 1_700_000_000 },
      { chain: 'btc', dataCarrier: 'legacy' },
    );
    expect(script.length).toBeLessThanOrEqual(83);
    expect(decodeAnchorScript(script)).toEqual({
      kind: 'batch',
      payload: { p: 'omt', v: 1, root: hash, n: 1000, ts: 1_700_000_000 },
    });
    expect(code(() => encodeBatchAnchor({ root: hash, n: 0, ts: 1 }, { chain: 'bsv' }))).toBe(
      'ledger.payload.invalid',
    );
  });
});

describe('decoding foreign or damaged scripts', () => {
  it('is ledger.opreturn.malformed, never a crash', () => {
    const cases = [
      opReturnScript('bsv', [utf8('omt')]),
      opReturnScript('bsv', [utf8('omt'), Uint8Array.of(0xa1)]),
      opReturnScript('bsv', [utf8('omt'), encodeCbor({ v: 1, x: 2 })]),
      opReturnScript('bsv', [utf8('omt'), encodeCbor([1, 2])]),
      opReturnScript('bsv', [utf8('omt'), encodeCbor({ v: 1, c: new Uint8Array(31) })]),
      opReturnScript('bsv', [utf8('omt'), encodeCbor({ v: 'one', c: hash })]),
      opReturnScript('bsv', [Uint8Array.of(0xff), encodeCbor({ v: 1, c: hash })]),
      Uint8Array.of(0x76),
    ];
    for (const s of cases) expect(code(() => decodeAnchorScript(s))).toBe('ledger.opreturn.malformed');
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 2, maxLength: 2 }), (pushes) => {
        const s = opReturnScript('btc', pushes);
        expect(classifyScript(s).type).toBe('op-return');
        const c = code(() => decodeAnchorScript(s));
        expect(['ledger.opreturn.malformed', 'no error']).toContain(c);
      }),
      { numRuns: 500 },
    );
  });
  it('encode → decode is the identity for any valid record', () => {
    fc.assert(
      fc.property(
        fc.record({
          rid: fc.string({ minLength: 1, maxLength: 64 }),
          hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          uri: fc.option(fc.webUrl(), { nil: undefined }),
          ts: fc.integer({ min: 0, max: 2 ** 40 }),
        }),
        (r) => {
          const input = r.uri === undefined ? { rid: r.rid, hash: r.hash, ts: r.ts } : r;
          const { script } = encodeRecordAnchor(input, { chain: 'bsv' });
          expect(decodeAnchorScript(script)).toEqual({
            kind: 'record',
            payload: { p: 'omt', v: 1, ...input },
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
