import { MemoryAuditLogStore } from '@omt/core/audit-log-memory';
import { isOmtError } from '@omt/core/errors';
import { auditLogStoreContract } from '@omt/core/testing';
import { describe, expect, it } from 'vitest';

auditLogStoreContract('MemoryAuditLogStore', async () => ({ store: new MemoryAuditLogStore() }));

describe('MemoryAuditLogStore specifics', () => {
  it('refuses malformed records with core.audit.invalid', async () => {
    const store = new MemoryAuditLogStore();
    const good = { log: 'x', seq: 0, prevHash: new Uint8Array(32), hash: new Uint8Array(32), body: '{}' };
    const bad: unknown[] = [
      { ...good, log: '' },
      { ...good, seq: -1 },
      { ...good, seq: 0.5 },
      { ...good, hash: 'abc' },
      { ...good, body: 1 },
      null,
    ];
    for (const b of bad) {
      const err = await store.append([b as typeof good]).catch((e: unknown) => e);
      expect(isOmtError(err, 'core.audit.invalid')).toBe(true);
    }
    await expect(store.read('x', -1, 1)).rejects.toThrow();
    await expect(store.read('x', 0, Number.NaN)).rejects.toThrow();
    expect(await store.last('x')).toBeUndefined();
  });
});
