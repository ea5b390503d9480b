/**
 * Child process of the crash test (sql-ledger-events.test.ts): an operator loop that votes and
 * commits events on several chains at once, forever, until the parent kills it with SIGKILL.
 * After each commit it prints `committed <chain> <height> <hash>` — so every printed event must
 * survive the kill. Run: node --conditions=omt-source --import tsx <this file>, with
 * OMT_CRASH_DB (a DatabaseConfig as JSON), OMT_CRASH_PREFIX (chain id prefix) and
 * OMT_CRASH_WORKERS.
 */
import { createDatabase, type DatabaseConfig, SqlEventStore, SqlVoteLog } from '@omt/adapters/sql';
import { toHex, utf8 } from '@omt/core/bytes';
import { sha256 } from '@omt/core/hash';

const config = JSON.parse(process.env.OMT_CRASH_DB ?? '') as DatabaseConfig;
const prefix = process.env.OMT_CRASH_PREFIX ?? 'crash';
const workers = Number(process.env.OMT_CRASH_WORKERS ?? '4');

const omt = await createDatabase(config);
await omt.migrate();
const events = new SqlEventStore(omt.db);
const votes = new SqlVoteLog(omt.db);

/** The event text; its SHA-256 is the event hash, so the parent can re-verify every row. */
function eventText(chain: string, height: number, prev: string | null): string {
  return JSON.stringify({
    v: 1,
    chain,
    height,
    prev,
    type: height === 0 ? 'mint' : 'transfer',
    pad: 'x'.repeat(300),
  });
}

async function worker(w: number): Promise<void> {
  const chain = `${prefix}:w${w}`;
  for (;;) {
    const head = await events.head(chain);
    const height = head === undefined ? 0 : head.height + 1;
    const prev = head?.hash ?? null;
    const event = eventText(chain, height, prev);
    const hash = toHex(sha256(utf8(event)));
    const leaf = utf8(`omt.vote.v1\n${chain}\n${height}\n${hash}\n`);
    const vote = await votes.vote({ chain, height, hash, leaf, at: new Date() });
    if (vote.status === 'conflict') throw new Error(`unexpected conflict at ${chain} ${height}`);
    const amount = BigInt(1000 + height);
    await events.append(
      {
        chain,
        height,
        hash,
        prev,
        machine: 'omt.item/v1',
        type: height === 0 ? 'mint' : 'transfer',
        event,
        qc: JSON.stringify({ chain, height, event: hash, receipts: [{ index: vote.index }] }),
        state: JSON.stringify({ chain, height, head: hash }),
        committedAt: new Date(),
      },
      [
        {
          invoice: `inv-${height}`,
          party: 'a'.repeat(64),
          role: 'seller',
          amount: amount - 10n,
          currency: 'EUR',
        },
        { invoice: `inv-${height}`, party: 'b'.repeat(64), role: 'fee', amount: 10n, currency: 'EUR' },
      ],
    );
    process.stdout.write(`committed ${chain} ${height} ${hash}\n`);
  }
}

await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
