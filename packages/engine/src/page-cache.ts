/**
 * The page cache: address spaces of fixed-size pages under one byte budget,
 * CLOCK (second chance) eviction, readahead, and one fill per missing page no
 * matter how many readers want it.
 *
 * Hot path: a read whose pages are all resident is served synchronously
 * (`readInto` returns a number, not a promise) with one copy per page straight
 * into the caller's buffer and a reference bit set; no promise, no allocation
 * for whole pages.
 *
 * Page lifetime: a page is never evicted while a read holds it (`pins`). A
 * reader pins resident pages it needs before it waits for a fill, and a fill
 * inserts its pages already pinned once per waiting reader, so the bytes a read
 * copies are the bytes it saw resident. Dropping a whole space (last member
 * gone) removes its pages from the accounting even if pinned: readers in
 * flight keep their references and finish; nothing new is inserted.
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
 * filled straight into their page frames.
 */
export type FillerInto = (first: number, count: number, dst: Uint8Array, dstOff: number, ctx: ReadContext, space: AddressSpace) => Promise<void>;

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

/**
 * Page frames: page-sized slots of 1 MiB arenas, recycled through a free
 * list, as the kernel recycles struct pages. A frame is (arena, byte offset):
 * no view object per page, so the live heap stays small (a view per page
 * added an object for every major GC to mark). Allocating a fresh
 * ArrayBuffer per page costs microseconds (external memory, GC pressure) and
 * dominated the miss path. Fresh frames are carved from the current arena in
 * order, so the frames of one fill are usually adjacent and the fill reads
 * them in one backing call (a fill of 1 MiB or more gets an arena of its
 * own); recycled frames are used first. Frames are kept for reuse (at most
 * the peak resident bytes, so about maxBytes); PageCache.trim() gives them
 * back when no page is in use.
 */
class FramePool {
  private readonly freeBuf: Uint8Array[] = [];
  private readonly freeOff: number[] = [];
  /** The arena fresh frames are carved from, and its next unused byte. */
  private arena: Uint8Array | null = null;
  private next = 0;
  live = 0;
  get freeCount(): number {
    return this.freeBuf.length + (this.arena === null ? 0 : (this.arena.length - this.next) / this.pageSize);
  }
  constructor(readonly pageSize: number) {}

  /**
   * Puts `count` frames in bufs/offs[0..count): recycled ones first, then
   * fresh adjacent ones (which are all zeros). Returns how many were recycled.
   */
  allocMany(count: number, bufs: Uint8Array[], offs: number[]): number {
    let k = 0;
    const fb = this.freeBuf;
    const fo = this.freeOff;
    while (k < count && fb.length > 0) {
      bufs[k] = fb.pop()!;
      offs[k] = fo.pop()!;
      k++;
    }
    this.live += k;
    if (k < count) this.allocFresh(count - k, bufs, offs, k);
    return k;
  }

  /** Fresh frames: the rest of the current arena, then a new one (at most two runs of adjacent frames). */
  private allocFresh(n: number, bufs: Uint8Array[], offs: number[], at: number): void {
    const ps = this.pageSize;
    const arenaBytes = Math.max(ps, 1 << 20);
    this.live += n;
    while (n > 0) {
      let a = this.arena;
      if (a === null) {
        if (n * ps >= arenaBytes) {
          // A big fill: an arena of its own, so it stays one backing read.
          const big = new Uint8Array(n * ps);
          for (let i = 0; i < n; i++) {
            bufs[at + i] = big;
            offs[at + i] = i * ps;
          }
          return;
        }
        a = this.arena = new Uint8Array(arenaBytes);
        this.next = 0;
      }
      const k = Math.min(n, (a.length - this.next) / ps);
      for (let i = 0; i < k; i++) {
        bufs[at + i] = a;
        offs[at + i] = this.next;
        this.next += ps;
      }
      if (this.next === a.length) this.arena = null;
      at += k;
      n -= k;
    }
  }

  release(buf: Uint8Array, off: number, live = true): void {
    if (live) this.live--;
    this.freeBuf.push(buf);
    this.freeOff.push(off);
  }
}

const NO_FILLS: ReadonlyMap<number, FillEntry> = new Map();

