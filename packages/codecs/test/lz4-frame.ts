// Test and bench helper (not shipped): just enough of the LZ4 frame format to
// pull raw blocks out of `lz4` CLI output and to wrap our own raw blocks so
// that `lz4 -d` (real liblz4) can judge them.

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}
function read32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** XXH32, needed for the frame header checksum byte. */
export function xxh32(b: Uint8Array, seed = 0): number {
  const len = b.length;
  let i = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) >>> 0;
    let v2 = (seed + PRIME2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - PRIME1) >>> 0;
    const round = (v: number, x: number) => Math.imul(rotl((v + Math.imul(x, PRIME2)) >>> 0, 13), PRIME1) >>> 0;
    while (i + 16 <= len) {
      v1 = round(v1, read32(b, i));
      v2 = round(v2, read32(b, i + 4));
      v3 = round(v3, read32(b, i + 8));
      v4 = round(v4, read32(b, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + PRIME5) >>> 0;
  }
  h = (h + len) >>> 0;
  while (i + 4 <= len) {
    h = Math.imul(rotl((h + Math.imul(read32(b, i), PRIME3)) >>> 0, 17), PRIME4) >>> 0;
    i += 4;
  }
  while (i < len) {
    h = Math.imul(rotl((h + Math.imul(b[i]!, PRIME5)) >>> 0, 11), PRIME1) >>> 0;
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export interface FrameBlock {
  /** The block bytes as stored (raw LZ4 block, or plain data when !compressed). */
  data: Uint8Array;
  compressed: boolean;
}

/** Splits an LZ4 frame into its blocks (independent blocks expected). */
export function parseLz4Frame(frame: Uint8Array): { blockMaxSize: number; blocks: FrameBlock[] } {
  if (read32(frame, 0) !== 0x184d2204) throw new Error('not an LZ4 frame');
  const flg = frame[4]!;
  const bd = frame[5]!;
  let p = 6;
  if (flg & 0x08) p += 8; // content size
  if (flg & 0x01) p += 4; // dict id
  p += 1; // header checksum
  const blockChecksum = (flg & 0x10) !== 0;
  const blockMaxSize = 1 << (8 + 2 * ((bd >> 4) & 7));
  const blocks: FrameBlock[] = [];
  for (;;) {
    const word = read32(frame, p);
    p += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    blocks.push({ data: frame.subarray(p, p + size), compressed: (word & 0x80000000) === 0 });
    p += size;
    if (blockChecksum) p += 4;
  }
  return { blockMaxSize, blocks };
}

/**
 * Wraps raw blocks into a frame liblz4 accepts: independent blocks, 4 MB max
 * block size, no checksums beyond the mandatory header byte.
 */
export function buildLz4Frame(blocks: FrameBlock[]): Uint8Array {
  let total = 7 + 4;
  for (const b of blocks) total += 4 + b.data.length;
  const out = new Uint8Array(total);
  out.set([0x04, 0x22, 0x4d, 0x18], 0);
  out[4] = 0x60; // version 01, independent blocks
  out[5] = 0x70; // 4 MB blocks
  out[6] = (xxh32(out.subarray(4, 6)) >>> 8) & 0xff;
  let p = 7;
  for (const b of blocks) {
    const word = (b.data.length | (b.compressed ? 0 : 0x80000000)) >>> 0;
    out[p] = word & 0xff;
    out[p + 1] = (word >>> 8) & 0xff;
    out[p + 2] = (word >>> 16) & 0xff;
    out[p + 3] = word >>> 24;
    out.set(b.data, p + 4);
    p += 4 + b.data.length;
  }
  return out; // trailing 4 zero bytes are the end mark
}
