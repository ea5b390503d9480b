import { createHash } from 'node:crypto';
import { fromHex, toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import {
  createHasher,
  digestSize,
  HASH_ALGS,
  type HashAlg,
  hash,
  hashAsync,
  isHashAlg,
  sha256,
} from '@omt/core/hash';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const NODE: Record<Exclude<HashAlg, 'BLAKE3'>, string> = {
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA3-256': 'sha3-256',
};

function nodeDigest(alg: HashAlg, data: Uint8Array): Uint8Array | undefined {
  if (alg === 'BLAKE3') return undefined;
  return new Uint8Array(createHash(NODE[alg]).update(data).digest());
}

// Known answers: FIPS 180-2 Appendix B/C/D ("abc"), FIPS 202 examples (SHA3-256), BLAKE3 test_vectors.json.
const ABC: Record<HashAlg, string> = {
  'SHA-256': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  'SHA-384':
    'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
  'SHA-512':
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  'SHA3-256': '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
  BLAKE3: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
};
const EMPTY: Record<HashAlg, string> = {
  'SHA-256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'SHA-384':
    '38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b',
  'SHA-512':
    'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
  'SHA3-256': 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a',
  BLAKE3: 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262',
};

describe('hash: known answers', () => {
  for (const alg of HASH_ALGS) {
    it(`${alg} of "abc" and of the empty string`, async () => {
      expect(toHex(hash(alg, utf8('abc')))).toBe(ABC[alg]);
      expect(toHex(hash(alg, new Uint8Array(0)))).toBe(EMPTY[alg]);
      expect(toHex(await hashAsync(alg, utf8('abc')))).toBe(ABC[alg]);
      expect(toHex(createHasher(alg).update(utf8('a')).update(utf8('bc')).digest())).toBe(ABC[alg]);
      expect(digestSize(alg)).toBe(ABC[alg].length / 2);
    });
  }

  it('FIPS 180-2 two-block message and one million "a"', () => {
    const msg = utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    expect(toHex(sha256(msg))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    const h = createHasher('SHA-256');
    const block = new Uint8Array(1000).fill(0x61);
    for (let i = 0; i < 1000; i++) h.update(block);
    expect(toHex(h.digest())).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });
});

describe('hash: agrees with node:crypto', () => {
  it('one-shot, incremental with random chunking, and WebCrypto paths', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...HASH_ALGS),
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat({ max: 700 }), { maxLength: 8 }),
        fc.constantFrom('auto' as const, 'portable' as const),
        async (alg, data, cuts, implementation) => {
          const one = hash(alg, data);
          const ref = nodeDigest(alg, data);
          if (ref) expect(one).toEqual(ref);
          const h = createHasher(alg);
          let o = 0;
          for (const c of cuts) {
            const end = Math.min(data.length, o + c);
            h.update(data.subarray(o, end));
            o = end;
          }
          h.update(data.subarray(o));
          expect(h.digest()).toEqual(one);
          expect(await hashAsync(alg, data, { implementation })).toEqual(one);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('hashAsync native uses WebCrypto for SHA-2 with identical results', async () => {
    const data = fromHex('00ff10207f80');
    for (const alg of ['SHA-256', 'SHA-384', 'SHA-512'] as const) {
      expect(await hashAsync(alg, data, { implementation: 'native' })).toEqual(hash(alg, data));
    }
  });

  it('accepts a Node Buffer and a subarray view (offset into a larger buffer)', async () => {
    const big = utf8('xxabcxx');
    const view = big.subarray(2, 5);
    expect(toHex(hash('SHA-256', view))).toBe(ABC['SHA-256']);
    expect(toHex(await hashAsync('SHA-256', view))).toBe(ABC['SHA-256']);
    expect(toHex(hash('SHA-256', Buffer.from('abc')))).toBe(ABC['SHA-256']);
  });

  it('hashAsync copies SharedArrayBuffer-backed input for WebCrypto', async () => {
    const shared = new Uint8Array(new SharedArrayBuffer(3));
    shared.set(utf8('abc'));
    expect(toHex(await hashAsync('SHA-256', shared, { implementation: 'native' }))).toBe(ABC['SHA-256']);
  });
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isOmtError(e) ? e.code : `non-omt: ${String(e)}`;
  }
  return undefined;
}

async function codeAsync(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return isOmtError(e) ? e.code : `non-omt: ${String(e)}`;
  }
  return undefined;
}

describe('hash: bad input', () => {
  it('unknown algorithms give core.alg.unsupported', async () => {
    for (const bad of ['sha256', 'SHA-1', 'MD5', '', 'toString', '__proto__', 42, null, undefined]) {
      expect(isHashAlg(bad)).toBe(false);
      expect(code(() => hash(bad as HashAlg, new Uint8Array(1)))).toBe('core.alg.unsupported');
      expect(code(() => createHasher(bad as HashAlg))).toBe('core.alg.unsupported');
      expect(code(() => digestSize(bad as HashAlg))).toBe('core.alg.unsupported');
      expect(await codeAsync(() => hashAsync(bad as HashAlg, new Uint8Array(1)))).toBe(
        'core.alg.unsupported',
      );
    }
  });

  it('non-byte data gives core.input.invalid', async () => {
    for (const bad of [
      'abc',
      [1, 2, 3],
      new Uint16Array(2),
      new ArrayBuffer(2),
      null,
      undefined,
      { length: 1 },
    ]) {
      expect(code(() => hash('SHA-256', bad as Uint8Array))).toBe('core.input.invalid');
      expect(code(() => sha256(bad as Uint8Array))).toBe('core.input.invalid');
      expect(code(() => createHasher('BLAKE3').update(bad as Uint8Array))).toBe('core.input.invalid');
      expect(await codeAsync(() => hashAsync('SHA-256', bad as Uint8Array))).toBe('core.input.invalid');
    }
  });

  it('bad options give core.input.invalid; native SHA3/BLAKE3 give core.alg.unsupported', async () => {
    const d = new Uint8Array(1);
    expect(await codeAsync(() => hashAsync('SHA-256', d, { implementation: 'fast' as 'auto' }))).toBe(
      'core.input.invalid',
    );
    expect(await codeAsync(() => hashAsync('SHA-256', d, { extra: 1 } as object))).toBe('core.input.invalid');
    expect(await codeAsync(() => hashAsync('SHA3-256', d, { implementation: 'native' }))).toBe(
      'core.alg.unsupported',
    );
    expect(await codeAsync(() => hashAsync('BLAKE3', d, { implementation: 'native' }))).toBe(
      'core.alg.unsupported',
    );
  });

  it('a finished hasher refuses further use', () => {
    const h = createHasher('SHA-512');
    h.digest();
    expect(code(() => h.update(new Uint8Array(1)))).toBe('core.hash.finished');
    expect(code(() => h.digest())).toBe('core.hash.finished');
  });
});