/** A fill is over: its pages are no longer pending. */
function fillDone(space: AddressSpace, entry: FillEntry): void {
  const map = space.fills;
  if (map === null) return;
  for (let k = 0; k < entry.count; k++) if (map.get(entry.first + k) === entry) map.delete(entry.first + k);
  if (map.size === 0) space.fills = null;
}

/**
 * The resident pages of a space by index: a Map-like table over a plain
 * array (a Map costs a hash table per space and about three words per
 * entry; most spaces are small files read whole).
 */
export class PageTable {
  private slots: Array<Page | undefined> = [];
  size = 0;
  get(i: number): Page | undefined {
    return i < this.slots.length ? this.slots[i] : undefined;
  }
  has(i: number): boolean {
    return i < this.slots.length && this.slots[i] !== undefined;
  }
  set(i: number, pg: Page): void {
    const slots = this.slots;
    if (slots.length === 0 && i === 0) {
      this.slots = [pg]; // exact capacity: most files are one or a few pages
      this.size = 1;
      return;
    }
    if (i < slots.length) {
      if (slots[i] === undefined) this.size++;
    } else {
      // Fill short gaps so the array stays packed (far-away pages make it sparse, which still works).
      while (slots.length < i && i - slots.length < 4096) slots.push(undefined);
      this.size++;
    }
    slots[i] = pg;
  }
  delete(i: number): boolean {
    if (i >= this.slots.length || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    if (--this.size === 0) this.slots = [];
    return true;
  }
  *values(): IterableIterator<Page> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const p = slots[i];
      if (p !== undefined) yield p;
    }
  }
  clear(): void {
    this.slots = [];
    this.size = 0;
  }
}

export function newCounters(): CacheCounters {
  return { hits: 0, misses: 0, fills: 0, fillPages: 0, evictions: 0, drops: 0 };
}

/** A resident page, linked in the cache's CLOCK ring. */
export class Page {
  pins = 0;
  ref = false;
  /** Removed from the cache while pinned: its frame is freed at the last unpin. */
  detached = false;
  prev: Page | null = null;
  next: Page | null = null;
  /** The frame: bytes [off, off + pageSize) of the arena `buf`. */
  constructor(readonly space: AddressSpace, readonly index: number, readonly buf: Uint8Array, readonly off: number) {}

  /** The page's bytes (a new view each call; the hot paths copy from buf/off). */
  get data(): Uint8Array {
    return this.buf.subarray(this.off, this.off + this.space.pageSize);
  }
}

export interface FillEntry {
  first: number;
  count: number;
  /** Readers waiting per page of the run: the pins each inserted page starts with. */
  waiters: number[];
  /** Filled pages (inserted or not), set when the fill succeeds. */
  pages: Page[] | null;
  promise: Promise<void>;
}

/** File data of one inode (private), one shared inode, or one blob, in pages. */
export class AddressSpace {
  readonly pages = new PageTable();
  /** Fills in flight by page; null when there are none (most spaces, most of the time). */
  fills: Map<number, FillEntry> | null = null;
  readonly counters = newCounters();
  residentPages = 0;
  dead = false;
  /** Set by owners: how many members use this space (for stats). */
  members = 1;
  /** Where evictions/drops of a private space are also counted (its mount). */
  owner: CacheCounters | null = null;

  constructor(
    readonly cache: PageCache,
    readonly id: string,
    readonly kind: SpaceKind,
    readonly pageSize: number,
    readonly size: number,
    public filler: Filler,
  ) {}

  /** Optional copy-free filler (preferred over `filler` when set). */
  fillInto: FillerInto | null = null;
  /** Opaque to the cache: what the owner's fillers read from (they get the space). */
  source: unknown = null;

  /** Fills in flight, by page (read-only view). */
  get pending(): ReadonlyMap<number, FillEntry> {
    return this.fills ?? NO_FILLS;
  }

  /** Number of pages covering `size`. */
  get pageCount(): number {
    return Math.ceil(this.size / this.pageSize);
  }

