import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  openPkcs11RootKeyProvider,
  openPkcs11Token,
  type Pkcs11RootKeyProvider,
  type Pkcs11Token,
} from '@omt/adapters/pkcs11';
import { fromHex, toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { rootKeyProviderContract } from '@omt/kms/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSoftHsm, describeSoftHsm, type SoftHsm, softhsmModule } from './pkcs11-env.js';

const MAIN = { label: 'omt-l1', pin: '246813', soPin: '13572468' };
const OTHER = { label: 'omt-other', pin: '975310', soPin: '86420864' };
const env = { OMT_TEST_PIN: MAIN.pin, OMT_OTHER_PIN: OTHER.pin, OMT_WRONG_PIN: '000000' };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

const rnd = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

// A second Node process using the same token directory: runs one provider operation and prints JSON.
const CHILD = `
import { openPkcs11RootKeyProvider } from '@omt/adapters/pkcs11';
const [op, keyId, blobHex, aadHex] = JSON.parse(process.env.OMT_CHILD_ARGS);
const hex = (b) => Buffer.from(b).toString('hex');
const p = await openPkcs11RootKeyProvider({ modulePath: process.env.OMT_CHILD_MODULE, tokenLabel: process.env.OMT_CHILD_TOKEN, pinEnv: 'OMT_CHILD_PIN' });
try {
  let out;
  if (op === 'unwrap') out = hex(await p.unwrap(keyId, Buffer.from(blobHex, 'hex'), Buffer.from(aadHex, 'hex')));
  else if (op === 'describe') out = await p.describe(keyId);
  else if (op === 'disable') out = await p.disable(keyId);
  else if (op === 'wrap') out = hex(await p.wrap(keyId, Buffer.from(blobHex, 'hex'), Buffer.from(aadHex, 'hex')));
  console.log(JSON.stringify({ ok: true, out }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code, message: e.message }));
} finally {
  await p.close();
}
`;

async function inChild(
  hsm: SoftHsm,
  args: unknown[],
): Promise<{ ok: boolean; out?: unknown; code?: string }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=omt-source', '--import', 'tsx', '--input-type=module', '-e', CHILD],
    {
      cwd: new URL('../../../', import.meta.url).pathname,
      env: {
        ...process.env,
        SOFTHSM2_CONF: hsm.conf,
        OMT_CHILD_MODULE: softhsmModule,
        OMT_CHILD_TOKEN: MAIN.label,
        OMT_CHILD_PIN: MAIN.pin,
        OMT_CHILD_ARGS: JSON.stringify(args),
      },
      timeout: 30_000,
    },
  );
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as { ok: boolean; out?: unknown; code?: string };
}

