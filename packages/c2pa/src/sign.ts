/**
 * `signFile`: the high-level signing API (what `omt sign` and c2patool's `-m manifest.json` do).
 * It turns a c2patool-like manifest definition into assertions, adds the default actions
 * (`c2pa.created` with digitalSourceType digitalCapture, or `c2pa.opened` of a parent), optional
 * extracted metadata and a thumbnail, records a parent (its manifest store carried into ours),
 * and signs with `builder.signAsset` + `claim-signature.signClaim`: classical, post-quantum
 * (ML-DSA, default ML-DSA-65) or hybrid (classical claim signature + PQ countersignature).
 *
 * RSA-PSS (PS256/384/512) is signed with WebCrypto here, because core's RSA suites verify only;
 * the COSE structure is still built by core (`buildSigStructure1`, `encodeCoseSign1`).
 *
 * @example
 * ```ts
 * import { signFile } from '@omt/c2pa/sign';
 * const { asset, manifestLabel } = await signFile({
 *   asset: jpeg, mime: 'image/jpeg', key: signerKeyPem, chain: chainPem,
 *   manifest: { title: 'photo.jpg', assertions: [{ label: 'com.example.workflow', data: { step: 'ingest' } }] },
 * });
 * ```
 */
import { concatBytes, isBytes } from '@omt/core/bytes';
import type { CborValue } from '@omt/core/cbor';
import {
  buildSigStructure1,
  COSE_HEADER,
  type CoseLabel,
  encodeCoseSign1,
  encodeProtectedHeader,
  x5chainHeaderValue,
} from '@omt/core/cose';
import { isOmtError, OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { decodePemBlocks, importPem, type KeyMaterial } from '@omt/core/keys';
import { type Clock, platformRandom, type RandomSource, systemClock } from '@omt/core/random';
import { getSuite, isSuiteId, type SuiteId } from '@omt/core/suites';
import * as z from 'zod/mini';
import { type ActionInput, buildActionsAssertion, DIGITAL_SOURCE_TYPE } from './assertions/actions.js';
import type { AssertionDraft } from './assertions/assertion.js';
import { buildCustomAssertion } from './assertions/custom.js';
import { buildIngredientAssertion } from './assertions/ingredient.js';
import { buildMetadataAssertion } from './assertions/metadata.js';
import { buildThumbnailAssertion } from './assertions/thumbnail.js';
import { type ClaimSigner, type IngredientSpec, signAsset } from './builder.js';
import { CLAIM_SIGNATURE_SUITES, signClaim } from './claim-signature.js';
import { DerError, kids, need, oid, one } from './der-reader.js';
import { readManifestStore } from './manifest-store.js';
import { extractMetadata, extractThumbnail } from './metadata-extract.js';
import { splitHybridChain } from './pki.js';
import { jsonToCbor } from './store-assembly.js';
import { decodeCertificatesPem } from './x509.js';

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
  /** A core KeyMaterial (with secretKey) or PKCS#8 PEM text (hybrid: PQ block, then classical). */
  readonly key: KeyMaterial | string;
  /** Certificate chain, signer first (DER list or PEM text); hybrid: both chains (split by key family). */
  readonly chain: readonly Uint8Array[] | string;
  readonly manifest?: ManifestDefinition;
  /** The asset this one was made from: recorded as a parentOf ingredient with its manifest store. */
  readonly parent?: { readonly bytes: Uint8Array; readonly mime: string; readonly title?: string };
  /** Write a sidecar `.c2pa` instead of embedding. */
  readonly sidecar?: boolean;
  /** Extract EXIF/IPTC/XMP from the asset into a `c2pa.metadata` assertion. */
  readonly metadata?: boolean;
  /** A claim thumbnail: given bytes, or `true` for the asset's EXIF thumbnail when it has one. */
  readonly thumbnail?: boolean | { readonly mediaType: string; readonly data: Uint8Array };
  /** RFC 3161 TimeStampToken provider (a TSA adapter); omitted = no timestamp. */
  readonly timestamp?: (data: Uint8Array) => Promise<Uint8Array>;
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

export interface SignFileResult {
  /** The signed asset (absent for a sidecar). */
  readonly asset?: Uint8Array;
  /** The `.c2pa` manifest store (sidecar mode only). */
  readonly sidecar?: Uint8Array;
  readonly manifestLabel: string;
}

const bytesSchema = z.custom<Uint8Array>((v) => isBytes(v), 'must be a Uint8Array');
const SignFileSchema = z.object({
  asset: bytesSchema,
  mime: z.string().check(z.minLength(1), z.maxLength(200)),
  suite: z.optional(z.string().check(z.refine((s) => isSuiteId(s), 'unknown signature suite'))),
  key: z.union([
    z.string().check(z.minLength(1), z.maxLength(1 << 20)),
    z.custom<KeyMaterial>(
      (v) => typeof v === 'object' && v !== null && typeof (v as KeyMaterial).suite === 'string',
    ),
  ]),
  chain: z.union([
    z.string().check(z.minLength(1)),
    z.array(bytesSchema).check(z.minLength(1), z.maxLength(32)),
  ]),
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
  timestamp: z.optional(z.custom<(d: Uint8Array) => Promise<Uint8Array>>((v) => typeof v === 'function')),
  clock: z.optional(z.custom<Clock>((v) => typeof v === 'function')),
  random: z.optional(z.custom<RandomSource>((v) => typeof v === 'function')),
});

const RSA: Partial<Record<SuiteId, { hash: string; saltLength: number }>> = {
  PS256: { hash: 'SHA-256', saltLength: 32 },
  PS384: { hash: 'SHA-384', saltLength: 48 },
  PS512: { hash: 'SHA-512', saltLength: 64 },
};

const RSA_ENCRYPTION_ALG = /* @__PURE__ */ Uint8Array.of(
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
);

/**
 * WebCrypto imports RSA PKCS#8 only under rsaEncryption; keys labelled id-RSASSA-PSS (as
 * c2pa-rs's ps256.pem, RFC 4055 §1.2) are re-wrapped with the same RSAPrivateKey inside.
 */
function asRsaEncryptionPkcs8(pkcs8: Uint8Array): Uint8Array {
  try {
    const [version, alg, key] = kids(need(one(pkcs8), 0x30, 'PrivateKeyInfo').value);
    const algOid = oid(kids(need(alg, 0x30, 'AlgorithmIdentifier').value)[0]);
    if (algOid !== '1.2.840.113549.1.1.10' || version === undefined || key === undefined) return pkcs8;
    const body = concatBytes(version.raw, RSA_ENCRYPTION_ALG, key.raw);
    return concatBytes(derHeader(0x30, body.length), body);
  } catch (e) {
    if (e instanceof DerError)
      throw new OmtError('core.key.malformed', 'the RSA private key is not PKCS#8 DER');
    throw e;
  }
}

function derHeader(tag: number, len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(tag, len);
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(tag, 0x80 | bytes.length, ...bytes);
}

/** An RSA-PSS COSE_Sign1 signer through WebCrypto (core's RSA suites verify only). */
async function rsaSigner(
  suite: SuiteId,
  pkcs8: Uint8Array,
  chain: readonly Uint8Array[],
): Promise<ClaimSigner> {
  const p = RSA[suite] as { hash: string; saltLength: number };
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined)
    throw new OmtError('c2pa.signature.alg-unsupported', 'RSA signing needs WebCrypto');
  let key: CryptoKey;
  try {
    key = await subtle.importKey(
      'pkcs8',
      asRsaEncryptionPkcs8(pkcs8).slice(),
      { name: 'RSA-PSS', hash: p.hash },
      false,
      ['sign'],
    );
  } catch (e) {
    throw new OmtError('core.key.malformed', 'the RSA private key could not be imported', { cause: e });
  }
  const protectedBytes = encodeProtectedHeader(
    new Map<CoseLabel, CborValue>([
      [COSE_HEADER.alg, getSuite(suite).coseAlg as number],
      [COSE_HEADER.x5chain, x5chainHeaderValue(chain)],
    ]),
  );
  return async (claimBytes) => {
    const tbs = buildSigStructure1({ bodyProtected: protectedBytes, payload: claimBytes });
    const sig = new Uint8Array(
      await subtle.sign({ name: 'RSA-PSS', saltLength: p.saltLength }, key, tbs.slice()),
    );
    return encodeCoseSign1({
      protectedBytes,
      unprotectedHeaders: new Map(),
      payload: null,
      signature: sig,
      tagged: true,
    });
  };
}

