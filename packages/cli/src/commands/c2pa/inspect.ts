import { readManifestStore } from '@omt/c2pa/manifest-store';
import { parseCommandArgs, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson } from '../../context.js';
import { readAssetFile } from './asset-file.js';
import { describeManifestStore } from './manifest-json.js';

export const inspectHelp: string = `omt inspect — show the C2PA manifest store of a file

Usage:
  omt inspect <file> [--json]
      <file>: a JPEG or PNG with an embedded manifest store, or a .c2pa sidecar.
      --json prints the whole store: every manifest's label, claim fields, assertions
      (labels and decoded content; binary data as base64, large data by size and SHA-256),
      ingredients, and the claim signature (algorithm, certificate subject, issuer,
      validity; hybrid countersignatures). Nothing is validated here: use omt verify.
      Exit 1 when the file carries no manifest store.
`;

/** `omt inspect <file> [--json]`. */
export async function runInspect(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(argv, {}, 1);
  if (args.values.help) {
    ctx.stdout(inspectHelp);
    return { exitCode: 0 };
  }
  const asset = await readAssetFile(ctx, requirePositional(args, 0, 'file to inspect'), {
    allowSidecar: true,
  });
  const store = readManifestStore(asset.bytes, asset.mime);
  const view = describeManifestStore(store) as Record<string, unknown>;
  if (args.values.json) {
    printJson(ctx, { file: asset.name, mime: asset.mime, ...view });
    return { exitCode: 0 };
  }
  const lines = [
    `${asset.name} (${asset.mime}): ${store.manifests.length} manifest(s), store ${store.bytes.length} bytes`,
  ];
  for (const m of view.manifests as Record<string, unknown>[]) {
    const active = m.label === store.activeManifest.label ? ' (active)' : '';
    const claim = m.claim as Record<string, unknown>;
    const sig = m.signature as Record<string, unknown> | null;
    lines.push(`  manifest ${m.label}${active}`);
    lines.push(
      `    claim: ${m.claimLabel}, title ${JSON.stringify(claim.title)}, instance ${claim.instanceId}`,
    );
    lines.push(`    assertions: ${(m.assertionLabels as string[]).join(', ')}`);
    for (const ing of m.ingredients as Record<string, unknown>[]) {
      lines.push(`    ingredient: ${ing.title} (${ing.relationship}, ${ing.format})`);
    }
    if (sig === null) lines.push('    signature: none');
    else if (sig.error !== undefined) lines.push(`    signature: malformed (${sig.error})`);
    else {
      lines.push(`    signature: ${sig.alg}, signer ${sig.subject}, issuer ${sig.issuer}`);
      lines.push(`      certificate valid ${sig.notBefore} … ${sig.notAfter}`);
      for (const cs of sig.countersignatures as Record<string, unknown>[]) {
        lines.push(`      countersignature: ${cs.alg ?? cs.error}`);
      }
    }
  }
  ctx.stdout(`${lines.join('\n')}\n`);
  return { exitCode: 0 };
}
