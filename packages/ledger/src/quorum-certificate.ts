/**
 * Quorum certificates (docs/event-chains.md step 4): receipts from M distinct operators for one
 * event make it final. With `2M > N` two conflicting events can never both hold one, so a client
 * that verifies a QC needs to trust no single operator.
 *
 * ```json
 * { "chain": "item:42", "height": 3, "event": "<hex event hash>", "receipts": [ <OperatorReceipt>, … ] }
 * ```
 *
 * Cost: one checkpoint signature check and one inclusion proof per receipt, all run in parallel;
 * parsed log keys are cached (tlog-note.ts), as is each network's key table.
 *
 * @example
 * ```ts
 * const v = await verifyQuorumCertificate(qc, network);
 * if (!v.ok) console.log(v.statuses);
 * ```
 */
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { parseJson } from '@omt/core/jcs';
import * as z from 'zod/mini';
import { rememberReceipt } from './_parsed-receipts.js';
import { CHAIN_ID_RE } from './event.js';
import {
  checkReceipt,
  EVENT_HASH_RE,
  type OperatorReceipt,
  OperatorReceiptSchema,
  type ReceiptStatus,
} from './operator-receipt.js';
import { parseLogKey } from './tlog-cosignature.js';
import type { NoteVerifier } from './tlog-note.js';

/** Receipts of M distinct operators for one event. */
export interface QuorumCertificate {
  readonly chain: string;
  readonly height: number;
  /** The event hash (lower-case hex). */
  readonly event: string;
  readonly receipts: readonly OperatorReceipt[];
}

/** The operators of a network as a QC verifier needs them (an `EventNetwork` fits). */
export interface QuorumNetwork {
  /** M. */
  readonly quorum: number;
  readonly operators: readonly { readonly name: string; readonly logKey: string }[];
}

/** Result of {@link verifyQuorumCertificate}. */
export interface QuorumVerification {
  /** True iff at least `quorum` distinct known operators have a valid receipt for the event. */
  readonly ok: boolean;
  /** The operators whose receipt verified, in receipt order. */
  readonly operators: readonly string[];
  /** One status per bad receipt (even when `ok`), plus `ledger.qc.quorum-not-met` when short. */
  readonly statuses: readonly ReceiptStatus[];
}

/** Most receipts a QC may carry. */
export const QC_MAX_RECEIPTS = 256;

/** zod schema of a {@link QuorumCertificate} (JSON). */
export const QuorumCertificateSchema: z.ZodMiniType<QuorumCertificate> = z.strictObject({
  chain: z.string().check(z.regex(CHAIN_ID_RE)),
  height: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
  event: z.string().check(z.regex(EVENT_HASH_RE)),
  receipts: z.array(OperatorReceiptSchema).check(z.minLength(1), z.maxLength(QC_MAX_RECEIPTS)),
});

/**
 * Parses a QC (JSON text or value). Throws `ledger.qc.malformed`. Returns a fresh, frozen copy
 * (its receipts and their proofs frozen too; derive changed QCs with spreads); given one of its own
 * results, returns it as it is.
 * @example `const qc = parseQuorumCertificate(entry.qc);`
 */
export function parseQuorumCertificate(input: unknown): QuorumCertificate {
  // One of this function's own results: frozen, so still exactly what was checked.
  if (typeof input === 'object' && input !== null && parsedQcs.has(input)) return input as QuorumCertificate;
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseJson(input);
    } catch (e) {
      throw new OmtError('ledger.qc.malformed', 'a quorum certificate is JSON', { cause: e });
    }
  }
  const qc = parseInput(QuorumCertificateSchema, value, 'ledger.qc.malformed', 'quorum certificate');
  for (const r of qc.receipts) rememberReceipt(r);
  Object.freeze(qc.receipts);
  Object.freeze(qc);
  parsedQcs.add(qc);
  return qc;
}

