import { ckrName, codeForCkr, openPkcs11Token, type Pkcs11Token, toPkcs11Error } from '@omt/adapters/pkcs11';
import { isOmtError } from '@omt/core/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSoftHsm, describeSoftHsm, type SoftHsm, softhsmModule } from './pkcs11-env.js';

const TOKEN = { label: 'omt-session', pin: '8642', soPin: '97531246' };
const env = { PIN_OK: TOKEN.pin, PIN_BAD: '1111' };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

describe('CKR mapping', () => {
  it('names standard and vendor return values', () => {
    expect(ckrName(0xa0)).toBe('CKR_PIN_INCORRECT');
    expect(ckrName(0x68)).toBe('CKR_KEY_FUNCTION_NOT_PERMITTED');
    expect(ckrName(0x80000001)).toBe('CKR_VENDOR_0x80000001');
    expect(ckrName(0x3ff)).toBe('CKR_0x3ff');
  });

  it('maps CKR values to adapters.pkcs11.* codes', () => {
    expect(codeForCkr(0xa0)).toBe('adapters.pkcs11.pin-incorrect');
    expect(codeForCkr(0xa4)).toBe('adapters.pkcs11.pin-locked');
    expect(codeForCkr(0x68)).toBe('adapters.pkcs11.key-disabled');
    expect(codeForCkr(0x60)).toBe('adapters.pkcs11.key-not-found');
    expect(codeForCkr(0x82)).toBe('adapters.pkcs11.key-not-found');
    expect(codeForCkr(0x70)).toBe('adapters.pkcs11.mechanism-unsupported');
    expect(codeForCkr(0x71)).toBe('adapters.pkcs11.mechanism-unsupported');
    expect(codeForCkr(0x03)).toBe('adapters.pkcs11.slot-not-found');
    expect(codeForCkr(0x40)).toBe('adapters.pkcs11.decrypt-failed');
    expect(codeForCkr(0x11)).toBe('adapters.pkcs11.attribute-sensitive');
    expect(codeForCkr(0x05)).toBe('adapters.pkcs11.failed');
  });

  it('wraps a pkcs11js-shaped error with the CKR name in message and details', () => {
    const raw = Object.assign(new Error('CKR_PIN_LOCKED'), { name: 'Pkcs11Error', code: 0xa4 });
    const e = toPkcs11Error(raw, 'C_Login', 'log in');
    expect(e.code).toBe('adapters.pkcs11.pin-locked');
    expect(e.message).toBe('PKCS#11 C_Login failed (log in): CKR_PIN_LOCKED');
    expect(e.details).toEqual({ fn: 'C_Login', ckr: 'CKR_PIN_LOCKED', ckrValue: 0xa4 });
    expect(e.cause).toBe(raw);
    // The "CKR_X:123" text form some pkcs11js errors carry.
    expect(toPkcs11Error(new Error('CKR_ATTRIBUTE_READ_ONLY:16'), 'C_SetAttributeValue', 'x').code).toBe(
      'adapters.pkcs11.attribute-read-only',
    );
    expect(toPkcs11Error(new TypeError('bad arg'), 'C_X', 'x').code).toBe('adapters.pkcs11.failed');
  });
});

