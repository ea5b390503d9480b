/**
 * Transparency log trust policies (c2sp.org/tlog-policy): which logs are trusted, which witnesses
 * are known, and the quorum of witnesses that must cosign a checkpoint.
 *
 * ```
 * log <vkey> [<url>]
 * witness <name> <vkey> [<url>]
 * group <name> all|any|<k> <member>…
 * quorum <name>|none
 * ```
 *
 * Rules kept (§Policy file syntax): items separated by spaces and tabs; empty and `#` comment
 * lines ignored (as transparency-dev/formats does, a token starting with `#` also ends a line);
 * only tab, newline, 0x20–0x7E and non-ASCII characters; a group or the quorum refers only to
 * names defined above it; witnesses and groups share one namespace, `none` is predefined (so are
 * the keywords `all` and `any`, refused as names); each name is a group member at most once in
 * the whole file; 1 ≤ k ≤ n; no duplicate log or witness key (same public key); exactly one
 * quorum line. Log keys are plain note keys (Ed25519, the OMT ML-DSA types) or ML-DSA-44
 * subtree/v1 keys; witness keys are cosigner keys (tlog-cosignature.ts). At most 1,024 logs,
 * witnesses and groups (the spec asks for at least 32).
 *
 * The OpenMediaTrust operator network is a policy too: every operator's log is a log, every
 * operator's witness key a witness, and the quorum a group `M` of them — with `2M > N` required
 * ({@link operatorNetworkPolicy}, or `requireMajority` when parsing), so that two conflicting
 * events can never both reach a quorum.
 *
 * @example
 * ```ts
 * const policy = parsePolicy(text);
 * const r = await evaluatePolicy(policy, cosignedCheckpoint); // r.satisfied, r.witnesses
 * ```
 */
import { toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { type Checkpoint, parseCheckpoint } from './tlog-checkpoint.js';
import { parseCosignerKey, parseLogKey } from './tlog-cosignature.js';
import { type Note, type NoteVerifier, parseNote, verifyNoteSignatures } from './tlog-note.js';

/** A trusted log. */
export interface PolicyLog {
  readonly verifier: NoteVerifier;
  readonly url?: string;
}

/** A known witness. */
export interface PolicyWitness {
  readonly name: string;
  readonly verifier: NoteVerifier;
  readonly url?: string;
}

/** A k-of-n group of witnesses and groups. */
export interface PolicyGroup {
  readonly name: string;
  readonly threshold: number;
  readonly members: readonly string[];
}

/** A parsed policy. */
export interface TlogPolicy {
  readonly logs: readonly PolicyLog[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: readonly PolicyGroup[];
  /** `none`, a witness name or a group name. */
  readonly quorum: string;
}

/** Options of {@link parsePolicy}. */
export interface PolicyOptions {
  /**
   * Event networks: refuse a policy whose quorum can be met twice by disjoint witnesses — every
   * group on the quorum's path needs `2k > n`, and the quorum cannot be `none`.
   */
  readonly requireMajority?: boolean;
}

/** One finding of {@link evaluatePolicy}. */
export interface PolicyStatus {
  readonly code: string;
  readonly message: string;
  /** The key name concerned, where there is one. */
  readonly name?: string;
}

/** Result of {@link evaluatePolicy}. */
export interface PolicyEvaluation {
  /** True iff a trusted log signed, no known key's signature failed, and the quorum cosigned. */
  readonly satisfied: boolean;
  readonly checkpoint?: Checkpoint;
  readonly note?: Note;
  /** The trusted log key that signed. */
  readonly log?: NoteVerifier;
  /** Policy names of the witnesses whose cosignature verified. */
  readonly witnesses: readonly string[];
  readonly statuses: readonly PolicyStatus[];
}

const MAX_ITEMS = 1024;
const KEYWORDS = new Set(['none', 'all', 'any']);

function invalid(message: string, line?: number): OmtError {
  return new OmtError('ledger.policy.invalid', line === undefined ? message : `line ${line}: ${message}`);
}

function tokens(line: string): string[] {
  const out: string[] = [];
  for (const t of line.split(/[ \t]+/)) {
    if (t.length === 0) continue;
    if (t.startsWith('#')) break;
    out.push(t);
  }
  return out;
}

/**
 * Parses a policy file. Throws `ledger.policy.invalid` with the line number.
 * @example
 * ```ts
 * parsePolicy('log example.com/log+…\nwitness w1 w1.example+…\nquorum w1\n');
 * ```
 */
export function parsePolicy(text: string, options?: PolicyOptions): TlogPolicy {
  if (typeof text !== 'string') throw invalid('a policy is text');
  if (text.length > 1024 * 1024) throw invalid('policy is larger than 1 MiB');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0x7f)
      throw invalid(`character 0x${c.toString(16)} is not allowed`);
  }
  const logs: PolicyLog[] = [];
  const witnesses: PolicyWitness[] = [];
  const groups: PolicyGroup[] = [];
  const names = new Map<string, 'witness' | 'group'>();
  const members = new Set<string>();
  const logKeys = new Set<string>();
  const witnessKeys = new Set<string>();
  let quorum: string | undefined;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const t = tokens(raw);
    if (t.length === 0) continue;
    const [kind, ...args] = t as [string, ...string[]];
    const parseKey = (vkey: string, parse: (k: string) => NoteVerifier): NoteVerifier => {
      try {
        return parse(vkey);
      } catch (e) {
        throw invalid(`bad key: ${(e as Error).message}`, n);
      }
    };
    if (kind === 'log') {
      if (args.length < 1 || args.length > 2) throw invalid('log <vkey> [<url>]', n);
      const verifier = parseKey(args[0] as string, parseLogKey);
      const id = toHex(verifier.publicKey);
      if (logKeys.has(id)) throw invalid('duplicate log key', n);
      logKeys.add(id);
      if (logs.length >= MAX_ITEMS) throw invalid(`more than ${MAX_ITEMS} logs`, n);
      logs.push(args[1] === undefined ? { verifier } : { verifier, url: args[1] });
    } else if (kind === 'witness') {
      if (args.length < 2 || args.length > 3) throw invalid('witness <name> <vkey> [<url>]', n);
      const name = args[0] as string;
      if (KEYWORDS.has(name)) throw invalid(`invalid witness name ${name}`, n);
      if (names.has(name)) throw invalid(`duplicate component name ${name}`, n);
      const verifier = parseKey(args[1] as string, parseCosignerKey);
      const id = toHex(verifier.publicKey);
      if (witnessKeys.has(id)) throw invalid('duplicate witness key', n);
      witnessKeys.add(id);
      if (witnesses.length >= MAX_ITEMS) throw invalid(`more than ${MAX_ITEMS} witnesses`, n);
      names.set(name, 'witness');
      witnesses.push(args[2] === undefined ? { name, verifier } : { name, verifier, url: args[2] });
    } else if (kind === 'group') {
      if (args.length < 3) throw invalid('group <name> all|any|<k> <member>…', n);
      const [name, k, ...list] = args as [string, string, ...string[]];
      if (KEYWORDS.has(name)) throw invalid(`invalid group name ${name}`, n);
      if (names.has(name)) throw invalid(`duplicate component name ${name}`, n);
      for (const m of list) {
        if (!names.has(m)) throw invalid(`group member ${m} is not defined above`, n);
        if (members.has(m)) throw invalid(`${m} is already a group member`, n);
        members.add(m);
      }
      let threshold: number;
      if (k === 'all') threshold = list.length;
      else if (k === 'any') threshold = 1;
      else if (/^[1-9][0-9]{0,5}$/.test(k)) threshold = Number(k);
      else throw invalid(`invalid threshold ${k}`, n);
      if (threshold > list.length)
        throw invalid(`invalid threshold ${k}: the group has ${list.length} members`, n);
      if (groups.length >= MAX_ITEMS) throw invalid(`more than ${MAX_ITEMS} groups`, n);
      names.set(name, 'group');
      groups.push({ name, threshold, members: list });
    } else if (kind === 'quorum') {
      if (args.length !== 1) throw invalid('quorum <name>', n);
      if (quorum !== undefined) throw invalid('a policy has exactly one quorum line', n);
      const name = args[0] as string;
      if (name !== 'none' && !names.has(name)) throw invalid(`quorum component "${name}" not found`, n);
      quorum = name;
    } else {
      throw invalid(`unknown line type ${kind.slice(0, 40)}`, n);
    }
  }
  if (quorum === undefined) throw invalid('policy file must define a quorum');
  const policy: TlogPolicy = { logs, witnesses, groups, quorum };
  if (options?.requireMajority === true) checkMajority(policy);
  return policy;
}

