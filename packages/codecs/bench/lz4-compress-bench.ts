// LZ4/LZ4HC compressor speed and ratio: WebAssembly (lz4Compress*, as the
// writer calls them) against the TypeScript fallback (lz4*Js) and the `lz4`
// CLI's own benchmark (`lz4 -bN -B4`, 64 KiB blocks) on the same file.
// Ordinary blocks of 64 KiB, and destSize pclusters of 4 KiB / 16 KiB filled
// from one 4 MiB segment after another, as the writer does.
// Usage: [MIN_MS=1500] node --conditions=source --import tsx packages/codecs/bench/lz4-compress-bench.ts FILE
// CPU time is process.cpuUsage (user + system) of the best round.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  lz4Compress, lz4CompressBound, lz4CompressDestSize, lz4CompressDestSizeJs, lz4CompressJs,
  lz4hcCompress, lz4hcCompressDestSize, lz4hcCompressDestSizeJs, lz4hcCompressJs,
} from '../src/index.js';

const input = new Uint8Array(readFileSync(process.argv[2]!));
const MIN_MS = Number(process.env['MIN_MS'] ?? 1500);
const MB = 1e6;

function best(fn: () => number): { wall: number; cpu: number; out: number } {
  let out = fn();
  let wall = Infinity;
  let cpu = Infinity;
  const t0 = performance.now();
  do {
    const c = process.cpuUsage();
    const t = performance.now();
    out = fn();
    wall = Math.min(wall, performance.now() - t);
    const u = process.cpuUsage(c);
    cpu = Math.min(cpu, (u.user + u.system) / 1000);
  } while (performance.now() - t0 < MIN_MS);
  return { wall: wall / 1000, cpu: cpu / 1000, out };
}

const dst = new Uint8Array(lz4CompressBound(65536) + 64);
function blocks(f: (s: Uint8Array, a: number, b: number, d: Uint8Array, ds: number, de: number) => number): number {
  let out = 0;
  for (let o = 0; o < input.length; o += 65536) out += f(input, o, Math.min(input.length, o + 65536), dst, 0, dst.length);
  return out;
}
function dest(cap: number, f: (s: Uint8Array, a: number, b: number, d: Uint8Array, c: number) => { consumed: number; written: number }): number {
  let out = 0;
  const seg = 4 << 20;
  for (let s = 0; s < input.length; s += seg) {
    const end = Math.min(input.length, s + seg);
    for (let o = s; o < end; ) {
      const r = f(input, o, end, dst, cap);
      out += Math.ceil(r.written / 4096) * 4096;
      o += r.consumed;
    }
  }
  return out;
}
function cli(level: number): string {
  const r = spawnSync('lz4', [`-b${level}`, '-B4', process.argv[2]!], { encoding: 'utf8' });
  const m = [...(r.stdout + r.stderr).replace(/\r/g, '\n').matchAll(/\(\s*([\d.]+)\),\s*([\d.]+) MB\/s/g)].pop();
  return m ? `ratio ${m[1]} at ${m[2]} MB/s (wall)` : 'lz4 CLI not available';
}

console.log(`${input.length / MB} MB, load average ${loadavg()[0]!.toFixed(1)}`);
const row = (name: string, r: { wall: number; cpu: number; out: number }) =>
  console.log(`${name.padEnd(34)} ratio ${(input.length / r.out).toFixed(3)}  wall ${(input.length / MB / r.wall).toFixed(0).padStart(4)} MB/s  cpu ${(input.length / MB / r.cpu).toFixed(0).padStart(4)} MB/s`);
row('fast 64K wasm', best(() => blocks(lz4Compress)));
row('fast 64K ts', best(() => blocks(lz4CompressJs)));
console.log(`lz4 -b1: ${cli(1)}`);
for (const level of [1, 4, 9, 12]) {
  row(`hc${level} 64K wasm`, best(() => blocks((s, a, b, d, ds, de) => lz4hcCompress(s, a, b, d, ds, de, level))));
  if (level === 9) row(`hc${level} 64K ts`, best(() => blocks((s, a, b, d, ds, de) => lz4hcCompressJs(s, a, b, d, ds, de, level))));
  console.log(`lz4 -b${level}: ${cli(level)}`);
}
for (const cap of [4096, 16384]) {
  row(`destSize fast ${cap / 1024}K wasm`, best(() => dest(cap, lz4CompressDestSize)));
  row(`destSize fast ${cap / 1024}K ts`, best(() => dest(cap, lz4CompressDestSizeJs)));
  row(`destSize hc9 ${cap / 1024}K wasm`, best(() => dest(cap, (s, a, b, d, c) => lz4hcCompressDestSize(s, a, b, d, c, 9))));
  row(`destSize hc9 ${cap / 1024}K ts`, best(() => dest(cap, (s, a, b, d, c) => lz4hcCompressDestSizeJs(s, a, b, d, c, 9))));
}
