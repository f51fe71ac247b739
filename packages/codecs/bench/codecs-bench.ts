// Decode speed of the non-LZ4 codecs on 64 KiB pclusters of a corpus, and
// destSize ratios, for the README.
// Usage: node --conditions=source --import tsx packages/codecs/bench/codecs-bench.ts FILE [MB]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as portable from '../src/index.js';
import * as nodeCodecs from '../src/node/index.js';

const file = process.argv[2]!;
const input = new Uint8Array(readFileSync(file)).subarray(0, Number(process.argv[3] ?? 8) * 1e6);
const BS = 65536;
const chunks: Uint8Array[] = [];
for (let i = 0; i < input.length; i += BS) chunks.push(input.subarray(i, Math.min(input.length, i + BS)));

function best(fn: () => void, runs = 3): number {
  let b = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    b = Math.min(b, performance.now() - t);
  }
  return input.length / b / 1e3;
}
const out = new Uint8Array(BS);

// DEFLATE
const defl = chunks.map((c) => new Uint8Array(deflateRawSync(c, { level: 6 })));
const size = (a: Uint8Array[]) => a.reduce((s, x) => s + x.length, 0);
console.log(`deflate -6 ratio ${(input.length / size(defl)).toFixed(3)}`);
console.log(`deflate decode fflate ${best(() => defl.forEach((s, i) => portable.deflateDecompress(s, 0, s.length, out, 0, chunks[i]!.length))).toFixed(0)} MB/s`);
console.log(`deflate decode zlib   ${best(() => defl.forEach((s, i) => nodeCodecs.deflateDecompress(s, 0, s.length, out, 0, chunks[i]!.length))).toFixed(0)} MB/s`);

// ZSTD
const enc = await nodeCodecs.loadZstdEncoder();
let zs: Uint8Array[] = [];
const zc = best(() => (zs = chunks.map((c) => enc.compress(c, 0, c.length, 3))), 1);
console.log(`zstd -3 (wasm) ratio ${(input.length / size(zs)).toFixed(3)} compress ${zc.toFixed(0)} MB/s`);
console.log(`zstd decode fzstd ${best(() => zs.forEach((s, i) => portable.zstdDecompress(s, 0, s.length, out, 0, chunks[i]!.length))).toFixed(0)} MB/s`);

// MicroLZMA via liblzma (python ctypes helper), 64 KiB output pclusters
const dir = mkdtempSync(join(tmpdir(), 'mlzb-'));
const enc1 = join(import.meta.dirname, '..', 'test', 'tools', 'microlzma-encode.py');
const lz: { s: Uint8Array; n: number }[] = [];
for (const c of chunks.slice(0, 64)) {
  writeFileSync(join(dir, 'in'), c);
  const r = spawnSync('python3', [enc1, '6', String(1 << 16), String(BS + 1024), join(dir, 'in'), join(dir, 'out')], { encoding: 'utf8' });
  lz.push({ s: new Uint8Array(readFileSync(join(dir, 'out'))), n: Number(r.stdout) });
}
const lzIn = lz.reduce((s, x) => s + x.n, 0);
console.log(`microlzma ratio ${(lzIn / lz.reduce((s, x) => s + x.s.length, 0)).toFixed(3)} (${lz.length} pclusters of 64 KiB)`);
// TypeScript vs WebAssembly (microLzmaDecompress), interleaved; wall and CPU time, best/median of 7.
const lzImpls: [string, typeof portable.microLzmaDecompress][] = [
  ['ts', portable.microLzmaDecompressJs],
  ['wasm', portable.microLzmaDecompress],
];
if (!portable.microLzmaWasmAvailable()) console.log('microlzma: WebAssembly unavailable, "wasm" is the TypeScript fallback');
const lzWall: number[][] = [[], []];
const lzCpu: number[][] = [[], []];
for (let r = 0; r < 7; r++) {
  lzImpls.forEach(([, fn], k) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const { s, n } of lz) fn(s, 0, s.length, out, 0, n, { dictSize: 1 << 16 });
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    lzWall[k]!.push(lzIn / t / 1e3);
    lzCpu[k]!.push(lzIn / (c.user + c.system));
  });
}
const desc = (a: number[]) => [...a].sort((x, y) => y - x);
lzImpls.forEach(([name], k) => {
  const w = desc(lzWall[k]!);
  const c = desc(lzCpu[k]!);
  console.log(
    `microlzma decode ${name.padEnd(4)}: wall best ${w[0]!.toFixed(1)} median ${w[3]!.toFixed(1)} MB/s; ` +
      `cpu best ${c[0]!.toFixed(1)} median ${c[3]!.toFixed(1)} MB/s`,
  );
});
