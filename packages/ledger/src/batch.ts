/**
 * Batching: many records, one OP_RETURN. Records are collected (for at most N ms or M records),
 * then sealed into an RFC 9162 Merkle tree (core merkle.ts) whose root one transaction anchors
 * (op-return.ts `encodeBatchAnchor`); every record gets its inclusion proof.
 *
 * Leaf i = RFC 9162 leaf hash of the 32-byte record hash H_i (H = SHA-256(JCS(record)), intent.ts):
 * `SHA-256(0x00 ‖ H_i)`. Leaves keep submission order.
 */
import { fromHex, isBytes, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { hashLeaf, inclusionProofs, merkleRoot, verifyInclusion } from '@omt/core/merkle';

/** A record's inclusion proof in its batch (JSON-friendly, hex). */
export interface BatchInclusion {
  /** hex H of the record. */
  readonly recordHash: string;
  readonly index: number;
  readonly size: number;
  /** hex RFC 9162 root of the batch. */
  readonly root: string;
  /** hex RFC 9162 §2.1.3.1 audit path, bottom-up. */
  readonly proof: readonly string[];
}

/** A sealed batch. */
export interface SealedBatch {
  readonly root: Uint8Array;
  readonly size: number;
  readonly recordHashes: readonly Uint8Array[];
  /** The inclusion proof of record `index`. */
  inclusion(index: number): BatchInclusion;
}

/** The batch leaf of a record hash. @example `batchLeafHash(fromHex(intent.signature.hash))` */
export function batchLeafHash(recordHash: Uint8Array): Uint8Array {
  if (!isBytes(recordHash) || recordHash.length !== 32)
    throw new OmtError('ledger.batch.invalid', 'a record hash is 32 bytes');
  return hashLeaf(recordHash);
}

/**
 * Seals record hashes (in order) into a batch.
 * @example
 * ```ts
 * const batch = sealBatch(hashes);
 * encodeBatchAnchor({ root: batch.root, n: batch.size, ts }, { chain: 'bsv' });
 * batch.inclusion(7); // { recordHash, index: 7, size, root, proof }
 * ```
 */
export function sealBatch(recordHashes: readonly Uint8Array[]): SealedBatch {
  if (!Array.isArray(recordHashes) || recordHashes.length === 0)
    throw new OmtError('ledger.batch.invalid', 'a batch holds at least one record');
  const hashes = recordHashes.map((h) => {
    if (!isBytes(h) || h.length !== 32)
      throw new OmtError('ledger.batch.invalid', 'a record hash is 32 bytes');
    return h.slice();
  });
  const leaves = hashes.map((h) => hashLeaf(h));
  const root = merkleRoot(leaves);
  const rootHex = toHex(root);
  // Every record gets a proof: compute them all in one pass (O(n log n)), on first use.
  let proofs: Uint8Array[][] | undefined;
  const allProofs = (): Uint8Array[][] => {
    proofs ??= inclusionProofs(leaves);
    return proofs;
  };
  return {
    root,
    size: hashes.length,
    recordHashes: hashes,
    inclusion(index: number): BatchInclusion {
      if (!Number.isInteger(index) || index < 0 || index >= hashes.length)
        throw new OmtError('ledger.batch.invalid', 'index outside the batch');
      return {
        recordHash: toHex(hashes[index] as Uint8Array),
        index,
        size: hashes.length,
        root: rootHex,
        proof: allProofs()[index]!.map(toHex),
      };
    },
  };
}

/**
 * True when `inclusion` proves its record hash in a batch with its root. Never throws on bad data.
 * @example
 * ```ts
 * verifyBatchInclusion(proof.batch); // true
 * ```
 */
export function verifyBatchInclusion(inclusion: BatchInclusion): boolean {
  try {
    const leaf = batchLeafHash(fromHex(inclusion.recordHash));
    return verifyInclusion(
      inclusion.index,
      inclusion.size,
      leaf,
      inclusion.proof.map(fromHex),
      fromHex(inclusion.root),
    );
  } catch {
    return false;
  }
}

/** Options of a {@link Batcher}. */
export interface BatcherOptions<T> {
  /** Seal when this many records are waiting (≥ 1). */
  readonly maxRecords: number;
  /** Seal at most this long after the first waiting record arrived (≥ 0). */
  readonly maxDelayMs: number;
  /** Anchors a sealed batch (builds, signs and stores its transaction); its result reaches every record. */
  readonly anchor: (batch: SealedBatch) => Promise<T>;
  /** Timer (default setTimeout/clearTimeout); tests inject their own. */
  readonly timer?: { set(fn: () => void, ms: number): unknown; clear(handle: unknown): void };
}

interface Waiting<T> {
  readonly hash: Uint8Array;
  readonly resolve: (v: { inclusion: BatchInclusion; anchored: T }) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Collects record hashes and seals them into batches of at most `maxRecords`, at the latest
 * `maxDelayMs` after the first one arrived. `add` resolves once the record's batch is anchored.
 * @example
 * ```ts
 * const batcher = new Batcher({ maxRecords: 1000, maxDelayMs: 200, anchor: (b) => publish(b) });
 * const { inclusion, anchored } = await batcher.add(recordHash);
 * ```
 */
export class Batcher<T> {
  readonly #options: BatcherOptions<T>;
  readonly #timer: NonNullable<BatcherOptions<T>['timer']>;
  #waiting: Waiting<T>[] = [];
  #handle: unknown;
  #closed = false;
  #inFlight = new Set<Promise<void>>();

  constructor(options: BatcherOptions<T>) {
    if (!Number.isInteger(options.maxRecords) || options.maxRecords < 1)
      throw new OmtError('ledger.batch.invalid', 'maxRecords must be an integer ≥ 1');
    if (!Number.isFinite(options.maxDelayMs) || options.maxDelayMs < 0)
      throw new OmtError('ledger.batch.invalid', 'maxDelayMs must be ≥ 0');
    if (typeof options.anchor !== 'function')
      throw new OmtError('ledger.batch.invalid', 'anchor must be a function');
    this.#options = options;
    this.#timer = options.timer ?? {
      set: (fn, ms) => setTimeout(fn, ms),
      clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
  }

  /** Records waiting for the next seal. */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Queues a record hash; resolves with its inclusion proof and the batch's anchoring result. */
  add(recordHash: Uint8Array): Promise<{ inclusion: BatchInclusion; anchored: T }> {
    if (this.#closed) return Promise.reject(new OmtError('ledger.batch.closed', 'the batcher is closed'));
    if (!isBytes(recordHash) || recordHash.length !== 32)
      return Promise.reject(new OmtError('ledger.batch.invalid', 'a record hash is 32 bytes'));
    return new Promise((resolve, reject) => {
      this.#waiting.push({ hash: recordHash.slice(), resolve, reject });
      if (this.#waiting.length >= this.#options.maxRecords) this.#seal();
      else if (this.#waiting.length === 1)
        this.#handle = this.#timer.set(() => this.#seal(), this.#options.maxDelayMs);
    });
  }

  /** Seals whatever is waiting now and waits for every batch in flight. */
  async flush(): Promise<void> {
    this.#seal();
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Flushes, then refuses further records. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #seal(): void {
    if (this.#handle !== undefined) {
      this.#timer.clear(this.#handle);
      this.#handle = undefined;
    }
    if (this.#waiting.length === 0) return;
    const taken = this.#waiting;
    this.#waiting = [];
    const run = (async () => {
      try {
        const batch = sealBatch(taken.map((w) => w.hash));
        const anchored = await this.#options.anchor(batch);
        taken.forEach((w, i) => {
          w.resolve({ inclusion: batch.inclusion(i), anchored });
        });
      } catch (e) {
        for (const w of taken) w.reject(e);
      }
    })();
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run));
  }
}
