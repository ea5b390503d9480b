import type { CborValue } from '@omt/core/cbor';
import { decodeCoseSign1, encodeCoseSign1 } from '@omt/core/cose';
import { OmtError } from '@omt/core/errors';
import { hash } from '@omt/core/hash';
import { platformRandom, type RandomSource } from '@omt/core/random';
import { type AssertionDraft, assertionBox } from './assertions/assertion.js';
import { buildIngredientAssertion, type IngredientInput } from './assertions/ingredient.js';
import { createAssetRegistry } from './asset.js';
import type { AssetHandler, AssetHandlerRegistry, ByteRange, EmbeddedAssetParts } from './asset-handler.js';
import { hashWithExclusions } from './data-hash.js';
import { verifyClaimAssertionUris } from './hashed-uri.js';
import { type JumbfSuperBox, superBoxContents } from './jumbf.js';
import { type Manifest, parseManifestStore } from './manifest-store.js';
import { isFailureCode, type ValidationStatus } from './status-codes.js';
import { callSigner, joinParts, StoreAssembler, sameRanges, uuidV4 } from './store-assembly.js';

/**
 * Builds, signs and embeds a C2PA manifest (claim v2) into an asset, or writes a sidecar store.
 *
 * Placeholder-then-patch (C2PA 2.x §18.5, §10.3.2): the store is built once with a zero data hash
 * and a claim-signature box of reserved size, embedded to learn where it sits, the asset is hashed
 * without that range, then the hash and signature are filled in. Sizes are fixed, so the final store
 * occupies exactly the excluded bytes. The signature is produced by a callback so any signer (C2's
 * COSE signers, an HSM, a remote service) plugs in; it must return a COSE_Sign1 over the claim
 * bytes as detached payload (§13.2). A shorter signature is padded with an unprotected `pad`
 * header, as c2pa-rs does.
 */

/** Signs the claim bytes; returns a COSE_Sign1 (detached payload = the claim bytes). */
export type ClaimSigner = (claimBytes: Uint8Array) => Promise<Uint8Array>;

/** An ingredient to record, optionally with its own manifest store (copied into ours). */
export interface IngredientSpec {
  readonly ingredient: Omit<IngredientInput, 'activeManifest' | 'claimSignature'>;
  /** The ingredient's manifest store bytes (JUMBF), when it has one. */
  readonly manifestStore?: Uint8Array;
}

/** Options of {@link signAsset}. */
export interface SignAssetOptions {
  readonly asset: Uint8Array;
  /** MIME type of `asset` (selects the handler). */
  readonly mime: string;
  readonly signer: ClaimSigner;
  /** Assertions (must include a `c2pa.actions.v2`, see `buildActionsAssertion`). */
  readonly assertions: readonly AssertionDraft[];
  readonly ingredients?: readonly IngredientSpec[];
  readonly title?: string;
  readonly claimGenerator?: { readonly name: string; readonly version?: string };
  /** Default `urn:c2pa:<random uuid>`. */
  readonly manifestLabel?: string;
  /** Default `xmp:iid:<random uuid>`. */
  readonly instanceId?: string;
  /** Bytes reserved for the COSE signature; default: measured with one extra signing call + 100. */
  readonly signatureReserveSize?: number;
  /** Write a sidecar: the asset is left untouched and hashed whole. */
  readonly sidecar?: boolean;
  readonly registry?: AssetHandlerRegistry;
  readonly random?: RandomSource;
}

/** Result of {@link signAsset}. */
export interface SignedAsset {
  /** The asset with the store embedded (the unchanged asset for a sidecar). */
  readonly asset: Uint8Array;
  /** The manifest store bytes (the sidecar `.c2pa` content). */
  readonly store: Uint8Array;
  readonly manifestLabel: string;
  /** Data-hash exclusions (where the store sits; empty for a sidecar). */
  readonly exclusions: readonly ByteRange[];
}

/** Encoded size of a CBOR head for an argument (RFC 8949 §3). */
function cborHeadSize(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : n < 0x1_0000_0000 ? 5 : 9;
}

