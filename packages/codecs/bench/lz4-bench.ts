// LZ4 speed and ratio against the real `lz4` CLI on the same input.
// Usage: [REPS=15] [REPS_CLI=3] [DECODE_ONLY=1] node --conditions=source --import tsx packages/codecs/bench/lz4-bench.ts [FILE] [BLOCK_KB]
// Without FILE it builds a 48 MB corpus (24 MB of /usr/include as tar + 24 MB
// of /usr/lib/x86_64-linux-gnu as tar) in the system temp directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lz4Decompress, lz4DecompressJs, lz4DecompressWasm, lz4WasmAvailable, LZ4_WASM_THRESHOLD, lz4Compress, lz4CompressBound, lz4hcCompress, lz4CompressDestSize, lz4hcCompressDestSize } from '../src/index.js';
import { parseLz4Frame } from '../test/lz4-frame.js';

const file = process.argv[2] ?? makeCorpus();
const blockKb = Number(process.argv[3] ?? 64);
const input = new Uint8Array(readFileSync(file));
const MB = 1e6;

function makeCorpus(): string {
  const p = join(tmpdir(), 'erofs-codecs-bench.bin');
  if (existsSync(p)) return p;
  const part = (dir: string) =>
    execFileSync('sh', ['-c', `tar cf - -C /usr ${dir} 2>/dev/null | head -c 24000000`], { maxBuffer: 1 << 26 });
  writeFileSync(p, Buffer.concat([part('include'), part('lib/x86_64-linux-gnu')]));
  return p;
}

function cliBench(level: number): { ratio: number; comp: number; dec: number } | undefined {
  const r = spawnSync('lz4', [`-b${level}`, `-B${blockKb <= 64 ? 4 : blockKb <= 256 ? 5 : 6}`, file], { encoding: 'utf8' });
  const text = (r.stdout + r.stderr).replace(/\r/g, '\n');
  const m = [...text.matchAll(/\(\s*([\d.]+)\),\s*([\d.]+) MB\/s ,\s*([\d.]+) MB\/s/g)].pop();
  if (!m) return undefined;
  return { ratio: Number(m[1]), comp: Number(m[2]), dec: Number(m[3]) };
}

/** Best time of several runs, in seconds (compressors): the machine is shared, the minimum is the stable figure. */
function time(fn: () => void, minMs = 1500): number {
  fn();
  let best = Infinity;
  const t0 = performance.now();
  do {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  } while (performance.now() - t0 < minMs);
  return best / 1000;
}

// Decoders on blocks made by real liblz4: TypeScript, WebAssembly (through
// lz4Decompress, as the reader calls it) and the CLI, interleaved in one run
// because the machine is shared. Wall-clock and CPU-time figures, best and
// median of REPS rounds (default 15); the CLI's own benchmark is run REPS_CLI
// times (default 3) between our rounds.
const REPS = Number(process.env.REPS ?? 15);
const REPS_CLI = Number(process.env.REPS_CLI ?? 3);
const tmp = mkdtempSync(join(tmpdir(), 'lz4b-'));
function cliBlocks(level: number) {
  execFileSync('lz4', [`-${level}`, '-f', '-q', `-B${blockKb <= 64 ? 4 : 5}`, '-BI', file, join(tmp, 'f.lz4')]);
  return parseLz4Frame(new Uint8Array(readFileSync(join(tmp, 'f.lz4')))).blocks;
}
type Decode = (s: Uint8Array, a: number, b: number, d: Uint8Array, c: number, e: number) => number;
const out = new Uint8Array(input.length);
function decodeAll(blocks: { data: Uint8Array; compressed: boolean }[], decode: Decode): void {
  let d = 0;
  for (const b of blocks) {
    if (!b.compressed) {
      out.set(b.data, d);
      d += b.data.length;
      continue;
    }
    const n = Math.min(blockKb * 1024, input.length - d);
    d += decode(b.data, 0, b.data.length, out, d, d + n);
  }
}
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const best = (a: number[]) => sorted(a)[0]!;
const median = (a: number[]) => sorted(a)[a.length >> 1]!;
const f0 = (x: number) => x.toFixed(0);

const rows: string[] = [];
const loadBefore = loadavg()[0]!;
if (!lz4WasmAvailable()) rows.push('WebAssembly decoder unavailable: "wasm" below is the TypeScript fallback');
for (const level of [1, 9]) {
  const blocks = cliBlocks(level);
  const impls: [string, Decode][] = [
    ['ts', lz4DecompressJs],
    ['wasm', lz4Decompress],
  ];
  const wall: number[][] = impls.map(() => []);
  const cpu: number[][] = impls.map(() => []);
  const cli: number[] = [];
  for (const [, fn] of impls) {
    out.fill(0);
    decodeAll(blocks, fn);
    if (Buffer.compare(out, input) !== 0) throw new Error('decode mismatch');
  }
  for (let r = 0; r < REPS; r++) {
    impls.forEach(([, fn], k) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      decodeAll(blocks, fn);
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      wall[k]!.push(input.length / (t / 1000) / MB);
      cpu[k]!.push(input.length / ((c.user + c.system) / 1e6) / MB);
    });
    if (r % Math.max(1, Math.floor(REPS / REPS_CLI)) === 0 && cli.length < REPS_CLI) {
      const x = cliBench(level);
      if (x) cli.push(x.dec);
    }
  }
  // MB/s lists: best is the largest.
  const hi = (a: number[]) => -best(a.map((x) => -x));
  const med = (a: number[]) => median(a);
  impls.forEach(([name], k) => {
    rows.push(
      `decode lz4 -${level} blocks, ${name.padEnd(4)}: wall best ${f0(hi(wall[k]!))} median ${f0(med(wall[k]!))} MB/s; ` +
        `cpu best ${f0(hi(cpu[k]!))} median ${f0(med(cpu[k]!))} MB/s`,
    );
  });
  if (cli.length) {
    rows.push(`decode lz4 -${level} blocks, lz4 -b${level} (C): best ${f0(hi(cli))} median ${f0(med(cli))} MB/s (${cli.length} runs)`);
    rows.push(
      `  ratios (wall best): wasm/ts ${(hi(wall[1]!) / hi(wall[0]!)).toFixed(2)}, wasm/C ${(hi(wall[1]!) / hi(cli)).toFixed(2)}, ` +
        `ts/C ${(hi(wall[0]!) / hi(cli)).toFixed(2)}`,
    );
  } else {
    rows.push(`  ratio (wall best): wasm/ts ${(hi(wall[1]!) / hi(wall[0]!)).toFixed(2)}; lz4 CLI missing`);
  }
}

