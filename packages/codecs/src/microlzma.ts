/**
 * MicroLZMA decoder (EROFS's Z_EROFS_COMPRESSION_LZMA).
 *
 * MicroLZMA is raw LZMA1 with the framing squeezed out, designed for
 * filesystems that already store both sizes:
 * - byte 0 is the lc/lp/pb properties byte, bitwise inverted. It takes the
 *   place of the range coder's first byte, which in LZMA1 is always 0x00, so
 *   the inversion makes a valid stream start with a non-zero byte and EROFS's
 *   zero padding in front of it can be skipped unambiguously;
 * - bytes 1..4 initialise the range coder's code word;
 * - there is no end-of-payload marker: decoding stops at the known
 *   uncompressed size, and with an exact size the compressed size must be
 *   used up exactly and the range coder must end clean (code word 0), as the
 *   kernel's xz_dec_microlzma and liblzma's decoder both require;
 * - the dictionary size is not in the stream; EROFS keeps it in the
 *   superblock's lzma config (`dict_size`), and distances beyond it are
 *   corruption.
 *
 * The decoder writes straight into the caller's fixed output window and uses
 * it as the dictionary, so no memory beyond the probability tables is
 * allocated. {@link microLzmaDecompress} hands windows of
 * {@link MICROLZMA_WASM_THRESHOLD} bytes or more to a C translation of this
 * decoder compiled to WebAssembly (microlzma-wasm.ts) when it loads.
 */
import { badArgument, checkRange, corruptInput } from './errors.js';
import { microLzmaDecompressWasm, microLzmaWasmAvailable } from './microlzma-wasm.js';

/** Options of {@link microLzmaDecompress}. */
export interface MicroLzmaDecompressOptions {
  /**
   * Dictionary size from the superblock's lzma config; match distances beyond
   * it are rejected as the kernel does. Default: no limit but the output.
   */
  dictSize?: number;
  /**
   * The output window may be a prefix of the stream's data: stop once it is
   * full and skip the end-of-stream checks (the kernel's partial decoding,
   * `uncomp_size_is_exact == false`).
   */
  partial?: boolean;
  /** Added to error messages. */
  where?: string;
}

const PROB_INIT = 1024;
const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const LEN_LOW_BITS = 3;
const LEN_MID_BITS = 3;
const LEN_HIGH_BITS = 8;
const DIST_STATES = 4;
const DIST_SLOT_BITS = 6;
const DIST_MODEL_START = 4;
const DIST_MODEL_END = 14;
const FULL_DISTANCES = 128;
const ALIGN_BITS = 4;
const MATCH_LEN_MIN = 2;
const TOP = 1 << 24;

// Offsets into one probability table, laid out back to back.
const IS_MATCH = 0;
const IS_REP = IS_MATCH + NUM_STATES * POS_STATES_MAX;
const IS_REP_G0 = IS_REP + NUM_STATES;
const IS_REP_G1 = IS_REP_G0 + NUM_STATES;
const IS_REP_G2 = IS_REP_G1 + NUM_STATES;
const IS_REP0_LONG = IS_REP_G2 + NUM_STATES;
const DIST_SLOT = IS_REP0_LONG + NUM_STATES * POS_STATES_MAX;
const DIST_SPECIAL = DIST_SLOT + (DIST_STATES << DIST_SLOT_BITS);
const DIST_ALIGN = DIST_SPECIAL + FULL_DISTANCES - DIST_MODEL_END;
// A length coder: choice, choice2, low[16][8], mid[16][8], high[256].
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + (POS_STATES_MAX << LEN_LOW_BITS);
const LEN_HIGH = LEN_MID + (POS_STATES_MAX << LEN_MID_BITS);
const LEN_SIZE = LEN_HIGH + (1 << LEN_HIGH_BITS);
const MATCH_LEN_CODER = DIST_ALIGN + (1 << ALIGN_BITS);
const REP_LEN_CODER = MATCH_LEN_CODER + LEN_SIZE;
const LITERAL = REP_LEN_CODER + LEN_SIZE;
const LITERAL_CODER_SIZE = 0x300;

/** Range decoder plus the probability model, for one stream. */
class Decoder {
  range = 0xffffffff;
  code = 0;
  pos: number;
  readonly probs: Uint16Array;

  constructor(
    readonly src: Uint8Array,
    start: number,
    readonly end: number,
    literalCoders: number,
    readonly where: string | undefined,
  ) {
    this.pos = start;
    this.probs = new Uint16Array(LITERAL + literalCoders * LITERAL_CODER_SIZE).fill(PROB_INIT);
  }

  fail(message: string): never {
    throw corruptInput('microlzma', message, this.where);
  }

