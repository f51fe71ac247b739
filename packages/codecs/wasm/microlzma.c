/*
 * MicroLZMA decoder for WebAssembly, part of @erofs/codecs: a C translation
 * of our own TypeScript decoder (src/microlzma.ts, the reference), which it
 * must match exactly in what it accepts, rejects and produces. See that file
 * for the format; the wrapper is src/microlzma-wasm.ts.
 *
 * Memory contract: the input [src, src + srcLen) and the output window
 * [dst, dst + dstLen) are separate regions of linear memory owned by the
 * wrapper. The window is also the dictionary. The probability model is a
 * static table, reset on every call.
 *
 * Termination: every iteration of the main loop writes at least one byte,
 * and every range coder step that needs input consumes a byte or fails.
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;

enum {
  E_SHORT = 1,        /* stream shorter than its 5-byte header */
  E_PROPS = 2,        /* bad properties byte (detail: the byte) */
  E_LCLP = 3,         /* lc + lp > 4 (detail: lc << 8 | lp) */
  E_RC_START = 4,     /* bad range coder start */
  E_TRUNC = 5,        /* compressed data ends early */
  E_LIT_PRED = 6,     /* literal predictor reaches before the data */
  E_END_MARKER = 7,   /* end marker */
  E_SHORTREP = 8,     /* short rep reaches before the data */
  E_DIST = 9,         /* match distance (detail: distance) too far */
  E_MATCH_PAST = 10,  /* match runs past the end of the output */
  E_LEFT_OVER = 11,   /* compressed bytes left over (detail: how many) */
  E_NOT_CLEAN = 12    /* range coder does not end clean */
};

#define NUM_STATES 12
#define POS_STATES_MAX 16
#define LEN_LOW_BITS 3
#define LEN_MID_BITS 3
#define LEN_HIGH_BITS 8
#define DIST_STATES 4
#define DIST_SLOT_BITS 6
#define DIST_MODEL_START 4
#define DIST_MODEL_END 14
#define FULL_DISTANCES 128
#define ALIGN_BITS 4
#define MATCH_LEN_MIN 2
#define TOP (1u << 24)

#define IS_MATCH 0
#define IS_REP (IS_MATCH + NUM_STATES * POS_STATES_MAX)
#define IS_REP_G0 (IS_REP + NUM_STATES)
#define IS_REP_G1 (IS_REP_G0 + NUM_STATES)
#define IS_REP_G2 (IS_REP_G1 + NUM_STATES)
#define IS_REP0_LONG (IS_REP_G2 + NUM_STATES)
#define DIST_SLOT (IS_REP0_LONG + NUM_STATES * POS_STATES_MAX)
#define DIST_SPECIAL (DIST_SLOT + (DIST_STATES << DIST_SLOT_BITS))
#define DIST_ALIGN (DIST_SPECIAL + FULL_DISTANCES - DIST_MODEL_END)
#define LEN_CHOICE 0
#define LEN_CHOICE2 1
#define LEN_LOW 2
#define LEN_MID (LEN_LOW + (POS_STATES_MAX << LEN_LOW_BITS))
#define LEN_HIGH (LEN_MID + (POS_STATES_MAX << LEN_MID_BITS))
#define LEN_SIZE (LEN_HIGH + (1 << LEN_HIGH_BITS))
#define MATCH_LEN_CODER (DIST_ALIGN + (1 << ALIGN_BITS))
#define REP_LEN_CODER (MATCH_LEN_CODER + LEN_SIZE)
#define LITERAL (REP_LEN_CODER + LEN_SIZE)
#define LITERAL_CODER_SIZE 0x300

static u16 probs[LITERAL + 16 * LITERAL_CODER_SIZE];
static u32 err_detail;

__attribute__((export_name("mlzma_err_detail"))) u32 mlzma_err_detail(void) { return err_detail; }

extern u8 __heap_base;
__attribute__((export_name("mlzma_heap_base"))) u32 mlzma_heap_base(void) { return (u32)(uintptr_t)&__heap_base; }

#define FAIL(code, detail) \
  do {                     \
    err_detail = (detail); \
    return -(code);        \
  } while (0)

#define NORMALIZE()                                \
  do {                                             \
    if (range < TOP) {                             \
      if (ip >= iend) FAIL(E_TRUNC, 0);            \
      range <<= 8;                                 \
      code = (code << 8) | *ip++;                  \
    }                                              \
  } while (0)

