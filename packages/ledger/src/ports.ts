/**
 * Ports declared by @omt/ledger (ARCHITECTURE rule 2). Adapters implement them (SQL in
 * `@omt/adapters/sql`; in-memory ones in this package); `@omt/ledger/testing` exports a
 * contract test suite for each, run by every implementation.
 *
 * Conventions shared by every port here:
 * - identifiers are plain strings (`keyId` is lower-case hex SHA-256 of the signer's public key,
 *   see key-registry.ts; txids are lower-case hex in display order);
 * - time always comes in as an argument (`now`, `at`): stores never read a clock;
 * - amounts are satoshis as `bigint`;
 * - failures are `OmtError` with `ledger.*` codes, never a silent `false`/`undefined` where the
 *   port says it throws.
 */

/** The key algorithms a registered signer may have (see intent.ts for the signature algorithms). */
export type SignerKeyAlg =
  | 'ES256K'
  | 'Ed25519'
  | 'ML-DSA-44'
  | 'ML-DSA-65'
  | 'ML-DSA-87'
  | 'ML-DSA-44+Ed25519'
  | 'ML-DSA-65+ES256'
  | 'ML-DSA-87+ES384';

/** `active` until revoked; revocation is final. */
export type SignerStatus = 'active' | 'revoked';

/** What a caller registers. */
export interface SignerRegistration {
  /** Lower-case hex SHA-256 of `publicKey` (secp256k1 keys: of the 33-byte compressed form). */
  readonly keyId: string;
  readonly alg: SignerKeyAlg;
  /** Raw public key in the suite's encoding (core suites/suite.ts); secp256k1 compressed. */
  readonly publicKey: Uint8Array;
  /** Signatures made (intent timestamps) before this instant are not accepted. */
  readonly validFrom: Date;
  /** Optional end of validity (exclusive). */
  readonly validUntil?: Date | undefined;
  /** Free text for operators (no secrets); at most 256 characters. */
  readonly label?: string | undefined;
}

/** A registered signer as stored. */
export interface SignerKey extends SignerRegistration {
  readonly status: SignerStatus;
  readonly registeredAt: Date;
  /** Set once revoked. */
  readonly revokedAt?: Date | undefined;
  readonly revocationReason?: string | undefined;
}

/**
 * The signer key registry: which public keys may sign publishing intents.
 * - `register` is idempotent for an identical registration (same keyId, alg, key bytes, validity,
 *   label); a different registration under a known keyId fails with `ledger.signer.conflict`;
 *   registering a revoked key again fails with `ledger.signer.revoked` (revocation is final).
 * - `revoke` of an unknown key fails with `ledger.signer.unknown`; revoking an already revoked key
 *   returns it unchanged (the first revocation time and reason are kept).
 * - `lookup` returns undefined for an unknown key.
 */
export interface KeyRegistry {
  register(registration: SignerRegistration, now: Date): Promise<SignerKey>;
  revoke(keyId: string, at: Date, reason?: string): Promise<SignerKey>;
  lookup(keyId: string): Promise<SignerKey | undefined>;
  /** Every signer, ordered by keyId. */
  list(): Promise<SignerKey[]>;
}

/** One use of a nonce. */
export interface NonceUse {
  /** The signer's keyId. */
  readonly signer: string;
  /** The record's nonce (1–128 characters). */
  readonly nonce: string;
  /** Lower-case hex SHA-256 of the signed record (kept for tracing which intent used it). */
  readonly hash: string;
  /** The record's own timestamp (used by `prune`). */
  readonly timestamp: Date;
}

/**
 * Replay protection: a nonce may be used once per signer, ever (or until pruned, see below).
 * - `consume` is atomic across concurrent callers and processes: for one (signer, nonce) exactly
 *   one call ever returns true; every other returns false.
 * - `has` reports whether (signer, nonce) has been consumed, without consuming it.
 * - `prune(before)` forgets uses whose record timestamp is strictly before `before` and returns
 *   how many it removed. Callers must only prune below `now − allowed clock skew`: intents that
 *   old are refused by their timestamp anyway, so pruning never re-opens a replay.
 */
export interface NonceStore {
  consume(use: NonceUse): Promise<boolean>;
  has(signer: string, nonce: string): Promise<boolean>;
  prune(before: Date): Promise<number>;
}