  stats(): SpaceStats {
    return {
      id: this.id, kind: this.kind, pageSize: this.pageSize, size: this.size,
      residentPages: this.residentPages, residentBytes: this.residentPages * this.pageSize,
      members: this.members, ...this.counters,
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
  private head: Page | null = null;
  private tail: Page | null = null;
  private readonly spaces = new Set<AddressSpace>();
  private readonly pools = new Map<number, FramePool>();
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
    let p = this.pools.get(pageSize);
    if (p === undefined) {
      p = new FramePool(pageSize);
      this.pools.set(pageSize, p);
    }
    return p;
  }

  /** Returns a page's frame to its pool now, or at its last unpin when pinned. */
  private release(pg: Page): void {
    if (pg.pins > 0) {
      pg.detached = true;
      return;
    }
    const pool = this.pools.get(pg.space.pageSize)!;
    pool.release(pg.buf, pg.off);
  }

  /** Frees the frame pools of page sizes with no page in use; returns the bytes let go. */
  trim(): number {
    let n = 0;
    for (const [ps, p] of this.pools) {
      if (p.live === 0) {
        n += p.freeCount * ps;
        this.pools.delete(ps);
      }
    }
    return n;
  }

  /** A read is done with a page. */
  private unpin(pg: Page): void {
    if (pg.pins > 0 && --pg.pins === 0 && pg.detached) {
      pg.detached = false;
      this.release(pg);
    }
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

  /** Creates an address space (freed with dropSpace). */
  createSpace(id: string, kind: SpaceKind, size: number, filler: Filler, pageSize = this.pageSize): AddressSpace {
    const s = new AddressSpace(this, id, kind, pageSize, size, filler);
    this.spaces.add(s);
    return s;
  }

  /** Frees a space and all its pages; later fills for it are discarded. */
  dropSpace(space: AddressSpace): void {
    if (space.dead) return;
    for (const p of space.pages.values()) {
      this.unlink(p);
      this.release(p);
    }
    space.pages.clear();
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
    const pages = space.pages;
    let i = Math.floor(pos / ps);
    let p = pos;
    let o = outOff;
    let hits = 0;
    // Pages whose frames are adjacent (filled together) are copied in one set().
    let run: Uint8Array | null = null;
    let runStart = 0;
    let runLen = 0;
    for (; i <= last; i++) {
      const pg = pages.get(i);
      if (pg === undefined) break;
      pg.ref = true;
      const base = i * ps;
      const s = p - base;
      const e = i === last ? end - base : ps;
      if (pg.buf === run && pg.off === runStart + runLen) {
        runLen += e; // s is 0 past the first page
      } else {
        if (run !== null) o = flush(out, o, run, runStart, runLen);
        run = pg.buf;
        runStart = pg.off + s;
        runLen = e - s;
      }
      p = base + e;
      hits++;
    }
    if (run !== null) o = flush(out, o, run, runStart, runLen);
    space.counters.hits += hits;
    ctx.counters.hits += hits;
    this.counters.hits += hits;
    if (i > last) return end - pos;
    return this.readSlow(space, i, last, p, end, out, o, ctx).then(() => end - pos);
  }

  /** Pages [from, last]: pin resident ones, join or start fills for the rest, then copy. */
  private async readSlow(space: AddressSpace, from: number, last: number, p: number, end: number,
    out: Uint8Array, o: number, ctx: ReadContext): Promise<void> {
    const n = last - from + 1;
    const held: Array<Page | FillEntry> = new Array(n);
    const waits: Promise<void>[] = [];
    let hits = 0;
    let misses = 0;
    for (let i = from; i <= last; i++) {
      const pg = space.pages.get(i);
      if (pg !== undefined) {
        pg.pins++;
        pg.ref = true;
        held[i - from] = pg;
        hits++;
        continue;
      }
      misses++;
      let entry = space.fills?.get(i);
      if (entry === undefined) {
        entry = this.startFill(space, i, last, ctx);
        waits.push(entry.promise);
      } else if (!waits.includes(entry.promise)) {
        waits.push(entry.promise);
      }
      entry.waiters[i - entry.first]!++;
      held[i - from] = entry;
    }
    space.counters.hits += hits; ctx.counters.hits += hits; this.counters.hits += hits;
    space.counters.misses += misses; ctx.counters.misses += misses; this.counters.misses += misses;
    const settled = await Promise.allSettled(waits);
    // Resolve every slot to its page first so that all pins are released even on failure.
    const got: Array<Page | null> = new Array(n);
    for (let k = 0; k < n; k++) {
      const h = held[k]!;
      if (h instanceof Page) got[k] = h;
      else got[k] = h.pages ? h.pages[from + k - h.first]! : null;
    }
    try {
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
      const ps = space.pageSize;
      let run: Uint8Array | null = null;
      let runStart = 0;
      let runLen = 0;
      for (let k = 0; k < n; k++) {
        const i = from + k;
        const pg = got[k]!;
        const base = i * ps;
        const s = p - base;
        const e = i === last ? end - base : ps;
        if (pg.buf === run && pg.off === runStart + runLen) {
          runLen += e;
        } else {
          if (run !== null) o = flush(out, o, run, runStart, runLen);
          run = pg.buf;
          runStart = pg.off + s;
          runLen = e - s;
        }
        p = base + e;
      }
      if (run !== null) flush(out, o, run, runStart, runLen);
    } finally {
      for (const g of got) if (g !== null) this.unpin(g);
    }
  }

  /** Starts one backing read for the run of missing pages from `first`, plus readahead. */
  private startFill(space: AddressSpace, first: number, lastWanted: number, ctx: ReadContext): FillEntry {
    const lastPage = space.pageCount - 1;
    const limit = Math.min(lastPage, lastWanted + this.readaheadPages);
    let stop = first + 1;
    const fills = space.fills;
    while (stop <= limit && !space.pages.has(stop) && !(fills !== null && fills.has(stop))) stop++;
    const count = stop - first;
    const entry: FillEntry = { first, count, waiters: new Array<number>(count).fill(0), pages: null, promise: undefined as unknown as Promise<void> };
    const map = (space.fills ??= new Map());
    for (let k = 0; k < count; k++) map.set(first + k, entry);
    space.counters.fills++; ctx.counters.fills++; this.counters.fills++;
    space.counters.fillPages += count; ctx.counters.fillPages += count; this.counters.fillPages += count;
    entry.promise = this.runFill(space, entry, ctx);
    return entry;
  }

  private async runFill(space: AddressSpace, entry: FillEntry, ctx: ReadContext): Promise<void> {
    if (space.fillInto !== null) return this.runFillInto(space, space.fillInto, entry, ctx);
    const { first, count } = entry;
    const ps = space.pageSize;
    try {
      const bytes = await space.filler(first, count, ctx, space);
      const want = Math.min(space.size, (first + count) * ps) - first * ps;
      if (!(bytes instanceof Uint8Array) || bytes.length < want) {
        throw new ErofsError('EIO', `short read filling pages ${first}..${first + count - 1} (${bytes?.length} < ${want})`, space.id);
      }
      const pool = this.pool(ps);
      const bufs: Uint8Array[] = new Array(count);
      const offs: number[] = new Array(count);
      const recycled = pool.allocMany(count, bufs, offs);
      const pages: Page[] = new Array(count);
      for (let k = 0; k < count; k++) {
        const buf = bufs[k]!;
        const off = offs[k]!;
        const s0 = k * ps;
        const e0 = Math.min(s0 + ps, want);
        buf.set(s0 === 0 && e0 === bytes.length ? bytes : bytes.subarray(s0, e0), off);
        if (e0 - s0 < ps && k < recycled) buf.fill(0, off + e0 - s0, off + ps);
        const pg = new Page(space, first + k, buf, off);
        pg.pins = entry.waiters[k]!;
        pages[k] = pg;
      }
      entry.pages = pages;
      if (!space.dead) for (const pg of pages) this.insert(pg);
      else for (const pg of pages) this.release(pg);
    } finally {
      fillDone(space, entry);
    }
  }

  /**
   * runFill for spaces with a FillerInto: the backing writes straight into
   * the page frames, one call per run of adjacent frames (a cold pool gives
   * one run). Frames scattered by recycling are filled through one scratch
   * buffer instead, so a fill stays a handful of backing calls.
   */
  private async runFillInto(space: AddressSpace, fill: FillerInto, entry: FillEntry, ctx: ReadContext): Promise<void> {
    const { first, count } = entry;
    const ps = space.pageSize;
    const want = Math.min(space.size, (first + count) * ps) - first * ps;
    const pool = this.pool(ps);
    const bufs: Uint8Array[] = new Array(count);
    const offs: number[] = new Array(count);
    const recycled = pool.allocMany(count, bufs, offs);
    let ok = false;
    try {
      let runs = 1;
      for (let k = 1; k < count; k++) if (bufs[k] !== bufs[k - 1] || offs[k] !== offs[k - 1]! + ps) runs++;
      if (runs === 1) {
        await fill(first, count, bufs[0]!, offs[0]!, ctx, space);
      } else if (runs <= 4) {
        const jobs: Promise<void>[] = [];
        for (let k = 0; k < count;) {
          let j = k + 1;
          while (j < count && bufs[j] === bufs[j - 1] && offs[j] === offs[j - 1]! + ps) j++;
          jobs.push(fill(first + k, j - k, bufs[k]!, offs[k]!, ctx, space));
          k = j;
        }
        await Promise.all(jobs);
      } else {
        const scratch = new Uint8Array(want);
        await fill(first, count, scratch, 0, ctx, space);
        for (let k = 0; k < count; k++) bufs[k]!.set(scratch.subarray(k * ps, Math.min(want, (k + 1) * ps)), offs[k]!);
      }
      // Bytes past end of file read as zeros: fresh frames already are.
      const tail = want - (count - 1) * ps;
      if (tail < ps && recycled === count) bufs[count - 1]!.fill(0, offs[count - 1]! + tail, offs[count - 1]! + ps);
      const pages: Page[] = new Array(count);
      for (let k = 0; k < count; k++) {
        const pg = new Page(space, first + k, bufs[k]!, offs[k]!);
        pg.pins = entry.waiters[k]!;
        pages[k] = pg;
      }
      entry.pages = pages;
      ok = true;
      if (!space.dead) for (const pg of pages) this.insert(pg);
      else for (const pg of pages) this.release(pg);
    } finally {
      if (!ok) for (let k = 0; k < count; k++) pool.release(bufs[k]!, offs[k]!);
      fillDone(space, entry);
    }
  }

  private insert(pg: Page): void {
    const space = pg.space;
    const ps = space.pageSize;
    while (this.residentBytes + ps > this.maxBytes) {
      if (!this.evictOne()) { this.overcommits++; break; }
    }
    space.pages.set(pg.index, pg);
    space.residentPages++;
    this.residentPages++;
    this.residentBytes += ps;
    if (space.kind !== 'private') this.sharedBytes += ps;
    pg.prev = this.tail;
    pg.next = null;
    if (this.tail) this.tail.next = pg; else this.head = pg;
    this.tail = pg;
  }

  /** Removes a page from the ring and the accounting (not from its space's map). */
  private unlink(pg: Page): void {
    if (pg.prev) pg.prev.next = pg.next; else this.head = pg.next;
    if (pg.next) pg.next.prev = pg.prev; else this.tail = pg.prev;
    pg.prev = pg.next = null;
    const space = pg.space;
    space.residentPages--;
    this.residentPages--;
    this.residentBytes -= space.pageSize;
    if (space.kind !== 'private') this.sharedBytes -= space.pageSize;
  }

  private remove(pg: Page): void {
    this.unlink(pg);
    pg.space.pages.delete(pg.index);
    this.release(pg);
  }

  /** CLOCK: skip pinned pages, give referenced ones a second chance. */
  private evictOne(): boolean {
    let budget = this.residentPages * 2 + 1;
    while (this.head !== null && budget-- > 0) {
      const pg = this.head;
      if (pg.pins > 0 || pg.ref) {
        pg.ref = false;
        if (pg !== this.tail) {
          this.head = pg.next;
          this.head!.prev = null;
          pg.prev = this.tail;
          pg.next = null;
          this.tail!.next = pg;
          this.tail = pg;
        }
        continue;
      }
      this.remove(pg);
      pg.space.counters.evictions++;
      if (pg.space.owner) pg.space.owner.evictions++;
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
    for (const pg of [...space.pages.values()]) {
      if (pg.index < first || pg.index >= lastExcl || pg.pins > 0) continue;
      this.remove(pg);
      dropped++;
    }
    space.counters.drops += dropped;
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

/** Copies arena bytes [start, start + len) (a frame or a run of adjacent frames) to out[o...]; returns the new o. */
function flush(out: Uint8Array, o: number, arena: Uint8Array, start: number, len: number): number {
  out.set(start === 0 && len === arena.length ? arena : arena.subarray(start, start + len), o);
  return o + len;
}
