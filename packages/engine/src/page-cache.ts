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
export type Filler = (first: number, count: number, ctx: ReadContext) => Promise<Uint8Array>;

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
 * Page frames: fixed views into 1 MiB arenas, recycled through a free list,
 * as the kernel recycles struct pages. Allocating a fresh ArrayBuffer per
 * page costs microseconds (external memory, GC pressure) and dominated the
 * miss path; a recycled frame costs one copy. Frames are kept for reuse
 * (at most the peak resident bytes, so about maxBytes); PageCache.trim()
 * gives them back when no page is in use.
 */
class FramePool {
  private readonly free: Uint8Array[] = [];
  live = 0;
  get freeCount(): number {
    return this.free.length;
  }
  constructor(readonly pageSize: number) {}

  alloc(): Uint8Array {
    let f = this.free.pop();
    if (f === undefined) {
      const n = Math.max(1, Math.floor((1 << 20) / this.pageSize));
      const arena = new Uint8Array(n * this.pageSize);
      for (let i = n - 1; i > 0; i--) this.free.push(arena.subarray(i * this.pageSize, (i + 1) * this.pageSize));
      f = arena.subarray(0, this.pageSize);
    }
    this.live++;
    return f;
  }

  release(f: Uint8Array): void {
    this.live--;
    this.free.push(f);
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
  constructor(readonly space: AddressSpace, readonly index: number, readonly data: Uint8Array) {}
}

interface FillEntry {
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
  readonly pages = new Map<number, Page>();
  readonly pending = new Map<number, FillEntry>();
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
    pool.release(pg.data);
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
    for (; i <= last; i++) {
      const pg = pages.get(i);
      if (pg === undefined) break;
      pg.ref = true;
      const base = i * ps;
      const s = p - base;
      const e = i === last ? end - base : ps;
      if (s === 0 && e === ps) out.set(pg.data, o);
      else out.set(pg.data.subarray(s, e), o);
      o += e - s;
      p = base + e;
      hits++;
    }
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
      let entry = space.pending.get(i);
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
      for (let k = 0; k < n; k++) {
        const i = from + k;
        const data = got[k]!.data;
        const base = i * ps;
        const s = p - base;
        const e = i === last ? end - base : ps;
        if (s === 0 && e === ps) out.set(data, o);
        else out.set(data.subarray(s, e), o);
        o += e - s;
        p = base + e;
      }
    } finally {
      for (const g of got) if (g !== null) this.unpin(g);
    }
  }

  /** Starts one backing read for the run of missing pages from `first`, plus readahead. */
  private startFill(space: AddressSpace, first: number, lastWanted: number, ctx: ReadContext): FillEntry {
    const lastPage = space.pageCount - 1;
    const limit = Math.min(lastPage, lastWanted + this.readaheadPages);
    let stop = first + 1;
    while (stop <= limit && !space.pages.has(stop) && !space.pending.has(stop)) stop++;
    const count = stop - first;
    const entry: FillEntry = { first, count, waiters: new Array<number>(count).fill(0), pages: null, promise: undefined as unknown as Promise<void> };
    for (let k = 0; k < count; k++) space.pending.set(first + k, entry);
    space.counters.fills++; ctx.counters.fills++; this.counters.fills++;
    space.counters.fillPages += count; ctx.counters.fillPages += count; this.counters.fillPages += count;
    entry.promise = this.runFill(space, entry, ctx);
    return entry;
  }

  private async runFill(space: AddressSpace, entry: FillEntry, ctx: ReadContext): Promise<void> {
    const { first, count } = entry;
    const ps = space.pageSize;
    try {
      const bytes = await space.filler(first, count, ctx);
      const want = Math.min(space.size, (first + count) * ps) - first * ps;
      if (!(bytes instanceof Uint8Array) || bytes.length < want) {
        throw new ErofsError('EIO', `short read filling pages ${first}..${first + count - 1} (${bytes?.length} < ${want})`, space.id);
      }
      const pool = this.pool(ps);
      const pages: Page[] = new Array(count);
      for (let k = 0; k < count; k++) {
        const frame = pool.alloc();
        const s0 = k * ps;
        const e0 = Math.min(s0 + ps, want);
        frame.set(bytes.subarray(s0, e0));
        if (e0 - s0 < ps) frame.fill(0, e0 - s0);
        const pg = new Page(space, first + k, frame);
        pg.pins = entry.waiters[k]!;
        pages[k] = pg;
      }
      entry.pages = pages;
      if (!space.dead) for (const pg of pages) this.insert(pg);
      else for (const pg of pages) this.release(pg);
    } finally {
      for (let k = 0; k < count; k++) if (space.pending.get(first + k) === entry) space.pending.delete(first + k);
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
