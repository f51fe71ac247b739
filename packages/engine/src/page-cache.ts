/**
 * The page cache: address spaces of fixed-size pages under one byte budget,
 * CLOCK (second chance) eviction, readahead, and one fill per missing page no
 * matter how many readers want it.
 *
 * Folios: the pages one fill brings in are one `Folio` (as the kernel's large
 * folios): one object for a run of adjacent pages held in adjacent page
 * frames, one entry in the CLOCK ring, one promise while it is being filled.
 * A file read whole by one fill is one object, however many pages it has.
 * Eviction and fadvise still work page by page: evicting shaves the first
 * page off the folio at the head of the ring, and dropping pages from the
 * middle of a folio splits it in two.
 *
 * Hot path: a read whose pages are all resident is served synchronously
 * (`readInto` returns a number, not a promise) with one copy per run of
 * adjacent frames straight into the caller's buffer and a reference bit set;
 * no promise, no allocation besides the view the copy needs.
 *
 * Lifetime: a folio is never evicted or split while a read holds it (`pins`).
 * A reader pins the resident folios it needs before it waits for a fill, and
 * pins the folios being filled that it waits for, so the bytes a read copies
 * are the bytes it saw resident. Dropping a whole space (last member gone)
 * removes its pages from the accounting even if pinned: readers in flight
 * keep their frames until they are done; nothing new is inserted.
 */
import { ErofsError } from '@erofs/format';

/** What a space is for; shared kinds are counted once however many mounts use them. */
export type SpaceKind = 'private' | 'inode-share' | 'blob';

/** Counters kept per address space, per mount and in total. */
export interface CacheCounters {
  /** Pages found resident. */
  hits: number;
  /** Pages a read needed that were not resident (joined fills count too). */
  misses: number;
  /** Backing reads started to fill pages (one per run of missing pages). */
  fills: number;
  /** Pages brought in by fills (readahead included). */
  fillPages: number;
  /** Pages removed to stay in budget. */
  evictions: number;
  /** Pages dropped by fadvise(DONTNEED) or dropCaches(). */
  drops: number;
}

/** Stats of one address space. */
export interface SpaceStats extends CacheCounters {
  id: string;
  kind: SpaceKind;
  pageSize: number;
  size: number;
  residentPages: number;
  residentBytes: number;
  /** Members (inodes or blob sources) using it; 1 for private spaces. */
  members: number;
}

/** Totals, in the spirit of /proc/meminfo's Cached: line. */
export interface CacheStats extends CacheCounters {
  maxBytes: number;
  residentBytes: number;
  residentPages: number;
  /** Resident bytes in inode-share and blob spaces (counted once). */
  sharedBytes: number;
  spaces: number;
  /** Inserts that had to exceed the budget because every page was pinned. */
  overcommits: number;
}

/** Per-read accounting target (a mount), plus whatever the filler needs to know. */
export interface ReadContext {
  counters: CacheCounters;
  /** Opaque to the cache; shared-space fillers use it to pick the member. */
  requester?: unknown;
}

/**
 * Fills pages [first, first + count) of a space: returns the bytes from
 * first * pageSize on, at least up to min(size, (first + count) * pageSize).
 */
export type Filler = (first: number, count: number, ctx: ReadContext, space: AddressSpace) => Promise<Uint8Array>;

/**
 * The copy-free form of a Filler: writes the bytes of pages
 * [first, first + count) (from first * pageSize up to min(size,
 * (first + count) * pageSize)) into dst[dstOff...]. Spaces that have one are
 * filled straight into their page frames. It may resolve with the number of
 * bytes written, which is then checked (a short count is an EIO).
 */
export type FillerInto = (first: number, count: number, dst: Uint8Array, dstOff: number, ctx: ReadContext, space: AddressSpace) => Promise<unknown>;

/** Options of a PageCache. */
export interface PageCacheOptions {
  /** Byte budget of resident pages. */
  maxBytes: number;
  /**
   * Page size of every space, a power of two >= 512. Default: each mount's
   * spaces use its image's block size (block-sized pages); 4096 for spaces
   * created directly without one.
   */
  pageSize?: number;
  /** Pages read past a miss in the same fill (default 16; 0 turns readahead off). */
  readaheadPages?: number;
  /**
   * Which member inode fills a miss in a shared space: 'reader' (default) the
   * inode being read when it is still a member, else the newest member;
   * 'newest' always the most recently joined live member, as the kernel's
   * erofs_real_inode() takes the head of the ishare list.
   */
  sharedFill?: 'reader' | 'newest';
}

