/**
 * `signFile`: the high-level signing API (what `omt sign` and c2patool's `-m manifest.json` do).
 * It turns a c2patool-like manifest definition into assertions, adds the default actions
 * (`c2pa.created` with digitalSourceType digitalCapture, or `c2pa.opened` of a parent), optional
 * extracted metadata and a thumbnail, records a parent (its manifest store carried into ours),
 * and signs with `builder.signAsset` + `claim-signature.signClaim`: classical, post-quantum
 * (ML-DSA, default ML-DSA-65) or hybrid (classical claim signature + PQ countersignature).
 *
 * The key and chain are prepared by `createC2paSigner` (`signer.ts`); pass a prepared `signer`
 * to sign many assets without importing the key each time. With `remoteUrl` the manifest store is
 * not embedded: the asset gets an XMP `dcterms:provenance` reference to where the store will be
 * served (C2PA 2.x §11.3), its data hash covers the whole asset (nothing is excluded, as c2pa-rs
 * does for a remote-only manifest), and the store is returned for upload.
 *
 * @example
 * ```ts
 * import { signFile } from '@omt/c2pa/sign';
 * const { asset, manifestLabel } = await signFile({
 *   asset: jpeg, mime: 'image/jpeg', key: signerKeyPem, chain: chainPem,
 *   manifest: { title: 'photo.jpg', assertions: [{ label: 'com.example.workflow', data: { step: 'ingest' } }] },
 * });
 * // many assets: prepare the signer once
 * const signer = await createC2paSigner({ key: signerKeyPem, chain: chainPem });
 * const remote = await signFile({ asset: jpeg, mime: 'image/jpeg', signer, remoteUrl: 'https://cr.example/m/1.c2pa' });
 * // remote.asset carries the XMP reference; upload remote.sidecar to the URL
 * ```
 */
import { isBytes } from '@omt/core/bytes';
import type { CborValue } from '@omt/core/cbor';
import { isOmtError, OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import type { KeyMaterial } from '@omt/core/keys';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { isSuiteId, type SuiteId } from '@omt/core/suites';
import * as z from 'zod/mini';
import { type ActionInput, buildActionsAssertion, DIGITAL_SOURCE_TYPE } from './assertions/actions.js';
import type { AssertionDraft } from './assertions/assertion.js';
import { buildCustomAssertion } from './assertions/custom.js';
import { buildIngredientAssertion } from './assertions/ingredient.js';
import { buildMetadataAssertion } from './assertions/metadata.js';
import { buildThumbnailAssertion } from './assertions/thumbnail.js';
import { createAssetRegistry } from './asset.js';
import { type ClaimSigner, type IngredientSpec, type SignedAssetParts, signAssetParts } from './builder.js';
import { isTimestamper } from './claim-signature.js';
import { readManifestStore } from './manifest-store.js';
import { extractMetadata, extractThumbnail } from './metadata-extract.js';
import type { TimestampAuthority } from './ports.js';
import { type C2paSigner, createC2paSigner, isC2paSigner } from './signer.js';
import { joinParts, jsonToCbor } from './store-assembly.js';
import { isRemoteManifestUrl } from './xmp-provenance.js';

export {
  type C2paSigner,
  type C2paSignOptions,
  type CreateC2paSignerOptions,
  createC2paSigner,
  isC2paSigner,
} from './signer.js';

/** A c2patool-like manifest definition (JSON). */
export interface ManifestDefinition {
  readonly title?: string;
  readonly claim_generator_info?:
    | { readonly name: string; readonly version?: string }
    | readonly { readonly name: string; readonly version?: string }[];
  /** Assertions; `c2pa.actions` / `c2pa.actions.v2` data replaces the default actions. */
  readonly assertions?: readonly {
    readonly label: string;
    readonly data: unknown;
    readonly kind?: 'cbor' | 'json';
  }[];
  /** Ingredients recorded without files (title, format, relationship). */
  readonly ingredients?: readonly {
    readonly title: string;
    readonly format: string;
    readonly relationship?: 'parentOf' | 'componentOf' | 'inputTo';
    readonly instance_id?: string;
    readonly description?: string;
  }[];
}

const Info = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  version: z.optional(z.string().check(z.maxLength(100))),
});
const ManifestDefinitionSchema = z.strictObject({
  title: z.optional(z.string().check(z.maxLength(1024))),
  claim_generator_info: z.optional(z.union([Info, z.array(Info).check(z.minLength(1), z.maxLength(16))])),
  assertions: z.optional(
    z
      .array(
        z.object({
          label: z.string().check(z.minLength(1), z.maxLength(255)),
          data: z.unknown(),
          kind: z.optional(z.enum(['cbor', 'json'])),
        }),
      )
      .check(z.maxLength(1000)),
  ),
  ingredients: z.optional(
    z
      .array(
        z.object({
          title: z.string().check(z.minLength(1), z.maxLength(1024)),
          format: z.string().check(z.minLength(1), z.maxLength(200)),
          relationship: z.optional(z.enum(['parentOf', 'componentOf', 'inputTo'])),
          instance_id: z.optional(z.string().check(z.maxLength(1024))),
          description: z.optional(z.string().check(z.maxLength(10000))),
        }),
      )
      .check(z.maxLength(1000)),
  ),
});

