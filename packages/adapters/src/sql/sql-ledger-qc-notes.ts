/**
 * Compact storage of quorum certificates (migration `0008_ledger_qc_notes`). A QC is JCS JSON
 * `{"chain","event","height","receipts":[{"checkpoint":"<signed note>",…},…]}` and the events of
 * one batch carry the same few notes (~4.5 KB each with ML-DSA-65), so `SqlEventStore` stores
 * each note once in `omt_ledger_qc_notes` and the QC with references:
 *
 * - compacted: `~1:` + the QC text with every checkpoint value `"checkpoint":"<escaped note>"`
 *   replaced by `"checkpoint":"#<sha256 hex of the escaped note's UTF-8>"`;
 * - verbatim: `~0:` + the text, for a text that starts with `~` (so it is not taken for a marked
 *   one) and holds nothing to compact, or that compaction would not give back exactly;
 * - anything else (a legacy row from before 0008, or a text without checkpoints): as is.
 *
 * No JSON text starts with `~`; a QC the operator stores is always JSON, so only texts the port
 * accepts but no operator writes take the `~0:` form. The values are found lexically: in valid
 * JSON an unescaped `"checkpoint":"` can only be a key followed by a string value. Whatever the
 * text, compaction is checked by restoring it before it is stored, so a round trip is exact.
 */
import { createHash } from 'node:crypto';

/** Marks a compacted stored QC text. */
export const COMPACT_MARK = '~1:';
/** Marks a stored QC text kept verbatim (the original follows). */
export const VERBATIM_MARK = '~0:';

const KEY = '"checkpoint":"';
const BACKSLASH = 0x5c;
const REF_RE = /^#[0-9a-f]{64}$/;
/** A QC with more checkpoint values than this is stored verbatim (a valid QC has ≤ 256 receipts). */
const MAX_REFS_PER_QC = 1024;

/**
 * The checkpoint values of `text` from index `from`: [start, end) pairs of the JSON-escaped text
 * between the quotes, in order. Equivalent to the regex `/"checkpoint":"((?:[^"\\]|\\[^])*)"/g`
 * (a value ends at the first quote not escaped by an odd run of backslashes), ~4× faster.
 */
export function checkpointSpans(text: string, from: number): number[] {
  const spans: number[] = [];
  let i = text.indexOf(KEY, from);
  while (i !== -1) {
    const start = i + KEY.length;
    let end = text.indexOf('"', start);
    for (;;) {
      if (end === -1) return spans; // unterminated: no later key can be terminated either
      let b = end;
      while (b > start && text.charCodeAt(b - 1) === BACKSLASH) b--;
      if ((end - b) % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    spans.push(start, end);
    i = text.indexOf(KEY, end + 1);
  }
  return spans;
}

/** SHA-256 (lower-case hex) of a note's UTF-8, as `omt_ledger_qc_notes.hash` (its CHECK) has it. */
export function noteHash(note: string): string {
  return createHash('sha256').update(note, 'utf8').digest('hex');
}

/** A QC as stored: the column text and the notes (hash → escaped note) it references. */
export interface StoredQc {
  readonly text: string;
  readonly notes: ReadonlyMap<string, string>;
}

const NO_NOTES: ReadonlyMap<string, string> = new Map();

function verbatim(qc: string): StoredQc {
  return { text: qc.startsWith('~') ? VERBATIM_MARK + qc : qc, notes: NO_NOTES };
}

/**
 * The stored form of a QC text. `hashOf` gives a note's {@link noteHash} (the caller may cache).
 * @example `const { text, notes } = compactQc(event.qc, noteHash);`
 */
export function compactQc(qc: string, hashOf: (note: string) => string): StoredQc {
  const spans = checkpointSpans(qc, 0);
  if (spans.length === 0 || spans.length > 2 * MAX_REFS_PER_QC) return verbatim(qc);
  const notes = new Map<string, string>();
  let out = COMPACT_MARK;
  let last = 0;
  for (let k = 0; k < spans.length; k += 2) {
    const start = spans[k] as number;
    const end = spans[k + 1] as number;
    const note = qc.slice(start, end);
    const hash = hashOf(note);
    notes.set(hash, note);
    out += `${qc.slice(last, start)}#${hash}`;
    last = end;
  }
  out += qc.slice(last);
  // The check the format relies on: restoring gives back the original, character for character.
  const back = restoreQc(out, (h) => notes.get(h));
  return back === qc ? { text: out, notes } : verbatim(qc);
}

/**
 * The references of a stored QC text (note hashes, in order, repeats included): empty for a
 * legacy or verbatim text; `undefined` when a compacted text holds a value that is not a
 * reference (a corrupted row).
 */
export function qcReferences(stored: string): string[] | undefined {
  if (!stored.startsWith(COMPACT_MARK)) return [];
  const spans = checkpointSpans(stored, COMPACT_MARK.length);
  const refs: string[] = [];
  for (let k = 0; k < spans.length; k += 2) {
    const value = stored.slice(spans[k], spans[k + 1]);
    if (!REF_RE.test(value)) return undefined;
    refs.push(value.slice(1));
  }
  return refs;
}

/**
 * The original QC text of a stored one; `undefined` when a compacted text references a note
 * `noteOf` does not know, or holds a value that is not a reference.
 */
export function restoreQc(stored: string, noteOf: (hash: string) => string | undefined): string | undefined {
  if (stored.startsWith(VERBATIM_MARK)) return stored.slice(VERBATIM_MARK.length);
  if (!stored.startsWith(COMPACT_MARK)) return stored;
  const spans = checkpointSpans(stored, COMPACT_MARK.length);
  let out = '';
  let last = COMPACT_MARK.length;
  for (let k = 0; k < spans.length; k += 2) {
    const start = spans[k] as number;
    const end = spans[k + 1] as number;
    const value = stored.slice(start, end);
    if (!REF_RE.test(value)) return undefined;
    const note = noteOf(value.slice(1));
    if (note === undefined) return undefined;
    out += stored.slice(last, start) + note;
    last = end;
  }
  return out + stored.slice(last);
}

/**
 * Notes by hash, bounded by their total length (FIFO eviction). Content-addressed, so an entry
 * is true whatever the database holds; it saves fetching notes on reads. Also remembers the last
 * few notes hashed, so the events of one batch (same notes) hash each note once: comparing a
 * note with `===` costs far less than hashing it or a `Map` lookup keyed by its text.
 */
export class NoteCache {
  readonly #byHash = new Map<string, string>();
  readonly #maxChars: number;
  #chars = 0;
  readonly #recent: { note: string; hash: string }[] = [];

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  get(hash: string): string | undefined {
    return this.#byHash.get(hash);
  }

  add(hash: string, note: string): void {
    if (note.length > this.#maxChars || this.#byHash.has(hash)) return;
    this.#byHash.set(hash, note);
    this.#chars += note.length;
    for (const [h, n] of this.#byHash) {
      if (this.#chars <= this.#maxChars) break;
      this.#byHash.delete(h);
      this.#chars -= n.length;
    }
  }

  /** {@link noteHash} of a note, from the recently hashed ones when it is one of them. */
  hashOf(note: string): string {
    const recent = this.#recent;
    for (const r of recent) if (r.note.length === note.length && r.note === note) return r.hash;
    const hash = noteHash(note);
    if (recent.length >= 16) recent.pop();
    recent.unshift({ note, hash });
    this.add(hash, note);
    return hash;
  }
}