const EMPTY = new Uint8Array(0);

/**
 * Page frames: page-sized slots of 1 MiB arenas, recycled as the kernel
 * recycles struct pages. A frame is (arena, byte offset): no view object per
 * page. Allocating an ArrayBuffer per page costs microseconds (external
 * memory, GC pressure) and dominated the miss path.
 *
 * `allocRun` hands out runs of adjacent frames, one run per folio. Freed
 * runs are kept whole, in lists by length (a folio dropped or unmounted
 * gives back one run; eviction gives back single frames): a fill takes a
 * free run of its length, or splits a longer one, or takes the longest
 * shorter one (the fill then has several folios); only when nothing is free
 * does it carve fresh frames from the current arena, in order (a run that
 * does not fit what is left of it starts a new arena and the rest of the old
 * one is kept as a free run; a run of 1 MiB or more gets an arena of its
 * own). Frames are kept for reuse (at most the peak resident bytes, so about
 * maxBytes), which also spares fills the cost of touching fresh memory;
 * PageCache.trim() gives them back when no page is in use.
 */
class FramePool {
  /** Free runs by length: runBufs[k][j], runOffs[k][j] is a run of k frames. */
  private readonly runBufs: Uint8Array[][] = [];
  private readonly runOffs: number[][] = [];
  /** Lengths that have free runs, ascending. */
  private readonly lengths: number[] = [];
  private freeFrames = 0;
  /** The arena fresh frames are carved from, and its next unused byte. */
  private arena: Uint8Array | null = null;
  private next = 0;
  live = 0;
  /** The run the last allocRun() gave: frames from runOff on in runBuf; runFresh: all zeros. */
  runBuf: Uint8Array = EMPTY;
  runOff = 0;
  runFresh = false;
  get freeCount(): number {
    return this.freeFrames + (this.arena === null ? 0 : (this.arena.length - this.next) / this.pageSize);
  }
  constructor(readonly pageSize: number) {}

  /** Allocates a run of 1..count adjacent frames (runBuf/runOff/runFresh); returns its length. */
  allocRun(count: number): number {
    if (this.freeFrames > 0) {
      const ls = this.lengths;
      // The shortest free run of at least `count` frames, else the longest one.
      let lo = 0;
      let hi = ls.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ls[mid]! < count) lo = mid + 1; else hi = mid;
      }
      const k = lo < ls.length ? ls[lo]! : ls[ls.length - 1]!;
      const bufs = this.runBufs[k]!;
      const offs = this.runOffs[k]!;
      const buf = bufs.pop()!;
      const off = offs.pop()!;
      if (bufs.length === 0) ls.splice(ls.indexOf(k), 1);
      this.freeFrames -= k;
      const n = Math.min(k, count);
      if (k > n) this.putRun(buf, off + n * this.pageSize, k - n);
      this.runBuf = buf;
      this.runOff = off;
      this.runFresh = false;
      this.live += n;
      return n;
    }
    const ps = this.pageSize;
    const arenaBytes = Math.max(ps, 1 << 20);
    const bytes = count * ps;
    this.runFresh = true;
    this.live += count;
    if (bytes >= arenaBytes) {
      // A big fill: an arena of its own, so it stays one backing read.
      this.runBuf = new Uint8Array(bytes);
      this.runOff = 0;
      return count;
    }
    let a = this.arena;
    if (a !== null && a.length - this.next < bytes) {
      // Keep runs whole: what is left of this arena serves later fills.
      this.putRun(a, this.next, (a.length - this.next) / ps);
      a = this.arena = null;
    }
    if (a === null) {
      a = this.arena = new Uint8Array(arenaBytes);
      this.next = 0;
    }
    this.runBuf = a;
    this.runOff = this.next;
    this.next += bytes;
    if (this.next === a.length) this.arena = null;
    return count;
  }

  /** Gives back `count` adjacent frames from `off` on. */
  release(buf: Uint8Array, off: number, count: number): void {
    this.live -= count;
    this.putRun(buf, off, count);
  }

  private putRun(buf: Uint8Array, off: number, count: number): void {
    let bufs = this.runBufs[count];
    if (bufs === undefined) {
      bufs = this.runBufs[count] = [];
      this.runOffs[count] = [];
    }
    if (bufs.length === 0) {
      const ls = this.lengths;
      let i = ls.length;
      while (i > 0 && ls[i - 1]! > count) i--;
      ls.splice(i, 0, count);
    }
    bufs.push(buf);
    this.runOffs[count]!.push(off);
    this.freeFrames += count;
  }
}

