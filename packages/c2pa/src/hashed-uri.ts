import { equalBytes } from '@omt/core/bytes';
import { hash } from '@omt/core/hash';
import { coreHashAlg } from './hash-alg.js';
import { type JumbfSuperBox, superBoxContents } from './jumbf.js';
import type { HashedUri, Manifest, ManifestStore } from './manifest-store.js';
import { STATUS, type ValidationStatus } from './status-codes.js';

/**
 * JUMBF URIs and hashed-URI checks (C2PA 2.x §8.2, §8.3). A URI is `self#jumbf=` followed by an
 * absolute path (`/c2pa/<manifest>/c2pa.assertions/<label>`) or a path relative to the manifest
 * holding the reference (`c2pa.assertions/<label>`).
 */

const PREFIX = 'self#jumbf=';

/**
 * The superbox a JUMBF URI names, or undefined when it names nothing in the store.
 *
 * @example
 * ```ts
 * resolveJumbfUri(store, manifest, 'self#jumbf=c2pa.assertions/c2pa.hash.data');
 * ```
 */
export function resolveJumbfUri(
  store: ManifestStore,
  manifest: Manifest,
  url: string,
): JumbfSuperBox | undefined {
  if (!url.startsWith(PREFIX)) return undefined;
  const path = url.slice(PREFIX.length);
  let box: JumbfSuperBox;
  let parts: string[];
  if (path.startsWith('/')) {
    parts = path.slice(1).split('/');
    if (parts.shift() !== store.jumbf.description.label) return undefined;
    box = store.jumbf;
  } else {
    parts = path.split('/');
    box = manifest.box;
  }
  for (const p of parts) {
    if (p === '') return undefined;
    const next = box.children.find(
      (c): c is JumbfSuperBox => c.kind === 'super' && c.description.label === p,
    );
    if (next === undefined) return undefined;
    box = next;
  }
  return box;
}

/** The manifest a URI points into (absolute URIs name it; relative ones stay in `manifest`). */
export function manifestOfUri(store: ManifestStore, manifest: Manifest, url: string): Manifest | undefined {
  const path = url.startsWith(PREFIX) ? url.slice(PREFIX.length) : '';
  if (!path.startsWith('/')) return manifest;
  const label = path.split('/')[2];
  return store.manifests.find((m) => m.label === label);
}

/** An absolute JUMBF URI for a box path inside a manifest (for status `url` fields). */
export function absoluteUri(manifest: Manifest, url: string): string {
  const path = url.startsWith(PREFIX) ? url.slice(PREFIX.length) : url;
  return path.startsWith('/') ? `${PREFIX}${path}` : `${PREFIX}/c2pa/${manifest.label}/${path}`;
}

/**
 * Checks one hashed URI: `assertion.hashedURI.match`, `.mismatch`, `assertion.missing` or
 * `algorithm.unsupported`.
 *
 * @example
 * ```ts
 * verifyHashedUri(store, manifest, manifest.claim.createdAssertions[0]).code; // 'assertion.hashedURI.match'
 * ```
 */
export function verifyHashedUri(store: ManifestStore, manifest: Manifest, uri: HashedUri): ValidationStatus {
  const url = absoluteUri(manifest, uri.url);
  const alg = coreHashAlg(uri.alg ?? manifest.claim.alg);
  if (alg === undefined)
    return {
      code: STATUS.algorithmUnsupported,
      url,
      explanation: `hash algorithm ${String(uri.alg ?? manifest.claim.alg)}`,
    };
  const box = resolveJumbfUri(store, manifest, uri.url);
  if (box === undefined) return { code: STATUS.assertionMissing, url, explanation: 'no box at this URI' };
  const ok = equalBytes(hash(alg, superBoxContents(box)), uri.hash);
  return ok
    ? { code: STATUS.hashedUriMatch, url, explanation: 'hashed URI matches' }
    : { code: STATUS.hashedUriMismatch, url, explanation: 'hash of the box differs from the hashed URI' };
}

/**
 * Checks every assertion reference of a manifest's claim (created and gathered).
 *
 * @example
 * ```ts
 * const statuses = verifyClaimAssertionUris(store, store.activeManifest);
 * ```
 */
export function verifyClaimAssertionUris(store: ManifestStore, manifest: Manifest): ValidationStatus[] {
  return [...manifest.claim.createdAssertions, ...manifest.claim.gatheredAssertions].map((u) =>
    verifyHashedUri(store, manifest, u),
  );
}
