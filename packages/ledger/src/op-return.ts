/**
 * The OpenMediaTrust OP_RETURN payload.
 *
 * Wire form (one OP_RETURN output, two pushes):
 *
 *     BSV: OP_FALSE OP_RETURN <p> <body>        BTC: OP_RETURN <p> <body>
 *
 * `p` is the protocol tag as UTF-8 (default "omt"; a fixed first push lets indexers filter
 * by prefix). `body` is deterministic CBOR (RFC 8949 §4.2.1, core `encodeCbor`) of a map
 * with text keys — one of three shapes, told apart by their keys:
 *
 * | kind       | body keys                                    | meaning                                   |
 * |------------|----------------------------------------------|-------------------------------------------|
 * | record     | v, rid, hash (bstr 32), ts (uint s), uri?    | one record's canonical hash               |
 * | batch      | v, root (bstr 32), n (uint), ts              | RFC 9162 Merkle root over n record leaves |
 * | commitment | v, c (bstr 32)                               | c = SHA-256(record body CBOR)             |
 *
 * So the protocol tuple `{p, v, rid, hash, uri, ts}` is `p` plus the record body. When the
 * record script exceeds the data-carrier limit (BTC before Core 30 and Knots relay 83-byte
 * OP_RETURN scripts — 80 data bytes; Core ≥ 30 relays 100,000), the record falls back to
 * the commitment form, which is 46 bytes for "omt"; the full body travels off-chain and is
 * checked against `c` with {@link verifyRecordCommitment}.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, fromHex, fromUtf8, isBytes, utf8 } from '@omt/core/bytes';
import { type CborValue, decodeCbor, encodeCbor } from '@omt/core/cbor';
import { OmtError } from '@omt/core/errors';
import { parseInput } from '@omt/core/input';
import { z } from 'zod';
import type { Chain } from './network.js';
import { classifyScript, opReturnScript } from './script.js';

/** Default protocol tag. */
export const OMT_PROTOCOL = 'omt';
/** Payload version this module writes. */
export const OMT_PAYLOAD_VERSION = 1;

/** BTC data-carrier presets: max OP_RETURN scriptPubKey bytes a node relays (`-datacarriersize`). */
export const DATA_CARRIER_LIMITS: Readonly<{
  'core-30': number;
  legacy: number;
  knots: number;
  bsv: number;
}> = Object.freeze({
  'core-30': 100_000,
  legacy: 83,
  knots: 83,
  // BSV: no OP_RETURN size policy since Genesis; bounded by the max transaction size policy.
  bsv: 10_000_000,
});

/** A data-carrier limit: a preset name or a byte count (of the whole OP_RETURN script). */
export type DataCarrierPolicy = keyof typeof DATA_CARRIER_LIMITS | number;

/** The protocol payload `{p, v, rid, hash, uri, ts}`. */
export interface RecordPayload {
  p: string;
  v: number;
  /** Record id. */
  rid: string;
  /** The record's canonical hash (32 bytes). */
  hash: Uint8Array;
  /** Where the record can be fetched. */
  uri?: string;
  /** Unix time, seconds. */
  ts: number;
}

/** A batch anchor: the Merkle root of `n` record leaves. */
export interface BatchPayload {
  p: string;
  v: number;
  root: Uint8Array;
  n: number;
  ts: number;
}

/** What an OMT OP_RETURN script says. */
export type AnchorPayload =
  | { kind: 'record'; payload: RecordPayload }
  | { kind: 'batch'; payload: BatchPayload }
  | { kind: 'commitment'; p: string; v: number; commitment: Uint8Array };

const hash32 = z.union([
  z.instanceof(Uint8Array).refine((b) => b.length === 32, 'must be 32 bytes'),
  z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
    .transform((h) => fromHex(h.toLowerCase())),
]);
const protocolTag = z.string().min(1).max(32).default(OMT_PROTOCOL);
const version = z.number().int().min(0).max(0xffff).default(OMT_PAYLOAD_VERSION);
const seconds = z
  .number()
  .int()
  .min(0)
  .max(2 ** 40);

