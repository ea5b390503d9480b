// The end-to-end demo run by `npm start`, on embedded defaults only: no external server or
// network (the event-chain operators listen on 127.0.0.1 only).
// Every capability of OpenMediaTrust adds a section here.
import path from 'node:path';
import { createDatabase, databaseConfigFromEnv, type OmtDatabase, SqlAuditLogStore } from '@omt/adapters/sql';
import { AuditLog, verifyAuditLog } from '@omt/core/audit-log';
import { keyId } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { demoC2pa } from './c2pa-section.js';
import { demoEvents } from './events-section.js';
import { demoKms } from './kms-section.js';
import { demoLedger } from './ledger-section.js';
import { demoMerkle } from './merkle-section.js';
import { demoSuites, type SuiteReport } from './suites-section.js';

interface SectionContext {
  log: (line: string) => void;
  omtHome: string;
  database: OmtDatabase;
}
interface Section {
  title: string;
  action: string;
  run: (ctx: SectionContext) => Promise<{ ok: boolean; summary: string }>;
}

/** The capability sections after the foundation, in order. */
const SECTIONS: Section[] = [
  {
    title: 'C2PA Content Credentials (post-quantum, classical, hybrid)',
    action: 'demo.c2pa.checked',
    run: demoC2pa,
  },
  {
    title: 'KMS: envelope encryption for two tenants and the kill switch',
    action: 'demo.kms.checked',
    run: demoKms,
  },
  {
    title: 'Publishing: signed intents, batched OP_RETURN anchoring, proofs',
    action: 'demo.ledger.checked',
    run: demoLedger,
  },
  {
    title:
      'Event chains: a 3-of-5 operator network, an item sold through escrow, an anchored checkpoint, equivocation caught',
    action: 'demo.events.checked',
    run: demoEvents,
  },
];

const all = process.argv.includes('--all');
const omtHome = path.resolve(process.env.OMT_HOME || '.omt');
const started = performance.now();
const line = (s = ''): void => {
  process.stdout.write(`${s}\n`);
};

line('OpenMediaTrust demo — embedded defaults (PGlite in $OMT_HOME, no network)');
line(`OMT_HOME: ${omtHome}\n`);

// 1. Signature suites: a key pair for each, a signed JSON document and a COSE_Sign1 message.
line('1. Signature suites: key pair, JSON signature (JCS, {alg,kid,sig}) and COSE_Sign1 with each');
const reports: SuiteReport[] = await demoSuites({ all, log: line });

// 2. Merkle trees (RFC 9162).
line('\n2. RFC 9162 Merkle tree');
const merkle = demoMerkle(line);

// 3. The SQL layer on embedded PGlite: every step of this run goes into a signed, hash-chained
//    audit log there; it is verified from the rows at the end.
line('\n3. SQL layer: the embedded database and the audit log of this run');
const config = databaseConfigFromEnv(process.env, omtHome);
const database = await createDatabase(config);
const outcomes: { name: string; ok: boolean; summary: string }[] = [];
let auditSize = 0;
let auditValid = false;
try {
  const migration = await database.migrate();
  line(
    `   database: ${config.kind === 'pglite' ? `PGlite at ${config.dataDir ?? 'memory'}` : 'PostgreSQL (DATABASE_URL)'}; migrations applied now: ${migration.applied.length ? migration.applied.join(', ') : 'none (up to date)'}`,
  );
  const store = new SqlAuditLogStore(database.db);
  const audit = new AuditLog(store, { log: 'demo' });
  const appendedBefore = (await store.last('demo'))?.seq ?? -1;
  for (const r of reports) {
    await audit.append({
      actor: 'demo',
      action: 'demo.suite.checked',
      subject: r.suite,
      outcome: r.ok ? 'success' : 'failure',
      details: { json: r.json, cose: r.cose, ms: Math.round(r.ms) },
    });
  }
  await audit.append({
    actor: 'demo',
    action: 'demo.merkle.checked',
    subject: `size ${merkle.size}`,
    outcome: merkle.ok ? 'success' : 'failure',
    details: { root: merkle.root },
  });

  // 4… The capability sections.
  let n = 4;
  for (const section of SECTIONS) {
    line(`\n${n++}. ${section.title}`);
    const t0 = performance.now();
    let result: { ok: boolean; summary: string };
    try {
      result = await section.run({ log: line, omtHome, database });
    } catch (e) {
      result = { ok: false, summary: `failed: ${e instanceof Error ? e.message : String(e)}` };
      line(`   ✗ ${result.summary}`);
    }
    outcomes.push({ name: section.title, ...result });
    await audit.append({
      actor: 'demo',
      action: section.action,
      outcome: result.ok ? 'success' : 'failure',
      details: { summary: result.summary, ms: Math.round(performance.now() - t0) },
    });
  }

  // Heads are signed with the default suite (ML-DSA-65) by a key made for this run.
  line(`\n${n}. The audit log of this run, read back from the database`);
  const suite = getSuite('ML-DSA-65');
  const pair = await suite.generateKeyPair();
  const kid = keyId({ suite: suite.id, publicKey: pair.publicKey });
  const head = await audit.signHead({ suite, secretKey: pair.secretKey, kid });
  const entries = [];
  for (let from = 0; from < head.size; from += 500) entries.push(...(await store.read('demo', from, 500)));
  const verdict = await verifyAuditLog(entries, { head, publicKey: pair.publicKey, suite });
  auditSize = head.size;
  auditValid = verdict.valid;
  line(
    `   appended ${head.size - 1 - appendedBefore} entries this run; the log now holds ${head.size} (runs accumulate)`,
  );
  line(
    `   signed head: size ${head.size}, root ${head.root.slice(0, 16)}…, ${head.sig.alg} by ${kid.slice(0, 12)}…`,
  );
  line(
    `   read back ${entries.length} rows and verified chain, Merkle root and signature: ${verdict.valid ? 'valid' : `INVALID ${JSON.stringify(verdict.problems)}`}`,
  );
  const proof = await audit.inclusionProof(head.size - 1);
  line(`   inclusion proof for the newest entry: ${proof.proof.length} hashes`);
} finally {
  await database.close();
}

// Summary.
const failedSuites = reports.filter((r) => !r.ok);
line('\nSummary');
line(
  `   suites checked: ${reports.length} (${reports.length - failedSuites.length} ok)${all ? '' : ' — `npm start -- --all` adds the 10 other SLH-DSA parameter sets'}`,
);
line(
  `   Merkle proofs: ${merkle.ok ? 'ok' : 'FAILED'}; audit log: ${auditSize} entries, ${auditValid ? 'verified' : 'NOT verified'}`,
);
for (const o of outcomes) line(`   ${o.ok ? '✓' : '✗'} ${o.name}: ${o.summary}`);
line(`   total time: ${((performance.now() - started) / 1000).toFixed(1)} s`);
const failed = [...failedSuites.map((f) => f.suite), ...outcomes.filter((o) => !o.ok).map((o) => o.name)];
if (failed.length || !merkle.ok || !auditValid) {
  line(`\nFAILED: ${failed.join(', ') || (merkle.ok ? 'audit log' : 'Merkle proofs')}`);
  process.exitCode = 1;
}
