import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'omt-cli-db-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('omt db on the embedded default (PGlite in $OMT_HOME)', () => {
  it('status shows pending migrations, migrate applies them once, status then shows them applied', async () => {
    const before = await runCli(['db', 'status', '--json'], { cwd: dir });
    expect(before.code, before.stderr).toBe(0);
    const b = JSON.parse(before.stdout);
    expect(b).toMatchObject({ database: 'pglite', location: path.join(dir, '.omt', 'db') });
    expect(b.pending.length).toBeGreaterThan(0);
    const migrate = await runCli(['db', 'migrate', '--json'], { cwd: dir });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(JSON.parse(migrate.stdout).appliedNow).toEqual(b.pending);
    const again = await runCli(['db', 'migrate'], { cwd: dir });
    expect(again.stdout).toContain('up to date: nothing to apply');
    const after = JSON.parse((await runCli(['db', 'status', '--json'], { cwd: dir })).stdout);
    expect(after.pending).toEqual([]);
    expect(after.migrations.every((m: { appliedAt: string | null }) => m.appliedAt !== null)).toBe(true);
  }, 60_000);

  it('usage errors and an unreachable PostgreSQL give clear codes', async () => {
    expect((await runCli(['db', 'frob'], { cwd: dir })).code).toBe(2);
    const down = await runCli(['db', 'status', '--json'], {
      cwd: dir,
      env: { DATABASE_URL: 'postgres://postgres:secret-password@127.0.0.1:1/test' },
    });
    expect(down.code).toBe(1);
    const err = JSON.parse(down.stdout).error;
    expect(err.code).toBe('adapters.sql.unavailable');
    expect(err.message).not.toContain('secret-password');
  }, 60_000);
});

const url = process.env.DATABASE_URL;
describe.runIf(url !== undefined || process.env.CI === 'true')('omt db on PostgreSQL (DATABASE_URL)', () => {
  it('migrates and reports the server without its password', async () => {
    expect(url, 'DATABASE_URL must be set in CI').toBeDefined();
    const r = await runCli(['db', 'migrate', '--json'], { cwd: dir, env: { DATABASE_URL: url as string } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.database).toBe('postgres');
    expect(out.pending).toEqual([]);
  }, 60_000);
});
