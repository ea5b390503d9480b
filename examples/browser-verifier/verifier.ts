// The OpenMediaTrust browser verifier: pick or drop a JPEG/PNG and see its C2PA state and status
// codes, validated entirely in the page (no upload): @omt/c2pa/validate bundled by esbuild.
// `window.omtVerify(bytes, mime?, anchorsPem?)` is the same check for scripts and tests.
import { createTrustList } from '@omt/c2pa/trust';
import { type ValidationReport, validateAsset } from '@omt/c2pa/validate';

/** What the page shows (and `omtVerify` returns): JSON-safe. */
export interface VerifierResult {
  readonly file: string;
  readonly mime: string;
  readonly state: 'Invalid' | 'Valid' | 'Trusted' | 'NoManifest' | 'Error';
  readonly statusCodes: readonly string[];
  readonly failureCodes: readonly string[];
  readonly activeManifest: string | null;
  readonly manifests: number;
  readonly signatureAlg: string | null;
  readonly signer: string | null;
  readonly hybrid: { present: boolean; valid: boolean; suite?: string } | null;
  readonly error: { code: string; message: string } | null;
  readonly ms: number;
}

/** MIME type from the file's first bytes (JPEG SOI, PNG signature). */
function sniffMime(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.every((v, i) => bytes[i] === v)) return 'image/png';
  return undefined;
}

function fromReport(file: string, mime: string, r: ValidationReport, ms: number): VerifierResult {
  const active = r.perManifest.find((m) => m.label === r.activeManifest);
  return {
    file,
    mime,
    state: r.state,
    statusCodes: [...r.statusCodes],
    failureCodes: [...r.failureCodes],
    activeManifest: r.activeManifest ?? null,
    manifests: r.manifests,
    signatureAlg: active?.signatureAlg ?? null,
    signer: r.trust.signer?.subject ?? null,
    hybrid: active?.hybrid ? { ...active.hybrid } : null,
    error: null,
    ms,
  };
}

/** Validates `bytes`; never throws (errors become state `NoManifest` / `Error`). */
export async function omtVerify(
  bytes: Uint8Array,
  mime?: string,
  anchorsPem?: string,
  file = 'asset',
): Promise<VerifierResult> {
  const started = performance.now();
  const type = mime ?? sniffMime(bytes) ?? 'application/octet-stream';
  try {
    const trust = anchorsPem?.trim() ? createTrustList({ anchorsPem }) : undefined;
    const report = await validateAsset(bytes, type, trust ? { trust } : {});
    return fromReport(file, type, report, performance.now() - started);
  } catch (e) {
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'error';
    return {
      file,
      mime: type,
      state: code === 'c2pa.jumbf.not-found' ? 'NoManifest' : 'Error',
      statusCodes: [],
      failureCodes: [],
      activeManifest: null,
      manifests: 0,
      signatureAlg: null,
      signer: null,
      hybrid: null,
      error: { code, message: e instanceof Error ? e.message : String(e) },
      ms: performance.now() - started,
    };
  }
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

function render(out: HTMLElement, r: VerifierResult): void {
  out.replaceChildren();
  const badge = el('div', r.state === 'NoManifest' ? 'No Content Credentials' : r.state, `state ${r.state}`);
  badge.id = 'state';
  out.append(badge, el('p', `${r.file} (${r.mime}) — checked in ${r.ms.toFixed(0)} ms, in this page`));
  if (r.error !== null) {
    out.append(el('p', `${r.error.message} [${r.error.code}]`, 'error'));
    return;
  }
  const dl = el('dl');
  const row = (k: string, v: string): void => {
    dl.append(el('dt', k), el('dd', v));
  };
  row('active manifest', `${r.activeManifest ?? '-'} (${r.manifests} in store)`);
  row(
    'signature',
    `${r.signatureAlg ?? '-'}${r.hybrid?.present ? ` + ${r.hybrid.suite ?? 'PQ'} countersignature (${r.hybrid.valid ? 'valid' : 'INVALID'})` : ''}`,
  );
  row('signer', r.signer ?? '-');
  out.append(dl);
  const list = (title: string, codes: readonly string[], id: string): void => {
    out.append(el('h3', title));
    const ul = el('ul');
    ul.id = id;
    for (const c of codes) ul.append(el('li', c, r.failureCodes.includes(c) ? 'fail' : 'ok'));
    if (codes.length === 0) ul.append(el('li', 'none'));
    out.append(ul);
  };
  list('Failure codes', r.failureCodes, 'failures');
  list('All status codes', r.statusCodes, 'codes');
}

async function onFile(file: File, out: HTMLElement, anchors: HTMLTextAreaElement): Promise<void> {
  out.textContent = `checking ${file.name}…`;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const r = await omtVerify(bytes, sniffMime(bytes) ?? (file.type || undefined), anchors.value, file.name);
  render(out, r);
}

function mount(): void {
  const input = document.getElementById('file') as HTMLInputElement | null;
  const drop = document.getElementById('drop');
  const out = document.getElementById('result');
  const anchors = document.getElementById('anchors') as HTMLTextAreaElement | null;
  if (!input || !drop || !out || !anchors) return;
  input.addEventListener('change', () => {
    const f = input.files?.[0];
    if (f) void onFile(f, out, anchors);
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void onFile(f, out, anchors);
  });
}

(globalThis as unknown as { omtVerify: typeof omtVerify }).omtVerify = omtVerify;
if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
  else mount();
}
