/**
 * signSecp256k1MessageAsync / verifySecp256k1MessageAsync: ECDSA over SHA-256(message) on both
 * paths — native (node:crypto on libuv's threadpool, random nonces) and portable (noble, RFC 6979)
 * — checked against noble, node:crypto and the BIP143 example signature.
 */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { concatBytes, fromHex, toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { sha256 } from '@omt/core/hash';
import {
  decodeDerSignature,
  encodeDerSignature,
  isLowS,
  isStrictDerSignature,
  secp256k1NativeAvailable,
  signSecp256k1,
  signSecp256k1MessageAsync,
  verifySecp256k1,
  verifySecp256k1MessageAsync,
} from '@omt/core/suites';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const N = secp256k1.Point.Fn.ORDER;
const PATHS = ['native', 'portable'] as const;
const sk = fromHex('1f'.repeat(32));
const pk33 = secp256k1.getPublicKey(sk, true);
const pk65 = secp256k1.getPublicKey(sk, false);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isOmtError(e) ? e.code : 'raw';
  }
}

function highS(compact: Uint8Array): Uint8Array {
  return concatBytes(compact.subarray(0, 32), numberToBytesBE(N - bytesToNumberBE(compact.subarray(32)), 32));
}

function nodePublicKey(pk: Uint8Array): ReturnType<typeof createPublicKey> {
  const p = secp256k1.Point.fromBytes(pk).toBytes(false);
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'secp256k1',
      x: Buffer.from(p.subarray(1, 33)).toString('base64url'),
      y: Buffer.from(p.subarray(33)).toString('base64url'),
    },
    format: 'jwk',
  });
}

describe('the wider fixed-base table changes no signature', () => {
  // First in the file: the process has signed fewer than 64 times, so the table is still narrow.
  it('RFC 6979 signatures before and after the 64th signature are identical', () => {
    const hashes = Array.from({ length: 8 }, (_, i) => sha256(utf8(`table ${i}`)));
    const before = hashes.map((h) => toHex(signSecp256k1(sk, h)));
    for (let i = 0; i < 80; i++) signSecp256k1(sk, sha256(utf8(`warm ${i}`)));
    const after = hashes.map((h) => toHex(signSecp256k1(sk, h)));
    expect(after).toEqual(before);
    for (const [i, h] of hashes.entries())
      expect(verifySecp256k1(pk33, h, fromHex(after[i] as string))).toBe(true);
    // and a public key derived with the wide table is the same point
    expect(toHex(secp256k1.getPublicKey(sk, true))).toBe(toHex(pk33));
  });
});

