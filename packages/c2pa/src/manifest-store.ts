import { fromUtf8, isBytes } from '@omt/core/bytes';
import { type CborValue, decodeCbor } from '@omt/core/cbor';
import { isOmtError, OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import * as z from 'zod/mini';
import { createAssetRegistry } from './asset.js';
import type { AssetHandlerRegistry, ByteRange } from './asset-handler.js';
import { toDefiniteCbor } from './cbor-definite.js';
import {
  EMBEDDED_FILE_UUID,
  type JumbfLimits,
  type JumbfSuperBox,
  jumbfTypeName,
  parseJumbf,
  superBoxContents,
} from './jumbf.js';
import { C2PA_ERROR, STATUS } from './status-codes.js';

/**
 * The C2PA manifest store read into typed data (C2PA 2.x §11.1): store `c2pa` → manifests
 * (`c2ma`, or `c2um` for update manifests) → assertion store `c2as`, claim `c2cl`, claim
 * signature `c2cs`, optional credential store `c2vc` and databoxes `c2db`. The active manifest is
 * the last one (§11.1.2).
 */

/** A hashed URI (§8.3): a JUMBF URI plus the hash of the box it names. */
export interface HashedUri {
  readonly url: string;
  readonly hash: Uint8Array;
  /** Hash algorithm (`sha256`, `sha384`, `sha512`); absent = the claim's `alg`. */
  readonly alg?: string;
}

/** A claim (§10), version 1 (`c2pa.claim`) or 2 (`c2pa.claim.v2`). */
export interface Claim {
  readonly version: 1 | 2;
  readonly instanceId: string;
  readonly title: string | undefined;
  readonly format: string | undefined;
  /** v1 `claim_generator` string. */
  readonly claimGenerator: string | undefined;
  /** `claim_generator_info` (v2: one map; v1: a list). */
  readonly claimGeneratorInfo: CborValue | undefined;
  /** JUMBF URI of the claim signature. */
  readonly signature: string;
  /** v2 `created_assertions`; for v1, its `assertions`. */
  readonly createdAssertions: readonly HashedUri[];
  readonly gatheredAssertions: readonly HashedUri[];
  readonly redactedAssertions: readonly string[];
  /** Default hash algorithm of the claim's hashed URIs. */
  readonly alg: string | undefined;
  /** Every field as decoded (for fields not modelled above). */
  readonly fields: ReadonlyMap<CborValue, CborValue>;
}

/** How an assertion's content is carried (§6.3, JUMBF content types). */
export type AssertionKind = 'cbor' | 'json' | 'embedded-file' | 'uuid' | 'other';

/** One assertion box of an assertion store. */
export interface Assertion {
  /** The full JUMBF label, e.g. `c2pa.ingredient__1`. */
  readonly label: string;
  /** The label without an instance suffix, e.g. `c2pa.ingredient`. */
  readonly baseLabel: string;
  /** Instance number from a `__N` suffix (§6.2), 0 when absent. */
  readonly instance: number;
  readonly kind: AssertionKind;
  readonly box: JumbfSuperBox;
  /** Content bytes: the CBOR/JSON payload, the embedded file's data, or the uuid box payload. */
  readonly data: Uint8Array;
  /** Decoded CBOR (maps as `Map`) or parsed JSON; undefined for binary kinds or on decode failure. */
  readonly value: unknown;
  /** Media type of an embedded file (`bfdb`). */
  readonly mediaType: string | undefined;
  /** Status code when the content could not be decoded (`assertion.cbor.invalid` / `assertion.json.invalid`). */
  readonly decodeError: string | undefined;
}

/** One manifest. */
export interface Manifest {
  readonly label: string;
  /** `standard` (`c2ma`) or `update` (`c2um`). */
  readonly kind: 'standard' | 'update';
  readonly box: JumbfSuperBox;
  readonly claim: Claim;
  /** `c2pa.claim` or `c2pa.claim.v2`. */
  readonly claimLabel: string;
  /** The claim's CBOR bytes exactly as stored (the signed payload). */
  readonly claimBytes: Uint8Array;
  readonly assertions: readonly Assertion[];
  /** The COSE_Sign1 bytes of the claim signature; undefined when the box is missing. */
  readonly signature: Uint8Array | undefined;
  /** Ingredient assertions (`c2pa.ingredient`, `.v2`, `.v3`, any instance). */
  readonly ingredients: readonly Assertion[];
}

/** A parsed manifest store. */
export interface ManifestStore {
  readonly bytes: Uint8Array;
  readonly jumbf: JumbfSuperBox;
  readonly manifests: readonly Manifest[];
  /** The last manifest (§11.1.2). */
  readonly activeManifest: Manifest;
  /** Where the store sat in the asset (empty for a sidecar or bare store). */
  readonly ranges: readonly ByteRange[];
  /** Remote manifest URL from XMP `dcterms:provenance`, when the asset had one. */
  readonly remoteUrl: string | undefined;
}

function malformedManifest(message: string, status: string, cause?: unknown): OmtError {
  const code = status === STATUS.manifestMalformed ? C2PA_ERROR.manifestMalformed : C2PA_ERROR.claimMalformed;
  return new OmtError(code, message, { cause, details: { status } });
}

const INSTANCE = /^(.*)__(\d{1,9})$/;

/** Splits `c2pa.ingredient__2` into its base label and instance (§6.2). */
export function splitAssertionLabel(label: string): { baseLabel: string; instance: number } {
  const m = INSTANCE.exec(label);
  return m ? { baseLabel: m[1] as string, instance: Number(m[2]) } : { baseLabel: label, instance: 0 };
}

/**
 * Decodes CBOR as C2PA writers produce it: indefinite lengths are accepted (rewritten to
 * definite), anything else must pass core's strict decoder.
 */
export function decodeC2paCbor(bytes: Uint8Array): CborValue {
  return decodeCbor(toDefiniteCbor(bytes));
}

function readAssertion(box: JumbfSuperBox): Assertion {
  const label = box.description.label ?? '';
  const { baseLabel, instance } = splitAssertionLabel(label);
  const type = jumbfTypeName(box.description.uuid);
  const contents = box.children;
  let kind: AssertionKind = 'other';
  let data: Uint8Array = new Uint8Array(0);
  let value: unknown;
  let mediaType: string | undefined;
  let decodeError: string | undefined;
  if (type === 'cbor') {
    kind = 'cbor';
    const c = contents.find((x) => x.kind === 'content' && x.type === 'cbor');
    if (c?.kind === 'content') {
      data = c.payload;
      try {
        value = decodeC2paCbor(data);
      } catch {
        decodeError = STATUS.assertionCborInvalid;
      }
    } else decodeError = STATUS.assertionCborInvalid;
  } else if (type === 'json') {
    kind = 'json';
    const c = contents.find((x) => x.kind === 'content' && x.type === 'json');
    if (c?.kind === 'content') {
      data = c.payload;
      try {
        value = JSON.parse(fromUtf8(data)) as unknown;
      } catch {
        decodeError = STATUS.assertionJsonInvalid;
      }
    } else decodeError = STATUS.assertionJsonInvalid;
  } else if (
    box.description.uuid.length === 16 &&
    jumbfTypeName(box.description.uuid) === jumbfTypeName(EMBEDDED_FILE_UUID)
  ) {
    kind = 'embedded-file';
    for (const c of contents) {
      if (c.kind !== 'content') continue;
      if (c.type === 'bfdb' && c.payload.length >= 2) {
        // ISO 19566-5 §B.5: toggles byte, NUL-terminated media type, optional file name.
        const nul = c.payload.indexOf(0, 1);
        if (nul > 1) mediaType = new TextDecoder().decode(c.payload.subarray(1, nul));
      } else if (c.type === 'bidb') data = c.payload;
    }
  } else if (type === 'uuid' || contents.some((c) => c.kind === 'content' && c.type === 'uuid')) {
    kind = 'uuid';
    const c = contents.find((x) => x.kind === 'content' && x.type === 'uuid');
    if (c?.kind === 'content') data = c.payload;
  }
  return { label, baseLabel, instance, kind, box, data, value, mediaType, decodeError };
}

function asMap(v: CborValue, what: string): ReadonlyMap<CborValue, CborValue> {
  if (v instanceof Map) return v;
  throw malformedManifest(`${what} is not a CBOR map`, STATUS.claimMalformed);
}

function optText(m: ReadonlyMap<CborValue, CborValue>, key: string): string | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw malformedManifest(`claim field ${key} must be text`, STATUS.claimMalformed);
  return v;
}

