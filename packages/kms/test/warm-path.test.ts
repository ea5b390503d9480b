// The warm path (policy and keys cached) answers without promises when the engine is synchronous,
// and a one-shot record cipher takes the raw data key when the engine accepts raw keys. Both must
// write the same bytes, refuse and audit exactly as the general path does, and wipe the key.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { webCryptoAead } from '@omt/kms/aead-web';
import { EnvelopeCipher, encodeEnvelopeHeader, parseEnvelopeHeader } from '@omt/kms/envelope';
import type { AeadEngine, AeadKey } from '@omt/kms/ports';
import { aeadEngineContract } from '@omt/kms/testing';
import { describe, expect, it } from 'vitest';
import { bytes, codeOf, P, setup } from './setup.js';

type NodeKey = KeyObject | Uint8Array;

/** node:crypto AES-GCM, synchronous, taking raw keys too (as the adapters' nodeAead does). */
const syncEngine: AeadEngine = {
  name: 'node:crypto (test, synchronous, raw keys)',
  acceptsRawKeys: true,
  importKey: (raw) => createSecretKey(raw),
  seal(key, iv, aad, plaintext) {
    const c = createCipheriv('aes-256-gcm', key as NodeKey, iv);
    c.setAAD(aad);
    const body = c.update(plaintext);
    c.final();
    const out = new Uint8Array(body.length + 16);
    out.set(body, 0);
    out.set(c.getAuthTag(), body.length);
    return out;
  },
  open(key, iv, aad, sealed) {
    const d = createDecipheriv('aes-256-gcm', key as NodeKey, iv);
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const body = d.update(sealed.subarray(0, sealed.length - 16));
    d.final();
    return new Uint8Array(body);
  },
  hkdfSha512: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha512', ikm, salt, info, length)),
  sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
};

/** The same with ciphertext and tag apart. */
const syncDetachedEngine: AeadEngine = {
  ...syncEngine,
  name: 'node:crypto (test, synchronous, detached)',
  sealDetached(key, iv, aad, plaintext) {
    const c = createCipheriv('aes-256-gcm', key as NodeKey, iv);
    c.setAAD(aad);
    const body = c.update(plaintext);
    c.final();
    return [body, c.getAuthTag()];
  },
  openDetached(key, iv, aad, ciphertext, tag) {
    if (tag.length !== 16) throw new Error('the tag is 16 bytes');
    const d = createDecipheriv('aes-256-gcm', key as NodeKey, iv);
    d.setAAD(aad);
    d.setAuthTag(tag);
    const body = d.update(ciphertext);
    d.final();
    return new Uint8Array(body);
  },
};

// The pinned envelope bytes (record, framed stream, shreddable) through the synchronous paths.
aeadEngineContract(syncEngine.name, syncEngine);
aeadEngineContract(syncDetachedEngine.name, syncDetachedEngine);

/** `engine` recording the keys its AES calls get and counting imports. */
function spied(engine: AeadEngine) {
  const keys: AeadKey[] = [];
  let imports = 0;
  const wrapped: AeadEngine = {
    ...engine,
    importKey(raw) {
      imports++;
      return engine.importKey(raw);
    },
    seal(key, iv, aad, plaintext) {
      keys.push(key);
      return engine.seal(key, iv, aad, plaintext);
    },
    open(key, iv, aad, sealed) {
      keys.push(key);
      return engine.open(key, iv, aad, sealed);
    },
  };
  return {
    engine: wrapped,
    keys,
    get imports() {
      return imports;
    },
  };
}

const enc = { principal: P, tenant: 'acme', service: 'media', objectId: 'rec-1', context: { a: 'b' } };

