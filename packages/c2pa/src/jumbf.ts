import { fromUtf8, toHex, utf8 } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';

/**
 * JUMBF (ISO/IEC 19566-5) box codec, strict and bounded.
 *
 * A box is `LBox` (u32 BE, whole box length) + `TBox` (4 chars) [+ `XLBox` u64 when LBox = 1]
 * + payload (ISO/IEC 14496-12 §4.2 box header, reused by JUMBF §A.2). A superbox (`jumb`) holds a
 * description box (`jumd`) first, then content boxes or nested superboxes. Parsing yields a typed
 * tree with byte offsets into the input; {@link serializeJumbf} writes a tree back byte-exact.
 *
 * Every structural error throws `OmtError('c2pa.jumbf.malformed')` with the offset in `details`.
 */

/** Error code for every malformed JUMBF structure. */
export const JUMBF_MALFORMED = 'c2pa.jumbf.malformed';

/** Limits applied while parsing (bounded time and memory on hostile input). */
export interface JumbfLimits {
  /** Maximum superbox nesting (default 32). */
  readonly maxDepth?: number;
  /** Maximum number of boxes in one parse (default 100 000). */
  readonly maxBoxes?: number;
}

interface BoxCommon {
  /** Four-character box type (`jumb`, `jumd`, `json`, `cbor`, `bidb`, `uuid`, `c2sh`, …). */
  readonly type: string;
  /** Offset of the box header in the parsed input (0 for built boxes). */
  readonly offset: number;
  /** Total length in bytes, header included. */
  readonly length: number;
  /** Header length: 8, or 16 when the box used the XLBox (large size) form. */
  readonly headerLength: 8 | 16;
}

/** A description box `jumd` (ISO/IEC 19566-5 §A.3). */
export interface JumbfDescription extends BoxCommon {
  readonly type: 'jumd';
  /** 16-byte content type UUID. */
  readonly uuid: Uint8Array;
  /** Raw toggles byte: bit0 requestable, bit1 label, bit2 id, bit3 SHA-256 hash, bit4 private box. */
  readonly toggles: number;
  readonly label: string | undefined;
  readonly id: number | undefined;
  readonly hash: Uint8Array | undefined;
  /** Private box (C2PA uses `c2sh` for salts), kept whole. */
  readonly privateBox: JumbfContentBox | undefined;
}

/** A content box: any type other than `jumb`, with its payload (a view into the input). */
export interface JumbfContentBox extends BoxCommon {
  readonly kind: 'content';
  readonly payload: Uint8Array;
}

/** A JUMBF superbox `jumb`: its description and children in order. */
export interface JumbfSuperBox extends BoxCommon {
  readonly kind: 'super';
  readonly type: 'jumb';
  readonly description: JumbfDescription;
  readonly children: readonly JumbfBox[];
}

export type JumbfBox = JumbfSuperBox | JumbfContentBox;

// ISO/IEC 19566-5 §A.3: C2PA (and the JUMBF content types) use a 4-character code followed by
// this fixed suffix as the type UUID (e.g. `c2pa` → 63327061-0011-0010-8000-00AA00389B71).
const UUID_SUFFIX = /* @__PURE__ */ Uint8Array.of(
  0x00,
  0x11,
  0x00,
  0x10,
  0x80,
  0x00,
  0x00,
  0xaa,
  0x00,
  0x38,
  0x9b,
  0x71,
);

/** The embedded-file content type UUID (ISO/IEC 19566-5 §B.5): `bfdb` + `bidb` boxes. */
export const EMBEDDED_FILE_UUID: Uint8Array = /* @__PURE__ */ Uint8Array.of(
  0x40,
  0xcb,
  0x0c,
  0x32,
  0xbb,
  0x8a,
  0x48,
  0x9d,
  0xa7,
  0x0b,
  0x2a,
  0xd6,
  0xf4,
  0x7f,
  0x43,
  0x69,
);

const DEFAULT_MAX_DEPTH = 32;
const DEFAULT_MAX_BOXES = 100_000;

function malformed(message: string, offset: number): OmtError {
  return new OmtError(JUMBF_MALFORMED, `malformed JUMBF at offset ${offset}: ${message}`, {
    details: { offset },
  });
}

