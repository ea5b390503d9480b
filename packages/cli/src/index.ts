export { type CliContext, main, mainHelp } from './main.js';
