import { OmtError } from '@omt/core/errors';

/**
 * Reads the remote-manifest reference from an XMP packet: `dcterms:provenance` (C2PA 2.x §11.3,
 * "External manifests"), written either as an attribute of `rdf:Description` or as an element.
 * A plain scan, not an XML parser: the value is a URI and XML entities in it are decoded.
 *
 * @example
 * ```ts
 * findXmpProvenance('<rdf:Description dcterms:provenance="https://ex.com/m.c2pa"/>'); // 'https://ex.com/m.c2pa'
 * ```
 */
export function findXmpProvenance(xmp: string): string | undefined {
  const attr = /dcterms:provenance\s*=\s*(["'])([^"'<>]{1,4096})\1/.exec(xmp);
  const elem = attr ? undefined : /<dcterms:provenance>([^<]{1,4096})<\/dcterms:provenance>/.exec(xmp);
  const raw = attr?.[2] ?? elem?.[1];
  if (raw === undefined) return undefined;
  const value = raw
    .trim()
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return value === '' ? undefined : value;
}

/** Decodes XMP bytes as UTF-8, tolerating bad sequences (XMP is advisory here, never trusted). */
export function decodeXmp(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/**
 * The remote manifest URL of an XMP packet: `dcterms:provenance` when it is an http(s) URL. A
 * `self#jumbf=…` value names an embedded store (often left behind when a store was stripped)
 * and is not a remote reference.
 *
 * @example
 * ```ts
 * findRemoteManifestUrlInXmp(xmpText); // 'https://cr.example/m.c2pa' | undefined
 * ```
 */
export function findRemoteManifestUrlInXmp(xmp: string): string | undefined {
  const v = findXmpProvenance(xmp);
  return v !== undefined && /^https?:\/\//i.test(v) ? v : undefined;
}

/**
 * Whether `url` may be written as a remote manifest reference: an absolute http(s) URL of at most
 * 4096 characters without whitespace or quotes (what {@link findRemoteManifestUrlInXmp} reads back).
 *
 * @example
 * ```ts
 * isRemoteManifestUrl('https://cr.example/m/1.c2pa'); // true
 * ```
 */
export function isRemoteManifestUrl(url: unknown): boolean {
  if (typeof url !== 'string' || url.length > 4096 || !/^https?:\/\/[^\s"'<>]+$/i.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

const DCTERMS_NS = 'http://purl.org/dc/terms/';

function escapeXmlAttribute(v: string): string {
  return v
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A minimal XMP packet (XMP spec part 1 §7.3) with one `rdf:Description` carrying the reference. */
function minimalXmp(attribute: string): string {
  return (
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">' +
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description rdf:about="" xmlns:dcterms="${DCTERMS_NS}" ${attribute}/>` +
    '</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>'
  );
}

/**
 * Writes the remote manifest reference into an XMP packet (C2PA 2.x §11.3): sets
 * `dcterms:provenance` to `url` — replacing an existing value (attribute or element form, e.g. a
 * stale `self#jumbf=…`), else adding it as an attribute of the first `rdf:Description` with the
 * `dcterms` namespace declared there when no enclosing tag declares it. Without a packet (or one
 * with no `rdf:Description`) a minimal packet is returned. Trailing packet padding absorbs the
 * growth where it can, so the packet keeps its size (as XMP writers do). A text edit, not an XML
 * round trip: everything else is left byte-for-byte. Throws `c2pa.input.invalid` for a URL that
 * {@link isRemoteManifestUrl} refuses.
 *
 * @example
 * ```ts
 * setXmpProvenance(undefined, 'https://cr.example/m/1.c2pa'); // a new packet
 * setXmpProvenance(existingXmp, 'https://cr.example/m/1.c2pa'); // the packet with the reference
 * ```
 */
export function setXmpProvenance(xmp: string | undefined, url: string): string {
  if (!isRemoteManifestUrl(url))
    throw new OmtError('c2pa.input.invalid', 'a remote manifest URL must be an absolute http(s) URL');
  const value = escapeXmlAttribute(url);
  const attribute = `dcterms:provenance="${value}"`;
  // A start tag whose quoted attribute values may hold '>' (XML 1.0 §3.1).
  const desc = xmp === undefined ? null : /<rdf:Description\b(?:[^<>"']|"[^"]*"|'[^']*')*?\/?>/.exec(xmp);
  if (xmp === undefined || desc === null) return minimalXmp(attribute);
  let out: string;
  const attr = /(dcterms:provenance\s*=\s*)(["'])[^"'<>]*\2/.exec(xmp);
  const elem = attr ? null : /(<dcterms:provenance>)[^<]*(<\/dcterms:provenance>)/.exec(xmp);
  if (attr) {
    out = `${xmp.slice(0, attr.index)}${attribute}${xmp.slice(attr.index + attr[0].length)}`;
  } else if (elem) {
    out = `${xmp.slice(0, elem.index)}${elem[1]}${value}${elem[2]}${xmp.slice(elem.index + elem[0].length)}`;
  } else {
    const tag = desc[0];
    const enclosing = [
      tag,
      /<rdf:RDF\b(?:[^<>"']|"[^"]*"|'[^']*')*>/.exec(xmp)?.[0] ?? '',
      /<x:xmpmeta\b(?:[^<>"']|"[^"]*"|'[^']*')*>/.exec(xmp)?.[0] ?? '',
    ];
    const ns = enclosing.some((t) => /\sxmlns:dcterms\s*=/.test(t)) ? '' : ` xmlns:dcterms="${DCTERMS_NS}"`;
    const close = tag.endsWith('/>') ? tag.length - 2 : tag.length - 1;
    const edited = `${tag.slice(0, close).replace(/\s+$/, '')}${ns} ${attribute}${tag.slice(close)}`;
    out = `${xmp.slice(0, desc.index)}${edited}${xmp.slice(desc.index + tag.length)}`;
  }
  // Keep the packet size: the padding before the trailer (XMP part 1 §7.3.2) absorbs the change.
  const grew = out.length - xmp.length;
  const trailer = /(\s*)(<\?xpacket end=["'][rw]["']\?>\s*)$/.exec(out);
  if (trailer !== null && grew !== 0) {
    const pad = trailer[1] as string;
    const head = out.slice(0, trailer.index);
    if (grew < 0) out = `${head}${' '.repeat(-grew)}${pad}${trailer[2]}`;
    else if (pad.length > grew + 1) out = `${head}${pad.slice(0, pad.length - grew - 1)}\n${trailer[2]}`;
  }
  return out;
}
