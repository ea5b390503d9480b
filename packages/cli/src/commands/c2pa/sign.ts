import { access } from 'node:fs/promises';
import path, { basename } from 'node:path';
import { isRemoteManifestUrl } from '@omt/c2pa/asset';
import {
  type C2paSigner,
  createC2paSigner,
  type ManifestDefinition,
  parseManifestDefinition,
  signFile,
} from '@omt/c2pa/sign';
import { parseCertificate } from '@omt/c2pa/x509';
import { concatBytes, equalBytes } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { parseJson } from '@omt/core/jcs';
import { importPem } from '@omt/core/keys';
import { getSuite, type SuiteId } from '@omt/core/suites';
import { parseCommandArgs, requireFlag, requirePositional } from '../../args.js';
import { type CliContext, type CommandResult, printJson, UsageError } from '../../context.js';
import { readTextFile, writeOutputFile } from '../../files.js';
import { readAssetFile } from './asset-file.js';
import { C2PA_SIGNING_SUITES, RSA_SIGNING_SUITES, resolveC2paSuite } from './suite-option.js';

export const signHelp: string = `omt sign — sign a JPEG or PNG with Content Credentials (C2PA)

Usage:
  omt sign <in> -o <out> --key <signer.key.pem> --cert <chain.pem> [--alg <suite>|hybrid]
           [--manifest <manifest.json>] [--parent <file>] [--sidecar | --remote-url <url>]
           [--metadata] [--force] [--json]
      Builds a C2PA v2 manifest (c2pa.actions.v2 "created", or "opened" with --parent; the
      data hash over the asset), signs its claim and embeds the store (JPEG APP11 segments,
      PNG caBX chunk) into <out>.
      --key      PKCS#8 PEM of the signer (omt certs create-test-pki writes signer.key.pem)
      --cert     the signer's certificate chain, signer first (chain.pem)
      --alg      default: the key's suite. ${C2PA_SIGNING_SUITES.join(', ')},
                 ${RSA_SIGNING_SUITES.join(', ')} (RSA keys), or hybrid (= ML-DSA-65+ES256: an
                 ES256 claim signature the official C2PA SDK validates plus an ML-DSA-65
                 countersignature over the same claim).
      --manifest c2patool-style JSON: { title, claim_generator_info, assertions: [{label, data}],
                 ingredients: [{title, format, relationship}] }
      --parent   the file this one was made from: recorded as a parentOf ingredient, its own
                 manifest store carried along
      --sidecar  write <out> as a .c2pa manifest store and leave the asset unchanged
      --remote-url <url>
                 a remote manifest: <out> gets an XMP dcterms:provenance reference to <url>
                 (no embedded store; the data hash covers the whole file) and the manifest
                 store is written to <out>.c2pa, to be served at <url>
      --metadata add a c2pa.metadata assertion with EXIF/IPTC/XMP fields read from the asset
      The MIME type comes from the file's content (JPEG or PNG). <out> is not overwritten
      unless --force is given.
`;

/** The suite to sign with: --alg, `hybrid` resolved to the key's hybrid suite, else the key's own. */
function chooseSuite(alg: string | undefined, keyPem: string): SuiteId | undefined {
  if (alg === undefined) return undefined;
  if (alg.toLowerCase() === 'hybrid') {
    try {
      const key = importPem(keyPem);
      if (getSuite(key.suite).family === 'hybrid') return key.suite;
    } catch {
      // signFile reports an unreadable key with its own clear error.
    }
  }
  return resolveC2paSuite(alg, undefined, { rsa: true });
}

/**
 * Refuses a key that does not belong to the signing certificate (`cli.key.cert-mismatch`):
 * otherwise the file would be signed and then fail validation (claimSignature.mismatch).
 * Hybrid: the PQ half must match the PQ leaf and the classical half the classical leaf.
 * (RSA signers hold a WebCrypto key without its public part: not checked here.)
 */
function checkKeyMatchesChain(signer: C2paSigner): void {
  if (signer.publicKey === undefined) return;
  let expected: Uint8Array | undefined;
  if (signer.pqChain !== undefined) {
    const pq = parseCertificate(signer.pqChain[0] as Uint8Array).publicKey;
    const cl = parseCertificate(signer.chain[0] as Uint8Array).publicKey;
    if (pq !== undefined && cl !== undefined) expected = concatBytes(pq.publicKey, cl.publicKey);
  } else {
    expected = parseCertificate(signer.chain[0] as Uint8Array).publicKey?.publicKey;
  }
  if (expected === undefined || !equalBytes(expected, signer.publicKey)) {
    throw new OmtError(
      'cli.key.cert-mismatch',
      `the --key does not belong to the signing certificate in --cert (the ${signer.suite} public keys differ)`,
    );
  }
}

/** Refuses to overwrite `files` (without --force) before anything is written. */
async function refuseExisting(ctx: CliContext, files: readonly string[]): Promise<void> {
  for (const f of files) {
    const exists = await access(path.resolve(ctx.cwd, f)).then(
      () => true,
      () => false,
    );
    if (exists) throw new OmtError('cli.file.exists', `${f} exists already (use --force to overwrite)`);
  }
}