/**
 * Parses a manifest definition (outside JSON). Throws `c2pa.input.invalid`.
 *
 * @example
 * ```ts
 * const def = parseManifestDefinition(JSON.parse(text));
 * ```
 */
export function parseManifestDefinition(value: unknown): ManifestDefinition {
  return parseInput(ManifestDefinitionSchema, value, 'c2pa.input.invalid', 'manifest definition');
}

export interface SignFileOptions {
  readonly asset: Uint8Array;
  readonly mime: string;
  /** Default: the key's suite, else 'ML-DSA-65'. RSA PEM keys need 'PS256' | 'PS384' | 'PS512'. */
  readonly suite?: SuiteId;
  /** A prepared signer (`createC2paSigner`), instead of `key` and `chain`. */
  readonly signer?: C2paSigner;
  /** A core KeyMaterial (with secretKey) or PKCS#8 PEM text (hybrid: PQ block, then classical). */
  readonly key?: KeyMaterial | string;
  /** Certificate chain, signer first (DER list or PEM text); hybrid: both chains (split by key family). */
  readonly chain?: readonly Uint8Array[] | string;
  readonly manifest?: ManifestDefinition;
  /** The asset this one was made from: recorded as a parentOf ingredient with its manifest store. */
  readonly parent?: { readonly bytes: Uint8Array; readonly mime: string; readonly title?: string };
  /** Write a sidecar `.c2pa` instead of embedding. */
  readonly sidecar?: boolean;
  /**
   * Remote manifest: an http(s) URL where the returned store will be served. The asset gets an
   * XMP `dcterms:provenance` reference to it (JPEG APP1, PNG iTXt; an existing XMP packet is
   * updated) and no embedded store; the result has both `asset` and `sidecar` (the store to upload).
   */
  readonly remoteUrl?: string;
  /** Extract EXIF/IPTC/XMP from the asset into a `c2pa.metadata` assertion. */
  readonly metadata?: boolean;
  /** A claim thumbnail: given bytes, or `true` for the asset's EXIF thumbnail when it has one. */
  readonly thumbnail?: boolean | { readonly mediaType: string; readonly data: Uint8Array };
  /** An RFC 3161 time-stamping authority (the `TimestampAuthority` port); omitted = no timestamp. */
  readonly timestamp?: TimestampAuthority | ((data: Uint8Array) => Promise<Uint8Array>);
  readonly clock?: Clock;
  readonly random?: RandomSource;
  /**
   * `'bytes'` (default): the signed asset as one buffer in `asset`. `'parts'`: as byte runs in
   * `assetParts` instead, the input's bytes not copied (write them in order: `writeFile(path,
   * parts)`, a stream, an HTTP body); the input must not change while they are used.
   */
  readonly output?: 'bytes' | 'parts';
}

