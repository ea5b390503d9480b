/**
 * `validateAsset`: the verdict the official C2PA SDK gives, from our own parts (C2PA 2.x §15,
 * "Validation"): structure → claim signature and credential → hashed URIs of the claim's
 * assertions → hard binding (`c2pa.hash.data`, streamed) → ingredient manifests, recursively →
 * state. Every status found is returned as data; only "no C2PA data at all" throws
 * (`c2pa.jumbf.not-found`, c2pa-rs `JumbfNotFound`), as the official reader does. An asset whose
 * XMP references a remote manifest (§11.3) is validated against the store `fetchRemote` returns
 * (its data hash then covers the whole asset); unfetched, it is reported `manifest.inaccessible`
 * (the official reader raises `RemoteManifestUrl` / `RemoteManifestFetch` there instead).
 *
 * State (c2pa-rs `ValidationState`): any failure code of the active manifest (its ingredients'
 * failures included, as the reader's ingredient deltas; timestamp problems are informational)
 * other than `signingCredential.untrusted` → `Invalid`; else `Trusted` when the signer chain reaches a
 * configured anchor; else `Valid` (with `signingCredential.untrusted` when nothing is trusted).
 * Trust verdicts are kept apart — signer, timestamp authority, ingredient signers — so a caller
 * sees which one failed (c2pa-rs#1922, #1609 ask for this).
 *
 * @example
 * ```ts
 * import { validateAsset } from '@omt/c2pa/validate';
 * const report = await validateAsset(jpegBytes, 'image/jpeg', { trust });
 * report.state;        // 'Trusted'
 * report.failureCodes; // []
 * ```
 */
import { equalBytes, isBytes } from '@omt/core/bytes';
import { isOmtError, OmtError } from '@omt/core/errors';
import { hash } from '@omt/core/hash';
import { parseInput } from '@omt/core/input';
import { type Clock, systemClock } from '@omt/core/random';
import * as z from 'zod/mini';
import { createAssetRegistry } from './asset.js';
import type { AssetHandler, AssetHandlerRegistry, ByteRange } from './asset-handler.js';
import {
  type ClaimSignatureResult,
  claimSignatureTimestampTokens,
  verifyClaimSignature,
} from './claim-signature.js';
import { type AssetSource, verifyDataHash } from './data-hash.js';
import { coreHashAlg } from './hash-alg.js';
import { absoluteUri, resolveJumbfUri, verifyClaimAssertionUris } from './hashed-uri.js';
import { superBoxContents } from './jumbf.js';
import {
  type Assertion,
  type HashedUri,
  type Manifest,
  type ManifestStore,
  parseManifestStore,
  readHashedUri,
} from './manifest-store.js';
import { C2PA_ERROR, isFailureCode, STATUS, type ValidationStatus } from './status-codes.js';
import { type TimestampVerdict, verifyTimestampTokens } from './timestamp.js';
import type { CredentialPolicy, CredentialVerdict, TrustList } from './trust.js';

/** The asset: whole bytes, or a factory of fresh chunk streams (called once per pass). */
export type ValidateInput =
  | Uint8Array
  | { readonly bytes?: Uint8Array; readonly stream?: () => AsyncIterable<Uint8Array> };

/** Limits against hostile input. */
export interface ValidateLimits {
  /** JUMBF nesting depth (default: the parser's). */
  readonly maxDepth?: number;
  /** JUMBF boxes in the store (default: the parser's). */
  readonly maxBoxes?: number;
  /** How deep ingredient manifests are followed (default 16). */
  readonly maxIngredientDepth?: number;
  /** Stream input: bytes read at most while looking for the embedded store (default 64 MiB). */
  readonly maxScanBytes?: number;
}

