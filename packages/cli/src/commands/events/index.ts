/**
 * The event-chain commands of `omt`: network (init, up), operator (start), events (submit, show,
 * verify, scenario). `main.ts` registers them.
 */
export { eventsHelp, runEvents } from './events.js';
export { networkHelp, networkUp, runNetwork } from './network.js';
export { operatorHelp, operatorStart, runOperator } from './operator.js';
