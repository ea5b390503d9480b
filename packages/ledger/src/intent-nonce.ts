/**
 * Intent nonces: their syntax, generation and the {@link NonceUse} parser every `NonceStore`
 * implementation shares.
 */
import { toBase64Url } from '@omt/core/bytes';
import { parseInput } from '@omt/core/input';
import { platformRandom, type RandomSource } from '@omt/core/random';
import { z } from 'zod';
import { KEY_ID_RE } from './key-registry.js';
import type { NonceUse } from './ports.js';

/** A nonce: 8–128 characters of the base64url alphabet (createIntent draws 16 random bytes → 22). */
export const NONCE_RE: RegExp = /^[A-Za-z0-9_-]{8,128}$/;

/** zod schema of a {@link NonceUse}. */
export const NonceUseSchema: z.ZodType<NonceUse> = z
  .object({
    signer: z.string().regex(KEY_ID_RE, 'signer: a keyId (64 lower-case hex characters)'),
    nonce: z.string().regex(NONCE_RE, 'nonce: 8–128 base64url characters'),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'hash: 64 lower-case hex characters'),
    timestamp: z.date().refine((d) => !Number.isNaN(d.getTime()), 'invalid date'),
  })
  .strict();

/**
 * Parses a nonce use (`ledger.nonce.invalid`).
 * @example
 * ```ts
 * parseNonceUse({ signer: keyId, nonce: 'AbCdEfGh12', hash, timestamp: new Date() });
 * ```
 */
export function parseNonceUse(use: unknown): NonceUse {
  return parseInput(NonceUseSchema, use, 'ledger.nonce.invalid', 'nonce use');
}

/**
 * A fresh nonce: 16 random bytes, base64url (22 characters, 128 bits: collisions are not a concern).
 * @example
 * ```ts
 * generateNonce(); // 'q3V0cR2m8yq1kXkz3QmE7w'
 * ```
 */
export function generateNonce(random: RandomSource = platformRandom): string {
  return toBase64Url(random(16));
}