export function newCounters(): CacheCounters {
  return { hits: 0, misses: 0, fills: 0, fillPages: 0, evictions: 0, drops: 0 };
}

/** Folio states. */
const PENDING = 0;
const RESIDENT = 1;
/** Out of the cache (evicted, dropped, failed, or its space is gone): its frames go back at the last unpin. */
const GONE = 2;
type FolioState = typeof PENDING | typeof RESIDENT | typeof GONE;

/**
 * A run of pages [index, index + count) of one space, in adjacent frames
 * (bytes [off, off + count * pageSize) of the arena `buf`), filled by one
 * backing read: pending while the read runs, then resident and linked in
 * the cache's CLOCK ring.
 */
export class Folio {
  pins = 0;
  ref = false;
  state: FolioState = PENDING;
  /** The ring (resident); while pending, `next` chains the folios of one fill. */
  prev: Folio | null = null;
  next: Folio | null = null;
  /** While pending: settles (never rejects) when the fill is over. */
  promise: Promise<void> | null = null;
  /** Why the fill failed (readers waiting for it throw it). */
  failure: unknown = undefined;
  constructor(readonly space: AddressSpace, public index: number, public count: number, readonly buf: Uint8Array, public off: number) {}

  /** Resident (not being filled, not gone). */
  get resident(): boolean {
    return this.state === RESIDENT;
  }

  /** The folio's bytes, all its pages (a new view each call; the hot paths copy from buf/off). */
  get data(): Uint8Array {
    return this.buf.subarray(this.off, this.off + this.count * this.space.pageSize);
  }
}

/** A Map-like, read-only view of the resident folios of a space by page (for tests and tools). */
export interface PageView {
  /** The resident folio holding page i. */
  get(i: number): Folio | undefined;
  has(i: number): boolean;
  /** Resident pages. */
  readonly size: number;
  /** Each resident folio once, in page order. */
  values(): IterableIterator<Folio>;
}

/** File data of one inode (private), one shared inode, or one blob, in pages. */
export class AddressSpace implements CacheCounters {
  /**
   * Page index -> the folio holding it (resident or being filled), null
   * before the first fill: slots[j] === f exactly for j in [f.index, f.index + f.count).
   */
  slots: Array<Folio | undefined> | null = null;
  // Counters (the space is its own CacheCounters: no object per space).
  hits = 0;
  misses = 0;
  fills = 0;
  fillPages = 0;
  evictions = 0;
  drops = 0;
  residentPages = 0;
  dead = false;
  /** Set by owners: how many members use this space (for stats). */
  members = 1;
  /** Where evictions/drops of a private space are also counted (its mount). */
  owner: CacheCounters | null = null;
  /** Optional copy-free filler (preferred over `filler` when set). */
  fillInto: FillerInto | null = null;
  /** Opaque to the cache: what the owner's fillers read from (they get the space). */
  source: unknown = null;

  constructor(
    readonly cache: PageCache,
    /** The id, or its prefix when idKey is given (private spaces: no string per file until asked). */
    private readonly idBase: string,
    readonly kind: SpaceKind,
    readonly pageSize: number,
    readonly size: number,
    public filler: Filler,
    private readonly idKey: string = '',
  ) {}

  get id(): string {
    return this.idKey === '' ? this.idBase : this.idBase + this.idKey;
  }

  /** The space's counters (the space itself). */
  get counters(): CacheCounters {
    return this;
  }

  /** Number of pages covering `size`. */
  get pageCount(): number {
    return Math.ceil(this.size / this.pageSize);
  }

  /** True when page i is resident. */
  isResident(i: number): boolean {
    const f = this.slots === null ? undefined : this.slots[i];
    return f !== undefined && f.state === RESIDENT;
  }

