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
