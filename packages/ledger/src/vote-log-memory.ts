import { OmtError } from '@omt/core/errors';
import { hashLeaf } from '@omt/core/merkle';
import {
  parseAnchorLimit,
  parseAnchorSave,
  parseCheckpointSave,
  parseCheckpointSize,
  parseLogRange,
  parseVoteRequest,
  parseVoteRequests,
} from './event-storage.js';
import type { VoteLog, VoteOutcome, VoteRequest } from './ports.js';

interface Vote {
  readonly hash: string;
  readonly index: number;
}

/**
 * In-process {@link VoteLog} (tests, single-process demos): the votes, the RFC 9162 leaves with
 * their leaf hashes, and the signed checkpoints. Every method body runs without an `await` in
 * between, so a vote and its leaf are recorded together and indexes stay dense under concurrent
 * callers within one JavaScript realm (`voteMany` records its batch in one such pass); several
 * processes share `SqlVoteLog` instead.
 *
 * @example
 * ```ts
 * const log = new MemoryVoteLog();
 * const r = await log.vote({ chain: 'item:7f3a', height: 0, hash, leaf, at: new Date() });
 * if (r.status === 'conflict') throw new OmtError('ledger.event.conflict', `voted ${r.voted}`);
 * ```
 */
export class MemoryVoteLog implements VoteLog {
  /** `${chain}\n${height}` → the vote (chain ids hold no newline). */
  readonly #votes = new Map<string, Vote>();
  readonly #leaves: Uint8Array[] = [];
  readonly #leafHashes: Uint8Array[] = [];
  readonly #checkpoints = new Map<number, string>();
  readonly #anchors = new Map<number, string>();
  #latest: number | undefined;

  async vote(request: VoteRequest): Promise<VoteOutcome> {
    return this.#record(parseVoteRequest(request));
  }

  async voteMany(requests: readonly VoteRequest[]): Promise<VoteOutcome[]> {
    // Every request is checked before any is recorded; then one synchronous pass.
    return parseVoteRequests(requests).map((r) => this.#record(r));
  }

  /** Records a parsed vote (synchronous: atomic within the realm). */
  #record(r: VoteRequest): VoteOutcome {
    const key = `${r.chain}\n${r.height}`;
    const voted = this.#votes.get(key);
    if (voted !== undefined)
      return voted.hash === r.hash
        ? { status: 'same', index: voted.index }
        : { status: 'conflict', voted: voted.hash, index: voted.index };
    const leaf = r.leaf.slice();
    const leafHash = hashLeaf(leaf);
    const index = this.#leaves.length;
    this.#leaves.push(leaf);
    this.#leafHashes.push(leafHash);
    this.#votes.set(key, { hash: r.hash, index });
    return { status: 'new', index };
  }

  async size(): Promise<number> {
    return this.#leaves.length;
  }

  async leafHashes(from: number, to: number): Promise<Uint8Array[]> {
    const r = parseLogRange(from, to, this.#leaves.length);
    return this.#leafHashes.slice(r.from, r.to).map((h) => h.slice());
  }

  async leaves(from: number, to: number): Promise<Uint8Array[]> {
    const r = parseLogRange(from, to, this.#leaves.length);
    return this.#leaves.slice(r.from, r.to).map((l) => l.slice());
  }

  async saveCheckpoint(size: number, note: string, at: Date): Promise<void> {
    const c = parseCheckpointSave(size, note, at);
    if (c.size > this.#leaves.length)
      throw new OmtError(
        'ledger.log.invalid',
        `checkpoint size ${c.size} exceeds the log size ${this.#leaves.length}`,
      );
    const stored = this.#checkpoints.get(c.size);
    if (stored !== undefined) {
      if (stored === c.note) return;
      throw new OmtError('ledger.log.conflict', `another checkpoint is stored for size ${c.size}`, {
        details: { size: c.size },
      });
    }
    this.#checkpoints.set(c.size, c.note);
    if (this.#latest === undefined || c.size > this.#latest) this.#latest = c.size;
  }

  async latestCheckpoint(): Promise<{ readonly size: number; readonly note: string } | undefined> {
    if (this.#latest === undefined) return undefined;
    return { size: this.#latest, note: this.#checkpoints.get(this.#latest) as string };
  }

  async checkpoint(size: number): Promise<string | undefined> {
    return this.#checkpoints.get(parseCheckpointSize(size));
  }

  async saveAnchor(size: number, anchored: string, at: Date): Promise<void> {
    const a = parseAnchorSave(size, anchored, at);
    this.#anchors.set(a.size, a.anchored);
  }

  async anchors(limit: number): Promise<string[]> {
    const n = parseAnchorLimit(limit);
    return [...this.#anchors.entries()]
      .sort((x, y) => y[0] - x[0])
      .slice(0, n)
      .map(([, text]) => text);
  }
}
