import path from 'node:path';
import { HttpOperatorClient } from '@omt/adapters/http';
import { fromBase64Url, toBase64Url } from '@omt/core/bytes';
import { OmtError } from '@omt/core/errors';
import { importPem } from '@omt/core/keys';
import { getSuite } from '@omt/core/suites';
import { EVENT_ALGS, type EventAlg, type EventSigner, type Party } from '@omt/ledger/event';
import { type EventNetwork, parseEventNetwork } from '@omt/ledger/event-network';
import type { CliContext } from '../../context.js';
import { readTextFile } from '../../files.js';

/** A network file read from disk, with the directory it lives in. */
export interface LoadedNetwork {
  readonly network: EventNetwork;
  readonly file: string;
  readonly dir: string;
}

/** Reads and checks a network file. */
export async function loadNetwork(ctx: CliContext, file: string): Promise<LoadedNetwork> {
  const full = path.resolve(ctx.cwd, file);
  return { network: parseEventNetwork(await readTextFile(ctx, file)), file: full, dir: path.dirname(full) };
}

/** HTTP clients for every operator of a network; close them when done. */
export function operatorClients(network: EventNetwork, timeoutMs = 5_000): HttpOperatorClient[] {
  return network.operators.map((o) => new HttpOperatorClient({ name: o.name, url: o.url, timeoutMs }));
}

/** Closes operator clients. */
export async function closeClients(clients: readonly HttpOperatorClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

/** An event signer from a PKCS#8 PEM file (its suite must be one events accept). */
export async function loadEventSigner(
  ctx: CliContext,
  file: string,
): Promise<EventSigner & { party: Party }> {
  const key = importPem(await readTextFile(ctx, file));
  if (key.secretKey === undefined)
    throw new OmtError('cli.key.not-private', `${file} holds no private key: signing events needs one`);
  if (!(EVENT_ALGS as readonly string[]).includes(key.suite))
    throw new OmtError('cli.key.unsupported', `${file}: events cannot be signed with ${key.suite}`);
  const alg = key.suite as EventAlg;
  return {
    alg,
    secretKey: key.secretKey,
    publicKey: key.publicKey,
    party: { alg, pub: toBase64Url(key.publicKey) },
  };
}

/** A fresh event signer (scenario keys). */
export async function freshEventSigner(alg: EventAlg = 'ML-DSA-65'): Promise<EventSigner & { party: Party }> {
  const kp = await getSuite(alg).generateKeyPair();
  return {
    alg,
    secretKey: kp.secretKey,
    publicKey: kp.publicKey,
    party: { alg, pub: toBase64Url(kp.publicKey) },
  };
}

/** The raw public key of a party. */
export function partyPublicKey(party: Party): Uint8Array {
  return fromBase64Url(party.pub);
}
