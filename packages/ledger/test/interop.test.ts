/**
 * Independent libraries accept what we build: @bsv/sdk parses our BSV transactions to the
 * same txid and its script interpreter (Spend) validates every input; bitcoinjs-lib parses
 * our BTC transactions to the same txid and computes the same legacy / BIP143 sighashes,
 * against which our signatures verify.
 */
import { Transaction as BsvTransaction, LockingScript, Spend } from '@bsv/sdk';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { fromHex, toHex } from '@omt/core/bytes';
import { verifySecp256k1 } from '@omt/core/suites';
import { hash160 } from '@omt/ledger/address';
import { encodeBatchAnchor, encodeRecordAnchor } from '@omt/ledger/op-return';
import { decodeScript, p2pkhScript, p2wpkhScript } from '@omt/ledger/script';
import { bip143Sighash, legacySighash, SIGHASH } from '@omt/ledger/sighash';
import { decodeTransaction } from '@omt/ledger/transaction';
import { buildTransaction, type SpendableUtxo } from '@omt/ledger/tx-builder';
import * as bitcoin from 'bitcoinjs-lib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const key = (n: number): Uint8Array => fromHex(n.toString(16).padStart(64, '0'));
const h160 = (sk: Uint8Array): Uint8Array => hash160(secp256k1.getPublicKey(sk, true));

function utxos(seed: number, n: number, kinds: ('p2pkh' | 'p2wpkh')[]): SpendableUtxo[] {
  return Array.from({ length: n }, (_, i) => {
    const sk = key(seed * 100 + i + 1);
    const kind = kinds[i % kinds.length] ?? 'p2pkh';
    return {
      txid: toHex(secp256k1.getPublicKey(sk, true).subarray(1)),
      vout: i,
      satoshis: BigInt(10_000 + 1000 * i),
      script: kind === 'p2pkh' ? p2pkhScript(h160(sk)) : p2wpkhScript(h160(sk)),
      secretKey: sk,
    };
  });
}

const change = p2pkhScript(h160(key(424242)));

