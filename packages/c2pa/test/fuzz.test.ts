import { readFileSync } from 'node:fs';
import { jpegHandler } from '@omt/c2pa/asset';
import { verifyDataHash } from '@omt/c2pa/data-hash';
import { verifyClaimAssertionUris } from '@omt/c2pa/hashed-uri';
import { parseJumbfBoxes } from '@omt/c2pa/jumbf';
import { parseManifestStore, readManifestStore } from '@omt/c2pa/manifest-store';
import { isOmtError } from '@omt/core/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Hostile input reaches only OmtErrors (or a parsed result), never another exception, in bounded time.
const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));

async function onlyOmtErrors(fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!isOmtError(e)) throw e;
  }
}

const cJpg = td('C.jpg');
const cStore = jpegHandler.findManifestStore(cJpg)?.store as Uint8Array;
const manifestRegion = { start: 20, end: 20 + 45884 };

describe('fuzz: parsers see random bytes and mutated vector files', () => {
  it('random bytes through every parser', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 512 }),
        fc.constantFrom('image/jpeg', 'image/png', 'application/c2pa'),
        async (b, mime) => {
          await onlyOmtErrors(() => parseJumbfBoxes(b));
          await onlyOmtErrors(() => readManifestStore(b, mime));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('random bytes behind valid magic numbers', async () => {
    const jpegHead = Uint8Array.of(0xff, 0xd8, 0xff, 0xeb);
    const pngHead = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (tail) => {
        await onlyOmtErrors(() => readManifestStore(new Uint8Array([...jpegHead, ...tail]), 'image/jpeg'));
        await onlyOmtErrors(() => readManifestStore(new Uint8Array([...pngHead, ...tail]), 'image/png'));
      }),
      { numRuns: 300 },
    );
  });

  it('single-byte mutations of the manifest store: parse, hashed URIs, data hash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: cStore.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const m = cStore.slice();
          m[at] = (m[at] as number) ^ x;
          await onlyOmtErrors(async () => {
            const s = parseManifestStore(m);
            verifyClaimAssertionUris(s, s.activeManifest);
            await verifyDataHash(s.activeManifest, cJpg);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('single-byte mutations of whole JPEG files (header region, where segments live)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: manifestRegion.end + 600 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const m = cJpg.slice();
          m[at] = (m[at] as number) ^ x;
          await onlyOmtErrors(() => readManifestStore(m, 'image/jpeg'));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('truncations of the store and the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: cStore.length }), async (n) => {
        await onlyOmtErrors(() => parseManifestStore(cStore.subarray(0, n)));
        await onlyOmtErrors(() => readManifestStore(cJpg.subarray(0, n), 'image/jpeg'));
      }),
      { numRuns: 150 },
    );
    expect(true).toBe(true);
  });
});
