// The official C2PA reader (@contentauth/c2pa-wasm, the WebAssembly build of c2pa-rs) as the test
// oracle, driven the way testdata/c2pa/expected.json was recorded (no network fetches).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initSync, WasmReader } from '@contentauth/c2pa-wasm';

export interface OracleResult {
  state: string | null;
  codes: string[];
  activeFailures: string[];
  /** Success codes of the active manifest (validation_results.activeManifest.success). */
  successes: string[];
  /** Informational codes of the active manifest (validation_results.activeManifest.informational). */
  informational: string[];
  active: string | null;
  manifests: number;
  error?: string;
}

let ready = false;

/** Loads the reader's WebAssembly once per test file. */
export function initOfficialReader(): void {
  if (ready) return;
  const wasmPath = createRequire(import.meta.url).resolve('@contentauth/c2pa-wasm/c2pa.wasm');
  initSync({ module: readFileSync(wasmPath) });
  ready = true;
}

/** What the official reader says of `bytes`; `anchorsPem` configures its trust anchors. */
export async function officialReader(
  mime: string,
  bytes: Uint8Array,
  anchorsPem?: string,
): Promise<OracleResult> {
  initOfficialReader();
  const ctx: Record<string, unknown> = { verify: { remote_manifest_fetch: false, ocsp_fetch: false } };
  if (anchorsPem) ctx.trust = { trust_anchors: anchorsPem };
  try {
    const r = await WasmReader.fromBytes(mime, bytes, JSON.stringify(ctx));
    const j = JSON.parse(r.json()) as {
      validation_state: string;
      validation_status?: { code: string }[];
      validation_results?: {
        activeManifest?: {
          failure?: { code: string }[];
          success?: { code: string }[];
          informational?: { code: string }[];
        };
      };
      manifests: Record<string, unknown>;
    };
    return {
      state: j.validation_state,
      codes: (j.validation_status ?? []).map((s) => s.code),
      activeFailures: (j.validation_results?.activeManifest?.failure ?? []).map((s) => s.code),
      successes: (j.validation_results?.activeManifest?.success ?? []).map((s) => s.code),
      informational: (j.validation_results?.activeManifest?.informational ?? []).map((s) => s.code),
      active: r.activeLabel() ?? null,
      manifests: Object.keys(j.manifests).length,
    };
  } catch (e) {
    return {
      state: null,
      codes: [],
      activeFailures: [],
      successes: [],
      informational: [],
      active: null,
      manifests: 0,
      error: String(e),
    };
  }
}
