/**
 * Client verification of an event chain (docs/event-chains.md "Client verification"): ask K
 * operators at once under a deadline, verify everything each one serves — event hashes and links,
 * actor signatures, the replayed state machine, every quorum certificate — look for equivocation
 * across all the receipts and checkpoints seen, check each operator's checkpoints are consistent,
 * and answer authentic / not-authentic / undecidable with reasons. Browser-safe.
 */
import { fromBase64 } from '@omt/core/bytes';
import { verifyConsistency } from '@omt/core/merkle';
import type { HeaderSource } from './anchor.js';
import {
  type AnchoredCheckpoint,
  parseAnchoredCheckpoint,
  verifyCheckpointAnchor,
} from './checkpoint-anchor.js';
import { type EquivocationEvidence, findEquivocation } from './equivocation.js';
import { type ChainEvent, eventHash, parseEvent } from './event.js';
import { withDeadline } from './event-client.js';
import { authorityKeyIds, type EventNetwork } from './event-network.js';
import { type ApplyResult, applyEvent, type ChainState, type MachineRegistry } from './machine.js';
import type { ChainView, OperatorApi } from './operator-api.js';
import { logVerifier, type OperatorReceipt, verifyCheckpointCached } from './operator-receipt.js';
import {
  parseQuorumCertificate,
  type QuorumCertificate,
  verifyQuorumCertificate,
} from './quorum-certificate.js';
import type { Checkpoint } from './tlog-checkpoint.js';

/** The answer. */
export type ChainVerdictKind = 'authentic' | 'not-authentic' | 'undecidable';

/** Why. `operator` names the operator a reason is about, when it is about one. */
export interface VerdictReason {
  readonly code: string;
  readonly message: string;
  readonly operator?: string;
}

/** Result of {@link verifyChain}. */
export interface ChainVerdict {
  readonly verdict: ChainVerdictKind;
  readonly chain: string;
  /** Head height of the authentic history (−1 when the chain has no event); the best seen otherwise. */
  readonly height: number;
  /** Head event hash of the authentic history. */
  readonly head?: string;
  /** The replayed state at the head (authentic only). */
  readonly state?: ChainState;
  readonly reasons: readonly VerdictReason[];
  /** Operators whose served history verified and matched the head. */
  readonly agreeing: readonly string[];
  /** Portable proofs of operators signing conflicting statements. */
  readonly evidence: readonly EquivocationEvidence[];
  /** The verified events of the authentic history, in height order. */
  readonly events?: readonly unknown[];
  /** Anchored checkpoints that verified (with `headers`). */
  readonly anchors: readonly VerifiedAnchor[];
}

/** Options of {@link verifyChain}. */
export interface VerifyChainOptions {
  readonly network: EventNetwork;
  readonly machines: MachineRegistry;
  /** The operators to ask (K of them; default: all those given). */
  readonly operators: readonly OperatorApi[];
  /** Overall deadline for the answers (default 3,000 ms); slower operators count as silent. */
  readonly deadlineMs?: number;
  /** Verifier clock (event times may not lead it by more than the machines' skew). */
  readonly now?: Date;
  /**
   * Block headers the client trusts (its own header chain or a header service): with them, the
   * anchored checkpoints operators serve are verified and reported in `anchors`.
   */
  readonly headers?: HeaderSource;
}

/** An operator checkpoint anchored on chain, as the client verified it. */
export interface VerifiedAnchor {
  readonly operator: string;
  /** Log size the anchor covers. */
  readonly size: number;
  readonly blockHeight?: number;
  /** Block time, seconds since the epoch. */
  readonly blockTime?: number;
  /** How many events of the authentic history this operator had voted for within that size. */
  readonly events: number;
}

interface ViewResult {
  readonly operator: string;
  readonly ok: boolean;
  readonly height: number;
  readonly head?: string;
  readonly state?: ChainState;
  readonly events: readonly unknown[];
  readonly reasons: VerdictReason[];
  readonly receipts: readonly OperatorReceipt[];
  readonly certificates: readonly QuorumCertificate[];
  readonly checkpoint?: string;
  readonly anchors?: readonly unknown[];
}

