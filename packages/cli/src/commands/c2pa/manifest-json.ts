import type { Manifest, ManifestStore } from '@omt/c2pa/manifest-store';
import { type Certificate, parseCertificate } from '@omt/c2pa/x509';
import { isBytes, toBase64, toHex } from '@omt/core/bytes';
import { CborSimple, CborTag, type CborValue } from '@omt/core/cbor';
import {
  COSE_HEADER,
  type CoseHeaderMap,
  type CoseSign1,
  decodeCoseSign1,
  decodeProtectedHeader,
  getX5Chain,
} from '@omt/core/cose';
import { sha256 } from '@omt/core/hash';
import { listSuites } from '@omt/core/suites';

/**
 * The whole manifest store as plain JSON for `omt inspect --json`: manifests with their claim
 * fields, assertions (decoded content; binary as base64, or size + SHA-256 when large),
 * ingredients, and the claim signature's algorithm and certificates. Structure only: no
 * validation happens here (that is `omt verify`).
 */

/** Byte strings up to this size are shown whole (base64); larger ones by size and SHA-256. */
const INLINE_BYTES = 1024;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function bytesJson(b: Uint8Array): Json {
  return b.length <= INLINE_BYTES
    ? { base64: toBase64(b), size: b.length }
    : { size: b.length, sha256: toHex(sha256(b)) };
}

/** CBOR/JSON values → JSON: maps become objects (keys as text), bytes base64 / size, tags `{tag, value}`. */
export function toJsonValue(v: unknown, depth = 0): Json {
  if (depth > 64) return '[too deep]';
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (isBytes(v)) return bytesJson(v);
  if (v instanceof CborTag) return { tag: Number(v.tag), value: toJsonValue(v.value, depth + 1) };
  if (v instanceof CborSimple) return { simple: v.value };
  if (Array.isArray(v)) return v.map((x) => toJsonValue(x, depth + 1));
  if (v instanceof Map) {
    const o: Record<string, Json> = {};
    for (const [k, x] of v)
      o[typeof k === 'string' ? k : JSON.stringify(toJsonValue(k, depth + 1))] = toJsonValue(x, depth + 1);
    return o;
  }
  if (typeof v === 'object') {
    const o: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = toJsonValue(x, depth + 1);
    return o;
  }
  return String(v);
}

function uriJson(u: { url: string; hash: Uint8Array; alg?: string }): Json {
  return { url: u.url, hash: toBase64(u.hash), ...(u.alg !== undefined ? { alg: u.alg } : {}) };
}

function certificateJson(c: Certificate): Json {
  return {
    subject: c.subject.text,
    issuer: c.issuer.text,
    serialNumber: c.serialNumber,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    publicKeyAlgorithm: c.publicKey?.suite ?? c.publicKeyAlgorithm,
    signatureAlgorithm: c.signatureAlgorithm.name,
    sha256Fingerprint: c.sha256Fingerprint,
  };
}

function algName(alg: unknown): string | null {
  if (typeof alg !== 'number' && typeof alg !== 'string') return null;
  return listSuites().find((s) => s.coseAlg === alg)?.id ?? String(alg);
}

function chainJson(headers: { protectedHeaders: CoseHeaderMap; unprotectedHeaders: CoseHeaderMap }): Json {
  try {
    return (getX5Chain(headers) ?? []).map((der) => {
      try {
        return certificateJson(parseCertificate(der));
      } catch (e) {
        return { error: e instanceof Error ? e.message : 'unparseable certificate', size: der.length };
      }
    });
  } catch (e) {
    return [{ error: e instanceof Error ? e.message : 'malformed x5chain' }];
  }
}

/** RFC 9338 §3.1: label 11 holds one COSE_Countersignature or an array of them. */
function countersignaturesJson(msg: CoseSign1): Json[] {
  const raw = msg.unprotectedHeaders.get(COSE_HEADER.countersignature);
  if (raw === undefined || !Array.isArray(raw)) return [];
  const list = (isBytes(raw[0]) ? [raw] : raw) as CborValue[];
  return list.map((cs): Json => {
    if (!Array.isArray(cs) || !isBytes(cs[0]) || !isBytes(cs[2]))
      return { error: 'malformed countersignature' };
    try {
      const protectedHeaders = decodeProtectedHeader(cs[0]);
      const unprotectedHeaders = (cs[1] instanceof Map ? cs[1] : new Map()) as CoseHeaderMap;
      const alg = protectedHeaders.get(COSE_HEADER.alg);
      return {
        alg: algName(alg),
        coseAlg: toJsonValue(alg),
        signatureSize: cs[2].length,
        certificates: chainJson({ protectedHeaders, unprotectedHeaders }),
      };
    } catch (e) {
      return { error: e instanceof Error ? e.message : 'malformed countersignature' };
    }
  });
}

