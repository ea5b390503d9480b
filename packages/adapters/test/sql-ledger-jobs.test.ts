import { type OmtDatabase, SqlJobQueue, SqlKeyIndexStore } from '@omt/adapters/sql';
import { toHex } from '@omt/core/bytes';
import { HdWallet } from '@omt/ledger/hd-wallet';
import { jobQueueContract } from '@omt/ledger/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { describePostgres, dropSchemas, openMigrated, randomSchema } from './pg-env.js';

function randomHex(n: number): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

describe('SqlJobQueue and SqlKeyIndexStore on PGlite', () => {
  const opened: OmtDatabase[] = [];
  afterAll(async () => {
    for (const d of opened) await d.close();
  });
  jobQueueContract('SqlJobQueue on PGlite', async () => {
    const omt = await openMigrated({ kind: 'pglite' });
    opened.push(omt);
    const queue = new SqlJobQueue(omt.db);
    return { open: async () => queue };
  });

  it('SqlKeyIndexStore hands out 0, 1, 2, … per (wallet, chain), even concurrently', async () => {
    const omt = await openMigrated({ kind: 'pglite' });
    opened.push(omt);
    const store = new SqlKeyIndexStore(omt.db);
    const w = randomHex(20);
    expect(await store.peek(w, 'change')).toBe(0);
    const got = await Promise.all(Array.from({ length: 20 }, () => store.allocate(w, 'change')));
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await store.allocate(w, 'funding')).toBe(0);
    expect(await store.peek(w, 'change')).toBe(20);
    await expect(store.allocate('not-hex', 'change')).rejects.toMatchObject({ code: 'ledger.wallet.store' });
    // The wallet derives from it: two wallets over one store never share a change key.
    const wallet = HdWallet.fromSeed(SEED, { network: 'bsv', store });
    const keys = await Promise.all(Array.from({ length: 5 }, () => wallet.nextChangeKey()));
    expect(new Set(keys.map((k) => k.path)).size).toBe(5);
  });
});

describePostgres('SqlJobQueue on PostgreSQL', (url) => {
  const schemas: string[] = [];
  const opened: OmtDatabase[] = [];
  const schema = (): string => {
    const s = randomSchema('jobs');
    schemas.push(s);
    return s;
  };
  afterAll(async () => {
    for (const d of opened) await d.close();
    await dropSchemas(url, schemas);
  });

  jobQueueContract('SqlJobQueue on PostgreSQL', async () => {
    const omt = await openMigrated({ kind: 'postgres', url, schema: schema(), poolSize: 8 });
    opened.push(omt);
    const queue = new SqlJobQueue(omt.db);
    return { open: async () => queue };
  });
});
