import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/** The append-only event-chain tables (UPDATE, DELETE and TRUNCATE refused by trigger). */
const APPEND_ONLY = [
  'omt_ledger_events',
  'omt_ledger_payouts',
  'omt_ledger_votes',
  'omt_ledger_log_leaves',
  'omt_ledger_checkpoints',
] as const;

/**
 * Event chains (@omt/ledger `EventStore`, `VoteLog`, `WitnessStore`; docs/event-chains.md):
 * - events: committed events with their QC and resulting state, one row per (chain, height);
 *   a BEFORE INSERT trigger refuses a row that does not continue its chain's head (height and
 *   prev), so even raw SQL cannot fork or gap a chain; chain ids sort byte-wise (`COLLATE "C"`);
 * - payouts: the money movements a settlement decided, inserted in the event's transaction;
 * - votes and log leaves: the operator's one vote per chain height and its RFC 9162 log (one log
 *   per database schema: an operator owns its schema); a trigger keeps leaf indexes dense;
 * - checkpoints: the log's signed notes by tree size;
 * - witness state: the latest size and root cosigned per log origin (the only updatable table).
 * Every table but the witness state is append-only, enforced by the database itself: triggers
 * reject UPDATE, DELETE and TRUNCATE with SQLSTATE `OMT01` and a message containing "append-only".
 */