function chainDers(chain: readonly Uint8Array[] | string): Uint8Array[] {
  return typeof chain === 'string' ? decodeCertificatesPem(chain) : [...chain];
}

/** A claim signer and, when known in advance, the size of the COSE_Sign1 it returns. */
export interface SizedSigner {
  readonly sign: ClaimSigner;
  readonly size: number | undefined;
}

/**
 * The size of the COSE_Sign1 `signClaim` makes (protected alg + x5chain, the suite's fixed-size
 * signature; hybrid: plus the PQ countersignature with its own alg + x5chain), computed from the
 * suite's known signature size instead of a trial signature. Undefined when a part has no fixed
 * size (RSA; a timestamp token is not included, so callers with a TSA measure instead).
 */
function claimSignatureSize(
  suite: SuiteId,
  chain: readonly Uint8Array[],
  pqChain: readonly Uint8Array[] | undefined,
): number | undefined {
  const part = (id: SuiteId, c: readonly Uint8Array[]) => {
    const s = getSuite(id);
    if (s.coseAlg === undefined || s.signatureSize === undefined) return undefined;
    return {
      protectedBytes: encodeProtectedHeader(
        new Map<CoseLabel, CborValue>([
          [COSE_HEADER.alg, s.coseAlg],
          [COSE_HEADER.x5chain, x5chainHeaderValue(c)],
        ]),
      ),
      signature: new Uint8Array(s.signatureSize),
    };
  };
  const [pqId, classicalId] = pqChain === undefined ? [undefined, suite] : suite.split('+');
  const main = part(classicalId as SuiteId, chain);
  if (main === undefined) return undefined;
  const unprotectedHeaders = new Map<CoseLabel, CborValue>();
  if (pqChain !== undefined) {
    const pq = pqId === undefined ? undefined : part(pqId as SuiteId, pqChain);
    if (pq === undefined) return undefined;
    unprotectedHeaders.set(COSE_HEADER.countersignature, [pq.protectedBytes, new Map(), pq.signature]);
  }
  return encodeCoseSign1({ ...main, unprotectedHeaders, payload: null, tagged: true }).length;
}

