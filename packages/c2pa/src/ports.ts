/**
 * Ports of @omt/c2pa (ARCHITECTURE rule 2): interfaces that adapters implement. Everything that
 * would touch the network (an RFC 3161 time-stamping authority over HTTP, a remote manifest
 * server) stays outside this browser-safe package and is plugged in through these.
 *
 * @example
 * ```ts
 * import type { TimestampAuthority } from '@omt/c2pa/ports';
 * const tsa: TimestampAuthority = { timestamp: async ({ hashAlg, messageImprint }) => postTimeStampReq(hashAlg, messageImprint) };
 * ```
 */

/** Hash algorithms a time-stamp request may name (RFC 3161 §2.4.1 messageImprint). */
export type TimestampHashAlg = 'SHA-256' | 'SHA-384' | 'SHA-512';

/** What a {@link TimestampAuthority} is asked to stamp: the hash of the bytes, never the bytes. */
export interface TimestampRequest {
  readonly hashAlg: TimestampHashAlg;
  /** The hash (`hashAlg`) of the bytes to be time-stamped (RFC 3161 `MessageImprint.hashedMessage`). */
  readonly messageImprint: Uint8Array;
}

/**
 * An RFC 3161 time-stamping authority (a TSA adapter: HTTP `application/timestamp-query`, an HSM,
 * a test TSA). C2PA 2.x §10.3.2.5 / §15.7 puts its token in the claim signature's `sigTst2`.
 *
 * Contract:
 * - `timestamp(request)` resolves to the DER of an RFC 3161 `TimeStampToken` (CMS SignedData over
 *   a TSTInfo, §2.4.2) or of a whole `TimeStampResp` carrying one (status granted); the token's
 *   `messageImprint` is exactly `request` (same hash algorithm, same hash).
 * - The TSA certificate carries the critical `id-kp-timeStamping` extended key usage (§2.3).
 * - Failures reject (any error); the signer reports them as `c2pa.timestamp.failed`.
 */
export interface TimestampAuthority {
  timestamp(request: TimestampRequest): Promise<Uint8Array>;
}
