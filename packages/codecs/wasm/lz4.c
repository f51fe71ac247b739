/*
 * LZ4 block decoder for WebAssembly, part of @erofs/codecs.
 *
 * Written for this project from the LZ4 block format description
 * (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md); it shares no
 * code with liblz4. Built by build.sh into src/lz4-wasm-binary.ts; the
 * TypeScript wrapper is src/lz4-wasm.ts and the reference semantics are those
 * of lz4DecompressJs in src/lz4-decode.ts, which this must match exactly in
 * what it accepts, what it rejects and the bytes it produces.
 *
 * A block is a list of sequences:
 *   token (1 byte: high nibble literal length, low nibble match length - 4),
 *   literal length extension bytes when the nibble is 15 (add each, stop
 *   after a byte < 255), the literals, a 2-byte little-endian match offset
 *   (1..65535), match length extension bytes when the nibble is 15.
 * The last sequence has literals only and ends exactly at the end of input.
 *
 * Memory contract with the wrapper: the output window [dst, dst + dstLen) and
 * the input [src, src + srcLen) are separate regions of linear memory, each
 * followed by at least SLACK (64) bytes that the wrapper owns and ignores.
 * The fast paths copy whole 16-byte chunks and may therefore read up to 15
 * bytes past the input and write up to 15 bytes past the current sequence
 * (later sequences overwrite those bytes; past the window they land in the
 * slack). Every decision that changes the result (overrun, truncation,
 * offsets, end of block) is made with exact lengths, never with the slack.
 *
 * Termination: every iteration of the main loop consumes at least the token
 * byte, and every extension loop consumes a byte per step.
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

/* Error codes, returned negated. The wrapper maps them to messages. */
enum {
  E_EMPTY = 1,          /* empty input */
  E_TRUNC_LITLEN = 2,   /* input ends inside a literal length */
  E_TRUNC_LIT = 3,      /* input ends inside the literals */
  E_LIT_OVERRUN = 4,    /* literals go past the window (detail: by how much) */
  E_TRUNC_OFFSET = 5,   /* input ends inside a match offset */
  E_ZERO_OFFSET = 6,    /* match offset 0 */
  E_FAR_OFFSET = 7,     /* match reaches before the window (detail: offset) */
  E_TRUNC_MATCHLEN = 8, /* input ends inside a match length */
  E_MATCH_OVERRUN = 9,  /* match goes past the window (detail: by how much) */
  E_INPUT_LEFT = 10,    /* window full after a match, input continues */
  E_ENDS_ON_MATCH = 11, /* block ends with a match instead of literals */
  E_SIZE = 12           /* block ended early (detail: bytes decoded) */
};

static u32 err_detail;

__attribute__((export_name("lz4_err_detail"))) u32 lz4_err_detail(void) { return err_detail; }

extern u8 __heap_base;
/* First free byte of linear memory; the wrapper places its buffers from here. */
__attribute__((export_name("lz4_heap_base"))) u32 lz4_heap_base(void) { return (u32)(uintptr_t)&__heap_base; }

#define FAIL(code, detail) \
  do {                     \
    err_detail = (detail); \
    return -(code);        \
  } while (0)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Lengths saturate here, far above any window the wrapper passes. */
#define LEN_CAP 0x7fffffffu

static inline void copy16(u8 *d, const u8 *s) { __builtin_memcpy(d, s, 16); }

/*
 * For a match offset below 16, the smallest multiple of the offset that is at
 * least 16: once the first 16 bytes of such a match are in place, the rest can
 * be copied in 16-byte chunks from that distance, since the match repeats with
 * the offset as its period.
 */
static const u8 period16[16] = {0, 16, 16, 18, 16, 20, 18, 21, 16, 18, 20, 22, 24, 26, 28, 30};

/*
 * Decodes the block src[0, srcLen) into dst[0, dstLen). Returns the number of
 * bytes written (>= 0) or a negated error code (detail in lz4_err_detail).
 * Without `partial` the block must produce exactly dstLen bytes and end
 * exactly at srcLen; with it, decoding stops as soon as the window is full.
 */
