/**
 * The integration-test library in one import:
 * `import { withMount, describeTree, compareTrees, expectedFor, skipIf } from './lib/index.js'`.
 */
export * from './tools.js';
export * from './fixtures.js';
export * from './describe.js';
export * from './compare.js';
export * from './mount.js';
export * from './source-tree.js';
