import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Batched event-chain writes (@omt/ledger `EventStore.appendMany`, `VoteLog.voteMany`): two
 * plpgsql functions that take a whole batch as arrays, so a batch is one statement — one round
 * trip and one transaction — instead of one transaction per item. Both run their items one after
 * another in array order under the same advisory locks as the single-item paths of 0005, so a
 * batch behaves exactly like the single calls made in that order. Also: event and QC texts are
 * stored without a compression attempt (`storage external`).
 */
export const ledgerEventBatches0006: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Item i (1-based) is (p_chain[i], …, p_at[i]); its payouts are p_pay_*[p_pay_from[i] ..
    // p_pay_from[i] + p_pay_count[i] - 1], with seq 0, 1, … . Locks: the per-chain advisory lock
    // of `append` (namespace 0x6f6d7410, key hashtext(schema/chain)) for every distinct key, in
    // ascending key order, so concurrent batches never deadlock. Per item, in order: a height at
    // or below the head → `exists` (same hash) or `conflict` (detail: the committed hash); a
    // height or prev not continuing the head → `out-of-order` (detail: the expected height);
    // else the event and its payouts are inserted → `appended`.
    // With p_isolate each item's inserts run in their own subtransaction (an exception block), so
    // an insert the database refuses (a constraint, a trigger) refuses only that item: `refused`,
    // detail = SQLSTATE and message. Without it there is no subtransaction at all (the fast path:
    // more than 64 subtransactions per transaction slow every other session's snapshots down);
    // the caller retries with p_isolate only when the fast statement failed on such an error.
    await sql`
      create function omt_ledger_append_many(
        p_chain text[], p_height bigint[], p_hash text[], p_prev text[], p_machine text[],
        p_type text[], p_event text[], p_qc text[], p_state text[], p_at timestamptz[],
        p_pay_from int[], p_pay_count int[], p_pay_invoice text[], p_pay_party text[],
        p_pay_role text[], p_pay_amount bigint[], p_pay_currency text[], p_isolate boolean)
        returns table (item int, status text, detail text) language plpgsql as $$
      declare
        v_key int;
        v_chain text;
        v_height bigint;
        v_hash text;
        v_prev text;
        v_machine text;
        v_type text;
        v_event text;
        v_qc text;
        v_state text;
        v_at timestamptz;
        v_from int;
        v_invoice text;
        v_party text;
        v_role text;
        v_amount bigint;
        v_currency text;
        v_head_height bigint;
        v_head_hash text;
        v_at_hash text;
      begin
        for v_key in
          select distinct hashtext(current_schema() || '/' || c) from unnest(p_chain) c order by 1
        loop
          perform pg_advisory_xact_lock(1869444112, v_key);
        end loop;
        for i in 1 .. coalesce(array_length(p_chain, 1), 0) loop
          -- Array elements are read in plain assignments (O(1): plpgsql keeps array arguments
          -- expanded); the SQL statements below see scalars only, so no plan ever embeds, and
          -- copies, a whole array (measured: subscripts inside statements went quadratic).
          item := i;
          detail := null;
          v_chain := p_chain[i];
          v_height := p_height[i];
          v_hash := p_hash[i];
          v_prev := p_prev[i];
          select e.height, e.hash into v_head_height, v_head_hash from omt_ledger_events e
            where e.chain = v_chain order by e.height desc limit 1;
          if v_height <= v_head_height then
            select e.hash into v_at_hash from omt_ledger_events e
              where e.chain = v_chain and e.height = v_height;
            if v_at_hash = v_hash then
              status := 'exists';
            else
              status := 'conflict';
              detail := v_at_hash;
            end if;
          elsif v_height <> coalesce(v_head_height + 1, 0) or v_prev is distinct from v_head_hash then
            status := 'out-of-order';
            detail := coalesce(v_head_height + 1, 0)::text;
          else
            v_machine := p_machine[i];
            v_type := p_type[i];
            v_event := p_event[i];
            v_qc := p_qc[i];
            v_state := p_state[i];
            v_at := p_at[i];
            v_from := p_pay_from[i];
            status := 'appended';
            if p_isolate then
              begin
                insert into omt_ledger_events (chain, height, hash, prev, machine, type, event, qc, state, committed_at)
                  values (v_chain, v_height, v_hash, v_prev, v_machine, v_type, v_event, v_qc, v_state, v_at);
                for j in v_from .. v_from + p_pay_count[i] - 1 loop
                  v_invoice := p_pay_invoice[j];
                  v_party := p_pay_party[j];
                  v_role := p_pay_role[j];
                  v_amount := p_pay_amount[j];
                  v_currency := p_pay_currency[j];
                  insert into omt_ledger_payouts (chain, height, seq, invoice, party, role, amount, currency)
                    values (v_chain, v_height, j - v_from, v_invoice, v_party, v_role, v_amount, v_currency);
                end loop;
              exception when integrity_constraint_violation or data_exception or sqlstate 'OMT02' then
                status := 'refused';
                detail := sqlstate || ' ' || sqlerrm;
              end;
            else
              insert into omt_ledger_events (chain, height, hash, prev, machine, type, event, qc, state, committed_at)
                values (v_chain, v_height, v_hash, v_prev, v_machine, v_type, v_event, v_qc, v_state, v_at);
              for j in v_from .. v_from + p_pay_count[i] - 1 loop
                v_invoice := p_pay_invoice[j];
                v_party := p_pay_party[j];
                v_role := p_pay_role[j];
                v_amount := p_pay_amount[j];
                v_currency := p_pay_currency[j];
                insert into omt_ledger_payouts (chain, height, seq, invoice, party, role, amount, currency)
                  values (v_chain, v_height, j - v_from, v_invoice, v_party, v_role, v_amount, v_currency);
              end loop;
            end if;
          end if;
          return next;
        end loop;
      end
      $$`.execute(db);

    // Events and QCs are mostly base64 signatures and public keys, which pglz cannot compress
    // (measured: stored size = text length), yet trying costs more than the rest of the insert
    // (appendMany of ~24 KB events: PostgreSQL server CPU 410 → 165 µs per event, PGlite
    // 1.4 → 0.95 ms). EXTERNAL keeps out-of-line storage without the attempt; existing rows and
    // the (small, compressible) state column are unchanged. Metadata only, no table rewrite.
    await sql`alter table omt_ledger_events alter column event set storage external,
      alter column qc set storage external`.execute(db);

    // The batch form of 0005's omt_ledger_vote: one lock for the batch, then each request in
    // array order is looked up (an earlier request of the same batch included) or recorded with
    // its leaf at the next index.
    await sql`
      create function omt_ledger_vote_many(p_chain text[], p_height bigint[], p_hash text[],
                                           p_data bytea[], p_leaf_hash bytea[], p_at timestamptz[])
        returns table (item int, voted text, voted_index bigint, fresh boolean) language plpgsql as $$
      declare
        v_next bigint;
        v_chain text;
        v_height bigint;
        v_hash text;
        v_data bytea;
        v_leaf_hash bytea;
        v_at timestamptz;
      begin
        perform pg_advisory_xact_lock(1869444113, hashtext(current_schema()));
        select coalesce(max(l.idx) + 1, 0) into v_next from omt_ledger_log_leaves l;
        for i in 1 .. coalesce(array_length(p_chain, 1), 0) loop
          -- Scalars only in the statements, as in omt_ledger_append_many.
          item := i;
          v_chain := p_chain[i];
          v_height := p_height[i];
          select v.hash, v.leaf_index into voted, voted_index from omt_ledger_votes v
            where v.chain = v_chain and v.height = v_height;
          if found then
            fresh := false;
          else
            v_hash := p_hash[i];
            v_data := p_data[i];
            v_leaf_hash := p_leaf_hash[i];
            v_at := p_at[i];
            insert into omt_ledger_log_leaves (idx, data, leaf_hash) values (v_next, v_data, v_leaf_hash);
            insert into omt_ledger_votes (chain, height, hash, leaf_index, voted_at)
              values (v_chain, v_height, v_hash, v_next, v_at);
            voted := v_hash;
            voted_index := v_next;
            fresh := true;
            v_next := v_next + 1;
          end if;
          return next;
        end loop;
      end
      $$`.execute(db);
  },
};
