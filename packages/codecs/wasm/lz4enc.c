/*
 * LZ4 block compressors for WebAssembly, part of @erofs/codecs: a fast
 * greedy one (one hash table, LZ4's "acceleration 1" skipping on
 * incompressible data) and an HC one (hash chains, levels 1..12, looking
 * for overlapping longer matches from the end of each match), each in an ordinary mode (fail when the block does not fit) and a
 * destSize mode (fill at most `cap` output bytes with as much input as fits).
 *
 * Written for this project from the LZ4 block format description
 * (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md); it shares no
 * code with liblz4. Built by build.sh into src/lz4enc-wasm-binary.ts; the
 * TypeScript wrapper is src/lz4-encode-wasm.ts, and src/lz4-encode.ts holds
 * the TypeScript compressors that this mirrors and that remain the fallback.
 *
 * End-of-block rules every block obeys (so liblz4 and the kernel accept it):
 * the last sequence is literals only; every match starts at least 12 bytes
 * (MFLIMIT) before the end of the block and ends at least 5 bytes
 * (LASTLITERALS) before it; offsets are 1..65535. In destSize mode the block
 * ends where the output fills up, so every sequence leaves RESERVE bytes
 * free behind it: a token and 12 literals, enough for a final literal run
 * that satisfies both rules whatever the last match length.
 *
 * Partial input: the wrapper may copy only the first `avail` of the `len`
 * input bytes (a destSize call rarely needs the whole rest of a file). The
 * compressors behave exactly as with the whole input, and return NEED_MORE
 * as soon as they would look at a byte at or beyond `avail`; the wrapper
 * then retries with more input. So the result never depends on `avail`.
 *
 * Tables are reused across calls without clearing: positions are stored
 * plus a per-call base that only grows, and entries below the current base
 * count as empty. That makes every call behave as on fresh tables (results
 * depend on the input only) without a memset per call.
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define MINMATCH 4
#define LASTLITERALS 5
#define MFLIMIT 12
#define MAX_DISTANCE 65535
/* Free bytes kept behind every sequence in destSize mode: token + 12 literals. */
#define RESERVE (1 + MFLIMIT)
/* The caller must supply more input (see above). */
#define NEED_MORE (-1)
/* Bytes past `avail` the scanner never reaches (hash reads, 8-byte compares). */
#define AVAIL_MARGIN 16

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

extern u8 __heap_base;
__attribute__((export_name("lz4e_heap_base"))) u32 lz4e_heap_base(void) { return (u32)(uintptr_t)&__heap_base; }

static u32 consumed;
/* Input bytes the last successful call encoded. */
__attribute__((export_name("lz4e_consumed"))) u32 lz4e_consumed(void) { return consumed; }