export const ledgerEvents0005: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('omt_ledger_events')
      .addColumn('chain', sql`text collate "C"`, (c) => c.notNull())
      .addColumn('height', 'bigint', (c) => c.notNull().check(sql`height >= 0`))
      .addColumn('hash', 'text', (c) => c.notNull().check(sql`hash ~ '^[0-9a-f]{64}$'`))
      .addColumn('prev', 'text', (c) => c.check(sql`prev ~ '^[0-9a-f]{64}$'`))
      .addColumn('machine', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('qc', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('committed_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('omt_ledger_events_pkey', ['chain', 'height'])
      .addCheckConstraint('omt_ledger_events_prev', sql`(height = 0) = (prev is null)`)
      .execute();
    // One row per chain: `chains()` pages through these instead of every event.
    await sql`create unique index omt_ledger_events_roots on omt_ledger_events (chain) where height = 0`.execute(
      db,
    );

    await db.schema
      .createTable('omt_ledger_payouts')
      .addColumn('chain', sql`text collate "C"`, (c) => c.notNull())
      .addColumn('height', 'bigint', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull().check(sql`seq >= 0`))
      .addColumn('invoice', 'text', (c) => c.notNull().check(sql`length(invoice) between 1 and 256`))
      .addColumn('party', 'text', (c) => c.notNull().check(sql`party ~ '^[0-9a-f]{64}$'`))
      .addColumn('role', 'text', (c) => c.notNull().check(sql`length(role) between 1 and 32`))
      .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
      .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3,8}$'`))
      .addPrimaryKeyConstraint('omt_ledger_payouts_pkey', ['chain', 'height', 'seq'])
      .addForeignKeyConstraint('omt_ledger_payouts_event', ['chain', 'height'], 'omt_ledger_events', [
        'chain',
        'height',
      ])
      .execute();

    await db.schema
      .createTable('omt_ledger_log_leaves')
      .addColumn('idx', 'bigint', (c) => c.primaryKey().check(sql`idx >= 0`))
      .addColumn('data', 'bytea', (c) => c.notNull())
      .addColumn('leaf_hash', 'bytea', (c) => c.notNull().check(sql`length(leaf_hash) = 32`))
      .execute();

    await db.schema
      .createTable('omt_ledger_votes')
      .addColumn('chain', sql`text collate "C"`, (c) => c.notNull())
      .addColumn('height', 'bigint', (c) => c.notNull().check(sql`height >= 0`))
      .addColumn('hash', 'text', (c) => c.notNull().check(sql`hash ~ '^[0-9a-f]{64}$'`))
      .addColumn('leaf_index', 'bigint', (c) => c.notNull().unique().references('omt_ledger_log_leaves.idx'))
      .addColumn('voted_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('omt_ledger_votes_pkey', ['chain', 'height'])
      .execute();

    await db.schema
      .createTable('omt_ledger_checkpoints')
      .addColumn('size', 'bigint', (c) => c.primaryKey().check(sql`size >= 0`))
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('saved_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('omt_ledger_witness_state')
      .addColumn('origin', 'text', (c) => c.primaryKey())
      .addColumn('size', 'bigint', (c) => c.notNull().check(sql`size >= 0`))
      .addColumn('root', 'bytea', (c) => c.notNull().check(sql`length(root) = 32`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();

    // Created unqualified: they land in the first schema of search_path, the configured one.
    await sql`
      create function omt_ledger_forbid_mutation() returns trigger language plpgsql as $$
      begin
        raise exception 'omt: % on % is forbidden: ledger event tables are append-only', tg_op, tg_table_name
          using errcode = 'OMT01';
      end
      $$`.execute(db);
    for (const table of APPEND_ONLY) {
      await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
        for each row execute function omt_ledger_forbid_mutation()`.execute(db);
      await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function omt_ledger_forbid_mutation()`.execute(db);
    }

    // A chain only grows at its head: height = head + 1 and prev = the head's hash.
    await sql`
      create function omt_ledger_events_continue_head() returns trigger language plpgsql as $$
      declare
        head_height bigint;
        head_hash text;
      begin
        select e.height, e.hash into head_height, head_hash from omt_ledger_events e
          where e.chain = new.chain order by e.height desc limit 1;
        if new.height <> coalesce(head_height + 1, 0) or new.prev is distinct from head_hash then
          raise exception 'omt: event % of % does not continue its chain head', new.height, new.chain
            using errcode = 'OMT02';
        end if;
        return new;
      end
      $$`.execute(db);
    await sql`create trigger omt_ledger_events_linked before insert on omt_ledger_events
      for each row execute function omt_ledger_events_continue_head()`.execute(db);

    // Leaf indexes are dense: each new leaf takes exactly the next index.
    await sql`
      create function omt_ledger_log_leaves_dense() returns trigger language plpgsql as $$
      declare
        next_idx bigint;
      begin
        select coalesce(max(l.idx) + 1, 0) into next_idx from omt_ledger_log_leaves l;
        if new.idx <> next_idx then
          raise exception 'omt: log leaf % is not the next index %', new.idx, next_idx
            using errcode = 'OMT02';
        end if;
        return new;
      end
      $$`.execute(db);
    await sql`create trigger omt_ledger_log_leaves_dense before insert on omt_ledger_log_leaves
      for each row execute function omt_ledger_log_leaves_dense()`.execute(db);

    // One vote in one statement (one round trip): the log's writers are serialised by a
    // transaction-scoped advisory lock (namespace 0x6f6d7411, keyed by the schema: one log per
    // schema) held only while the function and its commit run; under it the vote is looked up
    // or recorded together with its leaf at the next index. Returns the hash voted for at that
    // height, its leaf index, and whether this call recorded it.
    await sql`
      create function omt_ledger_vote(p_chain text, p_height bigint, p_hash text, p_data bytea,
                                      p_leaf_hash bytea, p_at timestamptz)
        returns table (voted text, leaf_index bigint, fresh boolean) language plpgsql as $$
      declare
        v_hash text;
        v_idx bigint;
      begin
        perform pg_advisory_xact_lock(1869444113, hashtext(current_schema()));
        select v.hash, v.leaf_index into v_hash, v_idx from omt_ledger_votes v
          where v.chain = p_chain and v.height = p_height;
        if found then
          return query select v_hash, v_idx, false;
          return;
        end if;
        select coalesce(max(l.idx) + 1, 0) into v_idx from omt_ledger_log_leaves l;
        insert into omt_ledger_log_leaves (idx, data, leaf_hash) values (v_idx, p_data, p_leaf_hash);
        insert into omt_ledger_votes (chain, height, hash, leaf_index, voted_at)
          values (p_chain, p_height, p_hash, v_idx, p_at);
        return query select p_hash, v_idx, true;
      end
      $$`.execute(db);
  },
};