/** Pads a COSE_Sign1 to exactly `size` bytes with an unprotected `pad` bstr. */
export function padCoseSign1(cose: Uint8Array, size: number): Uint8Array {
  if (cose.length === size) return cose;
  const msg = decodeCoseSign1(cose);
  const base = new Map(msg.unprotectedHeaders);
  base.delete('pad');
  const encode = (n: number): Uint8Array => {
    const u = new Map(base);
    if (n >= 0) u.set('pad', new Uint8Array(n));
    return encodeCoseSign1({
      protectedBytes: msg.protectedBytes,
      unprotectedHeaders: u,
      payload: msg.payload,
      signature: msg.signature,
      tagged: msg.tagged,
    });
  };
  const bare = encode(-1);
  if (bare.length === size) return bare;
  // A `pad` of n bytes adds its key (text "pad": 4 bytes), the bstr head and n, and whatever the
  // map's own head grows by with one more entry: the encoding grows strictly with n, so one n at
  // most fits. Try the candidates in increasing order within the window the search always used
  // (guess − 4 … guess + 6): the same n, with two encodings instead of up to eleven.
  const guess = size - bare.length - 6;
  const candidates = new Set<number>();
  for (const grow of [0, 1, 2, 4])
    for (const head of [1, 2, 3, 5, 9]) {
      const n = size - bare.length - 4 - head - grow;
      if (n >= Math.max(0, guess - 4) && n <= guess + 6 && cborHeadSize(n) === head) candidates.add(n);
    }
  for (const n of [...candidates].sort((a, b) => a - b)) {
    const out = encode(n);
    if (out.length === size) return out;
  }
  throw new OmtError(
    'c2pa.signature.too-large',
    `the claim signature (${bare.length} bytes) does not fit the ${size} bytes reserved`,
  );
}

/**
 * Links actions to ingredients (§18.15.4.6): a `c2pa.opened` without `parameters.ingredients`
 * gets the parentOf ingredients, a `c2pa.placed` the componentOf ones, as hashed URIs.
 */
function linkActions(drafts: readonly AssertionDraft[]): AssertionDraft[] {
  const refs = new Map<string, Map<string, CborValue>[]>();
  for (const d of drafts) {
    if (
      d.kind !== 'cbor' ||
      !/^c2pa\.ingredient(\.v[23])?(__\d+)?$/.test(d.label) ||
      !(d.value instanceof Map)
    )
      continue;
    const rel = String(d.value.get('relationship'));
    const uri = new Map<string, CborValue>([
      ['url', `self#jumbf=c2pa.assertions/${d.label}`],
      ['hash', hash('SHA-256', superBoxContents(assertionBox(d)))],
    ]);
    refs.set(rel, [...(refs.get(rel) ?? []), uri]);
  }
  if (refs.size === 0) return [...drafts];
  const forAction: Record<string, string> = { 'c2pa.opened': 'parentOf', 'c2pa.placed': 'componentOf' };
  return drafts.map((d) => {
    if (d.kind !== 'cbor' || !/^c2pa\.actions(\.v2)?$/.test(d.label) || !(d.value instanceof Map)) return d;
    const actions = d.value.get('actions');
    if (!Array.isArray(actions)) return d;
    const linked = actions.map((a: CborValue) => {
      if (!(a instanceof Map)) return a;
      const rel = forAction[String(a.get('action'))];
      const params = a.get('parameters');
      const p = params instanceof Map ? new Map(params) : new Map<CborValue, CborValue>();
      if (rel === undefined || p.has('ingredients') || !refs.has(rel)) return a;
      p.set('ingredients', refs.get(rel) as CborValue[]);
      return new Map(a).set('parameters', p);
    });
    return { ...d, value: new Map(d.value).set('actions', linked) };
  });
}

