import { isOmtError } from '@omt/core/errors';
import {
  certsHelp,
  inspectHelp,
  runCerts,
  runInspect,
  runSign,
  runVerify,
  signHelp,
  verifyHelp,
} from './commands/c2pa/index.js';
import { dbHelp, runDb } from './commands/db.js';
import {
  eventsHelp,
  networkHelp,
  operatorHelp,
  runEvents,
  runNetwork,
  runOperator,
} from './commands/events/index.js';
import { runSignJson, runVerifyJson, signJsonHelp, verifyJsonHelp } from './commands/json-signature.js';
import { keysHelp, runKeys } from './commands/keys.js';
import { decryptHelp, encryptHelp, kmsHelp, runDecrypt, runEncrypt, runKms } from './commands/kms/index.js';
import {
  anchorHelp,
  intentHelp,
  jobHelp,
  publishHelp,
  runAnchor,
  runIntent,
  runJob,
  runPublish,
  runServe,
  runSigner,
  runUtxo,
  runWallet,
  runWorker,
  serveHelp,
  signerHelp,
  utxoHelp,
  walletHelp,
  workerHelp,
} from './commands/ledger/index.js';
import type { CliContext } from './context.js';

export type { CliContext } from './context.js';

const VERSION = '0.1.0';

export const mainHelp: string = `omt ${VERSION} — OpenMediaTrust command line

Usage: omt <command> [options]

Commands:
  keys list-algs                  List the signature suites.
  keys generate --alg <suite> --out <dir>
                                  Generate a key pair (PKCS#8/SPKI PEM and JWK files).
  sign-json --key <pem> <file>    Sign a JSON document (JCS input, {alg, kid, sig}).
  verify-json --pub <pem> <file>  Verify a signed JSON document (exit 0 only if valid).
  db migrate | db status          The SQL store ($OMT_HOME or DATABASE_URL).

Content Credentials (C2PA):
  certs create-test-pki --alg <suite|hybrid> --out <dir>
                                  A root → intermediate → signer test chain (ML-DSA too).
  sign <in> -o <out> --key <pem> --cert <chain.pem> [--alg <suite>] [--manifest <json>]
       [--parent <file>] [--sidecar]
                                  Sign and embed a C2PA manifest (JPEG, PNG, or .c2pa sidecar).
  verify <file> [--trust <anchors.pem>] [--sidecar <file.c2pa>]
                                  Validate (exit 0 only when not Invalid).
  inspect <file> --json           The whole manifest store.

Key management and encryption (L1–L4 envelope encryption):
  kms init [--pkcs11-module <lib> --pkcs11-slot <n> --pkcs11-pin-env <VAR>]
                                  The root key provider: a local key file (OMT_KMS_PASSPHRASE)
                                  or a PKCS#11 HSM.
  kms tenant create|disable|enable|revoke|reinstate|rotate <tenant>
  kms shred --tenant <t> --service <s> | --object <id>
  kms status [--tenant <t>]
  encrypt --tenant <t> --service <s> <in> -o <out>
  decrypt <in> -o <out>

Publishing and anchoring (Bitcoin/BSV):
  wallet init [--network <n>] | wallet address
                                  The HD wallet in $OMT_HOME (funding and change keys).
  utxo add <txid>:<vout> --satoshis <n> | utxo list | utxo split --into <n>
  signer register|revoke|list <pub.pem>
                                  The registry of keys allowed to publish.
  intent sign --key <pem> <record.json>
                                  A signed publishing intent (adds timestamp and nonce).
  publish <intent.json> [--wait]  Verify and queue an intent; prints the job id.
  job <id>                        A job with its txid, raw transaction and anchoring proof.
  anchor verify <proof.json>      Check an anchoring proof offline.
  worker [--once]                 Run the publisher (batches records into OP_RETURN txs).
  serve [--port <n>]              The HTTP API on 127.0.0.1.

Event chains (M-of-N operator quorum, C2SP transparency logs):
  network init --operators <N> --quorum <M> --out <dir>
                                  Keys and config files for a local operator network.
  network up --dir <dir>          Run every operator of the directory (development).
  operator start --config <opN.json>
                                  Run one operator (its own process and store).
  events submit --network <network.json> --key <pem> <event.json>
  events show --network <network.json> <subject>
  events verify --network <network.json> <subject>
                                  authentic / not-authentic / undecidable, with reasons.
  events scenario item --network <network.json>
                                  An item's whole life against a running network.

Every command takes --json for machine-readable output and --help for details.
State lives in $OMT_HOME (default ./.omt); DATABASE_URL switches the store to PostgreSQL.
Exit codes: 0 success, 1 failure (invalid signature, error), 2 usage error.
`;

type Command = (ctx: CliContext, argv: string[]) => Promise<{ exitCode: number }>;

const commands: Record<string, { run: Command; help: string }> = {
  keys: { run: runKeys, help: keysHelp },
  'sign-json': { run: runSignJson, help: signJsonHelp },
  'verify-json': { run: runVerifyJson, help: verifyJsonHelp },
  db: { run: runDb, help: dbHelp },
  certs: { run: runCerts, help: certsHelp },
  sign: { run: runSign, help: signHelp },
  verify: { run: runVerify, help: verifyHelp },
  inspect: { run: runInspect, help: inspectHelp },
  kms: { run: runKms, help: kmsHelp },
  encrypt: { run: runEncrypt, help: encryptHelp },
  decrypt: { run: runDecrypt, help: decryptHelp },
  wallet: { run: runWallet, help: walletHelp },
  utxo: { run: runUtxo, help: utxoHelp },
  signer: { run: runSigner, help: signerHelp },
  intent: { run: runIntent, help: intentHelp },
  publish: { run: runPublish, help: publishHelp },
  job: { run: runJob, help: jobHelp },
  anchor: { run: runAnchor, help: anchorHelp },
  worker: { run: runWorker, help: workerHelp },
  serve: { run: runServe, help: serveHelp },
  network: { run: runNetwork, help: networkHelp },
  operator: { run: runOperator, help: operatorHelp },
  events: { run: runEvents, help: eventsHelp },
};

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns the exit code.
 * Errors become a one-line message (or a JSON object with --json) and a non-zero code;
 * nothing is thrown.
 */
export async function main(argv: string[], ctx: CliContext): Promise<number> {
  const json = argv.includes('--json');
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.stdout(mainHelp);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    ctx.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = commands[name];
  try {
    if (command === undefined) {
      throw Object.assign(new Error(`unknown command: ${name} (try: omt --help)`), { usage: true });
    }
    return (await command.run(ctx, rest)).exitCode;
  } catch (e) {
    const usage = (isOmtError(e) && e.code === 'cli.usage') || (e as { usage?: boolean }).usage === true;
    const code = isOmtError(e) ? e.code : usage ? 'cli.usage' : 'cli.internal';
    const message = e instanceof Error ? e.message : String(e);
    if (json) ctx.stdout(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    else ctx.stderr(`omt: ${message} [${code}]\n`);
    if (code === 'cli.internal' && ctx.env.OMT_DEBUG) ctx.stderr(`${(e as Error).stack ?? ''}\n`);
    return usage ? 2 : 1;
  }
}
