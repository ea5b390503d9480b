// Remote manifests (C2PA 2.x §11.3): signFile({ remoteUrl }) writes an XMP dcterms:provenance
// reference into the asset (JPEG APP1, PNG iTXt) and returns the store for upload; the data hash
// covers the whole asset. validateAsset fetches it through an injected function, and reports
// manifest.inaccessible without one. The official reader (c2pa-wasm) is the oracle, fetching
// over real HTTP from a local server; its own builder's remote-manifest output is read by ours.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { initSync, WasmBuilder, WasmReader } from '@contentauth/c2pa-wasm';
import {
  findRemoteManifestUrlInXmp,
  findXmpProvenance,
  isRemoteManifestUrl,
  jpegHandler,
  pngHandler,
  setXmpProvenance,
} from '@omt/c2pa/asset';
import { parseManifestStore } from '@omt/c2pa/manifest-store';
import { createTestPki } from '@omt/c2pa/pki';
import { createC2paSigner, signFile } from '@omt/c2pa/sign';
import { createTrustList } from '@omt/c2pa/trust';
import { validateAsset } from '@omt/c2pa/validate';

const fromUtf8 = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: false }).decode(b);

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));
const text = (f: string): string => new TextDecoder().decode(td(f));
const es256 = { key: text('certs/es256.pem'), chain: text('certs/es256.pub') };
const roots = text('certs/trust/test_cert_root_bundle.pem');

// --- a local manifest server: what a CDN serving `.c2pa` files does ---------------------------
const served = new Map<string, Uint8Array>();
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/c2pa', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  initSync({
    module: readFileSync(createRequire(import.meta.url).resolve('@contentauth/c2pa-wasm/c2pa.wasm')),
  });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** The official reader, fetching remote manifests (over HTTP) or not. */
async function official(
  mime: string,
  bytes: Uint8Array,
  fetch: boolean,
  anchors?: string,
): Promise<{ state?: string; codes: string[]; error?: string; active?: string }> {
  const ctx: Record<string, unknown> = { verify: { remote_manifest_fetch: fetch, ocsp_fetch: false } };
  if (anchors) ctx.trust = { trust_anchors: anchors };
  try {
    const r = await WasmReader.fromBytes(mime, bytes, JSON.stringify(ctx));
    const j = JSON.parse(r.json()) as { validation_state: string; validation_status?: { code: string }[] };
    return {
      state: j.validation_state,
      codes: (j.validation_status ?? []).map((s) => s.code),
      ...(r.activeLabel() ? { active: r.activeLabel() as string } : {}),
    };
  } catch (e) {
    return { codes: [], error: String(e) };
  }
}

/** APP1 XMP segments of a JPEG (before SOS). */
function jpegXmpSegments(b: Uint8Array): string[] {
  const out: string[] = [];
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff && b[at + 1] !== 0xda) {
    const len = ((b[at + 2] as number) << 8) | (b[at + 3] as number);
    const payload = fromUtf8(b.subarray(at + 4, at + 2 + len));
    if (b[at + 1] === 0xe1 && payload.startsWith('http://ns.adobe.com/xap/1.0/\0')) out.push(payload);
    at += 2 + len;
  }
  return out;
}