  /** The bytes of resident page i (a view of its frame), or undefined. */
  pageData(i: number): Uint8Array | undefined {
    const f = this.slots === null ? undefined : this.slots[i];
    if (f === undefined || f.state !== RESIDENT) return undefined;
    const at = f.off + (i - f.index) * this.pageSize;
    return f.buf.subarray(at, at + this.pageSize);
  }

  /** Each folio once (resident or pending), in page order. */
  *folios(): IterableIterator<Folio> {
    const s = this.slots;
    if (s === null) return;
    for (let i = 0; i < s.length;) {
      const f = s[i];
      if (f === undefined) { i++; continue; }
      yield f;
      i = f.index + f.count;
    }
  }

  /** The resident pages, by index. */
  get pages(): PageView {
    const space = this;
    return {
      get: (i) => (space.isResident(i) ? space.slots![i] : undefined),
      has: (i) => space.isResident(i),
      get size() { return space.residentPages; },
      *values() { for (const f of space.folios()) if (f.state === RESIDENT) yield f; },
    };
  }

  /** Fills in flight, by page (a new map each call). */
  get pending(): ReadonlyMap<number, Folio> {
    const m = new Map<number, Folio>();
    for (const f of this.folios()) if (f.state === PENDING) for (let k = 0; k < f.count; k++) m.set(f.index + k, f);
    return m;
  }

  stats(): SpaceStats {
    return {
      id: this.id, kind: this.kind, pageSize: this.pageSize, size: this.size,
      residentPages: this.residentPages, residentBytes: this.residentPages * this.pageSize,
      members: this.members, hits: this.hits, misses: this.misses, fills: this.fills,
      fillPages: this.fillPages, evictions: this.evictions, drops: this.drops,
    };
  }
}

/**
 * The engine object several mounts share: it owns every address space, the
 * byte budget and the eviction ring. The sharing registries (inode-share and
 * blob spaces) hang off it too, so sharing happens between mounts of one
 * PageCache and never across two.
 */
export class PageCache {
  readonly maxBytes: number;
  readonly pageSize: number;
  /** True when pageSize was given: it then overrides image block sizes. */
  readonly fixedPageSize: boolean;
  readonly readaheadPages: number;
  readonly sharedFill: 'reader' | 'newest';
  readonly counters = newCounters();
  private residentBytes = 0;
  private residentPages = 0;
  private sharedBytes = 0;
  private overcommits = 0;
  /** The CLOCK ring of resident folios, and its length. */
  private head: Folio | null = null;
  private tail: Folio | null = null;
  private ringLength = 0;
  private readonly spaces = new Set<AddressSpace>();
  private readonly pools = new Map<number, FramePool>();
  /** The pool of the last page size asked for (almost always the only one). */
  private lastPool: FramePool | null = null;
  private nextId = 1;
  /** Registries of the sharing layers, keyed by their module (kept here so they die with the cache). */
  private readonly registries = new Map<string, unknown>();

  constructor(opts: PageCacheOptions) {
    if (!(opts.maxBytes >= 0)) throw new ErofsError('EINVAL', 'PageCache maxBytes must be >= 0');
    this.maxBytes = opts.maxBytes;
    this.pageSize = opts.pageSize ?? 4096;
    this.fixedPageSize = opts.pageSize !== undefined;
    if (this.pageSize < 512 || (this.pageSize & (this.pageSize - 1)) !== 0) {
      throw new ErofsError('EINVAL', `page size ${this.pageSize} is not a power of two >= 512`);
    }
    this.readaheadPages = opts.readaheadPages ?? 16;
    this.sharedFill = opts.sharedFill ?? 'reader';
  }

  private pool(pageSize: number): FramePool {
    const last = this.lastPool;
    if (last !== null && last.pageSize === pageSize) return last;
    let p = this.pools.get(pageSize);
    if (p === undefined) {
      p = new FramePool(pageSize);
      this.pools.set(pageSize, p);
    }
    this.lastPool = p;
    return p;
  }

  /** Frees the frame pools of page sizes with no page in use; returns the bytes let go. */
  trim(): number {
    let n = 0;
    for (const [ps, p] of this.pools) {
      if (p.live === 0) {
        n += p.freeCount * ps;
        this.pools.delete(ps);
        if (this.lastPool === p) this.lastPool = null;
      }
    }
    return n;
  }

