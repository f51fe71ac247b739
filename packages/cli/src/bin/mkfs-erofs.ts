#!/usr/bin/env node
/**
 * mkfs-erofs [options] IMAGE SOURCE: build an EROFS image from a directory,
 * with mkfs.erofs 1.9.3's option spelling. See ../mkfs/options.ts for the
 * options and ../mkfs/run.ts for what happens.
 */
import { runMain } from '../common.js';
import { mkfsMain } from '../mkfs/run.js';

await runMain('mkfs-erofs', (argv) => mkfsMain(argv));
