import { nodeAead } from '@omt/adapters/kms-local';
import { createKms } from '@omt/kms';
import { MemoryKeyStore } from '@omt/kms/memory-key-store';
import { MemoryRootKeyProvider } from '@omt/kms/memory-root-key-provider';
import { aeadEngineContract } from '@omt/kms/testing';
import { describe, expect, it } from 'vitest';

aeadEngineContract('nodeAead (node:crypto)', nodeAead);

describe('nodeAead under createKms', () => {
  it('envelopes made with node:crypto open with WebCrypto and vice versa (records and streams)', async () => {
    const rootKeys = new MemoryRootKeyProvider();
    const keyStore = new MemoryKeyStore();
    const node = createKms({ rootKeys, keyStore, aead: nodeAead });
    const web = createKms({ rootKeys, keyStore });
    await node.governance.createTenant({
      actor: 'ops',
      tenant: 't',
      services: ['media'],
      grants: [{ principal: 'app', service: '*', operations: ['encrypt', 'decrypt'] }],
    });
    const o = { principal: 'app', tenant: 't', service: 'media', objectId: 'x' };
    const plain = new Uint8Array(100_000).map((_, i) => i * 31);
    for (const [a, b] of [
      [node, web],
      [web, node],
    ] as const) {
      const rec = await a.kms.encrypt(plain, o);
      expect(Buffer.from(await b.kms.decrypt(rec, { principal: 'app' })).equals(Buffer.from(plain))).toBe(
        true,
      );
      const parts: Uint8Array[] = [];
      for await (const c of a.kms.encryptStream([plain], {
        ...o,
        frameSize: 4096,
      }) as unknown as AsyncIterable<Uint8Array>) {
        parts.push(c);
      }
      const back: Uint8Array[] = [];
      for await (const c of b.kms.decryptStream(parts, {
        principal: 'app',
      }) as unknown as AsyncIterable<Uint8Array>) {
        back.push(c);
      }
      expect(Buffer.concat(back).equals(Buffer.from(plain))).toBe(true);
      const bad = rec.slice();
      bad[bad.length - 3] = (bad[bad.length - 3] as number) ^ 1;
      await expect(b.kms.decrypt(bad, { principal: 'app' })).rejects.toMatchObject({
        code: 'kms.envelope.auth-failed',
      });
    }
  });
});