function isFourCc(s: string): boolean {
  return s.length === 4 && /^[\x20-\x7e]{4}$/.test(s);
}

/**
 * The 16-byte type UUID for a 4-character JUMBF/C2PA type code.
 *
 * @example
 * ```ts
 * toHex(jumbfTypeUuid('c2pa')); // '6332706100110010800000aa00389b71'
 * ```
 */
export function jumbfTypeUuid(fourCc: string): Uint8Array {
  if (!isFourCc(fourCc))
    throw new OmtError('core.input.invalid', 'a JUMBF type code has 4 printable ASCII characters');
  const out = new Uint8Array(16);
  for (let i = 0; i < 4; i++) out[i] = fourCc.charCodeAt(i);
  out.set(UUID_SUFFIX, 4);
  return out;
}

/**
 * The 4-character code of a type UUID built by {@link jumbfTypeUuid}, else the UUID in hex.
 *
 * @example
 * ```ts
 * jumbfTypeName(box.description.uuid); // 'c2ma'
 * ```
 */
export function jumbfTypeName(uuid: Uint8Array): string {
  if (uuid.length === 16) {
    let suffix = true;
    for (let i = 0; i < 12; i++) if (uuid[4 + i] !== UUID_SUFFIX[i]) suffix = false;
    const code = String.fromCharCode(...uuid.subarray(0, 4));
    if (suffix && isFourCc(code)) return code;
  }
  return toHex(uuid);
}

interface Header {
  type: string;
  length: number;
  headerLength: 8 | 16;
}

function readU32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

function readHeader(b: Uint8Array, at: number, end: number): Header {
  if (end - at < 8) throw malformed('truncated box header', at);
  const lbox = readU32(b, at);
  const type = String.fromCharCode(
    b[at + 4] as number,
    b[at + 5] as number,
    b[at + 6] as number,
    b[at + 7] as number,
  );
  if (!isFourCc(type)) throw malformed('box type is not 4 printable characters', at);
  let length: number;
  let headerLength: 8 | 16 = 8;
  if (lbox === 1) {
    if (end - at < 16) throw malformed('truncated XLBox', at);
    const hi = readU32(b, at + 8);
    const lo = readU32(b, at + 12);
    if (hi > 0x1f_ffff) throw malformed('absurd XLBox length', at);
    length = hi * 0x1_0000_0000 + lo;
    headerLength = 16;
  } else if (lbox === 0) {
    // ISO 14496-12 §4.2: size 0 = the box extends to the end of its container.
    length = end - at;
  } else {
    length = lbox;
  }
  if (length < headerLength) throw malformed(`box length ${length} is shorter than its header`, at);
  if (length > end - at) throw malformed(`box length ${length} exceeds the ${end - at} bytes available`, at);
  return { type, length, headerLength };
}

