// The end-to-end demo run by `npm start`, on embedded defaults only: no server, no network.
// Every later capability of OpenMediaTrust extends this file's sections.
import path from 'node:path';
import { createDatabase, databaseConfigFromEnv, SqlAuditLogStore } from '@omt/adapters/sql';
import { AuditLog, verifyAuditLog } from '@omt/core/audit-log';
import { toHex, utf8 } from '@omt/core/bytes';
import { keyId } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { demoMerkle } from './merkle-section.js';
import { demoSuites, type SuiteReport } from './suites-section.js';

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

// 3. The SQL layer on embedded PGlite: a signed, hash-chained audit log of this demo.
line('\n3. SQL layer: the audit log of this run, in the embedded database');
const config = databaseConfigFromEnv(process.env, omtHome);
const database = await createDatabase(config);
let auditSize = 0;
let auditValid = false;
try {
  const migration = await database.migrate();
  line(
    `   database: ${config.kind === 'pglite' ? `PGlite at ${config.dataDir ?? 'memory'}` : 'PostgreSQL (DATABASE_URL)'}; migrations applied now: ${migration.applied.length ? migration.applied.join(', ') : 'none (up to date)'}`,
  );
  const store = new SqlAuditLogStore(database.db);
  const audit = new AuditLog(store, { log: 'demo' });
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
  // Heads are signed with the default suite (ML-DSA-65) by a key made for this run.
  const suite = getSuite('ML-DSA-65');
  const pair = await suite.generateKeyPair();
  const kid = keyId({ suite: suite.id, publicKey: pair.publicKey });
  const head = await audit.signHead({ suite, secretKey: pair.secretKey, kid });
  // Read everything back from SQL and verify the whole chain against the signed head.
  const entries = [];
  for (let from = 0; from < head.size; from += 500) entries.push(...(await store.read('demo', from, 500)));
  const verdict = await verifyAuditLog(entries, { head, publicKey: pair.publicKey, suite });
  auditSize = head.size;
  auditValid = verdict.valid;
  line(
    `   appended ${reports.length + 1} entries this run; the log now holds ${head.size} (runs accumulate)`,
  );
  line(
    `   signed head: size ${head.size}, root ${head.root.slice(0, 16)}…, ${head.sig.alg} by ${kid.slice(0, 12)}…`,
  );
  line(
    `   read back ${entries.length} rows and verified chain, Merkle root and signature: ${verdict.valid ? 'valid' : `INVALID ${JSON.stringify(verdict.problems)}`}`,
  );
  const proof = await audit.inclusionProof(Math.max(0, head.size - 1));
  line(`   inclusion proof for the newest entry: ${proof.proof.length} hashes`);
} finally {
  await database.close();
}

// Summary.
const failed = reports.filter((r) => !r.ok);
line('\nSummary');
line(
  `   suites checked: ${reports.length} (${reports.filter((r) => r.ok).length} ok)${all ? '' : ' — `npm start -- --all` adds the 10 other SLH-DSA parameter sets'}`,
);
line(
  `   Merkle proofs: ${merkle.ok ? 'ok' : 'FAILED'}; audit log: ${auditSize} entries, ${auditValid ? 'verified' : 'NOT verified'}`,
);
line(
  `   sha256("OpenMediaTrust") = ${toHex((await import('@omt/core/hash')).sha256(utf8('OpenMediaTrust')))}`,
);
line(`   total time: ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (failed.length || !merkle.ok || !auditValid) {
  line(`\nFAILED: ${failed.map((f) => f.suite).join(', ')}`);
  process.exitCode = 1;
}
