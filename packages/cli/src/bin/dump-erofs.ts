#!/usr/bin/env node
/**
 * dump-erofs IMAGE [-s] [--path=P | --nid=N] [-S] [--cat]: show the
 * superblock, an inode or statistics of an EROFS image. See ../dump/run.ts.
 */
import { runMain } from '../common.js';
import { dumpMain } from '../dump/run.js';

await runMain('dump-erofs', (argv) => dumpMain(argv));