class Parser {
  boxes = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly maxDepth: number,
    readonly maxBoxes: number,
  ) {}

  count(at: number): void {
    if (++this.boxes > this.maxBoxes) throw malformed(`more than ${this.maxBoxes} boxes`, at);
  }

  box(at: number, end: number, depth: number): JumbfBox {
    const h = readHeader(this.bytes, at, end);
    this.count(at);
    if (h.type === 'jumb') return this.superBox(at, h, depth);
    return {
      kind: 'content',
      type: h.type,
      offset: at,
      length: h.length,
      headerLength: h.headerLength,
      payload: this.bytes.subarray(at + h.headerLength, at + h.length),
    };
  }

  superBox(at: number, h: Header, depth: number): JumbfSuperBox {
    if (depth >= this.maxDepth) throw malformed(`superboxes nest deeper than ${this.maxDepth}`, at);
    const end = at + h.length;
    let pos = at + h.headerLength;
    if (pos >= end) throw malformed('superbox has no description box', at);
    const dh = readHeader(this.bytes, pos, end);
    if (dh.type !== 'jumd') throw malformed('superbox does not start with a jumd description box', pos);
    this.count(pos);
    const description = this.description(pos, dh);
    pos += dh.length;
    const children: JumbfBox[] = [];
    while (pos < end) {
      const child = this.box(pos, end, depth + 1);
      children.push(child);
      pos += child.length;
    }
    return {
      kind: 'super',
      type: 'jumb',
      offset: at,
      length: h.length,
      headerLength: h.headerLength,
      description,
      children,
    };
  }

  description(at: number, h: Header): JumbfDescription {
    const b = this.bytes;
    const end = at + h.length;
    let pos = at + h.headerLength;
    if (end - pos < 17) throw malformed('description box shorter than UUID + toggles', at);
    const uuid = b.subarray(pos, pos + 16);
    const toggles = b[pos + 16] as number;
    pos += 17;
    if (toggles & 0xe0) throw malformed('reserved toggle bits set in description box', at);
    let label: string | undefined;
    let id: number | undefined;
    let hash: Uint8Array | undefined;
    let privateBox: JumbfContentBox | undefined;
    if (toggles & 0x02) {
      const nul = b.subarray(pos, end).indexOf(0);
      if (nul < 0) throw malformed('label is not NUL-terminated', pos);
      try {
        label = fromUtf8(b.subarray(pos, pos + nul));
      } catch (e) {
        throw new OmtError(JUMBF_MALFORMED, `malformed JUMBF at offset ${pos}: label is not UTF-8`, {
          cause: e,
          details: { offset: pos },
        });
      }
      pos += nul + 1;
    }
    if (toggles & 0x04) {
      if (end - pos < 4) throw malformed('truncated description id', pos);
      id = readU32(b, pos);
      pos += 4;
    }
    if (toggles & 0x08) {
      if (end - pos < 32) throw malformed('truncated description hash', pos);
      hash = b.subarray(pos, pos + 32);
      pos += 32;
    }
    if (toggles & 0x10) {
      const ph = readHeader(b, pos, end);
      if (ph.type === 'jumb') throw malformed('private box may not be a superbox', pos);
      this.count(pos);
      privateBox = {
        kind: 'content',
        type: ph.type,
        offset: pos,
        length: ph.length,
        headerLength: ph.headerLength,
        payload: b.subarray(pos + ph.headerLength, pos + ph.length),
      };
      pos += ph.length;
    }
    if (pos !== end) throw malformed('unexpected bytes after the description fields', pos);
    return {
      type: 'jumd',
      offset: at,
      length: h.length,
      headerLength: h.headerLength,
      uuid,
      toggles,
      label,
      id,
      hash,
      privateBox,
    };
  }
}

function limitsOf(limits: JumbfLimits | undefined): { maxDepth: number; maxBoxes: number } {
  const maxDepth = limits?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxBoxes = limits?.maxBoxes ?? DEFAULT_MAX_BOXES;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 1000)
    throw new OmtError('core.input.invalid', 'maxDepth must be an integer in 1..1000');
  if (!Number.isInteger(maxBoxes) || maxBoxes < 1)
    throw new OmtError('core.input.invalid', 'maxBoxes must be a positive integer');
  return { maxDepth, maxBoxes };
}

/**
 * Parses a byte sequence of boxes (superboxes and content boxes) that must fill `bytes` exactly.
 *
 * @example
 * ```ts
 * const [store] = parseJumbfBoxes(bytes);
 * ```
 */
export function parseJumbfBoxes(bytes: Uint8Array, limits?: JumbfLimits): JumbfBox[] {
  if (!(bytes instanceof Uint8Array))
    throw new OmtError('core.input.invalid', 'JUMBF input must be a Uint8Array');
  const { maxDepth, maxBoxes } = limitsOf(limits);
  const p = new Parser(bytes, maxDepth, maxBoxes);
  const out: JumbfBox[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const box = p.box(pos, bytes.length, 0);
    out.push(box);
    pos += box.length;
  }
  return out;
}

/**
 * Parses one JUMBF superbox that spans all of `bytes` (e.g. a C2PA manifest store).
 *
 * @example
 * ```ts
 * const store = parseJumbf(storeBytes);
 * store.description.label; // 'c2pa'
 * ```
 */
