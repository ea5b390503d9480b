import { createTrustList, type TrustList } from '@omt/c2pa/trust';
import { type ValidationReport, validateAsset } from '@omt/c2pa/validate';
import { isOmtError, OmtError } from '@omt/core/errors';
import { parseCommandArgs, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { readInputFile, readTextFile } from '../../files.js';
import { openAssetFile } from './asset-file.js';

export const verifyHelp: string = `omt verify — validate the Content Credentials (C2PA) of a file

Usage:
  omt verify <file> [--trust <anchors.pem>] [--sidecar <file.c2pa>]
             [--hybrid required|if-present|ignore] [--json]
      Validates the manifest store embedded in a JPEG or PNG (or the --sidecar store for the
      file, or a bare .c2pa store): structure, hashed URIs, the data hash over the asset
      (streamed for large files), the claim signature, the certificate chain and ingredient
      manifests. A file that references a remote manifest (XMP dcterms:provenance, written by
      omt sign --remote-url) is validated with the downloaded store given as --sidecar; without
      it the report is manifest.inaccessible (no network access here).
      Reports the state as the official C2PA SDK does:
        Invalid  a failure (e.g. assertion.dataHash.mismatch, claimSignature.mismatch)
        Valid    everything verifies; the signer is not in a trust list (signingCredential.untrusted)
        Trusted  everything verifies and the signer chains to a --trust anchor
      --trust <pem>   trust anchors (PEM bundle of CA certificates, e.g. a test PKI's root.pem)
      --hybrid        the post-quantum countersignature of a hybrid signature: required
                      (absent or bad → Invalid), if-present (default: checked when present), ignore
      --json          { state, statusCodes, failureCodes, activeManifest, manifests, signer, … }
      Exit 0 when Valid or Trusted, 1 when Invalid or when the file has no C2PA manifest.
`;

const HYBRID_MODES = ['required', 'if-present', 'ignore'] as const;
type HybridMode = (typeof HYBRID_MODES)[number];

/** `omt verify <file>`. */
export async function runVerify(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    { trust: { type: 'string' }, sidecar: { type: 'string' }, hybrid: { type: 'string' } },
    1,
  );
  if (args.values.help) {
    ctx.stdout(verifyHelp);
    return { exitCode: 0 };
  }
  const name = requirePositional(args, 0, 'file to verify');
  const hybridFlag = args.values.hybrid as string | undefined;
  if (hybridFlag !== undefined && !HYBRID_MODES.includes(hybridFlag as HybridMode)) {
    throw new UsageError(`--hybrid must be one of ${HYBRID_MODES.join(', ')}`);
  }
  const hybrid = (hybridFlag as HybridMode | undefined) ?? 'if-present';
  let trust: TrustList | undefined;
  const trustFile = args.values.trust as string | undefined;
  if (trustFile !== undefined) {
    const pem = await readTextFile(ctx, trustFile);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new OmtError(
        'cli.trust.empty',
        `${trustFile} holds no PEM CERTIFICATE block (--trust takes CA certificates)`,
      );
    }
    trust = createTrustList({ anchorsPem: pem });
  }
  const sidecarFile = args.values.sidecar as string | undefined;
  const sidecar = sidecarFile === undefined ? undefined : await readInputFile(ctx, sidecarFile);
  const asset = await openAssetFile(ctx, name, { allowSidecar: sidecar === undefined });
  let report: ValidationReport;
  try {
    report = await validateAsset(asset.bytes ?? { stream: asset.stream }, asset.mime, {
      ...(trust ? { trust } : {}),
      ...(sidecar ? { sidecar } : {}),
      hybrid,
    });
  } catch (e) {
    if (isOmtError(e, 'c2pa.jumbf.not-found')) {
      const remote = e.details?.remoteUrl;
      throw new OmtError(
        'c2pa.jumbf.not-found',
        typeof remote === 'string'
          ? `${name} has no embedded C2PA manifest; it references a remote one at ${remote} (download it and pass --sidecar)`
          : `${name} has no C2PA manifest (nothing to verify; sign it with omt sign)`,
        { cause: e },
      );
    }
    throw e;
  }
  const exitCode = report.state === 'Invalid' ? 1 : 0;
  const active = report.perManifest.find((m) => m.label === report.activeManifest);
  if (args.values.json) {
    printJson(ctx, {
      file: name,
      state: report.state,
      statusCodes: report.statusCodes,
      failureCodes: report.failureCodes,
      activeManifest: report.activeManifest ?? null,
      manifests: report.manifests,
      ...(report.remoteManifestUrl !== undefined ? { remoteManifestUrl: report.remoteManifestUrl } : {}),
      signatureAlg: active?.signatureAlg ?? null,
      hybrid: active?.hybrid ?? null,
      signedAt: active?.signedAt?.toISOString() ?? null,
      trust: report.trust,
      statuses: report.reports,
    });
    return { exitCode };
  }
  const lines = [`${name}: ${report.state}`];
  if (report.activeManifest !== undefined)
    lines.push(`  active manifest: ${report.activeManifest} (${report.manifests} in store)`);
  if (report.remoteManifestUrl !== undefined)
    lines.push(
      report.failureCodes.includes('manifest.inaccessible')
        ? `  remote manifest: ${report.remoteManifestUrl} (not fetched: download it and pass --sidecar <file.c2pa>)`
        : `  remote manifest: ${report.remoteManifestUrl}`,
    );
  if (active?.signatureAlg !== undefined) {
    const pq = active.hybrid?.present
      ? ` + ${active.hybrid.suite ?? 'PQ'} countersignature (${active.hybrid.valid ? 'valid' : 'INVALID'})`
      : '';
    lines.push(`  signature: ${active.signatureAlg}${pq}`);
  }
  const signer = report.trust.signer;
  if (signer !== undefined) lines.push(`  signer: ${signer.subject ?? '?'} — ${signer.code}`);
  const pqSigner = report.trust.hybridSigner;
  if (pqSigner !== undefined) lines.push(`  PQ signer: ${pqSigner.subject ?? '?'} — ${pqSigner.code}`);
  if (report.trust.timestamp !== undefined) lines.push(`  timestamp: ${report.trust.timestamp.code}`);
  for (const t of report.trust.ingredients)
    lines.push(`  ingredient signer ${t.subject ?? t.manifest}: ${t.code}`);
  if (report.failureCodes.length > 0) {
    lines.push('  failures:');
    for (const st of report.reports.filter((s) => report.failureCodes.includes(s.code))) {
      lines.push(`    ${st.code}${st.explanation ? ` — ${st.explanation}` : ''}`);
    }
  }
  ctx.stdout(`${lines.join('\n')}\n`);
  return { exitCode };
}