/** `omt sign <in> -o <out> --key … --cert …`. */
export async function runSign(ctx: CliContext, argv: string[]): Promise<CommandResult> {
  const args = parseCommandArgs(
    argv,
    {
      out: { type: 'string', short: 'o' },
      key: { type: 'string' },
      cert: { type: 'string' },
      alg: { type: 'string' },
      manifest: { type: 'string', short: 'm' },
      parent: { type: 'string' },
      sidecar: { type: 'boolean' },
      'remote-url': { type: 'string' },
      metadata: { type: 'boolean' },
      force: { type: 'boolean', short: 'f' },
    },
    1,
  );
  if (args.values.help) {
    ctx.stdout(signHelp);
    return { exitCode: 0 };
  }
  const input = requirePositional(args, 0, 'file to sign');
  const out = requireFlag(args, 'out');
  const keyFile = requireFlag(args, 'key');
  const certFile = requireFlag(args, 'cert');
  const sidecar = args.values.sidecar === true;
  const remoteUrl = args.values['remote-url'] as string | undefined;
  if (remoteUrl !== undefined && sidecar)
    throw new UsageError('--remote-url and --sidecar exclude each other');
  if (remoteUrl !== undefined && !isRemoteManifestUrl(remoteUrl))
    throw new UsageError('--remote-url must be an absolute http(s) URL');
  const keyPem = await readTextFile(ctx, keyFile);
  const chainPem = await readTextFile(ctx, certFile);
  const suite = chooseSuite(args.values.alg as string | undefined, keyPem);
  let manifest: ManifestDefinition | undefined;
  const manifestFile = args.values.manifest as string | undefined;
  if (manifestFile !== undefined) {
    const text = await readTextFile(ctx, manifestFile);
    let json: unknown;
    try {
      json = parseJson(text);
    } catch (e) {
      throw new OmtError('cli.manifest.malformed', `${manifestFile} is not valid JSON`, { cause: e });
    }
    manifest = parseManifestDefinition(json);
  }
  const asset = await readAssetFile(ctx, input);
  const parentFile = args.values.parent as string | undefined;
  const parent = parentFile === undefined ? undefined : await readAssetFile(ctx, parentFile);
  let signer: C2paSigner;
  try {
    signer = await createC2paSigner({ key: keyPem, chain: chainPem, ...(suite ? { suite } : {}) });
  } catch (e) {
    if (isOmtError(e, 'core.key.malformed') && /has no secret part/.test(e.message))
      throw new OmtError('core.key.malformed', `${keyFile} holds a public key; --key needs the private key`);
    if (isOmtError(e)) throw e;
    throw new OmtError('core.key.malformed', `${keyFile} is not a usable private key`, { cause: e });
  }
  checkKeyMatchesChain(signer);
  const storeFile = `${out}.c2pa`;
  const exclusive = args.values.force !== true;
  if (remoteUrl !== undefined && exclusive) await refuseExisting(ctx, [out, storeFile]);
  const signed = await signFile({
    asset: asset.bytes,
    mime: asset.mime,
    signer,
    ...(manifest ? { manifest } : {}),
    ...(parent ? { parent: { bytes: parent.bytes, mime: parent.mime, title: basename(parent.name) } } : {}),
    ...(sidecar ? { sidecar: true } : {}),
    ...(remoteUrl !== undefined ? { remoteUrl } : {}),
    ...(args.values.metadata === true ? { metadata: true } : {}),
    // Written as runs: the input's bytes go to the file without a second in-memory copy.
    output: 'parts',
  });
  const parts = sidecar ? (signed.sidecar ? [signed.sidecar] : undefined) : signed.assetParts;
  if (parts === undefined) throw new OmtError('cli.internal', 'signing produced no output');
  const written = await writeOutputFile(ctx, out, parts, { exclusive });
  let size = 0;
  for (const p of parts) size += p.length;
  let storeWritten: string | undefined;
  if (remoteUrl !== undefined) {
    if (signed.sidecar === undefined)
      throw new OmtError('cli.internal', 'signing produced no manifest store');
    storeWritten = await writeOutputFile(ctx, storeFile, signed.sidecar, { exclusive });
  }
  const usedSuite = signer.suite;
  const c2paBytes =
    sidecar || remoteUrl !== undefined ? (signed.sidecar?.length ?? 0) : size - asset.bytes.length;
  if (args.values.json) {
    printJson(ctx, {
      input,
      output: written,
      mime: asset.mime,
      alg: usedSuite,
      manifestLabel: signed.manifestLabel,
      sidecar,
      ...(remoteUrl !== undefined ? { remoteUrl, manifestStore: storeWritten } : {}),
      size,
      addedBytes: sidecar ? size : size - asset.bytes.length,
    });
  } else {
    const what = sidecar
      ? 'sidecar manifest store'
      : remoteUrl !== undefined
        ? `${asset.mime} (remote manifest reference)`
        : asset.mime;
    ctx.stdout(
      `signed ${input} with ${usedSuite}: ${what} written to ${written}\n` +
        `  manifest ${signed.manifestLabel} (${c2paBytes} bytes of C2PA data)\n` +
        (storeWritten !== undefined
          ? `  manifest store written to ${storeWritten}: serve it at ${remoteUrl}\n`
          : ''),
    );
  }
  return { exitCode: 0 };
}
