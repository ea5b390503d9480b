/**
 * An event-chain operator (docs/event-chains.md): validates submitted events against its
 * committed chains and the state machines, votes at most once per chain height, appends every
 * vote to its own RFC 9162 log, signs one checkpoint per batch (so the ML-DSA cost is paid per
 * batch, not per event), answers each vote with a receipt, and stores events whose quorum
 * certificate verifies. Browser-safe: storage, payments and peers come in through ports.
 */
import { toBase64 } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { canonicalize } from '@omt/core/jcs';
import { hashLeaf, MerkleTree } from '@omt/core/merkle';
import {
  type AnchoredCheckpoint,
  parseAnchoredCheckpoint,
  verifyCheckpointAnchor,
} from './checkpoint-anchor.js';
import { type ChainEvent, eventHash, parseEvent } from './event.js';
import { authorityKeyIds, type EventNetwork, type NetworkOperator } from './event-network.js';
import {
  applyEvent,
  type ChainState,
  checkEventExternal,
  type ExternalCheck,
  type MachineEnv,
  type MachineRegistry,
} from './machine.js';
import type {
  ChainView,
  CommitAnswer,
  CommittedEntry,
  OperatorApi,
  OperatorStatus,
  VoteAnswer,
} from './operator-api.js';
import { type OperatorReceipt, voteLeaf } from './operator-receipt.js';
import { eventPayouts, type PaymentAdapter, paymentEffect } from './payment.js';
import type {
  CommittedEvent,
  EventStore,
  Payout,
  VoteLog,
  VoteOutcome,
  VoteRequest,
  WitnessStore,
} from './ports.js';
import {
  parseQuorumCertificate,
  type QuorumCertificate,
  verifyQuorumCertificate,
} from './quorum-certificate.js';
import { signCheckpoint } from './tlog-checkpoint.js';
import type { NoteSigner } from './tlog-note.js';
import { readTile } from './tlog-tiles.js';
import { applyWitnessResponse, formatAddCheckpointRequest, Witness } from './tlog-witness.js';

/** Options of {@link EventOperator.open}. */
export interface EventOperatorOptions {
  /** The operator's key for its log's checkpoints; its name is the log origin. */
  readonly logSigner: NoteSigner;
  /** The key it cosigns peers' checkpoints with (tlog-cosignature); enables `addCheckpoint`. */
  readonly witnessSigner?: NoteSigner;
  readonly network: EventNetwork;
  readonly machines: MachineRegistry;
  readonly events: EventStore;
  readonly votes: VoteLog;
  readonly witnessStore?: WitnessStore;
  /** External checks named by machine rules (e.g. payment.ts `paymentChecks`). */
  readonly checks?: Readonly<Record<string, ExternalCheck>>;
  /** Releases settled invoices after their commit (idempotent). */
  readonly payments?: PaymentAdapter;
  /** Reaches a peer to catch up on events committed while this operator was away. */
  readonly peer?: (operator: NetworkOperator) => OperatorApi;
  /**
   * Least time between two checkpoint signatures (default 0). Whatever it is, signing is paced
   * to take at most 1/{@link SIGNING_SPACING} of the time under steady load however the votes
   * trickle in, while an operator that signs now and then signs the first pending vote's
   * checkpoint at once (no fixed window to wait out)…
   */
  readonly batchDelayMs?: number;
  /** …and as soon as this many votes wait, it signs without waiting (default 256). */
  readonly batchLeaves?: number;
  readonly now?: () => Date;
  /** Allowed lead of an event's time over this operator's clock (default 10 min). */
  readonly maxClockSkewMs?: number;
  /**
   * Ask the other operators to cosign each new checkpoint (tlog-witness), at most this often
   * (default 1,000 ms; 0 turns witnessing off). Needs `peer`.
   */
  readonly witnessIntervalMs?: number;
  /** Called with errors of background work (witnessing, releases) that have no caller. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** An entry of a commit whose QC verified. */
interface Committing {
  readonly i: number;
  readonly event: ChainEvent;
  readonly hash: string;
  readonly qc: QuorumCertificate;
  /** Its RFC 8785 form: what is stored. */
  readonly qcText: string;
}

/** A submitted event that parsed: its position in the request, the event and its hash. */
interface Parsed {
  readonly i: number;
  readonly event: ChainEvent;
  readonly hash: string;
}

/** A vote recorded for a parsed event. */
interface Voted {
  readonly p: Parsed;
  readonly outcome: VoteOutcome;
}

/** One submit request waiting for its group's serial turn. */
interface VoteRequestGroup {
  readonly parsed: readonly Parsed[];
  readonly answers: VoteAnswer[];
  resolve(voted: Voted[]): void;
  reject(error: unknown): void;
}

/** One commit request waiting for its group's serial turn. */
interface CommitRequestGroup {
  readonly parsed: readonly Committing[];
  resolve(answers: CommitAnswer[]): void;
  reject(error: unknown): void;
}

interface Pending {
  readonly index: number;
  resolve(receipt: OperatorReceipt): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 1_000;

/** Anchored checkpoints an operator serves (the newest). */
const ANCHORS_KEPT = 16;
/** A peer whose cosigning fails the same way again within this time is not reported again. */
const WITNESS_REPORT_QUIET_MS = 60_000;

/** Under steady load checkpoint signing takes at most 1/SIGNING_SPACING of the time (see `batchDelayMs`). */
export const SIGNING_SPACING = 4;

/**
 * One operator. Open it over its stores, serve it (`@omt/adapters/http` `createOperatorHandler`),
 * close it to flush the pending batch.
 * @example
 * ```ts
 * const op = await EventOperator.open({ logSigner, network, machines, events, votes });
 * const [answer] = await op.submit([signedEvent]);
 * ```
 */
export class EventOperator implements OperatorApi {
  readonly name: string;
  readonly #o: EventOperatorOptions;
  readonly #tree: MerkleTree;
  readonly #env: MachineEnv;
  readonly #started = Date.now();
  readonly #states = new Map<string, ChainState | undefined>();
  #serial: Promise<unknown> = Promise.resolve();
  #anchors: AnchoredCheckpoint[] = [];
  /** Events this operator validated for its vote: hash → the head it extended and the result. */
  readonly #validated = new Map<string, { prev: string | null; state: ChainState; event: ChainEvent }>();
  readonly #witness: Witness | undefined;
  #pending: Pending[] = [];
  #voteQueue: VoteRequestGroup[] = [];
  /** When the last checkpoint signature started (performance.now()) and what it took (ms). */
  #lastSignAt = Number.NEGATIVE_INFINITY;
  #signMs = 0;
  /** Signing time (ms) not yet drained from the bucket, as of `#signDebtAt`. */
  #signDebt = 0;
  #signDebtAt = 0;
  #commitQueue: CommitRequestGroup[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #checkpoint: { size: number; note: string };
  /** The latest checkpoint with the cosignatures collected from peers (what `/checkpoint` serves). */
  #cosigned: { size: number; note: string } | undefined;
  /** Per peer: the size it last cosigned (tlog-witness `old`). */
  readonly #witnessed = new Map<string, number>();
  /** Per peer: why its latest cosigning attempt failed (cleared when one succeeds). */
  readonly #witnessErrors = new Map<string, { code: string; message: string; at: string }>();
  /** Per peer, the last cosigning failure reported to `onBackgroundError` (code, epoch ms). */
  readonly #witnessReported = new Map<string, { code: string; at: number }>();
  #witnessTimer: ReturnType<typeof setInterval> | undefined;
  #witnessing = false;
  #closed = false;
  /**
   * Whether the stored log may hold leaves the in-memory tree lacks (another writer of the vote
   * log, or a vote whose index did not follow the tree): the next checkpoint reads them first.
   * Otherwise the tree grows with this operator's own votes and signing reads nothing.
   */
  #treeLags = false;