describe.each([webCryptoAead, syncEngine, syncDetachedEngine])('warm path on $name', (engine) => {
  it('round-trips records warm and cold; one allow entry per operation', async () => {
    const f = await setup({ aead: engine });
    for (let i = 0; i < 5; i++) {
      const plain = bytes(100 * i, i + 1);
      const env = await f.kms.encrypt(plain, { ...enc, objectId: `rec-${i}` });
      expect(
        Array.from(await f.kms.decrypt(env, { principal: P, expect: { objectId: `rec-${i}` } })),
      ).toEqual(Array.from(plain));
    }
    const data = (await f.entries()).filter((e) => e.action.startsWith('kms.data.'));
    expect(data.map((e) => `${e.action}:${e.outcome}`)).toEqual(
      Array.from({ length: 5 }, () => ['kms.data.encrypt:allow', 'kms.data.decrypt:allow']).flat(),
    );
    expect(data.map((e) => e.subject)).toEqual(
      Array.from({ length: 5 }, (_, i) => [
        `object:acme/media/rec-${i}`,
        `object:acme/media/rec-${i}`,
      ]).flat(),
    );
  });

  it('refusals after warm-up are thrown with their code and audited as deny, before returning', async () => {
    const f = await setup({ aead: engine });
    const env = await f.kms.encrypt(bytes(64), enc);
    await f.kms.decrypt(env, { principal: P }); // warm: policy, active key and L3 cached
    const { header, headerBytes } = parseEnvelopeHeader(env);
    const body = env.subarray(headerBytes.length);
    const join = (h: Uint8Array, b: Uint8Array): Uint8Array => {
      const out = new Uint8Array(h.length + b.length);
      out.set(h, 0);
      out.set(b, h.length);
      return out;
    };
    const wk = header.wrappedKey.slice();
    wk[20] = (wk[20] as number) ^ 1;
    const commitment = header.commitment.slice();
    commitment[0] = (commitment[0] as number) ^ 1;
    const tampered = env.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    // Run one after the other (thunks), so the deny entries come in this order.
    const cases: [() => Promise<unknown>, string][] = [
      [
        () =>
          f.kms.decrypt(join(encodeEnvelopeHeader({ ...header, wrappedKey: wk }), body), { principal: P }),
        'kms.unwrap.failed',
      ],
      [
        () => f.kms.decrypt(join(encodeEnvelopeHeader({ ...header, commitment }), body), { principal: P }),
        'kms.envelope.commitment-mismatch',
      ],
      [() => f.kms.decrypt(tampered, { principal: P }), 'kms.envelope.auth-failed'],
      [() => f.kms.decrypt(env, { principal: P, expect: { objectId: 'other' } }), 'kms.context.mismatch'],
      [() => f.kms.decrypt(env, { principal: 'svc:stranger' }), 'kms.policy.denied'],
      [() => f.kms.encrypt(bytes(8), { ...enc, principal: 'svc:stranger' }), 'kms.policy.denied'],
    ];
    for (const [p, code] of cases) expect(await codeOf(p)).toBe(code);
    const denied = (await f.entries()).filter((e) => e.outcome === 'deny');
    expect(denied.map((e) => e.details?.code)).toEqual(cases.map(([, code]) => code));
    expect(denied.map((e) => e.actor)).toEqual([P, P, P, P, 'svc:stranger', 'svc:stranger']);
    // Revocation reaches the warm path at once.
    await f.governance.revokeTenant({ actor: 'ops', tenant: 'acme' });
    expect(await codeOf(f.kms.decrypt(env, { principal: P }))).toBe('kms.key.revoked');
    expect(await codeOf(f.kms.encrypt(bytes(8), enc))).toBe('kms.key.revoked');
  });

  it('warm operations make no L1 call and no store read', async () => {
    const f = await setup({ aead: engine });
    await f.kms.decrypt(await f.kms.encrypt(bytes(10), enc), { principal: P });
    const before = f.kms.stats;
    for (let i = 0; i < 50; i++) await f.kms.decrypt(await f.kms.encrypt(bytes(10), enc), { principal: P });
    expect(f.kms.stats).toEqual(before);
  });
});