/** Reads a hashed-URI map `{url, hash, alg?}`; throws `c2pa.claim.malformed` otherwise. */
export function readHashedUri(v: unknown): HashedUri {
  if (!(v instanceof Map)) throw malformedManifest('hashed URI is not a map', STATUS.claimMalformed);
  const url: unknown = v.get('url');
  const hash: unknown = v.get('hash');
  const alg: unknown = v.get('alg');
  if (typeof url !== 'string' || !isBytes(hash) || (alg !== undefined && typeof alg !== 'string')) {
    throw malformedManifest(
      'hashed URI needs url (text), hash (bytes) and optional alg (text)',
      STATUS.claimMalformed,
    );
  }
  return alg === undefined ? { url, hash } : { url, hash, alg };
}

function uriList(m: ReadonlyMap<CborValue, CborValue>, key: string): HashedUri[] {
  const v = m.get(key);
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw malformedManifest(`claim field ${key} must be an array`, STATUS.claimMalformed);
  return v.map(readHashedUri);
}

/**
 * Reads a claim's CBOR (v1 §10.3 or v2 §10.2 fields). Throws `c2pa.claim.malformed` with
 * `details.status` `claim.cbor.invalid` or `claim.malformed`.
 *
 * @example
 * ```ts
 * const claim = readClaim(claimBytes, 2);
 * claim.createdAssertions[0].url; // 'self#jumbf=c2pa.assertions/c2pa.actions.v2'
 * ```
 */
