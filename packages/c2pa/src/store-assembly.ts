/**
 * Internal pieces shared by the two ways of assembling a signed manifest store — the byte-array
 * builder (`builder.ts`) and the streaming signer (`sign-stream.ts`). Not a public export.
 */
import { concatBytes, isBytes, toHex } from '@omt/core/bytes';
import type { CborValue } from '@omt/core/cbor';
import { isOmtError, OmtError } from '@omt/core/errors';
import { hash } from '@omt/core/hash';
import type { RandomSource } from '@omt/core/random';
import { type AssertionDraft, assertionBox } from './assertions/assertion.js';
import { buildDataHashAssertion } from './assertions/hash-data.js';
import type { ByteRange } from './asset-handler.js';
import type { ClaimSigner } from './builder.js';
import { encodeClaimV2 } from './claim.js';
import {
  type JumbfBox,
  type JumbfSuperBox,
  jumbfContentBox,
  jumbfSuperBox,
  serializeJumbf,
  superBoxContents,
} from './jumbf.js';
import type { HashedUri } from './manifest-store.js';

/** An RFC 9562 version-4 UUID from the injectable random source (manifest labels, instance ids). */
export function uuidV4(random: RandomSource): string {
  const b = random(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Whether two exclusion-range lists are the same (the layout has settled). */
/** The byte runs of an embedded asset as one buffer (a single run is returned as it is, not copied). */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(...parts);
}

export function sameRanges(a: readonly ByteRange[], b: readonly ByteRange[]): boolean {
  return a.length === b.length && a.every((r, i) => r.start === b[i]?.start && r.length === b[i]?.length);
}

/** Calls the caller's claim signer, turning its failures and bad results into `c2pa.signature.failed`. */
export async function callSigner(signer: ClaimSigner, claim: Uint8Array): Promise<Uint8Array> {
  let out: unknown;
  try {
    out = await signer(claim.slice());
  } catch (e) {
    if (isOmtError(e)) throw e;
    throw new OmtError('c2pa.signature.failed', 'the claim signer failed', { cause: e });
  }
  if (!(out instanceof Uint8Array) || out.length === 0)
    throw new OmtError('c2pa.signature.failed', 'the claim signer must return COSE_Sign1 bytes');
  return out;
}

/** JSON → CBOR value: objects become maps (CBOR assertions are maps, C2PA §6.3). */
export function jsonToCbor(v: unknown, depth = 0): CborValue {
  if (depth > 64) throw new OmtError('c2pa.input.invalid', 'assertion data nests too deeply');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v))
      throw new OmtError('c2pa.input.invalid', 'assertion data has a non-finite number');
    return v;
  }
  if (isBytes(v)) return v;
  if (Array.isArray(v)) return v.map((x) => jsonToCbor(x, depth + 1));
  if (typeof v === 'object') {
    return new Map(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonToCbor(x, depth + 1)]),
    );
  }
  throw new OmtError('c2pa.input.invalid', `unsupported assertion value of type ${typeof v}`);
}

/** What a manifest store holds besides the data hash and the signature. */
export interface StoreParts {
  /** The manifest label (`urn:c2pa:…`). */
  readonly label: string;
  readonly instanceId: string;
  readonly title: string | undefined;
  readonly generator: { readonly name: string; readonly version?: string };
  /** Manifests carried from ingredients, written before ours. */
  readonly carried: readonly JumbfSuperBox[];
  /** The assertions in claim order, without `c2pa.hash.data` (the assembler adds it last). */
  readonly drafts: readonly AssertionDraft[];
}

/** One assembled store and the claim bytes it holds (what the signature covers). */
export interface AssembledStore {
  readonly store: Uint8Array;
  readonly claimBytes: Uint8Array;
}

/**
 * Assembles a one-manifest store (C2PA 2.x §11.1: `c2pa` → carried manifests, then ours: `c2as`
 * assertions, `c2cl` claim v2, `c2cs` signature) again and again while the layout settles. Only
 * the data hash assertion changes between rounds, so the other assertion boxes and their hashed
 * URIs (§8.3) are built once; the signature goes in by patching the placeholder's bytes.
 */
export class StoreAssembler {
  private readonly parts: StoreParts;
  private readonly boxes: readonly JumbfSuperBox[];
  private readonly created: readonly HashedUri[];

  /** Builds the fixed assertion boxes; throws `core.input.invalid` for a bad draft. */
  constructor(parts: StoreParts) {
    this.parts = parts;
    this.boxes = parts.drafts.map(assertionBox);
    this.created = this.boxes.map(hashedUri);
  }

  /** The store with a data hash over `exclusions` and `signature` in the `c2cs` box. */
  build(exclusions: readonly ByteRange[], dataHash: Uint8Array, signature: Uint8Array): AssembledStore {
    const dataHashBox = assertionBox(buildDataHashAssertion({ alg: 'sha256', hash: dataHash, exclusions }));
    const p = this.parts;
    const claimBytes = encodeClaimV2({
      instanceId: p.instanceId,
      claimGeneratorInfo: p.generator,
      ...(p.title !== undefined ? { title: p.title } : {}),
      createdAssertions: [...this.created, hashedUri(dataHashBox)],
      alg: 'sha256',
    });
    const manifest = jumbfSuperBox({ type: 'c2ma', label: p.label }, [
      jumbfSuperBox({ type: 'c2as', label: 'c2pa.assertions' }, [...this.boxes, dataHashBox]),
      jumbfSuperBox({ type: 'c2cl', label: 'c2pa.claim.v2' }, [jumbfContentBox('cbor', claimBytes)]),
      jumbfSuperBox({ type: 'c2cs', label: 'c2pa.signature' }, [jumbfContentBox('cbor', signature)]),
    ]);
    const store = jumbfSuperBox({ type: 'c2pa', label: 'c2pa' }, [...p.carried, manifest] as JumbfBox[]);
    return { store: serializeJumbf(store), claimBytes };
  }

  /**
   * `unsigned.store` with `signature` written over its placeholder, in place: the signature's
   * `cbor` content box is the store's last box, so its payload is the store's last bytes
   * (placeholder-then-patch, §10.3.2). `reserved` is the placeholder's length. Throws
   * `c2pa.builder.unstable` when the signature does not fill exactly that box.
   */
  static patchSignature(unsigned: AssembledStore, reserved: number, signature: Uint8Array): Uint8Array {
    const store = unsigned.store;
    const at = store.length - signature.length;
    const box = at - 8;
    const view = new DataView(store.buffer, store.byteOffset, store.byteLength);
    if (
      signature.length !== reserved ||
      box < 0 ||
      view.getUint32(box) !== signature.length + 8 ||
      view.getUint32(box + 4) !== 0x63626f72 // 'cbor'
    ) {
      throw new OmtError('c2pa.builder.unstable', 'the signature does not fit the reserved box');
    }
    store.set(signature, at);
    return store;
  }
}

function hashedUri(box: JumbfSuperBox): HashedUri {
  return {
    url: `self#jumbf=c2pa.assertions/${box.description.label as string}`,
    hash: hash('SHA-256', superBoxContents(box)),
  };
}