static inline u32 rd32(const u8 *p) {
  u32 v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
static inline u64 rd64(const u8 *p) {
  u64 v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

/* Length of the common run of a[..] and b[..], a stopping at `limit`. */
static inline u32 common(const u8 *a, const u8 *b, const u8 *limit) {
  const u8 *start = a;
  while (a + 8 <= limit) {
    u64 x = rd64(a) ^ rd64(b);
    if (x) return (u32)(a - start) + ((u32)__builtin_ctzll(x) >> 3);
    a += 8;
    b += 8;
  }
  while (a < limit && *a == *b) {
    a++;
    b++;
  }
  return (u32)(a - start);
}

static inline u32 ext_bytes(u32 n) { return n >= 15 ? 1 + (n - 15) / 255 : 0; }

/* Largest literal-only run (token included) that fits in `room` bytes; room >= 1. */
static u32 max_final_literals(u32 room) {
  u32 n = room - 1;
  while (n > 0 && 1 + ext_bytes(n) + n > room) n--;
  return n;
}

static inline u8 *write_len(u8 *op, u32 n) {
  n -= 15;
  while (n >= 255) {
    *op++ = 255;
    n -= 255;
  }
  *op++ = (u8)n;
  return op;
}

static inline void copy_bytes(u8 *d, const u8 *s, u32 n) {
  if (n <= 16) {
    /* The output buffer has slack behind `cap` (see the wrapper). */
    __builtin_memcpy(d, s, 16);
  } else {
    __builtin_memcpy(d, s, n);
  }
}

/* Output state of one block. */
typedef struct {
  u8 *op;
  u8 *oend;
  int dest; /* destSize mode */
  int full; /* destSize: the block must end now */
} out_t;

/*
 * Emits literals [anchor, ip) and a match of `ml` at `off`. Returns the match
 * length written (destSize may shorten it), or 0 when nothing was written:
 * the block ends at anchor (destSize) or the call fails (ordinary mode,
 * o->full set).
 */
static inline u32 emit(out_t *o, const u8 *anchor, const u8 *ip, u32 off, u32 ml) {
  u32 lit = (u32)(ip - anchor);
  u32 base = 1 + ext_bytes(lit) + lit + 2;
  u32 cost = base + ext_bytes(ml - MINMATCH);
  u32 room = (u32)(o->oend - o->op);
  if (o->dest) {
    room = room >= RESERVE ? room - RESERVE : 0;
    if (UNLIKELY(cost > room)) {
      o->full = 1;
      if (base > room) return 0;
      u32 e = room - base; /* bytes for the match length extension */
      u32 lmax = e == 0 ? 14 : 14 + 255 * e;
      if (ml - MINMATCH > lmax) ml = MINMATCH + lmax;
    }
  } else if (UNLIKELY(cost > room)) {
    o->full = 1;
    return 0;
  }
  u8 *op = o->op;
  u32 l = ml - MINMATCH;
  u8 *token = op++;
  *token = (u8)(((lit >= 15 ? 15 : lit) << 4) | (l >= 15 ? 15 : l));
  if (lit >= 15) op = write_len(op, lit);
  copy_bytes(op, anchor, lit);
  op += lit;
  *op++ = (u8)off;
  *op++ = (u8)(off >> 8);
  if (l >= 15) op = write_len(op, l);
  o->op = op;
  return ml;
}

/*
 * Ends the block with literals from anchor to iend (destSize: as many as
 * fit). Returns the bytes written, 0 when an ordinary block does not fit, or
 * NEED_MORE.
 */
static int finish(out_t *o, u8 *dst, const u8 *src, const u8 *anchor, const u8 *iend, const u8 *aend) {
  u32 n = (u32)(iend - anchor);
  u32 room = (u32)(o->oend - o->op);
  if (1 + ext_bytes(n) + n > room) {
    if (!o->dest || room < 1) return 0;
    n = max_final_literals(room);
  }
  if (anchor + n > aend) return NEED_MORE;
  u8 *op = o->op;
  *op++ = (u8)((n >= 15 ? 15 : n) << 4);
  if (n >= 15) op = write_len(op, n);
  __builtin_memcpy(op, anchor, n);
  op += n;
  consumed = (u32)(anchor + n - src);
  return (int)(op - dst);
}

/* ------------------------------------------------------------ fast */

#define FAST_HASH_LOG 13
static u32 fast_table[1 << FAST_HASH_LOG];
static u32 fast_base = 1;

static inline u32 fast_hash(const u8 *p) {
  /* 5 bytes: on real data this finds slightly better matches than 4. */
  return (u32)(((rd64(p) << 24) * 889523592379ull) >> (64 - FAST_HASH_LOG));
}

/* Moves a table's base past this call's positions; clears it when the base would overflow. */
static u32 next_base(u32 *base, u32 len, u32 *table, u32 entries) {
  if (*base > 0xf0000000u - len) {
    for (u32 i = 0; i < entries; i++) table[i] = 0;
    *base = 1;
  }
  u32 b = *base;
  *base = b + len + 1;
  return b;
}

/*
 * Fast compressor. src[0, len) is the input, of which the first `avail`
 * bytes are present; dst[0, cap) the output. Returns bytes written, 0 when
 * an ordinary block does not fit, or NEED_MORE.
 */
__attribute__((export_name("lz4e_fast")))
int lz4e_fast(const u8 *src, u32 len, u32 avail, u8 *dst, u32 cap, int dest) {
  out_t o = {dst, dst + cap, dest, 0};
  const u8 *iend = src + len;
  const u8 *aend = src + avail;
  const u8 *ip = src;
  const u8 *anchor = src;
  if (len < MFLIMIT + 1) return finish(&o, dst, src, anchor, iend, aend);
  const u32 base = next_base(&fast_base, len, fast_table, 1 << FAST_HASH_LOG);
  const u8 *mflimit = iend - MFLIMIT;
  const u8 *matchlimit = iend - LASTLITERALS;
  /* Scanning beyond here needs bytes the caller has not supplied. */
  const u8 *scanlimit = avail >= len ? mflimit : aend - AVAIL_MARGIN;
  if (scanlimit > mflimit) scanlimit = mflimit;
  const u8 *mlim = matchlimit < aend ? matchlimit : aend;
  u32 *tab = fast_table;

  tab[fast_hash(ip)] = base;
  ip++;
  for (;;) {
    const u8 *ref;
    u32 searches = 1u << 6;
    /*
     * destSize: once the pending literals alone no longer fit, the block
     * ends at anchor whatever comes next, so stop scanning (on
     * incompressible data this saves reading far past the block's end).
     */
    const u8 *litlimit = dest && (u32)(o.oend - o.op) < (u32)(scanlimit - anchor) ? anchor + (o.oend - o.op) : scanlimit;
    /*
     * Find a match: the step grows on incompressible data. The next
     * position's hash is computed while this one is looked up (as liblz4
     * does: the two are independent, so they overlap).
     */
    if (UNLIKELY(ip > litlimit)) {
      if (ip <= scanlimit || ip > mflimit) goto last;
      return NEED_MORE;
    }
    u32 h = fast_hash(ip);
    for (;;) {
      const u8 *next = ip + (searches++ >> 6);
      u32 e = tab[h];
      tab[h] = (u32)(ip - src) + base;
      u32 hn = LIKELY(next <= litlimit) ? fast_hash(next) : 0;
      if (e >= base) {
        ref = src + (e - base);
        if ((u32)(ip - ref) <= MAX_DISTANCE && rd32(ref) == rd32(ip)) break;
      }
      ip = next;
      if (UNLIKELY(ip > litlimit)) {
        if (ip <= scanlimit || ip > mflimit) goto last;
        return NEED_MORE;
      }
      h = hn;
    }
    /* Extend backwards into the pending literals. */
    while (ip > anchor && ref > src && ip[-1] == ref[-1]) {
      ip--;
      ref--;
    }
    for (;;) {
      u32 ml = MINMATCH + common(ip + MINMATCH, ref + MINMATCH, mlim);
      if (UNLIKELY(ip + ml >= mlim && mlim < matchlimit)) return NEED_MORE;
      u32 wrote = emit(&o, anchor, ip, (u32)(ip - ref), ml);
      if (wrote == 0) {
        if (!dest) return 0;
        goto last;
      }
      ip += wrote;
      anchor = ip;
      if (o.full) goto last;
      if (ip > scanlimit) {
        if (ip > mflimit) goto last;
        return NEED_MORE;
      }
      /* Keep the table fresh just behind ip, then try a match right here. */
      tab[fast_hash(ip - 2)] = (u32)(ip - 2 - src) + base;
      u32 h = fast_hash(ip);
      u32 e = tab[h];
      tab[h] = (u32)(ip - src) + base;
      if (e >= base) {
        ref = src + (e - base);
        if ((u32)(ip - ref) <= MAX_DISTANCE && rd32(ref) == rd32(ip)) continue;
      }
      ip++;
      break;
    }
  }
last:
  return finish(&o, dst, src, anchor, iend, aend);
}

/* ------------------------------------------------------------ HC */

#define HC_HASH_LOG 15
static u32 hc_head[1 << HC_HASH_LOG];
static u16 hc_chain[1 << 16];
static u32 hc_base = 1;

static inline u32 hc_hash(const u8 *p) { return (rd32(p) * 2654435761u) >> (32 - HC_HASH_LOG); }

typedef struct {
  const u8 *src;
  const u8 *next; /* next position to insert */
  u32 base;
  u32 attempts;
  u32 nice;
  const u8 *best_ref;
  const u8 *best_start;
} hc_t;

static inline void hc_insert(hc_t *m, const u8 *ip) {
  const u8 *p = m->next;
  const u8 *src = m->src;
  u32 base = m->base;
  for (; p < ip; p++) {
    u32 h = hc_hash(p);
    u32 pos = (u32)(p - src);
    u32 prev = hc_head[h];
    u32 delta = 0;
    if (prev >= base) {
      delta = pos - (prev - base);
      if (delta > MAX_DISTANCE) delta = 0;
    }
    hc_chain[pos & 0xffff] = (u16)delta;
    hc_head[h] = pos + base;
  }
  if (ip > m->next) m->next = ip;
}

/*
 * Searches the chain of position q for the match that, extended backwards
 * as far as `lowlimit` (<= q), is longest in total, and longer than `best`;
 * its end stays within mlim. Returns that length (from m->best_start, with
 * m->best_ref), or 0 when nothing beats `best`. With lowlimit == q this is
 * the plain longest match at q.
 */
static inline u32 hc_search(hc_t *m, const u8 *q, const u8 *lowlimit, const u8 *mlim, u32 best) {
  hc_insert(m, q);
  const u8 *src = m->src;
  u32 e = hc_head[hc_hash(q)];
  if (e < m->base) return 0;
  const u8 *ref = src + (e - m->base);
  const u8 *low = (u32)(q - src) > MAX_DISTANCE ? q - MAX_DISTANCE : src;
  u32 attempts = m->attempts;
  u32 back_max = (u32)(q - lowlimit);
  u32 maxlen = (u32)(mlim - q);
  if (best >= back_max + maxlen) return 0;
  /*
   * A candidate beats `best` only if its forward length exceeds
   * best - back_max, so it must agree at forward byte k = best - back_max
   * (k < 4 is covered by the 32-bit test).
   */
  u32 k = best > back_max + 3 ? best - back_max : 3;
  u32 seq = rd32(q);
  const u8 *best_ref = 0;
  const u8 *best_start = 0;
  while (ref >= low && ref < q && attempts-- > 0) {
    if (ref[k] == q[k] && rd32(ref) == seq) {
      u32 len = MINMATCH + common(q + MINMATCH, ref + MINMATCH, mlim);
      const u8 *s = q;
      const u8 *r = ref;
      while (s > lowlimit && r > src && s[-1] == r[-1]) {
        s--;
        r--;
      }
      len += (u32)(q - s);
      if (len > best) {
        best = len;
        best_ref = r;
        best_start = s;
        if (len >= m->nice || best >= back_max + maxlen) break;
        if (best > back_max + 3) k = best - back_max;
        if (k >= maxlen) break;
      }
    }
    u32 d = hc_chain[(u32)(ref - src) & 0xffff];
    if (d == 0) break;
    ref -= d;
  }
  if (!best_ref) return 0;
  m->best_ref = best_ref;
  m->best_start = best_start;
  return best;
}

/* Longest match length without a length extension byte. */
#define OPTIMAL_ML (15 + MINMATCH - 1)
/* N starting fewer than this many bytes after A's end makes P not worth a sequence. */
#define MIN_GAP 3

/* Emits a match of `ml` at `start` (anchor <= start); 1 when the block must end. */
static inline int hc_emit(out_t *o, const u8 **anchor, const u8 *start, const u8 *ref, u32 ml) {
  u32 wrote = emit(o, *anchor, start, (u32)(start - ref), ml);
  if (wrote == 0) return 1;
  *anchor = start + wrote;
  return o->full;
}

/*
 * HC compressor, levels 1..12. Levels 1-2 take the longest match found at
 * each position. Levels 3-12 look for overlapping matches: from the end of
 * the current match P they search for a match N that reaches further and may
 * start anywhere inside P (found by extending a match backwards); P is then
 * cut where N starts. A match before P (A) is kept open too, so that when N
 * can follow A directly, P is dropped, and when N starts too close to P's
 * start to leave P a minimum match, A is emitted whole and P dropped.
 */
__attribute__((export_name("lz4e_hc")))
int lz4e_hc(const u8 *src, u32 len, u32 avail, u8 *dst, u32 cap, int dest, int level) {
  out_t o = {dst, dst + cap, dest, 0};
  const u8 *iend = src + len;
  const u8 *aend = src + avail;
  const u8 *ip = src;
  const u8 *anchor = src;
  if (len < MFLIMIT + 1) return finish(&o, dst, src, anchor, iend, aend);
  hc_t m;
  m.src = src;
  m.next = src;
  m.base = next_base(&hc_base, len, hc_head, 1 << HC_HASH_LOG);
  int wide;
  if (level < 1) level = 1;
  if (level > 12) level = 12;
  if (level <= 2) {
    m.attempts = (u32)level;
    wide = 0;
    m.nice = 64;
  } else if (level <= 9) {
    m.attempts = 1u << (level - 1);
    wide = 1;
    m.nice = 1u << 12;
  } else {
    m.attempts = level == 10 ? 512 : level == 11 ? 1024 : 4096;
    wide = 1;
    m.nice = 1u << 16;
  }
  const u8 *mflimit = iend - MFLIMIT;
  const u8 *matchlimit = iend - LASTLITERALS;
  const u8 *scanlimit = avail >= len ? mflimit : aend - AVAIL_MARGIN;
  if (scanlimit > mflimit) scanlimit = mflimit;
  const u8 *mlim = matchlimit < aend ? matchlimit : aend;
  /* A match reaching mlim short of matchlimit might be longer with more input. */
  const int partial = mlim < matchlimit;

  while (ip <= mflimit) {
    if (UNLIKELY(ip > scanlimit)) return NEED_MORE;
    u32 pl = hc_search(&m, ip, ip, mlim, MINMATCH - 1);
    if (!pl) {
      ip++;
      continue;
    }
    const u8 *ps = ip;
    const u8 *pr = m.best_ref;
    /* Extend backwards into the pending literals. */
    while (ps > anchor && pr > src && ps[-1] == pr[-1]) {
      ps--;
      pr--;
      pl++;
    }
    const u8 *as = 0, *ar = 0;
    u32 al = 0;
    for (;;) {
      const u8 *pe = ps + pl;
      if (UNLIKELY(partial && pe >= mlim)) return NEED_MORE;
      if (!wide || pe > mflimit) break;
      const u8 *q = pe - 2;
      if (UNLIKELY(q > scanlimit)) return NEED_MORE;
      u32 nl = hc_search(&m, q, ps, mlim, pl);
      if (!nl) break;
      const u8 *ns = m.best_start;
      const u8 *nr = m.best_ref;
      if (as && ns <= as + al && ns - as >= MINMATCH) {
        /* A reaches N by itself: P is not needed. */
      } else {
        /* A tentative A (P replaced too close to its start) has no other use. */
        if (as && ps - as < MINMATCH) as = 0;
        if (as && ns < as + al + MIN_GAP) {
          /* P would only add a few bytes after A: A whole, literals, N. */
          if (hc_emit(&o, &anchor, as, ar, al)) goto done;
          as = 0;
        } else if (ns - ps >= MINMATCH) {
          if (as) {
            /*
             * A ends where P starts. Match lengths up to OPTIMAL_ML cost no
             * extension byte, so A may take over the start of P for free.
             */
            u32 cut = (u32)(ps - as);
            if (cut < OPTIMAL_ML && al > cut) {
              u32 want = al < OPTIMAL_ML ? al : OPTIMAL_ML;
              u32 room = (u32)(ns - ps) - MINMATCH;
              u32 c = want - cut;
              if (c > room) c = room;
              cut += c;
              ps += c;
              pr += c;
              pl -= c;
            }
            if (hc_emit(&o, &anchor, as, ar, cut)) goto done;
          }
          as = ps;
          ar = pr;
          al = pl;
        } else if (as) {
          /* P would be too short: A whole, then literals up to N. */
          if (hc_emit(&o, &anchor, as, ar, al)) goto done;
          as = 0;
        } else {
          /* N starts too close to P: P stays only as a tentative A. */
          as = ps;
          ar = pr;
          al = pl;
        }
      }
      ps = ns;
      pr = nr;
      pl = nl;
    }
    if (as && ps - as < MINMATCH) as = 0;
    if (as && hc_emit(&o, &anchor, as, ar, (u32)(ps - as))) goto done;
    if (hc_emit(&o, &anchor, ps, pr, pl)) goto done;
    ip = anchor;
  }
done:
  return finish(&o, dst, src, anchor, iend, aend);
}