function checkMajority(policy: TlogPolicy): void {
  if (policy.quorum === 'none') throw invalid('an event network needs a witness quorum, not none');
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  const visit = (name: string): void => {
    const g = groups.get(name);
    if (g === undefined) return;
    if (2 * g.threshold <= g.members.length) {
      throw invalid(
        `group ${g.name}: ${g.threshold} of ${g.members.length} lets two disjoint sets agree; an event network needs more than ${g.members.length / 2}`,
      );
    }
    for (const m of g.members) visit(m);
  };
  visit(policy.quorum);
}

/**
 * Formats a policy (logs, witnesses, groups, quorum; URLs kept).
 * @example `parsePolicy(formatPolicy(p))` equals `p` in content
 */
export function formatPolicy(policy: TlogPolicy): string {
  const out: string[] = [];
  for (const l of policy.logs)
    out.push(['log', l.verifier.vkey, ...(l.url === undefined ? [] : [l.url])].join(' '));
  for (const w of policy.witnesses) {
    out.push(['witness', w.name, w.verifier.vkey, ...(w.url === undefined ? [] : [w.url])].join(' '));
  }
  for (const g of policy.groups) {
    const k = g.threshold === g.members.length ? 'all' : g.threshold === 1 ? 'any' : String(g.threshold);
    out.push(['group', g.name, k, ...g.members].join(' '));
  }
  out.push(`quorum ${policy.quorum}`);
  const text = `${out.join('\n')}\n`;
  parsePolicy(text); // a policy object built by hand must still be a valid policy
  return text;
}

/** An operator of an OpenMediaTrust event network. */
export interface PolicyOperator {
  /** The operator's name = its log origin. */
  readonly name: string;
  /** vkey of its log (its name must be `name`). */
  readonly logKey: string;
  /** vkey of its witness (cosigner) key. */
  readonly witnessKey: string;
}

/**
 * The tlog-policy of an operator network: every operator's log, every operator as a witness
 * (named like the operator), one group `operators` with threshold `quorum`, and that group as the
 * quorum. Refuses `2·quorum ≤ N` and `quorum > N` with `ledger.policy.invalid`.
 *
 * @example
 * ```ts
 * const policy = operatorNetworkPolicy(network.operators, network.quorum);
 * ```
 */
export function operatorNetworkPolicy(operators: readonly PolicyOperator[], quorum: number): TlogPolicy {
  if (!Array.isArray(operators) || operators.length === 0)
    throw invalid('a network has at least one operator');
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > operators.length) {
    throw invalid(`quorum must be 1–${operators.length}`);
  }
  const lines: string[] = [];
  for (const op of operators) {
    let log: NoteVerifier;
    try {
      log = parseLogKey(op.logKey);
    } catch (e) {
      throw invalid(`operator ${op.name}: bad log key: ${(e as Error).message}`);
    }
    if (log.name !== op.name) throw invalid(`operator ${op.name}: its log key is named ${log.name}`);
    lines.push(`log ${op.logKey}`, `witness ${op.name} ${op.witnessKey}`);
  }
  lines.push(`group operators ${quorum} ${operators.map((o) => o.name).join(' ')}`, 'quorum operators');
  return parsePolicy(`${lines.join('\n')}\n`, { requireMajority: true });
}