export interface SignFileResult {
  /** The signed asset (absent for a sidecar; with `remoteUrl`, the asset with its XMP reference). */
  readonly asset?: Uint8Array;
  /** With `output: 'parts'`, instead of `asset`: its bytes as runs in order (see `signAssetParts`). */
  readonly assetParts?: readonly Uint8Array[];
  /** The `.c2pa` manifest store (sidecar mode, and with `remoteUrl`: the store to upload). */
  readonly sidecar?: Uint8Array;
  readonly manifestLabel: string;
}

const bytesSchema = z.custom<Uint8Array>((v) => isBytes(v), 'must be a Uint8Array');
const SignFileSchema = z.object({
  asset: bytesSchema,
  mime: z.string().check(z.minLength(1), z.maxLength(200)),
  suite: z.optional(z.string().check(z.refine((s) => isSuiteId(s), 'unknown signature suite'))),
  signer: z.optional(z.custom<C2paSigner>(isC2paSigner, 'must be a prepared C2paSigner')),
  key: z.optional(
    z.union([
      z.string().check(z.minLength(1), z.maxLength(1 << 20)),
      z.custom<KeyMaterial>(
        (v) => typeof v === 'object' && v !== null && typeof (v as KeyMaterial).suite === 'string',
      ),
    ]),
  ),
  chain: z.optional(
    z.union([z.string().check(z.minLength(1)), z.array(bytesSchema).check(z.minLength(1), z.maxLength(32))]),
  ),
  remoteUrl: z.optional(
    z.string().check(z.maxLength(4096), z.refine(isRemoteManifestUrl, 'must be an http(s) URL')),
  ),
  manifest: z.optional(z.unknown()),
  parent: z.optional(
    z.object({
      bytes: bytesSchema,
      mime: z.string().check(z.minLength(1), z.maxLength(200)),
      title: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    }),
  ),
  sidecar: z.optional(z.boolean()),
  metadata: z.optional(z.boolean()),
  thumbnail: z.optional(z.union([z.boolean(), z.object({ mediaType: z.string(), data: bytesSchema })])),
  timestamp: z.optional(
    z.custom<TimestampAuthority | ((d: Uint8Array) => Promise<Uint8Array>)>(isTimestamper),
  ),
  clock: z.optional(z.custom<Clock>((v) => typeof v === 'function')),
  random: z.optional(z.custom<RandomSource>((v) => typeof v === 'function')),
  output: z.optional(z.enum(['bytes', 'parts'])),
});

/** A claim signer and, when known in advance, the size of the COSE_Sign1 it returns. */
export interface SizedSigner {
  readonly sign: ClaimSigner;
  readonly size: number | undefined;
}

/**
 * The claim signer (and, where it is fixed, the size of its COSE_Sign1) for a prepared
 * {@link C2paSigner} or a key and chain (prepared here, for one use). The size is left undefined
 * with a timestamp (the token's size is not known in advance). Shared by `signFile` and
 * `signFileStream`.
 *
 * @example
 * ```ts
 * const { sign, size } = await claimSignerFor({ signer }, { random });
 * ```
 */
export async function claimSignerFor(
  o: {
    signer?: C2paSigner | undefined;
    suite?: string | undefined;
    key?: KeyMaterial | string | undefined;
    chain?: readonly Uint8Array[] | string | undefined;
  },
  extra: {
    random?: RandomSource;
    timestamp?: TimestampAuthority | ((d: Uint8Array) => Promise<Uint8Array>);
  },
): Promise<SizedSigner> {
  let signer = o.signer;
  if (signer === undefined) {
    if (o.key === undefined || o.chain === undefined)
      throw new OmtError('c2pa.input.invalid', 'give a prepared signer, or key and chain');
    signer = await createC2paSigner({
      key: o.key,
      chain: o.chain,
      ...(o.suite !== undefined ? { suite: o.suite as SuiteId } : {}),
    });
  } else if (o.key !== undefined || o.chain !== undefined) {
    throw new OmtError('c2pa.input.invalid', 'give either a prepared signer or key and chain, not both');
  } else if (o.suite !== undefined && o.suite !== signer.suite) {
    throw new OmtError('core.key.suite-mismatch', `the signer signs with ${signer.suite}, not ${o.suite}`);
  }
  const prepared = signer;
  const opts = {
    ...(extra.random ? { random: extra.random } : {}),
    ...(extra.timestamp ? { timestamp: extra.timestamp } : {}),
  };
  return {
    sign: (claimBytes) => prepared.sign(claimBytes, opts),
    size: extra.timestamp === undefined ? prepared.signatureSize : undefined,
  };
}

