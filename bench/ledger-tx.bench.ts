// Build + sign one BSV OP_RETURN transaction (1 P2PKH input → OP_FALSE OP_RETURN + change,
// SIGHASH_ALL|FORKID, 100 sat/kB): ours (@omt/ledger/tx-builder) vs @bsv/sdk building the
// same transaction (P2PKH template, SatoshisPerKilobyte(100), sign, toHex) in the same run.
import { LockingScript, P2PKH, PrivateKey, SatoshisPerKilobyte, Transaction } from '@bsv/sdk';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { fromHex, toHex } from '@omt/core/bytes';
import { signSecp256k1 } from '@omt/core/suites';
import { hash160 } from '@omt/ledger/address';
import { encodeRecordAnchor } from '@omt/ledger/op-return';
import { p2pkhScript } from '@omt/ledger/script';
import { buildOpReturnTransaction } from '@omt/ledger/tx-builder';
import { type BenchResult, opsPerSecond, writeResults } from './lib.js';

const MS = 2000;
const secretKey = fromHex('1f'.repeat(32));
const publicKey = secp256k1.getPublicKey(secretKey, true);
const lockingScript = p2pkhScript(hash160(publicKey));
const changeScript = p2pkhScript(hash160(secp256k1.getPublicKey(fromHex('2e'.repeat(32)), true)));
const opReturn = encodeRecordAnchor(
  {
    rid: 'bench-record-0001',
    hash: new Uint8Array(32).fill(0xab),
    uri: 'https://example.org/records/bench-record-0001',
    ts: 1_700_000_000,
  },
  { chain: 'bsv' },
).script;
const satoshis = 100_000;

// @bsv/sdk needs the source transaction for fee/change computation: one output paying our key.
const source = new Transaction();
source.addOutput({ lockingScript: LockingScript.fromHex(toHex(lockingScript)), satoshis });
const sourceTXID = source.id('hex');

function ours(withPublicKey = false): string {
  return buildOpReturnTransaction({
    network: 'bsv',
    utxos: [
      {
        txid: sourceTXID,
        vout: 0,
        satoshis: BigInt(satoshis),
        script: lockingScript,
        secretKey,
        ...(withPublicKey ? { publicKey } : {}),
      },
    ],
    opReturn,
    change: { script: changeScript },
    feeRate: 100,
  }).hex;
}

const priv = new PrivateKey(toHex(secretKey), 16);
const opReturnLs = LockingScript.fromHex(toHex(opReturn));
const changeLs = LockingScript.fromHex(toHex(changeScript));
async function peer(): Promise<string> {
  const tx = new Transaction();
  tx.addInput({
    sourceTransaction: source,
    sourceOutputIndex: 0,
    unlockingScriptTemplate: new P2PKH().unlock(priv),
    sequence: 0xffffffff,
  });
  tx.addOutput({ lockingScript: opReturnLs, satoshis: 0 });
  tx.addOutput({ lockingScript: changeLs, change: true });
  await tx.fee(new SatoshisPerKilobyte(100));
  await tx.sign();
  return tx.toHex();
}

const a = ours();
const b = await peer();
const sameTx = a === b && ours(true) === a;
// Best of two rounds each, interleaved: this 2-core machine is shared and noisy.
let ourOps = 0;
let ourOpsPk = 0;
let peerOps = 0;
let signOps = 0;
const digest = new Uint8Array(32).fill(3);
for (let round = 0; round < 2; round++) {
  ourOps = Math.max(ourOps, await opsPerSecond(() => ours(), MS));
  ourOpsPk = Math.max(ourOpsPk, await opsPerSecond(() => ours(true), MS));
  peerOps = Math.max(peerOps, await opsPerSecond(peer, MS));
  signOps = Math.max(signOps, await opsPerSecond(() => signSecp256k1(secretKey, digest), MS / 2));
}
const common = {
  peer: '@bsv/sdk 2.1 Transaction + P2PKH template + SatoshisPerKilobyte(100) + sign + toHex',
  identicalBytes: sameTx,
  txBytes: a.length / 2,
  signaturesPerSecondAlone: Math.round(signOps),
  goal: '≥ 5000 tx/s and > peer',
};
const results: BenchResult[] = [
  {
    name: 'BSV OP_RETURN tx build+sign (1 P2PKH in, OP_RETURN + change)',
    ours: ourOps,
    peer: peerOps,
    unit: 'tx/s',
    ratio: ourOps / peerOps,
    extra: {
      ...common,
      ours: '@omt/ledger buildOpReturnTransaction (derives the public key, as the peer does)',
    },
  },
  {
    name: 'BSV OP_RETURN tx build+sign, public key supplied (HD wallet path)',
    ours: ourOpsPk,
    peer: peerOps,
    unit: 'tx/s',
    ratio: ourOpsPk / peerOps,
    extra: { ...common, ours: '@omt/ledger buildOpReturnTransaction with utxo.publicKey from HdWallet' },
  },
];
writeResults('ledger-tx', results);