function signatureJson(sig: Uint8Array | undefined): Json {
  if (sig === undefined) return null;
  let msg: CoseSign1;
  try {
    msg = decodeCoseSign1(sig, { understoodCritLabels: [] });
  } catch (e) {
    return { error: e instanceof Error ? e.message : 'malformed COSE_Sign1', size: sig.length };
  }
  const certs = chainJson(msg);
  const leaf = Array.isArray(certs) ? certs[0] : undefined;
  const leafObj = leaf !== null && typeof leaf === 'object' && !Array.isArray(leaf) ? leaf : undefined;
  const unprotected: string[] = [...msg.unprotectedHeaders.keys()].map(String);
  const tst = ['sigTst', 'sigTst2'].filter((l) => msg.unprotectedHeaders.has(l));
  return {
    alg: algName(msg.alg),
    coseAlg: toJsonValue(msg.alg),
    issuer: (leafObj?.issuer as string | undefined) ?? null,
    subject: (leafObj?.subject as string | undefined) ?? null,
    notBefore: (leafObj?.notBefore as string | undefined) ?? null,
    notAfter: (leafObj?.notAfter as string | undefined) ?? null,
    size: sig.length,
    signatureSize: msg.signature.length,
    certificates: certs,
    unprotectedHeaderLabels: unprotected,
    timestampHeaders: tst,
    countersignatures: countersignaturesJson(msg),
  };
}

function assertionJson(a: Manifest['assertions'][number]): Json {
  const base: Record<string, Json> = { label: a.label, kind: a.kind, size: a.data.length };
  if (a.mediaType !== undefined) base.mediaType = a.mediaType;
  if (a.decodeError !== undefined) base.decodeError = a.decodeError;
  if (a.kind === 'cbor' || a.kind === 'json') base.data = toJsonValue(a.value);
  else base.data = bytesJson(a.data);
  return base;
}

function ingredientJson(a: Manifest['assertions'][number]): Json {
  const v = a.value instanceof Map ? (a.value as Map<string, unknown>) : undefined;
  const text = (k: string): Json => {
    const x = v?.get(k);
    return typeof x === 'string' ? x : null;
  };
  const am = v?.get('activeManifest') ?? v?.get('c2pa_manifest');
  const url = am instanceof Map && typeof am.get('url') === 'string' ? (am.get('url') as string) : null;
  return {
    label: a.label,
    title: text('dc:title') ?? text('title'),
    format: text('dc:format') ?? text('format'),
    relationship: text('relationship'),
    instanceId: text('instanceID') ?? text('instanceId'),
    activeManifest: url,
    hasValidationResults: v?.has('validationResults') ?? false,
  };
}

function manifestJson(m: Manifest): Json {
  const c = m.claim;
  return {
    label: m.label,
    kind: m.kind,
    claimLabel: m.claimLabel,
    claim: {
      version: c.version,
      instanceId: c.instanceId,
      title: c.title ?? null,
      format: c.format ?? null,
      claimGenerator: c.claimGenerator ?? null,
      claimGeneratorInfo: toJsonValue(c.claimGeneratorInfo),
      alg: c.alg ?? null,
      signature: c.signature,
      createdAssertions: c.createdAssertions.map(uriJson),
      gatheredAssertions: c.gatheredAssertions.map(uriJson),
      redactedAssertions: [...c.redactedAssertions],
      fields: toJsonValue(c.fields),
    },
    assertionLabels: m.assertions.map((a) => a.label),
    assertions: m.assertions.map(assertionJson),
    ingredients: m.ingredients.map(ingredientJson),
    signature: signatureJson(m.signature),
  };
}

/** The JSON view of a parsed manifest store (see the file header). */
export function describeManifestStore(store: ManifestStore): Json {
  return {
    activeManifest: store.activeManifest.label,
    manifestCount: store.manifests.length,
    storeSize: store.bytes.length,
    embeddedAt: store.ranges.map((r) => ({ start: r.start, length: r.length })),
    remoteUrl: store.remoteUrl ?? null,
    manifests: store.manifests.map(manifestJson),
  };
}