export interface ValidateOptions {
  /** Trust anchors / allowed list; undefined = nothing trusted (the official reader's default). */
  readonly trust?: TrustList;
  /** Validity time when no verified timestamp gives one (default: `clock()`). */
  readonly at?: Date;
  /** Hybrid policy (default 'if-present'): 'required' fails a claim without a valid PQ countersignature. */
  readonly hybrid?: 'required' | 'if-present' | 'ignore';
  /** A sidecar `.c2pa` manifest store for the asset (the asset is then hashed whole). */
  readonly sidecar?: Uint8Array;
  /** A remote manifest store already downloaded (validates offline). */
  readonly remoteManifest?: Uint8Array;
  /**
   * Fetches the remote manifest store an asset references in its XMP (`dcterms:provenance`,
   * C2PA 2.x §11.3) when it embeds none — an injected function (an HTTP adapter, a cache); this
   * package does no network I/O. Without it, or when it fails, such an asset is reported with
   * the specification's `manifest.inaccessible` (state Invalid).
   */
  readonly fetchRemote?: (url: string) => Promise<Uint8Array>;
  readonly limits?: ValidateLimits;
  readonly policy?: CredentialPolicy;
  readonly registry?: AssetHandlerRegistry;
  readonly clock?: Clock;
}

/** A trust verdict, flattened for reports and JSON. */
export interface TrustVerdict {
  /** `signingCredential.trusted|untrusted|invalid|expired` (or `timeStamp.*`). */
  readonly code: string;
  readonly trusted: boolean;
  /** Subject of the leaf certificate, when parsed. */
  readonly subject: string | undefined;
  /** Issuer of the leaf certificate, when parsed. */
  readonly issuer: string | undefined;
  readonly explanation: string;
}

/** The result of validating one manifest. */
export interface ManifestReport {
  readonly label: string;
  /** 'active', 'ingredient' (reached from the active manifest), or 'unreferenced'. */
  readonly role: 'active' | 'ingredient' | 'unreferenced';
  readonly statuses: readonly ValidationStatus[];
  readonly failureCodes: readonly string[];
  /** Claim signature algorithm (suite id), when known. */
  readonly signatureAlg: string | undefined;
  readonly signer: TrustVerdict | undefined;
  /** The post-quantum countersignature of a hybrid signature, when checked (`signer`: its chain's verdict). */
  readonly hybrid:
    | {
        readonly present: boolean;
        readonly valid: boolean;
        readonly suite?: string;
        readonly signer?: TrustVerdict;
      }
    | undefined;
  /** Verified signing time from an RFC 3161 timestamp, when one verified. */
  readonly signedAt: Date | undefined;
  readonly timestamp: TrustVerdict | undefined;
}

/** What {@link validateAsset} returns. */
export interface ValidationReport {
  readonly state: 'Invalid' | 'Valid' | 'Trusted';
  /** Every code found for the active manifest, success and failure (reader's `validation_results`), in order, once each. */
  readonly statusCodes: readonly string[];
  /** The failure codes of the active manifest (reader's `validation_status`), once each. */
  readonly failureCodes: readonly string[];
  readonly activeManifest: string | undefined;
  readonly manifests: number;
  /** The remote manifest URL from the asset's XMP, when the store was (to be) fetched from there. */
  readonly remoteManifestUrl?: string;
  readonly perManifest: readonly ManifestReport[];
  /** Separate verdicts: who signed, who timestamped, who signed the ingredients. */
  readonly trust: {
    readonly signer: TrustVerdict | undefined;
    /** The PQ countersignature's chain of a hybrid signature, when it verified. */
    readonly hybridSigner?: TrustVerdict | undefined;
    readonly timestamp: TrustVerdict | undefined;
    readonly ingredients: readonly ({ readonly manifest: string } & TrustVerdict)[];
  };
  /** Every status of the active manifest with URL and explanation. */
  readonly reports: readonly ValidationStatus[];
}

