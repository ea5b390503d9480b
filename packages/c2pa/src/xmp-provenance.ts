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