__attribute__((export_name("lz4_decode"))) int32_t lz4_decode(u32 srcp, u32 srcLen, u32 dstp, u32 dstLen, u32 partial) {
  const u8 *ip = (const u8 *)(uintptr_t)srcp;
  const u8 *const iend = ip + srcLen;
  u8 *op = (u8 *)(uintptr_t)dstp;
  u8 *const obase = op;
  u8 *const oend = op + dstLen;

  if (dstLen == 0 && partial) return 0;
  if (srcLen == 0) FAIL(E_EMPTY, 0);

  /*
   * Shortcut bounds: while ip + 32 <= iend and op + 64 <= oend, a sequence
   * with a literal length nibble below 15 and a match length nibble below 15
   * (so at most 14 literals and an 18-byte match) can neither overrun the
   * window, nor fill it, nor run out of input, so it needs no length checks.
   * Addresses are at least the heap base, so the subtractions cannot wrap.
   */
  const u32 ifast = (u32)(uintptr_t)iend - 32;
  const u32 ofast = (u32)(uintptr_t)oend - 64;

  for (;;) {
    /* Invariant: ip < iend, op <= oend. */
    const u32 token = *ip++;
    u32 offset;
    if (LIKELY((u32)(uintptr_t)ip <= ifast && (u32)(uintptr_t)op <= ofast && token < 0xf0 && (token & 15) != 15)) {
      const u32 lit = token >> 4;
      copy16(op, ip);
      op += lit;
      ip += lit;
      offset = (u32)ip[0] | ((u32)ip[1] << 8);
      ip += 2;
      if (LIKELY(offset >= 16 && offset <= (u32)(op - obase))) {
        const u8 *m = op - offset;
        copy16(op, m);
        copy16(op + 16, m + 16);
        op += (token & 15) + 4;
        continue;
      }
      goto match; /* short offset (or a bad one): the general match code */
    }

    u32 lit = token >> 4;
    if (UNLIKELY(lit == 15)) {
      u64 n = 15;
      u32 b;
      do {
        if (ip >= iend) FAIL(E_TRUNC_LITLEN, 0);
        b = *ip++;
        n += b;
      } while (b == 255);
      lit = n > LEN_CAP ? LEN_CAP : (u32)n;
    }

    if (LIKELY(lit < (u32)(oend - op) && lit + 2 <= (u32)(iend - ip))) {
      /* The literals leave the window not full and the offset follows. */
      copy16(op, ip);
      if (UNLIKELY(lit > 16)) {
        if (lit >= 256) {
          __builtin_memcpy(op, ip, lit);
        } else {
          for (u32 k = 16; k < lit; k += 16) copy16(op + k, ip + k);
        }
      }
      op += lit;
      ip += lit;
    } else {
      /* Literals that fill or overrun the window, or the end of the block. */
      const u32 room = (u32)(oend - op);
      if (lit > room) {
        if (!partial) FAIL(E_LIT_OVERRUN, lit - room);
        if (room > (u32)(iend - ip)) FAIL(E_TRUNC_LIT, 0);
        __builtin_memcpy(op, ip, room);
        return (int32_t)dstLen;
      }
      if (lit > (u32)(iend - ip)) FAIL(E_TRUNC_LIT, 0);
      __builtin_memcpy(op, ip, lit);
      op += lit;
      ip += lit;
      if (partial && op == oend) return (int32_t)dstLen;
      if (ip == iend) {
        /* The last sequence: literals only. */
        if (!partial && op != oend) FAIL(E_SIZE, (u32)(op - obase));
        return (int32_t)(op - obase);
      }
      if ((u32)(iend - ip) < 2) FAIL(E_TRUNC_OFFSET, 0);
    }

    /* Match. */
    offset = (u32)ip[0] | ((u32)ip[1] << 8);
    ip += 2;
  match:
    if (UNLIKELY(offset == 0)) FAIL(E_ZERO_OFFSET, 0);
    if (UNLIKELY(offset > (u32)(op - obase))) FAIL(E_FAR_OFFSET, offset);
    const u8 *m = op - offset;
    u32 ml = token & 15;
    if (UNLIKELY(ml == 15)) {
      u64 n = 15;
      u32 b;
      do {
        if (ip >= iend) FAIL(E_TRUNC_MATCHLEN, 0);
        b = *ip++;
        n += b;
      } while (b == 255);
      ml = n > LEN_CAP - 4 ? LEN_CAP - 4 : (u32)n;
    }
    ml += 4;

    const u32 room = (u32)(oend - op);
    if (UNLIKELY(ml > room)) {
      if (!partial) FAIL(E_MATCH_OVERRUN, ml - room);
      /* Exact, overlap-safe copy up to the end of the window. */
      for (u32 k = 0; k < room; k++) op[k] = m[k];
      return (int32_t)dstLen;
    }

    if (LIKELY(offset >= 16)) {
      /* Chunks never read bytes they (or later chunks) write. */
      copy16(op, m);
      if (UNLIKELY(ml > 16)) {
        if (ml >= 256 && offset >= ml) {
          __builtin_memcpy(op, m, ml);
        } else {
          for (u32 k = 16; k < ml; k += 16) copy16(op + k, m + k);
        }
      }
    } else {
      /* Overlapping match: a run with a period of `offset` bytes. */
      for (u32 k = 0; k < 16; k++) op[k] = m[k];
      if (ml > 16) {
        const u32 dist = period16[offset];
        for (u32 k = 16; k < ml; k += 16) copy16(op + k, op + k - dist);
      }
    }
    op += ml;

    if (UNLIKELY(op == oend)) {
      if (partial) return (int32_t)dstLen;
      FAIL(ip != iend ? E_INPUT_LEFT : E_ENDS_ON_MATCH, 0);
    }
    if (UNLIKELY(ip >= iend)) FAIL(E_ENDS_ON_MATCH, 0);
  }
}
