// Publishing on a ledger, offline: intents signed client-side (ES256K-DER and ML-DSA-65), verified
// by the publisher (signature, key registry, timestamp, one-time nonce), 1,000 records batched by a
// worker into one OP_RETURN transaction kept by the offline chain client, one record's anchoring
// proof checked, and a replayed intent refused by the SQL nonce store of $OMT_HOME.
import { libsecp256k1 } from '@omt/adapters/secp256k1';
import type { OmtDatabase } from '@omt/adapters/sql';
import { SqlKeyRegistry, SqlNonceStore } from '@omt/adapters/sql';
import { toHex } from '@omt/core/bytes';
import { platformRandom } from '@omt/core/random';
import { getSuite } from '@omt/core/suites';
import { verifyAnchorProof } from '@omt/ledger/anchor';
import { HdWallet, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import {
  createIntent,
  type Intent,
  type IntentAlg,
  intentSigner,
  keyAlgOf,
  verifyIntent,
} from '@omt/ledger/intent';
import { MemoryNonceStore } from '@omt/ledger/intent-nonce-store-memory';
import { MemoryJobQueue } from '@omt/ledger/job-queue-memory';
import { signerRegistration } from '@omt/ledger/key-registry';
import { MemoryKeyRegistry } from '@omt/ledger/key-registry-memory';
import { OfflineChainClient } from '@omt/ledger/offline-chain-client';
import type { SignerRegistration } from '@omt/ledger/ports';
import { Publisher } from '@omt/ledger/publisher';
import { PublishWorker } from '@omt/ledger/publisher-worker';
import { MemoryUtxoStore } from '@omt/ledger/utxo-store-memory';

const RECORDS = 1000;

/** The ledger section of the demo (embedded defaults: PGlite, offline chain client). */
export async function demoLedger(ctx: {
  log: (line: string) => void;
  omtHome: string;
  database: OmtDatabase;
}): Promise<{ ok: boolean; summary: string }> {
  const { log } = ctx;
  const started = performance.now();

  // 1. Two rights holders, each with a key that never leaves "their device"; the publisher only
  //    learns the public keys, through the key registry.
  const signers = [];
  const registrations: SignerRegistration[] = [];
  for (const alg of ['ES256K-DER', 'ML-DSA-65'] as const satisfies readonly IntentAlg[]) {
    const pair = await getSuite(keyAlgOf(alg)).generateKeyPair();
    const signer = await intentSigner(alg, pair.secretKey);
    registrations.push(
      signerRegistration(keyAlgOf(alg), signer.publicKey, {
        validFrom: new Date(Date.now() - 60_000),
        label: `demo ${alg}`,
      }),
    );
    signers.push(signer);
  }

  // 2. Client side: sign 1,000 records (timestamp and nonce added); every tenth with ML-DSA-65.
  const intents: Intent[] = [];
  const t0 = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    const signer = signers[i % 10 === 9 ? 1 : 0] as (typeof signers)[number];
    intents.push(
      await createIntent({ rid: `urn:omt:demo:${i}`, uri: `https://media.example/${i}.jpg` }, signer),
    );
  }
  const perAlg = (alg: string): number => intents.filter((x) => x.signature.alg === alg).length;
  log(
    `   signed ${RECORDS} intents client-side (${perAlg('ES256K-DER')} ES256K-DER, ${perAlg('ML-DSA-65')} ML-DSA-65) in ${ms(t0)}`,
  );

  // 3. The publisher verifies each (schema, RFC 8785 hash, signature, registered signer, ±10 min,
  //    nonce consumed once) and queues it. This bulk run keeps its stores in memory so the
  //    demo's throw-away wallet never touches jobs queued in $OMT_HOME by `omt publish`.
  const registry = new MemoryKeyRegistry();
  for (const r of registrations) await registry.register(r, new Date());
  const queue = new MemoryJobQueue();
  const publisher = new Publisher({ queue, registry, nonces: new MemoryNonceStore() });
  const t1 = performance.now();
  const jobIds: string[] = [];
  for (const intent of intents) {
    const r = await publisher.publish(intent);
    if (r.accepted) jobIds.push(r.jobId);
  }
  const accepted = jobIds.length;
  log(`   publisher verified and queued ${accepted}/${RECORDS} intents in ${ms(t1)}`);

  // 4. A worker seals the queued jobs into one RFC 9162 batch and anchors its root in one
  //    OP_RETURN transaction. Its funding output is made up: the transaction is real and signed,
  //    but the offline chain client only keeps it for a later broadcast.
  const wallet = HdWallet.fromSeed(platformRandom(32), {
    network: 'bsv-regtest',
    store: new MemoryKeyIndexStore(),
  });
  const funding = await wallet.nextFundingKey();
  const utxos = new MemoryUtxoStore();
  await utxos.add([
    {
      txid: toHex(platformRandom(32)),
      vout: 0,
      satoshis: 100_000n,
      script: funding.script,
      keyPath: funding.path,
    },
  ]);
  const chain = new OfflineChainClient('bsv');
  const worker = new PublishWorker({
    queue,
    utxos,
    wallet,
    chain,
    maxRecords: RECORDS,
    engine: libsecp256k1,
  });
  const t2 = performance.now();
  const outcomes = await worker.drain();
  const txid = outcomes[0]?.txid ?? '';
  const held = chain.stored()[0];
  log(
    `   worker: ${outcomes.length} transaction for ${outcomes.reduce((n, o) => n + o.jobIds.length, 0)} records in ${ms(t2)} — ${held === undefined ? 0 : held.rawTx.length / 2} bytes, txid ${txid.slice(0, 16)}…, offline client: ${outcomes[0]?.result ?? 'nothing'}`,
  );

  // 5. One record's anchoring proof: record → batch → txid → OP_RETURN (no block yet: unconfirmed).
  const pick = 421;
  const view = await publisher.job(jobIds[pick] ?? '');
  const proof = view?.proof;
  if (proof === undefined) {
    log(`   no proof for record ${pick}: ${view?.status ?? 'no job'} ${view?.lastError ?? ''}`);
    return { ok: false, summary: 'the worker did not anchor the batch' };
  }
  const v = await verifyAnchorProof(proof, { headers: new Map() });
  const offlineOk = v.checked.record && v.checked.batch && v.checked.tx && v.checked.opReturn;
  const onlyUnconfirmed = v.problems.every((p) => p.code === 'ledger.anchor.unconfirmed');
  log(
    `   proof of record ${pick}: ${proof.batch.proof.length} sibling hashes in a batch of ${proof.batch.size}; record ${mark(v.checked.record)} batch ${mark(v.checked.batch)} txid ${mark(v.checked.tx)} OP_RETURN ${mark(v.checked.opReturn)} — ${onlyUnconfirmed ? 'unconfirmed (no block yet), as expected' : JSON.stringify(v.problems)}`,
  );
  const tampered = await verifyAnchorProof(
    { ...proof, record: { ...proof.record, body: { ...proof.record.body, uri: 'https://evil.example/' } } },
    { headers: new Map() },
  );
  const tamperRejected = tampered.problems.some((p) => p.code === 'ledger.anchor.record-mismatch');
  log(
    `   the same proof with an edited record → ${tamperRejected ? 'rejected (ledger.anchor.record-mismatch)' : 'ACCEPTED (bug)'}`,
  );

  // 6. Replay, against the SQL stores of $OMT_HOME (the checks `omt publish` runs, without
  //    queueing a job there): a fresh intent is accepted once, then refused.
  const sqlRegistry = new SqlKeyRegistry(ctx.database.db);
  for (const r of registrations) await sqlRegistry.register(r, new Date());
  const sqlStores = { registry: sqlRegistry, nonces: new SqlNonceStore(ctx.database.db) };
  const fresh = await createIntent({ rid: 'urn:omt:demo:replay' }, signers[1] as (typeof signers)[number]);
  const first = await verifyIntent(fresh, sqlStores);
  const again = await verifyIntent(fresh, sqlStores);
  const replayRejected =
    first.valid && !again.valid && again.problems.some((p) => p.code === 'ledger.nonce.replayed');
  log(
    `   an ML-DSA-65 intent checked against the SQL registry and nonce store: ${first.valid ? 'accepted' : 'REFUSED'}; the same intent again → ${replayRejected ? 'rejected (ledger.nonce.replayed)' : 'ACCEPTED (bug)'}`,
  );
  log(`   ledger section: ${ms(started)}`);

  const ok =
    accepted === RECORDS &&
    outcomes.length === 1 &&
    offlineOk &&
    onlyUnconfirmed &&
    tamperRejected &&
    replayRejected;
  return {
    ok,
    summary: `${accepted}/${RECORDS} intents verified, ${outcomes.length} transaction ${txid.slice(0, 12)}…, proof ${offlineOk ? 'ok (unconfirmed)' : 'FAILED'}, replay ${replayRejected ? 'rejected' : 'ACCEPTED'}`,
  };
}

function ms(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(2)} s`;
}

function mark(ok: boolean): string {
  return ok ? '✓' : '✗';
}
