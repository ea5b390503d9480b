/**
 * Equivocation evidence (docs/event-chains.md §Equivocation evidence): a portable JSON object that
 * proves an operator signed two statements that cannot both be honest. Anyone verifies it with the
 * operators' public log keys alone.
 *
 * - `vote`: two receipts of one operator for the same chain and height with different event
 *   hashes (an honest operator votes once per height, ever).
 * - `checkpoint`, reason `root`: two checkpoints signed by one operator with the same size and
 *   different roots (its log forked).
 * - `checkpoint`, reason `leaf`: two signed checkpoints with inclusion proofs of different leaf
 *   hashes at one index (a fork seen through two sizes).
 *
 * ```json
 * { "v": 1, "kind": "vote", "operator": "op1.omt.example", "chain": "item:42", "height": 3,
 *   "votes": [ { "event": "<hex>", "receipt": { … } }, { "event": "<hex>", "receipt": { … } } ] }
 * ```
 *
 * @example
 * ```ts
 * const evidence = await findEquivocation({ certificates: qcs, checkpoints }, network);
 * for (const e of evidence) console.log((await verifyEquivocationEvidence(e, network)).ok); // true
 * ```
 */
import { equalBytes, fromBase64, toBase64, toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { parseJson } from '@omt/core/jcs';
import { verifyInclusion } from '@omt/core/merkle';
import * as z from 'zod/mini';
import { CHAIN_ID_RE } from './event.js';
import {
  checkReceipt,
  EVENT_HASH_RE,
  type OperatorReceipt,
  OperatorReceiptSchema,
  type ReceiptStatus,
  verifyCheckpointCached,
} from './operator-receipt.js';
import type { QuorumCertificate } from './quorum-certificate.js';
import type { SignedCheckpoint } from './tlog-checkpoint.js';
import { parseLogKey } from './tlog-cosignature.js';
import { NOTE_MAX_BYTES, type NoteVerifier, parseNote } from './tlog-note.js';

/** One vote of an operator: the event it voted for and its receipt. */
export interface VoteClaim {
  readonly event: string;
  readonly receipt: OperatorReceipt;
}

/** A leaf the operator's signed checkpoint includes at `index`. */
export interface LeafClaim {
  /** Signed checkpoint text. */
  readonly checkpoint: string;
  /** base64 RFC 9162 leaf hash. */
  readonly leafHash: string;
  /** base64 inclusion proof hashes. */
  readonly proof: readonly string[];
}

/** Portable proof that an operator equivocated. */
export type EquivocationEvidence =
  | {
      readonly v: 1;
      readonly kind: 'vote';
      readonly operator: string;
      readonly chain: string;
      readonly height: number;
      readonly votes: readonly [VoteClaim, VoteClaim];
    }
  | {
      readonly v: 1;
      readonly kind: 'checkpoint';
      readonly reason: 'root';
      readonly operator: string;
      readonly checkpoints: readonly [string, string];
    }
  | {
      readonly v: 1;
      readonly kind: 'checkpoint';
      readonly reason: 'leaf';
      readonly operator: string;
      readonly index: number;
      readonly leaves: readonly [LeafClaim, LeafClaim];
    };

/** Operators and their log keys (an `EventNetwork` or a `QuorumNetwork` fits). */
export interface EquivocationNetwork {
  readonly operators: readonly { readonly name: string; readonly logKey: string }[];
}

/** What a client saw (any subset). */
export interface SeenStatements {
  /** Receipts without their vote (their checkpoints are compared). */
  readonly receipts?: readonly OperatorReceipt[];
  /** Signed checkpoints of any operator. */
  readonly checkpoints?: readonly string[];
  /** Votes with their receipts: `{ chain, height, event, receipt }`. */
  readonly votes?: readonly {
    readonly chain: string;
    readonly height: number;
    readonly event: string;
    readonly receipt: OperatorReceipt;
  }[];
  /** Quorum certificates (each receipt is a vote for the QC's event). */
  readonly certificates?: readonly QuorumCertificate[];
}

/** Result of {@link verifyEquivocationEvidence}. */
export interface EquivocationVerification {
  /** True iff the evidence proves `operator` equivocated. */
  readonly ok: boolean;
  readonly statuses: readonly ReceiptStatus[];
}

const B64_HASH = () => z.string().check(z.regex(/^[A-Za-z0-9+/]{43}=$/));
const checkpointText = () => z.string().check(z.minLength(1), z.maxLength(NOTE_MAX_BYTES));
const voteClaim = () =>
  z.strictObject({ event: z.string().check(z.regex(EVENT_HASH_RE)), receipt: OperatorReceiptSchema });
const leafClaim = () =>
  z.strictObject({
    checkpoint: checkpointText(),
    leafHash: B64_HASH(),
    proof: z.array(B64_HASH()).check(z.maxLength(63)),
  });
const operatorName = () => z.string().check(z.minLength(1), z.maxLength(1024));

/** zod schema of {@link EquivocationEvidence}. */
export const EquivocationEvidenceSchema: z.ZodMiniType<EquivocationEvidence> = z.union([
  z.strictObject({
    v: z.literal(1),
    kind: z.literal('vote'),
    operator: operatorName(),
    chain: z.string().check(z.regex(CHAIN_ID_RE)),
    height: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
    votes: z.tuple([voteClaim(), voteClaim()]),
  }),
  z.strictObject({
    v: z.literal(1),
    kind: z.literal('checkpoint'),
    reason: z.literal('root'),
    operator: operatorName(),
    checkpoints: z.tuple([checkpointText(), checkpointText()]),
  }),
  z.strictObject({
    v: z.literal(1),
    kind: z.literal('checkpoint'),
    reason: z.literal('leaf'),
    operator: operatorName(),
    index: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
    leaves: z.tuple([leafClaim(), leafClaim()]),
  }),
]);

/**
 * Parses evidence (JSON text or value). Throws `ledger.equivocation.malformed`.
 * @example `const e = parseEquivocationEvidence(await res.text());`
 */
export function parseEquivocationEvidence(input: unknown): EquivocationEvidence {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseJson(input);
    } catch (e) {
      throw new OmtError('ledger.equivocation.malformed', 'evidence is JSON', { cause: e });
    }
  }
  return parseInput(
    EquivocationEvidenceSchema,
    value,
    'ledger.equivocation.malformed',
    'equivocation evidence',
  );
}

