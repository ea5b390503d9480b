import { equalBytes, isBytes } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import type { WitnessStore } from './ports.js';

type State = { readonly size: number; readonly root: Uint8Array };

function copy(s: State): State {
  return { size: s.size, root: s.root.slice() };
}

function checkState(s: State, what: string): State {
  if (typeof s !== 'object' || s === null || !Number.isSafeInteger(s.size) || s.size < 0) {
    throw new OmtError('ledger.witness.invalid', `${what}: size must be a safe integer ≥ 0`);
  }
  if (!isBytes(s.root) || s.root.length !== 32)
    throw new OmtError('ledger.witness.invalid', `${what}: root must be 32 bytes`);
  return s;
}

function checkOrigin(origin: string): string {
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > 1024) {
    throw new OmtError('ledger.witness.invalid', 'origin must be a non-empty string');
  }
  return origin;
}

/**
 * In-process {@link WitnessStore} (tests, single-process operators, the browser): per origin the
 * latest cosigned size and root. `compareAndSwap` is atomic (one synchronous step between awaits),
 * and values are copied in and out.
 *
 * @example
 * ```ts
 * const store = new MemoryWitnessStore();
 * await store.compareAndSwap('log.example', undefined, { size: 3, root }); // true
 * await store.compareAndSwap('log.example', undefined, { size: 4, root: r4 }); // false: not empty any more
 * ```
 */
export class MemoryWitnessStore implements WitnessStore {
  readonly #state = new Map<string, State>();

  async get(origin: string): Promise<{ readonly size: number; readonly root: Uint8Array } | undefined> {
    const s = this.#state.get(checkOrigin(origin));
    return s === undefined ? undefined : copy(s);
  }

  async compareAndSwap(
    origin: string,
    expected: { readonly size: number; readonly root: Uint8Array } | undefined,
    next: { readonly size: number; readonly root: Uint8Array },
  ): Promise<boolean> {
    checkOrigin(origin);
    if (expected !== undefined) checkState(expected, 'expected');
    checkState(next, 'next');
    const current = this.#state.get(origin);
    const same =
      current === undefined
        ? expected === undefined
        : expected !== undefined && current.size === expected.size && equalBytes(current.root, expected.root);
    if (!same) return false;
    this.#state.set(origin, copy(next));
    return true;
  }
}
