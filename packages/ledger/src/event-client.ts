/**
 * Submitting events to an operator network (docs/event-chains.md steps 1–4): send each signed
 * event to every operator at once, verify every receipt that comes back before a deadline, form
 * the quorum certificate from M distinct operators, and commit the event with it everywhere.
 * Browser-safe: operators are reached through {@link OperatorApi} (HTTP in `@omt/adapters/http`).
 */
import { OmtError } from '@omt/core/errors';
import { type ChainEvent, eventHash, parseEvent } from './event.js';
import type { EventNetwork } from './event-network.js';
import type { CommitAnswer, OperatorApi, VoteAnswer } from './operator-api.js';
import { type OperatorReceipt, parseReceipt, verifyReceipt } from './operator-receipt.js';
import type { QuorumCertificate } from './quorum-certificate.js';

/** How one operator answered. */
export interface OperatorOutcome {
  readonly operator: string;
  readonly ok: boolean;
  readonly code?: string | undefined;
  readonly message?: string | undefined;
}

/** The outcome of one submitted event. */
export type SubmitOutcome =
  | {
      readonly ok: true;
      readonly hash: string;
      readonly chain: string;
      readonly height: number;
      readonly qc: QuorumCertificate;
      readonly votes: readonly OperatorOutcome[];
      readonly commits: readonly OperatorOutcome[];
    }
  | {
      readonly ok: false;
      readonly hash: string;
      readonly chain: string;
      readonly height: number;
      /** `ledger.event.conflict` (another event holds the height), `ledger.quorum.not-reached`,
       * `ledger.commit.incomplete` (final, but fewer than M operators stored it yet: commit again),
       * or the refusal code all operators agreed on. */
      readonly code: string;
      readonly message: string;
      readonly votes: readonly OperatorOutcome[];
      readonly commits?: readonly OperatorOutcome[];
      /** Present with `ledger.commit.incomplete`. */
      readonly qc?: QuorumCertificate;
    };

/** Options of {@link submitEvents}. */
export interface SubmitOptions {
  readonly network: EventNetwork;
  /** Reachable operators, matched to the network's by name. */
  readonly operators: readonly OperatorApi[];
  /** Give up on operators that have not answered after this long (default 5,000 ms per phase). */
  readonly deadlineMs?: number;
  /**
   * When each phase ends: `'quorum'` (default) as soon as every event has M verified receipts
   * (votes) or M stored answers (commits) — the slower operators' answers are not awaited (they
   * are reported with code `ledger.operator.not-awaited`; their requests still run, and an
   * operator that missed a commit catches up from its peers); `'all'` when every operator has
   * answered or the deadline passed — for a short-lived process that exits right after.
   */
  readonly settle?: 'quorum' | 'all';
}

/**
 * Submits signed events (≤ 1,000, any chains, at most one per chain height) and returns one
 * outcome per event in order. Never throws for a refused event or an unreachable operator — that
 * is in the outcome; throws `ledger.network.invalid` for operators unknown to the network.
 * @example
 * ```ts
 * const [r] = await submitEvents({ network, operators }, [await signEvent(unsigned, [owner])]);
 * if (!r.ok) console.error(r.code, r.message);
 * ```
 */