export function parseJumbf(bytes: Uint8Array, limits?: JumbfLimits): JumbfSuperBox {
  const boxes = parseJumbfBoxes(bytes, limits);
  const [first] = boxes;
  if (first === undefined) throw malformed('empty input', 0);
  if (first.kind !== 'super') throw malformed(`expected a jumb superbox, found ${first.type}`, 0);
  if (boxes.length !== 1) throw malformed('trailing boxes after the superbox', first.length);
  return first;
}

/** The bytes of a parsed box's content (after its header) within the input it was parsed from. */
export function boxContent(source: Uint8Array, box: JumbfBox | JumbfDescription): Uint8Array {
  return source.subarray(box.offset + box.headerLength, box.offset + box.length);
}

// ───────────────────────────── building and writing ─────────────────────────────

function needsLarge(payloadLength: number): boolean {
  return payloadLength + 8 > 0xffff_ffff;
}

/**
 * Builds a content box.
 *
 * @example
 * ```ts
 * const cbor = jumbfContentBox('cbor', encodeCbor(value));
 * ```
 */
export function jumbfContentBox(type: string, payload: Uint8Array): JumbfContentBox {
  if (!isFourCc(type) || type === 'jumb')
    throw new OmtError('core.input.invalid', 'content box type must be 4 printable characters, not jumb');
  const large = needsLarge(payload.length);
  return {
    kind: 'content',
    type,
    offset: 0,
    length: payload.length + (large ? 16 : 8),
    headerLength: large ? 16 : 8,
    payload,
  };
}

/** Fields of a description box to build. */
export interface JumbfDescriptionInit {
  /** A 4-character type code (→ {@link jumbfTypeUuid}) or a 16-byte UUID. */
  readonly type: string | Uint8Array;
  readonly label?: string;
  /** Default true (C2PA boxes are requestable by label). */
  readonly requestable?: boolean;
  readonly id?: number;
  readonly hash?: Uint8Array;
  readonly privateBox?: JumbfContentBox;
}

interface DescriptionFields {
  uuid: Uint8Array;
  toggles: number;
  label: string | undefined;
  id: number | undefined;
  hash: Uint8Array | undefined;
  privateBox: JumbfContentBox | undefined;
}

/** Bytes of a description box's payload: UUID, toggles, then the fields its toggles announce. */
function descriptionPayloadLength(d: DescriptionFields, label: Uint8Array | undefined): number {
  let n = d.uuid.length + 1;
  if (label !== undefined) n += label.length + 1;
  if (d.id !== undefined) n += 4;
  if (d.hash !== undefined) n += d.hash.length;
  if (d.privateBox !== undefined) n += serializedLength(d.privateBox);
  return n;
}

/**
 * Builds a superbox from a description and children.
 *
 * @example
 * ```ts
 * const assertion = jumbfSuperBox({ type: 'cbor', label: 'c2pa.actions.v2' }, [jumbfContentBox('cbor', body)]);
 * ```
 */
export function jumbfSuperBox(init: JumbfDescriptionInit, children: readonly JumbfBox[]): JumbfSuperBox {
  const uuid = typeof init.type === 'string' ? jumbfTypeUuid(init.type) : init.type;
  if (uuid.length !== 16) throw new OmtError('core.input.invalid', 'a JUMBF type UUID has 16 bytes');
  if (init.label?.includes('\0'))
    throw new OmtError('core.input.invalid', 'a JUMBF label cannot contain NUL');
  if (init.id !== undefined && !(Number.isInteger(init.id) && init.id >= 0 && init.id <= 0xffff_ffff))
    throw new OmtError('core.input.invalid', 'JUMBF id must be a u32');
  if (init.hash !== undefined && init.hash.length !== 32)
    throw new OmtError('core.input.invalid', 'JUMBF description hash must be 32 bytes (SHA-256)');
  const toggles =
    (init.requestable === false ? 0 : 0x01) |
    (init.label !== undefined ? 0x02 : 0) |
    (init.id !== undefined ? 0x04 : 0) |
    (init.hash !== undefined ? 0x08 : 0) |
    (init.privateBox !== undefined ? 0x10 : 0);
  const fields = {
    uuid,
    toggles,
    label: init.label,
    id: init.id,
    hash: init.hash,
    privateBox: init.privateBox,
  };
  const dLen = descriptionPayloadLength(fields, init.label === undefined ? undefined : utf8(init.label)) + 8;
  const description: JumbfDescription = { type: 'jumd', offset: 0, length: dLen, headerLength: 8, ...fields };
  let payloadLength = dLen;
  for (const c of children) payloadLength += c.length;
  const large = needsLarge(payloadLength);
  return {
    kind: 'super',
    type: 'jumb',
    offset: 0,
    length: payloadLength + (large ? 16 : 8),
    headerLength: large ? 16 : 8,
    description,
    children: [...children],
  };
}

