#!/usr/bin/env node
// Long bit-flip fuzz campaign of @erofs/reader over fixture images.
// Usage: node --conditions=source --import tsx bench/reader-fuzz.mjs [N=100000] [SEED0=1]
// Prints a summary line every 500 cases and the failures (non-ErofsError or hang) with their seeds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzCase } from '../test/reader-helpers.ts';

const N = Number(process.argv[2] ?? 100000);
const SEED0 = Number(process.argv[3] ?? 1);
const DIR = new URL('../../shared/fixtures/images/', import.meta.url).pathname;
const IMAGES = ['blk512.erofs', 'chunk-8k.erofs', 'lz4-ztailpacking.erofs', 'xattr-prefix.erofs', 'lz4-compressed-dirs.erofs', 'metabox-lz4.erofs', 'dot-omitted.erofs', 'lz4-fragments-dedupe.erofs', 'lz4-legacy-compress.erofs', 'chunk-64k-indexes.erofs'];
const images = IMAGES.map((f) => new Uint8Array(readFileSync(join(DIR, f))));
const t0 = Date.now();
const s = { ok: 0, typed: 0, bad: 0, hang: 0 };
const codes = {};
let slowest = 0;
for (let i = 0; i < N; i++) {
  const seed = SEED0 + i;
  const o = await fuzzCase(images[seed % images.length], seed, 10000);
  s[o.kind]++;
  slowest = Math.max(slowest, o.ms);
  for (const c of new Set(o.codes)) codes[c] = (codes[c] ?? 0) + 1;
  if (o.kind === 'bad' || o.kind === 'hang') console.log(`FAIL ${IMAGES[seed % images.length]} ${o.kind} ${o.detail}`);
  if ((i + 1) % 500 === 0 || i + 1 === N) {
    console.log(`${i + 1} cases in ${((Date.now() - t0) / 1000).toFixed(0)} s: ok ${s.ok}, typed ${s.typed}, bad ${s.bad}, hang ${s.hang}; slowest ${slowest} ms; codes ${JSON.stringify(codes)}`);
  }
}
process.exit(s.bad || s.hang ? 1 : 0);