/** An unspent output the pool may fund transactions from. */
export interface Utxo {
  /** Lower-case hex, display (RPC) byte order. */
  readonly txid: string;
  readonly vout: number;
  readonly satoshis: bigint;
  /** The output's locking script (scriptPubKey). */
  readonly script: Uint8Array;
  /** BIP32 derivation path of the key that can spend it, e.g. `m/0/7` (optional). */
  readonly keyPath?: string | undefined;
}

export type UtxoState = 'available' | 'reserved' | 'spent';

/** A UTXO as the pool holds it. */
export interface PoolUtxo extends Utxo {
  readonly state: UtxoState;
  /** Set while reserved (an expired reservation still shows here until `expire` runs). */
  readonly reservationId?: string | undefined;
  readonly reservedBy?: string | undefined;
  readonly reservedUntil?: Date | undefined;
  /** Set once spent. */
  readonly spentBy?: string | undefined;
}

/** What a worker asks for. */
export interface ReserveRequest {
  /** Caller-chosen unique id (utxo-pool.ts draws 16 random bytes); reusing one fails with `ledger.utxo.reservation-conflict`. */
  readonly id: string;
  /** Who holds the reservation (a worker id; for operators). */
  readonly worker: string;
  /** At least this many satoshis in total (> 0). */
  readonly satoshis: bigint;
  /** Never more inputs than this (≥ 1). */
  readonly maxInputs: number;
  readonly now: Date;
  /** The reservation lapses at now + ttlMs unless spent or released first (> 0). */
  readonly ttlMs: number;
}

/** A granted reservation. */
export interface UtxoReservation {
  readonly id: string;
  readonly worker: string;
  readonly expiresAt: Date;
  readonly utxos: readonly Utxo[];
  readonly total: bigint;
}

/**
 * The UTXO pool's storage. One store instance serves one *pool* (a wallet on one network, named
 * when the adapter is constructed, e.g. `new SqlUtxoStore(db, { pool: 'bsv-main' })`); pools
 * sharing a database never see each other's outputs or reservations. Invariants every implementation keeps (the contract suite checks them):
 * - `reserve` is atomic across concurrent callers and processes: an output is held by at most one
 *   live reservation; it returns undefined (and holds nothing) when the available outputs cannot
 *   cover `satoshis` within `maxInputs`. Outputs whose reservation has lapsed (`reservedUntil ≤
 *   now`) count as available again, whether or not `expire` ran.
 * - `markSpent(id, txid)` moves every output of a reservation to `spent` (final), all or nothing.
 *   It fails with `ledger.utxo.reservation-unknown` when the id does not hold *all* its outputs any
 *   more (released, expired and partly or wholly re-reserved, already spent, or never granted) — so
 *   an output is never spent twice. A lapsed reservation whose outputs nobody took yet may still
 *   be marked spent (its transaction may well be on the wire).
 * - `release(id)` makes the outputs available again; unknown ids are a no-op (idempotent).
 * - `expire(now)` releases every lapsed reservation and returns how many outputs it freed.
 * - `add` ignores outputs already known (by txid:vout) and returns how many were new.
 */
export interface UtxoStore {
  add(utxos: readonly Utxo[]): Promise<number>;
  reserve(request: ReserveRequest): Promise<UtxoReservation | undefined>;
  markSpent(reservationId: string, spendingTxid: string): Promise<void>;
  release(reservationId: string): Promise<void>;
  expire(now: Date): Promise<number>;
  /** Outputs in (txid, vout) order, optionally only those in one state. */
  list(filter?: { readonly state?: UtxoState }): Promise<PoolUtxo[]>;
}

// ---------------------------------------------------------------------------------------------
// Publishing: the job queue (publisher.ts, publish-worker.ts) and chain access.

/** A publishing job's life: `queued → signed → sent → confirmed`, or `failed` after its last attempt. */
export type JobStatus = 'queued' | 'signed' | 'sent' | 'confirmed' | 'failed';

/**
 * A batch transaction's life: `signed` (persisted, not yet handed to a chain client), `stored`
 * (kept by the offline client for later broadcast), `sent`, `confirmed`, or `abandoned` (its
 * reservation was lost or the chain rejected it; its jobs went back to the queue).
 */
