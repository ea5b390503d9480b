/**
 * Wire compaction of operator messages: the receipts of one batch all carry the same signed
 * checkpoint note (several KB with an ML-DSA signature), so a commit of 100 events would repeat
 * each of M notes 100 times. On the wire every receipt's `checkpoint` becomes `"#<n>"`, an index
 * into one `notes` list; the other side restores the texts before anything is parsed or verified.
 * A real note never starts with `#` (its first line is the log origin).
 */

interface Receipt {
  checkpoint?: unknown;
}

function receiptsOf(value: unknown): Receipt[] {
  const out: Receipt[] = [];
  const qcReceipts = (qc: unknown): void => {
    const list = (qc as { receipts?: unknown } | null)?.receipts;
    if (Array.isArray(list))
      for (const r of list) if (typeof r === 'object' && r !== null) out.push(r as Receipt);
  };
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'object' || item === null) continue;
      const it = item as { qc?: unknown; receipt?: unknown };
      qcReceipts(it.qc);
      if (typeof it.receipt === 'object' && it.receipt !== null) out.push(it.receipt as Receipt);
    }
  }
  return out;
}

/**
 * Replaces receipt checkpoints in `items` (commit entries, vote answers, chain entries) by
 * references. The input is left as it is: only the objects on the way to a receipt (the item, its
 * QC, the receipts list, each receipt) are copied, the rest (events, proofs) is shared.
 */
export function packCheckpoints<T>(items: readonly T[]): { items: T[]; notes: string[] } {
  const notes: string[] = [];
  const index = new Map<string, number>();
  const packReceipt = (r: unknown): unknown => {
    if (typeof r !== 'object' || r === null) return r;
    const text = (r as Receipt).checkpoint;
    if (typeof text !== 'string') return r;
    let n = index.get(text);
    if (n === undefined) {
      n = notes.length;
      notes.push(text);
      index.set(text, n);
    }
    return { ...r, checkpoint: `#${n}` };
  };
  const packed = items.map((item): T => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const it = item as { qc?: unknown; receipt?: unknown };
    let out: Record<string, unknown> | undefined;
    const qc = it.qc as { receipts?: unknown } | null | undefined;
    if (typeof qc === 'object' && qc !== null && Array.isArray(qc.receipts)) {
      out = { ...item, qc: { ...qc, receipts: qc.receipts.map(packReceipt) } };
    }
    if (typeof it.receipt === 'object' && it.receipt !== null) {
      out = { ...(out ?? item), receipt: packReceipt(it.receipt) };
    }
    return (out ?? item) as T;
  });
  return { items: packed, notes };
}

/** Restores the texts in place; references out of range are left as they are (they fail verification). */
export function unpackCheckpoints<T>(items: T[], notes: unknown): T[] {
  if (!Array.isArray(notes)) return items;
  for (const r of receiptsOf(items)) {
    if (typeof r.checkpoint !== 'string' || !r.checkpoint.startsWith('#')) continue;
    const n = Number(r.checkpoint.slice(1));
    const text = Number.isInteger(n) ? notes[n] : undefined;
    if (typeof text === 'string') r.checkpoint = text;
  }
  return items;
}
