import { utf8 } from '@omt/core/bytes';
import {
  type CoseVerifyKey,
  countersignCoseSign1,
  signCoseSign1,
  verifyCoseCountersignatures,
  verifyCoseSign1,
} from '@omt/core/cose';
import { keyId } from '@omt/core/keys';
import { signJson, verifyJson } from '@omt/core/signed-json';
import { getSuite, listSuites, type SignatureSuite, type SuiteId } from '@omt/core/suites';

export interface SuiteReport {
  suite: SuiteId;
  json: string;
  cose: string;
  ms: number;
  ok: boolean;
}

/** The SLH-DSA sets the quick demo runs; `--all` runs every one (the 's' sets sign slowly in JS). */
const QUICK_SLH_DSA = new Set<SuiteId>(['SLH-DSA-SHA2-128s', 'SLH-DSA-SHA2-128f']);

const HYBRID_PARTS: Partial<Record<SuiteId, [SuiteId, SuiteId]>> = {
  'ML-DSA-44+Ed25519': ['ML-DSA-44', 'Ed25519'],
  'ML-DSA-65+ES256': ['ML-DSA-65', 'ES256'],
  'ML-DSA-87+ES384': ['ML-DSA-87', 'ES384'],
};

const document = { asset: 'urn:omt:demo:photo-0001', owner: 'ACME Newsroom', rights: ['publish', 'archive'] };
const payload = utf8('OpenMediaTrust COSE_Sign1 demo payload');

/** A key pair in the given suite; RSA is verify-only here, so its pair comes from WebCrypto. */
async function keyPair(
  suite: SignatureSuite,
): Promise<{ publicKey: Uint8Array; sign: (m: Uint8Array) => Promise<Uint8Array> }> {
  if (suite.canSign) {
    const pair = await suite.generateKeyPair();
    return { publicKey: pair.publicKey, sign: (m) => suite.sign(pair.secretKey, m) };
  }
  const hash = `SHA-${suite.id.slice(2)}`;
  const pss = suite.id.startsWith('PS');
  const algorithm = pss
    ? { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash }
    : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash };
  const pair = (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  // SPKI = SEQUENCE { AlgorithmIdentifier, BIT STRING { RSAPublicKey } }: our raw RSA form is the BIT STRING content.
  const { importSpki } = await import('@omt/core/keys');
  const publicKey = importSpki(spki, { suite: suite.id }).publicKey;
  const params = pss
    ? { name: 'RSA-PSS', saltLength: Number(suite.id.slice(2)) / 8 }
    : { name: 'RSASSA-PKCS1-v1_5' };
  return {
    publicKey,
    sign: async (m) =>
      new Uint8Array(await crypto.subtle.sign(params, pair.privateKey, m as Uint8Array<ArrayBuffer>)),
  };
}

async function checkSuite(suite: SignatureSuite): Promise<SuiteReport> {
  const t0 = performance.now();
  let json = 'not run';
  let cose = 'not run';
  let ok = true;
  if (!suite.canSign) {
    // RSA: verify-only (to read existing C2PA files): signatures made by WebCrypto, verified by our suite.
    const { publicKey, sign } = await keyPair(suite);
    const sig = await sign(payload);
    const good = await suite.verify(publicKey, payload, sig);
    const bad = await suite.verify(publicKey, utf8('tampered'), sig);
    ok = good && !bad;
    json = ok ? 'verify-only: WebCrypto signature verified, tampered rejected' : 'FAILED';
    cose = 'verify-only';
    return { suite: suite.id, json, cose, ms: performance.now() - t0, ok };
  }
  const pair = await suite.generateKeyPair();
  const kid = keyId({ suite: suite.id, publicKey: pair.publicKey });
  const signed = await signJson(document, { suite, secretKey: pair.secretKey, kid });
  const v = await verifyJson(signed, { suite, publicKey: pair.publicKey });
  const t = await verifyJson({ ...signed, owner: 'Mallory' }, { suite, publicKey: pair.publicKey });
  json = v.valid && !t.valid ? `valid; tampered → ${t.code}` : 'FAILED';
  ok &&= v.valid && !t.valid;

  const parts = HYBRID_PARTS[suite.id];
  if (suite.coseAlg !== undefined) {
    const msg = await signCoseSign1({
      signer: { suite, secretKey: pair.secretKey, kid: utf8(kid) },
      payload,
    });
    const r = await verifyCoseSign1(msg, { suite, publicKey: pair.publicKey });
    const flipped = msg.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    const rt = await verifyCoseSign1(flipped, { suite, publicKey: pair.publicKey });
    cose = r.valid && !rt.valid ? `alg ${suite.coseAlg}, ${msg.length} B; bit flip → ${rt.code}` : 'FAILED';
    ok &&= r.valid && !rt.valid;
  } else if (parts !== undefined) {
    // No COSE id exists for a hybrid: the classical half signs the COSE_Sign1 (any COSE reader
    // verifies it) and the ML-DSA half adds an RFC 9338 countersignature; both must verify.
    const [pqId, classicalId] = parts;
    const pq = getSuite(pqId);
    const classical = getSuite(classicalId);
    const pqPk = pair.publicKey.subarray(0, pq.publicKeySize);
    const clPk = pair.publicKey.subarray(pq.publicKeySize);
    const pqSk = pair.secretKey.subarray(0, pq.secretKeySize);
    const clSk = pair.secretKey.subarray(pq.secretKeySize);
    const msg = await signCoseSign1({ signer: { suite: classical, secretKey: clSk }, payload });
    const both = await countersignCoseSign1(msg, { signer: { suite: pq, secretKey: pqSk } });
    const main = await verifyCoseSign1(both, { suite: classical, publicKey: clPk });
    const resolver = (): CoseVerifyKey => ({ suite: pq, publicKey: pqPk });
    const cs = await verifyCoseCountersignatures(both, resolver);
    const csOk = cs.length === 1 && cs.every((c) => c.valid);
    const stripped = await verifyCoseCountersignatures(msg, resolver);
    cose =
      main.valid && csOk && stripped.length === 0
        ? `${classicalId} COSE_Sign1 + ${pqId} countersignature, ${both.length} B`
        : 'FAILED';
    ok &&= main.valid && csOk && stripped.length === 0;
  } else {
    cose = 'n/a: no IANA COSE algorithm id yet';
  }
  return { suite: suite.id, json, cose, ms: performance.now() - t0, ok };
}

export async function demoSuites(opts: { all: boolean; log: (s: string) => void }): Promise<SuiteReport[]> {
  const suites = listSuites().filter((s) => opts.all || s.family !== 'slh-dsa' || QUICK_SLH_DSA.has(s.id));
  const reports: SuiteReport[] = [];
  for (const suite of suites) {
    const r = await checkSuite(suite);
    reports.push(r);
    opts.log(
      `   ${r.ok ? '✓' : '✗'} ${suite.id.padEnd(20)} ${(r.ms / 1000).toFixed(2).padStart(6)} s  JSON: ${r.json}; COSE: ${r.cose}`,
    );
  }
  return reports;
}
