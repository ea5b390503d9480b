import { AuditLog, verifyAuditLog } from '@omt/core/audit-log';
import { MemoryAuditLogStore } from '@omt/core/audit-log-memory';
import { isOmtError } from '@omt/core/errors';
import { createKms, type KmsInstance, type KmsOptions } from '@omt/kms/kms';
import { MemoryKeyStore } from '@omt/kms/memory-key-store';
import { MemoryRootKeyProvider } from '@omt/kms/memory-root-key-provider';

export interface Fixture extends KmsInstance {
  rootKeys: MemoryRootKeyProvider;
  keyStore: MemoryKeyStore;
  audit: AuditLog;
  entries(): Promise<
    { action: string; outcome: string; actor: string; subject?: string; details?: Record<string, unknown> }[]
  >;
}

export const P = 'svc:dam';

export async function setup(
  options: Partial<KmsOptions> = {},
  tenants = ['acme', 'globex'],
): Promise<Fixture> {
  const rootKeys = new MemoryRootKeyProvider();
  const keyStore = new MemoryKeyStore();
  const auditStore = new MemoryAuditLogStore();
  const audit = new AuditLog(auditStore, { log: 'kms' });
  const inst = createKms({ rootKeys, keyStore, audit, ...options });
  for (const tenant of tenants) {
    await inst.governance.createTenant({
      actor: 'ops',
      tenant,
      services: ['media', 'payments'],
      grants: [{ principal: P, service: '*', operations: ['encrypt', 'decrypt'] }],
    });
  }
  return {
    ...inst,
    rootKeys,
    keyStore,
    audit,
    async entries() {
      await inst.kms.flushAudit();
      const all = await audit.entries();
      const report = await verifyAuditLog(all);
      if (!report.valid) throw new Error('audit log does not verify');
      return all.map((e) => JSON.parse(e.body));
    },
  };
}

export async function codeOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return isOmtError(e) ? e.code : `not an OmtError: ${String(e)}`;
  }
  return undefined;
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) {
    parts.push(c);
    n += c.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
