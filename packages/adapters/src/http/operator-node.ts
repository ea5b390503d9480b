/**
 * One event-chain operator as a running service: its configuration file (`opN.json`, written by
 * `omt network init`), its own database (PGlite directory or a PostgreSQL schema), its keys, the
 * network file, and an HTTP server on 127.0.0.1. `omt operator start` and the demo use it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OmtError } from '@omt/core/errors';
import { importPem } from '@omt/core/keys';
import { CheckpointAnchorer } from '@omt/ledger/checkpoint-anchorer';
import { type EventNetwork, type NetworkOperator, parseEventNetwork } from '@omt/ledger/event-network';
import { type IntentAlg, type IntentSigner, intentAlgFor, intentSigner } from '@omt/ledger/intent';
import { type MachineRegistry, machineRegistry } from '@omt/ledger/machine';
import { CONTRACT_MACHINE } from '@omt/ledger/machine-contract';
import { ITEM_MACHINE } from '@omt/ledger/machine-item';
import { MANIFEST_MACHINE } from '@omt/ledger/machine-manifest';
import { EventOperator } from '@omt/ledger/operator';
import type { OperatorApi } from '@omt/ledger/operator-api';
import { type PaymentAdapter, paymentChecks } from '@omt/ledger/payment';
import { parseCosignerSignerKey } from '@omt/ledger/tlog-cosignature';
import { parseSignerKey } from '@omt/ledger/tlog-note';
import * as z from 'zod/mini';
import {
  createDatabase,
  type DatabaseConfig,
  type OmtDatabase,
  SqlEventStore,
  SqlVoteLog,
  SqlWitnessStore,
} from '../sql/index.js';
import { HttpOperatorClient } from './operator-client.js';
import { createOperatorHandler } from './operator-handler.js';
import { HttpPublishClient } from './publish-client.js';
import { type ServedHandler, serveHandler } from './serve-handler.js';
import { TestPaymentServiceClient } from './test-payment-service.js';

/**
 * Node flags to run an operator process with (`node ...OPERATOR_NODE_FLAGS bin.js operator start`;
 * `omt network up` and the demo do): a 32 MB young-generation semi-space. An operator allocates
 * fast — every event is parsed, hashed, canonicalized and answered as JSON — and with Node's
 * default semi-space the garbage collector ran about a tenth of its time. In five back-to-back
 * pairs of 3-of-5 bench runs (bench/events.bench.ts, batches of 100) the flag changed an
 * operator's CPU per committed event by −18 % to +7 % (median −16 %) and events/s by −5 % to
 * +22 % (median +18 %): a gain in four pairs of five, on a VM whose runs swing by a fifth. The
 * cost is up to ≈ 64 MB more young-generation memory per operator process. `NODE_OPTIONS=--max-semi-space-size=32` does the
 * same for an `omt` started another way.
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=32']);

/** An operator's configuration file. Paths are relative to the file's directory. */
export interface OperatorConfig {
  readonly version: 1;
  readonly name: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** The network file. */
  readonly network: string;
  readonly database:
    | { readonly kind: 'pglite'; readonly dataDir?: string }
    | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string };
  /** Signer key text of its log key (a secret). */
  readonly logKey: string;
  /** Signer key text of its witness (cosigner) key (a secret). */
  readonly witnessKey: string;
  readonly batch?: { readonly delayMs?: number; readonly leaves?: number };
  /**
   * The environment variable holding the admin token that enables `POST /v1/anchors` (the
   * operator's anchoring job hands it anchored checkpoints); absent: the endpoint is off.
   */
  readonly adminTokenEnv?: string;
  /**
   * The operator's anchoring job (`CheckpointAnchorer`): its latest checkpoint is published through
   * the publishing service at `publisherUrl` (signed with the private key in `intentKeyFile`, a PEM
   * the publisher's key registry holds) at most every `everySeconds` (default 600), and anchors
   * confirmed in a block are served with every chain view. Absent: no anchoring.
   */
  readonly anchoring?: {
    readonly publisherUrl: string;
    readonly intentKeyFile: string;
    readonly everySeconds?: number;
    readonly pollSeconds?: number;
  };
}

