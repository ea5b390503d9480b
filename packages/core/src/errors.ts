/**
 * The one error class of OpenMediaTrust. `code` is a stable dotted identifier
 * (`core.cbor.malformed`, `kms.key.revoked`, …) that callers may switch on; the
 * message is for humans and may change. Secrets never appear in either.
 *
 * @example
 * ```ts
 * try { decodeCbor(bytes); } catch (e) { if (isOmtError(e, 'core.cbor.malformed')) … }
 * ```
 */
export class OmtError extends Error {
  readonly code: string;
  /** Optional structured, non-secret details (offsets, expected lengths, algorithm names). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OmtError';
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): { name: string; code: string; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is an OmtError, optionally with the given code. */
export function isOmtError(e: unknown, code?: string): e is OmtError {
  return e instanceof OmtError && (code === undefined || e.code === code);
}

/**
 * Runs `fn`, turning any non-OmtError it throws into an OmtError with `code`
 * (the original kept as `cause`). Used at library boundaries where a dependency
 * may throw its own error types on bad input.
 */
export function wrapErrors<T>(code: string, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OmtError) throw e;
    throw new OmtError(code, message, { cause: e });
  }
}

/** Async form of {@link wrapErrors}. */
export async function wrapErrorsAsync<T>(code: string, message: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof OmtError) throw e;
    throw new OmtError(code, message, { cause: e });
  }
}