/** The QCs {@link parseQuorumCertificate} returned (fresh, frozen copies: parsed once). */
const parsedQcs = new WeakSet<object>();

interface NetworkKeys {
  readonly quorum: number;
  readonly keys: ReadonlyMap<string, NoteVerifier>;
}

const networkCache = new WeakMap<object, NetworkKeys>();

/**
 * The network's log keys by operator name, checked once per network object: `N/2 < M ≤ N`,
 * unique names, each log key parses and is named like its operator. Throws `ledger.policy.invalid`.
 */
function networkKeys(network: QuorumNetwork): NetworkKeys {
  if (typeof network !== 'object' || network === null)
    throw new OmtError('ledger.policy.invalid', 'network must be an object');
  const cached = networkCache.get(network);
  if (cached !== undefined) return cached;
  const ops = network.operators;
  if (!Array.isArray(ops) || ops.length === 0)
    throw new OmtError('ledger.policy.invalid', 'a network has operators');
  const m = network.quorum;
  if (!Number.isInteger(m) || m < 1 || m > ops.length || 2 * m <= ops.length) {
    throw new OmtError('ledger.policy.invalid', `quorum ${m} of ${ops.length} operators: need N/2 < M ≤ N`);
  }
  const keys = new Map<string, NoteVerifier>();
  for (const op of ops) {
    if (keys.has(op.name)) throw new OmtError('ledger.policy.invalid', `operator ${op.name} is listed twice`);
    let v: NoteVerifier;
    try {
      v = parseLogKey(op.logKey);
    } catch (e) {
      throw new OmtError('ledger.policy.invalid', `operator ${op.name}: bad log key`, { cause: e });
    }
    if (v.name !== op.name)
      throw new OmtError('ledger.policy.invalid', `operator ${op.name}: its log key is named ${v.name}`);
    keys.set(op.name, v);
  }
  const parsed = { quorum: m, keys };
  networkCache.set(network, parsed);
  return parsed;
}

/**
 * Verifies a quorum certificate against a network: at least M distinct known operators whose
 * receipts prove they voted for `qc.event` at `qc.height` of `qc.chain`. Every bad receipt gets a
 * status (unknown operator, bad signature, bad proof, …). Returns data for any QC; throws
 * `ledger.policy.invalid` only for an invalid network.
 *
 * @example
 * ```ts
 * const { ok, operators, statuses } = await verifyQuorumCertificate(qc, network);
 * ```
 */
export async function verifyQuorumCertificate(
  qc: unknown,
  network: QuorumNetwork,
): Promise<QuorumVerification> {
  const net = networkKeys(network);
  let cert: QuorumCertificate;
  try {
    cert = parseQuorumCertificate(qc);
  } catch (e) {
    return {
      ok: false,
      operators: [],
      statuses: [{ code: 'ledger.qc.malformed', message: (e as Error).message }],
    };
  }
  const vote = { chain: cert.chain, height: cert.height, hash: cert.event };
  const results = await Promise.all(
    cert.receipts.map(async (r): Promise<ReceiptStatus[]> => {
      const key = net.keys.get(r.operator);
      if (key === undefined) {
        return [
          {
            code: 'ledger.receipt.operator-unknown',
            message: `${r.operator.slice(0, 200)} is not an operator of the network`,
            operator: r.operator,
          },
        ];
      }
      return (await checkReceipt(r, vote, key)).statuses;
    }),
  );
  const statuses: ReceiptStatus[] = [];
  const operators: string[] = [];
  results.forEach((s, i) => {
    const op = (cert.receipts[i] as OperatorReceipt).operator;
    if (s.length > 0) statuses.push(...s);
    else if (!operators.includes(op)) operators.push(op);
  });
  const ok = operators.length >= net.quorum;
  if (!ok) {
    statuses.push({
      code: 'ledger.qc.quorum-not-met',
      message: `${operators.length} distinct operator(s) with a valid receipt; the network needs ${net.quorum}`,
    });
  }
  return { ok, operators, statuses };
}
