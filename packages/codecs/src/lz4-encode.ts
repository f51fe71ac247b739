/**
 * LZ4 block compressors: a fast greedy one (hash table, like LZ4's default
 * level) and an HC one (hash chains with lazy matching, like LZ4HC), each in
 * an ordinary mode and a "destSize" mode.
 *
 * destSize is what mkfs.erofs uses: a physical cluster has a fixed size, so
 * the question is not "how small does this input get" but "how much input
 * fits in this many bytes". The compressor stops when the next sequence would
 * not fit and reports how many input bytes the block encodes.
 *
 * Every block obeys the rules liblz4's decoder enforces, so real liblz4 (and
 * the kernel) accept it: the last sequence is literals only, at least
 * LAST_LITERALS bytes long; the last match starts at least MF_LIMIT bytes
 * before the end of the block; offsets are 1..65535.
 */
import { badArgument, checkRange } from './errors.js';
import { lz4CompressWasm } from './lz4-encode-wasm.js';

/** Minimum match length of the format. */
const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
/** A match may not start within the last 12 bytes of a block. */
const MF_LIMIT = 12;
/** Blocks shorter than this are stored as one literal run. */
const MIN_INPUT = MF_LIMIT + 1;
/** Largest distance a 16-bit offset can express. */
const MAX_DISTANCE = 65535;
/**
 * Room kept free behind every sequence in destSize mode: a token plus 12
 * literals, so that a final literal run cut short by the capacity is still
 * long enough for both end-of-block rules whatever the last match length.
 */
const DEST_RESERVE = 1 + MF_LIMIT;

/** Worst-case size of an LZ4 block for `n` input bytes (LZ4_COMPRESSBOUND). */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/** Result of a destSize compression. */
export interface DestSizeResult {
  /** Input bytes the block encodes, counted from `srcStart`. */
  consumed: number;
  /** Bytes written to `dst`, never more than the capacity asked for. */
  written: number;
}

function extBytes(n: number): number {
  return n >= 15 ? 1 + Math.floor((n - 15) / 255) : 0;
}

/** Bytes a sequence of `litLen` literals and a match of `matchLen` takes. */
function sequenceCost(litLen: number, matchLen: number): number {
  return 1 + extBytes(litLen) + litLen + 2 + extBytes(matchLen - MIN_MATCH);
}

/** Largest literal-only run that fits in `room` bytes (token included). */
function maxFinalLiterals(room: number): number {
  if (room < 1) return -1;
  let n = room - 1 - extBytes(room - 1);
  if (n < 0) n = 0;
  while (1 + extBytes(n + 1) + n + 1 <= room) n++;
  while (n > 0 && 1 + extBytes(n) + n > room) n--;
  return n;
}

function writeLength(dst: Uint8Array, op: number, n: number): number {
  // n >= 15 was already folded into the token as 15.
  n -= 15;
  while (n >= 255) {
    dst[op++] = 255;
    n -= 255;
  }
  dst[op++] = n;
  return op;
}

/** Writes one sequence; the caller has checked that it fits. */
function writeSequence(
  dst: Uint8Array,
  op: number,
  src: Uint8Array,
  anchor: number,
  litLen: number,
  offset: number,
  matchLen: number,
): number {
  const ml = matchLen - MIN_MATCH;
  const tokenPos = op++;
  let token = (ml >= 15 ? 15 : ml) | ((litLen >= 15 ? 15 : litLen) << 4);
  if (litLen >= 15) op = writeLength(dst, op, litLen);
  if (litLen > 16) {
    dst.set(src.subarray(anchor, anchor + litLen), op);
    op += litLen;
  } else {
    for (let i = 0; i < litLen; i++) dst[op++] = src[anchor + i]!;
  }
  dst[op++] = offset & 0xff;
  dst[op++] = offset >>> 8;
  if (ml >= 15) op = writeLength(dst, op, ml);
  dst[tokenPos] = token;
  return op;
}

