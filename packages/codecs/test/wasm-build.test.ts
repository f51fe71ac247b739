// The WebAssembly modules are committed as generated TypeScript
// (src/*-wasm-binary.ts); CI has no clang, so it cannot rebuild them. Where
// clang and wasm-ld of the same major version as the committed build are
// installed, rebuild and require identical output, so the binaries cannot
// drift from wasm/*.c; elsewhere skip with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LZ4_WASM_CLANG_MAJOR } from '../src/lz4-wasm-binary.js';
import { LZ4ENC_WASM_CLANG_MAJOR } from '../src/lz4enc-wasm-binary.js';
import { MICROLZMA_WASM_CLANG_MAJOR } from '../src/microlzma-wasm-binary.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function clangMajor(): number | undefined {
  const r = spawnSync(process.env.CLANG ?? 'clang', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const m = /clang version (\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

const major = clangMajor();
const hasWasmLd = spawnSync('wasm-ld', ['--version']).status === 0;
const skip =
  major === undefined
    ? 'skipped: clang not installed (apt-get install -y clang lld)'
    : !hasWasmLd
      ? 'skipped: wasm-ld not installed (apt-get install -y lld)'
      : major !== LZ4_WASM_CLANG_MAJOR || major !== LZ4ENC_WASM_CLANG_MAJOR || major !== MICROLZMA_WASM_CLANG_MAJOR
        ? `skipped: clang ${major} installed, the binaries were built with clang ${LZ4_WASM_CLANG_MAJOR}`
        : false;

test('wasm: the committed binaries are what wasm/build.sh makes from wasm/*.c', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-build-'));
  try {
    execFileSync('sh', [join(pkgDir, 'wasm/build.sh'), dir], { stdio: 'pipe' });
    for (const name of ['lz4-wasm-binary.ts', 'lz4enc-wasm-binary.ts', 'microlzma-wasm-binary.ts']) {
      const built = readFileSync(join(dir, name), 'utf8');
      const committed = readFileSync(join(pkgDir, 'src', name), 'utf8');
      assert.ok(built === committed, `src/${name} is stale: run sh packages/codecs/wasm/build.sh`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