const bytesSchema = z.custom<Uint8Array>((v) => isBytes(v), 'must be a Uint8Array');
const OptionsSchema = z.object({
  trust: z.optional(z.custom<TrustList>((v) => typeof v === 'object' && v !== null, 'must be a TrustList')),
  at: z.optional(z.date()),
  hybrid: z.optional(z.enum(['required', 'if-present', 'ignore'])),
  sidecar: z.optional(bytesSchema),
  remoteManifest: z.optional(bytesSchema),
  fetchRemote: z.optional(z.custom<(url: string) => Promise<Uint8Array>>((v) => typeof v === 'function')),
  limits: z.optional(
    z.object({
      maxDepth: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1000))),
      maxBoxes: z.optional(z.number().check(z.int(), z.positive())),
      maxIngredientDepth: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(1000))),
      maxScanBytes: z.optional(z.number().check(z.int(), z.positive())),
    }),
  ),
  policy: z.optional(z.custom<CredentialPolicy>((v) => typeof v === 'object' && v !== null)),
  registry: z.optional(
    z.custom<AssetHandlerRegistry>(
      (v) =>
        typeof v === 'object' && v !== null && typeof (v as { forMime?: unknown }).forMime === 'function',
    ),
  ),
  clock: z.optional(z.custom<Clock>((v) => typeof v === 'function')),
});
const InputSchema = z.union([
  bytesSchema,
  z.object({
    bytes: z.optional(bytesSchema),
    stream: z.optional(z.custom<() => AsyncIterable<Uint8Array>>((v) => typeof v === 'function')),
  }),
]);

/** Hard-binding assertion labels (§9.2); only `c2pa.hash.data` is verified here. */
const HARD_BINDING = /^c2pa\.hash\.(data|boxes|bmff(\.v[23])?|collection\.data)$/;

interface Ctx {
  readonly store: ManifestStore;
  readonly o: {
    trust?: TrustList | undefined;
    hybrid?: 'required' | 'if-present' | 'ignore' | undefined;
    policy?: CredentialPolicy | undefined;
  };
  readonly at: Date;
  readonly maxIngredientDepth: number;
  readonly reports: Map<string, ManifestReport>;
  readonly ingredientTrust: ({ manifest: string } & TrustVerdict)[];
}

function flatten(v: CredentialVerdict | undefined): TrustVerdict | undefined {
  if (v === undefined) return undefined;
  return {
    code: v.code,
    trusted: v.trusted,
    subject: v.leaf?.subject.text,
    issuer: v.leaf?.issuer.text,
    explanation: v.statuses[0]?.explanation ?? '',
  };
}

function unique(codes: readonly string[]): string[] {
  return [...new Set(codes)];
}

/** The asset's remote manifest reference; a broken container has none. */
function safeRemoteUrl(handler: AssetHandler, b: Uint8Array): string | undefined {
  try {
    return handler.findRemoteManifestUrl(b);
  } catch {
    return undefined;
  }
}