describe('XMP dcterms:provenance writer', () => {
  const url = 'https://cr.example/m/a.c2pa?x=1&y=2';

  it('a new packet, read back by our reader and with the dcterms namespace', () => {
    const xmp = setXmpProvenance(undefined, url);
    expect(findXmpProvenance(xmp)).toBe(url);
    expect(findRemoteManifestUrlInXmp(xmp)).toBe(url);
    expect(xmp).toContain('xmlns:dcterms="http://purl.org/dc/terms/"');
    expect(xmp).toContain('?x=1&amp;y=2"');
  });

  it('replaces an existing value (a stale self#jumbf reference), keeps the rest and the packet size', () => {
    const old = jpegXmpSegments(td('no_manifest.jpg'))[0]?.slice(29) as string;
    expect(findXmpProvenance(old)).toMatch(/^self#jumbf=/);
    const out = setXmpProvenance(old, 'https://cr.example/m/1.c2pa');
    expect(findRemoteManifestUrlInXmp(out)).toBe('https://cr.example/m/1.c2pa');
    expect(out.length).toBe(old.length); // the padding absorbed the difference
    expect(out.replace(/dcterms:provenance="[^"]*"/, '').replace(/\s+/g, '')).toBe(
      old.replace(/dcterms:provenance="[^"]*"/, '').replace(/\s+/g, ''),
    );
  });

  it('adds the attribute (and the namespace when no enclosing tag declares it); element form replaced', () => {
    const bare =
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>';
    const a = setXmpProvenance(bare, url);
    expect(findXmpProvenance(a)).toBe(url);
    expect(a).toMatch(
      /<rdf:Description rdf:about="" xmlns:dcterms="http:\/\/purl\.org\/dc\/terms\/" dcterms:provenance="[^"]+"\/>/,
    );
    const declared =
      '<rdf:RDF xmlns:dcterms="http://purl.org/dc/terms/"><rdf:Description rdf:about="">x</rdf:Description></rdf:RDF>';
    const b = setXmpProvenance(declared, url);
    expect(b.match(/xmlns:dcterms/g)).toHaveLength(1);
    expect(findXmpProvenance(b)).toBe(url);
    const elem =
      '<rdf:Description><dcterms:provenance>self#jumbf=/c2pa/x</dcterms:provenance></rdf:Description>';
    expect(findXmpProvenance(setXmpProvenance(elem, url))).toBe(url);
    expect(findXmpProvenance(setXmpProvenance('<not-xmp/>', url))).toBe(url); // no Description → new packet
    const gt = '<rdf:Description rdf:about="" xmp:Label="a > b"/>'; // '>' inside a quoted value
    expect(setXmpProvenance(gt, url)).toMatch(
      /xmp:Label="a > b" xmlns:dcterms="[^"]+" dcterms:provenance="[^"]+"\/>$/,
    );
  });

  it('refuses URLs that are not absolute http(s)', () => {
    for (const bad of [
      'ftp://x/y',
      'self#jumbf=/c2pa',
      'https://',
      'https://a b/c',
      `https://x/${'a'.repeat(5000)}`,
      'javascript:alert(1)',
    ])
      expect(() => setXmpProvenance(undefined, bad), bad).toThrow(
        expect.objectContaining({ code: 'c2pa.input.invalid' }),
      );
    expect(isRemoteManifestUrl('http://127.0.0.1:8080/m.c2pa')).toBe(true);
  });

  it('JPEG: updates the XMP APP1 in place, else inserts one after JFIF/Exif; PNG: iTXt after IHDR or replaced', () => {
    const jpeg = td('no_manifest.jpg');
    const j = jpegHandler.embedRemoteReference?.(jpeg, 'https://cr.example/j.c2pa') as Uint8Array;
    expect(jpegXmpSegments(j)).toHaveLength(1);
    expect(jpegHandler.findRemoteManifestUrl(j)).toBe('https://cr.example/j.c2pa');
    expect(j.length).toBe(jpeg.length); // the packet kept its size
    const stripped = stripXmp(jpeg);
    expect(jpegXmpSegments(stripped)).toHaveLength(0);
    const noXmp = jpegHandler.embedRemoteReference?.(stripped, 'https://cr.example/k.c2pa') as Uint8Array;
    expect(jpegXmpSegments(noXmp)).toHaveLength(1);
    expect(jpegHandler.findRemoteManifestUrl(noXmp)).toBe('https://cr.example/k.c2pa');
    const png = td('sample1.png');
    const p1 = pngHandler.embedRemoteReference?.(png, 'https://cr.example/p.c2pa') as Uint8Array;
    expect(fromUtf8(p1.subarray(37, 41))).toBe('iTXt'); // right after signature + IHDR
    expect(pngHandler.findRemoteManifestUrl(p1)).toBe('https://cr.example/p.c2pa');
    const p2 = pngHandler.embedRemoteReference?.(p1, 'https://cr.example/q.c2pa') as Uint8Array;
    expect(pngHandler.findRemoteManifestUrl(p2)).toBe('https://cr.example/q.c2pa');
    expect(p2.length).toBe(p1.length); // replaced, not added
  });
});

/** no_manifest.jpg without its XMP APP1 segment. */
function stripXmp(b: Uint8Array): Uint8Array {
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff && b[at + 1] !== 0xda) {
    const len = ((b[at + 2] as number) << 8) | (b[at + 3] as number);
    if (b[at + 1] === 0xe1 && fromUtf8(b.subarray(at + 4, at + 33)) === 'http://ns.adobe.com/xap/1.0/\0')
      return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 2 + len)]);
    at += 2 + len;
  }
  return b;
}