describe('one-shot record ciphers', () => {
  it('a raw-key engine gets the data key itself (no import per record), wiped once the call returns', async () => {
    const spy = spied(syncEngine);
    const f = await setup({ aead: spy.engine });
    await f.kms.decrypt(await f.kms.encrypt(bytes(10), enc), { principal: P }); // warm-up imports L2/L3
    const imports = spy.imports;
    spy.keys.length = 0;
    const env = await f.kms.encrypt(bytes(1000), enc);
    // The data key is the 32-byte array given to the one 1000-byte seal; the L3 wrap gets a KeyObject.
    const raw = spy.keys.filter((k): k is Uint8Array => k instanceof Uint8Array);
    expect(raw.length).toBe(1);
    expect(raw[0]?.length).toBe(32);
    expect(raw[0]?.every((b) => b === 0)).toBe(true);
    spy.keys.length = 0;
    expect((await f.kms.decrypt(env, { principal: P })).length).toBe(1000);
    const rawOpen = spy.keys.filter((k): k is Uint8Array => k instanceof Uint8Array);
    expect(rawOpen.length).toBe(1);
    expect(rawOpen[0]?.every((b) => b === 0)).toBe(true);
    expect(spy.imports).toBe(imports);
    // A failed open wipes it too.
    spy.keys.length = 0;
    const bad = env.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    expect(await codeOf(f.kms.decrypt(bad, { principal: P }))).toBe('kms.envelope.auth-failed');
    const rawBad = spy.keys.filter((k): k is Uint8Array => k instanceof Uint8Array);
    expect(rawBad.length).toBe(1);
    expect(rawBad[0]?.every((b) => b === 0)).toBe(true);
  });

  it('streams keep imported keys (a stream outlives a call)', async () => {
    const spy = spied(syncEngine);
    const f = await setup({ aead: spy.engine });
    await f.kms.decrypt(await f.kms.encrypt(bytes(10), enc), { principal: P });
    const imports = spy.imports;
    const parts: Uint8Array[] = [];
    for await (const c of f.kms.encryptStream([bytes(300)], {
      ...enc,
      frameSize: 100,
    }) as unknown as AsyncIterable<Uint8Array>)
      parts.push(c);
    expect(spy.imports).toBe(imports + 1);
  });

  it('a disposed cipher refuses to seal or open (its raw key is gone)', async () => {
    const env = await (await setup({ aead: syncEngine })).kms.encrypt(bytes(10), enc);
    const { header } = parseEnvelopeHeader(env);
    const key = new Uint8Array(32).fill(7);
    const cipher = EnvelopeCipher.createOneShot(
      header,
      { key, commitment: header.commitment },
      syncEngine,
    ) as EnvelopeCipher;
    expect(cipher).toBeInstanceOf(EnvelopeCipher); // at once, no promise
    expect(key.every((b) => b === 7)).toBe(true); // kept, not imported
    cipher.dispose();
    expect(key.every((b) => b === 0)).toBe(true);
    expect(await codeOf(async () => cipher.sealRecordNow(bytes(3)))).toBe('kms.input.invalid');
    expect(await codeOf(async () => cipher.openFrameNow(0, true, new Uint8Array(20)))).toBe(
      'kms.input.invalid',
    );
    // A wrong commitment wipes the key and refuses.
    const other = new Uint8Array(32).fill(9);
    expect(
      await codeOf(async () =>
        EnvelopeCipher.createOneShot(header, { key: other, commitment: new Uint8Array(32) }, syncEngine),
      ),
    ).toBe('kms.envelope.commitment-mismatch');
    expect(other.every((b) => b === 0)).toBe(true);
    // An engine without raw keys: an ordinary (imported) cipher, the key wiped at once.
    const k2 = new Uint8Array(32).fill(5);
    const viaImport = await EnvelopeCipher.createOneShot(
      header,
      { key: k2, commitment: header.commitment },
      webCryptoAead,
    );
    expect(k2.every((b) => b === 0)).toBe(true);
    viaImport.dispose();
    expect(await codeOf(viaImport.sealRecord(bytes(3)))).toBe('kms.input.invalid');
  });
});
