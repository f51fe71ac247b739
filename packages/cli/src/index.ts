/** @erofs/cli: the command-line front-ends. Nothing imports this package. */
export { runMain, errorLine, UsageError } from './common.js';
