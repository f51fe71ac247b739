// LZ4 speed and ratio against the real `lz4` CLI on the same input.
// Usage: node --conditions=source --import tsx packages/codecs/bench/lz4-bench.ts [FILE] [BLOCK_KB]
// Without FILE it builds a 48 MB corpus (24 MB of /usr/include as tar + 24 MB
// of /usr/lib/x86_64-linux-gnu as tar) in the system temp directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lz4Decompress, lz4Compress, lz4CompressBound, lz4hcCompress, lz4CompressDestSize, lz4hcCompressDestSize } from '../src/index.js';
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

/** Best time of several runs, in seconds: the machine is shared, the minimum is the stable figure. */
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

// Decoder on blocks made by real liblz4.
const tmp = mkdtempSync(join(tmpdir(), 'lz4b-'));
function cliBlocks(level: number) {
  execFileSync('lz4', [`-${level}`, '-f', '-q', `-B${blockKb <= 64 ? 4 : 5}`, '-BI', file, join(tmp, 'f.lz4')]);
  return parseLz4Frame(new Uint8Array(readFileSync(join(tmp, 'f.lz4')))).blocks;
}
const out = new Uint8Array(input.length);
function decodeAll(blocks: { data: Uint8Array; compressed: boolean }[]): void {
  let d = 0;
  for (const b of blocks) {
    if (!b.compressed) {
      out.set(b.data, d);
      d += b.data.length;
      continue;
    }
    const n = Math.min(blockKb * 1024, input.length - d);
    d += lz4Decompress(b.data, 0, b.data.length, out, d, d + n);
  }
}

const rows: string[] = [];
for (const level of [1, 9]) {
  const cli = cliBench(level);
  const blocks = cliBlocks(level);
  decodeAll(blocks);
  if (Buffer.compare(out, input) !== 0) throw new Error('decode mismatch');
  const sec = time(() => decodeAll(blocks));
  const ours = input.length / sec / MB;
  rows.push(
    `decode lz4 -${level} blocks: ours ${ours.toFixed(0)} MB/s, lz4 -b${level} ${cli?.dec.toFixed(0)} MB/s ` +
      `(${cli ? ((ours / cli.dec) * 100).toFixed(0) : '?'}% of C)`,
  );
}

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
console.log(`input ${file}: ${input.length} bytes, ${blockKb} KiB blocks`);
for (const r of rows) console.log(r);