  private constructor(o: EventOperatorOptions, tree: MerkleTree, checkpoint: { size: number; note: string }) {
    this.#o = o;
    this.name = o.logSigner.name;
    this.#tree = tree;
    this.#checkpoint = checkpoint;
    this.#env = {
      authorities: authorityKeyIds(o.network),
      ...(o.now === undefined ? {} : { now: o.now }),
      ...(o.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: o.maxClockSkewMs }),
    };
    this.#witness =
      o.witnessSigner === undefined || o.witnessStore === undefined
        ? undefined
        : new Witness({
            signer: o.witnessSigner,
            store: o.witnessStore,
            logs: o.network.operators.filter((p) => p.name !== this.name).map((p) => p.logKey),
          });
  }

  /** Loads the log from `votes`, re-signs a checkpoint if the stored one lags (after a crash). */
  static async open(options: EventOperatorOptions): Promise<EventOperator> {
    const me = options.network.operators.find((p) => p.name === options.logSigner.name);
    if (me === undefined)
      throw new OmtError(
        'ledger.operator.invalid',
        `operator ${options.logSigner.name} is not in the network file`,
      );
    if (me.logKey !== options.logSigner.vkey)
      throw new OmtError(
        'ledger.operator.invalid',
        `the log key of ${me.name} does not match the network file`,
      );
    const size = await options.votes.size();
    const hashes: Uint8Array[] = [];
    for (let from = 0; from < size; from += 10_000)
      hashes.push(...(await options.votes.leafHashes(from, Math.min(size, from + 10_000))));
    const tree = MerkleTree.fromLeafHashes(hashes);
    const latest = await options.votes.latestCheckpoint();
    const op = new EventOperator(options, tree, latest ?? { size: -1, note: '' });
    if (latest === undefined || latest.size !== size) await op.#signCheckpoint();
    // Anchored checkpoints the log kept (newest 16): served again after a restart.
    for (const text of (await options.votes.anchors?.(ANCHORS_KEPT)) ?? []) {
      try {
        op.#anchors.unshift(parseAnchoredCheckpoint(JSON.parse(text)));
      } catch (e) {
        options.onBackgroundError?.(e);
      }
    }
    const every = options.witnessIntervalMs ?? 1_000;
    if (every > 0 && options.peer !== undefined) {
      op.#witnessTimer = setInterval(() => void op.#collectCosignatures(), every);
      (op.#witnessTimer as { unref?: () => void }).unref?.();
    }
    return op;
  }

  // ─── voting ────────────────────────────────────────────────────────────────────────────────

  /**
   * Validates each event against this operator's committed head and the machines, then records
   * the votes of the whole batch in one `voteMany`, and answers each with its receipt once the
   * batch's checkpoint is signed. Validation and voting run in the operator's serial section (a
   * stable head); waiting for the checkpoint does not.
   */
  async submit(events: readonly unknown[]): Promise<VoteAnswer[]> {
    this.#open();
    if (!Array.isArray(events) || events.length > MAX_BATCH)
      throw new OmtError('ledger.operator.invalid', `submit takes at most ${MAX_BATCH} events`);
    const answers: VoteAnswer[] = new Array(events.length);
    const parsed: Parsed[] = [];
    events.forEach((input, i) => {
      try {
        const event = parseEvent(input);
        parsed.push({ i, event, hash: eventHash(event) });
      } catch (e) {
        answers[i] = refused(undefined, e);
      }
    });
    const voted = await this.#voteGrouped(parsed, answers).catch((e) => {
      for (const p of parsed) answers[p.i] ??= refused(p.hash, e);
      return [];
    });
    await Promise.all(
      voted.map(async ({ p, outcome }) => {
        try {
          const receipt = await this.#receipt(outcome.index);
          answers[p.i] =
            outcome.status === 'conflict'
              ? {
                  ok: false,
                  hash: p.hash,
                  code: 'ledger.event.conflict',
                  message: `${this.name} already voted for another event at height ${p.event.height} of ${p.event.chain}`,
                  voted: outcome.voted,
                  receipt,
                }
              : { ok: true, hash: p.hash, receipt };
        } catch (e) {
          answers[p.i] = refused(p.hash, e);
        }
      }),
    );
    return answers;
  }

  /**
   * Group commit of votes: requests that arrive while the serial section is busy are validated
   * and voted together, in arrival order, in one serial turn and one `voteMany` (per 1,000
   * events) — so many small concurrent requests cost what one batch costs. Outcomes are those of
   * handling the requests one after another (`voteMany` records in order).
   */
  #voteGrouped(parsed: readonly Parsed[], answers: VoteAnswer[]): Promise<Voted[]> {
    return new Promise<Voted[]>((resolve, reject) => {
      this.#voteQueue.push({ parsed, answers, resolve, reject });
      if (this.#voteQueue.length === 1) this.#serially(() => this.#drainVotes()).catch(() => undefined);
    });
  }

  async #drainVotes(): Promise<void> {
    const group = this.#voteQueue;
    this.#voteQueue = [];
    try {
      const all = group.flatMap((g) => g.parsed.map((p) => ({ g, p })));
      await this.#prefetchStates(all.map(({ p }) => p.event.chain));
      const refusals = await Promise.all(
        all.map(({ p }) => this.#validateForVote(p.event, p.hash).catch((e) => refused(p.hash, e))),
      );
      const toVote = all.filter((x, k) => {
        const r = refusals[k];
        if (r !== undefined) x.g.answers[x.p.i] = r;
        return r === undefined;
      });
      const results = new Map(group.map((g) => [g, [] as Voted[]]));
      const at = this.#now();
      for (let from = 0; from < toVote.length; from += MAX_BATCH) {
        const chunk = toVote.slice(from, from + MAX_BATCH);
        const requests = chunk.map(({ p }) => ({
          chain: p.event.chain,
          height: p.event.height,
          hash: p.hash,
          leaf: voteLeaf(p.event.chain, p.event.height, p.hash),
          at,
        }));
        const outcomes = await this.#o.votes.voteMany(requests);
        for (const [k, x] of chunk.entries()) {
          const outcome = outcomes[k] as VoteOutcome;
          if (outcome.status === 'new') {
            if (!this.#treeLags && outcome.index === this.#tree.size)
              this.#tree.appendLeafHash(hashLeaf((requests[k] as VoteRequest).leaf));
            else this.#treeLags = true;
          }
          results.get(x.g)?.push({ p: x.p, outcome });
        }
      }
      for (const g of group) g.resolve(results.get(g) ?? []);
    } catch (e) {
      for (const g of group) g.reject(e);
    }
  }

  /** Undefined when the operator may vote for the event; else the refusal. */
  async #validateForVote(event: ChainEvent, hash: string): Promise<VoteAnswer | undefined> {
    let state = await this.#state(event.chain);
    const head = state?.height ?? -1;
    if (event.height <= head) {
      // Already committed at its height: the same event gets its vote's receipt again.
      const committed = await this.#o.events.get(event.chain, event.height);
      if (committed !== undefined && committed.hash !== hash)
        return {
          ok: false,
          hash,
          code: 'ledger.event.conflict',
          message: `height ${event.height} of ${event.chain} is committed to another event`,
          voted: committed.hash,
        };
      return undefined;
    }
    if (event.height > head + 1) {
      await this.#catchUp(event.chain, event.height - 1);
      state = await this.#state(event.chain);
    }
    const machine = this.#o.machines.findMachine(event.machine);
    if (machine === undefined)
      return { ok: false, hash, code: 'ledger.machine.unknown', message: `unknown machine ${event.machine}` };
    const r = await applyEvent(machine, state, event, this.#env);
    if (!r.ok) return statusAnswer(hash, r.statuses);
    if (this.#o.checks !== undefined) {
      const ext = await checkEventExternal(machine, state, event, {
        checks: this.#o.checks,
        ...(this.#env.authorities === undefined ? {} : { authorities: this.#env.authorities }),
      });
      if (ext.length > 0) return statusAnswer(hash, ext);
    }
    // Remember the outcome: the commit of this event over the same head reuses it.
    if (this.#validated.size >= 100_000) this.#validated.clear();
    this.#validated.set(hash, { prev: state?.head ?? null, state: r.state, event: r.event });
    return undefined;
  }

  /** A receipt for leaf `index`: waits for the batch checkpoint that covers it. */
  #receipt(index: number): Promise<OperatorReceipt> {
    if (index < this.#checkpoint.size) return Promise.resolve(this.#receiptAt(index));
    return new Promise<OperatorReceipt>((resolve, reject) => {
      this.#pending.push({ index, resolve, reject });
      const max = this.#o.batchLeaves ?? 256;
      if (this.#pending.length >= max) this.#flushSoon(0);
      else this.#flushSoon(this.#spacing());
    });
  }

  #receiptAt(index: number): OperatorReceipt {
    const size = this.#checkpoint.size;
    return {
      operator: this.name,
      index,
      checkpoint: this.#checkpoint.note,
      proof: this.#tree.inclusionProof(index, size).map(toBase64),
    };
  }

  #flushSoon(delayMs: number): void {
    if (this.#timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flushing.then(() => this.#flush());
    }, delayMs);
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    try {
      await this.#signCheckpoint();
      const later: Pending[] = [];
      for (const p of batch) {
        if (p.index < this.#checkpoint.size) p.resolve(this.#receiptAt(p.index));
        else later.push(p);
      }
      if (later.length > 0) {
        this.#pending.push(...later);
        this.#flushSoon(this.#spacing());
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  /**
   * How long until the next checkpoint may be signed (see `batchDelayMs`): a leaky bucket of
   * signing time that drains at 1/{@link SIGNING_SPACING} ms per ms and may hold two signatures'
   * worth — an operator that signs now and then never waits; one under steady load signs at most
   * 1/{@link SIGNING_SPACING} of the time.
   */
  #spacing(): number {
    const now = performance.now();
    const debt = Math.max(0, this.#signDebt - (now - this.#signDebtAt) / SIGNING_SPACING);
    const byBudget = Math.max(0, (debt - 2 * this.#signMs) * SIGNING_SPACING);
    const byDelay = Math.max(0, this.#lastSignAt + (this.#o.batchDelayMs ?? 0) - now);
    return Math.ceil(Math.max(byBudget, byDelay));
  }

  /**
   * Signs a checkpoint for the tree — first extended to the stored log size when that may be
   * ahead of it (see `#treeLags`).
   */
  async #signCheckpoint(): Promise<void> {
    if (this.#treeLags) {
      const stored = await this.#o.votes.size();
      if (stored > this.#tree.size)
        for (const h of await this.#o.votes.leafHashes(this.#tree.size, stored)) this.#tree.appendLeafHash(h);
      this.#treeLags = false;
    }
    const size = this.#tree.size;
    if (size === this.#checkpoint.size) return;
    const started = performance.now();
    const note = await signCheckpoint({ origin: this.name, size, root: this.#tree.root(size) }, [
      this.#o.logSigner,
    ]);
    const ended = performance.now();
    this.#lastSignAt = started;
    this.#signMs = ended - started;
    // The bucket holds at most this signature and two more of its cost: debt left by slower
    // signatures before (a cold start: the first signature loads and compiles the signer, which
    // can take a thousand times longer) would otherwise hold the next checkpoints back for seconds.
    this.#signDebt = Math.min(
      3 * this.#signMs,
      Math.max(0, this.#signDebt - (ended - this.#signDebtAt) / SIGNING_SPACING) + this.#signMs,
    );
    this.#signDebtAt = ended;
    await this.#o.votes.saveCheckpoint(size, note, this.#now());
    if (size > this.#checkpoint.size) this.#checkpoint = { size, note };
  }

  // ─── committing ────────────────────────────────────────────────────────────────────────────

  /**
   * Stores each event whose quorum certificate verifies and that extends this operator's chain,
   * in one `appendMany` (events of one chain in height order), and answers each.
   */
  async commit(entries: readonly CommittedEntry[]): Promise<CommitAnswer[]> {
    this.#open();
    if (!Array.isArray(entries) || entries.length > MAX_BATCH)
      throw new OmtError('ledger.operator.invalid', `commit takes at most ${MAX_BATCH} entries`);
    const answers: CommitAnswer[] = new Array(entries.length);
    const parsed: Committing[] = [];
    await Promise.all(
      entries.map(async (entry, i) => {
        let hash: string | undefined;
        try {
          if (typeof entry !== 'object' || entry === null)
            throw new OmtError('ledger.event.malformed', 'a commit entry is {event, qc}');
          const known = this.#knownEvent(entry.event);
          const event = known?.event ?? parseEvent(entry.event);
          hash = known?.hash ?? eventHash(event);
          const qc = parseQuorumCertificate(entry.qc);
          const qcText = canonicalize(qc);
          const bad = await this.#checkQc(event, hash, qc);
          if (bad !== undefined) answers[i] = bad;
          else parsed.push({ i, event, hash, qc, qcText });
        } catch (e) {
          answers[i] = refused(hash, e) as CommitAnswer;
        }
      }),
    );
    try {
      const stored = parsed.length === 0 ? [] : await this.#commitGrouped(parsed);
      stored.forEach((a, k) => {
        answers[(parsed[k] as Committing).i] = a;
      });
    } catch (e) {
      for (const p of parsed) answers[p.i] ??= refused(p.hash, e) as CommitAnswer;
    }
    return answers;
  }

  /**
   * Group commit of commits, as {@link EventOperator.submit} groups votes: requests waiting for the
   * serial section are stored together by one `#storeBatch` (one `appendMany` per 1,000 events).
   * Each request's answers are those of its own entries.
   */
  #commitGrouped(parsed: readonly Committing[]): Promise<CommitAnswer[]> {
    return new Promise<CommitAnswer[]>((resolve, reject) => {
      this.#commitQueue.push({ parsed, resolve, reject });
      if (this.#commitQueue.length === 1) this.#serially(() => this.#drainCommits()).catch(() => undefined);
    });
  }

  async #drainCommits(): Promise<void> {
    const group = this.#commitQueue;
    this.#commitQueue = [];
    try {
      const all = group.flatMap((g) => g.parsed);
      const answers: CommitAnswer[] = [];
      for (let from = 0; from < all.length; from += MAX_BATCH)
        answers.push(...(await this.#storeBatch(all.slice(from, from + MAX_BATCH), true)));
      let k = 0;
      for (const g of group) {
        g.resolve(answers.slice(k, k + g.parsed.length));
        k += g.parsed.length;
      }
    } catch (e) {
      for (const g of group) g.reject(e);
    }
  }

  /**
   * The event this operator validated for its vote, found by the hash of what a commit sent: no
   * schema parse for the usual commit (the same hash is the same unsigned event, and the copy kept
   * carries the signatures verified then). Undefined when it is not one of those, or the value
   * does not even hash (the full parse then reports why).
   */
  #knownEvent(value: unknown): { event: ChainEvent; hash: string } | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    let hash: string;
    try {
      hash = eventHash(value as ChainEvent);
    } catch {
      return undefined;
    }
    const seen = this.#validated.get(hash);
    return seen === undefined ? undefined : { event: seen.event, hash };
  }

  /** Undefined when the QC is for this event and verifies; else the refusal. */
  async #checkQc(event: ChainEvent, hash: string, qc: QuorumCertificate): Promise<CommitAnswer | undefined> {
    if (qc.event !== hash || qc.chain !== event.chain || qc.height !== event.height)
      return {
        ok: false,
        hash,
        code: 'ledger.qc.mismatch',
        message: 'the quorum certificate is for another event',
      };
    // No cache of whole QCs: each is seen about once, and its checkpoints' signatures are cached
    // (operator-receipt.ts), which leaves ~0.1 ms of proof checking per QC.
    const v = await verifyQuorumCertificate(qc, this.#o.network);
    if (!v.ok)
      return {
        ok: false,
        hash,
        code: 'ledger.qc.invalid',
        message: v.statuses.map((s) => s.message).join('; '),
      };
    return undefined;
  }

  /**
   * Stores events whose QC verified (the caller holds the serial section). Events of one chain
   * are applied in height order; a gap is filled from peers first when `catchUp` is allowed.
   */
  async #storeBatch(batch: readonly Committing[], catchUp: boolean): Promise<CommitAnswer[]> {
    const answers: CommitAnswer[] = new Array(batch.length);
    const order = batch
      .map((p, k) => ({ p, k }))
      .sort((a, b) =>
        a.p.event.chain < b.p.event.chain
          ? -1
          : a.p.event.chain > b.p.event.chain
            ? 1
            : a.p.event.height - b.p.event.height,
      );
    const after = new Map<string, ChainState | undefined>();
    const items: { event: CommittedEvent; payouts: readonly Payout[] }[] = [];
    const meta: { k: number; p: Committing; state: ChainState; effect: ReturnType<typeof paymentEffect> }[] =
      [];
    const now = this.#now();
    /** `${chain}\n${height}` → the position in `meta` of the item this batch appends there. */
    const queued = new Map<string, number>();
    /** Repeats of a queued event (the same event committed by two requests): answered as it is. */
    const repeats: { k: number; of: number }[] = [];
    for (const { p, k } of order) {
      const { event, hash } = p;
      try {
        const at = queued.get(`${event.chain}\n${event.height}`);
        if (at !== undefined) {
          if ((meta[at] as (typeof meta)[number]).p.hash === hash) repeats.push({ k, of: at });
          else
            answers[k] = {
              ok: false,
              hash,
              code: 'ledger.event.conflict',
              message: `height ${event.height} of ${event.chain} is being committed with another event`,
            };
          continue;
        }
        let state = after.has(event.chain) ? after.get(event.chain) : await this.#state(event.chain);
        let head = state?.height ?? -1;
        if (event.height <= head) {
          const existing = await this.#o.events.get(event.chain, event.height);
          answers[k] =
            existing?.hash === hash
              ? { ok: true, hash, status: 'exists' }
              : {
                  ok: false,
                  hash,
                  code: 'ledger.event.conflict',
                  message: `height ${event.height} of ${event.chain} holds another committed event`,
                };
          continue;
        }
        if (event.height > head + 1 && catchUp && !after.has(event.chain)) {
          await this.#catchUp(event.chain, event.height - 1);
          state = await this.#state(event.chain);
          head = state?.height ?? -1;
        }
        if (event.height !== head + 1) {
          answers[k] = {
            ok: false,
            hash,
            code: 'ledger.event.out-of-order',
            message: `${this.name} lacks heights before ${event.height} of ${event.chain}`,
          };
          continue;
        }
        const machine = this.#o.machines.getMachine(event.machine);
        let next: ChainState;
        let applied: ChainEvent = event;
        const seen = this.#validated.get(hash);
        if (seen !== undefined && seen.prev === (state?.head ?? null)) {
          next = seen.state;
          applied = seen.event;
        } else {
          // The time was checked against the clock when the operators voted; a late commit
          // (catch-up) must not be refused because the clock moved on.
          const r = await applyEvent(machine, state, event, {
            ...this.#env,
            maxClockSkewMs: Number.MAX_SAFE_INTEGER,
            now: new Date(8.64e15),
          });
          if (!r.ok) {
            answers[k] = statusAnswer(hash, r.statuses) as CommitAnswer;
            continue;
          }
          next = r.state;
          applied = r.event;
        }
        items.push({
          event: {
            chain: event.chain,
            height: event.height,
            hash,
            prev: event.prev,
            machine: event.machine,
            type: event.type,
            event: canonicalize(event),
            qc: p.qcText,
            state: canonicalize(next),
            committedAt: now,
          },
          payouts: eventPayouts(machine, state, applied),
        });
        queued.set(`${event.chain}\n${event.height}`, meta.length);
        meta.push({ k, p, state: next, effect: paymentEffect(machine, state, applied) });
        after.set(event.chain, next);
      } catch (e) {
        answers[k] = refused(hash, e) as CommitAnswer;
      }
    }
    const outcomes = items.length === 0 ? [] : await this.#o.events.appendMany(items);
    meta.forEach(({ k, p, state, effect }, j) => {
      const outcome = outcomes[j];
      if (outcome === 'appended' || outcome === 'exists') {
        answers[k] = { ok: true, hash: p.hash, status: outcome };
        this.#states.set(p.event.chain, state);
        this.#validated.delete(p.hash);
        // Money moves only after the commit. Every operator makes the (idempotent) call, so one
        // operator crashing between its commit and the call is covered by the others.
        const payments = this.#o.payments;
        if (outcome === 'appended' && effect !== undefined && payments !== undefined) {
          const done =
            effect.kind === 'release'
              ? payments.release(effect.invoice, effect.payouts)
              : payments.refund(effect.invoice);
          done.catch((e) => this.#o.onBackgroundError?.(e));
        }
      } else {
        const error = (outcome as { error?: { code: string; message: string } } | undefined)?.error;
        answers[k] = {
          ok: false,
          hash: p.hash,
          code: error?.code ?? 'ledger.operator.internal',
          message: error?.message ?? 'not stored',
        };
        this.#states.delete(p.event.chain);
      }
    });
    for (const { k, of } of repeats) {
      const first = answers[(meta[of] as (typeof meta)[number]).k] as CommitAnswer;
      answers[k] = first.ok ? { ok: true, hash: first.hash, status: 'exists' } : first;
    }
    return answers;
  }

  /**
   * Fetches and commits heights up to `height` from peers, each verified by its QC (the caller
   * holds the serial section).
   */
  async #catchUp(chain: string, height: number): Promise<void> {
    const peer = this.#o.peer;
    if (peer === undefined) return;
    for (const p of this.#o.network.operators) {
      if (p.name === this.name) continue;
      const have = (await this.#state(chain))?.height ?? -1;
      if (have >= height) return;
      try {
        const view = await peer(p).chain(chain, { fromHeight: have + 1 });
        const batch: Committing[] = [];
        for (const [i, entry] of view.events.entries()) {
          const event = parseEvent(entry.event);
          if (event.height > height) break;
          const hash = eventHash(event);
          const qc = parseQuorumCertificate(entry.qc);
          const qcText = canonicalize(qc);
          if ((await this.#checkQc(event, hash, qc)) !== undefined) break;
          batch.push({ i, event, hash, qc, qcText });
        }
        await this.#storeBatch(batch, false);
      } catch (e) {
        this.#o.onBackgroundError?.(e);
      }
    }
  }

  // ─── reading ───────────────────────────────────────────────────────────────────────────────

  async chain(chain: string, options: { readonly fromHeight?: number } = {}): Promise<ChainView> {
    this.#open();
    const head = await this.#o.events.head(chain);
    const list = await this.#o.events.list(chain, { fromHeight: options.fromHeight ?? 0, limit: 1000 });
    return {
      chain,
      height: head?.height ?? -1,
      events: list.map((e) => ({ event: JSON.parse(e.event) as unknown, qc: JSON.parse(e.qc) as unknown })),
      checkpoint: this.#checkpoint.note,
      ...(this.#anchors.length === 0 ? {} : { anchors: [...this.#anchors] }),
    };
  }

  /**
   * Records an anchored checkpoint of this operator's own log (published through the publishing
   * pipeline; checkpoint-anchor.ts) so chain views carry it to clients. The checkpoint must be
   * signed by this operator's log key and the proof must be about it; whether the proof holds up
   * to a block header is for clients to check with the headers they trust. Serves the newest 16;
   * the vote log keeps them across restarts when it can (`VoteLog.saveAnchor`: the memory and
   * SQL logs do).
   */
  async addAnchor(anchored: AnchoredCheckpoint): Promise<void> {
    const a = parseAnchoredCheckpoint(anchored);
    const v = await verifyCheckpointAnchor(a, this.#o.logSigner.vkey, { headers: () => undefined });
    const fatal = v.statuses.filter(
      (x) =>
        x.code === 'ledger.anchor.checkpoint-invalid' ||
        x.code === 'ledger.anchor.record-mismatch' ||
        x.code === 'ledger.anchor.schema',
    );
    if (fatal.length > 0)
      throw new OmtError(fatal[0]?.code ?? 'ledger.anchor.schema', fatal.map((x) => x.message).join('; '));
    if (v.size === undefined)
      throw new OmtError('ledger.anchor.checkpoint-invalid', 'the anchored checkpoint has no size');
    await this.#o.votes.saveAnchor?.(v.size, JSON.stringify(a), this.#now());
    this.#anchors = [...this.#anchors.filter((x) => x.checkpoint !== a.checkpoint), a].slice(-ANCHORS_KEPT);
  }

  /** The anchored checkpoints this operator serves (the newest 16), oldest first. */
  anchors(): readonly AnchoredCheckpoint[] {
    return [...this.#anchors];
  }

  /** The latest signed checkpoint, with the peers' cosignatures when they cosigned that size. */
  async checkpoint(): Promise<string> {
    const c = this.#cosigned;
    return c !== undefined && c.size === this.#checkpoint.size ? c.note : this.#checkpoint.note;
  }

  /**
   * Witness-style cosigning: sends the latest checkpoint to every peer's `add-checkpoint` with a
   * consistency proof from the size that peer last cosigned, and keeps the cosignature lines that
   * verify under the peers' witness keys (tlog-witness; a 409 answer tells the size to use).
   */
  async #collectCosignatures(): Promise<void> {
    const peer = this.#o.peer;
    if (this.#witnessing || this.#closed || peer === undefined) return;
    const { size, note } = this.#checkpoint;
    if (size <= 0 || this.#cosigned?.size === size) return;
    this.#witnessing = true;
    try {
      const peers = this.#o.network.operators.filter((p) => p.name !== this.name);
      const answers = await Promise.all(
        peers.map(async (p) => {
          const api = peer(p);
          if (api.addCheckpoint === undefined) return undefined;
          try {
            for (let attempt = 0; attempt < 2; attempt++) {
              const old = Math.min(this.#witnessed.get(p.name) ?? 0, size);
              const proof = old === 0 || old === size ? [] : this.#tree.consistencyProof(old, size);
              const res = await api.addCheckpoint(
                formatAddCheckpointRequest({ oldSize: old, proof, checkpoint: note }),
              );
              if (res.status === 200) {
                this.#witnessed.set(p.name, size);
                return { key: p.witnessKey, body: res.body, peer: p.name };
              }
              if (res.status !== 409 || !/^\d{1,15}\n?$/.test(res.body)) {
                this.#witnessFailed(
                  p.name,
                  'ledger.witness.refused',
                  `HTTP ${res.status}: ${res.body.slice(0, 200)}`,
                );
                return undefined;
              }
              this.#witnessed.set(p.name, Number(res.body.trim()));
            }
            this.#witnessFailed(
              p.name,
              'ledger.witness.refused',
              'the size it asked for did not settle in 2 attempts',
            );
          } catch (e) {
            this.#witnessThrew(p.name, e, 'ledger.operator.unavailable');
          }
          return undefined;
        }),
      );
      let cosigned = note;
      for (const a of answers) {
        if (a === undefined) continue;
        try {
          cosigned = await applyWitnessResponse(cosigned, a.body, [a.key]);
          this.#witnessErrors.delete(a.peer);
        } catch (e) {
          this.#witnessThrew(a.peer, e, 'ledger.witness.invalid');
        }
      }
      if (this.#checkpoint.size === size) this.#cosigned = { size, note: cosigned };
    } finally {
      this.#witnessing = false;
    }
  }

  #witnessFailed(peer: string, code: string, message: string): void {
    this.#witnessErrors.set(peer, { code, message, at: this.#now().toISOString() });
  }

  /**
   * A cosigning step that threw: recorded for `status()` (its OmtError code, else `code`), and
   * reported to `onBackgroundError` when the peer starts failing or fails otherwise than before —
   * not again every round, and not again for a peer that flaps between cosigning and failing the
   * same way (a busy peer timing out now and then) within a minute of the last report.
   */
  #witnessThrew(peer: string, e: unknown, code: string): void {
    const before = this.#witnessErrors.get(peer)?.code;
    const now = e instanceof OmtError ? e.code : code;
    this.#witnessFailed(peer, now, e instanceof Error ? e.message : String(e));
    if (before === now) return;
    const at = this.#now().getTime();
    const last = this.#witnessReported.get(peer);
    if (last !== undefined && last.code === now && at - last.at < WITNESS_REPORT_QUIET_MS) return;
    this.#witnessReported.set(peer, { code: now, at });
    this.#o.onBackgroundError?.(e);
  }

  async consistency(from: number, to: number): Promise<string[]> {
    if (
      !Number.isSafeInteger(from) ||
      !Number.isSafeInteger(to) ||
      from < 1 ||
      from > to ||
      to > this.#tree.size
    )
      throw new OmtError(
        'ledger.log.invalid',
        `no consistency proof from ${from} to ${to} (log size ${this.#tree.size})`,
      );
    return this.#tree.consistencyProof(from, to).map(toBase64);
  }

  async consistencyMany(froms: readonly number[], to: number): Promise<string[][]> {
    if (!Array.isArray(froms) || froms.length > 256)
      throw new OmtError('ledger.log.invalid', 'at most 256 consistency proofs per call');
    return Promise.all(froms.map((from) => this.consistency(from, to)));
  }

  async status(): Promise<OperatorStatus> {
    const chains = await this.#o.events.chains({ limit: 1000 });
    return {
      name: this.name,
      logSize: this.#checkpoint.size,
      chains: chains.length,
      uptimeMs: Date.now() - this.#started,
      ...(this.#o.peer === undefined
        ? {}
        : {
            witness: this.#o.network.operators
              .filter((p) => p.name !== this.name)
              .map((p) => {
                const lastError = this.#witnessErrors.get(p.name);
                return {
                  peer: p.name,
                  cosignedSize: this.#witnessed.get(p.name) ?? 0,
                  ...(lastError === undefined ? {} : { lastError }),
                };
              }),
          }),
    };
  }

  /** A tlog-tiles resource of this log at its latest checkpoint. */
  async tile(path: string): Promise<Uint8Array | undefined> {
    return readTile(path, {
      size: this.#checkpoint.size,
      hashAt: (level: number, index: number) => this.#tree.nodeHash(level, index),
      leaves: (from: number, to: number) => this.#o.votes.leaves(from, to),
    });
  }

  /** tlog-witness `add-checkpoint`: cosign a peer's checkpoint. */
  async addCheckpoint(body: string): Promise<{ status: number; body: string; contentType: string }> {
    if (this.#witness === undefined)
      return {
        status: 404,
        body: 'this operator is not a witness\n',
        contentType: 'text/plain; charset=utf-8',
      };
    return this.#witness.addCheckpoint(body);
  }

  /** Signs the pending batch and stops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#witnessTimer !== undefined) clearInterval(this.#witnessTimer);
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#flushing = this.#flushing.then(() => this.#flush());
    }
    await this.#flushing;
    this.#closed = true;
  }

  // ─── helpers ───────────────────────────────────────────────────────────────────────────────

  #open(): void {
    if (this.#closed) throw new OmtError('ledger.operator.closed', `operator ${this.name} is closed`);
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  /**
   * Loads the committed state of the chains not yet remembered with one `heads` call per 1,000
   * (when the store has it), instead of a `head` lookup per chain.
   */
  async #prefetchStates(chains: readonly string[]): Promise<void> {
    const store = this.#o.events;
    if (store.heads === undefined) return;
    const unknown = [...new Set(chains)].filter((c) => !this.#states.has(c));
    if (unknown.length < 2) return;
    for (let from = 0; from < unknown.length; from += MAX_BATCH) {
      const chunk = unknown.slice(from, from + MAX_BATCH);
      const found = await store.heads(chunk);
      // A chain a commit remembered meanwhile keeps that newer state.
      for (const chain of chunk) if (!this.#states.has(chain)) this.#remember(chain, found.get(chain));
    }
  }

  async #state(chain: string): Promise<ChainState | undefined> {
    if (this.#states.has(chain)) return this.#states.get(chain);
    return this.#remember(chain, await this.#o.events.head(chain));
  }

  /** Remembers a chain's committed state from its stored head (none: no events yet). */
  #remember(chain: string, head: CommittedEvent | undefined): ChainState | undefined {
    const state = head === undefined ? undefined : (JSON.parse(head.state) as ChainState);
    if (this.#states.size > 100_000) this.#states.clear();
    this.#states.set(chain, state);
    return state;
  }

  /** Runs `fn` after every earlier serial call of this operator (validation needs a stable head). */
  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => undefined);
    return run;
  }
}

function statusAnswer(hash: string, statuses: readonly { code: string; message: string }[]): VoteAnswer {
  const first = statuses[0] ?? { code: 'ledger.event.invalid', message: 'refused' };
  return { ok: false, hash, code: first.code, message: statuses.map((s) => s.message).join('; ') };
}

function refused(hash: string | undefined, e: unknown): VoteAnswer {
  if (isOmtError(e)) return { ok: false, hash, code: e.code, message: e.message };
  return { ok: false, hash, code: 'ledger.operator.internal', message: 'internal error' };
}
