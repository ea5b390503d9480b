import { decodeCbor } from '@omt/core/cbor';
import { parseEnvelopeHeader } from '@omt/kms/envelope';
import {
  decryptStreamWithShare,
  decryptWithShare,
  generateRecipientKeyPair,
  shareEnvelope,
  XWING_KEM_ID,
} from '@omt/kms/recipient';
import { describe, expect, it } from 'vitest';
import { bytes, codeOf, collect, P, setup } from './setup.js';

describe('sharing with an outside recipient (X-Wing)', () => {
  it('the recipient decrypts records and streams with only the share and its secret key', async () => {
    const f = await setup();
    const bob = generateRecipientKeyPair();
    const plain = bytes(3000);
    const record = await f.kms.encrypt(plain, {
      principal: P,
      tenant: 'acme',
      service: 'media',
      objectId: 'r',
    });
    const stream = await collect(
      f.kms.encryptStream([plain], {
        principal: P,
        tenant: 'acme',
        service: 'media',
        objectId: 's',
        frameSize: 512,
        shreddable: true,
      }),
    );
    for (const env of [record, stream]) {
      const share = await shareEnvelope(f.kms, env, {
        principal: P,
        recipientId: 'bob@press.example',
        recipientPublicKey: bob.publicKey,
      });
      const m = decodeCbor(share) as Map<string, unknown>;
      expect(m.get('kem')).toBe(XWING_KEM_ID);
      expect((m.get('enc') as Uint8Array).length).toBe(1120);
      // The hierarchy can go away entirely: the recipient needs nothing of it.
      await f.governance.disableRoot({ actor: 'ops', tenant: 'acme' });
      expect(Buffer.from(await decryptWithShare(env, share, bob.secretKey)).equals(Buffer.from(plain))).toBe(
        true,
      );
      expect(
        Buffer.from(await collect(decryptStreamWithShare([env], share, bob.secretKey))).equals(
          Buffer.from(plain),
        ),
      ).toBe(true);
      await f.governance.enableRoot({ actor: 'ops', tenant: 'acme' });
    }
    const log = await f.entries();
    expect(log.filter((e) => e.action === 'kms.data.share').map((e) => e.details?.recipient)).toEqual([
      'bob@press.example',
      'bob@press.example',
    ]);
  });

  it('another key, another envelope, or a modified share fails; a denied principal cannot share', async () => {
    const f = await setup();
    const bob = generateRecipientKeyPair();
    const eve = generateRecipientKeyPair();
    const a = await f.kms.encrypt(bytes(10, 1), {
      principal: P,
      tenant: 'acme',
      service: 'media',
      objectId: 'a',
    });
    const b = await f.kms.encrypt(bytes(10, 2), {
      principal: P,
      tenant: 'acme',
      service: 'media',
      objectId: 'b',
    });
    const share = await shareEnvelope(f.kms, a, {
      principal: P,
      recipientId: 'bob',
      recipientPublicKey: bob.publicKey,
    });
    expect(await codeOf(decryptWithShare(a, share, eve.secretKey))).toBe('kms.unwrap.failed');
    expect(await codeOf(decryptWithShare(b, share, bob.secretKey))).toBe('kms.context.mismatch');
    for (const [at, code] of [
      [20, 'kms.unwrap.failed'], // inside wk (deterministic key order: v, wk, enc, kem, mid, rid)
      [200, 'kms.unwrap.failed'], // inside the X-Wing ciphertext: another shared secret
      [share.length - 5, 'kms.recipient.malformed'], // the rid text header
    ] as const) {
      const bad = share.slice();
      bad[at] = (bad[at] as number) ^ 1;
      expect(await codeOf(decryptWithShare(a, bad, bob.secretKey)), `flip at ${at}`).toBe(code);
    }
    expect(await codeOf(decryptWithShare(a, share.subarray(0, 100), bob.secretKey))).toBe(
      'kms.recipient.malformed',
    );
    expect(
      await codeOf(
        shareEnvelope(f.kms, a, {
          principal: 'mallory',
          recipientId: 'x',
          recipientPublicKey: bob.publicKey,
        }),
      ),
    ).toBe('kms.policy.denied');
    expect(
      await codeOf(
        shareEnvelope(f.kms, a, { principal: P, recipientId: 'x', recipientPublicKey: bytes(10) }),
      ),
    ).toBe('kms.input.invalid');
    expect(parseEnvelopeHeader(a).header.objectId).toBe('a');
  });
});