const keyCache = new WeakMap<object, Map<string, NoteVerifier>>();

/** Log keys by operator name; operators whose key does not parse or is misnamed are left out. */
function operatorKeys(network: EquivocationNetwork): Map<string, NoteVerifier> {
  if (typeof network !== 'object' || network === null || !Array.isArray(network.operators)) {
    throw new OmtError('ledger.policy.invalid', 'network must list its operators');
  }
  const cached = keyCache.get(network);
  if (cached !== undefined) return cached;
  const keys = new Map<string, NoteVerifier>();
  for (const op of network.operators) {
    try {
      const v = parseLogKey(op.logKey);
      if (v.name === op.name && !keys.has(op.name)) keys.set(op.name, v);
    } catch {
      // an unusable key proves nothing
    }
  }
  keyCache.set(network, keys);
  return keys;
}

function st(code: string, message: string, operator?: string): ReceiptStatus {
  return operator === undefined ? { code, message } : { code, message, operator };
}

async function signedBy(text: string, key: NoteVerifier): Promise<SignedCheckpoint | ReceiptStatus> {
  try {
    // Cached: a client looking for equivocation has usually just checked these in the QCs.
    return await verifyCheckpointCached(text, key);
  } catch (e) {
    return st(
      'ledger.receipt.signature-invalid',
      `checkpoint not signed by ${key.name}: ${(e as Error).message}`,
      key.name,
    );
  }
}

function isStatus(x: SignedCheckpoint | ReceiptStatus): x is ReceiptStatus {
  return 'code' in x;
}

/**
 * Verifies evidence: every signed statement in it verifies under the operator's log key, and the
 * statements conflict. Returns data; never throws for bad evidence (a network without operators
 * throws `ledger.policy.invalid`).
 *
 * @example
 * ```ts
 * const { ok, statuses } = await verifyEquivocationEvidence(evidence, network);
 * ```
 */
