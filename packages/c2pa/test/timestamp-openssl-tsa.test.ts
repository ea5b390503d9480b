// RFC 3161 timestamps from a REAL time-stamping authority: OpenSSL's `openssl ts -reply` with a
// test-only TSA (its own root and a TSA certificate with the critical timeStamping EKU), run
// through child_process once per request behind the TimestampAuthority port. Signed files carry
// the token in sigTst2; ours and the official reader (c2pa-wasm) judge them, and OpenSSL's own
// `ts -verify` confirms which bytes were stamped (c2pa-rs v2: the countersignature structure over
// the CBOR of the signature).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readManifestStore } from '@omt/c2pa/manifest-store';
import { createC2paSigner, signFile } from '@omt/c2pa/sign';
import {
  claimSignatureTimestampMessage,
  type TimestampAuthority,
  timeStampTokenOf,
  verifyTimestampTokens,
} from '@omt/c2pa/timestamp';
import { createTrustList } from '@omt/c2pa/trust';
import { validateAsset } from '@omt/c2pa/validate';
import { toHex } from '@omt/core/bytes';
import { encodeCbor } from '@omt/core/cbor';
import { type CoseSign1, decodeCoseSign1 } from '@omt/core/cose';
import { sha256 } from '@omt/core/hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { officialReader } from './official-reader.js';