export function readClaim(bytes: Uint8Array, version: 1 | 2): Claim {
  let v: CborValue;
  try {
    v = decodeC2paCbor(bytes);
  } catch (e) {
    throw malformedManifest('claim is not valid CBOR', STATUS.claimCborInvalid, e);
  }
  const m = asMap(v, 'claim');
  const signature = optText(m, 'signature');
  const instanceId = optText(m, 'instanceID');
  if (signature === undefined || instanceId === undefined) {
    throw malformedManifest('claim lacks signature or instanceID', STATUS.claimMalformed);
  }
  const redacted = m.get('redacted_assertions');
  if (
    redacted !== undefined &&
    !(Array.isArray(redacted) && redacted.every((r) => typeof r === 'string' || r instanceof Map))
  ) {
    throw malformedManifest('redacted_assertions must be an array', STATUS.claimMalformed);
  }
  const redactedAssertions = ((redacted ?? []) as CborValue[]).map((r) =>
    typeof r === 'string' ? r : readHashedUri(r).url,
  );
  const created = version === 2 ? uriList(m, 'created_assertions') : uriList(m, 'assertions');
  if (version === 2 && !m.has('created_assertions'))
    throw malformedManifest('v2 claim lacks created_assertions', STATUS.claimMalformed);
  if (version === 1 && !m.has('assertions'))
    throw malformedManifest('v1 claim lacks assertions', STATUS.claimMalformed);
  return {
    version,
    instanceId,
    title: optText(m, 'dc:title'),
    format: optText(m, 'dc:format'),
    claimGenerator: optText(m, 'claim_generator'),
    claimGeneratorInfo: m.get('claim_generator_info'),
    signature,
    createdAssertions: created,
    gatheredAssertions: version === 2 ? uriList(m, 'gathered_assertions') : [],
    redactedAssertions,
    alg: optText(m, 'alg'),
    fields: m,
  };
}

function readManifest(box: JumbfSuperBox): Manifest {
  const label = box.description.label;
  const type = jumbfTypeName(box.description.uuid);
  if (label === undefined || (type !== 'c2ma' && type !== 'c2um')) {
    throw malformedManifest('a manifest box needs a label and type c2ma or c2um', STATUS.manifestMalformed);
  }
  const supers = box.children.filter((c): c is JumbfSuperBox => c.kind === 'super');
  const byType = (t: string): JumbfSuperBox[] =>
    supers.filter((c) => jumbfTypeName(c.description.uuid) === t);
  const claims = byType('c2cl');
  if (claims.length !== 1) {
    throw malformedManifest(
      `manifest ${label} has ${claims.length} claim boxes`,
      claims.length === 0 ? STATUS.claimMissing : STATUS.claimMultiple,
    );
  }
  const claimBox = claims[0] as JumbfSuperBox;
  const claimLabel = claimBox.description.label ?? '';
  const version = claimLabel === 'c2pa.claim.v2' ? 2 : claimLabel === 'c2pa.claim' ? 1 : undefined;
  if (version === undefined)
    throw malformedManifest(
      `unknown claim label ${JSON.stringify(claimLabel.slice(0, 64))}`,
      STATUS.claimMalformed,
    );
  const cborBox = claimBox.children.find((c) => c.kind === 'content' && c.type === 'cbor');
  if (cborBox?.kind !== 'content')
    throw malformedManifest('claim box has no cbor content box', STATUS.claimMalformed);
  const claim = readClaim(cborBox.payload, version);
  const stores = byType('c2as');
  if (stores.length > 1)
    throw malformedManifest('manifest has several assertion stores', STATUS.manifestMalformed);
  const assertions = (stores[0]?.children ?? [])
    .filter((c): c is JumbfSuperBox => c.kind === 'super')
    .map(readAssertion);
  const sigBox = byType('c2cs')[0];
  const sigContent = sigBox?.children.find((c) => c.kind === 'content' && c.type === 'cbor');
  return {
    label,
    kind: type === 'c2um' ? 'update' : 'standard',
    box,
    claim,
    claimLabel,
    claimBytes: cborBox.payload,
    assertions,
    signature: sigContent?.kind === 'content' ? sigContent.payload : undefined,
    ingredients: assertions.filter((a) => /^c2pa\.ingredient(\.v[23])?$/.test(a.baseLabel)),
  };
}