export async function verifyEquivocationEvidence(
  evidence: unknown,
  network: EquivocationNetwork,
): Promise<EquivocationVerification> {
  const keys = operatorKeys(network);
  let e: EquivocationEvidence;
  try {
    e = parseEquivocationEvidence(evidence);
  } catch (err) {
    return { ok: false, statuses: [st('ledger.equivocation.malformed', (err as Error).message)] };
  }
  const key = keys.get(e.operator);
  if (key === undefined) {
    return {
      ok: false,
      statuses: [
        st('ledger.receipt.operator-unknown', `${e.operator.slice(0, 200)} is not an operator`, e.operator),
      ],
    };
  }
  const fail = (statuses: ReceiptStatus[]): EquivocationVerification => ({ ok: false, statuses });
  if (e.kind === 'vote') {
    const [a, b] = e.votes;
    if (a.event === b.event)
      return fail([st('ledger.equivocation.invalid', 'both votes are for the same event', e.operator)]);
    const statuses: ReceiptStatus[] = [];
    for (const v of e.votes) {
      if (v.receipt.operator !== e.operator)
        statuses.push(st('ledger.equivocation.invalid', 'a receipt of another operator', e.operator));
    }
    const checks = await Promise.all(
      e.votes.map((v) => checkReceipt(v.receipt, { chain: e.chain, height: e.height, hash: v.event }, key)),
    );
    for (const c of checks) statuses.push(...c.statuses);
    return statuses.length === 0 ? { ok: true, statuses } : fail(statuses);
  }
  if (e.reason === 'root') {
    const [a, b] = (await Promise.all(e.checkpoints.map((t) => signedBy(t, key)))) as [
      SignedCheckpoint | ReceiptStatus,
      SignedCheckpoint | ReceiptStatus,
    ];
    if (isStatus(a) || isStatus(b)) return fail([a, b].filter(isStatus));
    const ca = a.checkpoint;
    const cb = b.checkpoint;
    if (ca.size !== cb.size)
      return fail([st('ledger.equivocation.invalid', 'the checkpoints have different sizes', e.operator)]);
    if (equalBytes(ca.root, cb.root))
      return fail([st('ledger.equivocation.invalid', 'the checkpoints have the same root', e.operator)]);
    return { ok: true, statuses: [] };
  }
  const [la, lb] = e.leaves;
  if (la.leafHash === lb.leafHash)
    return fail([st('ledger.equivocation.invalid', 'both proofs are for the same leaf', e.operator)]);
  const statuses: ReceiptStatus[] = [];
  await Promise.all(
    e.leaves.map(async (l) => {
      const s = await signedBy(l.checkpoint, key);
      if (isStatus(s)) return void statuses.push(s);
      const { size, root } = s.checkpoint;
      if (!verifyInclusion(e.index, size, fromBase64(l.leafHash), l.proof.map(fromBase64), root)) {
        statuses.push(
          st('ledger.receipt.inclusion-invalid', `leaf not included at index ${e.index}`, e.operator),
        );
      }
    }),
  );
  return statuses.length === 0 ? { ok: true, statuses } : fail(statuses);
}

interface VerifiedVote {
  readonly chain: string;
  readonly height: number;
  readonly event: string;
  readonly receipt: OperatorReceipt;
  readonly leafHash: Uint8Array;
}

/**
 * Looks through everything a client saw for equivocation by the network's operators and returns
 * the evidence (verified: only statements that verify under the operators' keys are compared).
 * One piece of evidence per operator and conflict. Vote equivocation needs the votes (`votes` or
 * `certificates`); receipts alone only show conflicting checkpoints.
 *
 * @example
 * ```ts
 * const evidence = await findEquivocation({ certificates, checkpoints }, network);
 * ```
 */
