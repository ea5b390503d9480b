/**
 * What an event-chain operator offers (docs/event-chains.md), as one interface that both an
 * in-process operator (`EventOperator`) and a remote one (`@omt/adapters/http`
 * `HttpOperatorClient`) implement, so clients, tests and the quorum coordinator don't care where
 * an operator runs. Every payload is plain JSON so it crosses HTTP unchanged.
 */

/** An operator's answer to one submitted event. */
export type VoteAnswer =
  | {
      readonly ok: true;
      /** The event hash voted for. */
      readonly hash: string;
      /** The operator's receipt (operator-receipt.ts), as JSON. */
      readonly receipt: unknown;
    }
  | {
      readonly ok: false;
      /** The submitted event's hash, when it could be computed. */
      readonly hash?: string | undefined;
      readonly code: string;
      readonly message: string;
      /** `ledger.event.conflict`: the hash this operator already voted for at that height… */
      readonly voted?: string | undefined;
      /** …with its receipt, so a client can prove what the operator signed. */
      readonly receipt?: unknown;
    };

/** An operator's answer to one commit. */
export type CommitAnswer =
  | { readonly ok: true; readonly hash: string; readonly status: 'appended' | 'exists' }
  | {
      readonly ok: false;
      readonly hash?: string | undefined;
      readonly code: string;
      readonly message: string;
    };

/** A committed event as served: the signed event and its quorum certificate (JSON). */
export interface CommittedEntry {
  readonly event: unknown;
  readonly qc: unknown;
}

/** A chain as one operator holds it. */
export interface ChainView {
  readonly chain: string;
  /** Head height, −1 when the operator has no event of this chain. */
  readonly height: number;
  /** Committed events from `fromHeight` (default 0) in height order. */
  readonly events: readonly CommittedEntry[];
  /** The operator's latest signed checkpoint (signed note text) when the view was taken. */
  readonly checkpoint: string;
  /** Checkpoints of this operator's log anchored on Bitcoin/BSV (checkpoint-anchor.ts), newest last. */
  readonly anchors?: readonly unknown[];
}

/** Health and identity. */
export interface OperatorStatus {
  readonly name: string;
  readonly logSize: number;
  readonly chains: number;
  readonly uptimeMs: number;
  /**
   * Witness cosigning per peer (the operators this one asks to cosign its checkpoints): the
   * size the peer last cosigned and the last failure, if the latest attempt failed — so a peer
   * that stopped cosigning shows here, not only in a log.
   */
  readonly witness?: readonly WitnessPeerStatus[];
}

/** One peer's witness cosigning, as {@link OperatorStatus} reports it. */
export interface WitnessPeerStatus {
  readonly peer: string;
  readonly cosignedSize: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
}

/**
 * One operator, local or remote. Arrays are answered element by element, in order; a remote
 * implementation that cannot reach the operator throws `ledger.operator.unavailable`, one that
 * waited past its deadline `ledger.operator.timeout`.
 */
export interface OperatorApi {
  readonly name: string;
  /** Validate and vote for each event (≤ 1,000 per call). */
  submit(events: readonly unknown[], signal?: AbortSignal): Promise<VoteAnswer[]>;
  /** Store each event whose quorum certificate verifies (≤ 1,000 per call). */
  commit(entries: readonly CommittedEntry[], signal?: AbortSignal): Promise<CommitAnswer[]>;
  /** The committed events of a chain (at most 1,000 from `fromHeight`). */
  chain(
    chain: string,
    options?: { readonly fromHeight?: number; readonly signal?: AbortSignal },
  ): Promise<ChainView>;
  /** The latest signed checkpoint (tlog-checkpoint signed note). */
  checkpoint(signal?: AbortSignal): Promise<string>;
  /** An RFC 9162 consistency proof between two sizes of this operator's log (base64 hashes). */
  consistency(from: number, to: number, signal?: AbortSignal): Promise<string[]>;
  /** Consistency proofs from each of `froms` (≤ 256 sizes) to `to`, in one call. */
  consistencyMany?(froms: readonly number[], to: number, signal?: AbortSignal): Promise<string[][]>;
  status(signal?: AbortSignal): Promise<OperatorStatus>;
  /** tlog-witness `add-checkpoint`: asks this operator to cosign another operator's checkpoint. */
  addCheckpoint?(
    body: string,
    signal?: AbortSignal,
  ): Promise<{ readonly status: number; readonly body: string }>;
}