describeSoftHsm('PKCS#11 root key provider on SoftHSM2', () => {
  let hsm: SoftHsm;
  let provider: Pkcs11RootKeyProvider;
  let token: Pkcs11Token;

  beforeAll(async () => {
    hsm = createSoftHsm([MAIN, OTHER]);
    provider = await openPkcs11RootKeyProvider({
      modulePath: softhsmModule,
      tokenLabel: MAIN.label,
      pinEnv: 'OMT_TEST_PIN',
      env,
    });
    token = provider.token;
  });
  afterAll(async () => {
    await provider?.close();
    hsm?.cleanup();
  });

  rootKeyProviderContract('PKCS#11 (SoftHSM2)', async () => {
    // Its own token object on the same token: sessions and login are shared per process.
    const p = await openPkcs11RootKeyProvider({
      modulePath: softhsmModule,
      tokenLabel: MAIN.label,
      pinEnv: 'OMT_TEST_PIN',
      env,
    });
    return { port: p, close: () => p.close() };
  });

  it('the L1 key is generated sensitive and non-extractable: CKA_VALUE cannot be read, nor the flags relaxed', async () => {
    const { keyId } = await provider.createKey({ label: 'extractability' });
    await token.withSession((s) => {
      const ck = s.ck;
      const [h] = s.findObjects([
        { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
        { type: ck.CKA_ID, value: Buffer.from(utf8(keyId)) },
      ]);
      expect(h).toBeDefined();
      const handle = h as Buffer;
      let code: string | undefined;
      try {
        s.getAttributes(handle, [ck.CKA_VALUE]);
      } catch (e) {
        code = isOmtError(e) ? e.code : String(e);
        expect((e as Error).message).toContain('CKR_ATTRIBUTE_SENSITIVE');
      }
      expect(code).toBe('adapters.pkcs11.attribute-sensitive');
      const flags = s.getAttributes(handle, [
        ck.CKA_SENSITIVE,
        ck.CKA_EXTRACTABLE,
        ck.CKA_ALWAYS_SENSITIVE,
        ck.CKA_NEVER_EXTRACTABLE,
        ck.CKA_LOCAL,
        ck.CKA_WRAP,
        ck.CKA_UNWRAP,
        ck.CKA_VALUE_LEN,
      ]);
      expect(flags.get(ck.CKA_SENSITIVE)?.[0]).toBe(1);
      expect(flags.get(ck.CKA_EXTRACTABLE)?.[0]).toBe(0);
      expect(flags.get(ck.CKA_ALWAYS_SENSITIVE)?.[0]).toBe(1);
      expect(flags.get(ck.CKA_NEVER_EXTRACTABLE)?.[0]).toBe(1);
      expect(flags.get(ck.CKA_LOCAL)?.[0]).toBe(1); // generated inside the token
      expect(flags.get(ck.CKA_WRAP)?.[0]).toBe(0);
      expect(flags.get(ck.CKA_UNWRAP)?.[0]).toBe(0);
      expect(flags.get(ck.CKA_VALUE_LEN)?.[0]).toBe(32);
      for (const relax of [
        { type: ck.CKA_EXTRACTABLE, value: true },
        { type: ck.CKA_SENSITIVE, value: false },
      ]) {
        let relaxCode: string | undefined;
        try {
          s.setAttributes(handle, [relax]);
        } catch (e) {
          relaxCode = isOmtError(e) ? e.code : String(e);
        }
        expect(relaxCode).toBe('adapters.pkcs11.attribute-read-only');
      }
    });
  });

  it('disable is enforced by the token itself: a raw C_EncryptInit/C_DecryptInit is refused; enable restores it', async () => {
    const { keyId } = await provider.createKey();
    const key = rnd(32);
    const aad = utf8('tenant=acme');
    const blob = await provider.wrap(keyId, key, aad);
    await provider.disable(keyId);
    const rawInit = (fn: 'C_EncryptInit' | 'C_DecryptInit'): Promise<string | undefined> =>
      token.withSession((s) => {
        const ck = s.ck;
        const [h] = s.findObjects([
          { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
          { type: ck.CKA_ID, value: Buffer.from(utf8(keyId)) },
        ]);
        const mech = {
          mechanism: ck.CKM_AES_GCM,
          parameter: { type: ck.CK_PARAMS_AES_GCM_v240, iv: Buffer.alloc(12, 1), ivBits: 96, tagBits: 128 },
        };
        const op =
          fn === 'C_EncryptInit'
            ? s.encrypt(mech, h as Buffer, rnd(32), 64)
            : s.decrypt(mech, h as Buffer, rnd(48), 48);
        return op.then(
          () => undefined,
          (e: unknown) => (isOmtError(e) ? `${e.code} ${String(e.details?.ckr)}` : String(e)),
        );
      });
    expect(await rawInit('C_EncryptInit')).toBe(
      'adapters.pkcs11.key-disabled CKR_KEY_FUNCTION_NOT_PERMITTED',
    );
    expect(await rawInit('C_DecryptInit')).toBe(
      'adapters.pkcs11.key-disabled CKR_KEY_FUNCTION_NOT_PERMITTED',
    );
    const refused = await errorOf(provider.unwrap(keyId, blob, aad));
    expect(isOmtError(refused, 'kms.key.revoked')).toBe(true);
    expect(String((refused as Error).message)).not.toContain(toHex(key));
    await provider.enable(keyId);
    expect(toHex(await provider.unwrap(keyId, blob, aad))).toBe(toHex(key));
  });

  it('blobs are 0x01 ‖ 12-byte nonce ‖ ciphertext ‖ 16-byte tag and bind the key id', async () => {
    const { keyId } = await provider.createKey();
    const blob = await provider.wrap(keyId, rnd(32), new Uint8Array(0));
    expect(blob.length).toBe(1 + 12 + 32 + 16);
    expect(blob[0]).toBe(0x01);
    const wrongFormat = blob.slice();
    wrongFormat[0] = 0x02;
    expect(await codeOf(provider.unwrap(keyId, wrongFormat, new Uint8Array(0)))).toBe('kms.unwrap.failed');
  });

  it('property: any 16–64-byte key and 0–512-byte aad round-trip; any single bit flip is refused', async () => {
    const { keyId } = await provider.createKey();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.uint8Array({ maxLength: 512 }),
        fc.nat(),
        async (key, aad, bit) => {
          const blob = await provider.wrap(keyId, key, aad);
          expect(toHex(await provider.unwrap(keyId, blob, aad))).toBe(toHex(key));
          const bad = blob.slice();
          const i = bit % (bad.length * 8);
          bad[i >> 3] = (bad[i >> 3] as number) ^ (1 << (i & 7));
          expect(await codeOf(provider.unwrap(keyId, bad, aad))).toBe('kms.unwrap.failed');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a second process sees the same key: it unwraps our blob, and its disable stops us', async () => {
    const { keyId } = await provider.createKey({ label: 'shared' });
    const key = rnd(32);
    const aad = utf8('tenant=acme;service=media');
    const blob = await provider.wrap(keyId, key, aad);
    const unwrapped = await inChild(hsm, ['unwrap', keyId, toHex(blob), toHex(aad)]);
    expect(unwrapped).toEqual({ ok: true, out: toHex(key) });
    const described = await inChild(hsm, ['describe', keyId]);
    expect(described.ok).toBe(true);
    expect(described.out).toMatchObject({ keyId, state: 'enabled', label: 'shared', provider: 'pkcs11' });
    // Wrapped over there, unwrapped here.
    const key2 = rnd(48);
    const childBlob = await inChild(hsm, ['wrap', keyId, toHex(key2), toHex(aad)]);
    expect(childBlob.ok).toBe(true);
    expect(toHex(await provider.unwrap(keyId, fromHex(childBlob.out as string), aad))).toBe(toHex(key2));
    // The other process pulls the kill switch; this one is refused at once.
    expect((await inChild(hsm, ['disable', keyId])).ok).toBe(true);
    expect(await codeOf(provider.unwrap(keyId, blob, aad))).toBe('kms.key.revoked');
    expect((await provider.describe(keyId)).state).toBe('disabled');
    await provider.enable(keyId);
    expect(await inChild(hsm, ['unwrap', keyId, toHex(blob), toHex(aad)])).toEqual({
      ok: true,
      out: toHex(key),
    });
  }, 60_000);

  it('destroy removes the key object (C_DestroyObject) and describe/listKeys report it destroyed', async () => {
    const { keyId } = await provider.createKey();
    await provider.destroy(keyId);
    await provider.destroy(keyId); // idempotent
    expect((await provider.describe(keyId)).state).toBe('destroyed');
    const listed = (await provider.listKeys()).find((k) => k.keyId === keyId);
    expect(listed?.state).toBe('destroyed');
    const remaining = await token.withSession((s) =>
      s.findObjects([
        { type: s.ck.CKA_CLASS, value: s.ck.CKO_SECRET_KEY },
        { type: s.ck.CKA_ID, value: Buffer.from(utf8(keyId)) },
      ]),
    );
    expect(remaining).toHaveLength(0);
    expect(await codeOf(provider.createKey({ keyId }))).toBe('kms.key.exists');
  });

  it('a key provisioned by another tool (no metadata object) is usable, described, and destroyable', async () => {
    const keyId = `foreign-${toHex(rnd(4))}`;
    await token.withSession((s) => {
      const ck = s.ck;
      return s.generateKey({ mechanism: ck.CKM_AES_KEY_GEN }, [
        { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
        { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
        { type: ck.CKA_VALUE_LEN, value: 32 },
        { type: ck.CKA_TOKEN, value: true },
        { type: ck.CKA_PRIVATE, value: true },
        { type: ck.CKA_SENSITIVE, value: true },
        { type: ck.CKA_EXTRACTABLE, value: false },
        { type: ck.CKA_ENCRYPT, value: true },
        { type: ck.CKA_DECRYPT, value: true },
        { type: ck.CKA_ID, value: Buffer.from(utf8(keyId)) },
      ]);
    });
    const d = await provider.describe(keyId);
    expect(d).toMatchObject({
      keyId,
      state: 'enabled',
      algorithm: 'AES-256-GCM',
      createdAt: '1970-01-01T00:00:00.000Z',
    });
    const key = rnd(32);
    expect(toHex(await provider.unwrap(keyId, await provider.wrap(keyId, key, utf8('a')), utf8('a')))).toBe(
      toHex(key),
    );
    expect((await provider.listKeys()).map((k) => k.keyId)).toContain(keyId);
    await provider.destroy(keyId);
    expect((await provider.describe(keyId)).state).toBe('destroyed');
  });

  it('two AES keys with the same CKA_ID are reported, not silently picked', async () => {
    const { keyId } = await provider.createKey();
    await token.withSession((s) => {
      const ck = s.ck;
      return s.generateKey({ mechanism: ck.CKM_AES_KEY_GEN }, [
        { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
        { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
        { type: ck.CKA_VALUE_LEN, value: 32 },
        { type: ck.CKA_TOKEN, value: true },
        { type: ck.CKA_ENCRYPT, value: true },
        { type: ck.CKA_DECRYPT, value: true },
        { type: ck.CKA_ID, value: Buffer.from(utf8(keyId)) },
      ]);
    });
    expect(await codeOf(provider.wrap(keyId, rnd(32), new Uint8Array(0)))).toBe(
      'adapters.pkcs11.key-ambiguous',
    );
  });

  it('a wrong PIN fails with adapters.pkcs11.pin-incorrect naming the CKR, never the PIN', async () => {
    const e = await errorOf(
      openPkcs11RootKeyProvider({
        modulePath: softhsmModule,
        tokenLabel: OTHER.label,
        pinEnv: 'OMT_WRONG_PIN',
        env,
      }),
    );
    expect(isOmtError(e, 'adapters.pkcs11.pin-incorrect')).toBe(true);
    const text = `${(e as Error).message} ${JSON.stringify(e)}`;
    expect(text).toContain('CKR_PIN_INCORRECT');
    expect(text).toContain('OMT_WRONG_PIN');
    expect(text).not.toContain(env.OMT_WRONG_PIN);
    // The right PIN still works afterwards (SoftHSM2 has no retry limit for the user PIN by default).
    const ok = await openPkcs11RootKeyProvider({
      modulePath: softhsmModule,
      tokenLabel: OTHER.label,
      pinEnv: 'OMT_OTHER_PIN',
      env,
    });
    expect(ok.token.info.label).toBe(OTHER.label);
    // Keys are per token: the other token does not know the main token's keys.
    const { keyId } = await provider.createKey();
    expect(await codeOf(ok.describe(keyId))).toBe('kms.key.not-found');
    await ok.close();
  });

  it('a token opened without the provider can be shared by two providers; closing one keeps the other working', async () => {
    const shared = await openPkcs11Token({
      modulePath: softhsmModule,
      tokenLabel: MAIN.label,
      pinEnv: 'OMT_TEST_PIN',
      env,
    });
    const { Pkcs11RootKeyProvider } = await import('@omt/adapters/pkcs11');
    const a = new Pkcs11RootKeyProvider(shared);
    const b = new Pkcs11RootKeyProvider(shared);
    const { keyId } = await a.createKey();
    const key = rnd(16);
    const blob = await a.wrap(keyId, key, new Uint8Array(0));
    await a.close(); // does not own the token
    expect(toHex(await b.unwrap(keyId, blob, new Uint8Array(0)))).toBe(toHex(key));
    await shared.close();
    expect(await codeOf(b.describe(keyId))).toBe('adapters.pkcs11.closed');
  });
});