/** Input accepted for a record payload (`p`, `v` default; `hash` may be hex). */
export interface RecordPayloadInput {
  p?: string;
  v?: number;
  rid: string;
  hash: Uint8Array | string;
  uri?: string;
  ts: number;
}
/** Input accepted for a batch payload. */
export interface BatchPayloadInput {
  p?: string;
  v?: number;
  root: Uint8Array | string;
  n: number;
  ts: number;
}

const RecordPayloadSchema: z.ZodType<RecordPayload, RecordPayloadInput> = z.object({
  p: protocolTag,
  v: version,
  rid: z.string().min(1).max(256),
  hash: hash32,
  uri: z.string().min(1).max(2048).optional(),
  ts: seconds,
});
const BatchPayloadSchema: z.ZodType<BatchPayload, BatchPayloadInput> = z.object({
  p: protocolTag,
  v: version,
  root: hash32,
  n: z
    .number()
    .int()
    .min(1)
    .max(2 ** 32),
  ts: seconds,
});

function limitOf(chain: Chain, policy: DataCarrierPolicy | undefined): number {
  if (policy === undefined) return chain === 'bsv' ? DATA_CARRIER_LIMITS.bsv : DATA_CARRIER_LIMITS['core-30'];
  if (typeof policy === 'number') {
    if (!Number.isInteger(policy) || policy < 1)
      throw new OmtError('core.input.invalid', 'data-carrier limit must be a positive integer');
    return policy;
  }
  const v = DATA_CARRIER_LIMITS[policy];
  if (v === undefined)
    throw new OmtError('core.input.invalid', `unknown data-carrier policy '${String(policy)}'`);
  return v;
}

function recordBody(p: RecordPayload): Uint8Array {
  const m: Record<string, CborValue> = { v: p.v, rid: p.rid, hash: p.hash, ts: p.ts };
  if (p.uri !== undefined) m.uri = p.uri;
  return encodeCbor(m);
}

/**
 * The commitment of a record: SHA-256 of its body CBOR.
 * @example
 * ```ts
 * recordCommitment({ rid: 'r1', hash, ts: 1700000000 }); // 32 bytes
 * ```
 */
export function recordCommitment(payload: RecordPayloadInput): Uint8Array {
  return sha256(
    recordBody(parseInput(RecordPayloadSchema, payload, 'ledger.payload.invalid', 'record payload')),
  );
}

/** Options for {@link encodeRecordAnchor}. */
export interface AnchorScriptOptions {
  chain: Chain;
  /** BTC: the relay policy to fit (default 'core-30'); BSV default unlimited (10 MB). */
  dataCarrier?: DataCarrierPolicy;
}

/**
 * Builds the OP_RETURN script of one record, falling back to the commitment form when the
 * full payload does not fit the data-carrier limit. Throws `ledger.opreturn.too-large`
 * when not even the commitment fits.
 * @example
 * ```ts
 * const { script, kind } = encodeRecordAnchor({ rid, hash, uri, ts }, { chain: 'btc', dataCarrier: 'legacy' });
 * // kind === 'commitment' when the record exceeded 83 bytes
 * ```
 */
export function encodeRecordAnchor(
  payload: RecordPayloadInput,
  options: AnchorScriptOptions,
): { script: Uint8Array; kind: 'record' | 'commitment'; body: Uint8Array } {
  const p = parseInput(RecordPayloadSchema, payload, 'ledger.payload.invalid', 'record payload');
  const limit = limitOf(options.chain, options.dataCarrier);
  const tag = utf8(p.p);
  const body = recordBody(p);
  const script = opReturnScript(options.chain, [tag, body]);
  if (script.length <= limit) return { script, kind: 'record', body };
  const commitment = encodeCbor({ v: p.v, c: sha256(body) });
  const fallback = opReturnScript(options.chain, [tag, commitment]);
  if (fallback.length > limit)
    throw new OmtError(
      'ledger.opreturn.too-large',
      `OP_RETURN: even the ${fallback.length}-byte commitment exceeds the ${limit}-byte limit`,
    );
  return { script: fallback, kind: 'commitment', body };
}

/**
 * Builds the OP_RETURN script committing a batch's Merkle root.
 * @example
 * ```ts
 * encodeBatchAnchor({ root: merkleRoot(leaves), n: leaves.length, ts }, { chain: 'bsv' });
 * ```
 */