const configSchema = z.object({
  version: z.literal(1),
  name: z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{0,127}$/)),
  listen: z.object({
    host: z.string().check(z.minLength(1), z.maxLength(255)),
    port: z.number().check(z.int(), z.gte(0), z.lte(65_535)),
  }),
  network: z.string().check(z.minLength(1)),
  database: z.union([
    z.object({ kind: z.literal('pglite'), dataDir: z.optional(z.string().check(z.minLength(1))) }),
    z.object({ kind: z.literal('postgres'), url: z.string(), schema: z.optional(z.string()) }),
  ]),
  logKey: z.string().check(z.minLength(16)),
  witnessKey: z.string().check(z.minLength(16)),
  batch: z.optional(
    z.object({
      delayMs: z.optional(z.number().check(z.int(), z.gte(0), z.lte(10_000))),
      leaves: z.optional(z.number().check(z.int(), z.gte(1), z.lte(100_000))),
    }),
  ),
  adminTokenEnv: z.optional(z.string().check(z.regex(/^[A-Z_][A-Z0-9_]{0,127}$/))),
  anchoring: z.optional(
    z.object({
      publisherUrl: z.string().check(z.regex(/^https?:\/\/\S{1,2000}$/)),
      intentKeyFile: z.string().check(z.minLength(1)),
      everySeconds: z.optional(z.number().check(z.int(), z.gte(1), z.lte(2_000_000))),
      pollSeconds: z.optional(z.number().check(z.int(), z.gte(1), z.lte(86_400))),
    }),
  ),
});

