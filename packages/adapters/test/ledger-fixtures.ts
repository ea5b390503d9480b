import { toHex } from '@omt/core/bytes';
import type { CommittedEvent } from '@omt/ledger/ports';

/** `n` random bytes as lower-case hex. */
export function randomHex(n: number): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}

/**
 * A committed `transfer` event at `height` of `chain` with a random hash; `qc` is its QC text, or
 * makes it from the hash (default: an empty receipt list).
 */
export function eventAt(
  chain: string,
  height: number,
  prev: string | null,
  qc: string | ((hash: string) => string) = '{"receipts":[]}',
): CommittedEvent {
  const hash = randomHex(32);
  return {
    chain,
    height,
    hash,
    prev,
    machine: 'omt.item/v1',
    type: 'transfer',
    event: JSON.stringify({ chain, height, hash }),
    qc: typeof qc === 'function' ? qc(hash) : qc,
    state: '{"state":"owned"}',
    committedAt: new Date('2026-12-05T10:00:00.000Z'),
  };
}