  private refill(): void {
    if (this.pos >= this.end) this.fail('compressed data ends early');
    this.range = (this.range << 8) >>> 0;
    this.code = ((this.code << 8) | this.src[this.pos++]!) >>> 0;
  }

  bit(i: number): number {
    if (this.range < TOP) this.refill();
    const probs = this.probs;
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
      return 0;
    }
    this.range -= bound;
    this.code -= bound;
    probs[i] = p - (p >>> 5);
    return 1;
  }

  /** Most-significant-bit-first bit tree of `bits` levels rooted at `base`. */
  tree(base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(base + m);
    return m - (1 << bits);
  }

  /** Least-significant-bit-first variant used for distance low bits. */
  reverseTree(base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }

  direct(bits: number): number {
    let v = 0;
    for (let i = 0; i < bits; i++) {
      if (this.range < TOP) this.refill();
      this.range >>>= 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      v = ((v << 1) | b) >>> 0;
    }
    return v;
  }

  length(coder: number, posState: number): number {
    if (this.bit(coder + LEN_CHOICE) === 0) {
      return MATCH_LEN_MIN + this.tree(coder + LEN_LOW + (posState << LEN_LOW_BITS), LEN_LOW_BITS);
    }
    if (this.bit(coder + LEN_CHOICE2) === 0) {
      return MATCH_LEN_MIN + 8 + this.tree(coder + LEN_MID + (posState << LEN_MID_BITS), LEN_MID_BITS);
    }
    return MATCH_LEN_MIN + 16 + this.tree(coder + LEN_HIGH, LEN_HIGH_BITS);
  }

  /** Returns the distance minus one, as LZMA codes it (0xFFFFFFFF is the end marker). */
  distance(len: number): number {
    const lenState = len - MATCH_LEN_MIN < DIST_STATES - 1 ? len - MATCH_LEN_MIN : DIST_STATES - 1;
    const slot = this.tree(DIST_SLOT + (lenState << DIST_SLOT_BITS), DIST_SLOT_BITS);
    if (slot < DIST_MODEL_START) return slot;
    const bits = (slot >>> 1) - 1;
    let dist = ((2 | (slot & 1)) << bits) >>> 0;
    if (slot < DIST_MODEL_END) {
      return dist + this.reverseTree(DIST_SPECIAL + dist - slot - 1, bits);
    }
    dist = (dist + ((this.direct(bits - ALIGN_BITS) << ALIGN_BITS) >>> 0)) >>> 0;
    return (dist + this.reverseTree(DIST_ALIGN, ALIGN_BITS)) >>> 0;
  }
}

/**
 * Decodes the MicroLZMA stream `src[srcStart, srcEnd)` into
 * `dst[dstStart, dstEnd)`. Skip EROFS's zero padding first (see
 * `skipZeroPadding`): the stream must start at its inverted properties byte.
 *
 * @returns bytes written, always `dstEnd - dstStart`.
 * @throws ErofsError EFSCORRUPTED for a bad properties byte, truncated input,
 *   an end marker, a distance beyond the data or the dictionary, or (without
 *   `partial`) a stream that does not end exactly with the output.
 */
export function microLzmaDecompress(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: MicroLzmaDecompressOptions,
): number {
  if (dstEnd - dstStart >= MICROLZMA_WASM_THRESHOLD && microLzmaWasmAvailable()) {
    checkRange('microlzma', 'input', src, srcStart, srcEnd);
    checkRange('microlzma', 'output', dst, dstStart, dstEnd);
    const dictSize = options?.dictSize ?? Infinity;
    if (!(dictSize > 0)) throw badArgument('microlzma', `bad dictionary size ${dictSize}`);
    const n = microLzmaDecompressWasm(src, srcStart, srcEnd, dst, dstStart, dstEnd, dictSize, options?.partial === true, options?.where);
    if (n !== undefined) return n;
  }
  return microLzmaDecompressJs(src, srcStart, srcEnd, dst, dstStart, dstEnd, options);
}

/** Output windows at least this large go to the WebAssembly decoder when it loads. */
export const MICROLZMA_WASM_THRESHOLD = 256;

/**
 * The pure TypeScript decoder: same contract as {@link microLzmaDecompress},
 * which uses it for small windows and wherever WebAssembly is unavailable.
 */