/** The bytes of the input, reading a stream prefix until the handler finds the store (bounded). */
async function locateStore(
  handler: AssetHandler,
  input: { bytes?: Uint8Array | undefined; stream?: (() => AsyncIterable<Uint8Array>) | undefined },
  maxScan: number,
): Promise<{ store: Uint8Array; ranges: readonly ByteRange[]; remoteUrl?: string } | undefined> {
  const tryFind = (
    b: Uint8Array,
    complete: boolean,
  ): ReturnType<AssetHandler['findManifestStore']> | null => {
    try {
      const found = handler.findManifestStore(b);
      if (found === undefined) return complete ? undefined : null;
      const end = Math.max(...found.ranges.map((r) => r.start + r.length));
      return end <= b.length ? found : null;
    } catch (e) {
      if (complete) throw e;
      return null; // a truncated prefix may look broken; read on
    }
  };
  const withRemote = (
    b: Uint8Array,
    found: NonNullable<ReturnType<AssetHandler['findManifestStore']>> | undefined,
  ): { store: Uint8Array; ranges: readonly ByteRange[]; remoteUrl?: string } | undefined => {
    const remoteUrl = safeRemoteUrl(handler, b);
    if (found === undefined) {
      throw new OmtError(
        C2PA_ERROR.jumbfNotFound,
        remoteUrl === undefined
          ? 'no C2PA manifest store in the asset'
          : 'no embedded C2PA manifest store; the asset references a remote manifest',
        remoteUrl === undefined ? undefined : { details: { remoteUrl } },
      );
    }
    return remoteUrl === undefined ? found : { ...found, remoteUrl };
  };
  if (input.bytes !== undefined) return withRemote(input.bytes, tryFind(input.bytes, true) ?? undefined);
  const stream = input.stream as () => AsyncIterable<Uint8Array>;
  const parts: Uint8Array[] = [];
  let size = 0;
  let nextTry = 64 * 1024;
  const joined = (): Uint8Array => {
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  for await (const chunk of stream()) {
    if (!isBytes(chunk)) throw new OmtError('core.input.invalid', 'asset stream chunks must be Uint8Array');
    parts.push(chunk);
    size += chunk.length;
    if (size >= nextTry || size >= maxScan) {
      const b = joined();
      parts.length = 0;
      parts.push(b);
      const found = tryFind(b, false);
      if (found) return withRemote(b, found);
      if (size >= maxScan) {
        if (safeRemoteUrl(handler, b) !== undefined) withRemote(b, undefined); // throws with the URL
        throw new OmtError(
          C2PA_ERROR.jumbfNotFound,
          `no C2PA manifest store in the first ${maxScan} bytes of the stream`,
        );
      }
      nextTry = size * 2;
    }
  }
  const b = joined();
  return withRemote(b, tryFind(b, true) ?? undefined);
}

/** The ingredient's reference to its manifest: v2/v3 `activeManifest`, v1 `c2pa_manifest`. */
function ingredientRefs(a: Assertion): {
  manifest: HashedUri | undefined;
  signature: HashedUri | undefined;
  v1: boolean;
} {
  const v = a.value;
  if (!(v instanceof Map)) return { manifest: undefined, signature: undefined, v1: false };
  const read = (x: unknown): HashedUri | undefined => (x === undefined ? undefined : readHashedUri(x));
  const v1 = v.has('c2pa_manifest') && !v.has('activeManifest');
  return {
    manifest: read(v.get('activeManifest') ?? v.get('c2pa_manifest')),
    signature: read(v.get('claimSignature')),
    v1,
  };
}

function boxHashMatches(
  uri: HashedUri,
  fallbackAlg: string | undefined,
  content: Uint8Array,
): boolean | undefined {
  const alg = coreHashAlg(uri.alg ?? fallbackAlg);
  if (alg === undefined) return undefined;
  return equalBytes(hash(alg, content), uri.hash);
}

/**
 * Validates one manifest: signature, hashed URIs, (for the active one) the data hash, and its
 * ingredients recursively. `path` holds the labels being validated above it (cycle guard).
 * `signatureOnly`: an ingredient whose manifest matched its hashed URI is checked as c2pa-rs
 * checks it (`ingredient_checks`): claim signature and credential, then its own ingredients —
 * its assertions were validated when it was ingested (the ingredient's `validationResults`
 * record that), and the matching hash shows the manifest is unchanged since.
 */
async function validateManifest(
  ctx: Ctx,
  manifest: Manifest,
  role: 'active' | 'ingredient',
  path: readonly string[],
  asset: (() => AssetSource) | undefined,
  signatureOnly = false,
): Promise<ManifestReport> {
  const done = ctx.reports.get(manifest.label);
  if (done !== undefined) return done;
  const statuses: ValidationStatus[] = [];
  const mUrl = absoluteUri(manifest, '');

  // 1. Timestamp (gives the validity time), then the claim signature and its credential (§15.7).
  // The timestamp first: a verified one gives the time the credential is judged at (§15.7), so
  // the claim signature is verified once, at that time.
  const tokens = claimSignatureTimestampTokens(manifest.signature);
  let ts: TimestampVerdict | undefined;
  if (tokens.length > 0 && manifest.signature !== undefined) {
    ts = await verifyTimestampTokens({
      tokens,
      signature: manifest.signature,
      claimBytes: manifest.claimBytes,
      ...(ctx.o.trust ? { trust: ctx.o.trust } : {}),
      at: ctx.at,
    });
    for (const st of ts.statuses) statuses.push({ ...st, url: `${mUrl}c2pa.signature` });
  }
  const result: ClaimSignatureResult = await verifyClaimSignature({
    signature: manifest.signature,
    claimBytes: manifest.claimBytes,
    ...(ctx.o.trust ? { trust: ctx.o.trust } : {}),
    at: ts?.time ?? ctx.at,
    hybrid: ctx.o.hybrid ?? 'if-present',
    role: role === 'active' ? 'signer' : 'ingredient',
    ...(ctx.o.policy ? { policy: ctx.o.policy } : {}),
  });
  for (const st of result.statuses) statuses.push({ ...st, url: `${mUrl}c2pa.signature` });

  // 2. Hashed URIs of every assertion the claim references (§15.10).
  const uriStatuses = signatureOnly ? [] : verifyClaimAssertionUris(ctx.store, manifest);
  statuses.push(...uriStatuses);
  for (const a of manifest.assertions) {
    // An assertion that was signed (its hashed URI matched) yet does not decode.
    const st = uriStatuses.find((s) => s.url === absoluteUri(manifest, `c2pa.assertions/${a.label}`));
    if (
      a.decodeError !== undefined &&
      st?.code === STATUS.hashedUriMatch &&
      !a.baseLabel.startsWith('c2pa.hash.')
    )
      statuses.push({ code: a.decodeError, url: st.url, explanation: 'assertion content does not decode' });
  }

  // 3. Hard binding (§15.12): exactly one for a standard manifest; verified on the active one.
  const referenced = new Set(
    [...manifest.claim.createdAssertions, ...manifest.claim.gatheredAssertions].map((u) =>
      absoluteUri(manifest, u.url),
    ),
  );
  const bindings = manifest.assertions.filter(
    (a) =>
      HARD_BINDING.test(a.baseLabel) && referenced.has(absoluteUri(manifest, `c2pa.assertions/${a.label}`)),
  );
  if (signatureOnly) {
    // not re-checked (see above)
  } else if (manifest.kind === 'standard' && bindings.length === 0) {
    statuses.push({
      code: STATUS.claimHardBindingsMissing,
      url: mUrl,
      explanation: 'no hard binding assertion',
    });
  } else if (bindings.length > 1) {
    statuses.push({
      code: STATUS.assertionMultipleHardBindings,
      url: mUrl,
      explanation: `${bindings.length} hard binding assertions`,
    });
  } else if (role === 'active' && bindings.length === 1 && asset !== undefined) {
    const b = bindings[0] as Assertion;
    if (b.baseLabel === 'c2pa.hash.data') {
      statuses.push(...(await verifyDataHash(manifest, asset())));
    } else {
      statuses.push({
        code: STATUS.generalError,
        url: absoluteUri(manifest, `c2pa.assertions/${b.label}`),
        explanation: `hard binding ${b.baseLabel} is not supported by this validator`,
      });
    }
  }

  // 4. Ingredients (§15.11): the referenced manifest must be in the store and match its hash;
  //    it is then validated itself (no data hash: its asset is not here), signature-only when
  //    the hash matched, and its failures count here (c2pa-rs ingredient deltas).
  for (const ing of manifest.ingredients) {
    const url = absoluteUri(manifest, `c2pa.assertions/${ing.label}`);
    let refs: ReturnType<typeof ingredientRefs>;
    try {
      refs = ingredientRefs(ing);
    } catch (e) {
      statuses.push({
        code: STATUS.ingredientMalformed,
        url,
        explanation: e instanceof Error ? e.message : 'malformed ingredient',
      });
      continue;
    }
    if (refs.manifest === undefined) continue;
    const target = resolveJumbfUri(ctx.store, manifest, refs.manifest.url);
    const targetManifest = ctx.store.manifests.find((m) => m.box === target);
    if (target === undefined || targetManifest === undefined) {
      statuses.push({
        code: STATUS.ingredientManifestMissing,
        url,
        explanation: 'the ingredient manifest is not in the store',
      });
      continue;
    }
    const mismatchCode = refs.v1 ? STATUS.ingredientHashedUriMismatch : STATUS.ingredientManifestMismatch;
    const ok = boxHashMatches(refs.manifest, manifest.claim.alg, superBoxContents(target));
    if (ok === undefined) {
      statuses.push({
        code: STATUS.algorithmUnsupported,
        url,
        explanation: 'the ingredient manifest hash algorithm is not supported',
      });
      continue;
    }
    // c2pa-rs ingredient_checks: a matching hash validates the ingredient manifest; a mismatch is
    // a failure, and the ingredient is then validated in full (its assertions too).
    statuses.push(
      ok
        ? { code: STATUS.ingredientManifestValidated, url, explanation: 'ingredient manifest hash matches' }
        : { code: mismatchCode, url, explanation: 'the ingredient manifest does not match its hashed URI' },
    );
    if (ok && refs.signature !== undefined) {
      const sigBox = resolveJumbfUri(ctx.store, manifest, refs.signature.url);
      const sigOk = sigBox && boxHashMatches(refs.signature, manifest.claim.alg, superBoxContents(sigBox));
      statuses.push(
        sigOk === true
          ? {
              code: STATUS.ingredientClaimSignatureValidated,
              url,
              explanation: 'ingredient claim signature reference matches',
            }
          : {
              code: STATUS.ingredientClaimSignatureMismatch,
              url,
              explanation: 'ingredient claim signature reference differs',
            },
      );
    }
    if (path.includes(targetManifest.label) || targetManifest === manifest) {
      statuses.push({ code: mismatchCode, url, explanation: 'cyclic ingredient reference' });
      continue;
    }
    if (path.length >= ctx.maxIngredientDepth) {
      statuses.push({
        code: STATUS.generalError,
        url,
        explanation: 'ingredient nesting too deep; not followed',
      });
      continue;
    }
    const sub = await validateManifest(
      ctx,
      targetManifest,
      'ingredient',
      [...path, manifest.label],
      undefined,
      ok,
    );
    const subTrust = sub.signer;
    if (subTrust !== undefined && !ctx.ingredientTrust.some((t) => t.manifest === sub.label))
      ctx.ingredientTrust.push({ manifest: sub.label, ...subTrust });
    // The ingredient's own failures (its URLs point into it) count for this manifest, as the
    // official reader's ingredient deltas do for the validation state.
    for (const st of sub.statuses)
      if (sub.failureCodes.includes(st.code) && !statuses.some((x) => x.code === st.code && x.url === st.url))
        statuses.push(st);
  }

  const report: ManifestReport = {
    label: manifest.label,
    role,
    statuses,
    // The TSA verdict is kept apart (trust.timestamp): the official reader logs every timestamp
    // problem as informational, never a failure (C.jpg's DigiCert TSA is untrusted in both its
    // runs; a token with a broken signature or for other bytes is dropped: c2pa-rs verify.rs).
    failureCodes: unique(
      statuses
        .filter((s) => isFailureCode(s.code) && !TIMESTAMP_INFORMATIONAL.has(s.code))
        .map((s) => s.code),
    ),
    signatureAlg: result.suite,
    signer: flatten(result.credential),
    hybrid:
      result.pq === undefined
        ? undefined
        : {
            present: result.pq.present,
            valid: result.pq.valid,
            ...(result.pq.suite ? { suite: result.pq.suite } : {}),
            ...(result.pq.credential ? { signer: flatten(result.pq.credential) as TrustVerdict } : {}),
          },
    signedAt: ts?.time,
    timestamp: ts?.verdict,
  };
  ctx.reports.set(manifest.label, report);
  return report;
}

const TIMESTAMP_INFORMATIONAL: ReadonlySet<string> = new Set([
  STATUS.timeStampUntrusted,
  STATUS.timeStampOutsideValidity,
  STATUS.timeStampMismatch,
  STATUS.timeStampMalformed,
]);

/** Failure codes that do not make an asset Invalid (c2pa-rs: an untrusted signer is still Valid). */
const TRUST_ONLY: ReadonlySet<string> = new Set([
  STATUS.signingCredentialUntrusted,
  STATUS.timeStampUntrusted,
]);

function structureReport(code: string, explanation: string, remoteUrl?: string): ValidationReport {
  const st: ValidationStatus = { code, explanation, ...(remoteUrl !== undefined ? { url: remoteUrl } : {}) };
  return {
    state: 'Invalid',
    statusCodes: [code],
    failureCodes: [code],
    activeManifest: undefined,
    manifests: 0,
    ...(remoteUrl !== undefined ? { remoteManifestUrl: remoteUrl } : {}),
    perManifest: [],
    trust: { signer: undefined, timestamp: undefined, ingredients: [] },
    reports: [st],
  };
}

/** Largest remote manifest store accepted from `fetchRemote` (c2pa-rs caps responses alike). */
const MAX_REMOTE_STORE = 64 * 1024 * 1024;

/**
 * The remote store through the injected fetcher, or why it is inaccessible (§15: "a manifest
 * documented to exist in a remote location … not currently available" → `manifest.inaccessible`).
 */
async function fetchRemoteStore(
  fetchRemote: ((url: string) => Promise<Uint8Array>) | undefined,
  url: string,
): Promise<Uint8Array | { explanation: string }> {
  if (fetchRemote === undefined)
    return {
      explanation: `the asset references a remote manifest at ${url.slice(0, 200)}; it was not fetched (no fetchRemote given)`,
    };
  let bytes: unknown;
  try {
    bytes = await fetchRemote(url);
  } catch (e) {
    const why = e instanceof Error ? `: ${e.message.slice(0, 200)}` : '';
    return { explanation: `the remote manifest at ${url.slice(0, 200)} could not be fetched${why}` };
  }
  if (!isBytes(bytes) || bytes.length === 0 || bytes.length > MAX_REMOTE_STORE)
    return { explanation: `fetching ${url.slice(0, 200)} gave no usable manifest store bytes` };
  return bytes;
}

/**
 * Validates the C2PA manifest store of an asset (embedded, sidecar, a downloaded remote store,
 * or the remote store its XMP references, through `fetchRemote`) and returns the verdict with
 * every status code found. Throws `c2pa.jumbf.not-found`
 * when there is no C2PA data, `c2pa.asset.unsupported` for an unknown MIME type and
 * `c2pa.input.invalid` for bad options; anything wrong inside the data is a status.
 *
 * @example
 * ```ts
 * const r = await validateAsset({ stream: () => createReadStream(path) }, 'image/jpeg', { trust, hybrid: 'required' });
 * if (r.state === 'Invalid') console.log(r.failureCodes);
 * ```
 */
export async function validateAsset(
  input: ValidateInput,
  mime: string,
  opts: ValidateOptions = {},
): Promise<ValidationReport> {
  const o = parseInput(OptionsSchema, opts, 'c2pa.input.invalid', 'validateAsset options');
  const inp = parseInput(InputSchema, input, 'c2pa.input.invalid', 'validateAsset input');
  if (typeof mime !== 'string' || mime.length === 0 || mime.length > 200)
    throw new OmtError('c2pa.input.invalid', 'mime must be a non-empty string');
  const source = isBytes(inp) ? { bytes: inp } : inp;
  if (source.bytes === undefined && source.stream === undefined)
    throw new OmtError('c2pa.input.invalid', 'validateAsset needs bytes or a stream');
  const limits = o.limits ?? {};
  const jumbfLimits = {
    ...(limits.maxDepth !== undefined ? { maxDepth: limits.maxDepth } : {}),
    ...(limits.maxBoxes !== undefined ? { maxBoxes: limits.maxBoxes } : {}),
  };
  const external = o.sidecar ?? o.remoteManifest;
  const handler = external === undefined ? (o.registry ?? createAssetRegistry()).forMime(mime) : undefined;

  let store: ManifestStore;
  let remoteManifestUrl: string | undefined;
  try {
    if (external !== undefined) {
      store = parseManifestStore(external, { limits: jumbfLimits });
    } else {
      let found: Awaited<ReturnType<typeof locateStore>>;
      try {
        found = await locateStore(handler as AssetHandler, source, limits.maxScanBytes ?? 64 * 1024 * 1024);
      } catch (e) {
        const url = isOmtError(e, C2PA_ERROR.jumbfNotFound) ? e.details?.remoteUrl : undefined;
        if (typeof url !== 'string') throw e;
        // A remote manifest (§11.3): fetched through the injected function, else inaccessible.
        remoteManifestUrl = url;
        const fetched = await fetchRemoteStore(o.fetchRemote, url);
        if (!isBytes(fetched)) return structureReport(STATUS.manifestInaccessible, fetched.explanation, url);
        found = { store: fetched, ranges: [], remoteUrl: url };
      }
      if (found === undefined)
        throw new OmtError(C2PA_ERROR.jumbfNotFound, 'no C2PA manifest store in the asset');
      store = parseManifestStore(found.store, {
        limits: jumbfLimits,
        ranges: found.ranges,
        ...(found.remoteUrl !== undefined ? { remoteUrl: found.remoteUrl } : {}),
      });
    }
  } catch (e) {
    if (!isOmtError(e)) return structureReport(STATUS.generalError, 'the manifest store could not be read');
    if (
      e.code === C2PA_ERROR.jumbfNotFound ||
      e.code === C2PA_ERROR.assetUnsupported ||
      e.code === 'c2pa.input.invalid' ||
      e.code === 'core.input.invalid'
    )
      throw e;
    const status = typeof e.details?.status === 'string' ? e.details.status : undefined;
    if (status !== undefined) return structureReport(status, e.message);
    if (e.code === C2PA_ERROR.jumbfMalformed) return structureReport(STATUS.manifestMalformed, e.message);
    if (e.code === C2PA_ERROR.assetMalformed) return structureReport(STATUS.generalError, e.message);
    return structureReport(STATUS.generalError, e.message);
  }

  const assetSource = (): AssetSource =>
    source.bytes !== undefined ? source.bytes : (source.stream as () => AsyncIterable<Uint8Array>)();
  const ctx: Ctx = {
    store,
    o,
    at: o.at ?? (o.clock ?? systemClock)(),
    maxIngredientDepth: limits.maxIngredientDepth ?? 16,
    reports: new Map(),
    ingredientTrust: [],
  };
  const active = store.activeManifest;
  const activeReport = await validateManifest(ctx, active, 'active', [], assetSource);
  const perManifest = store.manifests.map(
    (m) =>
      ctx.reports.get(m.label) ?? {
        label: m.label,
        role: 'unreferenced' as const,
        statuses: [],
        failureCodes: [],
        signatureAlg: undefined,
        signer: undefined,
        hybrid: undefined,
        signedAt: undefined,
        timestamp: undefined,
      },
  );
  const failureCodes = activeReport.failureCodes;
  const invalid = failureCodes.some((c) => !TRUST_ONLY.has(c));
  const trusted = activeReport.signer?.trusted === true;
  return {
    state: invalid ? 'Invalid' : trusted ? 'Trusted' : 'Valid',
    statusCodes: unique(activeReport.statuses.map((s) => s.code)),
    failureCodes,
    activeManifest: active.label,
    manifests: store.manifests.length,
    ...(remoteManifestUrl !== undefined ? { remoteManifestUrl } : {}),
    perManifest,
    trust: {
      signer: activeReport.signer,
      ...(activeReport.hybrid?.signer ? { hybridSigner: activeReport.hybrid.signer } : {}),
      timestamp: activeReport.timestamp,
      ingredients: ctx.ingredientTrust,
    },
    reports: activeReport.statuses,
  };
}
