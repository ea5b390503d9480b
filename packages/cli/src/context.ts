import { OmtError } from '@omt/core/errors';

/** Everything a command touches of the outside world, injected so tests run commands in-process. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** What a command returns: its exit code, and (for `--json`) the value printed as JSON. */
export interface CommandResult {
  readonly exitCode: number;
}

/** A usage error: wrong flags or arguments (exit code 2). */
export class UsageError extends OmtError {
  constructor(message: string) {
    super('cli.usage', message);
  }
}

/** Prints `value` as pretty JSON on stdout. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Runs a long-lived command (a server, an operator) with a signal that aborts on SIGINT or
 * SIGTERM, and removes the handlers afterwards.
 */
export async function runUntilSignal<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
