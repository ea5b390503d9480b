import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatBytes, fromHex, toHex } from '@omt/core/bytes';
import { signSecp256k1, verifySecp256k1 } from '@omt/core/suites';
import { hash160 } from '@omt/ledger/address';
import { encodePush, p2pkhScript } from '@omt/ledger/script';
import { bip143Hashes, bip143Preimage, bip143Sighash, legacySighash, SIGHASH } from '@omt/ledger/sighash';
import { decodeTransaction, transactionToHex } from '@omt/ledger/transaction';
import { describe, expect, it } from 'vitest';

interface Example {
  name: string;
  unsigned_tx: string;
  input_index: number;
  prev_script_pubkey: string;
  redeem_script: string | null;
  amount_sat: number;
  script_code: string;
  sighash_type: number;
  hash_prevouts: string;
  hash_sequence: string;
  hash_outputs: string;
  preimage: string;
  sighash: string;
  signature_der_with_hashtype: string;
  private_key: string;
  public_key: string;
  signed_tx: string;
  other_inputs?: { input_index: number; script_pubkey: string; private_key: string }[];
}

const { examples } = JSON.parse(
  readFileSync(new URL('../../../testdata/bitcoin/bip143.json', import.meta.url), 'utf8'),
) as {
  examples: Example[];
};

describe('BIP143 examples', () => {
  it('has both examples (Native P2WPKH, P2SH-P2WPKH)', () => {
    expect(examples.map((e) => e.name)).toEqual(['Native P2WPKH', 'P2SH-P2WPKH']);
  });

  for (const ex of examples) {
    describe(ex.name, () => {
      const tx = decodeTransaction(ex.unsigned_tx);
      const pub = fromHex(ex.public_key);
      // The script code of a P2WPKH program is the P2PKH script of its key hash (BIP143).
      const scriptCode = p2pkhScript(hash160(pub));
      const amount = BigInt(ex.amount_sat);

      it('script code matches the BIP (BIP prints it with its length prefix)', () => {
        expect(toHex(concatBytes(Uint8Array.of(scriptCode.length), scriptCode))).toBe(ex.script_code);
      });
      it('hashPrevouts / hashSequence / hashOutputs', () => {
        const h = bip143Hashes(tx, ex.input_index, ex.sighash_type);
        expect(toHex(h.hashPrevouts)).toBe(ex.hash_prevouts);
        expect(toHex(h.hashSequence)).toBe(ex.hash_sequence);
        expect(toHex(h.hashOutputs)).toBe(ex.hash_outputs);
      });
      it('preimage and sighash (raw byte order)', () => {
        expect(toHex(bip143Preimage(tx, ex.input_index, scriptCode, amount, ex.sighash_type))).toBe(
          ex.preimage,
        );
        expect(toHex(bip143Sighash(tx, ex.input_index, scriptCode, amount, ex.sighash_type))).toBe(
          ex.sighash,
        );
      });
      it('our RFC 6979 signature equals the BIP one and verifies', () => {
        const digest = bip143Sighash(tx, ex.input_index, scriptCode, amount, ex.sighash_type);
        const der = signSecp256k1(fromHex(ex.private_key), digest);
        expect(`${toHex(der)}01`).toBe(ex.signature_der_with_hashtype);
        expect(verifySecp256k1(pub, digest, der)).toBe(true);
        expect(toHex(secp256k1.getPublicKey(fromHex(ex.private_key), true))).toBe(ex.public_key);
      });
      it('signed_tx reproduced byte for byte', () => {
        const signed = decodeTransaction(ex.unsigned_tx);
        const digest = bip143Sighash(signed, ex.input_index, scriptCode, amount, SIGHASH.ALL);
        const sig = concatBytes(signSecp256k1(fromHex(ex.private_key), digest), Uint8Array.of(SIGHASH.ALL));
        const input = signed.inputs[ex.input_index] as (typeof signed.inputs)[number];
        input.witness = [sig, pub];
        if (ex.redeem_script !== null) input.scriptSig = encodePush(fromHex(ex.redeem_script));
        for (const other of ex.other_inputs ?? []) {
          // Native example: input 0 is P2PK, signed with the legacy digest.
          const d = legacySighash(signed, other.input_index, fromHex(other.script_pubkey), SIGHASH.ALL);
          const s = concatBytes(signSecp256k1(fromHex(other.private_key), d), Uint8Array.of(SIGHASH.ALL));
          (signed.inputs[other.input_index] as (typeof signed.inputs)[number]).scriptSig = encodePush(s);
        }
        expect(transactionToHex(signed)).toBe(ex.signed_tx);
      });
    });
  }
});