/** Parses an operator configuration (JSON text or value); `ledger.operator.invalid` otherwise. */
export function parseOperatorConfig(input: unknown): OperatorConfig {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new OmtError('ledger.operator.invalid', 'the operator file is not JSON', { cause: e });
    }
  }
  const r = z.safeParse(configSchema, value);
  if (!r.success)
    throw new OmtError(
      'ledger.operator.invalid',
      `the operator file is malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data as OperatorConfig;
}

/** The three shipped machines. */
export function shippedMachines(): MachineRegistry {
  return machineRegistry([ITEM_MACHINE, CONTRACT_MACHINE, MANIFEST_MACHINE]);
}

/** The payment provider a network file names, if any. */
export function networkPayments(network: EventNetwork): PaymentAdapter | undefined {
  return network.payments === undefined ? undefined : new TestPaymentServiceClient(network.payments.url);
}

/** A running operator. */
export interface OperatorNode {
  readonly name: string;
  readonly url: string;
  readonly operator: EventOperator;
  readonly network: EventNetwork;
  /** The anchoring job, when the configuration asks for one. */
  readonly anchorer?: CheckpointAnchorer;
  /** Stops serving, flushes the pending batch, closes the database. */
  close(): Promise<void>;
}

/** Options of {@link startOperatorNode}. */
export interface StartOperatorOptions {
  readonly config: OperatorConfig;
  /** Directory that relative paths of the config are resolved against. */
  readonly baseDir: string;
  /** The network (default: read from `config.network`). */
  readonly network?: EventNetwork;
  /** Override the database (tests). */
  readonly database?: DatabaseConfig;
  readonly onBackgroundError?: (error: unknown) => void;
}

/**
 * Opens the operator's database (migrating it), its keys and the network, and serves it.
 * @example
 * ```ts
 * const node = await startOperatorNode({ config: parseOperatorConfig(text), baseDir: dir });
 * console.log(node.url);
 * ```
 */
export async function startOperatorNode(options: StartOperatorOptions): Promise<OperatorNode> {
  const { config, baseDir } = options;
  let adminToken: string | undefined;
  if (config.adminTokenEnv !== undefined) {
    adminToken = process.env[config.adminTokenEnv];
    if (adminToken === undefined || adminToken.length < 16)
      throw new OmtError(
        'ledger.operator.invalid',
        `${config.adminTokenEnv} must hold the admin token (at least 16 characters)`,
      );
  }
  const network =
    options.network ??
    parseEventNetwork(await readText(path.resolve(baseDir, config.network), 'network file'));
  const me = network.operators.find((o) => o.name === config.name);
  if (me === undefined)
    throw new OmtError('ledger.operator.invalid', `${config.name} is not in the network file`);
  const database: DatabaseConfig =
    options.database ??
    (config.database.kind === 'pglite'
      ? config.database.dataDir === undefined
        ? { kind: 'pglite' }
        : { kind: 'pglite', dataDir: path.resolve(baseDir, config.database.dataDir) }
      : {
          kind: 'postgres',
          url: config.database.url,
          ...(config.database.schema === undefined ? {} : { schema: config.database.schema }),
        });
  const anchoring =
    config.anchoring === undefined ? undefined : await anchoringFor(config.anchoring, baseDir);
  const logSigner = await parseSignerKey(config.logKey);
  const witnessSigner = await parseCosignerSignerKey(config.witnessKey);
  if (logSigner.name !== config.name)
    throw new OmtError(
      'ledger.operator.invalid',
      `the log key is named ${logSigner.name}, not ${config.name}`,
    );
  let omt: OmtDatabase | undefined;
  let served: ServedHandler | undefined;
  const peers = new Map<string, HttpOperatorClient>();
  try {
    omt = await createDatabase(database);
    await omt.migrate();
    const payments = networkPayments(network);
    const operator = await EventOperator.open({
      logSigner,
      witnessSigner,
      network,
      machines: shippedMachines(),
      events: new SqlEventStore(omt.db),
      votes: new SqlVoteLog(omt.db),
      witnessStore: new SqlWitnessStore(omt.db),
      ...(payments === undefined ? {} : { payments, checks: paymentChecks(payments) }),
      peer: (p: NetworkOperator): OperatorApi => {
        let c = peers.get(p.name);
        if (c === undefined) {
          c = new HttpOperatorClient({ name: p.name, url: p.url, timeoutMs: 2_000 });
          peers.set(p.name, c);
        }
        return c;
      },
      ...(config.batch?.delayMs === undefined ? {} : { batchDelayMs: config.batch.delayMs }),
      ...(config.batch?.leaves === undefined ? {} : { batchLeaves: config.batch.leaves }),
      ...(options.onBackgroundError === undefined ? {} : { onBackgroundError: options.onBackgroundError }),
    });
    served = await serveHandler(
      createOperatorHandler({ operator, ...(adminToken === undefined ? {} : { adminToken }) }),
      {
        host: config.listen.host,
        port: config.listen.port,
      },
    );
    const db = omt;
    const server = served;
    const stopAnchoring = new AbortController();
    let anchorer: CheckpointAnchorer | undefined;
    let anchoringRun: Promise<void> | undefined;
    if (anchoring !== undefined) {
      anchorer = new CheckpointAnchorer({
        log: operator,
        publisher: anchoring.publisher,
        signer: anchoring.signer,
        everyMs: anchoring.everyMs,
        pollMs: anchoring.pollMs,
        ...(options.onBackgroundError === undefined ? {} : { onError: options.onBackgroundError }),
      });
      anchoringRun = anchorer.run(stopAnchoring.signal);
    }
    let closing: Promise<void> | undefined;
    return {
      name: config.name,
      url: server.url,
      operator,
      network,
      ...(anchorer === undefined ? {} : { anchorer }),
      close: () => {
        closing ??= (async () => {
          stopAnchoring.abort();
          await anchoringRun;
          await anchoring?.publisher.close();
          await server.close();
          await operator.close();
          await Promise.all([...peers.values()].map((p) => p.close()));
          await db.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await served?.close().catch(() => undefined);
    await omt?.close().catch(() => undefined);
    await anchoring?.publisher.close().catch(() => undefined);
    throw e;
  }
}

/** The anchoring job's parts: the publisher client and the intent signer from the key file. */
async function anchoringFor(
  a: NonNullable<OperatorConfig['anchoring']>,
  baseDir: string,
): Promise<{ publisher: HttpPublishClient; signer: IntentSigner; everyMs: number; pollMs: number }> {
  const file = path.resolve(baseDir, a.intentKeyFile);
  const text = await readText(file, 'intent key file');
  let key: ReturnType<typeof importPem>;
  try {
    key = importPem(text);
  } catch (e) {
    throw new OmtError('ledger.operator.invalid', `${file} is not a PEM key the intent signer can use`, {
      cause: e,
    });
  }
  if (key.secretKey === undefined)
    throw new OmtError(
      'ledger.operator.invalid',
      `${file} holds a public key: anchoring needs the private key`,
    );
  let alg: IntentAlg;
  try {
    alg = intentAlgFor(key.suite);
  } catch (e) {
    throw new OmtError('ledger.operator.invalid', `${file}: ${(e as Error).message}`, { cause: e });
  }
  const signer = await intentSigner(alg, key.secretKey);
  return {
    publisher: new HttpPublishClient({ url: a.publisherUrl }),
    signer,
    everyMs: (a.everySeconds ?? 600) * 1000,
    pollMs: (a.pollSeconds ?? 5) * 1000,
  };
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new OmtError('ledger.operator.invalid', `cannot read the ${what} ${file}`, { cause: e });
  }
}
