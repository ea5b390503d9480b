/**
 * The ledger commands of `omt` (publishing): one run/help pair per top-level word.
 * `main.ts` registers them: wallet, utxo, signer, intent, publish, job, anchor, worker, serve.
 */
export { anchorHelp, runAnchor } from './anchor.js';
export { intentHelp, runIntent } from './intent.js';
export { jobHelp, runJob } from './job.js';
export { publishHelp, runPublish } from './publish.js';
export { runServe, serveHelp, serveLedger } from './serve.js';
export { runSigner, signerHelp } from './signer.js';
export { runUtxo, utxoHelp } from './utxo.js';
export { runWallet, walletHelp } from './wallet.js';
export { runWorker, workerHelp } from './worker.js';
