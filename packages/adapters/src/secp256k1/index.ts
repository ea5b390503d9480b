/**
 * libsecp256k1 — Bitcoin Core's own ECDSA library — as a {@link Secp256k1Engine} for the
 * transaction builders and the publisher, through bitcoinjs's `tiny-secp256k1` (its WASM build).
 * It signs with RFC 6979 nonces and always low-S, so a transaction's bytes are exactly those of
 * the default (noble) engine, about 3× faster: ~80 µs per signature here against noble's ~240 µs
 * and node:crypto's ~240 µs (`npm run bench`, ledger-tx). The WASM copies of the key and the
 * digest are wiped after each call (by tiny-secp256k1).
 *
 * Node only (the package loads its .wasm from disk); browsers verify, they do not sign
 * transactions, and keep the portable default.
 */
import type { Secp256k1Engine } from '@omt/ledger/tx-builder';
import * as ecc from 'tiny-secp256k1';

/**
 * @example
 * ```ts
 * import { libsecp256k1 } from '@omt/adapters/secp256k1';
 * buildOpReturnTransaction({ network: 'bsv', utxos, opReturn, change, engine: libsecp256k1 });
 * new PublishWorker({ queue, utxos, wallet, chain, engine: libsecp256k1 });
 * ```
 */
export const libsecp256k1: Secp256k1Engine = {
  name: 'libsecp256k1 (tiny-secp256k1)',
  sign(secretKey: Uint8Array, digest: Uint8Array): Uint8Array {
    return ecc.sign(digest, secretKey);
  },
  publicKey(secretKey: Uint8Array): Uint8Array {
    const p = ecc.pointFromScalar(secretKey, true);
    if (p === null) throw new Error('secret key is not a scalar in [1, n−1]');
    return p;
  },
};