const td = (f: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../testdata/c2pa/${f}`, import.meta.url)));
const text = (f: string): string => new TextDecoder().decode(td(f));
const es256 = { key: text('certs/es256.pem'), chain: text('certs/es256.pub') };
const c2paRoots = text('certs/trust/test_cert_root_bundle.pem');

let dir: string;
const openssl = (...args: string[]): Buffer => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A test-only TSA: root CA → TSA certificate (critical timeStamping EKU), and `openssl ts` config. */
function createOpenSslTsa(): void {
  writeFileSync(
    path.join(dir, 'ext.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      '[dn]',
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[tsa]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = critical, timeStamping',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
      '',
    ].join('\n'),
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '3650',
    '-subj',
    '/CN=OMT Test TSA Root (test only)',
    '-config',
    'ext.cnf',
    '-extensions',
    'ca',
  );
  openssl(
    'req',
    '-new',
    ...ec,
    '-keyout',
    'tsa.key',
    '-out',
    'tsa.csr',
    '-subj',
    '/CN=OMT Test TSA (test only)',
    '-config',
    'ext.cnf',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'tsa.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '2',
    '-days',
    '3650',
    '-out',
    'tsa.pem',
    '-extfile',
    'ext.cnf',
    '-extensions',
    'tsa',
  );
  writeFileSync(path.join(dir, 'serial'), '01\n');
  writeFileSync(
    path.join(dir, 'tsa.cnf'),
    [
      '[tsa]',
      'default_tsa = omt_test_tsa',
      '[omt_test_tsa]',
      `dir = ${dir}`,
      'serial = $dir/serial',
      'crypto_device = builtin',
      'signer_cert = $dir/tsa.pem',
      'certs = $dir/ca.pem',
      'signer_key = $dir/tsa.key',
      'signer_digest = sha256',
      'default_policy = 1.3.6.1.4.1.99999.1',
      'digests = sha256, sha384, sha512',
      'accuracy = secs:1',
      'ordering = no',
      'tsa_name = yes',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  );
}

const OPENSSL_DIGEST = { 'SHA-256': '-sha256', 'SHA-384': '-sha384', 'SHA-512': '-sha512' } as const;

/** The TimestampAuthority port over `openssl ts -query` / `openssl ts -reply`, one process each. */
const openSslTsa: TimestampAuthority & { requests: number } = {
  requests: 0,
  async timestamp({ hashAlg, messageImprint }) {
    this.requests++;
    const n = this.requests;
    openssl(
      'ts',
      '-query',
      '-digest',
      toHex(messageImprint),
      OPENSSL_DIGEST[hashAlg],
      '-cert',
      '-out',
      `q${n}.tsq`,
    );
    openssl('ts', '-reply', '-config', 'tsa.cnf', '-queryfile', `q${n}.tsq`, '-out', `r${n}.tsr`);
    return new Uint8Array(readFileSync(path.join(dir, `r${n}.tsr`)));
  },
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'omt-openssl-tsa-'));
  createOpenSslTsa();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The token in a claim signature's sigTst2 header (c2pa-rs TstContainer: { tstTokens: [{ val }] }). */
function sigTst2Token(msg: CoseSign1): Uint8Array {
  const container = msg.unprotectedHeaders.get('sigTst2');
  const first = container instanceof Map ? (container.get('tstTokens') as unknown[])[0] : undefined;
  const val = first instanceof Map ? first.get('val') : undefined;
  if (!(val instanceof Uint8Array)) throw new Error('no sigTst2 token');
  return val;
}

/** The claim signature (COSE_Sign1) of a signed asset's active manifest. */
function claimSignatureOf(asset: Uint8Array): Uint8Array {
  return readManifestStore(asset, 'image/jpeg').activeManifest.signature as Uint8Array;
}

describe('RFC 3161 timestamps from an OpenSSL TSA (openssl ts -reply)', () => {
  it('sigTst2 carries the TSA token over the v2 countersignature bytes; OpenSSL ts -verify agrees', async () => {
    const before = openSslTsa.requests;
    const out = await signFile({
      asset: td('no_manifest.jpg'),
      mime: 'image/jpeg',
      ...es256,
      timestamp: openSslTsa,
    });
    expect(openSslTsa.requests - before).toBeGreaterThanOrEqual(1);
    const cose = decodeCoseSign1(claimSignatureOf(out.asset as Uint8Array));
    const token = sigTst2Token(cose);
    expect(token[0]).toBe(0x30);
    expect(cose.unprotectedHeaders.has('sigTst')).toBe(false);
    // OpenSSL checks the token against the exact bytes we say C2PA v2 stamps, and the TSA chain.
    writeFileSync(
      path.join(dir, 'stamped.bin'),
      claimSignatureTimestampMessage(cose.protectedBytes, cose.signature),
    );
    writeFileSync(path.join(dir, 'token.der'), token);
    const verified = openssl(
      'ts',
      '-verify',
      '-data',
      'stamped.bin',
      '-in',
      'token.der',
      '-token_in',
      '-CAfile',
      'ca.pem',
      '-untrusted',
      'tsa.pem',
    );
    expect(verified.toString()).toMatch(/Verification: OK/);
    // The old guess (the CBOR of the signature alone) is not what is stamped.
    writeFileSync(path.join(dir, 'wrong.bin'), encodeCbor(cose.signature));
    expect(() =>
      openssl(
        'ts',
        '-verify',
        '-data',
        'wrong.bin',
        '-in',
        'token.der',
        '-token_in',
        '-CAfile',
        'ca.pem',
        '-untrusted',
        'tsa.pem',
      ),
    ).toThrow();
  });

  it('ours: timeStamp.validated, TSA trust kept apart (untrusted → trusted with its root); the reader agrees', async () => {
    const signer = await createC2paSigner(es256);
    const out = await signFile({
      asset: td('no_manifest.jpg'),
      mime: 'image/jpeg',
      signer,
      timestamp: openSslTsa,
    });
    const asset = out.asset as Uint8Array;
    const ours = await validateAsset(asset, 'image/jpeg');
    expect(ours.state).toBe('Valid');
    expect(ours.statusCodes).toContain('timeStamp.validated');
    expect(ours.failureCodes).toEqual(['signingCredential.untrusted']);
    expect(ours.trust.timestamp?.code).toBe('timeStamp.untrusted');
    const signedAt = ours.perManifest[0]?.signedAt as Date;
    expect(Math.abs(signedAt.getTime() - Date.now())).toBeLessThan(10 * 60_000);
    const tsaRoot = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
    const trusted = await validateAsset(asset, 'image/jpeg', {
      trust: createTrustList({ anchorsPem: c2paRoots + tsaRoot }),
    });
    expect(trusted.state).toBe('Trusted');
    expect(trusted.trust.timestamp?.code).toBe('timeStamp.trusted');
    expect(trusted.statusCodes).toEqual(expect.arrayContaining(['timeStamp.validated', 'timeStamp.trusted']));

    // The official reader (recorded, c2pa-wasm 0.13.3): the TSA token validates; its TSA trust
    // follows the same anchors.
    const o = await officialReader('image/jpeg', asset);
    expect(o.error).toBeUndefined();
    expect(o.state).toBe('Valid');
    expect(o.codes).toEqual(['signingCredential.untrusted']);
    const ot = await officialReader('image/jpeg', asset, c2paRoots + tsaRoot);
    expect(ot.state).toBe('Trusted');
    expect(ot.codes).toEqual([]);
    expect(ot.successes).toEqual(expect.arrayContaining(['timeStamp.validated', 'timeStamp.trusted']));
    expect(trusted.statusCodes).toEqual(expect.arrayContaining(ot.successes));
  });

  it('a changed token byte: informational timeStamp.* as the reader reports it; a TSA answering for other bytes is refused at signing', async () => {
    const out = await signFile({
      asset: td('no_manifest.jpg'),
      mime: 'image/jpeg',
      ...es256,
      timestamp: openSslTsa,
    });
    const asset = out.asset as Uint8Array;
    const cose = claimSignatureOf(asset);
    const msg = decodeCoseSign1(cose);
    const token = sigTst2Token(msg).slice();
    const at = Buffer.from(asset).indexOf(Buffer.from(token));
    const imprint = sha256(claimSignatureTimestampMessage(msg.protectedBytes, msg.signature));
    const imprintAt = Buffer.from(token).indexOf(Buffer.from(imprint));
    expect(imprintAt).toBeGreaterThan(0);
    // Same sizes everywhere: one byte flipped in place, (1) in the TSA's signature (the token's
    // last bytes), (2) in the messageImprint inside the signed TSTInfo.
    for (const [offset, code] of [
      [token.length - 3, 'timeStamp.untrusted'],
      [imprintAt + 5, 'timeStamp.mismatch'],
    ] as const) {
      const bad = asset.slice();
      bad[at + offset] = (bad[at + offset] as number) ^ 0x01;
      const ours = await validateAsset(bad, 'image/jpeg');
      const o = await officialReader('image/jpeg', bad);
      expect(o.error).toBeUndefined();
      // Recorded (c2pa-wasm 0.13.3): the token is dropped with an informational code; the claim
      // is judged without a timestamp time and stays Valid.
      expect(o.state).toBe('Valid');
      expect(o.informational).toContain(code);
      expect(o.successes).not.toContain('timeStamp.validated');
      expect(ours.state).toBe('Valid');
      expect(ours.failureCodes).toEqual(['signingCredential.untrusted']);
      expect(ours.statusCodes.filter((c) => c.startsWith('timeStamp.'))).toEqual([code]);
      expect(ours.perManifest[0]?.signedAt).toBeUndefined();
    }

    // The store parses; verifyTimestampTokens directly: the good token verifies, the bad does not.
    const m = readManifestStore(asset, 'image/jpeg').activeManifest;
    const good = await verifyTimestampTokens({
      tokens: [token],
      signature: cose,
      claimBytes: m.claimBytes,
      at: new Date(),
    });
    expect(good.statuses.map((s) => s.code)).toContain('timeStamp.validated');

    // A TSA that stamps something else (here: the first request replayed) is caught when signing.
    const replayed = new Uint8Array(readFileSync(path.join(dir, 'r1.tsr')));
    await expect(
      signFile({
        asset: td('no_manifest.jpg'),
        mime: 'image/jpeg',
        ...es256,
        timestamp: { timestamp: async () => replayed },
      }),
    ).rejects.toMatchObject({ code: 'c2pa.timestamp.mismatch' });
    expect(timeStampTokenOf(replayed)[0]).toBe(0x30);
  });
});