  /** Bytes of page frames allocated (resident, held by reads, or free for reuse). */
  frameBytes(): number {
    let n = 0;
    for (const [ps, p] of this.pools) n += p.live * ps;
    return n;
  }

  /** The sharing registry named `name` of this cache, created on first use. */
  registry<T>(name: string, create: (cache: PageCache) => T): T {
    let r = this.registries.get(name) as T | undefined;
    if (r === undefined) {
      r = create(this);
      this.registries.set(name, r);
    }
    return r;
  }

  /** A unique number for space ids. */
  nextSerial(): number {
    return this.nextId++;
  }

  /**
   * Creates an address space (freed with dropSpace). With `idKey`, the id is
   * `id + idKey`, joined only when asked for.
   */
  createSpace(id: string, kind: SpaceKind, size: number, filler: Filler, pageSize = this.pageSize, idKey = ''): AddressSpace {
    // `| 0`: a page size computed as 2 ** bits is a heap number, which would box the field in every space.
    const s = new AddressSpace(this, id, kind, pageSize | 0, size, filler, idKey);
    this.spaces.add(s);
    return s;
  }

  /** Frees a space and all its pages; later fills for it are discarded. */
  dropSpace(space: AddressSpace): void {
    if (space.dead) return;
    for (const f of space.folios()) {
      // Pending folios are discarded when their fill ends (the space is dead by then).
      if (f.state !== RESIDENT) continue;
      this.unlink(f);
      this.gone(f);
    }
    space.slots = null;
    space.residentPages = 0;
    space.dead = true;
    this.spaces.delete(space);
  }

  /** Every live space (for stats and reports). */
  allSpaces(): AddressSpace[] {
    return [...this.spaces];
  }

  stats(): CacheStats {
    return {
      maxBytes: this.maxBytes, residentBytes: this.residentBytes, residentPages: this.residentPages,
      sharedBytes: this.sharedBytes, spaces: this.spaces.size, overcommits: this.overcommits, ...this.counters,
    };
  }

  /**
   * Copies space bytes [pos, pos + len) (clipped to its size) into
   * out[outOff...]. Returns the byte count synchronously when every page is
   * resident, else a promise of it.
   */
  readInto(space: AddressSpace, pos: number, len: number, out: Uint8Array, outOff: number, ctx: ReadContext): number | Promise<number> {
    if (space.dead) throw new ErofsError('EIO', 'read from a freed address space', space.id);
    const end = Math.min(pos + len, space.size);
    if (!(end > pos)) return 0;
    const ps = space.pageSize;
    const last = Math.floor((end - 1) / ps);
    let i = Math.floor(pos / ps);
    let p = pos;
    let o = outOff;
    const slots = space.slots;
    if (slots !== null) {
      let hits = 0;
      // Runs of adjacent frames (one folio, or folios filled one after the other) are copied in one set().
      let run: Uint8Array = EMPTY;
      let runStart = 0;
      let runLen = 0;
      while (i <= last) {
        const f = slots[i];
        if (f === undefined || f.state !== RESIDENT) break;
        f.ref = true;
        const stop = Math.min(f.index + f.count, last + 1);
        const e = stop > last ? end : stop * ps;
        const s = f.off + (p - f.index * ps);
        if (f.buf === run && s === runStart + runLen) {
          runLen += e - p;
        } else {
          if (runLen > 0) o = flush(out, o, run, runStart, runLen);
          run = f.buf;
          runStart = s;
          runLen = e - p;
        }
        hits += stop - i;
        p = e;
        i = stop;
      }
      if (runLen > 0) o = flush(out, o, run, runStart, runLen);
      if (hits > 0) {
        space.hits += hits;
        ctx.counters.hits += hits;
        this.counters.hits += hits;
      }
    }
    if (i > last) return end - pos;
    return this.readSlow(space, i, last, p, end, out, o, ctx, end - pos);
  }