/* Decodes one bit with probability probs[idx] into `out`. */
#define BIT(idx, out)                              \
  do {                                             \
    u16 *p_ = &probs[idx];                         \
    NORMALIZE();                                   \
    const u32 pv_ = *p_;                           \
    const u32 bound_ = (range >> 11) * pv_;        \
    if (code < bound_) {                           \
      range = bound_;                              \
      *p_ = (u16)(pv_ + ((2048 - pv_) >> 5));      \
      out = 0;                                     \
    } else {                                       \
      range -= bound_;                             \
      code -= bound_;                              \
      *p_ = (u16)(pv_ - (pv_ >> 5));               \
      out = 1;                                     \
    }                                              \
  } while (0)

/* Most-significant-bit-first bit tree; result in `out`. */
#define TREE(base, bits, out)                      \
  do {                                             \
    u32 m_ = 1, b_;                                \
    for (u32 i_ = 0; i_ < (bits); i_++) {          \
      BIT((base) + m_, b_);                        \
      m_ = (m_ << 1) | b_;                         \
    }                                              \
    out = m_ - (1u << (bits));                     \
  } while (0)

#define REVERSE_TREE(base, bits, out)              \
  do {                                             \
    u32 m_ = 1, s_ = 0, b_;                        \
    for (u32 i_ = 0; i_ < (bits); i_++) {          \
      BIT((base) + m_, b_);                        \
      m_ = (m_ << 1) | b_;                         \
      s_ |= b_ << i_;                              \
    }                                              \
    out = s_;                                      \
  } while (0)

#define LENGTH(coder, posState, out)                                         \
  do {                                                                       \
    u32 c_, t_;                                                              \
    BIT((coder) + LEN_CHOICE, c_);                                           \
    if (c_ == 0) {                                                           \
      TREE((coder) + LEN_LOW + ((posState) << LEN_LOW_BITS), LEN_LOW_BITS, t_); \
      out = MATCH_LEN_MIN + t_;                                              \
    } else {                                                                 \
      BIT((coder) + LEN_CHOICE2, c_);                                        \
      if (c_ == 0) {                                                         \
        TREE((coder) + LEN_MID + ((posState) << LEN_MID_BITS), LEN_MID_BITS, t_); \
        out = MATCH_LEN_MIN + 8 + t_;                                        \
      } else {                                                               \
        TREE((coder) + LEN_HIGH, LEN_HIGH_BITS, t_);                         \
        out = MATCH_LEN_MIN + 16 + t_;                                       \
      }                                                                      \
    }                                                                        \
  } while (0)

/*
 * Decodes the MicroLZMA stream src[0, srcLen) into dst[0, dstLen) with
 * dictionary size dictSize (0xffffffff: no limit). Returns dstLen or a
 * negated error code (detail in mlzma_err_detail).
 */
