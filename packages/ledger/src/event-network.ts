import { OmtError } from '@omt/core/errors';
import { parseJson } from '@omt/core/jcs';
import * as z from 'zod/mini';
import { EVENT_ALGS, type EventAlg, type Party, partyKeyId } from './event.js';

/** One operator as clients know it. */
export interface NetworkOperator {
  /** Its name: the origin line of its log's checkpoints, e.g. `op1.omt.local`. */
  readonly name: string;
  /** Base URL of its HTTP API. */
  readonly url: string;
  /** Verifier key of its log (signed-note vkey text). */
  readonly logKey: string;
  /** Verifier key it cosigns other logs' checkpoints with (signed-note vkey text). */
  readonly witnessKey: string;
}

/**
 * An operator network (`network.json`): who the operators are, how many must agree, and the
 * named authorities the state machines refer to (`authority.registrar`, `authority.escrow`, …).
 */
export interface EventNetwork {
  readonly version: 1;
  readonly name: string;
  /** M: receipts from this many distinct operators make an event final (2M > N). */
  readonly quorum: number;
  readonly operators: readonly NetworkOperator[];
  /** Authority name → party. */
  readonly authorities: Readonly<Record<string, Party>>;
  /** The payment provider operators check invoices with (development networks: the test service). */
  readonly payments?: { readonly kind: 'test-service'; readonly url: string } | undefined;
}

const NAME_RE = /^[a-z0-9][a-z0-9.-]{0,127}$/;
const partySchema = z.object({
  alg: z.enum(EVENT_ALGS as [EventAlg, ...EventAlg[]]),
  pub: z.string().check(z.regex(/^[A-Za-z0-9_-]{16,8000}$/)),
});
const networkSchema = z.object({
  version: z.literal(1),
  name: z.string().check(z.regex(NAME_RE)),
  quorum: z.number().check(z.int(), z.gte(1), z.lte(64)),
  operators: z
    .array(
      z.object({
        name: z.string().check(z.regex(NAME_RE)),
        url: z.string().check(z.maxLength(2048)),
        logKey: z.string().check(z.minLength(8), z.maxLength(8192)),
        witnessKey: z.string().check(z.minLength(8), z.maxLength(8192)),
      }),
    )
    .check(z.minLength(1), z.maxLength(64)),
  authorities: z.record(z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/)), partySchema),
  payments: z.optional(
    z.object({ kind: z.literal('test-service'), url: z.string().check(z.maxLength(2048)) }),
  ),
});

function invalid(message: string, cause?: unknown): OmtError {
  return new OmtError('ledger.network.invalid', message, cause === undefined ? undefined : { cause });
}

/**
 * Parses and checks a network file (JSON text or value): the schema, unique operator names and
 * URLs, http(s) URLs, parseable authority keys, and a quorum that makes one outcome per chain
 * height certain — `N/2 < M ≤ N` (two quorums always share an operator). Anything else throws
 * `ledger.network.invalid`.
 * @example
 * ```ts
 * const network = parseEventNetwork(await readFile('network.json', 'utf8'));
 * ```
 */
export function parseEventNetwork(input: unknown): EventNetwork {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = parseJson(input);
    } catch (e) {
      throw invalid('the network file is not JSON', e);
    }
  }
  const r = z.safeParse(networkSchema, value);
  if (!r.success)
    throw invalid(
      `the network file is malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const n = r.data;
  const names = new Set<string>();
  const urls = new Set<string>();
  for (const op of n.operators) {
    if (names.has(op.name)) throw invalid(`operator ${op.name} is listed twice`);
    names.add(op.name);
    let url: URL;
    try {
      url = new URL(op.url);
    } catch (e) {
      throw invalid(`operator ${op.name}: bad URL`, e);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw invalid(`operator ${op.name}: URL must be http(s)`);
    if (urls.has(url.origin)) throw invalid(`operator ${op.name}: URL ${url.origin} is used twice`);
    urls.add(url.origin);
  }
  const total = n.operators.length;
  if (n.quorum > total) throw invalid(`quorum ${n.quorum} exceeds the ${total} operators`);
  if (2 * n.quorum <= total)
    throw invalid(
      `quorum ${n.quorum} of ${total} lets two conflicting events both be final: need more than ${total / 2}`,
    );
  for (const [name, party] of Object.entries(n.authorities)) {
    try {
      partyKeyId(party as Party);
    } catch (e) {
      throw invalid(`authority ${name}: bad key`, e);
    }
  }
  return n as EventNetwork;
}

/** The keyIds of the network's authorities (what `env.authorities` of the machines needs). */
export function authorityKeyIds(network: EventNetwork): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, party] of Object.entries(network.authorities)) out[name] = partyKeyId(party);
  return out;
}
