// Envelope encryption for two tenants, on embedded defaults: L1 root keys in a local key file in
// $OMT_HOME, wrapped L2/L3 keys and the `kms` audit log in the SQL database. The demo assets are
// encrypted for tenants A and B and decrypted again; then A's customer pulls the kill switch
// (disables A's L1 root) and A is refused with kms.key.revoked while B carries on.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeAead, openLocalRootKeyProvider, SqlKmsKeyStore } from '@omt/adapters/kms-local';
import { type OmtDatabase, SqlAuditLogStore } from '@omt/adapters/sql';
import { AuditLog } from '@omt/core/audit-log';
import { equalBytes, toHex, utf8 } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { platformRandom } from '@omt/core/random';
import { createKms } from '@omt/kms';

const ASSETS = fileURLToPath(new URL('../../../testdata/c2pa/', import.meta.url));
// The demo's own key file; its passphrase is part of the demo, not a secret. Real use:
// `omt kms init` with OMT_KMS_PASSPHRASE (or an HSM through PKCS#11).
const DEMO_PASSPHRASE = 'omt demo passphrase, not a secret';
const PRINCIPAL = 'svc:demo';
const WARM_ROUNDS = 200;

/** The KMS section of the demo. */
export async function demoKms(ctx: {
  log: (line: string) => void;
  omtHome: string;
  database: OmtDatabase;
}): Promise<{ ok: boolean; summary: string }> {
  const { log } = ctx;
  const started = performance.now();
  const rootKeys = await openLocalRootKeyProvider({
    path: path.join(ctx.omtHome, 'demo-kms', 'root-keys.json'),
    passphrase: DEMO_PASSPHRASE,
    create: true,
    // A lighter KDF than the default (N = 2^17) keeps the demo quick; keys are demo keys.
    scrypt: { N: 2 ** 14, r: 8, p: 1 },
  });
  const { kms, governance } = createKms({
    rootKeys,
    keyStore: new SqlKmsKeyStore(ctx.database.db),
    audit: new AuditLog(new SqlAuditLogStore(ctx.database.db), { log: 'kms' }),
    aead: nodeAead,
  });
  try {
    // Runs accumulate in the database: fresh tenant names per run.
    const run = toHex(platformRandom(3));
    const tenants = [`newsroom-a-${run}`, `newsroom-b-${run}`] as const;
    const [a, b] = tenants;
    for (const tenant of tenants) {
      await governance.createTenant({
        actor: 'demo-ops',
        tenant,
        services: ['media'],
        grants: [{ principal: PRINCIPAL, service: '*', operations: ['encrypt', 'decrypt'] }],
      });
    }
    log(`   tenants ${a} and ${b}: one L1 root key each (local key file), L2 v1, L3 v1 for "media"`);

    const assets: { name: string; bytes: Uint8Array }[] = [];
    for (const name of (await readdir(ASSETS)).filter((n) => n.endsWith('.jpg')).sort())
      assets.push({ name, bytes: new Uint8Array(await readFile(path.join(ASSETS, name))) });
    assets.push({
      name: 'story-record.json',
      bytes: utf8(JSON.stringify({ headline: 'Harbour bridge reopens', desk: 'city', embargo: null })),
    });
    const total = assets.reduce((n, x) => n + x.bytes.length, 0);

    const sealed = new Map<string, Uint8Array>();
    for (const tenant of tenants)
      for (const x of assets)
        sealed.set(
          `${tenant}/${x.name}`,
          await kms.encrypt(x.bytes, { principal: PRINCIPAL, tenant, service: 'media', objectId: x.name }),
        );
    let roundTrips = 0;
    for (const tenant of tenants)
      for (const x of assets) {
        const env = sealed.get(`${tenant}/${x.name}`) as Uint8Array;
        const back = await kms.decrypt(env, { principal: PRINCIPAL, expect: { tenant, objectId: x.name } });
        if (equalBytes(back, x.bytes)) roundTrips++;
      }
    const allBack = roundTrips === assets.length * 2;
    log(
      `   encrypted ${assets.length} assets (${(total / 1024).toFixed(0)} KiB: ${assets.map((x) => x.name).join(', ')}) for both tenants; decrypted ${roundTrips}/${assets.length * 2} byte for byte`,
    );

    // Warm path: keys are unsealed once, then cached — the L1 root is not touched again.
    const before = kms.stats.l1KeyCalls;
    const record = assets[assets.length - 1] as { name: string; bytes: Uint8Array };
    const t0 = performance.now();
    for (let i = 0; i < WARM_ROUNDS; i++) {
      const tenant = tenants[i % 2] as string;
      const env = await kms.encrypt(record.bytes, {
        principal: PRINCIPAL,
        tenant,
        service: 'media',
        objectId: `r${i}`,
      });
      await kms.decrypt(env, { principal: PRINCIPAL });
    }
    const warmMs = (performance.now() - t0) / WARM_ROUNDS;
    const warmL1 = kms.stats.l1KeyCalls - before;
    log(
      `   warm path: ${WARM_ROUNDS} encrypt+decrypt of a record, ${warmL1} L1 calls (${warmMs.toFixed(2)} ms per pair)`,
    );

    // The kill switch: A's customer disables A's L1 root key.
    const t1 = performance.now();
    await governance.disableRoot({ actor: `${a}-ciso`, tenant: a, reason: 'demo kill switch' });
    let refusal = 'no error';
    try {
      await kms.decrypt(sealed.get(`${a}/${record.name}`) as Uint8Array, { principal: PRINCIPAL });
    } catch (e) {
      refusal = isOmtError(e) ? e.code : String(e);
    }
    const refusedMs = performance.now() - t1;
    let encryptRefusal = 'no error';
    try {
      await kms.encrypt(record.bytes, {
        principal: PRINCIPAL,
        tenant: a,
        service: 'media',
        objectId: 'after',
      });
    } catch (e) {
      encryptRefusal = isOmtError(e) ? e.code : String(e);
    }
    const bStill = equalBytes(
      await kms.decrypt(sealed.get(`${b}/${record.name}`) as Uint8Array, { principal: PRINCIPAL }),
      record.bytes,
    );
    log(
      `   disabled ${a}'s L1 root: decrypt → ${refusal}, encrypt → ${encryptRefusal} (switch + refusal in ${refusedMs.toFixed(1)} ms); ${b} still decrypts: ${bStill ? 'yes' : 'NO'}`,
    );
    await kms.flushAudit();
    const ok =
      allBack &&
      warmL1 === 0 &&
      refusal === 'kms.key.revoked' &&
      encryptRefusal === 'kms.key.revoked' &&
      bStill;
    log(
      `   audit: every governance action, L1 call and denial is in the "kms" log; ${(performance.now() - started).toFixed(0)} ms`,
    );
    return {
      ok,
      summary: `KMS: ${assets.length} assets × 2 tenants round-tripped, ${warmL1} warm L1 calls, A refused with ${refusal}, B ${bStill ? 'works' : 'FAILED'}`,
    };
  } finally {
    await kms.flushAudit();
  }
}