export function encodeBatchAnchor(payload: BatchPayloadInput, options: AnchorScriptOptions): Uint8Array {
  const p = parseInput(BatchPayloadSchema, payload, 'ledger.payload.invalid', 'batch payload');
  const limit = limitOf(options.chain, options.dataCarrier);
  const script = opReturnScript(options.chain, [
    utf8(p.p),
    encodeCbor({ v: p.v, root: p.root, n: p.n, ts: p.ts }),
  ]);
  if (script.length > limit)
    throw new OmtError(
      'ledger.opreturn.too-large',
      `OP_RETURN: ${script.length} bytes exceed the ${limit}-byte limit`,
    );
  return script;
}

function notOurs(why: string): OmtError {
  return new OmtError('ledger.opreturn.malformed', `OP_RETURN: ${why}`);
}

function field<T>(m: Map<CborValue, CborValue>, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = m.get(key);
  if (!check(v)) throw notOurs(`field '${key}' must be ${what}`);
  return v;
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string';
const isHash = (v: unknown): v is Uint8Array => isBytes(v) && v.length === 32;

/**
 * Reads an OMT OP_RETURN script (either chain's form). Anything else — another
 * protocol, extra pushes, unknown or missing keys, non-deterministic CBOR — is
 * `ledger.opreturn.malformed`.
 * @example
 * ```ts
 * decodeAnchorScript(tx.outputs[0].script); // { kind: 'batch', payload: { root, n, … } }
 * ```
 */
export function decodeAnchorScript(script: Uint8Array, options?: { protocol?: string }): AnchorPayload {
  const c = classifyScript(script);
  if (c.type !== 'op-return') throw notOurs('not an OP_RETURN data carrier');
  if (c.data.length !== 2) throw notOurs('expected two pushes');
  const [tagBytes, bodyBytes] = c.data as [Uint8Array, Uint8Array];
  let p: string;
  let body: CborValue;
  try {
    p = fromUtf8(tagBytes);
    body = decodeCbor(bodyBytes, { requireDeterministic: true, maxDepth: 2 });
  } catch (e) {
    throw new OmtError('ledger.opreturn.malformed', 'OP_RETURN: undecodable payload', { cause: e });
  }
  if (options?.protocol !== undefined && p !== options.protocol)
    throw notOurs(`protocol '${p.slice(0, 32)}' is not '${options.protocol}'`);
  if (!(body instanceof Map)) throw notOurs('body is not a CBOR map');
  const keys = [...body.keys()].sort().join(',');
  const v = field(body, 'v', isUint, 'an unsigned integer');
  if (keys === 'c,v') return { kind: 'commitment', p, v, commitment: field(body, 'c', isHash, '32 bytes') };
  if (keys === 'n,root,ts,v')
    return {
      kind: 'batch',
      payload: {
        p,
        v,
        root: field(body, 'root', isHash, '32 bytes'),
        n: field(body, 'n', isUint, 'an unsigned integer'),
        ts: field(body, 'ts', isUint, 'an unsigned integer'),
      },
    };
  if (keys === 'hash,rid,ts,v' || keys === 'hash,rid,ts,uri,v') {
    const payload: RecordPayload = {
      p,
      v,
      rid: field(body, 'rid', isText, 'text'),
      hash: field(body, 'hash', isHash, '32 bytes'),
      ts: field(body, 'ts', isUint, 'an unsigned integer'),
    };
    if (body.has('uri')) payload.uri = field(body, 'uri', isText, 'text');
    return { kind: 'record', payload };
  }
  throw notOurs(`unknown body keys {${keys.slice(0, 64)}}`);
}

/**
 * True when a decoded commitment anchors exactly this record payload.
 * @example
 * ```ts
 * const a = decodeAnchorScript(script);
 * if (a.kind === 'commitment') verifyRecordCommitment(a, record); // true / false
 * ```
 */
export function verifyRecordCommitment(anchor: AnchorPayload, payload: RecordPayloadInput): boolean {
  if (anchor.kind !== 'commitment') return false;
  const p = parseInput(RecordPayloadSchema, payload, 'ledger.payload.invalid', 'record payload');
  return p.p === anchor.p && p.v === anchor.v && equalBytes(sha256(recordBody(p)), anchor.commitment);
}