/**
 * The assertions a manifest definition asks for, with the actions assertion first: the
 * definition's own `c2pa.actions(.v2)`, else `c2pa.opened` (with a parent) or `c2pa.created`
 * (digital capture). Shared by `signFile` and `signFileStream`.
 */
export function definitionAssertions(
  def: ManifestDefinition,
  clock: Clock,
  hasParent: boolean,
): AssertionDraft[] {
  const assertions: AssertionDraft[] = [];
  let actions: AssertionDraft | undefined;
  for (const a of def.assertions ?? []) {
    if (a.label === 'c2pa.actions' || a.label === 'c2pa.actions.v2') {
      actions = buildActionsAssertion(a.data as { actions: ActionInput[] });
    } else if (a.label === 'c2pa.metadata' && a.data !== null && typeof a.data === 'object') {
      const { '@context': _ctx, ...fields } = a.data as Record<string, unknown>;
      assertions.push(buildMetadataAssertion(fields));
    } else {
      const kind = a.kind ?? 'cbor';
      assertions.push(
        buildCustomAssertion(a.label, kind === 'cbor' ? jsonToCbor(a.data) : (a.data as CborValue), kind),
      );
    }
  }
  const when = clock().toISOString();
  const agent = { name: 'OpenMediaTrust', version: '0.1.0' };
  actions ??= buildActionsAssertion({
    actions: [
      hasParent
        ? { action: 'c2pa.opened', when, softwareAgent: agent }
        : {
            action: 'c2pa.created',
            digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture,
            when,
            softwareAgent: agent,
          },
    ],
  });
  assertions.unshift(actions);
  return assertions;
}

/**
 * Signs an asset with a C2PA manifest and embeds it (or returns a sidecar store). Throws
 * `c2pa.input.invalid` on bad options or manifest definition, `core.key.*` for unusable keys,
 * `c2pa.signature.alg-unsupported`, `c2pa.asset.*` for broken or unsupported assets.
 *
 * @example
 * ```ts
 * const pki = await createTestPki({ suite: 'ML-DSA-65+ES256' });
 * const out = await signFile({ asset, mime: 'image/png', key: pki.files['signer.key.pem'], chain: pki.files['chain.pem'] });
 * ```
 */