function writeLastLiterals(dst: Uint8Array, op: number, src: Uint8Array, anchor: number, litLen: number): number {
  dst[op++] = (litLen >= 15 ? 15 : litLen) << 4;
  if (litLen >= 15) op = writeLength(dst, op, litLen);
  dst.set(src.subarray(anchor, anchor + litLen), op);
  return op + litLen;
}

/**
 * Collects sequences and applies the capacity policy: in destSize mode a
 * sequence that does not fit is shortened or dropped and the block ends; in
 * ordinary mode running out of room makes the whole call fail.
 */
class BlockWriter {
  op: number;
  full = false;
  constructor(
    readonly src: Uint8Array,
    readonly dst: Uint8Array,
    readonly dstStart: number,
    readonly dstEnd: number,
    readonly destSize: boolean,
  ) {
    this.op = dstStart;
  }

  /**
   * Emits literals [anchor, matchPos) and a match; returns the match length
   * actually written (possibly shortened in destSize mode), or 0 when the
   * block is full and must end at `anchor`.
   */
  sequence(anchor: number, matchPos: number, offset: number, matchLen: number): number {
    const litLen = matchPos - anchor;
    const reserve = this.destSize ? DEST_RESERVE : 0;
    const room = this.dstEnd - this.op - reserve;
    if (sequenceCost(litLen, matchLen) > room) {
      if (!this.destSize) {
        this.full = true;
        return 0;
      }
      // Shorten the match to what still fits, if a minimal one does.
      let ml = matchLen;
      const base = 1 + extBytes(litLen) + litLen + 2;
      if (base > room) {
        this.full = true;
        return 0;
      }
      const extRoom = room - base;
      if (extRoom === 0) ml = Math.min(ml, MIN_MATCH + 14);
      else ml = Math.min(ml, MIN_MATCH + 15 + (extRoom - 1) * 255 + 254);
      this.op = writeSequence(this.dst, this.op, this.src, anchor, litLen, offset, ml);
      this.full = true;
      return ml;
    }
    this.op = writeSequence(this.dst, this.op, this.src, anchor, litLen, offset, matchLen);
    return matchLen;
  }

  /** Ends the block with literals from `anchor`; returns the input end encoded, or -1. */
  finish(anchor: number, srcEnd: number): number {
    const want = srcEnd - anchor;
    const room = this.dstEnd - this.op;
    let n = want;
    if (1 + extBytes(want) + want > room) {
      if (!this.destSize) return -1;
      n = maxFinalLiterals(room);
      if (n < 0) return -1;
    }
    this.op = writeLastLiterals(this.dst, this.op, this.src, anchor, n);
    return anchor + n;
  }
}

function read32(v: DataView, i: number): number {
  return v.getUint32(i, true);
}

/** Length of the common run of src[a..] and src[b..], stopping before `limit` (for a). */
function commonLength(src: Uint8Array, v: DataView, a: number, b: number, limit: number): number {
  const start = a;
  while (a + 4 <= limit && v.getUint32(a, true) === v.getUint32(b, true)) {
    a += 4;
    b += 4;
  }
  while (a < limit && src[a] === src[b]) {
    a++;
    b++;
  }
  return a - start;
}

const FAST_HASH_LOG = 12;
let fastTable: Int32Array | undefined;

function hash4(x: number, bits: number): number {
  return Math.imul(x, 2654435761) >>> (32 - bits);
}