__attribute__((export_name("mlzma_decode"))) int32_t mlzma_decode(u32 srcp, u32 srcLen, u32 dstp, u32 dstLen, u32 dictSize,
                                                                   u32 partial) {
  const u8 *ip = (const u8 *)(uintptr_t)srcp;
  const u8 *const iend = ip + srcLen;
  u8 *const obase = (u8 *)(uintptr_t)dstp;
  u8 *d = obase;
  u8 *const oend = obase + dstLen;

  if (srcLen < 5) FAIL(E_SHORT, 0);
  u32 props = ~ip[0] & 0xff;
  if (props >= 9 * 5 * 5) FAIL(E_PROPS, ip[0]);
  const u32 lc = props % 9;
  props /= 9;
  const u32 lp = props % 5;
  const u32 pb = props / 5;
  if (lc + lp > 4) FAIL(E_LCLP, (lc << 8) | lp);

  u32 range = 0xffffffffu;
  u32 code = 0;
  for (u32 i = 1; i < 5; i++) code = (code << 8) | ip[i];
  ip += 5;
  if (code == 0xffffffffu) FAIL(E_RC_START, 0);

  const u32 nprobs = LITERAL + (LITERAL_CODER_SIZE << (lc + lp));
  for (u32 i = 0; i < nprobs; i++) probs[i] = 1024;

  const u32 pbMask = (1u << pb) - 1;
  const u32 lpMask = (1u << lp) - 1;
  const u32 lcShift = 8 - lc;
  u32 state = 0, rep0 = 0, rep1 = 0, rep2 = 0, rep3 = 0;

  while (d < oend) {
    const u32 pos = (u32)(d - obase);
    const u32 posState = pos & pbMask;
    u32 b;
    BIT(IS_MATCH + (state << 4) + posState, b);
    if (b == 0) {
      const u32 prev = pos > 0 ? d[-1] : 0;
      const u32 base = LITERAL + LITERAL_CODER_SIZE * (((pos & lpMask) << lc) + (prev >> lcShift));
      u32 sym = 1;
      if (state < 7) {
        while (sym < 0x100) {
          BIT(base + sym, b);
          sym = (sym << 1) | b;
        }
      } else {
        if (rep0 >= pos) FAIL(E_LIT_PRED, 0);
        u32 matchByte = d[-(int32_t)rep0 - 1];
        while (sym < 0x100) {
          const u32 matchBit = (matchByte >> 7) & 1;
          matchByte <<= 1;
          BIT(base + ((1 + matchBit) << 8) + sym, b);
          sym = (sym << 1) | b;
          if (b != matchBit) break;
        }
        while (sym < 0x100) {
          BIT(base + sym, b);
          sym = (sym << 1) | b;
        }
      }
      *d++ = (u8)sym;
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      continue;
    }

    u32 len;
    BIT(IS_REP + state, b);
    if (b == 0) {
      LENGTH(MATCH_LEN_CODER, posState, len);
      state = state < 7 ? 7 : 10;
      /* Distance. */
      const u32 lenState = len - MATCH_LEN_MIN < DIST_STATES - 1 ? len - MATCH_LEN_MIN : DIST_STATES - 1;
      u32 slot, dist;
      TREE(DIST_SLOT + (lenState << DIST_SLOT_BITS), DIST_SLOT_BITS, slot);
      if (slot < DIST_MODEL_START) {
        dist = slot;
      } else {
        const u32 bits = (slot >> 1) - 1;
        dist = (2 | (slot & 1)) << bits;
        if (slot < DIST_MODEL_END) {
          u32 r;
          REVERSE_TREE(DIST_SPECIAL + dist - slot - 1, bits, r);
          dist += r;
        } else {
          u32 v = 0;
          for (u32 i = 0; i < bits - ALIGN_BITS; i++) {
            NORMALIZE();
            range >>= 1;
            u32 bit = 0;
            if (code >= range) {
              code -= range;
              bit = 1;
            }
            v = (v << 1) | bit;
          }
          dist += v << ALIGN_BITS;
          u32 r;
          REVERSE_TREE(DIST_ALIGN, ALIGN_BITS, r);
          dist += r;
        }
      }
      if (dist == 0xffffffffu) FAIL(E_END_MARKER, 0);
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      rep0 = dist;
    } else {
      BIT(IS_REP_G0 + state, b);
      if (b == 0) {
        BIT(IS_REP0_LONG + (state << 4) + posState, b);
        if (b == 0) {
          if (rep0 >= pos) FAIL(E_SHORTREP, 0);
          *d = d[-(int32_t)rep0 - 1];
          d++;
          state = state < 7 ? 9 : 11;
          continue;
        }
      } else {
        u32 dist;
        BIT(IS_REP_G1 + state, b);
        if (b == 0) {
          dist = rep1;
        } else {
          BIT(IS_REP_G2 + state, b);
          if (b == 0) {
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
      LENGTH(REP_LEN_CODER, posState, len);
      state = state < 7 ? 8 : 11;
    }

    if (rep0 >= pos || rep0 >= dictSize) FAIL(E_DIST, rep0 + 1);
    u32 n = len;
    if (n > (u32)(oend - d)) {
      if (!partial) FAIL(E_MATCH_PAST, 0);
      n = (u32)(oend - d);
    }
    const u8 *m = d - rep0 - 1;
    if (n > 32 && rep0 + 1 >= n) {
      __builtin_memcpy(d, m, n);
      d += n;
    } else {
      u8 *const end = d + n;
      while (d < end) *d++ = *m++;
    }
  }

  if (!partial) {
    if (range < TOP && ip < iend) {
      range <<= 8;
      code = (code << 8) | *ip++;
    }
    if (ip != iend) FAIL(E_LEFT_OVER, (u32)(iend - ip));
    if (code != 0) FAIL(E_NOT_CLEAN, 0);
  }
  return (int32_t)dstLen;
}
