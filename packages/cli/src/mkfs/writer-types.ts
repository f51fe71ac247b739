/**
 * The writer's option and tree types as the CLI uses them (the contract is
 * packages/writer/src/options.ts, tree.ts and scan.ts), imported in one place.
 */
export type { WriterOptions, BuildSummary, ProgressFn, InodeNode, Timestamp, ScanOptions } from '@erofs/writer';