describe('signSecp256k1MessageAsync', () => {
  it('native exists on Node; both paths give strict DER, low-S signatures over SHA-256(message)', async () => {
    expect(secp256k1NativeAvailable()).toBe(true);
    const node = nodePublicKey(pk33);
    for (let i = 0; i < 6; i++) {
      const m = utf8(`message ${i}`);
      const h = sha256(m);
      for (const implementation of [...PATHS, 'auto'] as const) {
        const der = await signSecp256k1MessageAsync(sk, m, { implementation });
        expect(isStrictDerSignature(der)).toBe(true);
        const compact = decodeDerSignature(der);
        expect(isLowS(compact)).toBe(true);
        // independent checks: noble over H, node:crypto over m, our hash-level verifier
        expect(secp256k1.verify(compact, h, pk33, { prehash: false, lowS: true })).toBe(true);
        expect(nodeVerify('sha256', m, node, der)).toBe(true);
        expect(verifySecp256k1(pk65, h, der)).toBe(true);
        expect(verifySecp256k1(pk33, sha256(utf8('other')), der)).toBe(false);
        const c = await signSecp256k1MessageAsync(sk, m, { implementation, format: 'compact' });
        expect(c.length).toBe(64);
        expect(secp256k1.verify(c, h, pk33, { prehash: false, lowS: true })).toBe(true);
      }
    }
  });

  it('portable is RFC 6979: byte-identical to signSecp256k1(sk, SHA-256(m)); native nonces are random', async () => {
    const m = utf8('determinism');
    const a = await signSecp256k1MessageAsync(sk, m, { implementation: 'portable' });
    const b = await signSecp256k1MessageAsync(sk, m, { implementation: 'portable' });
    expect(toHex(a)).toBe(toHex(b));
    expect(toHex(a)).toBe(toHex(signSecp256k1(sk, sha256(m))));
    const n1 = await signSecp256k1MessageAsync(sk, m, { implementation: 'native' });
    const n2 = await signSecp256k1MessageAsync(sk, m, { implementation: 'native' });
    expect(toHex(n1)).not.toBe(toHex(n2));
    // a RandomSource hedges the portable path: same randomness → same signature
    const random = (n: number): Uint8Array => new Uint8Array(n).fill(9);
    const h1 = await signSecp256k1MessageAsync(sk, m, { random });
    expect(toHex(h1)).toBe(toHex(signSecp256k1(sk, sha256(m), { random })));
    expect(toHex(h1)).not.toBe(toHex(a));
  });

  it('BIP143 example: SHA-256(preimage) signed portably is the BIP signature; natively it verifies against the sighash', async () => {
    const { examples } = JSON.parse(
      readFileSync(new URL('../../../testdata/bitcoin/bip143.json', import.meta.url), 'utf8'),
    ) as {
      examples: {
        preimage: string;
        sighash: string;
        private_key: string;
        public_key: string;
        signature_der_with_hashtype: string;
      }[];
    };
    for (const ex of examples) {
      const first = sha256(fromHex(ex.preimage));
      expect(toHex(sha256(first))).toBe(ex.sighash);
      const key = fromHex(ex.private_key);
      const portable = await signSecp256k1MessageAsync(key, first, { implementation: 'portable' });
      expect(`${toHex(portable)}01`).toBe(ex.signature_der_with_hashtype);
      const native = await signSecp256k1MessageAsync(key, first, {
        implementation: 'native',
        publicKey: fromHex(ex.public_key),
      });
      expect(verifySecp256k1(fromHex(ex.public_key), fromHex(ex.sighash), native)).toBe(true);
    }
  });

  it('a wrong or malformed publicKey hint never changes what is signed', async () => {
    const m = utf8('hint');
    const other = secp256k1.getPublicKey(fromHex('2e'.repeat(32)), true);
    const garbage = new Uint8Array(33).fill(7); // not a point: OpenSSL refuses it, the hint is dropped
    for (const publicKey of [other, garbage, pk65, new Uint8Array(3)]) {
      const key = sk.slice(); // a fresh key object: imported again, with this hint
      const der = await signSecp256k1MessageAsync(key, m, { implementation: 'native', publicKey });
      expect(verifySecp256k1(pk33, sha256(m), der)).toBe(true);
    }
  });

  it('64 concurrent native signatures all verify (threadpool)', async () => {
    const ms = Array.from({ length: 64 }, (_, i) => utf8(`concurrent ${i}`));
    const sigs = await Promise.all(ms.map((m) => signSecp256k1MessageAsync(sk, m, { publicKey: pk33 })));
    for (const [i, s] of sigs.entries())
      expect(verifySecp256k1(pk33, sha256(ms[i] as Uint8Array), s)).toBe(true);
  });

  it('a secret key mutated in place is re-imported, not served from the key cache', async () => {
    const key = fromHex('3c'.repeat(32));
    const m = utf8('mutated');
    const before = await signSecp256k1MessageAsync(key, m, { implementation: 'native' });
    key.set(sk);
    const after = await signSecp256k1MessageAsync(key, m, { implementation: 'native' });
    expect(verifySecp256k1(pk33, sha256(m), after)).toBe(true);
    expect(verifySecp256k1(pk33, sha256(m), before)).toBe(false);
  });

  it('errors: bad keys, messages, formats and option combinations (rejections with stable codes)', async () => {
    const m = utf8('x');
    for (const implementation of PATHS) {
      expect(await codeOf(signSecp256k1MessageAsync(new Uint8Array(32), m, { implementation }))).toBe(
        'core.key.malformed',
      );
      expect(
        await codeOf(signSecp256k1MessageAsync(new Uint8Array(32).fill(0xff), m, { implementation })),
      ).toBe('core.key.malformed');
      expect(await codeOf(signSecp256k1MessageAsync(sk.subarray(1), m, { implementation }))).toBe(
        'core.key.malformed',
      );
      expect(
        await codeOf(signSecp256k1MessageAsync(sk, 'x' as unknown as Uint8Array, { implementation })),
      ).toBe('core.input.invalid');
      expect(
        await codeOf(signSecp256k1MessageAsync(sk, m, { implementation, format: 'recoverable' as 'der' })),
      ).toBe('core.input.invalid');
    }
    expect(await codeOf(signSecp256k1MessageAsync(sk, m, { implementation: 'fast' as 'native' }))).toBe(
      'core.input.invalid',
    );
    expect(
      await codeOf(
        signSecp256k1MessageAsync(sk, m, { implementation: 'native', random: () => new Uint8Array(32) }),
      ),
    ).toBe('core.input.invalid');
    expect(await codeOf(signSecp256k1MessageAsync(sk, m, { random: () => new Uint8Array(3) }))).toBe(
      'core.input.invalid',
    );
  });

  it('property: native ↔ portable cross-verify on random keys and messages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp256k1.utils.isValidSecretKey(k)),
        fc.uint8Array({ maxLength: 300 }),
        async (key, m) => {
          const pub = secp256k1.getPublicKey(key, true);
          const n = await signSecp256k1MessageAsync(key, m, { implementation: 'native' });
          const p = await signSecp256k1MessageAsync(key, m, { implementation: 'portable' });
          expect(await verifySecp256k1MessageAsync(pub, m, n, { implementation: 'portable' })).toBe(true);
          expect(await verifySecp256k1MessageAsync(pub, m, p, { implementation: 'native' })).toBe(true);
          expect(verifySecp256k1(pub, sha256(m), n)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('verifySecp256k1MessageAsync', () => {
  const m = utf8('verify me');

  it('accepts good signatures on both paths, compressed and uncompressed keys, DER and compact', async () => {
    const der = signSecp256k1(sk, sha256(m));
    const compact = decodeDerSignature(der);
    for (const implementation of [...PATHS, 'auto'] as const)
      for (const pk of [pk33, pk65]) {
        expect(await verifySecp256k1MessageAsync(pk, m, der, { implementation })).toBe(true);
        expect(await verifySecp256k1MessageAsync(pk, m, compact, { implementation, format: 'compact' })).toBe(
          true,
        );
      }
  });

  it('refuses tampering, high-S (unless lowS: false), non-strict DER and out-of-range r or s — alike on both paths', async () => {
    const der = signSecp256k1(sk, sha256(m));
    const compact = decodeDerSignature(der);
    const high = highS(compact);
    // r with a superfluous leading zero: valid BER, not minimal DER (BIP66)
    const padded = concatBytes(
      Uint8Array.of(0x30, (der[1] as number) + 1, 0x02, (der[3] as number) + 1, 0x00),
      der.subarray(4),
    );
    const flipped = der.slice();
    flipped[10] = (flipped[10] as number) ^ 1;
    const zeroS = concatBytes(compact.subarray(0, 32), new Uint8Array(32));
    const nS = concatBytes(compact.subarray(0, 32), numberToBytesBE(N, 32));
    for (const implementation of PATHS) {
      const v = (sig: Uint8Array, o: object = {}): Promise<boolean> =>
        verifySecp256k1MessageAsync(pk33, m, sig, { implementation, ...o });
      expect(await v(der)).toBe(true);
      expect(await verifySecp256k1MessageAsync(pk33, m.subarray(1), der, { implementation })).toBe(false);
      expect(await v(flipped)).toBe(false);
      expect(await v(encodeDerSignature(high))).toBe(false);
      expect(await v(encodeDerSignature(high), { lowS: false })).toBe(true);
      expect(await v(high, { format: 'compact' })).toBe(false);
      expect(await v(high, { format: 'compact', lowS: false })).toBe(true);
      expect(isStrictDerSignature(padded)).toBe(false);
      expect(await v(padded)).toBe(false);
      expect(await v(concatBytes(der, Uint8Array.of(1)))).toBe(false); // a trailing hash-type byte
      expect(await v(zeroS, { format: 'compact' })).toBe(false);
      expect(await v(nS, { format: 'compact', lowS: false })).toBe(false);
      expect(await v(compact.subarray(1), { format: 'compact' })).toBe(false);
      expect(await v(new Uint8Array(0))).toBe(false);
      expect(await v('sig' as unknown as Uint8Array)).toBe(false);
    }
  });

  it('a bad public key rejects with core.key.malformed before the signature is looked at; bad options are core.input.invalid', async () => {
    const der = signSecp256k1(sk, sha256(m));
    const off = pk65.slice();
    off[64] = (off[64] as number) ^ 1;
    for (const implementation of PATHS) {
      for (const bad of [off, pk33.subarray(1), new Uint8Array(33), 'pk' as unknown as Uint8Array])
        expect(await codeOf(verifySecp256k1MessageAsync(bad, m, der, { implementation }))).toBe(
          'core.key.malformed',
        );
      expect(await codeOf(verifySecp256k1MessageAsync(off, m, new Uint8Array(0), { implementation }))).toBe(
        'core.key.malformed',
      );
      expect(
        await codeOf(verifySecp256k1MessageAsync(pk33, m, der, { implementation, format: 'p1363' as 'der' })),
      ).toBe('core.input.invalid');
      expect(
        await codeOf(
          verifySecp256k1MessageAsync(pk33, 'm' as unknown as Uint8Array, der, { implementation }),
        ),
      ).toBe('core.input.invalid');
    }
    // the off-curve key is refused again (a failed validation is never memoised as valid)
    expect(await codeOf(verifySecp256k1MessageAsync(off, m, der))).toBe('core.key.malformed');
  });

  it('agrees with node:crypto ECDSA-SHA-256 signatures (after low-S normalisation)', async () => {
    const h = createHash('sha256').update(m).digest();
    expect(toHex(new Uint8Array(h))).toBe(toHex(sha256(m)));
    for (let i = 0; i < 8; i++) {
      const der = await signSecp256k1MessageAsync(sk, m, { implementation: 'native' });
      expect(nodeVerify('sha256', m, nodePublicKey(pk65), der)).toBe(true);
      expect(await verifySecp256k1MessageAsync(pk65, m, der, { implementation: 'portable' })).toBe(true);
    }
  });
});