describe('signFile({ remoteUrl }) → validateAsset and the official reader over HTTP', () => {
  for (const [file, mime] of [
    ['no_manifest.jpg', 'image/jpeg'],
    ['sample1.png', 'image/png'],
  ] as const) {
    it(`${file}: XMP reference, no embedded store, whole-asset data hash; ours and the reader agree`, async () => {
      const url = `${base}/m/${file}.c2pa`;
      const out = await signFile({ asset: td(file), mime, ...es256, remoteUrl: url });
      const asset = out.asset as Uint8Array;
      const store = out.sidecar as Uint8Array;
      served.set(new URL(url).pathname, store);
      const handler = mime === 'image/png' ? pngHandler : jpegHandler;
      expect(handler.findManifestStore(asset)).toBeUndefined();
      expect(handler.findRemoteManifestUrl(asset)).toBe(url);
      const hashData = parseManifestStore(store).activeManifest.assertions.find(
        (a) => a.label === 'c2pa.hash.data',
      );
      expect((hashData?.value as Map<string, unknown> | undefined)?.get('exclusions')).toEqual([]);

      // Unfetched: the specification's status for an inaccessible remote manifest.
      const offline = await validateAsset(asset, mime);
      expect(offline.state).toBe('Invalid');
      expect(offline.failureCodes).toEqual(['manifest.inaccessible']);
      expect(offline.remoteManifestUrl).toBe(url);
      const failing = await validateAsset(asset, mime, {
        fetchRemote: async () => {
          throw new Error('503');
        },
      });
      expect(failing.failureCodes).toEqual(['manifest.inaccessible']);
      // The official reader raises an error instead of a report (recorded, c2pa-wasm 0.13.3).
      const o0 = await official(mime, asset, false);
      expect(o0.error).toBe(`C2pa(RemoteManifestUrl("${url}"))`);

      // Fetched (the injected function does the I/O) / given already downloaded.
      const seen: string[] = [];
      const fetchRemote = async (u: string): Promise<Uint8Array> => {
        seen.push(u);
        const r = await fetch(u);
        return new Uint8Array(await r.arrayBuffer());
      };
      const ours = await validateAsset(asset, mime, { fetchRemote });
      expect(seen).toEqual([url]);
      expect(ours.state).toBe('Valid');
      expect(ours.failureCodes).toEqual(['signingCredential.untrusted']);
      expect(ours.statusCodes).toContain('assertion.dataHash.match');
      expect(ours.activeManifest).toBe(out.manifestLabel);
      expect(ours.remoteManifestUrl).toBe(url);
      const trusted = await validateAsset(asset, mime, {
        remoteManifest: store,
        trust: createTrustList({ anchorsPem: roots }),
      });
      expect(trusted.state).toBe('Trusted');
      const o1 = await official(mime, asset, true);
      expect(o1.error).toBeUndefined();
      expect(o1.state).toBe('Valid');
      expect(o1.codes).toEqual(['signingCredential.untrusted']);
      expect(o1.active).toBe(out.manifestLabel);
      expect((await official(mime, asset, true, roots)).state).toBe('Trusted');

      // One byte of image data changed: both Invalid with the data hash mismatch.
      const bad = asset.slice();
      bad[bad.length - 100] = (bad[bad.length - 100] as number) ^ 0x01;
      const ob = await validateAsset(bad, mime, { fetchRemote });
      const officialBad = await official(mime, bad, true);
      expect(ob.state).toBe('Invalid');
      expect(officialBad.state).toBe('Invalid');
      expect(ob.failureCodes).toContain('assertion.dataHash.mismatch');
      expect(officialBad.codes).toContain('assertion.dataHash.mismatch');
      // A store served at another URL that was not signed for this asset: mismatch too.
      const other = await signFile({ asset: td(file), mime, ...es256, remoteUrl: `${url}x` });
      served.set(new URL(url).pathname, other.sidecar as Uint8Array);
      expect((await validateAsset(asset, mime, { fetchRemote })).failureCodes).toContain(
        'assertion.dataHash.mismatch',
      );
      expect((await official(mime, asset, true)).codes).toContain('assertion.dataHash.mismatch');
    });
  }

  it('a prepared signer, an existing embedded store replaced by the reference; remoteUrl refuses sidecar and bad URLs', async () => {
    const pki = await createTestPki({ suite: 'ML-DSA-65+ES256' });
    const signer = await createC2paSigner({
      key: pki.files['signer.key.pem'],
      chain: pki.files['chain.pem'],
    });
    const embedded = (await signFile({ asset: td('no_manifest.jpg'), mime: 'image/jpeg', signer }))
      .asset as Uint8Array;
    const url = `${base}/m/hybrid.c2pa`;
    const out = await signFile({ asset: embedded, mime: 'image/jpeg', signer, remoteUrl: url });
    const asset = out.asset as Uint8Array;
    expect(jpegHandler.findManifestStore(asset)).toBeUndefined();
    const r = await validateAsset(asset, 'image/jpeg', {
      remoteManifest: out.sidecar as Uint8Array,
      hybrid: 'required',
      trust: createTrustList({ anchorsPem: pki.files['root.pem'] }),
    });
    expect(r.state).toBe('Trusted');
    expect(r.trust.hybridSigner?.code).toBe('signingCredential.trusted');
    await expect(
      signFile({ asset: td('no_manifest.jpg'), mime: 'image/jpeg', ...es256, remoteUrl: url, sidecar: true }),
    ).rejects.toMatchObject({ code: 'c2pa.input.invalid' });
    await expect(
      signFile({
        asset: td('no_manifest.jpg'),
        mime: 'image/jpeg',
        ...es256,
        remoteUrl: 'file:///etc/passwd',
      }),
    ).rejects.toMatchObject({ code: 'c2pa.input.invalid' });
  });
});