/** The serialized size of a box: its header, and what {@link writeBox} writes after it. */
function serializedLength(box: JumbfBox): number {
  if (box.kind === 'content') return box.headerLength + box.payload.length;
  const d = box.description;
  let n = box.headerLength + d.headerLength + descriptionPayloadLength(d, labelBytes(d));
  for (const c of box.children) n += serializedLength(c);
  return n;
}

function labelBytes(d: DescriptionFields): Uint8Array | undefined {
  return d.label === undefined ? undefined : utf8(d.label);
}

/** A box header: LBox + TBox, or LBox = 1 + TBox + XLBox (u64) in the large form. */
function writeHeader(
  out: Uint8Array,
  view: DataView,
  at: number,
  type: string,
  length: number,
  large: boolean,
): number {
  if (large) {
    view.setUint32(at, 1);
    view.setUint32(at + 8, Math.floor(length / 0x1_0000_0000));
    view.setUint32(at + 12, length >>> 0);
  } else view.setUint32(at, length);
  for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
  return at + (large ? 16 : 8);
}

/** Writes `box` at `at` (its size is {@link serializedLength}); returns the offset after it. */
function writeBox(box: JumbfBox, out: Uint8Array, view: DataView, at: number): number {
  const large = box.headerLength === 16;
  if (box.kind === 'content') {
    const pos = writeHeader(out, view, at, box.type, box.payload.length + box.headerLength, large);
    out.set(box.payload, pos);
    return pos + box.payload.length;
  }
  const d = box.description;
  const label = labelBytes(d);
  const dLength = d.headerLength + descriptionPayloadLength(d, label);
  let pos = at + box.headerLength; // the jumb header goes in last, when its length is known
  pos = writeHeader(out, view, pos, 'jumd', dLength, d.headerLength === 16);
  out.set(d.uuid, pos);
  pos += d.uuid.length;
  out[pos++] = d.toggles;
  if (label !== undefined) {
    out.set(label, pos);
    pos += label.length;
    out[pos++] = 0;
  }
  if (d.id !== undefined) {
    view.setUint32(pos, d.id);
    pos += 4;
  }
  if (d.hash !== undefined) {
    out.set(d.hash, pos);
    pos += d.hash.length;
  }
  if (d.privateBox !== undefined) pos = writeBox(d.privateBox, out, view, pos);
  for (const c of box.children) pos = writeBox(c, out, view, pos);
  writeHeader(out, view, at, 'jumb', pos - at, large);
  return pos;
}

/**
 * Serializes a box tree. A parsed tree comes back byte-exact (header forms are kept).
 *
 * @example
 * ```ts
 * serializeJumbf(parseJumbf(bytes)); // equal to bytes
 * ```
 */
export function serializeJumbf(box: JumbfBox): Uint8Array {
  const out = new Uint8Array(serializedLength(box));
  writeBox(box, out, new DataView(out.buffer), 0);
  return out;
}

/**
 * The payload of a superbox as C2PA hashes it for hashed URIs (C2PA 2.x §8.4.2.3: the
 * superbox's contents, i.e. description and content boxes, without its own LBox/TBox).
 *
 * @example
 * ```ts
 * const digest = sha256(superBoxContents(assertionBox));
 * ```
 */
export function superBoxContents(box: JumbfSuperBox): Uint8Array {
  return serializeJumbf(box).subarray(box.headerLength);
}

/** The child superbox with `label`, if any. */
export function findChildByLabel(box: JumbfSuperBox, label: string): JumbfSuperBox | undefined {
  for (const c of box.children) if (c.kind === 'super' && c.description.label === label) return c;
  return undefined;
}
