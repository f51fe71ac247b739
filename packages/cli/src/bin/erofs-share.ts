#!/usr/bin/env node
/**
 * erofs-share report [--domain D] [--no-share] [--json] [--workload FILE]
 * [--cache-bytes N] IMAGE...: how much page cache inode page cache sharing
 * saves on these images. See ../share/run.ts and ../share/report.ts.
 */
import { runMain } from '../common.js';
import { shareMain } from '../share/run.js';

await runMain('erofs-share', (argv) => shareMain(argv));
