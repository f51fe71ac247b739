import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErofsError } from '@erofs/format';
import { microLzmaDecompress, skipZeroPadding } from '../src/index.js';

const encoder = join(import.meta.dirname, 'tools', 'microlzma-encode.py');

/** Runs liblzma's MicroLZMA encoder (the one mkfs.erofs uses) through python3 + ctypes. */
function encode(dir: string, data: Uint8Array, preset: number, dictSize: number, cap: number): { stream: Uint8Array; consumed: number } | undefined {
  writeFileSync(join(dir, 'in'), data);
  const r = spawnSync('python3', [encoder, String(preset), String(dictSize), String(cap), join(dir, 'in'), join(dir, 'out')], { encoding: 'utf8' });
  if (r.status === 2 || r.error) return undefined;
  assert.equal(r.status, 0, r.stderr);
  return { stream: new Uint8Array(readFileSync(join(dir, 'out'))), consumed: Number(r.stdout.trim()) };
}

function text(n: number, seed: number): Uint8Array {
  let x = seed;
  const out = new Uint8Array(n);
  const words = ['erofs ', 'lzma ', 'pcluster ', 'dict_size ', '\n', 'microlzma ', '0x1f ', 'kernel '];
  let i = 0;
  while (i < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    if (x % 7 === 0) out[i++] = x >>> 24;
    else for (const c of words[x % words.length]!) if (i < n) out[i++] = c.charCodeAt(0);
  }
  return out;
}

const probe = spawnSync('python3', ['-c', 'import ctypes.util,ctypes,sys; sys.exit(0 if hasattr(ctypes.CDLL(ctypes.util.find_library("lzma")), "lzma_microlzma_encoder") else 2)']);
const skip = probe.status !== 0 && 'skipped: python3 with liblzma >= 5.4 (MicroLZMA encoder) missing';

test('microlzma: decodes liblzma MicroLZMA streams of EROFS-sized pclusters', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlz-'));
  try {
    const random = new Uint8Array(20_000).map((_, i) => (Math.imul(i, 2654435761) >>> 13) & 0xff);
    const inputs: [string, Uint8Array][] = [
      ['text', text(300_000, 1)],
      ['zeros', new Uint8Array(100_000)],
      ['random', random],
      ['tiny', new Uint8Array([1, 2, 3])],
    ];
    let cases = 0;
    for (const [name, data] of inputs) {
      for (const [preset, dictSize, cap] of [
        [6, 65536, 4096],
        [9, 1 << 20, 16384],
        [1, 8192, 65536],
        [6 | 0x80000000, 32768, 8192], // extreme
      ] as const) {
        const r = encode(dir, data, preset, dictSize, cap)!;
        assert.ok(r.stream.length <= cap);
        const out = new Uint8Array(r.consumed);
        microLzmaDecompress(r.stream, 0, r.stream.length, out, 0, out.length, { dictSize, where: name });
        assert.deepEqual(out, data.subarray(0, r.consumed), `${name} preset ${preset} cap ${cap}`);
        // A prefix with partial decoding, as the kernel does for partial reads.
        const half = new Uint8Array(r.consumed >> 1);
        microLzmaDecompress(r.stream, 0, r.stream.length, half, 0, half.length, { dictSize, partial: true });
        assert.deepEqual(half, data.subarray(0, half.length));
        // Right-aligned behind zero padding, as EROFS stores it.
        const cluster = new Uint8Array(cap);
        cluster.set(r.stream, cap - r.stream.length);
        const start = skipZeroPadding(cluster, 0, cap);
        const again = new Uint8Array(r.consumed);
        microLzmaDecompress(cluster, start, cap, again, 0, again.length, { dictSize });
        assert.deepEqual(again, out);
        cases++;
      }
    }
    assert.equal(cases, 16);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('microlzma: wrong sizes and damaged streams fail with EFSCORRUPTED', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlz-'));
  try {
    const data = text(60_000, 2);
    const { stream, consumed } = encode(dir, data, 6, 65536, 8192)!;
    const corrupt = (e: unknown) => isErofsError(e, 'EFSCORRUPTED');
    const dec = (s: Uint8Array, size: number, partial = false, dictSize?: number) =>
      microLzmaDecompress(s, 0, s.length, new Uint8Array(size), 0, size, { partial, ...(dictSize ? { dictSize } : {}) });
    assert.throws(() => dec(stream, consumed + 1), corrupt, 'output larger than the stream');
    assert.throws(() => dec(stream, consumed - 100), corrupt, 'exact size too small');
    assert.throws(() => dec(stream.subarray(0, stream.length - 1), consumed), corrupt, 'truncated');
    assert.throws(() => dec(stream.subarray(0, 4), 10), corrupt, 'no header');
    const badProps = stream.slice();
    badProps[0] = 0; // ~0 = 255: not a valid lc/lp/pb
    assert.throws(() => dec(badProps, consumed), corrupt, 'bad props');
    assert.throws(() => dec(stream, consumed, false, 16), corrupt, 'distance past a tiny dictionary');
    // Bit flips: a typed error or (rarely) different bytes, never anything else.
    let x = 5;
    for (let i = 0; i < 300; i++) {
      const bad = stream.slice();
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      bad[x % bad.length] ^= 1 << (x >>> 29);
      for (const partial of [false, true]) {
        try {
          dec(bad, consumed, partial);
        } catch (e) {
          assert.ok(corrupt(e), String(e));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