/**
 * Verifies one chain against the network.
 * - `authentic`: at least M operators served histories that fully verify and agree on the head,
 *   and no conflicting quorum certificates exist for any height;
 * - `not-authentic`: two valid quorum certificates for different events at one height (the
 *   network forked), or at least M operators answered and every history served verified false
 *   (a forged signature, a broken link, an illegal transition, a bad quorum certificate);
 * - `undecidable`: too few answers before the deadline.
 * Reasons always say what was found, per operator; equivocation evidence is returned whatever
 * the verdict.
 * @example
 * ```ts
 * const v = await verifyChain({ network, machines, operators }, 'item:42');
 * if (v.verdict !== 'authentic') console.log(v.reasons);
 * ```
 */
export async function verifyChain(options: VerifyChainOptions, chain: string): Promise<ChainVerdict> {
  const { network } = options;
  const deadline = options.deadlineMs ?? 3_000;
  const reasons: VerdictReason[] = [];
  const views = await Promise.all(
    options.operators.map(async (op) => {
      try {
        return { op, view: await withDeadline(deadline, (signal) => fetchAll(op, chain, signal)) };
      } catch (e) {
        const code =
          typeof (e as { code?: unknown }).code === 'string'
            ? (e as { code: string }).code
            : 'ledger.operator.unavailable';
        reasons.push({ code, message: e instanceof Error ? e.message : String(e), operator: op.name });
        return undefined;
      }
    }),
  );
  const qcCache = new Map<string, Promise<boolean>>();
  const replays = new Map<string, ApplyResult>();
  const results: ViewResult[] = [];
  for (const v of views) {
    if (v === undefined) continue;
    const r = await verifyView(options, v.op.name, v.view, qcCache, replays);
    results.push(r);
    reasons.push(...r.reasons);
  }

  // Equivocation across everything seen: receipts in every QC and every served checkpoint.
  const certificates = results.flatMap((r) => r.certificates);
  const checkpoints = results.flatMap((r) => (r.checkpoint === undefined ? [] : [r.checkpoint]));
  const evidence = await findEquivocation({ certificates, checkpoints }, network);
  for (const e of evidence)
    reasons.push({
      code: 'ledger.equivocation',
      message: `operator ${e.operator} signed conflicting statements (${e.kind})`,
      operator: e.operator,
    });

  // Anchored checkpoints (with trusted headers): verified, then checked for consistency with
  // everything else seen of that operator's log.
  const anchored: {
    operator: string;
    checkpoint: string;
    size: number;
    blockHeight?: number;
    blockTime?: number;
  }[] = [];
  if (options.headers !== undefined) {
    const seenAnchors = new Set<string>();
    for (const r of results) {
      const key = network.operators.find((o) => o.name === r.operator)?.logKey;
      for (const raw of r.anchors ?? []) {
        let a: AnchoredCheckpoint;
        try {
          a = parseAnchoredCheckpoint(raw);
        } catch (e) {
          reasons.push({ code: 'ledger.anchor.schema', message: (e as Error).message, operator: r.operator });
          continue;
        }
        if (key === undefined || seenAnchors.has(a.checkpoint)) continue;
        seenAnchors.add(a.checkpoint);
        const v = await verifyCheckpointAnchor(a, key, { headers: options.headers });
        if (!v.ok) {
          for (const s of v.statuses)
            reasons.push({
              code: s.code,
              message: `anchored checkpoint: ${s.message}`,
              operator: r.operator,
            });
          continue;
        }
        anchored.push({
          operator: r.operator,
          checkpoint: a.checkpoint,
          size: v.size as number,
          ...(v.blockHeight === undefined ? {} : { blockHeight: v.blockHeight }),
          ...(v.blockTime === undefined ? {} : { blockTime: v.blockTime }),
        });
      }
    }
  }

  // Consistency of each operator's checkpoints seen (ask the operator for the proofs).
  reasons.push(...(await checkConsistency(options, results, deadline, anchored)));

  // Forks: two verified histories with different events at one height.
  const fork = findFork(results.filter((r) => r.ok));
  if (fork !== undefined) reasons.push(fork);

  const groups = new Map<string, ViewResult[]>();
  for (const r of results.filter((x) => x.ok)) {
    const key = `${r.height}:${r.head ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const best =
    [...groups.values()].sort(
      (a, b) => b.length - a.length || (b[0]?.height ?? 0) - (a[0]?.height ?? 0),
    )[0] ?? [];
  const top = best[0];
  const answered = results.length;
  let verdict: ChainVerdictKind;
  if (fork !== undefined) verdict = 'not-authentic';
  else if (best.length >= network.quorum) verdict = 'authentic';
  else if (
    answered >= network.quorum &&
    results.every((r) => !r.ok && r.reasons.some((x) => PROVEN_FALSE.has(x.code)))
  )
    // Enough operators answered, and every history served verified false.
    verdict = 'not-authentic';
  else verdict = 'undecidable';
  if (verdict === 'undecidable')
    reasons.push({
      code: 'ledger.quorum.not-reached',
      message: `${best.length} operator(s) agreed on a verified history before the deadline; ${network.quorum} are needed`,
    });
  return {
    verdict,
    chain,
    height: top?.height ?? Math.max(-1, ...results.map((r) => r.height)),
    ...(top?.head === undefined ? {} : { head: top.head }),
    ...(verdict === 'authentic' && top?.state !== undefined ? { state: top.state } : {}),
    reasons,
    agreeing: best.map((r) => r.operator),
    evidence,
    ...(verdict === 'authentic' && top !== undefined ? { events: top.events } : {}),
    anchors: anchored
      .filter((a) => !reasons.some((x) => x.operator === a.operator && x.code === 'ledger.log.inconsistent'))
      .map((a) => ({
        operator: a.operator,
        size: a.size,
        ...(a.blockHeight === undefined ? {} : { blockHeight: a.blockHeight }),
        ...(a.blockTime === undefined ? {} : { blockTime: a.blockTime }),
        events: (top?.certificates ?? []).filter((qc) =>
          qc.receipts.some((x) => x.operator === a.operator && x.index < a.size),
        ).length,
      })),
  };
}

/** Codes that mean something verified false (not merely missing). */
const PROVEN_FALSE = new Set([
  'ledger.event.malformed',
  'ledger.event.signature',
  'ledger.event.prev',
  'ledger.event.height',
  'ledger.event.transition',
  'ledger.event.signer',
  'ledger.event.schema',
  'ledger.qc.invalid',
  'ledger.qc.mismatch',
  'ledger.view.invalid',
]);

async function fetchAll(op: OperatorApi, chain: string, signal: AbortSignal): Promise<ChainView> {
  const first = await op.chain(chain, { signal });
  const events = [...first.events];
  while (events.length < first.height + 1 && events.length > 0 && events.length % 1000 === 0) {
    const more = await op.chain(chain, { fromHeight: events.length, signal });
    if (more.events.length === 0) break;
    events.push(...more.events);
  }
  return { ...first, events };
}

async function verifyView(
  options: VerifyChainOptions,
  operator: string,
  view: ChainView,
  qcCache: Map<string, Promise<boolean>>,
  replays: Map<string, ApplyResult>,
): Promise<ViewResult> {
  const reasons: VerdictReason[] = [];
  const receipts: OperatorReceipt[] = [];
  const certificates: QuorumCertificate[] = [];
  const fail = (code: string, message: string): ViewResult => {
    reasons.push({ code, message, operator });
    return { operator, ok: false, height: view?.height ?? -1, events: [], reasons, receipts, certificates };
  };
  if (
    typeof view !== 'object' ||
    view === null ||
    !Array.isArray(view.events) ||
    !Number.isSafeInteger(view.height)
  )
    return fail('ledger.view.invalid', 'the operator served a malformed chain view');
  if (view.chain !== undefined && view.chain !== '' && typeof view.chain !== 'string')
    return fail('ledger.view.invalid', 'the operator served a malformed chain view');
  if (view.events.length !== view.height + 1)
    return fail(
      'ledger.view.invalid',
      `the operator claims head ${view.height} but served ${view.events.length} events`,
    );
  const env = {
    authorities: authorityKeyIds(options.network),
    ...(options.now === undefined ? {} : { now: options.now }),
  };
  let state: ChainState | undefined;
  const events: unknown[] = [];
  for (const [h, entry] of view.events.entries()) {
    let event: ChainEvent;
    let qc: QuorumCertificate;
    try {
      event = parseEvent(entry.event);
      qc = parseQuorumCertificate(entry.qc);
    } catch (e) {
      return fail('ledger.event.malformed', `height ${h}: ${(e as Error).message}`);
    }
    if (event.height !== h) return fail('ledger.event.height', `entry ${h} holds height ${event.height}`);
    const hash = eventHash(event);
    if (qc.event !== hash || qc.chain !== event.chain || qc.height !== event.height)
      return fail('ledger.qc.mismatch', `height ${h}: the quorum certificate is for another event`);
    receipts.push(...qc.receipts);
    certificates.push(qc);
    // Operators serve the same certificate for an event: check each once. The parsed QC's
    // members come in the parser's order, so JSON text is a cheap key (canonical JCS of three
    // ~4.5 KB notes per event was most of this loop); a different text only costs a re-check.
    const key = JSON.stringify(qc);
    let valid = qcCache.get(key);
    if (valid === undefined) {
      valid = verifyQuorumCertificate(qc, options.network).then((r) => {
        if (!r.ok)
          reasons.push({
            code: 'ledger.qc.invalid',
            message: `height ${h}: ${r.statuses.map((s) => s.message).join('; ')}`,
            operator,
          });
        return r.ok;
      });
      qcCache.set(key, valid);
    }
    if (!(await valid))
      return fail('ledger.qc.invalid', `height ${h}: the quorum certificate does not verify`);
    const machine = options.machines.findMachine(event.machine);
    if (machine === undefined)
      return fail('ledger.machine.unknown', `height ${h}: unknown machine ${event.machine}`);
    // Honest operators serve the same history: replay each (head, event) once per verification.
    const replayKey = `${state?.head ?? ''}/${hash}`;
    const replayed = replays.get(replayKey);
    const r = replayed ?? (await applyEvent(machine, state, event, env));
    if (replayed === undefined && r.ok) replays.set(replayKey, r);
    if (!r.ok) {
      const first = r.statuses[0];
      return fail(
        first?.code ?? 'ledger.event.transition',
        `height ${h}: ${r.statuses.map((s) => s.message).join('; ')}`,
      );
    }
    state = r.state;
    events.push(r.event);
  }
  if (typeof view.checkpoint === 'string' && view.checkpoint.length > 0) {
    const known = options.network.operators.find((o) => o.name === operator);
    if (known !== undefined) {
      const ok = await verifyCheckpointCached(view.checkpoint, logVerifier(known)).then(
        () => true,
        () => false,
      );
      if (!ok)
        reasons.push({
          code: 'ledger.checkpoint.invalid',
          message: 'its latest checkpoint does not verify',
          operator,
        });
    }
  }
  return {
    operator,
    ok: true,
    height: view.height,
    ...(state === undefined ? {} : { head: state.head, state }),
    events,
    reasons,
    receipts,
    certificates,
    ...(typeof view.checkpoint === 'string' && view.checkpoint.length > 0
      ? { checkpoint: view.checkpoint }
      : {}),
    ...(Array.isArray(view.anchors) ? { anchors: view.anchors.slice(0, 64) } : {}),
  };
}

function findFork(results: readonly ViewResult[]): VerdictReason | undefined {
  const byHeight = new Map<number, string>();
  for (const r of results) {
    for (const e of r.events as { height: number }[]) {
      const hash = eventHash(e as Parameters<typeof eventHash>[0]);
      const seen = byHeight.get(e.height);
      if (seen !== undefined && seen !== hash)
        return {
          code: 'ledger.chain.fork',
          message: `two events at height ${e.height} both carry valid quorum certificates: the network broke its quorum rule`,
        };
      byHeight.set(e.height, hash);
    }
  }
  return undefined;
}

/** For every operator, checks that the checkpoints of its log seen anywhere are consistent. */
async function checkConsistency(
  options: VerifyChainOptions,
  results: readonly ViewResult[],
  deadline: number,
  anchored: readonly { readonly operator: string; readonly checkpoint: string }[],
): Promise<VerdictReason[]> {
  const reasons: VerdictReason[] = [];
  const seen = new Map<string, Map<number, Uint8Array>>();
  // Only checkpoints signed by the operator they name count: a forged receipt served by another
  // operator must not get an honest operator asked for (and blamed over) a log it never had.
  // Receipts of one batch share their signed note text, so each is parsed and checked once.
  const texts = new Map<string, Set<string>>();
  const note = (operator: string, text: string): void => {
    if (typeof text !== 'string') return;
    const set = texts.get(operator) ?? new Set<string>();
    set.add(text);
    texts.set(operator, set);
  };
  for (const r of results) {
    for (const rc of r.receipts) note(rc.operator, rc.checkpoint);
    if (r.checkpoint !== undefined) note(r.operator, r.checkpoint);
  }
  for (const a of anchored) note(a.operator, a.checkpoint);
  await Promise.all(
    [...texts].map(async ([operator, set]) => {
      const known = options.network.operators.find((o) => o.name === operator);
      if (known === undefined) return;
      const key = logVerifier(known);
      for (const text of set) {
        let cp: Checkpoint;
        try {
          cp = (await verifyCheckpointCached(text, key)).checkpoint;
        } catch {
          continue; // malformed or unsigned: reported where it was served (QC or view checks)
        }
        if (cp.origin !== operator) continue;
        const m = seen.get(operator) ?? new Map<number, Uint8Array>();
        m.set(cp.size, cp.root);
        seen.set(operator, m);
      }
    }),
  );
  await Promise.all(
    [...seen.entries()].map(async ([name, sizes]) => {
      const op = options.operators.find((o) => o.name === name);
      const ordered = [...sizes.entries()].filter(([size]) => size > 0).sort((a, b) => a[0] - b[0]);
      if (op === undefined || ordered.length < 2) return;
      // Every checkpoint seen must be a prefix of the largest one: one proof from each size to
      // it, fetched in one call where the operator offers it.
      const [top, topRoot] = ordered[ordered.length - 1] as [number, Uint8Array];
      const lower = ordered.slice(0, -1);
      try {
        const proofs = await withDeadline(deadline, (signal) =>
          op.consistencyMany !== undefined
            ? op.consistencyMany(
                lower.map(([s]) => s),
                top,
                signal,
              )
            : Promise.all(lower.map(([s]) => op.consistency(s, top, signal))),
        );
        lower.forEach(([s, root], i) => {
          const proof = (proofs[i] ?? []).map(fromBase64);
          if (!verifyConsistency(s, top, root, topRoot, proof))
            reasons.push({
              code: 'ledger.log.inconsistent',
              message: `its checkpoints ${s} → ${top} are not consistent`,
              operator: name,
            });
        });
      } catch (e) {
        reasons.push({
          code: 'ledger.log.unchecked',
          message: `consistency up to ${top} could not be checked: ${e instanceof Error ? e.message : String(e)}`,
          operator: name,
        });
      }
    }),
  );
  return reasons;
}
