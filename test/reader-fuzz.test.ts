/**
 * Seeded bit-flip fuzzing: mutated fixture images, walked and read through
 * the library from memory, may fail only with ErofsError, never hang.
 * Bounded to fit in about a minute; bench/reader-fuzz.mjs runs long campaigns.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { imagePath } from './lib/fixtures.js';
import { fuzzCase } from './reader-helpers.js';

const IMAGES = ['blk512.erofs', 'chunk-8k.erofs', 'lz4-ztailpacking.erofs', 'xattr-prefix.erofs', 'lz4-compressed-dirs.erofs', 'metabox-lz4.erofs', 'dot-omitted.erofs', 'lz4-fragments-dedupe.erofs'];
const BUDGET_MS = Number(process.env.READER_FUZZ_MS ?? 50_000);

test('bit-flip fuzz: only typed errors, no hangs', { timeout: BUDGET_MS + 60_000 }, async () => {
  const images = IMAGES.map((f) => new Uint8Array(readFileSync(imagePath(f))));
  const end = Date.now() + BUDGET_MS;
  const stats = { cases: 0, ok: 0, typed: 0 };
  const failures: string[] = [];
  for (let seed = 1; Date.now() < end; seed++) {
    const o = await fuzzCase(images[seed % images.length]!, seed, 5000);
    stats.cases++;
    if (o.kind === 'ok') stats.ok++;
    else if (o.kind === 'typed') stats.typed++;
    else failures.push(`${IMAGES[seed % images.length]} ${o.kind}: ${o.detail}`);
    if (failures.length >= 10) break;
  }
  console.log(`reader fuzz: ${stats.cases} cases, ${stats.ok} read cleanly, ${stats.typed} ended in typed errors, ${failures.length} failures`);
  assert.ok(stats.cases >= 50, `only ${stats.cases} cases ran`);
  assert.deepEqual(failures, []);
});
