import { isOmtError } from '@omt/core/errors';
import type { CliContext } from '../src/context.js';

/** One captured command run. */
export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  /** The OmtError code of a failure (as `main` would print it). */
  error?: string;
}

type Run = (ctx: CliContext, argv: string[]) => Promise<{ exitCode: number }>;

/**
 * Calls a run function in-process with captured output, mapping thrown errors to exit codes the
 * way `main` does (usage → 2, anything else → 1, `--json` → `{error: {code, message}}`). With
 * `strict`, a thrown value that is not an OmtError (a bug, never a refusal) is rethrown so the
 * test fails loudly; with `messagesOnStderr`, the message goes to stderr even with `--json` (so
 * stdout holds only what the command printed).
 */
export async function capture(
  run: Run,
  argv: string[],
  env: Record<string, string>,
  cwd: string,
  options?: { strict?: boolean; messagesOnStderr?: boolean },
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    env,
    cwd,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  };
  try {
    const r = await run(ctx, argv);
    return { code: r.exitCode, stdout, stderr };
  } catch (e) {
    if (options?.strict === true && !isOmtError(e)) throw e;
    const code = (e as { code?: string }).code ?? 'cli.internal';
    const message = (e as Error).message;
    if (argv.includes('--json') && options?.messagesOnStderr !== true)
      stdout += `${JSON.stringify({ error: { code, message } })}\n`;
    else stderr += `omt: ${message} [${code}]\n`;
    return { code: code === 'cli.usage' ? 2 : 1, stdout, stderr, error: code };
  }
}