export type BatchStatus = 'signed' | 'stored' | 'sent' | 'confirmed' | 'abandoned';

/** What {@link JobQueue.enqueue} takes: a verified intent. */
export interface NewJob {
  /** Caller-chosen unique id (`RESERVATION_ID_RE`); reusing one fails with `ledger.job.conflict`. */
  readonly id: string;
  /** The record's `rid` when it has one, else its hash (lookups go by it). */
  readonly recordId: string;
  /** Lower-case hex H of the record. */
  readonly recordHash: string;
  /** The signer's keyId. */
  readonly keyId: string;
  /** The verified intent as JSON text (kept for lookups and proofs). */
  readonly intent: string;
  /** Attempts before the job is `failed` (≥ 1). */
  readonly maxAttempts: number;
  readonly now: Date;
}

/** A batch transaction as the queue holds it. */
export interface JobBatch {
  readonly id: string;
  readonly status: BatchStatus;
  readonly chain: 'bsv' | 'btc';
  /** Display-order txid. */
  readonly txid: string;
  /** Signed raw transaction, hex. */
  readonly rawTx: string;
  /** The OP_RETURN output's index. */
  readonly vout: number;
  /** The UTXO reservation funding it. */
  readonly reservationId: string;
  /** The change output (index and the wallet key path that spends it), when there is one. */
  readonly change?: { readonly vout: number; readonly keyPath: string } | undefined;
  /** hex RFC 9162 root the OP_RETURN commits to, and the number of records. */
  readonly root: string;
  readonly size: number;
  /** Broadcast attempts so far. */
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastError?: string | undefined;
  /** Set once confirmed: the block height and the BRC-74 BUMP (hex). */
  readonly block?: { readonly height: number; readonly bump: string } | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A batch inclusion proof as stored (same shape as batch.ts `BatchInclusion`). */
export interface StoredInclusion {
  readonly recordHash: string;
  readonly index: number;
  readonly size: number;
  readonly root: string;
  readonly proof: readonly string[];
}

/** A job as the queue holds it. */
export interface PublishJob {
  readonly id: string;
  readonly status: JobStatus;
  readonly recordId: string;
  readonly recordHash: string;
  readonly keyId: string;
  readonly intent: string;
  /** Claims so far (a claim is an attempt). */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** Not claimable before this instant (exponential backoff after a failure). */
  readonly nextAttemptAt: Date;
  readonly lastError?: string | undefined;
  /** The worker holding the job while `queued`, and until when. */
  readonly leaseOwner?: string | undefined;
  readonly leaseUntil?: Date | undefined;
  /** From `signed` on: the record's inclusion proof and its batch. */
  readonly inclusion?: StoredInclusion | undefined;
  readonly batch?: JobBatch | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a worker claims. */
export interface ClaimRequest {
  /** Worker id (`RESERVATION_ID_RE`). */
  readonly worker: string;
  /** At most this many (1–10,000). */
  readonly limit: number;
  readonly now: Date;
  /** The lease lapses at now + leaseMs; the job can then be claimed again (> 0). */
  readonly leaseMs: number;
}

/** A signed batch transaction and the inclusion proof of each of its jobs. */
export interface SignedBatch {
  readonly id: string;
  readonly chain: 'bsv' | 'btc';
  readonly txid: string;
  readonly rawTx: string;
  readonly vout: number;
  readonly reservationId: string;
  readonly change?: { readonly vout: number; readonly keyPath: string } | undefined;
  readonly root: string;
  readonly size: number;
  readonly jobs: readonly { readonly id: string; readonly inclusion: StoredInclusion }[];
}

/** Exponential backoff: retry after min(baseMs × 2^(attempts−1), maxMs). */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The publishing job queue (SQL: `@omt/adapters/sql` `SqlJobQueue`; in memory: `MemoryJobQueue`).
 * Invariants every implementation keeps (`jobQueueContract` checks them):
 * - `claim` is atomic across processes: a `queued` job whose `nextAttemptAt ≤ now` and whose lease
 *   is absent or lapsed goes to exactly one claimer, which holds it until `now + leaseMs`; each
 *   claim counts one attempt. Oldest jobs first.
 * - `markSigned` records a batch and moves its jobs to `signed` in one step, all or nothing, only
 *   while `worker` still holds every job's lease (else `ledger.job.lease-lost`); the batch is then
 *   leased to `worker` for `leaseMs`.
 * - `release` hands claimed jobs back (a failed attempt): `queued` with `nextAttemptAt` per the
 *   retry policy, or `failed` once `attempts ≥ maxAttempts`; jobs the worker no longer holds are
 *   left alone.
 * - `claimBatches` takes `signed` batches whose lease is absent or lapsed and whose
 *   `nextAttemptAt ≤ now` (a worker died, or a broadcast is being retried), leasing them.
 * - `updateBatch` moves a batch (and its jobs) forward: `stored` (jobs stay `signed`), `sent`,
 *   `confirmed` (with the block); a batch never moves backwards (`ledger.job.state`).
 * - `retryBatch` keeps a `signed` batch for another broadcast attempt after the backoff.
 * - `abandonBatch` gives up a batch's transaction: the batch is `abandoned` and its jobs return
 *   to `queued` (or `failed` once out of attempts) without a batch.
 */
export interface JobQueue {
  enqueue(job: NewJob): Promise<PublishJob>;
  claim(request: ClaimRequest): Promise<PublishJob[]>;
  markSigned(batch: SignedBatch, worker: string, now: Date, leaseMs: number): Promise<void>;
  release(
    jobIds: readonly string[],
    worker: string,
    error: string,
    now: Date,
    retry: RetryPolicy,
  ): Promise<void>;
  claimBatches(request: ClaimRequest): Promise<JobBatch[]>;
  updateBatch(
    batchId: string,
    update: {
      readonly status: 'stored' | 'sent' | 'confirmed';
      readonly block?: { height: number; bump: string };
    },
    now: Date,
  ): Promise<void>;
  retryBatch(batchId: string, error: string, now: Date, retry: RetryPolicy): Promise<void>;
  abandonBatch(batchId: string, error: string, now: Date, retry: RetryPolicy): Promise<void>;
  get(jobId: string): Promise<PublishJob | undefined>;
  /** The most recent job of a record id. */
  findByRecord(recordId: string): Promise<PublishJob | undefined>;
  /** Batches in one state, oldest first. */
  listBatches(filter: { readonly status: BatchStatus; readonly limit: number }): Promise<JobBatch[]>;
  /** Jobs per status (health, operators). */
  counts(): Promise<Record<JobStatus, number>>;
}

/** A transaction's state as a chain client sees it. */
export type ChainTxState =
  | 'unknown'
  | 'stored'
  | 'queued'
  | 'sent'
  | 'seen'
  | 'mined'
  | 'rejected'
  | 'double-spend';

/** Result of a broadcast or status query. */
export interface ChainTxStatus {
  readonly txid: string;
  readonly state: ChainTxState;
  /** The service's own status word (ARC `txStatus`, …), for operators. */
  readonly detail?: string | undefined;
  readonly blockHash?: string | undefined;
  readonly blockHeight?: number | undefined;
  /** A BRC-74 BUMP (hex) when the service returned one (ARC does for MINED); verify before use. */
  readonly merklePath?: string | undefined;
}

/**
 * Access to a chain (ARCHITECTURE rule 2): `OfflineChainClient` (embedded default), and in
 * `@omt/adapters`: `BitcoinCoreRpcClient` (`/bitcoin-rpc`), `ArcClient` (`/arc`).
 * - `broadcast` hands over a signed raw transaction; a definitive refusal (invalid, conflicting)
 *   throws `ledger.chain.rejected`, a service that cannot be reached or errs transiently throws
 *   `ledger.chain.unavailable` (the caller retries).
 * - `txStatus` never throws for an unknown txid (state `unknown`).
 * - `merkleProof` gives the BUMP of a mined transaction (undefined until mined); callers re-verify
 *   it against `blockHeader` (anchor-bump.ts `bumpRoot`), never trusting it as given.
 * - `blockHeader(height)` gives the 80-byte header (hex) at a height of the best chain, or undefined.
 */
export interface ChainClient {
  readonly chain: 'bsv' | 'btc';
  broadcast(rawTx: string): Promise<ChainTxStatus>;
  txStatus(txid: string): Promise<ChainTxStatus>;
  merkleProof(txid: string): Promise<{ readonly blockHeight: number; readonly bump: string } | undefined>;
  blockHeader(height: number): Promise<string | undefined>;
}

// ─── Event chains (docs/event-chains.md) ──────────────────────────────────────────────────────

/** A money movement decided by a settlement event, stored atomically with the event. */
export interface Payout {
  /** The payment adapter's invoice the money comes from. */
  readonly invoice: string;
  /** Who receives it: a party keyId (lower-case hex SHA-256 of the raw public key). */
  readonly party: string;
  /** What for: `seller`, `fee`, `royalty`, … (1–32 characters). */
  readonly role: string;
  /** Amount in the currency's minor unit (cents, satoshis), ≥ 0. */
  readonly amount: bigint;
  /** ISO 4217 code or a ticker such as `BSV` (3–8 upper-case characters). */
  readonly currency: string;
}

/** A committed event as an operator stores it. */
export interface CommittedEvent {
  readonly chain: string;
  readonly height: number;
  /** Lower-case hex event hash (SHA-256 of the JCS event without signatures). */
  readonly hash: string;
  /** Hash of height − 1, or null at height 0. */
  readonly prev: string | null;
  readonly machine: string;
  readonly type: string;
  /** The signed event, as JCS JSON text. */
  readonly event: string;
  /** The quorum certificate, as JCS JSON text. */
  readonly qc: string;
  /** The chain state after this event (`ChainState`), as JCS JSON text. */
  readonly state: string;
  readonly committedAt: Date;
}

/** One item of {@link EventStore.appendMany}: an event and the payouts stored with it. */
export interface AppendItem {
  readonly event: CommittedEvent;
  readonly payouts?: readonly Payout[];
}

/**
 * Outcome of one {@link EventStore.appendMany} item: what `append` would have returned, or the
 * code and message of the OmtError it would have thrown.
 */
export type AppendOutcome =
  | 'appended'
  | 'exists'
  | { readonly error: { readonly code: string; readonly message: string } };

/**
 * Committed events of every chain an operator keeps. Committed rows are append-only (the SQL
 * adapter enforces it with triggers: no UPDATE, no DELETE).
 * - `append` is atomic: the event, its state and its payouts are stored together or not at all.
 *   It requires `height` = current head height + 1 (0 for a new chain) and `prev` = the head's
 *   hash, else `ledger.event.out-of-order`. Appending the identical event again (same chain,
 *   height and hash) returns `'exists'` and changes nothing; a different hash at a committed
 *   height throws `ledger.event.conflict`. Concurrent appends at one height: exactly one wins.
 * - `head` gives the highest committed event of a chain, `get` one height, `list` a range in
 *   height order (at most `limit`, default 1,000).
 * - `appendMany` stores a batch (at most 1,000 items) as if `append` were called for each item
 *   one after another in that order — an item may extend a chain appended earlier in the same
 *   call — in as few transactions as possible (SQL: one per call). It answers one
 *   {@link AppendOutcome} per item, in order: a refused item (`ledger.event.invalid`,
 *   `ledger.event.conflict`, `ledger.event.out-of-order`, a payout the database refuses) does not
 *   stop the others, and each item's event and payouts are stored together or not at all. Same
 *   exactly-one-wins guarantee as `append` under concurrency. A call that is not a list of at most
 *   1,000 items throws `ledger.event.invalid`; a storage failure throws and may have stored
 *   nothing.
 * - `payouts` lists the payouts stored with a chain's events, in insertion order.
 */
export interface EventStore {
  append(event: CommittedEvent, payouts?: readonly Payout[]): Promise<'appended' | 'exists'>;
  appendMany(items: readonly AppendItem[]): Promise<AppendOutcome[]>;
  head(chain: string): Promise<CommittedEvent | undefined>;
  /**
   * The heads of up to 1,000 chains at once, keyed by chain; chains with no events are absent.
   * Optional: an operator without it asks `head` once per chain.
   */
  heads?(chains: readonly string[]): Promise<Map<string, CommittedEvent>>;
  get(chain: string, height: number): Promise<CommittedEvent | undefined>;
  list(
    chain: string,
    options?: { readonly fromHeight?: number; readonly limit?: number },
  ): Promise<CommittedEvent[]>;
  payouts(chain: string): Promise<Payout[]>;
  /** Chains with their head height, ordered by chain id, after `after` (paging), at most `limit`. */
  chains(options?: {
    readonly after?: string;
    readonly limit?: number;
  }): Promise<{ chain: string; height: number }[]>;
}

/** What an operator asks its vote log to record. */
export interface VoteRequest {
  readonly chain: string;
  readonly height: number;
  /** The event hash voted for. */
  readonly hash: string;
  /** The log leaf that records the vote (docs/event-chains.md step 2). */
  readonly leaf: Uint8Array;
  readonly at: Date;
}

/** Outcome of {@link VoteLog.vote} (and of each request of {@link VoteLog.voteMany}). */
export type VoteOutcome =
  | { readonly status: 'new'; readonly index: number }
  | { readonly status: 'same'; readonly index: number }
  | { readonly status: 'conflict'; readonly voted: string; readonly index: number };

/**
 * An operator's votes and its append-only RFC 9162 log of vote leaves, kept together so a crash
 * can never leave a vote without its leaf or a leaf without its vote.
 * - `vote` is atomic across concurrent callers and processes: for one (chain, height) the first
 *   call records the vote and appends `leaf` at the next index (`new`); a later call with the same
 *   hash returns `same` with that index (nothing appended); with another hash `conflict` with the
 *   hash and index voted for (nothing appended). Indexes are dense: 0, 1, 2, … in append order.
 * - `voteMany` records a batch (at most 1,000 requests) with one outcome per request, in order,
 *   exactly as `vote` called for each one after another (a request may repeat an earlier one of
 *   the batch: `same` or `conflict`); new leaves take consecutive indexes in request order, and
 *   the batch is atomic (SQL: one statement). A malformed request or more than 1,000 throw
 *   `ledger.vote.invalid` and nothing is recorded.
 * - `size` is the number of leaves; `leafHashes(from, to)` the RFC 9162 leaf hashes
 *   (SHA-256(0x00 ‖ leaf)) of [from, to) in index order; `leaves(from, to)` the leaf data.
 * - Checkpoints: `saveCheckpoint` stores a signed note for a size (idempotent for the same text;
 *   a different text for a stored size throws `ledger.log.conflict`); `latestCheckpoint` gives the
 *   largest size stored; `checkpoint(size)` one size.
 * - Anchors (optional; operators keep theirs across restarts when present): `saveAnchor` stores
 *   the anchored checkpoint (JSON text of `AnchoredCheckpoint`) of a size — a later save for the
 *   same size replaces it (a proof with a newer block, after a reorg); `anchors(limit)` returns the
 *   newest `limit` (1–1,000) by size, newest first. Bad arguments throw `ledger.log.invalid`.
 */
export interface VoteLog {
  vote(request: VoteRequest): Promise<VoteOutcome>;
  voteMany(requests: readonly VoteRequest[]): Promise<VoteOutcome[]>;
  size(): Promise<number>;
  leafHashes(from: number, to: number): Promise<Uint8Array[]>;
  leaves(from: number, to: number): Promise<Uint8Array[]>;
  saveCheckpoint(size: number, note: string, at: Date): Promise<void>;
  latestCheckpoint(): Promise<{ readonly size: number; readonly note: string } | undefined>;
  checkpoint(size: number): Promise<string | undefined>;
  saveAnchor?(size: number, anchored: string, at: Date): Promise<void>;
  anchors?(limit: number): Promise<string[]>;
}

/**
 * A witness's memory (C2SP tlog-witness): the latest checkpoint size and root hash it cosigned,
 * per log origin. `compareAndSwap` is atomic: it stores `next` only when the stored value still
 * equals `expected` (undefined = nothing stored yet) and returns whether it did.
 */
export interface WitnessStore {
  get(origin: string): Promise<{ readonly size: number; readonly root: Uint8Array } | undefined>;
  compareAndSwap(
    origin: string,
    expected: { readonly size: number; readonly root: Uint8Array } | undefined,
    next: { readonly size: number; readonly root: Uint8Array },
  ): Promise<boolean>;
}
