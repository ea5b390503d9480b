import { OmtError } from '@omt/core/errors';

/**
 * Runs a query for a ledger store: OmtErrors pass through, anything the driver throws becomes
 * `adapters.sql.query-failed` (the message names the operation, never parameter values).
 */
export async function runLedgerQuery<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof OmtError) throw e;
    throw new OmtError(
      'adapters.sql.query-failed',
      `${what} failed: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}
