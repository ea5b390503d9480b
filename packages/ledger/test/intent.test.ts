import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { AuditLog } from '@omt/core/audit-log';
import { MemoryAuditLogStore } from '@omt/core/audit-log-memory';
import { fromBase64Url, fromHex, toBase64Url, toHex, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';
import { canonicalize } from '@omt/core/jcs';
import {
  decodeDerSignature,
  decompressPublicKey,
  ES256K,
  encodeDerSignature,
  getSuite,
  verifySecp256k1,
} from '@omt/core/suites';
import {
  createIntent,
  type Intent,
  type IntentAlg,
  type IntentSigner,
  intentAlgFor,
  intentRecordHash,
  intentSigner,
  keyAlgOf,
  verifyIntent,
} from '@omt/ledger/intent';
import { MemoryNonceStore } from '@omt/ledger/intent-nonce-store-memory';
import { signerRegistration } from '@omt/ledger/key-registry';
import { MemoryKeyRegistry } from '@omt/ledger/key-registry-memory';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

const NOW = new Date('2026-03-04T05:06:07.890Z');
const clock = (): Date => NOW;
const VALID_FROM = new Date('2025-01-01T00:00:00.000Z');

async function makeSigner(alg: IntentAlg): Promise<{ signer: IntentSigner; secretKey: Uint8Array }> {
  const kp = await getSuite(keyAlgOf(alg)).generateKeyPair();
  return { signer: await intentSigner(alg, kp.secretKey), secretKey: kp.secretKey };
}

async function setup(alg: IntentAlg = 'ES256K-DER') {
  const registry = new MemoryKeyRegistry();
  const nonces = new MemoryNonceStore();
  const { signer, secretKey } = await makeSigner(alg);
  await registry.register(
    signerRegistration(keyAlgOf(alg), signer.publicKey, { validFrom: VALID_FROM }),
    NOW,
  );
  return { registry, nonces, signer, secretKey };
}

function codes(v: { problems: readonly { code: string }[] }): string[] {
  return v.problems.map((p) => p.code).sort();
}

// biome-ignore lint/suspicious/noExplicitAny: tests mutate a parsed JSON copy freely
function tamper(intent: Intent, patch: (i: Record<string, any>) => void): unknown {
  const copy = JSON.parse(JSON.stringify(intent));
  patch(copy);
  return copy;
}

describe('intents: every signature algorithm', () => {
  for (const alg of [
    'ES256K-DER',
    'ES256K',
    'ML-DSA-65',
    'ML-DSA-65+ES256',
    'Ed25519',
    'ML-DSA-44',
  ] as const) {
    it(`${alg}: create → verify accepts once, then the replay is refused`, async () => {
      const { registry, nonces, signer } = await setup(alg);
      const intent = await createIntent({ rid: 'urn:x:1', uri: 'https://example.com/a' }, signer, { clock });
      expect(intent.signature.alg).toBe(alg);
      expect(intent.record.timestamp).toBe(NOW.toISOString());
      expect(intent.record.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(intent.signature.hash).toBe(toHex(sha256(utf8(canonicalize(intent.record)))));
      const v = await verifyIntent(intent, { registry, nonces, clock });
      expect(codes(v)).toEqual([]);
      expect(v.valid).toBe(true);
      const again = await verifyIntent(JSON.stringify(intent), { registry, nonces, clock });
      expect(codes(again)).toEqual(['ledger.nonce.replayed']);
    });
  }

  it('ES256K-DER signs H itself (Bitcoin style): strict DER, low-S; ES256K equals JOSE ES256K over the JCS text', async () => {
    const { signer } = await makeSigner('ES256K-DER');
    const intent = await createIntent({ a: 1 }, signer, { clock });
    const sig = fromBase64Url(intent.signature.sig);
    expect(sig[0]).toBe(0x30);
    const { signer: raw } = await makeSigner('ES256K');
    const i2 = await createIntent({ a: 1 }, raw, { clock });
    const jcs = utf8(canonicalize(i2.record));
    // The core ES256K suite hashes its message with SHA-256: verifying over the JCS bytes is the same check.
    expect(await getSuite('ES256K').verify(raw.publicKey, jcs, fromBase64Url(i2.signature.sig))).toBe(true);
  });

  it('an uncompressed secp256k1 key is the same signer (same keyId, same nonce space)', async () => {
    const { registry, nonces, signer } = await setup('ES256K-DER');
    const intent = await createIntent({ a: 1 }, signer, { clock });
    const wide = tamper(intent, (i) => {
      i.signer.pubkey = toBase64Url(decompressPublicKey(signer.publicKey));
    });
    const first = await verifyIntent(wide, { registry, nonces, clock });
    expect(first.valid).toBe(true);
    expect(codes(await verifyIntent(intent, { registry, nonces, clock }))).toEqual(['ledger.nonce.replayed']);
  });
});

describe('intents: refusals (every failure reported, nonce kept)', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    ctx = await setup('ES256K-DER');
  });

  it('expired and future timestamps → ledger.timestamp.skew; the nonce is not consumed', async () => {
    const { registry, nonces, signer } = ctx;
    for (const offset of [-600_001, 600_001, -86_400_000]) {
      const intent = await createIntent(
        { a: 1, timestamp: new Date(NOW.getTime() + offset).toISOString() },
        signer,
        { clock },
      );
      expect(codes(await verifyIntent(intent, { registry, nonces, clock }))).toEqual([
        'ledger.timestamp.skew',
      ]);
      // Inside a wider window the same intent is still fresh: nothing was consumed.
      expect((await verifyIntent(intent, { registry, nonces, clock, skewMs: 86_400_001 })).valid).toBe(true);
    }
    const edge = await createIntent({ timestamp: new Date(NOW.getTime() - 600_000).toISOString() }, signer, {
      clock,
    });
    expect((await verifyIntent(edge, { registry, nonces, clock })).valid).toBe(true);
  });

  it('unregistered signer → ledger.signer.unknown; revoked → ledger.signer.revoked', async () => {
    const { registry, nonces } = ctx;
    const { signer: stranger } = await makeSigner('ES256K-DER');
    const i1 = await createIntent({ a: 1 }, stranger, { clock });
    expect(codes(await verifyIntent(i1, { registry, nonces, clock }))).toEqual(['ledger.signer.unknown']);
    const { signer: leaked } = await makeSigner('ML-DSA-65');
    const reg = signerRegistration('ML-DSA-65', leaked.publicKey, { validFrom: VALID_FROM });
    await registry.register(reg, NOW);
    const i2 = await createIntent({ a: 2 }, leaked, { clock });
    await registry.revoke(reg.keyId, NOW, 'leaked');
    expect(codes(await verifyIntent(i2, { registry, nonces, clock }))).toEqual(['ledger.signer.revoked']);
  });

  it('validity window: not yet valid, expired', async () => {
    const { nonces } = ctx;
    const registry = new MemoryKeyRegistry();
    const { signer } = await makeSigner('ES256K');
    await registry.register(
      signerRegistration('ES256K', signer.publicKey, {
        validFrom: new Date(NOW.getTime() + 1000),
        validUntil: new Date(NOW.getTime() + 2000),
      }),
      NOW,
    );
    const early = await createIntent({ a: 1 }, signer, { clock });
    expect(codes(await verifyIntent(early, { registry, nonces, clock }))).toEqual([
      'ledger.signer.not-yet-valid',
    ]);
    const late = await createIntent({ timestamp: new Date(NOW.getTime() + 2000).toISOString() }, signer, {
      clock,
    });
    expect(codes(await verifyIntent(late, { registry, nonces, clock }))).toEqual(['ledger.signer.expired']);
  });

  it('a tampered record, hash or signature is refused with the right codes', async () => {
    const { registry, nonces, signer } = ctx;
    const intent = await createIntent({ rid: 'r1', n: 1 }, signer, { clock });
    const changed = tamper(intent, (i) => {
      i.record.n = 2;
    });
    expect(codes(await verifyIntent(changed, { registry, nonces, clock }))).toEqual([
      'ledger.intent.hash-mismatch',
      'ledger.signature.invalid',
    ]);
    const rehashed = tamper(intent, (i) => {
      i.record.n = 2;
      i.signature.hash = toHex(intentRecordHash(i.record));
    });
    expect(codes(await verifyIntent(rehashed, { registry, nonces, clock }))).toEqual([
      'ledger.signature.invalid',
    ]);
    const badSig = tamper(intent, (i) => {
      i.signature.sig = toBase64Url(new Uint8Array(70));
    });
    expect(codes(await verifyIntent(badSig, { registry, nonces, clock }))).toEqual([
      'ledger.signature.invalid',
    ]);
    const badKey = tamper(intent, (i) => {
      i.signer.pubkey = toBase64Url(new Uint8Array(33).fill(7));
    });
    expect(codes(await verifyIntent(badKey, { registry, nonces, clock }))).toEqual([
      'ledger.signer.key-malformed',
    ]);
    const otherAlg = tamper(intent, (i) => {
      i.signature.alg = 'RS256';
    });
    expect(codes(await verifyIntent(otherAlg, { registry, nonces, clock }))).toEqual([
      'ledger.signature.alg-unsupported',
    ]);
    const wrongAlg = tamper(intent, (i) => {
      i.signature.alg = 'ES256K';
    });
    expect(codes(await verifyIntent(wrongAlg, { registry, nonces, clock }))).toEqual([
      'ledger.signature.invalid',
    ]);
    const proto = tamper(intent, (i) => {
      i.protocol = 'other';
      i.version = 2;
    });
    expect(codes(await verifyIntent(proto, { registry, nonces, clock }))).toEqual(['ledger.intent.protocol']);
    // None of that consumed the nonce.
    expect((await verifyIntent(intent, { registry, nonces, clock })).valid).toBe(true);
  });

  it('a replay combined with another failure reports both', async () => {
    const { registry, nonces, signer } = ctx;
    const intent = await createIntent({ a: 'x' }, signer, { clock });
    expect((await verifyIntent(intent, { registry, nonces, clock })).valid).toBe(true);
    const later = (): Date => new Date(NOW.getTime() + 3_600_000);
    expect(codes(await verifyIntent(intent, { registry, nonces, clock: later }))).toEqual([
      'ledger.nonce.replayed',
      'ledger.timestamp.skew',
    ]);
  });

  it('malformed input → ledger.intent.schema, never a crash', async () => {
    const { registry, nonces, signer } = ctx;
    const intent = await createIntent({ a: 1 }, signer, { clock });
    const bad: unknown[] = [
      null,
      42,
      'not json',
      '{"a":1,"a":2}',
      {},
      tamper(intent, (i) => {
        delete i.record.nonce;
      }),
      tamper(intent, (i) => {
        i.record.timestamp = '2026-03-04 05:06:07';
      }),
      tamper(intent, (i) => {
        i.record.timestamp = '2026-02-30T05:06:07Z';
      }),
      tamper(intent, (i) => {
        i.record.nonce = 'short';
      }),
      tamper(intent, (i) => {
        i.signature.hash = i.signature.hash.toUpperCase();
      }),
      tamper(intent, (i) => {
        i.signer.pubkey = 'not base64url!';
      }),
      tamper(intent, (i) => {
        i.extra = true;
      }),
      tamper(intent, (i) => {
        i.record.big = 'x'.repeat(70_000);
      }),
      { ...intent, record: { ...intent.record, n: Number.NaN } },
      { ...intent, record: { ...intent.record, s: '\ud800' } },
    ];
    for (const b of bad) {
      const v = await verifyIntent(b, { registry, nonces, clock });
      expect(v.valid).toBe(false);
      expect(codes(v)[0], JSON.stringify(b)?.slice(0, 80)).toBe('ledger.intent.schema');
    }
  });

  it('16 concurrent submissions of one intent: exactly one accepted', async () => {
    const { registry, nonces, signer } = ctx;
    const intent = await createIntent({ a: 'race' }, signer, { clock });
    const results = await Promise.all(
      Array.from({ length: 16 }, () => verifyIntent(JSON.stringify(intent), { registry, nonces, clock })),
    );
    expect(results.filter((r) => r.valid)).toHaveLength(1);
    for (const r of results.filter((x) => !x.valid)) expect(codes(r)).toEqual(['ledger.nonce.replayed']);
  });
});