export async function findEquivocation(
  seen: SeenStatements,
  network: EquivocationNetwork,
): Promise<EquivocationEvidence[]> {
  const keys = operatorKeys(network);
  const out: EquivocationEvidence[] = [];

  // Votes: from explicit votes and from QCs.
  const claims: { chain: string; height: number; event: string; receipt: OperatorReceipt }[] = [
    ...(seen.votes ?? []),
  ];
  for (const qc of seen.certificates ?? []) {
    for (const receipt of qc.receipts ?? [])
      claims.push({ chain: qc.chain, height: qc.height, event: qc.event, receipt });
  }
  const votes: VerifiedVote[] = [];
  const checkpointTexts = new Set<string>(seen.checkpoints ?? []);
  for (const r of seen.receipts ?? [])
    if (typeof r?.checkpoint === 'string') checkpointTexts.add(r.checkpoint);
  await Promise.all(
    claims.map(async (c) => {
      const key = keys.get(c.receipt?.operator);
      if (key === undefined) return;
      const v = await checkReceipt(c.receipt, { chain: c.chain, height: c.height, hash: c.event }, key);
      if (v.statuses.length > 0 || v.leafHash === undefined) return;
      votes.push({ ...c, leafHash: v.leafHash });
      checkpointTexts.add(c.receipt.checkpoint);
    }),
  );
  // Deterministic order whatever the verification timing.
  votes.sort((a, b) =>
    a.receipt.operator + a.chain + a.height + a.event < b.receipt.operator + b.chain + b.height + b.event
      ? -1
      : 1,
  );

  const byHeight = new Map<string, VerifiedVote>();
  const reported = new Set<string>();
  for (const v of votes) {
    const k = `${v.receipt.operator}\n${v.chain}\n${v.height}`;
    const first = byHeight.get(k);
    if (first === undefined) byHeight.set(k, v);
    else if (first.event !== v.event && !reported.has(k)) {
      reported.add(k);
      out.push({
        v: 1,
        kind: 'vote',
        operator: v.receipt.operator,
        chain: v.chain,
        height: v.height,
        votes: [
          { event: first.event, receipt: first.receipt },
          { event: v.event, receipt: v.receipt },
        ],
      });
    }
  }

  // Two leaves at one index of one operator's log.
  const byIndex = new Map<string, VerifiedVote>();
  for (const v of votes) {
    const k = `${v.receipt.operator}\n${v.receipt.index}`;
    const first = byIndex.get(k);
    if (first === undefined) byIndex.set(k, v);
    else if (!equalBytes(first.leafHash, v.leafHash) && !reported.has(`leaf\n${k}`)) {
      reported.add(`leaf\n${k}`);
      const claim = (x: VerifiedVote): LeafClaim => ({
        checkpoint: x.receipt.checkpoint,
        leafHash: toBase64(x.leafHash),
        proof: x.receipt.proof,
      });
      out.push({
        v: 1,
        kind: 'checkpoint',
        reason: 'leaf',
        operator: v.receipt.operator,
        index: v.receipt.index,
        leaves: [claim(first), claim(v)],
      });
    }
  }

  // Two checkpoints of one size with different roots.
  const signed: { operator: string; text: string; size: number; root: string }[] = [];
  await Promise.all(
    [...checkpointTexts].map(async (text) => {
      let origin: string;
      try {
        origin = parseNote(text).text.split('\n', 1)[0] as string;
      } catch {
        return;
      }
      const key = keys.get(origin);
      if (key === undefined) return;
      const s = await signedBy(text, key);
      if (!isStatus(s))
        signed.push({ operator: origin, text, size: s.checkpoint.size, root: toHex(s.checkpoint.root) });
    }),
  );
  signed.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const bySize = new Map<string, (typeof signed)[number]>();
  for (const s of signed) {
    const k = `${s.operator}\n${s.size}`;
    const first = bySize.get(k);
    if (first === undefined) bySize.set(k, s);
    else if (first.root !== s.root && !reported.has(`root\n${k}`)) {
      reported.add(`root\n${k}`);
      out.push({
        v: 1,
        kind: 'checkpoint',
        reason: 'root',
        operator: s.operator,
        checkpoints: [first.text, s.text],
      });
    }
  }
  return out;
}
