/**
 * Internal (not a package export): the receipts `parseReceipt` or `parseQuorumCertificate`
 * returned — fresh, frozen objects, so a later parse of one (a QC's receipts are checked again by
 * `verifyQuorumCertificate` and `checkReceipt`) returns it as it is instead of running the schema
 * again. Kept out of the public modules: marking an object as parsed skips its validation.
 */
import type { OperatorReceipt } from './operator-receipt.js';

const parsedReceipts = new WeakSet<object>();

/** True for a receipt one of the parsers returned. */
export function isParsedReceipt(value: object): boolean {
  return parsedReceipts.has(value);
}

/** Freezes a freshly parsed receipt (and its proof array) and remembers it as parsed. */
export function rememberReceipt(receipt: OperatorReceipt): OperatorReceipt {
  Object.freeze(receipt.proof);
  Object.freeze(receipt);
  parsedReceipts.add(receipt);
  return receipt;
}