describe('@bsv/sdk accepts our BSV transactions', () => {
  it('same txid; Spend validates every input (1–5 P2PKH inputs, OP_RETURN record/batch + change + payments)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        (n, seed, batch, pays) => {
          const us = utxos(seed, n, ['p2pkh']);
          const opReturn = batch
            ? encodeBatchAnchor(
                { root: new Uint8Array(32).fill(seed & 0xff), n: 1000, ts: 1_700_000_000 },
                { chain: 'bsv' },
              )
            : encodeRecordAnchor(
                {
                  rid: `r${seed}`,
                  hash: new Uint8Array(32).fill(1),
                  uri: 'https://example.org/x',
                  ts: 1_700_000_000,
                },
                { chain: 'bsv' },
              ).script;
          const outputs = Array.from({ length: pays }, (_, i) => ({
            script: p2pkhScript(h160(key(seed + 7 + i))),
            satoshis: 1000n,
          }));
          const built = buildTransaction({
            network: 'bsv',
            utxos: us,
            opReturn,
            outputs,
            change: { script: change },
          });
          const theirs = BsvTransaction.fromHex(built.hex);
          expect(theirs.id('hex')).toBe(built.txid);
          expect(theirs.toHex()).toBe(built.hex);
          for (const [i, u] of us.entries()) {
            const input = theirs.inputs[i];
            if (input === undefined || input.unlockingScript === undefined) throw new Error('missing input');
            const spend = new Spend({
              sourceTXID: input.sourceTXID as string,
              sourceOutputIndex: input.sourceOutputIndex,
              sourceSatoshis: Number(u.satoshis),
              lockingScript: LockingScript.fromHex(toHex(u.script)),
              transactionVersion: theirs.version,
              otherInputs: theirs.inputs.filter((_, j) => j !== i),
              outputs: theirs.outputs,
              inputIndex: i,
              unlockingScript: input.unlockingScript,
              inputSequence: input.sequence ?? 0xffffffff,
              lockTime: theirs.lockTime,
            });
            expect(spend.validate()).toBe(true);
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it('Spend rejects a tampered transaction (the check can fail)', () => {
    const us = utxos(77, 1, ['p2pkh']);
    const built = buildTransaction({
      network: 'bsv',
      utxos: us,
      opReturn: encodeBatchAnchor({ root: new Uint8Array(32), n: 1, ts: 1 }, { chain: 'bsv' }),
      change: { script: change },
    });
    const theirs = BsvTransaction.fromHex(built.hex);
    const input = theirs.inputs[0];
    if (input?.unlockingScript === undefined) throw new Error('missing input');
    const u = us[0] as SpendableUtxo;
    const spend = new Spend({
      sourceTXID: input.sourceTXID as string,
      sourceOutputIndex: input.sourceOutputIndex,
      sourceSatoshis: Number(u.satoshis) + 1, // the FORKID digest commits to the amount
      lockingScript: LockingScript.fromHex(toHex(u.script)),
      transactionVersion: theirs.version,
      otherInputs: [],
      outputs: theirs.outputs,
      inputIndex: 0,
      unlockingScript: input.unlockingScript,
      inputSequence: input.sequence ?? 0xffffffff,
      lockTime: theirs.lockTime,
    });
    let ok: boolean;
    try {
      ok = spend.validate();
    } catch {
      ok = false;
    }
    expect(ok).toBe(false);
  });
});

describe('bitcoinjs-lib agrees on our BTC transactions', () => {
  it('same txid/wtxid; same legacy and BIP143 sighashes; our signatures verify against theirs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 10_000 }), (n, seed) => {
        const us = utxos(seed, n, seed % 2 === 0 ? ['p2pkh', 'p2wpkh'] : ['p2wpkh', 'p2pkh']);
        const opReturn = encodeRecordAnchor(
          { rid: `r${seed}`, hash: new Uint8Array(32).fill(2), ts: 1_700_000_000 },
          { chain: 'btc', dataCarrier: 'legacy' },
        ).script;
        const built = buildTransaction({
          network: 'btc',
          utxos: us,
          opReturn,
          change: { script: change },
          feeRate: 1500,
        });
        const theirs = bitcoin.Transaction.fromHex(built.hex);
        expect(theirs.getId()).toBe(built.txid);
        expect(theirs.toHex()).toBe(built.hex);
        expect(theirs.virtualSize()).toBe(built.vsize);
        const ours = decodeTransaction(built.hex);
        for (const [i, u] of us.entries()) {
          const input = ours.inputs[i] as (typeof ours.inputs)[number];
          let sig: Uint8Array;
          let pk: Uint8Array;
          let theirDigest: Uint8Array;
          let ourDigest: Uint8Array;
          if (input.witness.length > 0) {
            [sig, pk] = input.witness as [Uint8Array, Uint8Array];
            const scriptCode = p2pkhScript(hash160(pk));
            theirDigest = theirs.hashForWitnessV0(i, scriptCode, u.satoshis, SIGHASH.ALL);
            ourDigest = bip143Sighash(ours, i, scriptCode, u.satoshis, SIGHASH.ALL);
          } else {
            const [s, p] = decodeScript(input.scriptSig);
            sig = s?.data as Uint8Array;
            pk = p?.data as Uint8Array;
            theirDigest = theirs.hashForSignature(i, u.script, SIGHASH.ALL);
            ourDigest = legacySighash(ours, i, u.script, SIGHASH.ALL);
          }
          expect(toHex(ourDigest)).toBe(toHex(theirDigest));
          expect(verifySecp256k1(pk, theirDigest, sig.subarray(0, -1))).toBe(true);
          // bitcoinjs' own signature decoding accepts ours (strict BIP66 DER + hash type)
          const decoded = bitcoin.script.signature.decode(sig);
          expect(decoded.hashType).toBe(SIGHASH.ALL);
        }
      }),
      { numRuns: 12 },
    );
  });

  it('other hash types agree too (NONE, SINGLE, ANYONECANPAY) on a built transaction', () => {
    const us = utxos(5, 3, ['p2pkh', 'p2wpkh']);
    const outputs = [0, 1, 2].map((i) => ({ script: p2pkhScript(h160(key(900 + i))), satoshis: 1000n }));
    const built = buildTransaction({ network: 'btc', utxos: us, outputs, change: { script: change } });
    const theirs = bitcoin.Transaction.fromHex(built.hex);
    const ours = decodeTransaction(built.hex);
    for (const t of [1, 2, 3, 0x81, 0x82, 0x83]) {
      for (const [i, u] of us.entries()) {
        expect(toHex(legacySighash(ours, i, u.script, t))).toBe(
          toHex(theirs.hashForSignature(i, u.script, t)),
        );
        const code = p2pkhScript(u.script.length === 22 ? u.script.subarray(2) : u.script.subarray(3, 23));
        expect(toHex(bip143Sighash(ours, i, code, u.satoshis, t))).toBe(
          toHex(theirs.hashForWitnessV0(i, code, u.satoshis, t)),
        );
      }
    }
  });
});
