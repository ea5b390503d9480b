import { OmtError } from '@omt/core/errors';
import {
  parseDate,
  parseKeyId,
  parseRevocationReason,
  parseSignerRegistration,
  sameRegistration,
} from '@omt/ledger/key-registry';
import type { KeyRegistry, SignerKey, SignerKeyAlg, SignerRegistration } from '@omt/ledger/ports';
import type { Kysely, Selectable } from 'kysely';
import { GroupCommit } from './group-commit.js';
import type { OmtSchema } from './schema.js';
import { runLedgerQuery } from './sql-ledger-errors.js';
import type { LedgerSchema, LedgerSignersTable, OmtLedgerSchema } from './sql-ledger-schema.js';

/**
 * `KeyRegistry` (@omt/ledger port) over SQL (migration `0003_ledger`). Registration is an
 * `INSERT … ON CONFLICT DO NOTHING` followed, when the key exists, by a comparison with the stored
 * row, so concurrent registrations stay idempotent and a conflicting one is refused; revocation
 * is a conditional UPDATE of active rows only, so the first revocation wins and is final.
 *
 * Lookups are batched, never cached: while two SELECTs are in flight, further lookups queue and
 * go as one `WHERE key_id IN (…)`. A lookup only ever joins a SELECT not yet sent, so every
 * answer reflects the database after the call was made — a revocation committed before a lookup
 * starts is always seen (no time-to-live window), in this process or any other.
 *
 * @example
 * ```ts
 * const registry = new SqlKeyRegistry(omt.db);
 * await registry.register(signerRegistration('ES256K', pk, { validFrom: new Date() }), new Date());
 * ```
 */
export class SqlKeyRegistry implements KeyRegistry {
  readonly #db: Kysely<OmtLedgerSchema>;
  /** Group commit of `lookup`: concurrent calls share one SELECT (≤ 500 per statement, 2 in flight). */
  readonly #lookups = new GroupCommit((ids: readonly string[]) => this.#select(ids), { maxBatch: 500 });

  constructor(db: Kysely<OmtSchema>) {
    this.#db = db.withTables<LedgerSchema>();
  }

  async register(registration: SignerRegistration, now: Date): Promise<SignerKey> {
    const reg = parseSignerRegistration(registration);
    const at = parseDate(now, 'ledger.signer.invalid', 'now');
    const inserted = await runLedgerQuery('registering a signer', () =>
      this.#db
        .insertInto('omt_ledger_signers')
        .values({
          key_id: reg.keyId,
          alg: reg.alg,
          public_key: reg.publicKey,
          valid_from: reg.validFrom,
          valid_until: reg.validUntil ?? null,
          label: reg.label ?? null,
          status: 'active',
          registered_at: at,
        })
        .onConflict((oc) => oc.column('key_id').doNothing())
        .returningAll()
        .executeTakeFirst(),
    );
    if (inserted !== undefined) return toKey(inserted);
    const known = await this.lookup(reg.keyId);
    if (known === undefined)
      throw new OmtError('adapters.sql.query-failed', 'signer vanished during registration');
    if (known.status === 'revoked') throw new OmtError('ledger.signer.revoked', 'signer key is revoked');
    if (!sameRegistration(known, reg))
      throw new OmtError('ledger.signer.conflict', 'a different registration exists for this keyId');
    return known;
  }

  async revoke(keyId: string, at: Date, reason?: string): Promise<SignerKey> {
    const id = parseKeyId(keyId);
    const when = parseDate(at, 'ledger.signer.invalid', 'revocation time');
    const why = parseRevocationReason(reason);
    const updated = await runLedgerQuery('revoking a signer', () =>
      this.#db
        .updateTable('omt_ledger_signers')
        .set({ status: 'revoked', revoked_at: when, revocation_reason: why ?? null })
        .where('key_id', '=', id)
        .where('status', '=', 'active')
        .returningAll()
        .executeTakeFirst(),
    );
    if (updated !== undefined) return toKey(updated);
    const known = await this.lookup(id);
    if (known === undefined) throw new OmtError('ledger.signer.unknown', 'signer is not registered');
    return known;
  }

  async lookup(keyId: string): Promise<SignerKey | undefined> {
    if (typeof keyId !== 'string' || keyId.includes('\u0000')) return undefined;
    return this.#lookups.add(keyId);
  }

  /** One SELECT for the distinct ids; per id its key (each caller its own objects) or undefined. */
  async #select(ids: readonly string[]): Promise<(SignerKey | undefined)[]> {
    const distinct = [...new Set(ids)];
    const rows = await runLedgerQuery('looking up a signer', () =>
      distinct.length === 1
        ? this.#db
            .selectFrom('omt_ledger_signers')
            .selectAll()
            .where('key_id', '=', distinct[0] as string)
            .execute()
        : this.#db.selectFrom('omt_ledger_signers').selectAll().where('key_id', 'in', distinct).execute(),
    );
    const found = new Map(rows.map((r) => [r.key_id, r]));
    // Each caller gets its own objects: a SignerKey holds a mutable Uint8Array.
    return ids.map((id) => {
      const row = found.get(id);
      return row === undefined ? undefined : toKey(row);
    });
  }

  async list(): Promise<SignerKey[]> {
    const rows = await runLedgerQuery('listing signers', () =>
      this.#db.selectFrom('omt_ledger_signers').selectAll().orderBy('key_id').execute(),
    );
    return rows.map(toKey);
  }
}

function toKey(row: Selectable<LedgerSignersTable>): SignerKey {
  return {
    keyId: row.key_id,
    alg: row.alg as SignerKeyAlg,
    publicKey: new Uint8Array(row.public_key),
    validFrom: new Date(row.valid_from),
    ...(row.valid_until === null ? {} : { validUntil: new Date(row.valid_until) }),
    ...(row.label === null ? {} : { label: row.label }),
    status: row.status,
    registeredAt: new Date(row.registered_at),
    ...(row.revoked_at === null ? {} : { revokedAt: new Date(row.revoked_at) }),
    ...(row.revocation_reason === null ? {} : { revocationReason: row.revocation_reason }),
  };
}