// Small windows: where the wasm call and copies stop paying off. Blocks of
// the corpus compressed by our fast compressor; nanoseconds per call.
if (lz4WasmAvailable()) {
  const sizes = [32, 64, 256, 1024, 4096, 65536];
  const parts: string[] = [];
  for (const size of sizes) {
    const count = Math.min(2000, Math.floor(4_000_000 / size));
    const blocks: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const off = (i * 7919 * size) % (input.length - size);
      const dst = new Uint8Array(lz4CompressBound(size));
      blocks.push(dst.slice(0, lz4Compress(input, off, off + size, dst, 0, dst.length)));
    }
    const o = new Uint8Array(size);
    const ns: Record<'ts' | 'wasm', number[]> = { ts: [], wasm: [] };
    for (let r = 0; r < 25; r++) {
      let c = process.cpuUsage();
      for (const b of blocks) lz4DecompressJs(b, 0, b.length, o, 0, size);
      let u = process.cpuUsage(c);
      ns.ts.push(((u.user + u.system) * 1000) / count);
      c = process.cpuUsage();
      for (const b of blocks) lz4DecompressWasm(b, 0, b.length, o, 0, size, false, undefined);
      u = process.cpuUsage(c);
      ns.wasm.push(((u.user + u.system) * 1000) / count);
    }
    parts.push(`${size} B: ts ${f0(median(ns.ts))} / wasm ${f0(median(ns.wasm))}`);
  }
  rows.push(`small windows, median cpu ns per call (lz4Decompress uses wasm from ${LZ4_WASM_THRESHOLD} B): ${parts.join('; ')}`);
}
rows.push(`load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after the decode benchmarks`);

// Compressors (skipped with DECODE_ONLY=1).
if (!process.env.DECODE_ONLY) {
  // Compressors: per-block ratio and speed.
  const bs = blockKb * 1024;
  const cbuf = new Uint8Array(lz4CompressBound(bs));
  function compressAll(fn: (s: Uint8Array, a: number, b: number) => number): number {
    let total = 0;
    for (let i = 0; i < input.length; i += bs) total += fn(input, i, Math.min(input.length, i + bs));
    return total;
  }
  const modes: [string, number, (s: Uint8Array, a: number, b: number) => number][] = [
    ['fast', 1, (s, a, b) => lz4Compress(s, a, b, cbuf, 0, cbuf.length)],
    ['hc9', 9, (s, a, b) => lz4hcCompress(s, a, b, cbuf, 0, cbuf.length, 9)],
    ['hc12', 12, (s, a, b) => lz4hcCompress(s, a, b, cbuf, 0, cbuf.length, 12)],
  ];
  for (const [name, level, fn] of modes) {
    const cli = cliBench(level);
    let size = 0;
    const sec = time(() => {
      size = compressAll(fn);
    }, level === 12 ? 1 : 1500);
    rows.push(
      `compress ${name}: ratio ${(input.length / size).toFixed(3)} at ${(input.length / sec / MB).toFixed(1)} MB/s; ` +
        `lz4 -b${level}: ratio ${cli?.ratio.toFixed(3)} at ${cli?.comp.toFixed(1)} MB/s`,
    );
  }

  // destSize (EROFS pclusters of 4 KiB, 16 KiB): how much input fits.
  for (const pcluster of [4096, 16384]) {
    const dst = new Uint8Array(pcluster);
    for (const [name, fn] of [
      ['fast', (i: number) => lz4CompressDestSize(input, i, input.length, dst, pcluster)],
      ['hc9', (i: number) => lz4hcCompressDestSize(input, i, input.length, dst, pcluster, 9)],
    ] as const) {
      let clusters = 0;
      const sec = time(() => {
        clusters = 0;
        for (let i = 0; i < input.length; ) {
          const r = fn(i);
          i += r.consumed;
          clusters++;
        }
      }, 1);
      rows.push(
        `destSize ${name} pcluster ${pcluster}: ratio ${(input.length / (clusters * pcluster)).toFixed(3)} ` +
          `(${clusters} clusters) at ${(input.length / sec / MB).toFixed(1)} MB/s`,
      );
    }
  }
}
console.log(`input ${file}: ${input.length} bytes, ${blockKb} KiB blocks`);
for (const r of rows) console.log(r);