/**
 * Parses manifest-store JUMBF bytes (a `.c2pa` file or what an asset handler extracted).
 *
 * @example
 * ```ts
 * const store = parseManifestStore(storeBytes);
 * store.activeManifest.label;
 * ```
 */
export function parseManifestStore(
  bytes: Uint8Array,
  options?: { limits?: JumbfLimits; ranges?: readonly ByteRange[]; remoteUrl?: string },
): ManifestStore {
  const jumbf = parseJumbf(bytes, options?.limits);
  if (jumbfTypeName(jumbf.description.uuid) !== 'c2pa') {
    throw new OmtError(
      C2PA_ERROR.jumbfNotFound,
      'the JUMBF superbox is not a C2PA manifest store (type c2pa)',
    );
  }
  const manifests = jumbf.children.filter((c): c is JumbfSuperBox => c.kind === 'super').map(readManifest);
  const activeManifest = manifests[manifests.length - 1];
  if (activeManifest === undefined)
    throw malformedManifest('the manifest store holds no manifest', STATUS.manifestMissing);
  return {
    bytes,
    jumbf,
    manifests,
    activeManifest,
    ranges: options?.ranges ?? [],
    remoteUrl: options?.remoteUrl,
  };
}

const ReadOptions = z.strictObject({
  bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array),
  mime: z.string().check(z.minLength(1), z.maxLength(200)),
  limits: z.optional(
    z.strictObject({
      maxDepth: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1000))),
      maxBoxes: z.optional(z.number().check(z.int(), z.positive())),
    }),
  ),
  registry: z.optional(
    z.custom<AssetHandlerRegistry>(
      (v) =>
        typeof v === 'object' && v !== null && typeof (v as { forMime?: unknown }).forMime === 'function',
    ),
  ),
});

/** Options of {@link readManifestStore}. */
export interface ReadManifestStoreOptions {
  readonly limits?: JumbfLimits;
  /** Handlers to use (default: JPEG, PNG, sidecar). */
  readonly registry?: AssetHandlerRegistry;
}

/**
 * Reads the manifest store of an asset. Throws `c2pa.jumbf.not-found` when the asset carries no
 * C2PA data (c2pa-rs `JumbfNotFound`; a remote reference in XMP is in `details.remoteUrl`),
 * `c2pa.asset.malformed` / `c2pa.jumbf.malformed` / `c2pa.manifest.malformed` /
 * `c2pa.claim.malformed` on broken data, `c2pa.asset.unsupported` for an unknown MIME type.
 *
 * @example
 * ```ts
 * const store = readManifestStore(readFileSync('photo.jpg'), 'image/jpeg');
 * console.log(store.manifests.length, store.activeManifest.label);
 * ```
 */
export function readManifestStore(
  bytes: Uint8Array,
  mime: string,
  options?: ReadManifestStoreOptions,
): ManifestStore {
  const input = parseInput(
    ReadOptions,
    { bytes, mime, ...options },
    'core.input.invalid',
    'readManifestStore arguments',
  );
  const handler = (options?.registry ?? createAssetRegistry()).forMime(input.mime);
  const found = handler.findManifestStore(bytes);
  if (found === undefined) {
    const remoteUrl = handler.findRemoteManifestUrl(bytes);
    throw new OmtError(
      C2PA_ERROR.jumbfNotFound,
      remoteUrl === undefined
        ? 'no C2PA manifest store in the asset'
        : 'no embedded C2PA manifest store; the asset references a remote manifest',
      remoteUrl === undefined ? undefined : { details: { remoteUrl } },
    );
  }
  try {
    return parseManifestStore(found.store, {
      ...(options?.limits ? { limits: options.limits } : {}),
      ranges: found.ranges,
      ...(() => {
        const remoteUrl = handler.findRemoteManifestUrl(bytes);
        return remoteUrl === undefined ? {} : { remoteUrl };
      })(),
    });
  } catch (e) {
    if (isOmtError(e)) throw e;
    throw new OmtError(C2PA_ERROR.jumbfMalformed, 'manifest store could not be parsed', { cause: e });
  }
}

/**
 * The bytes a hashed URI to `box` covers: the superbox's contents without its own header (§8.3).
 *
 * @example
 * ```ts
 * sha256(hashedBytesOf(assertion.box));
 * ```
 */
export function hashedBytesOf(box: JumbfSuperBox): Uint8Array {
  return superBoxContents(box);
}
