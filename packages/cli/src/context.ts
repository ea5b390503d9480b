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
