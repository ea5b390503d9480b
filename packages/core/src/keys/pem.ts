import { fromBase64, toBase64 } from '../bytes.js';
import { OmtError } from '../errors.js';
import type { SuiteId } from '../suites/suite.js';
import { checkKeyMaterial, joinHybrid, type KeyMaterial, malformedKey, splitHybrid } from './key-material.js';
import { hybridSuiteOf, isSuiteId, KEY_SPECS } from './key-spec.js';
import { exportPkcs8, exportSpki, importPkcs8, importSpki } from './pkcs8-spki.js';

/**
 * PEM text (RFC 7468) for SPKI ("PUBLIC KEY") and PKCS#8 ("PRIVATE KEY").
 *
 * Hybrid keys (our convention — no standard OID exists for these pairs):
 * a hybrid PEM is TWO blocks of the same label in one text, the PQ
 * component first and the classical component second, each an ordinary
 * SPKI / PKCS#8 that other tools can read on its own. {@link importPem}
 * recognises such a pair (ML-DSA-44 + Ed25519 → 'ML-DSA-44+Ed25519',
 * ML-DSA-65 + P-256 → 'ML-DSA-65+ES256', ML-DSA-87 + P-384 →
 * 'ML-DSA-87+ES384') and returns the raw concatenations of `suite.ts`.
 *
 * Parsing is strict: only whitespace may surround blocks (no explanatory
 * text), labels must match, base64 must be canonical and padded.
 */

/** Largest PEM text we parse (bounds work on hostile input). */
const MAX_PEM_CHARS = 1 << 20;

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

/** Encodes one PEM block with 64-character lines (RFC 7468 §2). */
export function encodePemBlock(label: string, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const BEGIN = /^-----BEGIN ([A-Z0-9]+(?: [A-Z0-9]+)*)-----$/;
const END = /^-----END ([A-Z0-9]+(?: [A-Z0-9]+)*)-----$/;
const B64_LINE = /^[A-Za-z0-9+/=]+$/;

/** Decodes every PEM block in `text`; anything but whitespace outside blocks is malformed. */
export function decodePemBlocks(text: string): PemBlock[] {
  if (typeof text !== 'string') throw new OmtError('core.input.invalid', 'PEM input must be a string');
  if (text.length > MAX_PEM_CHARS) throw malformedKey('PEM text too large');
  const blocks: PemBlock[] = [];
  let label: string | undefined;
  let body: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[ \t\r]+$/, '').replace(/^[ \t]+/, '');
    if (label === undefined) {
      if (line === '') continue;
      const m = BEGIN.exec(line);
      if (m === null) throw malformedKey('unexpected text outside PEM blocks');
      label = m[1] as string;
      body = [];
      continue;
    }
    const end = END.exec(line);
    if (end !== null) {
      if (end[1] !== label) throw malformedKey('PEM END label does not match BEGIN');
      if (body.length === 0) throw malformedKey('empty PEM block');
      let der: Uint8Array;
      try {
        der = fromBase64(body.join(''));
      } catch (e) {
        throw new OmtError('core.key.malformed', 'invalid base64 in PEM block', { cause: e });
      }
      blocks.push({ label, der });
      label = undefined;
      continue;
    }
    if (line === '') continue;
    if (!B64_LINE.test(line)) throw malformedKey('invalid character in PEM body');
    body.push(line);
  }
  if (label !== undefined) throw malformedKey('PEM block without END line');
  if (blocks.length === 0) throw malformedKey('no PEM block found');
  return blocks;
}

/**
 * Public key as PEM ("PUBLIC KEY", SPKI). A hybrid key gives two blocks:
 * PQ then classical.
 *
 * @example
 * ```ts
 * const pem = exportPublicPem({ suite: 'ML-DSA-65', publicKey });
 * ```
 */
export function exportPublicPem(key: KeyMaterial): string {
  const k = checkKeyMaterial(key);
  if (KEY_SPECS[k.suite].family === 'hybrid') {
    const { pq, classical } = splitHybrid(k);
    return encodePemBlock('PUBLIC KEY', exportSpki(pq)) + encodePemBlock('PUBLIC KEY', exportSpki(classical));
  }
  return encodePemBlock('PUBLIC KEY', exportSpki(k));
}

/**
 * Private key as PEM ("PRIVATE KEY", PKCS#8). A hybrid key gives two blocks:
 * PQ then classical.
 *
 * @example
 * ```ts
 * const pem = exportPrivatePem(keyPair); // -----BEGIN PRIVATE KEY----- …
 * ```
 */
export function exportPrivatePem(key: KeyMaterial): string {
  const k = checkKeyMaterial(key);
  if (KEY_SPECS[k.suite].family === 'hybrid') {
    const { pq, classical } = splitHybrid(k);
    return (
      encodePemBlock('PRIVATE KEY', exportPkcs8(pq)) + encodePemBlock('PRIVATE KEY', exportPkcs8(classical))
    );
  }
  return encodePemBlock('PRIVATE KEY', exportPkcs8(k));
}

export interface ImportPemOptions {
  /** Suite to bind the key to; required for RSA, checked against the key otherwise. */
  readonly suite?: SuiteId;
}

function importBlock(block: PemBlock, suite: SuiteId | undefined): KeyMaterial {
  const opts = suite === undefined ? undefined : { suite };
  if (block.label === 'PUBLIC KEY') return importSpki(block.der, opts);
  if (block.label === 'PRIVATE KEY') return importPkcs8(block.der, opts);
  throw malformedKey('PEM label must be PUBLIC KEY or PRIVATE KEY', { label: block.label });
}

/**
 * Imports a PEM public ("PUBLIC KEY") or private ("PRIVATE KEY") key. Two
 * blocks of the same label form a hybrid key (PQ first, then classical).
 *
 * @example
 * ```ts
 * const key = importPem(text);                      // suite from the OID
 * const rsa = importPem(rsaText, { suite: 'PS256' }); // RSA needs a suite
 * ```
 */
export function importPem(text: string, opts?: ImportPemOptions): KeyMaterial {
  const requested = opts?.suite;
  if (requested !== undefined && !isSuiteId(requested))
    throw new OmtError('core.alg.unsupported', 'unknown signature suite');
  const blocks = decodePemBlocks(text);
  const hybridRequested = requested !== undefined && KEY_SPECS[requested].family === 'hybrid';
  if (blocks.length === 1) {
    if (hybridRequested) throw malformedKey(`a ${requested} key needs two PEM blocks (PQ, then classical)`);
    return importBlock(blocks[0] as PemBlock, requested);
  }
  const [first, second] = blocks;
  if (blocks.length !== 2 || first === undefined || second === undefined)
    throw malformedKey('too many PEM blocks');
  if (first.label !== second.label)
    throw malformedKey('hybrid PEM blocks must both be PUBLIC KEY or both PRIVATE KEY');
  const pq = importBlock(first, undefined);
  const classical = importBlock(second, undefined);
  const suite = hybridSuiteOf(pq.suite, classical.suite);
  if (suite === undefined)
    throw malformedKey(`PEM blocks ${pq.suite} + ${classical.suite} do not form a known hybrid suite`);
  if (requested !== undefined && requested !== suite) {
    throw new OmtError('core.key.suite-mismatch', `a ${suite} key cannot be used with ${requested}`);
  }
  return joinHybrid(suite, pq, classical);
}