describe('intents: canonical hashing', () => {
  it('equivalent JSON with different key order, whitespace and number spelling → same hash, still verifies', async () => {
    const { registry, nonces, signer } = await setup('ML-DSA-65');
    const intent = await createIntent({ z: 1, a: { y: [1, 2, { q: 'é' }], b: 1e2 } }, signer, { clock });
    const r = intent.record;
    const text = `{"signature":${JSON.stringify(intent.signature)},"signer":${JSON.stringify(intent.signer)},
      "record":{"nonce":"${r.nonce}","a":{"b":100.0,"y":[1,2,{"q":"\\u00e9"}]},"timestamp":"${r.timestamp}","z":1E0},
      "version":1,"protocol":"omt-publish"}`;
    const v = await verifyIntent(text, { registry, nonces, clock });
    expect(codes(v)).toEqual([]);
    expect(v.hash).toBe(intent.signature.hash);
  });

  it('property: any permutation of keys hashes the same', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 8 }), (obj) => {
        const clean = JSON.parse(JSON.stringify(obj));
        const reversed = Object.fromEntries(Object.entries(clean).reverse());
        expect(toHex(intentRecordHash(reversed))).toBe(toHex(intentRecordHash(clean)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('intents: audit', () => {
  it('every decision is appended to the audit log (allow and deny), without record content', async () => {
    const { registry, nonces, signer } = await setup('ES256K-DER');
    const store = new MemoryAuditLogStore();
    const audit = new AuditLog(store, { log: 'ledger.intents', clock });
    const intent = await createIntent({ secretish: 'do-not-log' }, signer, { clock });
    await verifyIntent(intent, { registry, nonces, clock, audit });
    await verifyIntent(intent, { registry, nonces, clock, audit });
    await verifyIntent('garbage', { registry, nonces, clock, audit });
    const entries = await store.read('ledger.intents', 0, 10);
    const parsed = entries.map((e) => JSON.parse(e.body));
    expect(parsed.map((e) => [e.action, e.outcome, e.details.codes])).toEqual([
      ['ledger.intent.verify', 'allow', []],
      ['ledger.intent.verify', 'deny', ['ledger.nonce.replayed']],
      ['ledger.intent.verify', 'deny', ['ledger.intent.schema']],
    ]);
    expect(parsed[0].subject).toBe(intent.signature.hash);
    expect(parsed[0].actor).toMatch(/^[0-9a-f]{64}$/);
    expect(entries.map((e) => e.body).join()).not.toContain('do-not-log');
  });
});

describe('intents: client side', () => {
  it('createIntent keeps a given timestamp and nonce and refuses a bad record', async () => {
    const { signer } = await makeSigner('ES256K');
    const i = await createIntent({ timestamp: '2026-03-04T05:06:07Z', nonce: 'abcdefgh1234' }, signer);
    expect(i.record.timestamp).toBe('2026-03-04T05:06:07Z');
    expect(i.record.nonce).toBe('abcdefgh1234');
    await expect(createIntent({ nonce: 'x' }, signer)).rejects.toMatchObject({
      code: 'ledger.intent.schema',
    });
    await expect(createIntent([] as never, signer)).rejects.toMatchObject({ code: 'ledger.intent.schema' });
    await expect(createIntent({ n: Number.POSITIVE_INFINITY }, signer)).rejects.toMatchObject({
      code: 'ledger.intent.schema',
    });
    await expect(intentSigner('RS256' as IntentAlg, new Uint8Array(32))).rejects.toMatchObject({
      code: 'ledger.intent.invalid',
    });
  });
});

describe('ES256K intents: native (node:crypto via the ES256K suite) ↔ portable (noble over H)', () => {
  const N = secp256k1.Point.Fn.ORDER;
  const highS = (compact: Uint8Array): Uint8Array =>
    Uint8Array.from([
      ...compact.subarray(0, 32),
      ...numberToBytesBE(N - bytesToNumberBE(compact.subarray(32)), 32),
    ]);

  for (const alg of ['ES256K-DER', 'ES256K'] as const) {
    it(`${alg}: signCanonical output verifies portably over H; sign(H) output verifies on the native path`, async () => {
      expect(await ES256K.nativeAvailable()).toBe(true);
      const { registry, nonces, signer } = await setup(alg);
      const format = alg === 'ES256K' ? 'compact' : 'der';
      for (let i = 0; i < 5; i++) {
        const viaSuite = await createIntent({ rid: `urn:n:${i}` }, signer, { clock });
        const h = fromHex(viaSuite.signature.hash);
        const sig = fromBase64Url(viaSuite.signature.sig);
        // noble, low-S and strict DER enforced by verifySecp256k1's defaults
        expect(verifySecp256k1(signer.publicKey, h, sig, { format })).toBe(true);
        expect((await verifyIntent(viaSuite, { registry, nonces, clock })).valid).toBe(true);
        // a signer with only sign(H): the RFC 6979 noble path, checked by the native verifier
        const hashOnly: IntentSigner = { alg, publicKey: signer.publicKey, sign: signer.sign };
        const viaHash = await createIntent({ rid: `urn:h:${i}` }, hashOnly, { clock });
        expect((await verifyIntent(viaHash, { registry, nonces, clock })).valid).toBe(true);
      }
    });

    it(`${alg}: high-S twins and non-strict encodings are refused (BIP62 rule 5, BIP66)`, async () => {
      const { registry, nonces, signer } = await setup(alg);
      const intent = await createIntent({ rid: 'urn:s:1' }, signer, { clock });
      const sig = fromBase64Url(intent.signature.sig);
      const compact = alg === 'ES256K' ? sig : decodeDerSignature(sig);
      const twin = highS(compact);
      // the twin is a valid ECDSA signature (the ES256K suite accepts high-S) …
      expect(await ES256K.verify(signer.publicKey, utf8(canonicalize(intent.record)), twin)).toBe(true);
      const bad: Uint8Array[] = [alg === 'ES256K' ? twin : encodeDerSignature(twin)];
      if (alg === 'ES256K-DER') {
        // R padded with a superfluous zero byte: BER-valid, not strict DER
        const lenR = sig[3] as number;
        bad.push(Uint8Array.from([0x30, (sig[1] as number) + 1, 0x02, lenR + 1, 0, ...sig.subarray(4)]));
      } else bad.push(Uint8Array.from([...compact, 0]));
      for (const b of bad) {
        const t = tamper(intent, (i) => {
          i.signature.sig = toBase64Url(b);
        });
        // … but intents require low-S and strict DER
        expect(codes(await verifyIntent(t, { registry, nonces, clock }))).toEqual([
          'ledger.signature.invalid',
        ]);
      }
      expect((await verifyIntent(intent, { registry, nonces, clock })).valid).toBe(true);
    });
  }

  it('an injected RandomSource keeps the portable hedged path: same randomness → same signature', async () => {
    const { secretKey } = await makeSigner('ES256K-DER');
    const fixed = (n: number): Uint8Array => new Uint8Array(n).fill(7);
    const s1 = await intentSigner('ES256K-DER', secretKey, { random: fixed });
    const s2 = await intentSigner('ES256K-DER', secretKey, { random: fixed });
    const record = { rid: 'urn:r:1', timestamp: NOW.toISOString(), nonce: 'AAAAAAAAAAAAAAAAAAAAAA' };
    const a = await createIntent(record, s1);
    const b = await createIntent(record, s2);
    expect(a.signature.sig).toBe(b.signature.sig);
    expect(verifySecp256k1(s1.publicKey, fromHex(a.signature.hash), fromBase64Url(a.signature.sig))).toBe(
      true,
    );
  });
});

describe('intentAlgFor (the intent algorithm of a key suite)', () => {
  it('secp256k1 signs DER unless compact is asked for; other intent suites sign as themselves; the rest are refused', () => {
    expect(intentAlgFor('ES256K')).toBe('ES256K-DER');
    expect(intentAlgFor('ES256K', { compact: true })).toBe('ES256K');
    expect(intentAlgFor('ML-DSA-65')).toBe('ML-DSA-65');
    expect(intentAlgFor('Ed25519', { compact: true })).toBe('Ed25519');
    for (const suite of ['ES256', 'Ed448', 'SLH-DSA-SHA2-128s', 'nonsense'])
      expect(() => intentAlgFor(suite)).toThrow(
        expect.objectContaining({ code: 'ledger.signature.alg-unsupported' }),
      );
  });
});