export function microLzmaDecompressJs(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
  options?: MicroLzmaDecompressOptions,
): number {
  checkRange('microlzma', 'input', src, srcStart, srcEnd);
  checkRange('microlzma', 'output', dst, dstStart, dstEnd);
  const where = options?.where;
  const partial = options?.partial === true;
  const dictSize = options?.dictSize ?? Infinity;
  if (!(dictSize > 0)) throw badArgument('microlzma', `bad dictionary size ${dictSize}`);
  if (srcEnd - srcStart < 5) throw corruptInput('microlzma', 'stream shorter than its 5-byte header', where);

  let props = ~src[srcStart]! & 0xff;
  if (props >= 9 * 5 * 5) throw corruptInput('microlzma', `bad properties byte 0x${src[srcStart]!.toString(16)}`, where);
  const lc = props % 9;
  props = (props / 9) | 0;
  const lp = props % 5;
  const pb = (props / 5) | 0;
  // The kernel decodes with xz's LZMA2 engine, which caps lc + lp at 4.
  if (lc + lp > 4) throw corruptInput('microlzma', `lc ${lc} + lp ${lp} exceeds 4`, where);

  const rc = new Decoder(src, srcStart + 5, srcEnd, 1 << (lc + lp), where);
  for (let i = 1; i < 5; i++) rc.code = ((rc.code << 8) | src[srcStart + i]!) >>> 0;
  if (rc.code === 0xffffffff) rc.fail('bad range coder start');

  const probs = rc.probs;
  const pbMask = (1 << pb) - 1;
  const lpMask = (1 << lp) - 1;
  const lcShift = 8 - lc;
  let state = 0;
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  let rep3 = 0;
  let d = dstStart;

  while (d < dstEnd) {
    const pos = d - dstStart;
    const posState = pos & pbMask;
    if (rc.bit(IS_MATCH + (state << 4) + posState) === 0) {
      const prev = pos > 0 ? dst[d - 1]! : 0;
      const base = LITERAL + LITERAL_CODER_SIZE * (((pos & lpMask) << lc) + (prev >>> lcShift));
      let sym = 1;
      if (state < 7) {
        while (sym < 0x100) sym = (sym << 1) | rc.bit(base + sym);
      } else {
        // After a match the byte at rep0 predicts this one bit by bit until
        // the first disagreement.
        if (rep0 >= pos) rc.fail('literal predictor reaches before the data');
        let matchByte = dst[d - rep0 - 1]!;
        while (sym < 0x100) {
          const matchBit = (matchByte >>> 7) & 1;
          matchByte <<= 1;
          const b = rc.bit(base + ((1 + matchBit) << 8) + sym);
          sym = (sym << 1) | b;
          if (b !== matchBit) break;
        }
        while (sym < 0x100) sym = (sym << 1) | rc.bit(base + sym);
      }
      dst[d++] = sym & 0xff;
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      continue;
    }

    let len: number;
    if (rc.bit(IS_REP + state) === 0) {
      len = rc.length(MATCH_LEN_CODER, posState);
      state = state < 7 ? 7 : 10;
      const dist = rc.distance(len);
      if (dist === 0xffffffff) rc.fail('end marker in a MicroLZMA stream');
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = dist;
    } else {
      if (rc.bit(IS_REP_G0 + state) === 0) {
        if (rc.bit(IS_REP0_LONG + (state << 4) + posState) === 0) {
          // Short rep: one byte from rep0.
          if (rep0 >= pos) rc.fail('match distance reaches before the data');
          dst[d] = dst[d - rep0 - 1]!;
          d++;
          state = state < 7 ? 9 : 11;
          continue;
        }
      } else {
        let dist: number;
        if (rc.bit(IS_REP_G1 + state) === 0) {
          dist = rep1;
        } else {
          if (rc.bit(IS_REP_G2 + state) === 0) {
            dist = rep2;
          } else {
            dist = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = dist;
      }
      len = rc.length(REP_LEN_CODER, posState);
      state = state < 7 ? 8 : 11;
    }

    if (rep0 >= pos || rep0 >= dictSize) {
      rc.fail(`match distance ${rep0 + 1} reaches before the data or past the dictionary`);
    }
    let end = d + len;
    if (end > dstEnd) {
      if (!partial) rc.fail('match runs past the end of the output');
      end = dstEnd;
    }
    let m = d - rep0 - 1;
    if (end - d > 32 && rep0 + 1 >= end - d) {
      dst.copyWithin(d, m, m + (end - d));
      d = end;
    } else {
      while (d < end) dst[d++] = dst[m++]!;
    }
  }

  if (!partial) {
    // The encoder flushes its range coder so that the last bytes leave the
    // code word at zero; any other tail means the sizes are wrong.
    if (rc.range < TOP && rc.pos < srcEnd) {
      rc.range = (rc.range << 8) >>> 0;
      rc.code = ((rc.code << 8) | src[rc.pos++]!) >>> 0;
    }
    if (rc.pos !== srcEnd) rc.fail(`${srcEnd - rc.pos} compressed bytes left over`);
    if (rc.code !== 0) rc.fail('range coder does not end clean');
  }
  return dstEnd - dstStart;
}