/** Node lacks FileReaderSync (a worker API the official builder reads Blobs with): a byte-backed stand-in. */
class BytesBlob extends Blob {
  readonly data: Uint8Array;
  constructor(data: Uint8Array) {
    super([data as Uint8Array<ArrayBuffer>]);
    this.data = data;
  }
  override slice(start = 0, end: number = this.data.length): BytesBlob {
    return new BytesBlob(this.data.subarray(start, end));
  }
}

describe("the official builder's remote manifest (setRemoteUrl + setNoEmbed), read by ours", () => {
  it('same shape as ours: XMP reference, no exclusions; ours validates it Valid', async () => {
    (globalThis as { FileReaderSync?: unknown }).FileReaderSync ??= class {
      readAsArrayBuffer(b: BytesBlob): ArrayBuffer {
        return b.data.slice().buffer;
      }
    };
    const signer = await createC2paSigner(es256);
    const reserve = (signer.signatureSize as number) + 100;
    const { padCoseSign1 } = await import('@omt/c2pa/builder');
    const def = {
      claim_generator_info: [{ name: 'official', version: '1' }],
      title: 'remote.jpg',
      assertions: [
        {
          label: 'c2pa.actions.v2',
          data: {
            actions: [
              {
                action: 'c2pa.created',
                digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture',
              },
            ],
          },
        },
      ],
    };
    const b = WasmBuilder.fromJson(JSON.stringify(def));
    const url = `${base}/m/official.c2pa`;
    b.setRemoteUrl(url);
    b.setNoEmbed(true);
    const r = (await b.signAndGetManifestBytes(
      {
        alg: 'es256',
        reserveSize: reserve,
        sign: async (claim: Uint8Array) =>
          padCoseSign1(await signer.sign(claim), reserve) as Uint8Array<ArrayBuffer>,
      },
      [],
      'image/jpeg',
      new BytesBlob(td('no_manifest.jpg')),
    )) as { asset: Uint8Array; manifest: Uint8Array };
    const asset = new Uint8Array(r.asset);
    const store = new Uint8Array(r.manifest);
    expect(jpegHandler.findManifestStore(asset)).toBeUndefined();
    expect(jpegHandler.findRemoteManifestUrl(asset)).toBe(url);
    const hashData = parseManifestStore(store).activeManifest.assertions.find(
      (a) => a.label === 'c2pa.hash.data',
    );
    // c2pa-rs omits `exclusions` for a remote-only manifest; ours writes an empty list: same hash input.
    expect((hashData?.value as Map<string, unknown> | undefined)?.has('exclusions')).toBe(false);
    served.set('/m/official.c2pa', store);
    const ours = await validateAsset(asset, 'image/jpeg', {
      fetchRemote: async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer()),
    });
    expect(ours.state).toBe('Valid');
    expect(ours.failureCodes).toEqual(['signingCredential.untrusted']);
    const o = await official('image/jpeg', asset, true);
    expect(o.state).toBe('Valid');
    expect(o.codes).toEqual(['signingCredential.untrusted']);
  });
});