/** The greedy compressor shared by lz4Compress and lz4CompressDestSize. */
function compressFast(w: BlockWriter, src: Uint8Array, srcStart: number, srcEnd: number): number {
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let anchor = srcStart;
  if (srcEnd - srcStart >= MIN_INPUT) {
    const table = (fastTable ??= new Int32Array(1 << FAST_HASH_LOG));
    table.fill(-1);
    const mfLimit = srcEnd - MF_LIMIT;
    const matchLimit = srcEnd - LAST_LITERALS;
    let ip = srcStart;
    outer: for (;;) {
      // Search with a step that grows on incompressible data, like LZ4's
      // acceleration, so random input costs little time.
      let searches = 1 << 6;
      let ref: number;
      for (;;) {
        if (ip > mfLimit) break outer;
        const seq = read32(v, ip);
        const h = hash4(seq, FAST_HASH_LOG);
        ref = table[h]!;
        table[h] = ip;
        if (ref >= 0 && ip - ref <= MAX_DISTANCE && read32(v, ref) === seq) break;
        ip += searches++ >>> 6;
      }
      // Extend backwards into the pending literals.
      while (ip > anchor && ref > srcStart && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      for (;;) {
        const len = MIN_MATCH + commonLength(src, v, ip + MIN_MATCH, ref + MIN_MATCH, matchLimit);
        const wrote = w.sequence(anchor, ip, ip - ref, len);
        if (wrote === 0) break outer;
        ip += wrote;
        anchor = ip;
        if (w.full || ip > mfLimit) break outer;
        // Keep the table fresh just behind ip, then try an immediate match.
        table[hash4(read32(v, ip - 2), FAST_HASH_LOG)] = ip - 2;
        const seq = read32(v, ip);
        const h = hash4(seq, FAST_HASH_LOG);
        ref = table[h]!;
        table[h] = ip;
        if (ref >= 0 && ip - ref <= MAX_DISTANCE && read32(v, ref) === seq) continue;
        ip++;
        break;
      }
    }
  }
  return w.finish(anchor, srcEnd);
}

/**
 * Compresses `src[srcStart, srcEnd)` into one raw LZ4 block at
 * `dst[dstStart, dstEnd)` with the fast greedy matcher.
 *
 * @returns bytes written, or 0 when the block does not fit (size the output
 *   with {@link lz4CompressBound} to rule that out).
 */
export function lz4Compress(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
): number {
  checkRange('lz4', 'input', src, srcStart, srcEnd);
  checkRange('lz4', 'output', dst, dstStart, dstEnd);
  const r = lz4CompressWasm(src, srcStart, srcEnd, dst, dstStart, dstEnd - dstStart, false, 0);
  if (r) return r.written;
  return lz4CompressJs(src, srcStart, srcEnd, dst, dstStart, dstEnd);
}

/** {@link lz4Compress} in TypeScript only (the fallback when WebAssembly is unavailable). */
export function lz4CompressJs(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
): number {
  checkRange('lz4', 'input', src, srcStart, srcEnd);
  checkRange('lz4', 'output', dst, dstStart, dstEnd);
  const w = new BlockWriter(src, dst, dstStart, dstEnd, false);
  const end = compressFast(w, src, srcStart, srcEnd);
  return end === srcEnd && !w.full ? w.op - dstStart : 0;
}

/**
 * Fills at most `dstCapacity` bytes of `dst` (from index 0) with one LZ4
 * block holding as much of `src[srcStart, srcEnd)` as fits, using the fast
 * matcher (LZ4_compress_destSize). The block decodes to exactly `consumed`
 * bytes.
 */
export function lz4CompressDestSize(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstCapacity: number,
): DestSizeResult {
  checkRange('lz4', 'input', src, srcStart, srcEnd);
  checkRange('lz4', 'output', dst, 0, dstCapacity);
  if (dstCapacity < 1) throw badArgument('lz4', 'destSize needs room for at least one byte');
  return (
    lz4CompressWasm(src, srcStart, srcEnd, dst, 0, dstCapacity, true, 0) ??
    lz4CompressDestSizeJs(src, srcStart, srcEnd, dst, dstCapacity)
  );
}

/** {@link lz4CompressDestSize} in TypeScript only. */
export function lz4CompressDestSizeJs(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstCapacity: number,
): DestSizeResult {
  checkRange('lz4', 'input', src, srcStart, srcEnd);
  checkRange('lz4', 'output', dst, 0, dstCapacity);
  if (dstCapacity < 1) throw badArgument('lz4', 'destSize needs room for at least one byte');
  const w = new BlockWriter(src, dst, 0, dstCapacity, true);
  const end = compressFast(w, src, srcStart, srcEnd);
  return { consumed: end - srcStart, written: w.op };
}

// ---------------------------------------------------------------- HC

const HC_HASH_LOG = 15;
const HC_CHAIN_SIZE = 1 << 16;

/** Search effort per level: chain steps and lazy look-ahead depth. */
interface HcParams {
  attempts: number;
  lazy: number;
  /** Stop searching once a match this long is found. */
  niceLength: number;
}

function hcParams(level: number): HcParams {
  if (!Number.isInteger(level) || level < 1 || level > 12) throw badArgument('lz4hc', `level ${level} not in 1..12`);
  if (level <= 2) return { attempts: level, lazy: 0, niceLength: 64 };
  if (level <= 9) return { attempts: 1 << (level - 1), lazy: 1, niceLength: 1 << 12 };
  // liblz4 switches to an optimal parser here; deeper lazy search over
  // longer chains gets most of that gain at a bounded cost.
  if (level === 10) return { attempts: 512, lazy: 2, niceLength: 1 << 16 };
  if (level === 11) return { attempts: 1024, lazy: 2, niceLength: 1 << 16 };
  return { attempts: 4096, lazy: 2, niceLength: 1 << 16 };
}

let hcHead: Int32Array | undefined;
let hcChain: Uint16Array | undefined;

/** Hash chains over one block: head[hash] is the newest position, chain[pos] the step back. */
class HcMatcher {
  readonly head: Int32Array;
  readonly chain: Uint16Array;
  nextToInsert: number;
  readonly v: DataView;
  bestLen = 0;
  bestRef = 0;

  constructor(
    readonly src: Uint8Array,
    readonly srcStart: number,
    readonly p: HcParams,
  ) {
    this.head = hcHead ??= new Int32Array(1 << HC_HASH_LOG);
    this.chain = hcChain ??= new Uint16Array(HC_CHAIN_SIZE);
    this.head.fill(-1);
    this.nextToInsert = srcStart;
    this.v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  }

  private insertUpTo(ip: number): void {
    const { head, chain, v } = this;
    for (let i = this.nextToInsert; i < ip; i++) {
      const h = hash4(v.getUint32(i, true), HC_HASH_LOG);
      const prev = head[h]!;
      const delta = prev < 0 ? 0 : i - prev;
      chain[i & 0xffff] = delta > MAX_DISTANCE ? 0 : delta;
      head[h] = i;
    }
    if (ip > this.nextToInsert) this.nextToInsert = ip;
  }

  /**
   * Longest match at `ip` no shorter than `minLen + 1`, ending before
   * `matchLimit`. Leaves it in bestLen/bestRef; returns whether one was found.
   */
  find(ip: number, matchLimit: number, minLen: number): boolean {
    this.insertUpTo(ip);
    const { src, v, chain } = this;
    const low = Math.max(this.srcStart, ip - MAX_DISTANCE);
    let ref = this.head[hash4(v.getUint32(ip, true), HC_HASH_LOG)]!;
    let attempts = this.p.attempts;
    let best = minLen;
    let bestRef = -1;
    const nice = this.p.niceLength;
    while (ref >= low && attempts-- > 0) {
      // Cheap reject: a longer match must also agree at the byte that would extend the best.
      if (ip + best < matchLimit && src[ref + best] === src[ip + best] && v.getUint32(ref, true) === v.getUint32(ip, true)) {
        const len = MIN_MATCH + commonLength(src, v, ip + MIN_MATCH, ref + MIN_MATCH, matchLimit);
        if (len > best) {
          best = len;
          bestRef = ref;
          if (len >= nice || ip + len >= matchLimit) break;
        }
      }
      const delta = chain[ref & 0xffff]!;
      if (delta === 0) break;
      ref -= delta;
    }
    if (bestRef < 0) return false;
    this.bestLen = best;
    this.bestRef = bestRef;
    return true;
  }
}

function compressHc(w: BlockWriter, src: Uint8Array, srcStart: number, srcEnd: number, level: number): number {
  const p = hcParams(level);
  let anchor = srcStart;
  if (srcEnd - srcStart >= MIN_INPUT) {
    const mf = new HcMatcher(src, srcStart, p);
    const mfLimit = srcEnd - MF_LIMIT;
    const matchLimit = srcEnd - LAST_LITERALS;
    let ip = srcStart;
    while (ip <= mfLimit) {
      if (!mf.find(ip, matchLimit, MIN_MATCH - 1)) {
        ip++;
        continue;
      }
      let len = mf.bestLen;
      let ref = mf.bestRef;
      // Lazy evaluation: a longer match starting a little later is worth a literal.
      for (let step = 1; step <= p.lazy && ip + step <= mfLimit; ) {
        if (mf.find(ip + step, matchLimit, len)) {
          ip += step;
          len = mf.bestLen;
          ref = mf.bestRef;
          step = 1;
        } else {
          step++;
        }
      }
      // Extend backwards into the pending literals.
      while (ip > anchor && ref > srcStart && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
        len++;
      }
      const wrote = w.sequence(anchor, ip, ip - ref, len);
      if (wrote === 0) break;
      ip += wrote;
      anchor = ip;
      if (w.full) break;
    }
  }
  return w.finish(anchor, srcEnd);
}

/**
 * Compresses `src[srcStart, srcEnd)` into one raw LZ4 block with hash-chain
 * matching (LZ4HC); `level` 1..12 trades speed for ratio as in liblz4.
 *
 * @returns bytes written, or 0 when the block does not fit.
 */
export function lz4hcCompress(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  level = 9,
): number {
  checkRange('lz4hc', 'input', src, srcStart, srcEnd);
  checkRange('lz4hc', 'output', dst, dstStart, dstEnd);
  hcParams(level);
  const r = lz4CompressWasm(src, srcStart, srcEnd, dst, dstStart, dstEnd - dstStart, false, level);
  if (r) return r.written;
  return lz4hcCompressJs(src, srcStart, srcEnd, dst, dstStart, dstEnd, level);
}

/** {@link lz4hcCompress} in TypeScript only. */
export function lz4hcCompressJs(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  level = 9,
): number {
  checkRange('lz4hc', 'input', src, srcStart, srcEnd);
  checkRange('lz4hc', 'output', dst, dstStart, dstEnd);
  const w = new BlockWriter(src, dst, dstStart, dstEnd, false);
  const end = compressHc(w, src, srcStart, srcEnd, level);
  return end === srcEnd && !w.full ? w.op - dstStart : 0;
}

/**
 * destSize variant of {@link lz4hcCompress} (LZ4_compress_HC_destSize), the
 * mode mkfs.erofs uses for `-zlz4hc,LEVEL`.
 */
export function lz4hcCompressDestSize(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstCapacity: number,
  level = 9,
): DestSizeResult {
  checkRange('lz4hc', 'input', src, srcStart, srcEnd);
  checkRange('lz4hc', 'output', dst, 0, dstCapacity);
  if (dstCapacity < 1) throw badArgument('lz4hc', 'destSize needs room for at least one byte');
  hcParams(level);
  return (
    lz4CompressWasm(src, srcStart, srcEnd, dst, 0, dstCapacity, true, level) ??
    lz4hcCompressDestSizeJs(src, srcStart, srcEnd, dst, dstCapacity, level)
  );
}

/** {@link lz4hcCompressDestSize} in TypeScript only. */
export function lz4hcCompressDestSizeJs(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstCapacity: number,
  level = 9,
): DestSizeResult {
  checkRange('lz4hc', 'input', src, srcStart, srcEnd);
  checkRange('lz4hc', 'output', dst, 0, dstCapacity);
  if (dstCapacity < 1) throw badArgument('lz4hc', 'destSize needs room for at least one byte');
  const w = new BlockWriter(src, dst, 0, dstCapacity, true);
  const end = compressHc(w, src, srcStart, srcEnd, level);
  return { consumed: end - srcStart, written: w.op };
}