describeSoftHsm('PKCS#11 session layer on SoftHSM2', () => {
  let hsm: SoftHsm;
  let token: Pkcs11Token;

  beforeAll(async () => {
    hsm = createSoftHsm([TOKEN]);
    token = await openPkcs11Token({
      modulePath: softhsmModule,
      tokenLabel: TOKEN.label,
      pinEnv: 'PIN_OK',
      env,
    });
  });
  afterAll(async () => {
    await token?.close();
    hsm?.cleanup();
  });

  it('finds the token by label and by slot index and reports its info', async () => {
    expect(token.info).toMatchObject({
      label: TOKEN.label,
      manufacturer: 'SoftHSM project',
      model: 'SoftHSM v2',
    });
    const bySlot = await openPkcs11Token({
      modulePath: softhsmModule,
      slot: token.info.slotIndex,
      pinEnv: 'PIN_OK',
      env,
    });
    expect(bySlot.info.label).toBe(TOKEN.label);
    await bySlot.close();
  });

  it('offers CKM_AES_GCM and CKM_AES_KEY_GEN', () => {
    const mechs = token.mechanisms();
    expect(mechs).toContain(token.ck.CKM_AES_GCM);
    expect(mechs).toContain(token.ck.CKM_AES_KEY_GEN);
  });

  it('refuses bad options, a missing module, slot, token label or PIN variable with stable codes', async () => {
    const base = { modulePath: softhsmModule, pinEnv: 'PIN_OK', env };
    expect(await codeOf(openPkcs11Token({ ...base } as never))).toBe('adapters.pkcs11.options-invalid');
    expect(await codeOf(openPkcs11Token({ ...base, slot: 0, tokenLabel: 'x' }))).toBe(
      'adapters.pkcs11.options-invalid',
    );
    expect(await codeOf(openPkcs11Token({ ...base, slot: 0, pinEnv: 'not a var' }))).toBe(
      'adapters.pkcs11.options-invalid',
    );
    expect(
      await codeOf(openPkcs11Token({ ...base, modulePath: '/nonexistent/libnothing.so', slot: 0 })),
    ).toBe('adapters.pkcs11.module-not-found');
    expect(await codeOf(openPkcs11Token({ ...base, tokenLabel: 'no-such-token' }))).toBe(
      'adapters.pkcs11.slot-not-found',
    );
    expect(await codeOf(openPkcs11Token({ ...base, slot: 99 }))).toBe('adapters.pkcs11.slot-not-found');
    // The main token is logged in already (login state is per token and process), so the variable
    // check is shown on a fresh process-level state: close everything first.
    await token.close();
    const missing = await codeOf(
      openPkcs11Token({ ...base, tokenLabel: TOKEN.label, pinEnv: 'PIN_NOT_SET' }),
    );
    expect(missing).toBe('adapters.pkcs11.pin-missing');
    const bad = await codeOf(openPkcs11Token({ ...base, tokenLabel: TOKEN.label, pinEnv: 'PIN_BAD' }));
    expect(bad).toBe('adapters.pkcs11.pin-incorrect');
    token = await openPkcs11Token({ ...base, tokenLabel: TOKEN.label });
  });

  it('runs at most maxSessions operations at once, one per session, and serves every queued one', async () => {
    const small = await openPkcs11Token({
      modulePath: softhsmModule,
      tokenLabel: TOKEN.label,
      pinEnv: 'PIN_OK',
      env,
      maxSessions: 2,
    });
    let inFlight = 0;
    let peak = 0;
    const seen = new Set<string>();
    const busy = new Set<string>();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        small.withSession(async (s) => {
          const id = s.handle.toString('hex');
          expect(busy.has(id)).toBe(false); // never two operations on one session
          busy.add(id);
          seen.add(id);
          inFlight++;
          peak = Math.max(peak, inFlight);
          s.findObjects([{ type: s.ck.CKA_CLASS, value: s.ck.CKO_SECRET_KEY }]);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          busy.delete(id);
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(peak).toBe(2);
    expect(seen.size).toBe(2);
    await small.close();
    await small.close(); // idempotent
    expect(await codeOf(small.withSession(() => 1))).toBe('adapters.pkcs11.closed');
  });

  it('an operation that throws gives its session back; a broken session is replaced', async () => {
    const t = await openPkcs11Token({
      modulePath: softhsmModule,
      tokenLabel: TOKEN.label,
      pinEnv: 'PIN_OK',
      env,
      maxSessions: 1,
    });
    expect(
      await codeOf(
        t.withSession(() => {
          throw new Error('boom');
        }),
      ),
    ).toBe('not an OmtError: Error: boom');
    // Close the session behind the pool's back: the next user sees session-invalid, the one after a fresh session.
    const closedBehind = await codeOf(
      t.withSession((s) => {
        s.findObjects([]);
        const raw = s as unknown as { p11: { C_CloseSession(h: Buffer): void } };
        raw.p11.C_CloseSession(s.handle);
        s.findObjects([]);
      }),
    );
    expect(closedBehind).toBe('adapters.pkcs11.session-invalid');
    expect(
      await t.withSession((s) => s.findObjects([{ type: s.ck.CKA_CLASS, value: s.ck.CKO_DATA }]).length),
    ).toBe(0);
    await t.close();
  });

  it('a closed token rejects operations waiting in the queue', async () => {
    const t = await openPkcs11Token({
      modulePath: softhsmModule,
      tokenLabel: TOKEN.label,
      pinEnv: 'PIN_OK',
      env,
      maxSessions: 1,
    });
    let release: () => void = () => {};
    const first = t.withSession(() => new Promise<void>((r) => (release = r)));
    const queued = codeOf(t.withSession(() => 1));
    await new Promise((r) => setTimeout(r, 5));
    await t.close();
    release();
    await first;
    expect(await queued).toBe('adapters.pkcs11.closed');
  });
});
