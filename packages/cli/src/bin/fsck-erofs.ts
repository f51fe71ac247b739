#!/usr/bin/env node
/**
 * fsck-erofs IMAGE [--extract=DIR] [--xattr-inode-digest[=NAME]] [--quiet]:
 * check an EROFS image (and optionally extract it). See ../fsck/run.ts.
 */
import { runMain } from '../common.js';
import { fsckMain } from '../fsck/run.js';

await runMain('fsck-erofs', (argv) => fsckMain(argv));
