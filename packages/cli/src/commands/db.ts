import { createDatabase, databaseConfigFromEnv } from '@omt/adapters/sql';
import { parseCommandArgs } from '../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../context.js';
import { ensureOmtHome } from '../home.js';

export const dbHelp: string = `omt db — the SQL store in $OMT_HOME (embedded PGlite) or DATABASE_URL (PostgreSQL)

Usage:
  omt db migrate [--json]   Create or upgrade the schema (idempotent; safe to run concurrently).
  omt db status [--json]    Show which database is used and which migrations are applied.
`;

/** Where the database lives, for humans (never prints a password). */
function describeLocation(config: ReturnType<typeof databaseConfigFromEnv>): string {
  if (config.kind === 'pglite') return config.dataDir === undefined ? 'in memory' : config.dataDir;
  try {
    const u = new URL(config.url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

export async function runDb(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(dbHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub !== 'migrate' && sub !== 'status')
    throw new UsageError(`unknown db command: ${sub} (try: omt db --help)`);
  const args = parseCommandArgs(rest, {}, 0);
  if (args.values.help) {
    ctx.stdout(dbHelp);
    return { exitCode: 0 };
  }
  const home = await ensureOmtHome(ctx);
  const config = databaseConfigFromEnv(ctx.env, home);
  const database = await createDatabase(config);
  try {
    const applied = sub === 'migrate' ? (await database.migrate()).applied : undefined;
    const status = await database.status();
    const out = {
      database: config.kind,
      location: describeLocation(config),
      ...(applied === undefined ? {} : { appliedNow: applied }),
      ...status,
    };
    if (args.values.json) printJson(ctx, out);
    else {
      ctx.stdout(`database: ${out.database} (${out.location})\n`);
      for (const m of status.migrations)
        ctx.stdout(`  ${m.appliedAt ? `✓ ${m.name}  applied ${m.appliedAt}` : `· ${m.name}  pending`}\n`);
      if (applied !== undefined) {
        ctx.stdout(
          applied.length ? `applied now: ${applied.join(', ')}\n` : 'up to date: nothing to apply\n',
        );
      }
    }
  } finally {
    await database.close();
  }
  return { exitCode: 0 };
}