export async function submitEvents(
  options: SubmitOptions,
  events: readonly ChainEvent[],
): Promise<SubmitOutcome[]> {
  const { network } = options;
  const byName = new Map(network.operators.map((o) => [o.name, o]));
  for (const op of options.operators)
    if (!byName.has(op.name))
      throw new OmtError('ledger.network.invalid', `operator ${op.name} is not in the network`);
  if (events.length === 0) return [];
  if (events.length > 1_000)
    throw new OmtError('ledger.event.invalid', 'submit at most 1,000 events at once');
  const parsed = events.map((e) => parseEvent(e));
  const hashes = parsed.map((e) => eventHash(e));
  const deadline = options.deadlineMs ?? 5_000;

  const settleAll = options.settle === 'all';
  if (options.settle !== undefined && options.settle !== 'quorum' && !settleAll)
    throw new OmtError('ledger.event.invalid', "settle is 'quorum' or 'all'");

  // Phase 1: votes. Each operator's answers are checked as they arrive — until the quorum is
  // complete: answers after that change no outcome, so they are not even read (checking each
  // receipt's checkpoint and proof is most of a client's CPU per event).
  const receipts: OperatorReceipt[][] = parsed.map(() => []);
  const votes: OperatorOutcome[][] = parsed.map(() => []);
  let votesSettled = false;
  const voteDone = await untilQuorum(
    options.operators,
    async (op) => {
      const known = byName.get(op.name)!;
      let answers: VoteAnswer[];
      try {
        answers = await withDeadline(deadline, (signal) => op.submit(parsed, signal));
      } catch (error) {
        for (const v of votes) v.push(failure(op.name, error));
        return;
      }
      if (votesSettled) return;
      await Promise.all(
        parsed.map(async (e, i) => {
          const answer = answers[i] as VoteAnswer | undefined;
          if (answer === undefined || typeof answer !== 'object') {
            votes[i]!.push({
              operator: op.name,
              ok: false,
              code: 'ledger.operator.bad-answer',
              message: 'no answer',
            });
            return;
          }
          if (!answer.ok) {
            votes[i]!.push({ operator: op.name, ok: false, code: answer.code, message: answer.message });
            return;
          }
          try {
            const receipt = parseReceipt(answer.receipt);
            const statuses = await verifyReceipt(
              receipt,
              { chain: e.chain, height: e.height, hash: hashes[i]! },
              known,
            );
            if (statuses.length > 0 || receipt.operator !== op.name) {
              votes[i]!.push({
                operator: op.name,
                ok: false,
                code: statuses[0]?.code ?? 'ledger.receipt.invalid',
                message: statuses.map((s) => s.message).join('; ') || 'receipt names another operator',
              });
              return;
            }
            receipts[i]!.push(receipt);
            votes[i]!.push({ operator: op.name, ok: true });
          } catch (err) {
            votes[i]!.push(failure(op.name, err));
          }
        }),
      );
    },
    (finished) =>
      !settleAll &&
      receipts.every((r) => dedupe(r.filter((x) => finished.has(x.operator))).length >= network.quorum),
  );
  votesSettled = true;
  // Snapshots of the operators that finished: answers still on their way change nothing here.
  const voteOutcomes = votes.map((v) => notAwaited(v, options.operators, voteDone));
  const quorumReceipts = receipts.map((r) => r.filter((x) => voteDone.has(x.operator)));

  // Phase 2: commit what reached a quorum.
  const outcomes: (SubmitOutcome | undefined)[] = parsed.map(() => undefined);
  const toCommit: { i: number; qc: QuorumCertificate }[] = [];
  parsed.forEach((e, i) => {
    const distinct = dedupe(quorumReceipts[i]!);
    if (distinct.length >= network.quorum) {
      // Exactly M receipts (in operator order): more prove nothing more, and every byte of a
      // certificate is sent to and stored by every operator.
      const chosen = distinct.sort((a, b) => (a.operator < b.operator ? -1 : 1)).slice(0, network.quorum);
      toCommit.push({ i, qc: { chain: e.chain, height: e.height, event: hashes[i]!, receipts: chosen } });
      return;
    }
    outcomes[i] = refusal(e, hashes[i]!, voteOutcomes[i]!, network.quorum);
  });
  if (toCommit.length > 0) {
    const entries = toCommit.map(({ i, qc }) => ({ event: parsed[i], qc }));
    const answered = new Map<string, CommitAnswer[] | { error: unknown }>();
    const commitDone = await untilQuorum(
      options.operators,
      async (op) => {
        try {
          const a = await withDeadline(deadline, (signal) => op.commit(entries, signal));
          answered.set(op.name, a);
        } catch (error) {
          answered.set(op.name, { error });
        }
      },
      // Counted over the operators that finished (the same set the outcomes report).
      (finished) =>
        !settleAll &&
        toCommit.every((_, k) => {
          let n = 0;
          for (const name of finished) {
            const a = answered.get(name);
            if (Array.isArray(a) && a[k]?.ok === true) n++;
          }
          return n >= network.quorum;
        }),
    );
    const commits = options.operators.map((op) => ({
      op,
      done: commitDone.has(op.name),
      result: answered.get(op.name),
    }));
    toCommit.forEach(({ i, qc }, k) => {
      const e = parsed[i]!;
      const outcomesOf: OperatorOutcome[] = commits.map((c) => {
        if (!c.done || c.result === undefined) return notAwaitedOutcome(c.op.name);
        if ('error' in c.result) return failure(c.op.name, c.result.error);
        const answer = c.result[k] as CommitAnswer | undefined;
        if (answer === undefined)
          return { operator: c.op.name, ok: false, code: 'ledger.operator.bad-answer' };
        return answer.ok
          ? { operator: c.op.name, ok: true }
          : { operator: c.op.name, ok: false, code: answer.code, message: answer.message };
      });
      const stored = outcomesOf.filter((o) => o.ok).length;
      outcomes[i] =
        stored >= network.quorum
          ? {
              ok: true,
              hash: hashes[i]!,
              chain: e.chain,
              height: e.height,
              qc,
              votes: voteOutcomes[i]!,
              commits: outcomesOf,
            }
          : {
              ok: false,
              hash: hashes[i]!,
              chain: e.chain,
              height: e.height,
              code: 'ledger.commit.incomplete',
              message: `final, but only ${stored} of ${network.operators.length} operators stored it (need ${network.quorum}): commit again`,
              votes: voteOutcomes[i]!,
              commits: outcomesOf,
              qc,
            };
    });
  }
  return outcomes as SubmitOutcome[];
}

