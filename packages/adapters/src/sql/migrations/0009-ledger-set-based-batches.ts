import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Set-based bodies for 0006's batch functions (same names, arguments and result columns, so
 * callers are unchanged; 0006's item-by-item append stays, renamed `omt_ledger_append_each`, as
 * the isolated retry path): instead of 2–4 SQL statements per item, a batch is
 * a few statements in all — reads of everything the batch needs, the decisions in memory (in
 * array order, exactly as the item-by-item loops decided them), then one insert per table.
 * PGlite (PostgreSQL in wasm) pays a large per-statement overhead, which made the per-item
 * statements most of an operator's database time. Locks, outcomes and the database's own checks
 * (the head and dense-leaf triggers of 0005, keys, constraints) are unchanged: an insert of many
 * rows fires the row triggers row by row, each seeing the rows inserted before it in the same
 * statement, so rows are inserted in order (`order by`).
 *
 * As in 0006, statements never subscript a plpgsql array (`p_x[i]` inside a statement copies the
 * whole array into each execution: quadratic); they read the arrays with `unnest(…) with
 * ordinality`. Subscripts appear only in plain plpgsql assignments and conditions (O(1)).
 */
export const ledgerSetBasedBatches0009: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Semantics: see 0006. Fast path (not p_isolate): one query reads, for every distinct chain of
    // the batch, its head (height, hash), and for every item at or below its chain's head the hash
    // stored at its height; a loop over the items in array order keeps each chain's running head
    // in memory: at or below it → `exists` / `conflict` (against the stored hash, or the hash an
    // earlier item of this batch appended at that height); not continuing it (height and prev) →
    // `out-of-order` with the expected height; else `appended`, and the item becomes the running
    // head. Then one insert of every appended event (array order, so each chain's rows come in
    // height order for the head trigger) and one of all their payouts. With p_isolate (run only
    // after the fast statement failed on a refused insert) the batch goes to 0006's function, now
    // `omt_ledger_append_each`: each item decided and inserted in its own subtransaction, one after
    // another, since a refused item does not move the head and later decisions depend on what the
    // database accepted.
    // 0006's item-by-item function stays as the isolated path, under its own name: the set-based
    // one below hands a p_isolate batch to it (the same locks are taken again, which is a no-op
    // for locks the transaction holds).
    await sql`alter function omt_ledger_append_many(text[], bigint[], text[], text[], text[], text[],
      text[], text[], text[], timestamptz[], int[], int[], text[], text[], text[], bigint[], text[], boolean)
      rename to omt_ledger_append_each`.execute(db);
    await sql`
      create function omt_ledger_append_many(
        p_chain text[], p_height bigint[], p_hash text[], p_prev text[], p_machine text[],
        p_type text[], p_event text[], p_qc text[], p_state text[], p_at timestamptz[],
        p_pay_from int[], p_pay_count int[], p_pay_invoice text[], p_pay_party text[],
        p_pay_role text[], p_pay_amount bigint[], p_pay_currency text[], p_isolate boolean)
        returns table (item int, status text, detail text) language plpgsql as $$
      declare
        v_n int := coalesce(array_length(p_chain, 1), 0);
        v_key int;
        -- Per chain of the batch, numbered 1.. : the running head (null: no event yet).
        v_head_height bigint[];
        v_head_hash text[];
        -- Per item: its chain's number, its (chain, height)'s number, the stored hash at its
        -- height (null above the stored head).
        v_c int[];
        v_g int[];
        v_at_hash text[];
        -- Per (chain, height) number: the hash an item of this batch appended there.
        v_group_hash text[];
        -- Per item: the outcome.
        v_status text[];
        v_detail text[];
        v_ok boolean[];
        v_appended int := 0;
        v_paid int := 0;
        v_ci int;
        v_height bigint;
        v_hh bigint;
        v_hash text;
        v_other text;
      begin
        for v_key in
          select distinct hashtext(current_schema() || '/' || c) from unnest(p_chain) c order by 1
        loop
          perform pg_advisory_xact_lock(1869444112, v_key);
        end loop;
        if v_n = 0 then
          return;
        end if;

        if p_isolate then
          return query select e.item, e.status, e.detail from omt_ledger_append_each(
            p_chain, p_height, p_hash, p_prev, p_machine, p_type, p_event, p_qc, p_state, p_at,
            p_pay_from, p_pay_count, p_pay_invoice, p_pay_party, p_pay_role, p_pay_amount,
            p_pay_currency, true) e;
          return;
        end if;

        -- One read: heads per chain, and per item its chain number, its (chain, height) number
        -- and the stored hash at its height when that is at or below the head.
        with i as (
          select u.ord, u.chain, u.height,
                 dense_rank() over (order by u.chain, u.height)::int as g
            from unnest(p_chain, p_height) with ordinality as u(chain, height, ord)
        ), ch as (
          select d.chain, row_number() over (order by d.chain)::int as c, h.height, h.hash
            from (select distinct i.chain from i) d
            left join lateral (
              select e.height, e.hash from omt_ledger_events e
                where e.chain = d.chain order by e.height desc limit 1) h on true
        )
        select (select array_agg(ch.height order by ch.c) from ch),
               (select array_agg(ch.hash order by ch.c) from ch),
               (select array_agg(ch.c order by i.ord) from i join ch on ch.chain = i.chain),
               (select array_agg(i.g order by i.ord) from i),
               (select array_agg(e.hash order by i.ord) from i
                  join ch on ch.chain = i.chain
                  left join omt_ledger_events e
                    on e.chain = i.chain and e.height = i.height and i.height <= ch.height)
          into v_head_height, v_head_hash, v_c, v_g, v_at_hash;

        -- The decisions, in array order, in memory.
        v_status := array_fill(null::text, array[v_n]);
        v_detail := array_fill(null::text, array[v_n]);
        v_ok := array_fill(false, array[v_n]);
        v_group_hash := array_fill(null::text, array[v_n]);
        for i in 1 .. v_n loop
          v_ci := v_c[i];
          v_height := p_height[i];
          v_hh := v_head_height[v_ci];
          if v_height <= v_hh then
            -- Stored at that height, or appended there by an earlier item of this batch.
            v_other := coalesce(v_at_hash[i], v_group_hash[v_g[i]]);
            if v_other = p_hash[i] then
              v_status[i] := 'exists';
            else
              v_status[i] := 'conflict';
              v_detail[i] := v_other;
            end if;
          elsif v_height <> coalesce(v_hh + 1, 0) or p_prev[i] is distinct from v_head_hash[v_ci] then
            v_status[i] := 'out-of-order';
            v_detail[i] := coalesce(v_hh + 1, 0)::text;
          else
            v_hash := p_hash[i];
            v_status[i] := 'appended';
            v_ok[i] := true;
            v_head_height[v_ci] := v_height;
            v_head_hash[v_ci] := v_hash;
            v_group_hash[v_g[i]] := v_hash;
            v_appended := v_appended + 1;
            v_paid := v_paid + p_pay_count[i];
          end if;
        end loop;

        if v_appended > 0 then
          insert into omt_ledger_events (chain, height, hash, prev, machine, type, event, qc, state, committed_at)
            select u.chain, u.height, u.hash, u.prev, u.machine, u.type, u.event, u.qc, u.state, u.committed_at
              from unnest(p_chain, p_height, p_hash, p_prev, p_machine, p_type, p_event, p_qc, p_state,
                          p_at, v_ok) with ordinality
                as u(chain, height, hash, prev, machine, type, event, qc, state, committed_at, ok, ord)
              where u.ok
              order by u.ord;
        end if;
        if v_paid > 0 then
          insert into omt_ledger_payouts (chain, height, seq, invoice, party, role, amount, currency)
            select u.chain, u.height, (j.j - u.pay_from)::int, p.invoice, p.party, p.role, p.amount, p.currency
              from unnest(p_chain, p_height, p_pay_from, p_pay_count, v_ok) with ordinality
                as u(chain, height, pay_from, pay_count, ok, ord)
              cross join lateral generate_series(u.pay_from, u.pay_from + u.pay_count - 1) as j(j)
              join unnest(p_pay_invoice, p_pay_party, p_pay_role, p_pay_amount, p_pay_currency) with ordinality
                as p(invoice, party, role, amount, currency, k) on p.k = j.j
              where u.ok
              order by u.ord, j.j;
        end if;

        return query
          select u.ord::int, u.status, u.detail
            from unnest(v_status, v_detail) with ordinality as u(status, detail, ord)
            order by u.ord;
      end
      $$`.execute(db);

    // Semantics: see 0006 (and 0005's omt_ledger_vote). Under the log's lock: one query gives
    // every request that records a vote — the first request of each (chain, height) that has no
    // vote yet — its leaf index (the next index + its rank among those, in array order); one insert
    // of their leaves (in index order: the dense-leaf trigger checks each), one of their votes;
    // then each request returns the vote now stored for its (chain, height): the one it recorded
    // (fresh), an earlier request's of this batch, or one stored before.
    await sql`
      create or replace function omt_ledger_vote_many(p_chain text[], p_height bigint[], p_hash text[],
                                                      p_data bytea[], p_leaf_hash bytea[], p_at timestamptz[])
        returns table (item int, voted text, voted_index bigint, fresh boolean) language plpgsql as $$
      declare
        v_next bigint;
        v_idx bigint[];
        v_voted text[];
        v_voted_index bigint[];
        v_fresh int;
      begin
        perform pg_advisory_xact_lock(1869444113, hashtext(current_schema()));
        if coalesce(array_length(p_chain, 1), 0) = 0 then
          return;
        end if;
        select coalesce(max(l.idx) + 1, 0) into v_next from omt_ledger_log_leaves l;
        -- Per request: its new leaf index (null: a vote exists, or an earlier request of this batch
        -- records it), and the vote its (chain, height) will have: the stored one, else the first
        -- request's hash and new index.
        select array_agg(s.idx order by s.ord), array_agg(s.voted order by s.ord),
               array_agg(s.voted_index order by s.ord), count(s.idx)
          into v_idx, v_voted, v_voted_index, v_fresh
          from (
            select r.ord, r.idx,
                   coalesce(r.old_hash, first_value(r.hash) over w) as voted,
                   coalesce(r.old_index, first_value(r.idx) over w) as voted_index
              from (
                select q.ord, q.chain, q.height, q.hash, q.old_hash, q.old_index,
                       case when q.fresh then v_next - 1 + count(*) filter (where q.fresh) over (order by q.ord) end
                         as idx
                  from (
                    select u.ord, u.chain, u.height, u.hash, v.hash as old_hash, v.leaf_index as old_index,
                           v.chain is null
                             and row_number() over (partition by u.chain, u.height order by u.ord) = 1 as fresh
                      from unnest(p_chain, p_height, p_hash) with ordinality as u(chain, height, hash, ord)
                      left join omt_ledger_votes v on v.chain = u.chain and v.height = u.height
                  ) q
              ) r
              window w as (partition by r.chain, r.height order by r.ord)
          ) s;
        if v_fresh > 0 then
          insert into omt_ledger_log_leaves (idx, data, leaf_hash)
            select u.idx, u.data, u.leaf_hash
              from unnest(v_idx, p_data, p_leaf_hash) as u(idx, data, leaf_hash)
              where u.idx is not null
              order by u.idx;
          insert into omt_ledger_votes (chain, height, hash, leaf_index, voted_at)
            select u.chain, u.height, u.hash, u.idx, u.voted_at
              from unnest(v_idx, p_chain, p_height, p_hash, p_at) as u(idx, chain, height, hash, voted_at)
              where u.idx is not null
              order by u.idx;
        end if;
        return query
          select u.ord::int, u.voted, u.voted_index, u.idx is not null
            from unnest(v_idx, v_voted, v_voted_index) with ordinality as u(idx, voted, voted_index, ord)
            order by u.ord;
      end
      $$`.execute(db);
  },
};