/** Copies ingredient manifests and builds their ingredient assertions with hashed URIs (§18.7.3). */
function planIngredients(specs: readonly IngredientSpec[]): {
  carried: JumbfSuperBox[];
  drafts: AssertionDraft[];
} {
  // c2pa.ingredient.v3 with activeManifest needs validationResults (§18.7.2). Without the
  // caller's full results we record only what this library checked here: the hashed URIs.
  const carried: JumbfSuperBox[] = [];
  const seen = new Set<string>();
  const drafts = specs.map((spec, i) => {
    if (spec.manifestStore === undefined) return buildIngredientAssertion(spec.ingredient, i);
    const store = parseManifestStore(spec.manifestStore);
    for (const m of store.manifests) {
      if (seen.has(m.label)) continue;
      seen.add(m.label);
      carried.push(m.box);
    }
    const active: Manifest = store.activeManifest;
    const checked = verifyClaimAssertionUris(store, active);
    const statusMap = (st: ValidationStatus): Map<string, CborValue> => {
      const m = new Map<string, CborValue>([['code', st.code]]);
      if (st.url !== undefined) m.set('url', st.url);
      if (st.explanation !== undefined) m.set('explanation', st.explanation);
      return m;
    };
    const validationResults =
      spec.ingredient.validationResults ??
      new Map<string, CborValue>([
        [
          'activeManifest',
          new Map<string, CborValue>([
            ['success', checked.filter((st) => !isFailureCode(st.code)).map(statusMap)],
            ['informational', []],
            ['failure', checked.filter((st) => isFailureCode(st.code)).map(statusMap)],
          ]),
        ],
      ]);
    const sigBox = active.box.children.find(
      (c): c is JumbfSuperBox => c.kind === 'super' && c.description.label === 'c2pa.signature',
    );
    return buildIngredientAssertion(
      {
        ...spec.ingredient,
        validationResults,
        activeManifest: {
          url: `self#jumbf=/c2pa/${active.label}`,
          hash: hash('SHA-256', superBoxContents(active.box)),
        },
        ...(sigBox
          ? {
              claimSignature: {
                url: `self#jumbf=/c2pa/${active.label}/c2pa.signature`,
                hash: hash('SHA-256', superBoxContents(sigBox)),
              },
            }
          : {}),
      },
      i,
    );
  });
  return { carried, drafts };
}

/**
 * The store embedded in `clean` (`clean` itself for a sidecar), as byte runs: views of `clean`
 * where the handler offers `embedManifestStoreParts`, else its one embedded copy.
 */
function embedParts(
  handler: AssetHandler,
  options: SignAssetOptions,
  clean: Uint8Array,
  store: Uint8Array,
): EmbeddedAssetParts {
  if (options.sidecar === true) return { parts: [clean], ranges: [] };
  if (handler.embedManifestStoreParts !== undefined) return handler.embedManifestStoreParts(clean, store);
  const out = handler.embedManifestStore(clean, store);
  return { parts: [out.asset], ranges: out.ranges };
}

/** {@link embedParts} as one buffer (what the hash runs over when the handler cannot plan). */
function embedJoined(
  handler: AssetHandler,
  options: SignAssetOptions,
  clean: Uint8Array,
  store: Uint8Array,
): { asset: Uint8Array; ranges: readonly ByteRange[] } {
  const { parts, ranges } = embedParts(handler, options, clean, store);
  return { asset: joinParts(parts), ranges };
}

/**
 * Builds a v2 manifest, signs its claim with `signer`, and embeds the store (or returns it as a
 * sidecar). Throws `core.input.invalid` on bad options, `c2pa.asset.*` for a broken asset,
 * `c2pa.signature.too-large` when the signature outgrows its reservation, and
 * `c2pa.builder.unstable` if the layout never settles (not expected).
 *
 * @example
 * ```ts
 * const signed = await signAsset({
 *   asset: jpeg, mime: 'image/jpeg',
 *   assertions: [buildActionsAssertion({ actions: [{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE.digitalCapture }] })],
 *   signer: (claim) => signCoseSign1({ signer, payload: claim, detached: true, x5chain }),
 * });
 * ```
 */
export async function signAsset(options: SignAssetOptions): Promise<SignedAsset> {
  const { parts, ...signed } = await signAssetParts(options);
  return { ...signed, asset: joinParts(parts) };
}

/** Result of {@link signAssetParts}. */
export interface SignedAssetParts extends Omit<SignedAsset, 'asset'> {
  /**
   * The signed asset as byte runs in order (their concatenation is {@link SignedAsset.asset}); the
   * runs outside the store are views of the input asset, which must not change while they are used.
   */
  readonly parts: readonly Uint8Array[];
}

/**
 * {@link signAsset} without building the signed asset as one buffer: it returns the byte runs
 * to write in order (e.g. `fs.promises.writeFile(path, parts)`, a stream, an HTTP body), the
 * asset's own bytes not copied — for a 12 MP JPEG this saves a 5 MB allocation and copy.
 *
 * @example
 * ```ts
 * const { parts } = await signAssetParts({ asset: jpeg, mime: 'image/jpeg', assertions, signer });
 * await writeFile('signed.jpg', parts);
 * ```
 */