/**
 * Runs `work` for every operator at once and resolves with the names of those that finished:
 * when all have, or as soon as `enough()` holds after one finishes.
 */
async function untilQuorum(
  operators: readonly OperatorApi[],
  work: (op: OperatorApi) => Promise<void>,
  enough: (finished: ReadonlySet<string>) => boolean,
): Promise<Set<string>> {
  const finished = new Set<string>();
  if (operators.length === 0) return finished;
  return new Promise<Set<string>>((resolve) => {
    let left = operators.length;
    for (const op of operators) {
      work(op)
        .catch(() => undefined)
        .then(() => {
          finished.add(op.name);
          left--;
          if (left === 0 || enough(finished)) resolve(new Set(finished));
        });
    }
  });
}

function notAwaitedOutcome(operator: string): OperatorOutcome {
  return {
    operator,
    ok: false,
    code: 'ledger.operator.not-awaited',
    message: 'the quorum was complete before this operator answered',
  };
}

/** One event's vote outcomes of the operators that finished, plus `not-awaited` for the others. */
function notAwaited(
  outcomes: readonly OperatorOutcome[],
  operators: readonly OperatorApi[],
  done: ReadonlySet<string>,
): OperatorOutcome[] {
  const out = outcomes.filter((o) => done.has(o.operator));
  for (const op of operators) if (!done.has(op.name)) out.push(notAwaitedOutcome(op.name));
  return out;
}

/** One receipt per operator (the first valid one). */
function dedupe(receipts: readonly OperatorReceipt[]): OperatorReceipt[] {
  const seen = new Set<string>();
  return receipts.filter((r) => {
    if (seen.has(r.operator)) return false;
    seen.add(r.operator);
    return true;
  });
}

function refusal(
  e: ChainEvent,
  hash: string,
  votes: readonly OperatorOutcome[],
  quorum: number,
): SubmitOutcome {
  const refused = votes.filter((v) => !v.ok);
  const conflict = refused.find((v) => v.code === 'ledger.event.conflict');
  const codes = new Set(refused.map((v) => v.code));
  const answered = refused.filter(
    (v) => v.code !== 'ledger.operator.unavailable' && v.code !== 'ledger.operator.timeout',
  );
  let code = 'ledger.quorum.not-reached';
  let message = `${votes.length - refused.length} of ${votes.length} operators voted for the event; ${quorum} are needed`;
  if (conflict !== undefined) {
    code = 'ledger.event.conflict';
    message = `another event holds height ${e.height} of ${e.chain} at ${refused.filter((v) => v.code === code).length} operators`;
  } else if (codes.size === 1 && answered.length === refused.length && refused.length === votes.length) {
    code = refused[0]?.code ?? code;
    message = refused[0]?.message ?? message;
  }
  return { ok: false, hash, chain: e.chain, height: e.height, code, message, votes };
}

function failure(operator: string, e: unknown): OperatorOutcome {
  const code = e instanceof OmtError ? e.code : 'ledger.operator.unavailable';
  const message = e instanceof Error ? e.message : String(e);
  return { operator, ok: false, code, message };
}

/** Runs `fn` with an abort signal that fires after `ms`; a late answer → `ledger.operator.timeout`. */
export async function withDeadline<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new OmtError('ledger.operator.timeout', `no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
