import { OmtError } from '@omt/core/errors';
import {
  parseDate,
  parseKeyId,
  parseRevocationReason,
  parseSignerRegistration,
  sameRegistration,
} from './key-registry.js';
import type { KeyRegistry, SignerKey, SignerRegistration } from './ports.js';

function copy(k: SignerKey): SignerKey {
  return { ...k, publicKey: k.publicKey.slice() };
}

/**
 * In-process {@link KeyRegistry} (tests, single-process tools, the browser). Same contract as the
 * SQL registry (`@omt/ledger/testing` keyRegistryContract).
 *
 * @example
 * ```ts
 * const registry = new MemoryKeyRegistry();
 * await registry.register(signerRegistration('ES256K', pk, { validFrom: new Date(0) }), new Date());
 * ```
 */
export class MemoryKeyRegistry implements KeyRegistry {
  readonly #keys = new Map<string, SignerKey>();

  async register(registration: SignerRegistration, now: Date): Promise<SignerKey> {
    const reg = parseSignerRegistration(registration);
    const at = parseDate(now, 'ledger.signer.invalid', 'now');
    const known = this.#keys.get(reg.keyId);
    if (known !== undefined) {
      if (known.status === 'revoked') throw new OmtError('ledger.signer.revoked', 'signer key is revoked');
      if (!sameRegistration(known, reg))
        throw new OmtError('ledger.signer.conflict', 'a different registration exists for this keyId');
      return copy(known);
    }
    const key: SignerKey = { ...reg, status: 'active', registeredAt: new Date(at.getTime()) };
    this.#keys.set(reg.keyId, key);
    return copy(key);
  }

  async revoke(keyId: string, at: Date, reason?: string): Promise<SignerKey> {
    const id = parseKeyId(keyId);
    const when = parseDate(at, 'ledger.signer.invalid', 'revocation time');
    const why = parseRevocationReason(reason);
    const known = this.#keys.get(id);
    if (known === undefined) throw new OmtError('ledger.signer.unknown', 'signer is not registered');
    if (known.status === 'revoked') return copy(known);
    const revoked: SignerKey = {
      ...known,
      status: 'revoked',
      revokedAt: new Date(when.getTime()),
      ...(why === undefined ? {} : { revocationReason: why }),
    };
    this.#keys.set(id, revoked);
    return copy(revoked);
  }

  async lookup(keyId: string): Promise<SignerKey | undefined> {
    if (typeof keyId !== 'string') return undefined;
    const k = this.#keys.get(keyId);
    return k === undefined ? undefined : copy(k);
  }

  async list(): Promise<SignerKey[]> {
    return [...this.#keys.values()].sort((a, b) => (a.keyId < b.keyId ? -1 : 1)).map(copy);
  }
}