export async function signFile(options: SignFileOptions): Promise<SignFileResult> {
  const o = parseInput(SignFileSchema, options, 'c2pa.input.invalid', 'signFile options');
  const def: ManifestDefinition = o.manifest === undefined ? {} : parseManifestDefinition(o.manifest);
  const clock = o.clock ?? systemClock;
  const random = o.random ?? platformRandom;
  if (o.remoteUrl !== undefined && o.sidecar === true)
    throw new OmtError('c2pa.input.invalid', 'remoteUrl and sidecar exclude each other');
  const signer = await claimSignerFor(
    {
      signer: o.signer,
      suite: o.suite ?? (typeof o.key === 'object' ? o.key.suite : undefined),
      key: o.key,
      chain: o.chain,
    },
    // The caller's random source only: without one the suites draw from the platform themselves
    // (and may sign natively, e.g. ML-DSA through WebCrypto, which takes no injected randomness).
    { ...(o.random ? { random: o.random } : {}), ...(o.timestamp ? { timestamp: o.timestamp } : {}) },
  );
  // Remote manifest (§11.3): the XMP reference goes in first, so the data hash covers it.
  const asset = o.remoteUrl === undefined ? o.asset : withRemoteReference(o.asset, o.mime, o.remoteUrl);

  const assertions = definitionAssertions(def, clock, o.parent !== undefined);
  if (o.metadata === true && !assertions.some((a) => a.label === 'c2pa.metadata')) {
    const fields = await extractMetadata(asset);
    if (Object.keys(fields).length > 0) assertions.push(buildMetadataAssertion(fields));
  }
  if (o.thumbnail !== undefined && o.thumbnail !== false) {
    const thumb = o.thumbnail === true ? await extractThumbnail(asset) : o.thumbnail;
    if (thumb !== undefined) assertions.push(buildThumbnailAssertion(thumb));
  }

  const ingredients: IngredientSpec[] = [];
  if (o.parent) {
    let manifestStore: Uint8Array | undefined;
    try {
      manifestStore = readManifestStore(o.parent.bytes, o.parent.mime).bytes;
    } catch (e) {
      if (!isOmtError(e, 'c2pa.jumbf.not-found')) throw e;
    }
    ingredients.push({
      ingredient: { title: o.parent.title ?? 'parent', format: o.parent.mime, relationship: 'parentOf' },
      ...(manifestStore ? { manifestStore } : {}),
    });
  }
  const ingredientDrafts = (def.ingredients ?? []).map((ing, i) =>
    buildIngredientAssertion(
      {
        title: ing.title,
        format: ing.format,
        relationship: ing.relationship ?? 'componentOf',
        ...(ing.instance_id !== undefined ? { instanceId: ing.instance_id } : {}),
        ...(ing.description !== undefined ? { description: ing.description } : {}),
      },
      i + ingredients.length,
    ),
  );
  const info = def.claim_generator_info;
  const generator = Array.isArray(info) ? info[0] : info;
  const build = (signatureReserveSize: number | undefined) =>
    signAssetParts({
      asset,
      mime: o.mime,
      signer: signer.sign,
      assertions: [...ingredientDrafts, ...assertions],
      ingredients,
      ...(def.title !== undefined ? { title: def.title } : {}),
      ...(generator ? { claimGenerator: generator } : {}),
      ...(o.sidecar === true || o.remoteUrl !== undefined ? { sidecar: true } : {}),
      ...(signatureReserveSize !== undefined ? { signatureReserveSize } : {}),
      random,
    });
  // The reservation comes from the known signature size (one signing call); should the signer
  // return more than computed, the builder measures it with a trial signature instead.
  let signed: SignedAssetParts;
  try {
    signed = await build(signer.size === undefined ? undefined : signer.size + 100);
  } catch (e) {
    if (signer.size === undefined || !isOmtError(e, 'c2pa.signature.too-large')) throw e;
    signed = await build(undefined);
  }
  const out = o.output === 'parts' ? { assetParts: signed.parts } : { asset: joinParts(signed.parts) };
  if (o.remoteUrl !== undefined)
    return { ...out, sidecar: signed.store, manifestLabel: signed.manifestLabel };
  return o.sidecar === true
    ? { sidecar: signed.store, manifestLabel: signed.manifestLabel }
    : { ...out, manifestLabel: signed.manifestLabel };
}

/**
 * The asset with any embedded store removed and an XMP `dcterms:provenance` reference to
 * `url` (c2pa-rs `RemoteManifest::Remote`: remove the store, then embed the reference). Throws
 * `c2pa.asset.unsupported` when the format cannot carry XMP here.
 */
function withRemoteReference(asset: Uint8Array, mime: string, url: string): Uint8Array {
  const handler = createAssetRegistry().forMime(mime);
  if (handler.embedRemoteReference === undefined)
    throw new OmtError(
      'c2pa.asset.unsupported',
      `${handler.mimeTypes[0]} cannot carry a remote manifest reference`,
    );
  return handler.embedRemoteReference(handler.removeManifestStore(asset), url);
}