  /** Pages [from, last]: pin resident folios, join or start fills for the rest, then copy. */
  private async readSlow(space: AddressSpace, from: number, last: number, p: number, end: number,
    out: Uint8Array, o: number, ctx: ReadContext, total: number): Promise<number> {
    // The folios held, in page order: the first one, then the rest (rarely any).
    let h0: Folio | null = null;
    let hs: Folio[] | null = null;
    let hits = 0;
    let misses = 0;
    for (let i = from; i <= last;) {
      let f = space.slots === null ? undefined : space.slots[i];
      if (f === undefined) f = this.startFill(space, i, last, ctx);
      const stop = Math.min(f.index + f.count, last + 1);
      if (f.state === RESIDENT) {
        f.ref = true;
        hits += stop - i;
      } else {
        misses += stop - i;
      }
      f.pins++;
      if (h0 === null) h0 = f;
      else (hs ??= []).push(f);
      i = stop;
    }
    if (hits > 0) { space.hits += hits; ctx.counters.hits += hits; this.counters.hits += hits; }
    space.misses += misses; ctx.counters.misses += misses; this.counters.misses += misses;
    const f0 = h0!;
    try {
      if (f0.promise !== null) await f0.promise;
      if (f0.failure !== undefined) throw f0.failure;
      if (hs !== null) {
        for (const f of hs) {
          if (f.promise !== null) await f.promise;
          if (f.failure !== undefined) throw f.failure;
        }
      }
      const ps = space.pageSize;
      o = copyFolio(f0, ps, p, end, out, o);
      p = Math.min(end, (f0.index + f0.count) * ps);
      if (hs !== null) {
        for (const f of hs) {
          o = copyFolio(f, ps, p, end, out, o);
          p = Math.min(end, (f.index + f.count) * ps);
        }
      }
    } finally {
      this.unpin(f0);
      if (hs !== null) for (const f of hs) this.unpin(f);
    }
    return total;
  }

  /**
   * Starts one backing read for the run of missing pages from `first`, plus
   * readahead: one folio (or a few, when recycled frames are scattered).
   * Returns the folio holding page `first`.
   */
  private startFill(space: AddressSpace, first: number, lastWanted: number, ctx: ReadContext): Folio {
    const lastPage = space.pageCount - 1;
    const limit = Math.min(lastPage, lastWanted + this.readaheadPages);
    let slots = space.slots;
    let stop = first + 1;
    if (slots === null) {
      stop = limit + 1;
      // Exact length for most files; large ones grow as they are read.
      slots = space.slots = lastPage < 4096 ? new Array<Folio | undefined>(lastPage + 1) : [];
    } else {
      while (stop <= limit && slots[stop] === undefined) stop++;
    }
    const count = stop - first;
    space.fills++; ctx.counters.fills++; this.counters.fills++;
    space.fillPages += count; ctx.counters.fillPages += count; this.counters.fillPages += count;
    const pool = this.pool(space.pageSize);
    let head: Folio | null = null;
    let prev: Folio | null = null;
    let fresh = true;
    for (let at = first; at < stop;) {
      const k = pool.allocRun(stop - at);
      const f = new Folio(space, at, k, pool.runBuf, pool.runOff);
      fresh = pool.runFresh;
      for (let j = 0; j < k; j++) slots[at + j] = f;
      if (prev === null) head = f;
      else prev.next = f;
      prev = f;
      at += k;
    }
    const h = head!;
    const promise = this.runFill(space, h, first, count, ctx, !fresh);
    // The fill may already be over (a filler that throws at once): then nothing waits.
    for (let f: Folio | null = h, left = count; f !== null && left > 0 && f.state === PENDING; f = f.next) {
      f.promise = promise;
      left -= f.count;
    }
    return h;
  }

