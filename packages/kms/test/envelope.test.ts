import { parseEnvelopeHeader } from '@omt/kms/envelope';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytes, codeOf, collect, P, setup } from './setup.js';

const enc = (tenant = 'acme', objectId = 'obj-1', extra: Record<string, unknown> = {}) => ({
  principal: P,
  tenant,
  service: 'media',
  objectId,
  ...extra,
});

function split(b: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  let i = 0;
  while (o < b.length) {
    const n = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    out.push(b.subarray(o, o + n));
    o += n;
  }
  return out;
}

/** Frame boundaries of a framed envelope: [start, end) of each frame after the header. */
function frames(env: Uint8Array): [number, number][] {
  const { headerBytes, header } = parseEnvelopeHeader(env);
  const out: [number, number][] = [];
  let o = headerBytes.length;
  while (o < env.length) {
    if (env[o] === 0) {
      out.push([o, o + 1 + header.frameSize + 16]);
      o += 1 + header.frameSize + 16;
    } else {
      const len = new DataView(env.buffer, env.byteOffset + o + 1, 4).getUint32(0);
      out.push([o, o + 5 + len + 16]);
      o += 5 + len + 16;
    }
  }
  return out;
}

describe('envelope: records', () => {
  it('round-trips records of many sizes; the header is self-describing', async () => {
    const f = await setup();
    for (const n of [0, 1, 15, 16, 17, 1024, 70_000]) {
      const plain = bytes(n, n);
      const env = await f.kms.encrypt(
        plain,
        enc('acme', `o${n}`, { context: { purpose: 'test', n: String(n) } }),
      );
      const { header } = parseEnvelopeHeader(env);
      expect(header).toMatchObject({
        version: 1,
        suite: 1,
        tenant: 'acme',
        service: 'media',
        objectId: `o${n}`,
        tenantKeyVersion: 1,
        serviceKeyVersion: 1,
        frameSize: 0,
        context: { purpose: 'test', n: String(n) },
      });
      expect(Array.from(await f.kms.decrypt(env, { principal: P }))).toEqual(Array.from(plain));
      // Records also decrypt as streams.
      expect(Array.from(await collect(f.kms.decryptStream([env], { principal: P })))).toEqual(
        Array.from(plain),
      );
    }
  });

  it('two encryptions of the same data differ (fresh L4, message id and nonce)', async () => {
    const f = await setup();
    const a = await f.kms.encrypt(bytes(64), enc());
    const b = await f.kms.encrypt(bytes(64), enc());
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('every single-bit flip anywhere in a record is refused with a kms.* code, never plaintext', async () => {
    const f = await setup();
    const env = await f.kms.encrypt(bytes(40), enc());
    const codes = new Set<string>();
    for (let i = 0; i < env.length; i++) {
      for (const bit of [0, 7]) {
        const bad = env.slice();
        bad[i] = (bad[i] as number) ^ (1 << bit);
        const code = await codeOf(f.kms.decrypt(bad, { principal: P }));
        expect(code, `byte ${i} bit ${bit}`).toMatch(/^kms\./);
        codes.add(code as string);
      }
    }
    expect([...codes].sort()).toEqual(
      expect.arrayContaining(['kms.envelope.auth-failed', 'kms.envelope.malformed', 'kms.unwrap.failed']),
    );
  });

  it('wrong tenant or object context is kms.context.mismatch; matching expectations pass', async () => {
    const f = await setup();
    const env = await f.kms.encrypt(bytes(10), enc('acme', 'obj-1', { context: { owner: 'alice' } }));
    expect(await codeOf(f.kms.decrypt(env, { principal: P, expect: { tenant: 'globex' } }))).toBe(
      'kms.context.mismatch',
    );
    expect(await codeOf(f.kms.decrypt(env, { principal: P, expect: { objectId: 'obj-2' } }))).toBe(
      'kms.context.mismatch',
    );
    expect(await codeOf(f.kms.decrypt(env, { principal: P, expect: { service: 'payments' } }))).toBe(
      'kms.context.mismatch',
    );
    expect(await codeOf(f.kms.decrypt(env, { principal: P, expect: { context: { owner: 'bob' } } }))).toBe(
      'kms.context.mismatch',
    );
    expect(
      (
        await f.kms.decrypt(env, {
          principal: P,
          expect: { tenant: 'acme', objectId: 'obj-1', context: { owner: 'alice' } },
        })
      ).length,
    ).toBe(10);
    const denied = (await f.entries()).filter((e) => e.outcome === 'deny');
    expect(denied.length).toBe(4);
    expect(denied[0]?.details?.code).toBe('kms.context.mismatch');
  });

  it('a wrapped L4 swapped between two objects (or tenants) fails to unwrap', async () => {
    const f = await setup();
    const a = await f.kms.encrypt(bytes(32, 1), enc('acme', 'obj-a'));
    const b = await f.kms.encrypt(bytes(32, 2), enc('acme', 'obj-b'));
    const c = await f.kms.encrypt(bytes(32, 3), enc('globex', 'obj-a'));
    const ha = parseEnvelopeHeader(a).header;
    const hb = parseEnvelopeHeader(b).header;
    const hc = parseEnvelopeHeader(c).header;
    const { encodeEnvelopeHeader } = await import('@omt/kms/envelope');
    const bodyA = a.subarray(parseEnvelopeHeader(a).headerBytes.length);
    // A's header with B's wrapped key (same L3): unwrap fails (AAD binds message id and object).
    const swapped = Buffer.concat([encodeEnvelopeHeader({ ...ha, wrappedKey: hb.wrappedKey }), bodyA]);
    expect(await codeOf(f.kms.decrypt(swapped, { principal: P }))).toBe('kms.unwrap.failed');
    // Another tenant's wrapped key.
    const cross = Buffer.concat([encodeEnvelopeHeader({ ...ha, wrappedKey: hc.wrappedKey }), bodyA]);
    expect(await codeOf(f.kms.decrypt(cross, { principal: P }))).toBe('kms.unwrap.failed');
    // A's body relabelled as another object with its own header fields.
    const relabel = Buffer.concat([encodeEnvelopeHeader({ ...ha, objectId: 'obj-b' }), bodyA]);
    expect(await codeOf(f.kms.decrypt(relabel, { principal: P }))).toBe('kms.unwrap.failed');
    // B's body under A's header: commitment passes (A's key) but frames do not authenticate.
    const bodySwap = Buffer.concat([
      parseEnvelopeHeader(a).headerBytes,
      b.subarray(parseEnvelopeHeader(b).headerBytes.length),
    ]);
    expect(await codeOf(f.kms.decrypt(bodySwap, { principal: P }))).toBe('kms.envelope.auth-failed');
  });

  it('key commitment: a header whose commitment is changed is refused before decryption', async () => {
    const f = await setup();
    const env = await f.kms.encrypt(bytes(32), enc());
    const { header, headerBytes } = parseEnvelopeHeader(env);
    const { encodeEnvelopeHeader } = await import('@omt/kms/envelope');
    const commitment = header.commitment.slice();
    commitment[0] = (commitment[0] as number) ^ 1;
    const bad = Buffer.concat([
      encodeEnvelopeHeader({ ...header, commitment }),
      env.subarray(headerBytes.length),
    ]);
    expect(await codeOf(f.kms.decrypt(bad, { principal: P }))).toBe('kms.envelope.commitment-mismatch');
  });

  it('garbage and truncated records are clear errors', async () => {
    const f = await setup();
    const env = await f.kms.encrypt(bytes(100), enc());
    expect(await codeOf(f.kms.decrypt(new Uint8Array(0), { principal: P }))).toBe('kms.envelope.malformed');
    expect(await codeOf(f.kms.decrypt(bytes(500), { principal: P }))).toBe('kms.envelope.malformed');
    for (const cut of [5, 20, env.length - 117, env.length - 1]) {
      expect(await codeOf(f.kms.decrypt(env.subarray(0, cut), { principal: P }))).toBe(
        'kms.envelope.truncated',
      );
    }
    expect(await codeOf(f.kms.decrypt(Buffer.concat([env, new Uint8Array([0])]), { principal: P }))).toBe(
      'kms.envelope.trailing-data',
    );
    const v2 = env.slice();
    v2[4] = 2;
    expect(await codeOf(f.kms.decrypt(v2, { principal: P }))).toBe('kms.envelope.unsupported');
    expect(await codeOf(f.kms.decrypt('x' as unknown as Uint8Array, { principal: P }))).toBe(
      'kms.input.invalid',
    );
    expect(await codeOf(f.kms.encrypt(bytes(1), { ...enc(), tenant: 'Bad Tenant' }))).toBe(
      'kms.input.invalid',
    );
    expect(await codeOf(f.kms.encrypt(bytes(1), { ...enc(), objectId: '' }))).toBe('kms.input.invalid');
  });
});

describe('envelope: framed streams', () => {
  it('property: any plaintext, frame size and chunking round-trips', async () => {
    const f = await setup();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 5 }),
        async (n, frameSize, inChunks, outChunks) => {
          const plain = bytes(n, n + frameSize);
          const env = await collect(
            f.kms.encryptStream(split(plain, inChunks), enc('acme', 's', { frameSize })),
          );
          expect(parseEnvelopeHeader(env).header.frameSize).toBe(frameSize);
          const back = await collect(f.kms.decryptStream(split(env, outChunks), { principal: P }));
          expect(Buffer.from(back).equals(Buffer.from(plain))).toBe(true);
          // The in-memory decrypt reads framed envelopes too.
          expect(Buffer.from(await f.kms.decrypt(env, { principal: P })).equals(Buffer.from(plain))).toBe(
            true,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('accepts ReadableStream input (browser path) and exact multiples of the frame size', async () => {
    const f = await setup();
    const plain = bytes(4096);
    const src = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of split(plain, [100, 1000, 7])) c.enqueue(p);
        c.close();
      },
    });
    const env = await collect(f.kms.encryptStream(src, enc('acme', 's', { frameSize: 1024 })));
    const fr = frames(env);
    expect(fr.length).toBe(5); // 4 regular frames + an empty final frame
    const last = fr[4] as [number, number];
    expect(last[1] - last[0]).toBe(5 + 16);
    expect(
      Buffer.from(
        await collect(
          f.kms.decryptStream(new Blob([env as Uint8Array<ArrayBuffer>]).stream(), { principal: P }),
        ),
      ).equals(Buffer.from(plain)),
    ).toBe(true);
  });

  it('truncation, reordering, duplication, kind flips and frames swapped between files are detected', async () => {
    const f = await setup();
    const plain = bytes(5000);
    const mk = async (id: string) =>
      collect(f.kms.encryptStream([plain], enc('acme', id, { frameSize: 1000 })));
    const a = await mk('file-a');
    const b = await mk('file-b');
    const fa = frames(a);
    const fb = frames(b);
    const head = a.subarray(0, fa[0]?.[0]);
    const part = (env: Uint8Array, r: [number, number] | undefined) => env.subarray(r?.[0], r?.[1]);
    const cases: [string, Uint8Array, string][] = [
      ['final frame dropped', a.subarray(0, fa[4]?.[1]), 'kms.envelope.truncated'],
      ['cut inside a frame', a.subarray(0, (fa[2]?.[0] ?? 0) + 10), 'kms.envelope.truncated'],
      ['header only', head, 'kms.envelope.truncated'],
      [
        'frames 1 and 2 swapped',
        Buffer.concat([
          head,
          part(a, fa[0]),
          part(a, fa[2]),
          part(a, fa[1]),
          ...fa.slice(3).map((r) => part(a, r)),
        ]),
        'kms.envelope.auth-failed',
      ],
      [
        'frame duplicated',
        Buffer.concat([head, part(a, fa[0]), part(a, fa[0]), ...fa.slice(1).map((r) => part(a, r))]),
        'kms.envelope.auth-failed',
      ],
      [
        'frame from file b',
        Buffer.concat([head, part(a, fa[0]), part(b, fb[1]), ...fa.slice(2).map((r) => part(a, r))]),
        'kms.envelope.auth-failed',
      ],
      ['trailing bytes', Buffer.concat([a, new Uint8Array([1, 2, 3])]), 'kms.envelope.trailing-data'],
    ];
    // A regular frame relabelled final (kind byte + length) does not authenticate either.
    expect(fa.length).toBe(6); // 5 full frames + an empty final frame
    const r4 = fa[5] as [number, number];
    const r3 = fa[3] as [number, number];
    const relabel = Buffer.concat([
      a.subarray(0, r3[0]),
      new Uint8Array([1, 0, 0, 0x03, 0xe8]),
      a.subarray(r3[0] + 1, r3[1]),
    ]);
    cases.push(['regular frame passed off as final', relabel, 'kms.envelope.auth-failed']);
    expect(r4[1]).toBe(a.length);
    for (const [name, bad, code] of cases) {
      let released = 0;
      let got: string | undefined;
      try {
        for await (const c of f.kms.decryptStream([bad], {
          principal: P,
        }) as unknown as AsyncIterable<Uint8Array>) {
          released += c.length;
        }
      } catch (e) {
        got = (e as { code?: string }).code;
      }
      expect(got, name).toBe(code);
      expect(released, `${name}: released only authenticated frames`).toBeLessThan(plain.length);
      expect(await codeOf(f.kms.decrypt(bad, { principal: P })), name).toBe(code);
    }
  });
});