function status(code: string, message: string, name?: string): PolicyStatus {
  return name === undefined ? { code, message } : { code, message, name };
}

/**
 * Evaluates a cosigned checkpoint against a policy: the checkpoint must be signed by a trusted
 * log named like its origin (plus `extraLogs`, for policies that leave logs to the context), no
 * signature of a known key may fail, and the witnesses whose cosignatures verify must meet the
 * quorum. Returns data; never throws for bad input.
 *
 * @example
 * ```ts
 * const r = await evaluatePolicy(policy, text);
 * if (!r.satisfied) console.log(r.statuses);
 * ```
 */
export async function evaluatePolicy(
  policy: TlogPolicy,
  signedCheckpoint: string | Uint8Array,
  extraLogs: readonly NoteVerifier[] = [],
): Promise<PolicyEvaluation> {
  const statuses: PolicyStatus[] = [];
  let note: Note;
  let checkpoint: Checkpoint;
  try {
    note = parseNote(signedCheckpoint);
    checkpoint = parseCheckpoint(note.text);
  } catch (e) {
    const code = e instanceof OmtError ? e.code : 'ledger.checkpoint.malformed';
    return { satisfied: false, witnesses: [], statuses: [status(code, (e as Error).message)] };
  }
  const logs = [...policy.logs.map((l) => l.verifier), ...extraLogs].filter(
    (v) => v.name === checkpoint.origin,
  );
  let log: NoteVerifier | undefined;
  if (logs.length === 0) {
    statuses.push(
      status('ledger.policy.unknown-log', `no trusted log for origin ${checkpoint.origin.slice(0, 200)}`),
    );
  } else {
    try {
      const v = await verifyNoteSignatures(note, logs);
      for (const bad of v.invalid) {
        statuses.push(
          status('ledger.note.signature-invalid', 'the log signature does not verify', bad.verifier.name),
        );
      }
      if (v.invalid.length === 0 && v.verified.length === 0) {
        statuses.push(
          status('ledger.note.unverified', 'no signature of a trusted log key', checkpoint.origin),
        );
      }
      log = v.invalid.length === 0 ? v.verified[0]?.verifier : undefined;
    } catch (e) {
      statuses.push(status(e instanceof OmtError ? e.code : 'ledger.policy.invalid', (e as Error).message));
    }
  }
  const byVkey = new Map(policy.witnesses.map((w) => [w.verifier.vkey, w.name]));
  const cosigned = new Set<string>();
  try {
    const v = await verifyNoteSignatures(
      note,
      policy.witnesses.map((w) => w.verifier),
    );
    for (const ok of v.verified) cosigned.add(byVkey.get(ok.verifier.vkey) as string);
    for (const bad of v.invalid) {
      statuses.push(
        status(
          'ledger.note.signature-invalid',
          'a witness cosignature does not verify',
          byVkey.get(bad.verifier.vkey),
        ),
      );
    }
  } catch (e) {
    statuses.push(status(e instanceof OmtError ? e.code : 'ledger.policy.invalid', (e as Error).message));
  }
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  const met = (name: string): boolean => {
    if (name === 'none') return true;
    const g = groups.get(name);
    if (g === undefined) return cosigned.has(name);
    let count = 0;
    for (const m of g.members) if (met(m)) count++;
    return count >= g.threshold;
  };
  if (!met(policy.quorum)) {
    statuses.push(
      status(
        'ledger.policy.quorum-not-met',
        `the witnesses that cosigned do not meet quorum ${policy.quorum}`,
      ),
    );
  }
  const witnesses = policy.witnesses.map((w) => w.name).filter((n) => cosigned.has(n));
  return {
    satisfied: statuses.length === 0 && log !== undefined,
    checkpoint,
    note,
    ...(log === undefined ? {} : { log }),
    witnesses,
    statuses,
  };
}