  /**
   * Runs the backing read of one fill into its folios' frames: straight into
   * them with a FillerInto (through one scratch buffer when recycled frames
   * split the fill into several folios), else through the
   * byte filler and a copy. Settles, never rejects: a failure is left in
   * each folio's `failure`.
   */
  private async runFill(space: AddressSpace, head: Folio, first: number, count: number, ctx: ReadContext, zeroTail: boolean): Promise<void> {
    const ps = space.pageSize;
    const want = Math.min(space.size, (first + count) * ps) - first * ps;
    let failure: unknown = undefined;
    try {
      const into = space.fillInto;
      if (into !== null) {
        if (head.count === count) {
          checkCount(await into(first, count, head.buf, head.off, ctx, space), want, first, count, space);
        } else {
          // Frames in several runs (recycled ones): still one backing read (one decompression), through a scratch buffer.
          const scratch = new Uint8Array(want);
          checkCount(await into(first, count, scratch, 0, ctx, space), want, first, count, space);
          for (let f: Folio | null = head; f !== null; f = f.next) {
            const s0 = (f.index - first) * ps;
            f.buf.set(scratch.subarray(s0, Math.min(want, s0 + f.count * ps)), f.off);
          }
        }
      } else {
        const bytes = await space.filler(first, count, ctx, space);
        if (!(bytes instanceof Uint8Array) || bytes.length < want) {
          throw new ErofsError('EIO', `short read filling pages ${first}..${first + count - 1} (${bytes?.length} < ${want})`, space.id);
        }
        for (let f: Folio | null = head; f !== null; f = f.next) {
          const s0 = (f.index - first) * ps;
          const e0 = Math.min(want, s0 + f.count * ps);
          f.buf.set(s0 === 0 && e0 === bytes.length ? bytes : bytes.subarray(s0, e0), f.off);
        }
      }
      // Bytes past end of file read as zeros: fresh frames already are.
      const tail = want - (count - 1) * ps;
      if (zeroTail && tail < ps) {
        let f = head;
        while (f.next !== null) f = f.next;
        const at = f.off + (f.count - 1) * ps;
        f.buf.fill(0, at + tail, at + ps);
      }
    } catch (e) {
      failure = e ?? new ErofsError('EIO', 'fill failed', space.id);
    }
    this.fillDone(space, head, count, failure);
  }

  /** A fill is over: its folios become resident, or go (failed, or the space is gone). */
  private fillDone(space: AddressSpace, head: Folio, count: number, failure: unknown): void {
    let f: Folio | null = head;
    for (let left = count; f !== null && left > 0;) {
      const next: Folio | null = f.next;
      f.next = null;
      left -= f.count;
      if (failure === undefined) f.promise = null;
      if (failure === undefined && !space.dead) {
        f.state = RESIDENT;
        this.insert(f);
      } else {
        f.failure = failure;
        const slots = space.slots;
        if (slots !== null) for (let j = 0; j < f.count; j++) if (slots[f.index + j] === f) slots[f.index + j] = undefined;
        this.gone(f);
      }
      f = next;
    }
  }

  /** A folio leaves the cache: its frames go back now, or at its last unpin. */
  private gone(f: Folio): void {
    f.state = GONE;
    if (f.pins === 0 && f.count > 0) this.pool(f.space.pageSize).release(f.buf, f.off, f.count);
  }

  /** A read is done with a folio. */
  private unpin(f: Folio): void {
    if (f.pins > 0 && --f.pins === 0 && f.state === GONE && f.count > 0) {
      this.pool(f.space.pageSize).release(f.buf, f.off, f.count);
    }
  }

  private insert(f: Folio): void {
    const space = f.space;
    const bytes = f.count * space.pageSize;
    while (this.residentBytes + bytes > this.maxBytes) {
      if (!this.evictOne()) { this.overcommits++; break; }
    }
    space.residentPages += f.count;
    this.residentPages += f.count;
    this.residentBytes += bytes;
    if (space.kind !== 'private') this.sharedBytes += bytes;
    this.link(f, this.tail);
  }

  /** Links a folio into the ring after `after` (null: at the head). */
  private link(f: Folio, after: Folio | null): void {
    f.prev = after;
    f.next = after === null ? this.head : after.next;
    if (f.next !== null) f.next.prev = f; else this.tail = f;
    if (after !== null) after.next = f; else this.head = f;
    this.ringLength++;
  }

  /** Removes a folio from the ring and the accounting (not from its space's slots). */
  private unlink(f: Folio): void {
    if (f.prev) f.prev.next = f.next; else this.head = f.next;
    if (f.next) f.next.prev = f.prev; else this.tail = f.prev;
    f.prev = f.next = null;
    this.ringLength--;
    this.account(f.space, -f.count);
  }

  private account(space: AddressSpace, pages: number): void {
    const bytes = pages * space.pageSize;
    space.residentPages += pages;
    this.residentPages += pages;
    this.residentBytes += bytes;
    if (space.kind !== 'private') this.sharedBytes += bytes;
  }