export async function signAssetParts(options: SignAssetOptions): Promise<SignedAssetParts> {
  if (
    typeof options !== 'object' ||
    options === null ||
    !(options.asset instanceof Uint8Array) ||
    typeof options.signer !== 'function'
  ) {
    throw new OmtError(
      'core.input.invalid',
      'signAsset needs asset (Uint8Array), mime and signer (function)',
    );
  }
  if (
    !Array.isArray(options.assertions) ||
    !options.assertions.some((a) => /^c2pa\.actions(\.v2)?$/.test(a.label))
  ) {
    throw new OmtError(
      'core.input.invalid',
      'a v2 manifest needs a c2pa.actions.v2 assertion (C2PA 2.x §18.15)',
    );
  }
  const labels = options.assertions.map((a) => a.label);
  if (new Set(labels).size !== labels.length || labels.includes('c2pa.hash.data')) {
    throw new OmtError(
      'core.input.invalid',
      'assertion labels must be unique and c2pa.hash.data is added by the builder',
    );
  }
  const random = options.random ?? platformRandom;
  const handler = (options.registry ?? createAssetRegistry()).forMime(options.mime);
  // A handler that can plan the layout lets the builder work on the asset as given (no copies
  // while the layout settles; the hash runs over the clean asset, which is what the embedded
  // asset minus the exclusions is); the asset is then copied once, into the result.
  const planner = options.sidecar === true ? undefined : handler.planManifestStore?.bind(handler);
  const clean =
    options.sidecar === true || (planner !== undefined && !hasManifestStore(handler, options.asset))
      ? options.asset
      : handler.removeManifestStore(options.asset);
  const ing = planIngredients(options.ingredients ?? []);
  const label = options.manifestLabel ?? `urn:c2pa:${uuidV4(random)}`;
  const assembler = new StoreAssembler({
    label,
    instanceId: options.instanceId ?? `xmp:iid:${uuidV4(random)}`,
    title: options.title,
    generator: options.claimGenerator ?? { name: 'OpenMediaTrust', version: '0.1.0' },
    carried: ing.carried,
    drafts: linkActions([...ing.drafts, ...options.assertions]),
  });
  const zeroHash = new Uint8Array(32);

  // 1. Reserve the signature size.
  let reserve = options.signatureReserveSize;
  if (reserve === undefined) {
    const probe = assembler.build([{ start: 0, length: 0 }], zeroHash, new Uint8Array(0));
    reserve = (await callSigner(options.signer, probe.claimBytes)).length + 100;
  }
  if (!Number.isSafeInteger(reserve) || reserve < 64 || reserve > 16 << 20) {
    throw new OmtError('core.input.invalid', 'signatureReserveSize must be an integer in 64..16 MiB');
  }
  const placeholderSig = new Uint8Array(reserve);

  // 2. Settle the layout: the exclusion values are inside the store, so iterate to a fixed point.
  let ranges: readonly ByteRange[] = options.sidecar === true ? [] : [{ start: 0, length: 0 }];
  let placed: { asset: Uint8Array | undefined; ranges: readonly ByteRange[] } | undefined;
  for (let i = 0; i < 8 && placed === undefined; i++) {
    const draft = assembler.build(ranges, zeroHash, placeholderSig);
    const out =
      planner === undefined
        ? embedJoined(handler, options, clean, draft.store)
        : { asset: undefined, ranges: planner(clean, draft.store) };
    if (sameRanges(out.ranges, ranges)) placed = out;
    else ranges = out.ranges;
  }
  if (placed === undefined) throw new OmtError('c2pa.builder.unstable', 'the manifest layout did not settle');

  // 3. Hash the asset without the store's bytes, then fill in the hash and the signature (sizes
  // are fixed: the signed store is the unsigned one with the placeholder's bytes replaced).
  const digest =
    placed.asset === undefined
      ? await hashWithExclusions('SHA-256', clean, [])
      : await hashWithExclusions('SHA-256', placed.asset, ranges);
  const unsigned = assembler.build(ranges, digest, placeholderSig);
  const cose = padCoseSign1(await callSigner(options.signer, unsigned.claimBytes), reserve);
  const store = StoreAssembler.patchSignature(unsigned, reserve, cose);
  const out = embedParts(handler, options, clean, store);
  if (!sameRanges(out.ranges, ranges)) throw new OmtError('c2pa.builder.unstable', 'the signed store moved');
  return { parts: out.parts, store, manifestLabel: label, exclusions: ranges };
}

/** Whether the asset carries a store; a broken one counts (removeManifestStore then strips it). */
function hasManifestStore(handler: AssetHandler, asset: Uint8Array): boolean {
  try {
    return handler.findManifestStore(asset) !== undefined;
  } catch {
    return true;
  }
}
