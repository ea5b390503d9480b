/**
 * The C2PA commands of `omt`, in the manner of c2patool: `certs create-test-pki`, `sign`,
 * `verify`, `inspect`. Each exports `run<Name>(ctx, argv)` and `<name>Help` for main.ts.
 */
export { certsHelp, runCerts } from './certs.js';
export { inspectHelp, runInspect } from './inspect.js';
export { runSign, signHelp } from './sign.js';
export { runVerify, verifyHelp } from './verify.js';