  /**
   * Takes pages [a, b) out of resident, unpinned folio f (a whole folio, its
   * head, its tail, or its middle, which splits it) and frees their frames.
   */
  private removePages(f: Folio, a: number, b: number): void {
    const space = f.space;
    const ps = space.pageSize;
    const slots = space.slots!;
    const end = f.index + f.count;
    if (a === f.index && b === end) {
      for (let j = a; j < b; j++) slots[j] = undefined;
      this.unlink(f);
      this.gone(f);
      return;
    }
    for (let j = a; j < b; j++) slots[j] = undefined;
    const pool = this.pool(ps);
    const at = f.off + (a - f.index) * ps;
    if (a === f.index) {
      f.index = b;
      f.off += (b - a) * ps;
      f.count = end - b;
    } else if (b === end) {
      f.count = a - f.index;
    } else {
      const t = new Folio(space, b, end - b, f.buf, f.off + (b - f.index) * ps);
      t.state = RESIDENT;
      t.ref = f.ref;
      for (let j = b; j < end; j++) slots[j] = t;
      f.count = a - f.index;
      // The tail takes its place right after f in the ring (accounted by f until now).
      this.link(t, f);
    }
    pool.release(f.buf, at, b - a);
    this.account(space, -(b - a));
  }

  /** CLOCK: skip pinned folios, give referenced ones a second chance; evicts one page. */
  private evictOne(): boolean {
    let budget = this.ringLength * 2 + 1;
    while (this.head !== null && budget-- > 0) {
      const f = this.head;
      if (f.pins > 0 || f.ref) {
        f.ref = false;
        if (f !== this.tail) {
          this.head = f.next;
          this.head!.prev = null;
          f.prev = this.tail;
          f.next = null;
          this.tail!.next = f;
          this.tail = f;
        }
        continue;
      }
      const space = f.space;
      this.removePages(f, f.index, f.index + 1);
      space.evictions++;
      if (space.owner) space.owner.evictions++;
      this.counters.evictions++;
      return true;
    }
    return false;
  }

  /**
   * Drops the unpinned pages of `space` overlapping bytes [pos, pos + len)
   * (len 0: to the end), as invalidate_mapping_pages() does for
   * POSIX_FADV_DONTNEED. Returns the number of pages dropped.
   */
  dropRange(space: AddressSpace, pos = 0, len = 0): number {
    if (space.dead) return 0;
    // Like generic_fadvise(): partial pages at either end stay, except the
    // last page of the file when the range reaches end of file.
    const ps = space.pageSize;
    const first = Math.ceil(pos / ps);
    const lastExcl = len > 0 && pos + len < space.size ? Math.floor((pos + len) / ps) : Infinity;
    let dropped = 0;
    for (const f of [...space.folios()]) {
      if (f.state !== RESIDENT || f.pins > 0) continue;
      const a = Math.max(first, f.index);
      const b = Math.min(lastExcl, f.index + f.count);
      if (a >= b) continue;
      this.removePages(f, a, b);
      dropped += b - a;
    }
    space.drops += dropped;
    if (space.owner) space.owner.drops += dropped;
    this.counters.drops += dropped;
    return dropped;
  }

  /** Drops every unpinned page of every space (echo 1 > drop_caches). */
  dropCaches(): number {
    let n = 0;
    for (const s of this.spaces) n += this.dropRange(s);
    return n;
  }
}

/** A FillerInto's answer, when it is a count, must be the whole range. */
function checkCount(n: unknown, want: number, first: number, count: number, space: AddressSpace): void {
  if (typeof n === 'number' && n !== want) {
    throw new ErofsError('EIO', `short read filling pages ${first}..${first + count - 1} (${n} < ${want})`, space.id);
  }
}

/** Copies the bytes of folio f in [p, end) (p inside f) to out[o...]; returns the new o. */
function copyFolio(f: Folio, ps: number, p: number, end: number, out: Uint8Array, o: number): number {
  const e = Math.min(end, (f.index + f.count) * ps);
  if (e <= p) return o;
  return flush(out, o, f.buf, f.off + (p - f.index * ps), e - p);
}

/** Copies arena bytes [start, start + len) (a frame or a run of adjacent frames) to out[o...]; returns the new o. */
function flush(out: Uint8Array, o: number, arena: Uint8Array, start: number, len: number): number {
  out.set(start === 0 && len === arena.length ? arena : arena.subarray(start, start + len), o);
  return o + len;
}