/**
 * The claim signer (and, where it is fixed, the size of its COSE_Sign1) for a key and chain: RSA
 * from PKCS#8 PEM, every core suite, and hybrid keys with their split classical/PQ chains.
 * Shared by `signFile` and `signFileStream`.
 */
export async function claimSignerFor(
  o: { suite?: string | undefined; key: KeyMaterial | string; chain: readonly Uint8Array[] | string },
  extra: { random?: RandomSource; timestamp?: (d: Uint8Array) => Promise<Uint8Array> },
): Promise<SizedSigner> {
  const ders = chainDers(o.chain);
  const requested = o.suite as SuiteId | undefined;
  if (requested !== undefined && RSA[requested] !== undefined) {
    if (typeof o.key !== 'string')
      throw new OmtError('c2pa.input.invalid', 'RSA keys are given as PKCS#8 PEM text');
    const block = decodePemBlocks(o.key).find((b) => b.label === 'PRIVATE KEY');
    if (block === undefined) throw new OmtError('core.key.malformed', 'no PRIVATE KEY PEM block');
    return { sign: await rsaSigner(requested, block.der, ders), size: undefined };
  }
  let key: KeyMaterial;
  try {
    key = typeof o.key === 'string' ? importPem(o.key, requested ? { suite: requested } : undefined) : o.key;
  } catch (e) {
    if (isOmtError(e)) throw e;
    throw new OmtError('core.key.malformed', 'the signing key could not be read', { cause: e });
  }
  const suite = requested ?? key.suite;
  if (key.suite !== suite)
    throw new OmtError('core.key.suite-mismatch', `a ${key.suite} key cannot sign with ${suite}`);
  if (!isBytes(key.secretKey)) throw new OmtError('core.key.malformed', 'the key has no secret part');
  const secretKey = key.secretKey;
  const hybrid = getSuite(suite).family === 'hybrid';
  if (!hybrid && !CLAIM_SIGNATURE_SUITES.includes(suite))
    throw new OmtError('c2pa.signature.alg-unsupported', `${suite} is not a C2PA claim signature algorithm`);
  const split = hybrid ? splitHybridChain(ders) : undefined;
  const size =
    extra.timestamp === undefined
      ? claimSignatureSize(suite, split ? split.classical : ders, split?.pq)
      : undefined;
  const sign: ClaimSigner = (claimBytes) =>
    signClaim({
      claimBytes,
      signer: { suite, secretKey },
      chain: split ? split.classical : ders,
      ...(split ? { pqChain: split.pq } : {}),
      ...(extra.random ? { random: extra.random } : {}),
      ...(extra.timestamp ? { timestamp: extra.timestamp } : {}),
    });
  return { sign, size };
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
  const signer = await claimSignerFor(
    { suite: o.suite ?? (typeof o.key === 'string' ? undefined : o.key.suite), key: o.key, chain: o.chain },
    { random, ...(o.timestamp ? { timestamp: o.timestamp } : {}) },
  );

  const assertions = definitionAssertions(def, clock, o.parent !== undefined);
  if (o.metadata === true && !assertions.some((a) => a.label === 'c2pa.metadata')) {
    const fields = await extractMetadata(o.asset);
    if (Object.keys(fields).length > 0) assertions.push(buildMetadataAssertion(fields));
  }
  if (o.thumbnail !== undefined && o.thumbnail !== false) {
    const thumb = o.thumbnail === true ? await extractThumbnail(o.asset) : o.thumbnail;
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
    signAsset({
      asset: o.asset,
      mime: o.mime,
      signer: signer.sign,
      assertions: [...ingredientDrafts, ...assertions],
      ingredients,
      ...(def.title !== undefined ? { title: def.title } : {}),
      ...(generator ? { claimGenerator: generator } : {}),
      ...(o.sidecar === true ? { sidecar: true } : {}),
      ...(signatureReserveSize !== undefined ? { signatureReserveSize } : {}),
      random,
    });
  // The reservation comes from the known signature size (one signing call); should the signer
  // return more than computed, the builder measures it with a trial signature instead.
  let signed: Awaited<ReturnType<typeof signAsset>>;
  try {
    signed = await build(signer.size === undefined ? undefined : signer.size + 100);
  } catch (e) {
    if (signer.size === undefined || !isOmtError(e, 'c2pa.signature.too-large')) throw e;
    signed = await build(undefined);
  }
  return o.sidecar === true
    ? { sidecar: signed.store, manifestLabel: signed.manifestLabel }
    : { asset: signed.asset, manifestLabel: signed.manifestLabel };
}
