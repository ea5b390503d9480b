/**
 * libsecp256k1 (tiny-secp256k1, WASM) as the transaction builder's engine: the same RFC 6979
 * low-S signatures as the default noble engine, so the same transaction bytes on BSV and BTC
 * (P2PKH, P2WPKH); @bsv/sdk's interpreter accepts them; a builder given a broken engine refuses
 * to emit what it returned.
 */
import { Transaction as BsvTransaction, LockingScript, Spend } from '@bsv/sdk';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { libsecp256k1 } from '@omt/adapters/secp256k1';
import { fromHex, toHex } from '@omt/core/bytes';
import { encodeDerSignature, signSecp256k1 } from '@omt/core/suites';
import { hash160 } from '@omt/ledger/address';
import { encodeRecordAnchor } from '@omt/ledger/op-return';
import { p2pkhScript, p2wpkhScript } from '@omt/ledger/script';
import { buildTransaction, type Secp256k1Engine, type SpendableUtxo } from '@omt/ledger/tx-builder';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const N = secp256k1.Point.Fn.ORDER;
const scalar = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((b) => secp256k1.utils.isValidSecretKey(b));

describe('libsecp256k1 engine', () => {
  it('signs exactly as core signSecp256k1 (RFC 6979, low-S) and derives the same public key', () => {
    fc.assert(
      fc.property(scalar, fc.uint8Array({ minLength: 32, maxLength: 32 }), (sk, digest) => {
        const rs = libsecp256k1.sign(sk, digest);
        expect(toHex(encodeDerSignature(rs))).toBe(toHex(signSecp256k1(sk, digest)));
        expect(toHex(libsecp256k1.publicKey?.(sk) ?? new Uint8Array())).toBe(
          toHex(secp256k1.getPublicKey(sk, true)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('refuses scalars outside [1, n−1]', () => {
    const n = fromHex(N.toString(16).padStart(64, '0'));
    for (const bad of [new Uint8Array(32), n, new Uint8Array(32).fill(0xff)]) {
      expect(() => libsecp256k1.sign(bad, new Uint8Array(32))).toThrow();
      expect(() => libsecp256k1.publicKey?.(bad)).toThrow();
    }
  });

  function utxo(seed: number, kind: 'p2pkh' | 'p2wpkh', withPk: boolean): SpendableUtxo {
    const sk = fromHex((seed + 1).toString(16).padStart(64, '0'));
    const pk = secp256k1.getPublicKey(sk, true);
    return {
      txid: toHex(pk.subarray(1)),
      vout: seed % 4,
      satoshis: BigInt(20_000 + seed),
      script: kind === 'p2pkh' ? p2pkhScript(hash160(pk)) : p2wpkhScript(hash160(pk)),
      secretKey: sk,
      ...(withPk ? { publicKey: pk } : {}),
    };
  }

  it('gives the default engine’s transaction bytes (BSV P2PKH; BTC P2PKH + P2WPKH; with and without public keys)', () => {
    const opReturn = (chain: 'bsv' | 'btc') =>
      encodeRecordAnchor(
        { rid: 'r1', hash: new Uint8Array(32).fill(7), uri: 'https://example.org/r1', ts: 1_700_000_000 },
        { chain },
      ).script;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        (seed, n, withPk) => {
          for (const network of ['bsv', 'btc'] as const) {
            const kinds = network === 'bsv' ? (['p2pkh'] as const) : (['p2pkh', 'p2wpkh'] as const);
            const utxos = Array.from({ length: n }, (_, i) =>
              utxo(seed * 10 + i, kinds[i % kinds.length] ?? 'p2pkh', withPk),
            );
            const change = { script: p2pkhScript(new Uint8Array(20).fill(n)) };
            const base = { network, utxos, opReturn: opReturn(network), change };
            const a = buildTransaction(base);
            const b = buildTransaction({ ...base, engine: libsecp256k1 });
            expect(b.hex).toBe(a.hex);
            expect(b.txid).toBe(a.txid);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('@bsv/sdk’s script interpreter accepts a transaction it signed', () => {
    const u = utxo(77, 'p2pkh', false);
    const built = buildTransaction({
      network: 'bsv',
      utxos: [u],
      opReturn: encodeRecordAnchor(
        { rid: 'r', hash: new Uint8Array(32), uri: 'https://example.org/r', ts: 1_700_000_000 },
        { chain: 'bsv' },
      ).script,
      change: { script: p2pkhScript(new Uint8Array(20)) },
      engine: libsecp256k1,
    });
    const tx = BsvTransaction.fromHex(built.hex);
    const input = tx.inputs[0];
    const spend = (unlocking = input?.unlockingScript) =>
      new Spend({
        sourceTXID: u.txid,
        sourceOutputIndex: u.vout,
        sourceSatoshis: Number(u.satoshis),
        lockingScript: LockingScript.fromHex(toHex(u.script)),
        transactionVersion: tx.version,
        otherInputs: [],
        outputs: tx.outputs,
        inputIndex: 0,
        unlockingScript: unlocking as NonNullable<typeof unlocking>,
        inputSequence: input?.sequence ?? 0xffffffff,
        lockTime: tx.lockTime,
      }).validate();
    expect(spend()).toBe(true);
  });
});

describe('the builder checks what an engine returns (deliberately broken in-process engines)', () => {
  const u = utxo2();
  function utxo2(): SpendableUtxo {
    const sk = fromHex('11'.repeat(32));
    return {
      txid: 'ab'.repeat(32),
      vout: 0,
      satoshis: 50_000n,
      script: p2pkhScript(hash160(secp256k1.getPublicKey(sk, true))),
      secretKey: sk,
    };
  }
  const base = {
    network: 'bsv' as const,
    utxos: [u],
    outputs: [{ script: p2pkhScript(new Uint8Array(20).fill(1)), satoshis: 10_000n }],
    change: { script: p2pkhScript(new Uint8Array(20).fill(2)) },
  };
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return undefined;
  };

  it('a high-S, short or zero signature is ledger.tx.signature; a throwing engine is ledger.key.invalid', () => {
    const good = (sk: Uint8Array, d: Uint8Array) => libsecp256k1.sign(sk, d);
    const highS: Secp256k1Engine = {
      name: 'high-S',
      sign: (sk, d) => {
        const rs = good(sk, d);
        const s = N - BigInt(`0x${toHex(rs.subarray(32))}`);
        const out = rs.slice();
        out.set(fromHex(s.toString(16).padStart(64, '0')), 32);
        return out;
      },
    };
    const short: Secp256k1Engine = { name: 'short', sign: (sk, d) => good(sk, d).subarray(0, 63) };
    const zero: Secp256k1Engine = { name: 'zero', sign: () => new Uint8Array(64) };
    const throwing: Secp256k1Engine = {
      name: 'throwing',
      sign: () => {
        throw new Error('hsm offline');
      },
    };
    expect(code(() => buildTransaction({ ...base, engine: highS }))).toBe('ledger.tx.signature');
    expect(code(() => buildTransaction({ ...base, engine: short }))).toBe('ledger.tx.signature');
    expect(code(() => buildTransaction({ ...base, engine: zero }))).toBe('ledger.tx.signature');
    expect(code(() => buildTransaction({ ...base, engine: throwing }))).toBe('ledger.key.invalid');
    expect(buildTransaction({ ...base, engine: libsecp256k1 }).hex).toBe(buildTransaction(base).hex);
  });

  it('engine with random, or a non-engine, is core.input.invalid; a bad key through the engine is ledger.key.invalid', () => {
    expect(
      code(() => buildTransaction({ ...base, engine: libsecp256k1, random: (n) => new Uint8Array(n) })),
    ).toBe('core.input.invalid');
    expect(code(() => buildTransaction({ ...base, engine: {} as Secp256k1Engine }))).toBe(
      'core.input.invalid',
    );
    const zeroKey = { ...u, secretKey: new Uint8Array(32) };
    expect(code(() => buildTransaction({ ...base, utxos: [zeroKey], engine: libsecp256k1 }))).toBe(
      'ledger.key.invalid',
    );
  });
});
