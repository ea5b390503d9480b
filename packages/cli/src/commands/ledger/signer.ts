import { toHex } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { importPem } from '@omt/core/keys';
import { SIGNER_KEY_ALGS, signerKeyId, signerRegistration } from '@omt/ledger/key-registry';
import type { SignerKey, SignerKeyAlg } from '@omt/ledger/ports';
import { parseCommandArgs, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { readTextFile } from '../../files.js';
import { openLedgerState, withState } from './ledger-state.js';

export const signerHelp: string = `omt signer — the registry of keys allowed to sign publishing intents

Usage:
  omt signer register <pub.pem> [--valid-from <RFC 3339>] [--valid-until <RFC 3339>] [--label <text>] [--json]
      Register a public key (SPKI PEM, e.g. public.pem of omt keys generate; hybrid: two
      blocks). Key algorithms: ${SIGNER_KEY_ALGS.join(', ')}. Intents dated before
      --valid-from (default: now) are refused. Registering the same key again is a no-op.
  omt signer revoke <pub.pem> [--reason <text>] [--json]
      Revoke a key: final; its intents are refused from now on, whatever their date.
  omt signer list [--json]
Every decision is appended to the ledger audit log.
`;

export async function runSigner(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    ctx.stdout(signerHelp);
    return { exitCode: sub === undefined ? 2 : 0 };
  }
  if (sub === 'register') return register(ctx, rest);
  if (sub === 'revoke') return revoke(ctx, rest);
  if (sub === 'list') return list(ctx, rest);
  throw new UsageError(`unknown signer command: ${sub} (try: omt signer --help)`);
}

/** Reads a public key PEM as a signer key (alg and raw public key). */
export async function readSignerPem(
  ctx: CliContext,
  file: string,
): Promise<{ alg: SignerKeyAlg; publicKey: Uint8Array; keyId: string }> {
  const key = importPem(await readTextFile(ctx, file));
  if (key.secretKey !== undefined)
    throw new OmtError(
      'cli.signer.private-key',
      `${file} holds a private key: give the public key (public.pem); private keys stay with their owner`,
    );
  if (!(SIGNER_KEY_ALGS as readonly string[]).includes(key.suite))
    throw new OmtError(
      'ledger.signature.alg-unsupported',
      `${key.suite} keys cannot sign intents (one of: ${SIGNER_KEY_ALGS.join(', ')})`,
    );
  const alg = key.suite as SignerKeyAlg;
  return { alg, publicKey: key.publicKey, keyId: signerKeyId(alg, key.publicKey) };
}

function parseTime(text: string | undefined, flag: string): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(d.getTime()))
    throw new UsageError(`--${flag}: an RFC 3339 date-time like 2026-01-02T03:04:05Z`);
  return d;
}

/** A registered key as printed. */
export function signerRow(k: SignerKey): Record<string, unknown> {
  return {
    keyId: k.keyId,
    alg: k.alg,
    status: k.status,
    validFrom: k.validFrom.toISOString(),
    validUntil: k.validUntil?.toISOString() ?? null,
    label: k.label ?? null,
    registeredAt: k.registeredAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
    revocationReason: k.revocationReason ?? null,
    publicKey: toHex(k.publicKey),
  };
}

async function register(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { 'valid-from': { type: 'string' }, 'valid-until': { type: 'string' }, label: { type: 'string' } },
    1,
  );
  if (args.values.help) {
    ctx.stdout(signerHelp);
    return { exitCode: 0 };
  }
  const file = requirePositional(args, 0, '<pub.pem>');
  const { alg, publicKey } = await readSignerPem(ctx, file);
  const now = new Date();
  const validFrom = parseTime(args.values['valid-from'] as string | undefined, 'valid-from') ?? now;
  const validUntil = parseTime(args.values['valid-until'] as string | undefined, 'valid-until');
  const label = args.values.label as string | undefined;
  const reg = signerRegistration(alg, publicKey, {
    validFrom,
    ...(validUntil === undefined ? {} : { validUntil }),
    ...(label === undefined ? {} : { label }),
  });
  return withState(openLedgerState(ctx), async (s) => {
    const before = await s.registry.lookup(reg.keyId);
    let key: SignerKey;
    try {
      // An identical re-registration must stay idempotent: keep the stored validity when none was given.
      const again =
        before !== undefined && args.values['valid-from'] === undefined
          ? { ...reg, validFrom: before.validFrom }
          : reg;
      key = await s.registry.register(again, now);
    } catch (e) {
      await s.audit.append({
        actor: 'cli',
        action: 'ledger.signer.register',
        subject: reg.keyId,
        outcome: 'failure',
        details: { alg, code: e instanceof OmtError ? e.code : 'error' },
      });
      throw e;
    }
    await s.audit.append({
      actor: 'cli',
      action: 'ledger.signer.register',
      subject: key.keyId,
      outcome: 'success',
      details: { alg, new: before === undefined },
    });
    if (args.values.json) printJson(ctx, { ...signerRow(key), new: before === undefined });
    else
      ctx.stdout(
        `${before === undefined ? 'registered' : 'already registered'} ${key.alg} signer ${key.keyId}\n`,
      );
    return { exitCode: 0 };
  });
}

async function revoke(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, { reason: { type: 'string' } }, 1);
  if (args.values.help) {
    ctx.stdout(signerHelp);
    return { exitCode: 0 };
  }
  const file = requirePositional(args, 0, '<pub.pem>');
  const { keyId } = await readSignerPem(ctx, file);
  const reason = args.values.reason as string | undefined;
  return withState(openLedgerState(ctx), async (s) => {
    let key: SignerKey;
    try {
      key = await s.registry.revoke(keyId, new Date(), reason);
    } catch (e) {
      await s.audit.append({
        actor: 'cli',
        action: 'ledger.signer.revoke',
        subject: keyId,
        outcome: 'failure',
        details: { code: e instanceof OmtError ? e.code : 'error' },
      });
      throw e;
    }
    await s.audit.append({
      actor: 'cli',
      action: 'ledger.signer.revoke',
      subject: keyId,
      outcome: 'success',
      details: reason === undefined ? {} : { reason },
    });
    if (args.values.json) printJson(ctx, signerRow(key));
    else ctx.stdout(`revoked ${key.alg} signer ${key.keyId} at ${key.revokedAt?.toISOString()}\n`);
    return { exitCode: 0 };
  });
}

async function list(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, {}, 0);
  if (args.values.help) {
    ctx.stdout(signerHelp);
    return { exitCode: 0 };
  }
  return withState(openLedgerState(ctx), async (s) => {
    const keys = await s.registry.list();
    if (args.values.json) printJson(ctx, { signers: keys.map(signerRow) });
    else {
      if (keys.length === 0) ctx.stdout('no signers registered (omt signer register <pub.pem>)\n');
      for (const k of keys) ctx.stdout(`${k.keyId}  ${k.alg.padEnd(18)} ${k.status}  ${k.label ?? ''}\n`);
    }
    return { exitCode: 0 };
  });
}
