/**
 * The image builder. Layout of the primary device (blocks of `blksz`):
 *
 *   head     block(s) 0..: 1024 zero bytes, the superblock, the device table
 *            (one slot when a blob device is used), the long xattr prefix
 *            table (stored plainly); all known when the writer is created.
 *   data     file contents in the order they were written (writeData):
 *            full blocks of flat files, chunks of chunk-based files.
 *   late     what is only known at finish(): directory blocks, symlink
 *            targets and file tails that are not inlined.
 *   xattrs   the shared xattr area (xattr_blkaddr).
 *   meta     inodes (meta_blkaddr; nid = offset / 32 from there, slot 0 left
 *            unused), each followed by its xattr body and either its inline
 *            tail or its chunk indexes.
 *
 * Data is streamed to the image as it arrives, so a tar source can be
 * converted without a temporary copy: only tails and metadata stay in memory.
 * Metadata goes last because its size is only known when the tree is complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  CHUNK_INDEX_SIZE, DataLayout, DEVICE_SLOT_SIZE, EROFS_BLOCK_MAP_ENTRY_SIZE, EROFS_CHUNK_FORMAT_48BIT,
  EROFS_CHUNK_FORMAT_INDEXES, EROFS_I_DOT_OMITTED_BIT, EROFS_I_NLINK_1_BIT, EROFS_ISLOTBITS, EROFS_NULL_ADDR,
  EROFS_SUPER_OFFSET, ErofsError, FeatureCompat, FeatureIncompat, FileType, INODE_COMPACT_SIZE, INODE_EXTENDED_SIZE,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK, SUPERBLOCK_BASE_SIZE, checksumLength,
  emptySuperblock, encodeChunkIndex, encodeMapHeader, mapHeaderStart, MAP_HEADER_SIZE, ZAdvise, encodeDev, encodeDeviceSlot, encodeInode, encodeSuperblock, put32,
  superblockChecksum, type DiskInode,
} from '@erofs/format';
import { availableParallelism } from 'node:os';
import { openScratch, writeAll, writeAllSync } from './io.js';
import { dataWorkerAllowed, InlineDataOut, WorkerDataOut, type DataOut } from './data-out.js';
import { compareNames, dirSize, encodeDir, type DirEntryOut } from './dir.js';
import {
  buildIndexes, compactIndexSize, encodeCompactIndexes, encodeFullIndexes, fullIndexSize, type FileExtent,
} from './compress/indexes.js';
import { CompressionPlan, type FileCompression } from './compress/plan.js';
import { CompressPool } from './compress/pool.js';
import { PclusterDedupe } from './compress/dedupe.js';
import { PackedFile } from './compress/fragments.js';
import type { SegmentResult } from './compress/segment.js';
import { chooseEpoch } from './epoch.js';
import type { BuildSummary, ProgressFn, WriterOptions } from './options.js';
import type { FileData, InodeNode, Timestamp } from './tree.js';
import {
  buildPrefixTable, encodeIbody, encodePrefixTable, encodeSharedArea, ibodySizeAllInline, makeXattrItem,
  planIbody, planSharedArea, prefixTableSize, type IbodyPlan, type PrefixTable, type SharedArea, type XattrItem,
} from './xattrs.js';

const FINGERPRINT_PREFIX = new TextEncoder().encode('sha256:');
/** Fingerprint value: "sha256:" + 32 raw digest bytes. */
export const FINGERPRINT_SIZE = FINGERPRINT_PREFIX.length + 32;
const U32_MAX = 0xffffffff;
const READ_BUF = 1 << 20;
/** Size of each of the two output buffers of the data area (host files are read straight into them). */
const DATA_BUF = 1 << 20;
/** Data of host files from which a thread is started to hash (and write) the data area (see openDataOut). */
const DATA_WORKER_MIN = 16 << 20;

/**
 * File data already placed by {@link ImageWriter.writeData}. One variant per
 * data layout; compressed layouts (issue 5) add theirs here and in
 * `describeData`.
 */
export type WrittenData =
  | {
      layout: 'flat';
      size: number;
      /** First block of the contiguous data (primary device); -1 when none. */
      startBlk: number;
      /** Blocks written at startBlk (the tail block included when it was written). */
      blocks: number;
      /**
       * The last partial block's bytes, kept for inlining (in the writer's
       * tail store, see TailStore): offset there and length; length 0 when
       * written with the blocks (or none).
       */
      tailOff: number;
      tailLen: number;
      digest: Uint8Array | null;
    }
  | {
      layout: 'compressed';
      size: number;
      /** First block of the file's pclusters (contiguous, in file order). */
      startBlk: number;
      /** Blocks written at startBlk (the inline pcluster excluded). */
      blocks: number;
      extents: FileExtent[];
      algorithmId: number;
      /** The tail pcluster stored inline after the indexes (ztailpacking), or null. */
      idata: Uint8Array | null;
      digest: Uint8Array | null;
      /** -E fragments: offset of the file's tail (its last extent) in the packed inode; absent or -1: none. */
      fragmentOff?: number;
      /** With fragmentOff: bytes there; the file size means the whole file (no lcluster indexes). */
      fragmentLen?: number;
      /** -E dedupe: a pcluster is shared, so blkaddrs are not contiguous (full indexes). */
      reused?: boolean;
    }
  | {
      layout: 'chunked';
      size: number;
      /** log2(chunk size) - blkszbits. */
      chunkBits: number;
      /** Start block per chunk (device-relative); -1 for a hole. */
      chunks: number[];
      /** 0: primary device; 1: the blob device. */
      deviceId: number;
      digest: Uint8Array | null;
    };

/** The `handle` of a FileData of kind 'written'. */
export interface WrittenHandle {
  writer: ImageWriter;
  data: WrittenData;
}

/** Source bytes of a file: any async iterable of byte chunks. */
export type ByteStream = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * A directory's entries, sorted by name, as two parallel arrays (a directory
 * entry object each would be some 60k more objects on a large tree): the
 * inode of each name, or null for '.' and '..' (told apart by their name).
 */
interface Dirents {
  names: Uint8Array[];
  inos: Array<Ino | null>;
}

/**
 * The 'flat' WrittenData of a copied host file (the most numerous kind: one
 * per file of a directory source), its digest kept as an offset into the
 * data output's digest arena and made into a view only when read.
 */
class FlatData {
  readonly layout = 'flat' as const;
  constructor(
    public size: number,
    public startBlk: number,
    public blocks: number,
    public tailOff: number,
    public tailLen: number,
    private arena: Uint8Array | null,
    private at: number,
  ) {}

  get digest(): Uint8Array | null {
    return this.arena ? this.arena.subarray(this.at, this.at + 32) : null;
  }

  set digest(v: Uint8Array | null) {
    this.arena = v;
    this.at = 0;
  }
}

/**
 * Places inode records in the metadata area, in 32-byte slots: best fit
 * among the blocks already begun (each block is filled from its start, so
 * what is free in it is its end), else a new block. Blocks with n free slots
 * are kept in bucket n, last begun first (records of one directory stay
 * close). A pure function of the requests, so images stay reproducible.
 */
class MetaPacker {
  /** The area spans the blocks up to slot `end` (rounded up to a block): the last block begun. */
  end = 0;
  private readonly buckets: number[][];
  constructor(private readonly slotsPerBlock: number) {
    this.buckets = Array.from({ length: slotsPerBlock }, () => []);
  }

  /** First slot of `n` (<= slotsPerBlock) free slots inside one block. */
  take(n: number): number {
    for (let f = n; f < this.slotsPerBlock; f++) {
      const b = this.buckets[f]!;
      if (b.length === 0) continue;
      const blk = b.pop()!;
      const slot = blk * this.slotsPerBlock + (this.slotsPerBlock - f);
      if (f > n) this.buckets[f - n]!.push(blk);
      return slot;
    }
    return this.takeBlocks(n);
  }

  /** First slot of `n` slots starting a new block; the rest of the last block is free for others. */
  takeBlocks(n: number): number {
    const spb = this.slotsPerBlock;
    const blk = Math.ceil(this.end / spb);
    const slot = blk * spb;
    this.end = slot + n;
    const left = spb - (n % spb);
    if (left < spb) this.buckets[left]!.push(blk + Math.floor(n / spb));
    return slot;
  }
}

/** No xattrs: shared by every inode without any (never modified). */
const NO_ITEMS: XattrItem[] = [];

/** One inode as the writer lays it out (one per node; some 50k of them for a large tree, so kept small). */
class Ino {
  nlink = 0;
  /** Sorted entries of a directory (with '.' and '..' unless omitted). */
  dirents: Dirents | undefined = undefined;
  /** Stored xattrs (the fingerprint excluded: it comes from data.digest). */
  xattrs: XattrItem[] = NO_ITEMS;
  /** Bytes of the xattr body (0: none). */
  ibodySize = 0;
  data: WrittenData | undefined = undefined;
  /** Bytes of a directory or symlink (finish-time data). */
  content: Uint8Array | undefined = undefined;
  size = 0;
  extended = false;
  datalayout = 0;
  /** Start block of finish-time blocks (dirs, symlinks, relocated files); -1 none. */
  lateBlk = -1;
  lateBlocks = 0;
  /** Inline tail bytes stored in the metadata record (directories and symlinks). */
  inlineTail: Uint8Array | null = null;
  nid = 0;
  recSize = 0;
  /** Byte offset (from pos) of the chunk indexes, when chunk-based; of the map header when compressed. */
  idxOff = 0;

  /** `up`: the directory it was first found in (a directory's parent); null for the root. */
  constructor(readonly node: InodeNode, readonly up: Ino | null, readonly name: Uint8Array | null) {}

  get mode(): number {
    return modeType(this.node.type) | (this.node.mode & 0o7777);
  }

  get parent(): Ino | undefined {
    return this.up ?? undefined;
  }

  /** Path in the image, for messages (made when asked). */
  get path(): string {
    if (!this.up) return '/';
    const parts: string[] = [];
    for (let i: Ino = this; i.up; i = i.up) parts.push(dec.decode(i.name!));
    return '/' + parts.reverse().join('/');
  }
}

/** Stream files kept in memory (for the uncompressed fallback) up to this size. */
const KEEP_FOR_FALLBACK = 4 << 20;

/** Stands for a segment already handed to the committer. */
const TAKEN: Promise<SegmentResult> = Promise.reject(new ErofsError('EINVAL', 'internal: compressed segment taken twice'));
TAKEN.catch(() => undefined);

/** Segments of one file on their way through the compression pool, in order. */
class ZJob {
  readonly segs: Array<Promise<SegmentResult>> = [];
  readonly lens: number[] = [];
  finished = false;
  failure: unknown;
  digest: Uint8Array | null = null;
  keep: Uint8Array[] | null = null;
  private waiters: Array<() => void> = [];
  push(p: Promise<SegmentResult>, len: number): void {
    p.catch(() => undefined); // observed by the committer
    this.segs.push(p);
    this.lens.push(len);
    this.wake();
  }
  finish(digest: Uint8Array | null): void {
    this.digest = digest;
    this.finished = true;
    this.wake();
  }
  fail(e: unknown): void {
    if (this.finished) return;
    this.failure = e;
    this.finished = true;
    this.wake();
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /**
   * Segment k, or null when the file has no more. Each segment is handed
   * out once: the job forgets it (jobs stay referenced until the last file
   * is written; their compressed bytes must not).
   */
  async next(k: number): Promise<SegmentResult | null> {
    while (k >= this.segs.length && !this.finished) await new Promise<void>((r) => this.waiters.push(r));
    if (k < this.segs.length) {
      const p = this.segs[k]!;
      this.segs[k] = TAKEN;
      return p;
    }
    if (this.failure !== undefined) throw this.failure;
    return null;
  }
}

/** Bytes of source data read ahead of the image writes (back-pressure for the reader). */
class Budget {
  private used = 0;
  private waiters: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async acquire(n: number): Promise<void> {
    while (this.used > 0 && this.used + n > this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.used += n;
  }
  release(n: number): void {
    this.used -= n;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function modeType(t: InodeNode['type']): number {
  switch (t) {
    case 'file': return S_IFREG;
    case 'dir': return S_IFDIR;
    case 'symlink': return S_IFLNK;
    case 'chardev': return S_IFCHR;
    case 'blockdev': return S_IFBLK;
    case 'fifo': return S_IFIFO;
    case 'socket': return S_IFSOCK;
  }
}
function fileType(t: InodeNode['type']): number {
  switch (t) {
    case 'file': return FileType.REG_FILE;
    case 'dir': return FileType.DIR;
    case 'symlink': return FileType.SYMLINK;
    case 'chardev': return FileType.CHRDEV;
    case 'blockdev': return FileType.BLKDEV;
    case 'fifo': return FileType.FIFO;
    case 'socket': return FileType.SOCK;
  }
}

const dec = new TextDecoder();
const DOT = new Uint8Array([0x2e]);
const DOTDOT = new Uint8Array([0x2e, 0x2e]);

function isZero(b: Uint8Array): boolean {
  // compare 8 bytes at a time where aligned; chunks are usually large
  let i = 0;
  const n = b.length;
  if ((b.byteOffset & 7) === 0) {
    const w = new BigUint64Array(b.buffer, b.byteOffset, n >>> 3);
    for (; i < w.length; i++) if (w[i] !== 0n) return false;
    i <<= 3;
  }
  for (; i < n; i++) if (b[i] !== 0) return false;
  return true;
}

/** A temporary file next to `path`, renamed into place on success. */
async function openTemp(path: string): Promise<{ fh: FileHandle; tmp: string }> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    return { fh: await open(tmp, 'wx+', 0o644), tmp };
  } catch (e) {
    throw new ErofsError('EACCES', `cannot create the output: ${(e as Error).message}`, path, { cause: e });
  }
}

/** Sequential writer with a buffer, for the metadata area. */
class SeqWriter {
  private buf = Buffer.alloc(1 << 20);
  private used = 0;
  constructor(private fh: FileHandle, private pos: number) {}
  async write(b: Uint8Array): Promise<void> {
    if (this.used + b.length > this.buf.length) await this.flush();
    if (b.length > this.buf.length) {
      await writeAll(this.fh, b, this.pos);
      this.pos += b.length;
      return;
    }
    this.buf.set(b, this.used);
    this.used += b.length;
  }
  /** n zero bytes at the end of the buffer to encode into (valid until the next call). */
  async slot(n: number): Promise<Uint8Array> {
    if (this.used + n > this.buf.length) {
      await this.flush();
      if (n > this.buf.length) this.buf = Buffer.alloc(n);
    }
    const s = this.buf.subarray(this.used, this.used + n);
    s.fill(0);
    this.used += n;
    return s;
  }

  async zeros(n: number): Promise<void> {
    while (n > 0) {
      if (this.used === this.buf.length) await this.flush();
      const k = Math.min(n, this.buf.length - this.used);
      this.buf.fill(0, this.used, this.used + k);
      this.used += k;
      n -= k;
    }
  }
  async flush(): Promise<void> {
    if (this.used === 0) return;
    await writeAll(this.fh, this.buf.subarray(0, this.used), this.pos);
    this.pos += this.used;
    this.used = 0;
  }
}

/** Reads a host file in 1 MiB pieces (one buffer, reused: consume each piece before the next). */
async function* readHostFile(path: string, size: number): AsyncGenerator<Uint8Array> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ErofsError(code === 'ENOENT' ? 'ENOENT' : code === 'EACCES' || code === 'EPERM' ? 'EACCES' : 'EIO',
      `cannot read: ${(e as Error).message}`, path, { cause: e });
  }
  try {
    const buf = Buffer.allocUnsafe(Math.min(READ_BUF, Math.max(size + 1, 1)));
    let done = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      done += bytesRead;
      yield buf.subarray(0, bytesRead);
      if (done > size) break; // grew: writeData reports it
    }
  } finally {
    await fh.close();
  }
}

/** An integer as a small integer where it fits (a double would be boxed in every object holding it). */
function small(n: number): number {
  return n <= 0x3fffffff && n >= -0x40000000 ? n | 0 : n;
}

function readError(e: unknown, path: string): ErofsError {
  const code = (e as NodeJS.ErrnoException).code;
  return new ErofsError(code === 'ENOENT' ? 'ENOENT' : code === 'EACCES' || code === 'EPERM' ? 'EACCES' : 'EIO',
    `cannot read: ${(e as Error).message}`, path, { cause: e });
}

/**
 * Tails of files kept for inlining (they go into the metadata area, written
 * last): appended to an unlinked scratch file next to the output instead of
 * being held in memory (tens of MB for a large tree), and read back in
 * about the order they were written, through a 1 MiB window.
 */
class TailStore {
  private wbuf = Buffer.allocUnsafe(256 << 10);
  private wused = 0;
  private flushed = 0;
  private rbuf: Buffer | undefined;
  private rstart = 0;
  private rlen = 0;
  private constructor(private fd: number) {}

  static open(nextTo: string): TailStore {
    return new TailStore(openScratch(nextTo, 'tails'));
  }

  /** Stores `b` (at most a block); returns its offset. */
  append(b: Uint8Array): number {
    if (this.wused + b.length > this.wbuf.length) {
      writeAllSync(this.fd, this.wbuf.subarray(0, this.wused), this.flushed, 'a scratch file');
      this.flushed += this.wused;
      this.wused = 0;
    }
    const off = this.flushed + this.wused;
    this.wbuf.set(b, this.wused);
    this.wused += b.length;
    return off;
  }

  /** Copies `len` bytes stored at `off` to `dst[at]`. */
  read(off: number, len: number, dst: Uint8Array, at: number): void {
    if (off >= this.flushed) {
      dst.set(this.wbuf.subarray(off - this.flushed, off - this.flushed + len), at);
      return;
    }
    if (!this.rbuf || off < this.rstart || off + len > this.rstart + this.rlen) {
      this.rbuf ??= Buffer.allocUnsafe(256 << 10);
      // a window when reading on in order (directory sources); just the tail when jumping about (tar order)
      const onward = off >= this.rstart && off < this.rstart + this.rlen + this.rbuf.length;
      const want = onward || this.rlen === 0 ? this.rbuf.length : len;
      this.rstart = off;
      this.rlen = readSync(this.fd, this.rbuf, 0, Math.min(want, this.flushed - off), off);
      if (this.rlen < len) throw new ErofsError('EIO', 'short read from the tail scratch file');
    }
    dst.set(this.rbuf.subarray(off - this.rstart, off - this.rstart + len), at);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}


/** Per-build state of chunk-based data (dedupe across files, the blob device). */
interface ChunkStore {
  /** sha256 + length -> start block. */
  seen: Map<string, number>;
  blob?: { fh: FileHandle; tmp: string; final: string; blocks: number; hash: ReturnType<typeof createHash> };
}

/**
 * Builds one image. Create with {@link ImageWriter.create}; stream file
 * contents with {@link writeData} (any order, before finish); then
 * {@link finish} with the tree, which writes everything else and renames the
 * temporary file to the output. {@link abort} (or any failure) removes it.
 */
export class ImageWriter {
  readonly blksz: number;
  private readonly opts: WriterOptions;
  private readonly prefixes: PrefixTable;
  private readonly headBlocks: number;
  private readonly devtSlotoff: number;
  private readonly prefixStart: number;
  private readonly plan: CompressionPlan;
  private readonly cfgsStart: number;
  private pool: CompressPool | undefined;
  private budget: Budget | undefined;
  private nextBlk: number;
  private chunkStore: ChunkStore | undefined;
  private closed = false;
  private readonly started = process.hrtime.bigint();
  private readonly progress: ProgressFn | undefined;
  private readonly zeroBlock: Uint8Array;
  private readBuf: Buffer | undefined;
  private chunkBuf: Buffer | undefined;
  private tails: TailStore | undefined;
  private readonly tailBuf: Buffer;
  /** Bytes of the ibody of an inode whose only xattr is the fingerprint (0: no fingerprints). */
  private readonly fpOnlyIbody: number;
  private fpTemplate: XattrItem | undefined;
  /** The host-file data area while files are copied (its worker is stopped by abort). */
  private dataOut: DataOut | undefined;
  /** -E fragments: the packed inode's content so far; then its data and inode. */
  private packed: PackedFile | undefined;
  private packedData: WrittenData | undefined;
  private packedIno: Ino | undefined;
  /** -E dedupe: pclusters written so far. */
  private zDedupe: PclusterDedupe | undefined;

  private constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly outPath: string,
    opts: WriterOptions,
    prefixes: PrefixTable,
    progress: ProgressFn | undefined,
  ) {
    this.opts = opts;
    this.blksz = 2 ** opts.blkszbits;
    this.prefixes = prefixes;
    this.progress = progress;
    this.zeroBlock = new Uint8Array(this.blksz);
    this.tailBuf = Buffer.allocUnsafe(this.blksz);
    this.fpOnlyIbody = opts.ishareKey !== undefined
      ? ibodySizeAllInline([makeXattrItem(opts.ishareKey, new Uint8Array(FINGERPRINT_SIZE), prefixes, '', true)])
      : 0;
    let off = EROFS_SUPER_OFFSET + SUPERBLOCK_BASE_SIZE;
    this.plan = new CompressionPlan(opts);
    // compression configs must follow the superblock directly
    this.cfgsStart = off;
    off += this.plan.cfgsBytes().length;
    this.devtSlotoff = 0;
    const devices = opts.blobdev !== undefined ? 1 : opts.extraDevices?.length ?? 0;
    if (devices > 0) {
      off = Math.ceil(off / DEVICE_SLOT_SIZE) * DEVICE_SLOT_SIZE;
      this.devtSlotoff = off / DEVICE_SLOT_SIZE;
      off += devices * DEVICE_SLOT_SIZE;
    }
    this.prefixStart = 0;
    if (prefixes.prefixes.length > 0) {
      this.prefixStart = off;
      off += prefixTableSize(prefixes);
    }
    off = Math.max(off, EROFS_SUPER_OFFSET + checksumLength(opts.blkszbits));
    this.headBlocks = Math.ceil(off / this.blksz);
    this.nextBlk = this.headBlocks;
  }

  /** Validates `opts`, opens a temporary file next to `outPath` (and the blob device's). */
  static async create(outPath: string, opts: WriterOptions, progress?: ProgressFn): Promise<ImageWriter> {
    validateOptions(opts);
    const prefixes = buildPrefixTable(opts.xattrPrefixes, opts.ishareKey, opts.ishareKeyIndex);
    const { fh, tmp } = await openTemp(outPath);
    const w = new ImageWriter(fh, tmp, outPath, opts, prefixes, progress);
    if (opts.chunkSize !== undefined) {
      w.chunkStore = { seen: new Map() };
      if (opts.blobdev !== undefined) {
        try {
          const b = await openTemp(opts.blobdev);
          w.chunkStore.blob = { ...b, final: opts.blobdev, blocks: 0, hash: createHash('sha256') };
        } catch (e) {
          await w.abort();
          throw e;
        }
      }
    }
    return w;
  }

  /** Removes the temporary files; the writer cannot be used afterwards. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closePool();
    await this.dataOut?.close();
    this.dataOut = undefined;
    this.closeTails();
    this.packed?.close();
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true }).catch(() => undefined);
    const blob = this.chunkStore?.blob;
    if (blob) {
      await blob.fh.close().catch(() => undefined);
      await rm(blob.tmp, { force: true }).catch(() => undefined);
    }
  }

  private closeTails(): void {
    try {
      this.tails?.close();
    } catch {
      // nothing to keep
    }
    this.tails = undefined;
  }

  /** Keeps a tail for inlining; returns its offset in the tail store. */
  private keepTail(b: Uint8Array): number {
    this.tails ??= TailStore.open(this.outPath);
    return this.tails.append(b);
  }

  private async closePool(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    if (p) await p.close().catch(() => undefined);
  }

  private compressPool(): CompressPool {
    if (!this.pool) {
      const n = this.opts.workers ?? Math.min(availableParallelism(), 8);
      if (!Number.isInteger(n) || n < 0) throw new ErofsError('EINVAL', `bad number of workers ${n}`);
      this.pool = new CompressPool(n);
      this.budget = new Budget(Math.max(32 << 20, (n + 2) * 2 * (4 << 20)));
    }
    return this.pool;
  }

  /** The compression of a file of `size` bytes at image path `imagePath`, or null to store it plainly. */
  private compressionFor(imagePath: string, size: number): FileCompression | null {
    if (!this.plan.enabled || size === 0) return null;
    // one block or less never saves anything unless it may be inlined or packed
    if (size <= this.blksz && !this.plan.ztailpacking && !this.plan.fragments) return null;
    return this.plan.forFile(imagePath.replace(/^\/+/, ''));
  }

  /**
   * {@link produce} for a host file: synchronous reads straight into each
   * segment's buffer (on a page-cached tree a syscall beats a thread-pool
   * round trip and a copy out of a read buffer); only the read-ahead budget
   * waits. The segment's own ArrayBuffer goes to the worker.
   */
  private async produceHostFile(job: ZJob, path: string, size: number, fc: FileCompression): Promise<void> {
    const pool = this.compressPool();
    const budget = this.budget!;
    const hash = this.opts.ishareKey !== undefined && size > 0 ? createHash('sha256') : null;
    const params = (last: boolean) => ({
      blkszbits: this.opts.blkszbits, pclusterSize: fc.pclusterSize, maxExtent: fc.maxExtent,
      mayInline: last && this.plan.ztailpacking, interlaced: false, mayPack: last && fc.fragments,
    });
    let fd = -1;
    let held = 0;
    try {
      try {
        fd = openSync(path, 'r');
      } catch (e) {
        throw readError(e, path);
      }
      let off = 0;
      while (off < size) {
        const n = Math.min(fc.segmentBytes, size - off);
        await budget.acquire(n);
        held = n;
        // small files are read straight into the pool's batch buffer
        const b = pool.slot(n, fc.spec) ?? pool.buffer(n);
        let got = 0;
        while (got < n) {
          let r: number;
          try {
            r = readSync(fd, b, got, n - got, off + got);
          } catch (e) {
            throw readError(e, path);
          }
          if (r === 0) throw changed(path, size, 'shrank');
          got += r;
        }
        hash?.update(b);
        held = 0;
        job.push(pool.run(b, params(off + n >= size), fc.spec), n);
        off += n;
      }
      let extra: number;
      try {
        extra = readSync(fd, new Uint8Array(1), 0, 1, size);
      } catch (e) {
        throw readError(e, path);
      }
      if (extra > 0) throw changed(path, size, 'grew');
      job.finish(hash ? new Uint8Array(hash.digest()) : null);
    } catch (e) {
      if (held) budget.release(held);
      job.fail(e);
      throw e;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  /**
   * Reads a file in segments and queues them for compression. `job.keep`
   * (when set) collects the bytes for the uncompressed fallback.
   */
  private async produce(job: ZJob, stream: ByteStream, size: number, path: string, fc: FileCompression): Promise<void> {
    const pool = this.compressPool();
    const budget = this.budget!;
    const hash = this.opts.ishareKey !== undefined && size > 0 ? createHash('sha256') : null;
    const seg = fc.segmentBytes;
    let off = 0; // start of the segment being filled
    let fill = 0;
    let buf: Uint8Array | null = null;
    let done = 0;
    const params = (last: boolean) => ({
      blkszbits: this.opts.blkszbits, pclusterSize: fc.pclusterSize, maxExtent: fc.maxExtent,
      mayInline: last && this.plan.ztailpacking, interlaced: false, mayPack: last && fc.fragments,
    });
    const start = async (): Promise<void> => {
      const n = Math.min(seg, size - off);
      await budget.acquire(n);
      buf = pool.buffer(n);
      fill = 0;
    };
    const submit = (): void => {
      const b = buf!;
      // pool.run transfers b to a worker (b.length is 0 afterwards): take the length first
      const n = b.length;
      if (job.keep) job.keep.push(b.slice());
      const last = off + n >= size;
      buf = null;
      job.push(pool.run(b, params(last), fc.spec), n);
      off += n;
    };
    try {
      if (size > 0) await start();
      for await (const chunk of stream) {
        if (chunk.length === 0) continue;
        if (done + chunk.length > size) throw changed(path, size, 'grew');
        hash?.update(chunk);
        done += chunk.length;
        let c = chunk;
        while (c.length > 0) {
          const b: Uint8Array = buf!;
          const k = Math.min(c.length, b.length - fill);
          b.set(c.subarray(0, k), fill);
          fill += k;
          c = c.subarray(k);
          if (fill === b.length) {
            submit();
            if (off < size) await start();
          }
        }
      }
      if (done !== size) throw changed(path, size, 'shrank');
      job.finish(hash ? new Uint8Array(hash.digest()) : null);
    } catch (e) {
      if (buf) budget.release((buf as Uint8Array).length);
      job.fail(e);
      throw e;
    }
  }

  /**
   * Writes a file's compressed segments as they complete, in order, then
   * decides as mkfs.erofs does: when pclusters + inline data + full-size
   * indexes do not beat the file size, the file is stored uncompressed
   * instead (re-read through `again`, or from the bytes kept in memory).
   * A file with a fragment (-E fragments) stays compressed, as with
   * mkfs.erofs. With -E dedupe, pclusters already in the image are not
   * written again (see dedupe.ts).
   */
  private async commit(job: ZJob, size: number, path: string, fc: FileCompression, again: (() => ByteStream) | null,
    xattrs: ReadonlyMap<string, Uint8Array> | undefined): Promise<WrittenData> {
    const bs = this.blksz;
    const startBlk = this.nextBlk;
    const extents: FileExtent[] = [];
    let idata: Uint8Array | null = null;
    let frag: Uint8Array | null = null;
    let reused = false;
    const dd = fc.dedupe ? (this.zDedupe ??= new PclusterDedupe()) : undefined;
    for (let k = 0; ; k++) {
      let r: SegmentResult | null;
      try {
        r = await job.next(k);
      } finally {
        if (k < job.lens.length) this.budget!.release(job.lens[k]!);
      }
      if (!r) break;
      const base = this.nextBlk;
      let nblk = r.data.length / bs;
      let pblkOf = (e: SegmentResult['extents'][number]): number => base + e.blk;
      if (dd) {
        const at = this.zReusePclusters(r, base, fc.algorithmId, dd);
        nblk = at.blocks;
        pblkOf = at.pblkOf;
        reused ||= at.reused;
      }
      if (nblk > 0) await this.writeBlocks(r.data.subarray(0, nblk * bs), base);
      r.release?.(); // its buffer may be reused now
      this.nextBlk += nblk;
      for (const e of r.extents) {
        const x: FileExtent = { length: e.length, plen: e.plen, raw: e.raw, pblk: pblkOf(e) };
        if (e.frag) x.frag = true;
        extents.push(x);
      }
      if (r.idata) idata = r.idata;
      if (r.frag) frag = r.frag;
    }
    const blocks = this.nextBlk - startBlk;
    const nidx = Math.ceil(size / bs);
    if (!frag && blocks * bs + (idata?.length ?? 0) + fullIndexSize(nidx) >= size) {
      const src = again ? again() : job.keep;
      if (src) {
        dd?.dropFile();
        this.nextBlk = startBlk;
        return this.writeFlat(src, size, path, this.inlineRoom(size, xattrs, path));
      }
    }
    dd?.commitFile();
    const data: WrittenData = {
      layout: 'compressed', size, startBlk: blocks > 0 ? startBlk : -1, blocks, extents, algorithmId: fc.algorithmId,
      idata, digest: job.digest,
    };
    if (reused) data.reused = true;
    if (frag) {
      const off = this.packedFile().add(frag);
      data.fragmentOff = off;
      data.fragmentLen = frag.length;
      if (frag.length === size) {
        data.extents = []; // all of it is the fragment: no lcluster indexes
      } else {
        // full indexes keep the offset's upper 32 bits in the fragment's blkaddr
        extents[extents.length - 1]!.pblk = Math.floor(off / 0x100000000);
      }
    }
    return data;
  }

  /**
   * -E dedupe over one segment's pclusters, in order: one identical to a
   * pcluster already written is not written again (the extent points at
   * that one); the others are moved down over the gaps, so `r.data` then
   * holds `blocks` blocks to write at `base`.
   */
  private zReusePclusters(r: SegmentResult, base: number, algorithmId: number, dd: PclusterDedupe):
    { blocks: number; pblkOf: (e: SegmentResult['extents'][number]) => number; reused: boolean } {
    const bs = this.blksz;
    const at = new Map<SegmentResult['extents'][number], number>();
    let w = 0; // blocks kept so far
    let reused = false;
    for (const e of r.extents) {
      if (e.inline || e.frag || e.plen === 0) continue;
      const n = e.plen / bs;
      const from = e.blk * bs;
      const key = dd.key(r.data.subarray(from, from + e.plen), e.length, e.raw, algorithmId);
      const hit = dd.find(key, n);
      if (hit !== undefined) {
        at.set(e, hit);
        reused = true;
        continue;
      }
      if (w !== e.blk) r.data.copyWithin(w * bs, from, from + e.plen);
      at.set(e, base + w);
      dd.add(key, base + w);
      w += n;
    }
    // an inline or fragment extent's blkaddr: the block after the data, as without dedupe
    return { blocks: w, pblkOf: (e) => at.get(e) ?? base + w, reused };
  }

  /** The packed inode's content (-E fragments), created on first use. */
  private packedFile(): PackedFile {
    this.packed ??= new PackedFile(this.outPath);
    return this.packed;
  }

  /**
   * -E all-fragments: the whole file goes to the packed inode (an identical
   * earlier file's bytes are shared); its fingerprint is computed on the way.
   */
  private async packWholeFile(stream: ByteStream, size: number, path: string, fc: FileCompression): Promise<WrittenData> {
    const pf = this.packedFile();
    const mark = pf.size;
    const hash = createHash('sha256');
    let done = 0;
    for await (const chunk of stream) {
      if (chunk.length === 0) continue;
      if (done + chunk.length > size) throw changed(path, size, 'grew');
      hash.update(chunk);
      pf.append(chunk);
      done += chunk.length;
    }
    if (done !== size) throw changed(path, size, 'shrank');
    const digest = new Uint8Array(hash.digest());
    const off = pf.commitAppended(mark, digest);
    return {
      layout: 'compressed', size, startBlk: -1, blocks: 0, extents: [], algorithmId: fc.algorithmId, idata: null,
      digest: this.opts.ishareKey !== undefined ? digest : null, fragmentOff: off, fragmentLen: size,
    };
  }

  /**
   * Compresses the packed inode's content (after every file: its size is
   * final) like a file of its own, without fragments or dedupe, at the end
   * of the data area. It carries no fingerprint.
   */
  private async writePackedInode(): Promise<void> {
    const pf = this.packed;
    if (!pf || pf.size === 0 || this.packedData) return;
    const fc = this.plan.forPacked();
    const size = pf.size;
    const data = await this.writeCompressed(pf.read(), size, 'the packed inode', fc, () => pf.read(), undefined);
    data.digest = null;
    this.packedData = data;
    pf.close();
  }

  /**
   * The packed inode as an inode of its own (no name, no xattrs), numbered
   * after every other; called by finishInner once the epoch is chosen.
   */
  private addPackedIno(inos: Ino[]): void {
    const d = this.packedData;
    if (!d) return;
    const node: InodeNode = {
      type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: this.opts.buildTime, xattrs: new Map(), size: d.size,
    };
    const ino = new Ino(node, null, null);
    ino.nlink = 1;
    ino.size = small(d.size);
    ino.data = d;
    inos.push(ino);
    this.packedIno = ino;
  }

  /** Superblock fields of fragments and dedupe: packed_nid, INCOMPAT_FRAGMENTS (also DEDUPE's bit). */
  private zSuperblock(sb: ReturnType<typeof emptySuperblock>): void {
    if (this.packedIno) sb.packedNid = BigInt(this.packedIno.nid);
    if (this.packedIno || (this.zDedupe?.hits ?? 0) > 0) sb.featureIncompat |= FeatureIncompat.FRAGMENTS;
  }

  /** Data layout of a compressed file: compact indexes where they can express it. */
  private zDatalayout(d: Extract<WrittenData, { layout: 'compressed' }>): number {
    if (d.reused) return DataLayout.COMPRESSED_FULL; // blkaddrs not in file order
    if (d.fragmentOff !== undefined && d.fragmentOff >= 0) {
      // whole-file fragments have only the map header; a 32-bit h_fragmentoff needs full indexes beyond 4 GiB
      if (d.fragmentLen === d.size || d.fragmentOff > U32_MAX) return DataLayout.COMPRESSED_FULL;
    }
    return this.compactOk() ? DataLayout.COMPRESSED_COMPACT : DataLayout.COMPRESSED_FULL;
  }

  private check(): void {
    if (this.closed) throw new ErofsError('EINVAL', 'the image writer is closed');
  }

  private async writeBlocks(b: Uint8Array, blk: number): Promise<void> {
    await writeAll(this.fh, b, blk * this.blksz);
  }

  /**
   * Streams one regular file's content into the image and returns the
   * FileData to put in its node. `size` is what the file must have: more or
   * fewer bytes is an ErofsError naming `path` (a file changing while read).
   * `xattrs` (the file's, when known) lets the writer decide now whether the
   * last partial block can be inlined after the inode; without it a tail
   * that turns out not to fit is copied at finish.
   * Chunks of `stream` are consumed before the next is requested, so a
   * producer may reuse its buffer. Any failure aborts the whole writer (the
   * temporary image is removed): an image with a hole in it is never kept.
   */
  async writeData(stream: ByteStream, size: number, path: string, xattrs?: ReadonlyMap<string, Uint8Array>): Promise<FileData & { kind: 'written' }> {
    return this.writeDataAs(stream, size, path, path, xattrs);
  }

  /**
   * A regular file whose `size` bytes already lie, contiguous, on extra
   * device `deviceId` (1-based, see WriterOptions.extraDevices) from block
   * `startBlk` (`--tar=i`: a tar member's body). Nothing is written now; the
   * file becomes chunk-based with 8-byte chunk indexes: one chunk of the
   * smallest power of two >= size (at least one block), or consecutive
   * chunks of the largest chunk size the format has (2^31 blocks) beyond it.
   * `digest` (SHA-256 of the content) is the fingerprint with --ishare_key.
   */
  addExternal(size: number, at: { deviceId: number; startBlk: number }, digest?: Uint8Array): FileData & { kind: 'written' } {
    this.check();
    if (!Number.isSafeInteger(size) || size < 0) throw new ErofsError('EINVAL', `bad file size ${size}`);
    const n = this.opts.extraDevices?.length ?? 0;
    if (!Number.isInteger(at.deviceId) || at.deviceId < 1 || at.deviceId > n) {
      throw new ErofsError('EINVAL', `no extra device ${at.deviceId} (the image has ${n})`);
    }
    const dev = this.opts.extraDevices![at.deviceId - 1]!;
    const bits = this.opts.blkszbits;
    const blocks = Math.ceil(size / this.blksz);
    if (!Number.isSafeInteger(at.startBlk) || at.startBlk < 0 || at.startBlk + blocks > dev.blocks) {
      throw new ErofsError('EINVAL', `data at block ${at.startBlk} (+${blocks}) lies beyond extra device ${at.deviceId} (${dev.blocks} blocks)`);
    }
    if (digest !== undefined && digest.length !== 32) throw new ErofsError('EINVAL', 'the digest must be 32 bytes (SHA-256)');
    let chunkBits = 0;
    while (chunkBits < 31 && 2 ** (bits + chunkBits) < size) chunkBits++;
    const per = 2 ** chunkBits;
    const chunks: number[] = [];
    for (let b = 0; b < blocks; b += per) chunks.push(at.startBlk + b);
    const data: WrittenData = {
      layout: 'chunked', size, chunkBits, chunks, deviceId: at.deviceId,
      digest: this.opts.ishareKey !== undefined && size > 0 ? (digest ?? null) : null,
    };
    if (data.digest === null && this.opts.ishareKey !== undefined && size > 0) {
      throw new ErofsError('EINVAL', 'addExternal needs the digest when fingerprints are on (--ishare_key)');
    }
    return { kind: 'written', handle: { writer: this, data } };
  }

  /** writeData with the image path used for compress hints (null: never compress). */
  private async writeDataAs(stream: ByteStream, size: number, path: string, imagePath: string | null,
    xattrs?: ReadonlyMap<string, Uint8Array>): Promise<FileData & { kind: 'written' }> {
    this.check();
    if (!Number.isSafeInteger(size) || size < 0) throw new ErofsError('EINVAL', `bad file size ${size}`, path);
    try {
      const fc = imagePath !== null ? this.compressionFor(imagePath, size) : null;
      const data = fc
        ? await this.writeCompressed(stream, size, path, fc, null, xattrs)
        : this.opts.chunkSize !== undefined && size > 0
        ? await this.writeChunked(stream, size, path)
        : await this.writeFlat(stream, size, path, this.inlineRoom(size, xattrs, path));
      const handle: WrittenHandle = { writer: this, data };
      return { kind: 'written', handle };
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  /** One file through the compression pool (no read-ahead across files). */
  private async writeCompressed(stream: ByteStream, size: number, path: string, fc: FileCompression,
    again: (() => ByteStream) | null, xattrs: ReadonlyMap<string, Uint8Array> | undefined): Promise<WrittenData> {
    if (fc.allFragments) return this.packWholeFile(stream, size, path, fc);
    const job = new ZJob();
    if (!again && size <= KEEP_FOR_FALLBACK) job.keep = [];
    const [, data] = await Promise.all([this.produce(job, stream, size, path, fc), this.commit(job, size, path, fc, again, xattrs)]);
    return data;
  }

  /** Whether a flat file's tail can go inline, judged with an extended inode and all xattrs inline. */
  private inlineRoom(size: number, xattrs: ReadonlyMap<string, Uint8Array> | undefined, path: string): boolean {
    const tail = size % this.blksz;
    if (!this.opts.inlineData || tail === 0) return false;
    if (!xattrs || xattrs.size === 0 || (this.opts.xattrTolerance ?? 2) < 0) {
      return INODE_EXTENDED_SIZE + (size > 0 ? this.fpOnlyIbody : 0) + tail <= this.blksz;
    }
    const items: XattrItem[] = [];
    for (const [k, v] of xattrs) items.push(makeXattrItem(k, v, this.prefixes, path));
    if (this.prefixes.ishareIndex !== undefined && size > 0) items.push(this.fingerprintItem(new Uint8Array(FINGERPRINT_SIZE), path));
    return INODE_EXTENDED_SIZE + ibodySizeAllInline(items) + tail <= this.blksz;
  }

  private fingerprintItem(value: Uint8Array, path: string): XattrItem {
    return makeXattrItem(this.opts.ishareKey!, value, this.prefixes, path, true);
  }

  /** The planned xattr body of an inode: its xattrs and, when it has a digest, the fingerprint. */
  private ibodyOf(ino: Ino, shared: SharedArea): IbodyPlan {
    const digest = ino.data?.digest;
    let items = ino.xattrs;
    if (digest) {
      const v = new Uint8Array(FINGERPRINT_SIZE);
      v.set(FINGERPRINT_PREFIX);
      v.set(digest, FINGERPRINT_PREFIX.length);
      // name, index, filter bit and size are the same for every file: only the value differs
      this.fpTemplate ??= this.fingerprintItem(new Uint8Array(FINGERPRINT_SIZE), '');
      items = [...items, { ...this.fpTemplate, value: v, key: '' }];
    }
    return planIbody(items, shared, this.opts.xattrNameFilter);
  }

  private async writeFlat(stream: ByteStream, size: number, path: string, keepTail: boolean): Promise<WrittenData> {
    const bs = this.blksz;
    const fullBytes = keepTail ? size - (size % bs) : size;
    const hash = this.opts.ishareKey !== undefined && size > 0 ? createHash('sha256') : null;
    const startBlk = size > 0 && fullBytes > 0 ? this.nextBlk : -1;
    const base = startBlk * bs;
    const tail = keepTail ? this.tailBuf.subarray(0, size - fullBytes) : null;
    let done = 0;
    for await (const chunk of stream) {
      if (chunk.length === 0) continue;
      if (done + chunk.length > size) throw changed(path, size, 'grew');
      hash?.update(chunk);
      let c = chunk;
      if (done < fullBytes) {
        const n = Math.min(c.length, fullBytes - done);
        await writeAll(this.fh, c.subarray(0, n), base + done);
        done += n;
        c = c.subarray(n);
      }
      if (c.length > 0) {
        tail!.set(c, done - fullBytes);
        done += c.length;
      }
    }
    if (done !== size) throw changed(path, size, 'shrank');
    const blocks = Math.ceil(fullBytes / bs);
    if (blocks > 0) {
      const pad = blocks * bs - fullBytes;
      if (pad > 0) await writeAll(this.fh, this.zeroBlock.subarray(0, pad), base + fullBytes);
      this.nextBlk += blocks;
    }
    const tailLen = tail ? tail.length : 0;
    const tailOff = tailLen > 0 ? this.keepTail(tail!) : -1;
    return { layout: 'flat', size, startBlk, blocks, tailOff, tailLen, digest: hash ? new Uint8Array(hash.digest()) : null };
  }

  private async writeChunked(stream: ByteStream, size: number, path: string): Promise<WrittenData> {
    const store = this.chunkStore!;
    const cs = this.opts.chunkSize!;
    const hash = this.opts.ishareKey !== undefined && size > 0 ? createHash('sha256') : null;
    this.chunkBuf ??= Buffer.allocUnsafe(cs);
    const buf = this.chunkBuf;
    const chunks: number[] = [];
    let fill = 0;
    let done = 0;
    const flush = async (): Promise<void> => {
      const piece = buf.subarray(0, fill);
      fill = 0;
      if (isZero(piece)) {
        chunks.push(-1);
        return;
      }
      const key = createHash('sha256').update(piece).digest('base64') + piece.length;
      const hit = store.seen.get(key);
      if (hit !== undefined) {
        chunks.push(hit);
        return;
      }
      const blocks = Math.ceil(piece.length / this.blksz);
      const pad = blocks * this.blksz - piece.length;
      let blk: number;
      if (store.blob) {
        blk = store.blob.blocks;
        await writeAll(store.blob.fh, piece, blk * this.blksz);
        store.blob.hash.update(piece);
        if (pad > 0) {
          await writeAll(store.blob.fh, this.zeroBlock.subarray(0, pad), blk * this.blksz + piece.length);
          store.blob.hash.update(this.zeroBlock.subarray(0, pad));
        }
        store.blob.blocks += blocks;
      } else {
        blk = this.nextBlk;
        await writeAll(this.fh, piece, blk * this.blksz);
        if (pad > 0) await writeAll(this.fh, this.zeroBlock.subarray(0, pad), blk * this.blksz + piece.length);
        this.nextBlk += blocks;
      }
      store.seen.set(key, blk);
      chunks.push(blk);
    };
    for await (const chunk of stream) {
      if (done + chunk.length > size) throw changed(path, size, 'grew');
      hash?.update(chunk);
      done += chunk.length;
      let c = chunk;
      while (c.length > 0) {
        const n = Math.min(c.length, cs - fill);
        buf.set(c.subarray(0, n), fill);
        fill += n;
        c = c.subarray(n);
        if (fill === cs) await flush();
      }
    }
    if (done !== size) throw changed(path, size, 'shrank');
    if (fill > 0) await flush();
    return {
      layout: 'chunked', size, chunkBits: Math.log2(cs) - this.opts.blkszbits, chunks,
      deviceId: store.blob ? 1 : 0, digest: hash ? new Uint8Array(hash.digest()) : null,
    };
  }

  /**
   * Copies one host file into the data area (flat layout): synchronous
   * reads straight into the output buffer (no await per file: on a page-
   * cached tree a syscall beats a thread-pool round trip); the bytes are
   * hashed by `out` (on its worker thread when it has one); only a full
   * output buffer waits, for a free one.
   */
  private async copyHostFlat(out: DataOut, path: string, size: number, keepTail: boolean): Promise<WrittenData> {
    const bs = this.blksz;
    const fullBytes = keepTail ? size - (size % bs) : size;
    const startBlk = fullBytes > 0 ? small((out.start + out.used) / bs) : -1;
    const tail = this.tailBuf;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw readError(e, path);
    }
    let done = 0;
    try {
      for (;;) {
        if (out.used === out.buf.length) await out.flush();
        const b = out.buf;
        const at = out.used;
        // one byte more than expected: a file that grew shows at once
        const want = Math.min(b.length - at, size + 1 - done);
        let n: number;
        try {
          n = readSync(fd, b, at, want, null);
        } catch (e) {
          throw readError(e, path);
        }
        if (n === 0) break;
        const before = done;
        done += n;
        if (done > size) throw changed(path, size, 'grew');
        if (done > fullBytes) {
          const k = Math.max(fullBytes - before, 0); // bytes of this read before the tail
          b.copy(tail, before + k - fullBytes, at + k, at + n);
          out.span(at, k);
          out.tail(tail, before + k - fullBytes, done - fullBytes);
          out.used += k;
        } else {
          out.span(at, n);
          out.used += n;
        }
        if (n < want && done === size) break; // short read at the expected size: end of file
      }
    } finally {
      closeSync(fd);
    }
    if (done !== size) throw changed(path, size, 'shrank');
    const blocks = Math.ceil(fullBytes / bs);
    const pad = blocks * bs - fullBytes;
    if (pad > 0) {
      // the buffer's length is a multiple of the block size, so the pad fits
      out.buf.fill(0, out.used, out.used + pad);
      out.used += pad;
    }
    this.nextBlk += blocks;
    const tailLen = small(size - fullBytes);
    const tailOff = tailLen > 0 ? this.keepTail(tail.subarray(0, tailLen)) : -1;
    let arena: Uint8Array | null = null;
    let at = 0;
    if (out.hashing) {
      // the slot object is the DataOut's, reused: copy its two fields now
      const slot = out.endFile();
      arena = slot.arena;
      at = slot.at - 32;
    }
    if (out.batchFull) await out.flush();
    return new FlatData(size, startBlk, blocks, tailOff, tailLen, arena, at);
  }

  /**
   * The data area for copying host files from the next block on: buffers
   * shared with a writer/hasher thread when one can be started (see
   * data-out.ts; EROFS_DATA_WORKER=0 never, =1 always, else when hashing
   * DATA_WORKER_MIN bytes or more: without fingerprints the thread would
   * only take the write submissions, not worth its ~10 MB), else on this thread.
   */
  private async openDataOut(bytesTotal: number): Promise<DataOut> {
    const bs = this.blksz;
    const size = Math.min(DATA_BUF, Math.max(bs, Math.ceil((bytesTotal + 1) / bs) * bs));
    const hashing = this.opts.ishareKey !== undefined;
    const start = this.nextBlk * bs;
    const env = process.env['EROFS_DATA_WORKER'];
    let out: DataOut | null = null;
    if (dataWorkerAllowed(this.opts.workers) && (env === '1' || (hashing && bytesTotal >= DATA_WORKER_MIN))) {
      out = await WorkerDataOut.start(this.fh, start, size, hashing, bs);
    }
    out ??= new InlineDataOut(this.fh, start, size, hashing);
    this.dataOut = out;
    return out;
  }

  /** Writes what is left in the data area, waits for it (and the digests), stops its worker. */
  private async closeDataOut(): Promise<void> {
    const out = this.dataOut;
    if (!out) return;
    await out.drain();
    this.dataOut = undefined;
    await out.close();
  }

  /** A fresh stream of a node's bytes (host path or bytes). */
  private sourceOf(node: InodeNode, path: string): ByteStream {
    const size = node.size ?? 0;
    const data = node.data;
    if (!data || size === 0) return [];
    if (data.kind === 'path') return readHostFile(data.path, size);
    if (data.kind === 'bytes') return [data.bytes];
    throw new ErofsError('EINVAL', 'file data written by another image writer', path);
  }

  /**
   * Writes the files of a compressed image: one reader walks the files in
   * order, cutting them into segments for the worker pool (bounded by the
   * read-ahead budget) while this loop writes finished segments in the same
   * order, so the image does not depend on which worker finished first.
   */
  private async writeFilesCompressed(files: Ino[], tolerance: number, after: (ino: Ino) => void): Promise<void> {
    try {
      await this.writeFilesCompressedInner(files, tolerance, after);
      // -E fragments: the packed inode, once every tail is in it
      await this.writePackedInode();
    } finally {
      this.packed?.close();
    }
  }

  private async writeFilesCompressedInner(files: Ino[], tolerance: number, after: (ino: Ino) => void): Promise<void> {
    const jobs: Array<{ job: ZJob; fc: FileCompression } | null> = files.map((ino) => {
      const d = ino.node.data;
      if (d?.kind === 'written' || !d) return null;
      const fc = this.compressionFor(ino.path, ino.node.size ?? 0);
      return fc ? { job: new ZJob(), fc } : null;
    });
    const producer = (async () => {
      for (let i = 0; i < files.length; i++) {
        const j = jobs[i];
        if (!j || j.fc.allFragments) continue; // whole files go to the packed inode as they are
        const ino = files[i]!;
        const d = ino.node.data!;
        if (d.kind === 'path') await this.produceHostFile(j.job, d.path, ino.node.size ?? 0, j.fc);
        else await this.produce(j.job, this.sourceOf(ino.node, ino.path), ino.node.size ?? 0, ino.path, j.fc);
      }
    })();
    producer.catch((e) => {
      for (const j of jobs) j?.job.fail(e);
    });
    const committer = (async () => {
      for (let i = 0; i < files.length; i++) {
        const ino = files[i]!;
        const j = jobs[i];
        const d = ino.node.data;
        const xattrs = tolerance >= 0 ? ino.node.xattrs : new Map<string, Uint8Array>();
        if (d?.kind === 'written') {
          const h = d.handle as WrittenHandle;
          if (!h || h.writer !== this) throw new ErofsError('EINVAL', 'file data written by another image writer', ino.path);
          ino.data = h.data;
        } else if (j?.fc.allFragments) {
          const where = d?.kind === 'path' ? d.path : ino.path;
          ino.data = await this.packWholeFile(this.sourceOf(ino.node, ino.path), ino.node.size ?? 0, where, j.fc);
        } else if (j) {
          const where = d?.kind === 'path' ? d.path : ino.path;
          ino.data = await this.commit(j.job, ino.node.size ?? 0, where, j.fc, () => this.sourceOf(ino.node, ino.path), xattrs);
        } else {
          ino.data = await this.writePending(ino.node, ino.path, xattrs);
        }
        after(ino);
      }
    })();
    await Promise.all([producer, committer]);
  }

  /** Writes a file whose node data is not 'written' yet (host path or bytes). */
  private async writePending(node: InodeNode, path: string, xattrs: ReadonlyMap<string, Uint8Array>): Promise<WrittenData> {
    const size = node.size ?? 0;
    const data = node.data;
    let stream: ByteStream;
    if (!data || size === 0) stream = [];
    else if (data.kind === 'path') stream = readHostFile(data.path, size);
    else if (data.kind === 'bytes') stream = [data.bytes];
    else throw new ErofsError('EINVAL', 'file data written by another image writer', path);
    const where = data?.kind === 'path' ? data.path : path;
    const fd = await this.writeDataAs(stream, size, where, null, xattrs);
    return (fd.handle as WrittenHandle).data;
  }

  /**
   * Writes everything not written yet (files given by path or bytes, in tree
   * order), then directories, xattrs, inodes and the superblock, and renames
   * the temporary file to the output path. The writer is closed afterwards.
   */
  async finish(root: InodeNode): Promise<BuildSummary> {
    this.check();
    try {
      return await this.finishInner(root);
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  private async finishInner(root: InodeNode): Promise<BuildSummary> {
    const o = this.opts;
    const bs = this.blksz;
    if (root.type !== 'dir') throw new ErofsError('ENOTDIR', 'the root of the tree is not a directory', '/');
    const inos = collectInodes(root, o.dotOmitted);

    // xattrs, then the shared area
    const tolerance = o.xattrTolerance ?? 2;
    for (const ino of inos) {
      if (tolerance < 0) continue;
      if (ino.node.xattrs.size === 0) continue;
      const names = [...ino.node.xattrs.keys()].sort();
      const path = ino.path;
      ino.xattrs = names.map((n) => makeXattrItem(n, ino.node.xattrs.get(n)!, this.prefixes, path));
    }

    // file data not streamed yet, in tree order
    const files = inos.filter((i) => i.node.type === 'file');
    const bytesTotal = files.reduce((n, i) => n + (i.node.size ?? 0), 0);
    let bytesDone = 0;
    let filesDone = 0;
    let lastReport = 0;
    const after = (ino: Ino): void => {
      ino.data = ino.data!;
      bytesDone += ino.data.size;
      filesDone++;
      if (this.progress) {
        const now = Date.now();
        if (now - lastReport > 100 || filesDone === files.length) {
          lastReport = now;
          this.progress({ filesDone, filesTotal: files.length, bytesDone, bytesTotal, path: ino.path });
        }
      }
      ino.size = small(ino.data.size);
    };
    if (this.plan.enabled) {
      await this.writeFilesCompressed(files, tolerance, after);
    } else {
      let out: DataOut | undefined;
      for (const ino of files) {
        const d = ino.node.data;
        const size = ino.node.size ?? 0;
        if (d?.kind === 'path' && size > 0 && o.chunkSize === undefined) {
          out ??= await this.openDataOut(bytesTotal);
          const path = d.path; // made on demand by scan's HostPath: once
          const keep = this.inlineRoom(size, tolerance >= 0 ? ino.node.xattrs : undefined, path);
          ino.data = await this.copyHostFlat(out, path, size, keep);
        } else if (d?.kind === 'path' && size === 0) {
          // nothing to read or write (as writePending would): the data area stays open
          ino.data = { layout: 'flat', size: 0, startBlk: -1, blocks: 0, tailOff: -1, tailLen: 0, digest: null };
        } else {
          if (out) {
            await this.closeDataOut();
            out = undefined;
          }
          if (d?.kind === 'written') {
            const h = d.handle as WrittenHandle;
            if (!h || h.writer !== this) throw new ErofsError('EINVAL', 'file data written by another image writer', ino.path);
            ino.data = h.data;
          } else {
            ino.data = await this.writePending(ino.node, ino.path, tolerance >= 0 ? ino.node.xattrs : new Map());
          }
        }
        after(ino);
      }
      if (out) await this.closeDataOut();
      out = undefined; // its buffers are not needed any more
    }
    await this.closePool();

    const shared = planSharedArea(inos.map((i) => i.xattrs), tolerance);
    for (const ino of inos) {
      ino.ibodySize = ino.xattrs.length === 0 ? (ino.data?.digest ? this.fpOnlyIbody : 0) : this.ibodyOf(ino, shared).size;
    }

    // directory and symlink contents (sizes now; nids later)
    for (const ino of inos) {
      if (ino.node.type === 'dir') ino.size = dirSize(ino.dirents!.names.map((n) => n.length), bs);
      else if (ino.node.type === 'symlink') {
        ino.content = ino.node.target ?? new Uint8Array(0);
        ino.size = ino.content.length;
        if (ino.size === 0) throw new ErofsError('EINVAL', 'empty symlink target', ino.path);
      }
    }

    const { epoch, fixedNsec } = chooseEpoch(inos.map((i) => i.node.mtime));
    const is48 = o.is48bit || o.dotOmitted;
    this.addPackedIno(inos); // -E fragments

    // inode form and data layout; late blocks allocated in inode order
    let lateBlk = this.nextBlk;
    const relocations: Array<{ ino: Ino; from: number; blocks: number }> = [];
    for (const ino of inos) {
      ino.extended = needsExtended(ino, o, epoch, fixedNsec);
      const isize = ino.extended ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
      const room = bs - isize - ino.ibodySize;
      const t = ino.node.type;
      if (t === 'file') {
        const d = ino.data!;
        if (d.layout === 'chunked') {
          ino.datalayout = DataLayout.CHUNK_BASED;
        } else if (d.layout === 'compressed') {
          ino.datalayout = this.zDatalayout(d);
        } else if (d.tailLen > 0) {
          if (d.tailLen <= room) {
            ino.datalayout = DataLayout.FLAT_INLINE;
          } else {
            // the tail was kept for inlining but does not fit: move the whole file
            ino.datalayout = DataLayout.FLAT_PLAIN;
            ino.lateBlk = lateBlk;
            ino.lateBlocks = d.blocks + 1;
            relocations.push({ ino, from: d.startBlk, blocks: d.blocks });
            lateBlk += ino.lateBlocks;
          }
        } else {
          ino.datalayout = DataLayout.FLAT_PLAIN;
        }
      } else if (t === 'dir' || t === 'symlink') {
        const tailLen = ino.size % bs;
        const inline = o.inlineData && tailLen > 0 && tailLen <= room;
        ino.datalayout = inline ? DataLayout.FLAT_INLINE : DataLayout.FLAT_PLAIN;
        ino.lateBlocks = inline ? Math.floor(ino.size / bs) : Math.ceil(ino.size / bs);
        if (ino.lateBlocks > 0) {
          ino.lateBlk = lateBlk;
          lateBlk += ino.lateBlocks;
        }
      } else {
        ino.datalayout = DataLayout.FLAT_PLAIN;
      }
    }

    // shared xattrs, then the metadata area
    const xattrBlk = lateBlk;
    const sharedBytes = encodeSharedArea(shared);
    const metaBlk = xattrBlk + Math.ceil(sharedBytes.length / bs);
    // Records go where they fit best (as mkfs.erofs's buffer manager places
    // them): a record of at most a block takes the partly used block with the
    // least room that still holds it, else a new block; longer records start a
    // block and leave the rest of their last one to others. Sequential
    // placement instead wasted the end of every block a record did not fit in
    // (some 2% of an image of many small files with inline tails).
    const slotsPerBlock = bs >> EROFS_ISLOTBITS;
    const meta = new MetaPacker(slotsPerBlock);
    meta.take(1); // slot 0 unused: no inode gets nid 0
    for (const ino of inos) {
      const isize = ino.extended ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
      const fixed = isize + ino.ibodySize;
      const trailer = (start: number): { size: number; idxOff: number } => {
        const d = ino.data;
        if (d?.layout === 'chunked') {
          const unit = chunkUnit(d, o);
          const idxStart = Math.ceil((start + fixed) / unit) * unit;
          return { size: idxStart - start + d.chunks.length * unit, idxOff: idxStart - start };
        }
        if (d?.layout === 'compressed') {
          const mh = mapHeaderStart(fixed);
          return { size: mh + this.zIndexBytes(ino, mh) + (d.idata?.length ?? 0), idxOff: mh };
        }
        return { size: fixed + (ino.datalayout === DataLayout.FLAT_INLINE ? ino.size % bs : 0), idxOff: 0 };
      };
      // the record's layout does not depend on where it goes (slots are 32-byte aligned)
      const tr = trailer(0);
      const slots = Math.ceil(tr.size / 32);
      let slot: number;
      const zd = ino.data?.layout === 'compressed' ? ino.data : undefined;
      if (slots <= slotsPerBlock) {
        // inside one block: an inline tail must not cross one, nor an inode
        slot = meta.take(slots);
      } else if (zd?.idata) {
        // longer than a block with an inline pcluster: from a block start, moved
        // slot by slot until the inline pcluster (its end) sits in one block
        const n = zd.idata.length;
        let lead = 0;
        while ((((lead << EROFS_ISLOTBITS) + tr.size - n) % bs) + n > bs) lead++;
        slot = meta.takeBlocks(lead + slots) + lead;
      } else {
        slot = meta.takeBlocks(slots);
      }
      ino.recSize = small(tr.size);
      ino.idxOff = small(tr.idxOff);
      ino.nid = small(slot);
    }
    const metaBytes = meta.end << EROFS_ISLOTBITS;
    const totalBlocks = metaBlk + Math.ceil(metaBytes / bs);
    const rootIno = inos[0]!;
    if (!is48 && rootIno.nid > 0xffff) throw new ErofsError('EFBIG', 'root nid does not fit in 16 bits');
    if (!is48 && totalBlocks > U32_MAX) throw new ErofsError('EFBIG', 'image over 2^32 blocks needs -E48bit');

    // late data: relocated files, directories, symlinks
    for (const r of relocations) {
      const d = r.ino.data as Extract<WrittenData, { layout: 'flat' }>;
      const buf = Buffer.allocUnsafe(Math.min(READ_BUF, Math.max(bs, r.blocks * bs)));
      for (let b = 0; b < r.blocks;) {
        const n = Math.min(r.blocks - b, buf.length / bs);
        const { bytesRead } = await this.fh.read(buf, 0, n * bs, (r.from + b) * bs);
        if (bytesRead !== n * bs) throw new ErofsError('EIO', 'short read while moving data', r.ino.path);
        await this.writeBlocks(buf.subarray(0, n * bs), r.ino.lateBlk + b);
        b += n;
      }
      const last = new Uint8Array(bs);
      this.tails!.read(d.tailOff, d.tailLen, last, 0);
      await this.writeBlocks(last, r.ino.lateBlk + r.blocks);
    }
    for (const ino of inos) {
      const t = ino.node.type;
      if (t !== 'dir' && t !== 'symlink') continue;
      if (t === 'dir') {
        const { names, inos: targets } = ino.dirents!;
        const entries: DirEntryOut[] = names.map((name, i) => {
          const target = targets[i] ?? (name === DOT ? ino : (ino.parent ?? ino));
          return { name, nid: BigInt(target.nid), fileType: fileType(target.node.type) };
        });
        ino.content = encodeDir(entries, bs, ino.size);
      }
      const c = ino.content!;
      const inBlocks = ino.datalayout === DataLayout.FLAT_INLINE ? Math.floor(c.length / bs) * bs : c.length;
      if (inBlocks > 0) {
        const padded = new Uint8Array(ino.lateBlocks * bs);
        padded.set(c.subarray(0, inBlocks));
        await this.writeBlocks(padded, ino.lateBlk);
      }
      if (ino.datalayout === DataLayout.FLAT_INLINE) ino.inlineTail = c.subarray(inBlocks);
      if (t === 'dir') ino.content = undefined; // not needed any more
    }
    if (sharedBytes.length > 0) {
      const padded = new Uint8Array(Math.ceil(sharedBytes.length / bs) * bs);
      padded.set(sharedBytes);
      await this.writeBlocks(padded, xattrBlk);
    }

    // the metadata area
    const metaOut = new SeqWriter(this.fh, metaBlk * bs);
    let at = 0;
    let anyChunked = false;
    let anyFilter = false;
    let anyInlineZ = false;
    // written in the order of their positions; inode numbers stay in tree order
    const byPos = inos.map((_, i) => i).sort((a, b) => inos[a]!.nid - inos[b]!.nid);
    for (const i of byPos) {
      const ino = inos[i]!;
      const inoNum = i + 1;
      const pos = ino.nid * (1 << EROFS_ISLOTBITS); // the record's byte offset in the metadata area
      if (pos > at) await metaOut.zeros(pos - at);
      const recLen = Math.ceil(ino.recSize / 32) * 32;
      const rec = await metaOut.slot(recLen);
      const isize = this.encodeInodeRecord(ino, rec, o, epoch, inoNum, is48);
      if (ino.ibodySize > 0) {
        const plan = this.ibodyOf(ino, shared);
        encodeIbody(plan, rec, isize);
        if (plan.filter !== 0) anyFilter = true;
      }
      const after = isize + ino.ibodySize;
      const d = ino.data;
      if (d?.layout === 'chunked') {
        anyChunked = true;
        this.encodeChunkIndexes(d, rec, ino.idxOff, o);
      } else if (d?.layout === 'compressed') {
        if (d.idata) anyInlineZ = true;
        this.encodeZIndexes(ino, d, rec);
      } else if (ino.inlineTail) {
        rec.set(ino.inlineTail, after);
      } else if (d?.layout === 'flat' && ino.datalayout === DataLayout.FLAT_INLINE && d.tailLen > 0) {
        this.tails!.read(d.tailOff, d.tailLen, rec, after);
      }
      at = pos + recLen;
    }
    await metaOut.zeros(totalBlocks * bs - metaBlk * bs - at);
    await metaOut.flush();
    this.closeTails();

    // the blob device
    let blobBlocks = 0;
    let blobTag: Uint8Array | undefined;
    const blob = this.chunkStore?.blob;
    if (blob) {
      blobBlocks = blob.blocks;
      blobTag = new TextEncoder().encode(blob.hash.digest('hex'));
      await blob.fh.truncate(blob.blocks * bs);
    }

    // head: superblock, device table, prefix table
    const head = new Uint8Array(this.headBlocks * bs);
    const sb = emptySuperblock(o.blkszbits);
    sb.featureCompat = FeatureCompat.MTIME
      | (o.sbChecksum ? FeatureCompat.SB_CHKSUM : 0)
      | (anyFilter ? FeatureCompat.XATTR_FILTER : 0)
      | (this.prefixes.prefixes.length > 0 ? FeatureCompat.PLAIN_XATTR_PFX : 0)
      | (this.prefixes.ishareIndex !== undefined ? FeatureCompat.ISHARE_XATTRS : 0);
    const extra = o.extraDevices ?? [];
    sb.featureIncompat = (anyChunked ? FeatureIncompat.CHUNKED_FILE : 0)
      | (blob || extra.length > 0 ? FeatureIncompat.DEVICE_TABLE : 0)
      | (this.prefixes.prefixes.length > 0 ? FeatureIncompat.XATTR_PREFIXES : 0)
      | (is48 ? FeatureIncompat['48BIT'] : 0)
      | this.plan.incompat(anyInlineZ);
    sb.u1 = this.plan.u1();
    this.zSuperblock(sb);
    const rootNid = BigInt(rootIno.nid);
    if (rootNid > 0xffffn || totalBlocks > U32_MAX) {
      sb.rootnid2b = Math.floor(totalBlocks / 0x100000000);
      sb.rootnid8b = rootNid;
    } else {
      sb.rootnid2b = Number(rootNid);
    }
    sb.inos = BigInt(inos.length);
    sb.epoch = epoch;
    sb.fixedNsec = fixedNsec;
    const bt = o.buildTime.sec - epoch;
    sb.buildTime = bt >= 0n && bt <= BigInt(U32_MAX) ? Number(bt) : 0;
    sb.blocksLo = totalBlocks >>> 0;
    sb.metaBlkaddr = metaBlk;
    sb.xattrBlkaddr = xattrBlk;
    sb.uuid = o.uuid;
    const vol = new TextEncoder().encode(o.volumeName);
    sb.volumeName = new Uint8Array(16);
    sb.volumeName.set(vol.subarray(0, 15));
    sb.extraDevices = blob ? 1 : extra.length;
    sb.devtSlotoff = this.devtSlotoff;
    sb.xattrPrefixCount = this.prefixes.prefixes.length;
    sb.xattrPrefixStart = this.prefixStart / 4;
    sb.ishareXattrPrefixId = this.prefixes.ishareIndex ?? 0;
    encodeSuperblock(sb, head, EROFS_SUPER_OFFSET);
    head.fill(0, EROFS_SUPER_OFFSET + SUPERBLOCK_BASE_SIZE, EROFS_SUPER_OFFSET + 144);
    if (blob) {
      encodeDeviceSlot({ tag: blobTag!, blocks: blobBlocks, uniaddr: 0 }, head, this.devtSlotoff * DEVICE_SLOT_SIZE);
    }
    extra.forEach((d, i) => {
      const tag = typeof d.tag === 'string' ? new TextEncoder().encode(d.tag) : d.tag;
      encodeDeviceSlot({ tag, blocks: d.blocks, uniaddr: 0 }, head, (this.devtSlotoff + i) * DEVICE_SLOT_SIZE);
    });
    if (this.prefixes.prefixes.length > 0) encodePrefixTable(this.prefixes, head, this.prefixStart);
    head.set(this.plan.cfgsBytes(), this.cfgsStart);
    if (o.sbChecksum) {
      put32(head, EROFS_SUPER_OFFSET + 4, superblockChecksum(head.subarray(EROFS_SUPER_OFFSET), o.blkszbits));
    }
    await this.writeBlocks(head, 0);
    // gaps between written ranges read back as zeros: no stale bytes anywhere
    await this.fh.truncate(totalBlocks * bs);
    await this.fh.close();
    this.closed = true;
    if (blob) {
      await blob.fh.close();
      await rename(blob.tmp, blob.final);
    }
    await rename(this.tmp, this.outPath);

    return {
      inodes: inos.length,
      blocks: totalBlocks,
      bytes: totalBlocks * bs,
      files: files.length,
      fingerprinted: files.filter((f) => f.data?.digest).length,
      dataBytes: bytesTotal,
      seconds: Number(process.hrtime.bigint() - this.started) / 1e9,
    };
  }

  private encodeInodeRecord(ino: Ino, rec: Uint8Array, o: WriterOptions, epoch: bigint, inoNum: number, is48: boolean): number {
    const t = ino.node.type;
    let iu = 0;
    let startBlk = -1; // flat layouts
    const d = ino.data;
    if (t === 'chardev' || t === 'blockdev') {
      iu = encodeDev(ino.node.rdev?.major ?? 0, ino.node.rdev?.minor ?? 0);
    } else if (d?.layout === 'chunked') {
      iu = chunkFormat(d, o);
    } else if (d?.layout === 'compressed') {
      iu = d.blocks; // compressed_blocks
    } else {
      if (ino.lateBlk >= 0 && ino.lateBlocks > 0) startBlk = ino.lateBlk;
      else if (d?.layout === 'flat' && d.startBlk >= 0 && d.blocks > 0) startBlk = d.startBlk;
      iu = startBlk >= 0 ? startBlk >>> 0 : EROFS_NULL_ADDR;
    }
    const hi = startBlk >= 0 ? Math.floor(startBlk / 0x100000000) : -1;
    if (hi > 0 && (!is48 || (!ino.extended && (t === 'dir' || ino.nlink !== 1)))) {
      throw new ErofsError('EFBIG', 'block address over 32 bits needs -E48bit (and an extended inode)', ino.path);
    }
    let format = 0;
    let nb = 0;
    if (t === 'dir' && o.dotOmitted) format |= 1 << EROFS_I_DOT_OMITTED_BIT;
    if (ino.extended) {
      if (is48 && d?.layout !== 'chunked' && t !== 'chardev' && t !== 'blockdev' && t !== 'fifo' && t !== 'socket') {
        nb = hi < 0 ? 0xffff : hi;
      }
    } else if (hi > 0) {
      format |= 1 << EROFS_I_NLINK_1_BIT; // compact + 48-bit address: nlink is 1, i_nb holds the high bits
      nb = hi;
    } else {
      nb = ino.nlink;
    }
    const di: DiskInode = {
      version: ino.extended ? 1 : 0,
      format,
      datalayout: ino.datalayout,
      xattrIcount: ino.ibodySize === 0 ? 0 : (ino.ibodySize - 12) / 4 + 1,
      mode: ino.mode,
      nb,
      size: ino.size,
      mtime: ino.extended ? ino.node.mtime.sec : compactMtime(ino.node.mtime.sec - epoch),
      mtimeNsec: ino.node.mtime.nsec,
      iu,
      ino: inoNum,
      uid: ino.node.uid,
      gid: ino.node.gid,
      nlink: ino.nlink,
    };
    encodeInode(di, rec, 0);
    return ino.extended ? INODE_EXTENDED_SIZE : INODE_COMPACT_SIZE;
  }

  /** Compact indexes are used unless -E legacy-compress, and only for 4 KiB lclusters. */
  private compactOk(): boolean {
    return !this.plan.legacy && this.opts.blkszbits === 12;
  }

  /** Bytes from the map header start to the end of the indexes. */
  private zIndexBytes(ino: Ino, mh: number): number {
    const d = ino.data;
    // a whole-file fragment: the map header alone (in the 16 bytes full indexes start after)
    if (d?.layout === 'compressed' && d.fragmentLen === d.size && (d.fragmentOff ?? -1) >= 0) return fullIndexSize(0);
    const n = Math.ceil(ino.size / this.blksz);
    if (ino.datalayout === DataLayout.COMPRESSED_COMPACT) return MAP_HEADER_SIZE + compactIndexSize(n, mh + MAP_HEADER_SIZE, true);
    return fullIndexSize(n);
  }

  /** Map header, lcluster indexes and the inline pcluster of a compressed inode. */
  private encodeZIndexes(ino: Ino, d: Extract<WrittenData, { layout: 'compressed' }>, rec: Uint8Array): void {
    const mh = ino.idxOff;
    const fragOff = d.fragmentOff ?? -1;
    if (fragOff >= 0 && d.fragmentLen === d.size) {
      // the whole file in the packed inode: the 64-bit header is its offset there, bit 63 set
      if (ino.datalayout !== DataLayout.COMPRESSED_FULL) throw new ErofsError('EIO', 'internal: whole-file fragment needs full indexes', ino.path);
      put32(rec, mh, fragOff >>> 0);
      put32(rec, mh + 4, (Math.floor(fragOff / 0x100000000) | 0x80000000) >>> 0);
      return;
    }
    const big = this.plan.bigPcluster;
    const compact = ino.datalayout === DataLayout.COMPRESSED_COMPACT;
    let advise = 0;
    if (compact && this.opts.blkszbits === 12) advise |= ZAdvise.COMPACTED_2B;
    if (big) advise |= ZAdvise.BIG_PCLUSTER_1 | (compact ? ZAdvise.BIG_PCLUSTER_2 : 0);
    if (d.idata) advise |= ZAdvise.INLINE_PCLUSTER;
    if (fragOff >= 0) advise |= ZAdvise.FRAGMENT_PCLUSTER;
    // word0: h_fragmentoff (its low 32 bits) with a fragment, else h_idata_size in the high half
    const word0 = fragOff >= 0 ? fragOff >>> 0 : (d.idata?.length ?? 0) << 16;
    encodeMapHeader({ word0, advise, algorithmtype: d.algorithmId, clusterbits: 0 }, rec, mh);
    const idx = buildIndexes(d.extents, this.opts.blkszbits, big);
    const n = Math.ceil(ino.size / this.blksz);
    if (idx.length !== n) throw new ErofsError('EIO', `internal: ${idx.length} lcluster indexes for ${n} lclusters`, ino.path);
    let end: number;
    if (compact) {
      const start = d.startBlk >= 0 ? d.startBlk : (d.extents[0]?.pblk ?? 0);
      end = mh + MAP_HEADER_SIZE
        + encodeCompactIndexes(idx, rec, mh + MAP_HEADER_SIZE, mh + MAP_HEADER_SIZE, this.opts.blkszbits, true, big, start);
    } else {
      encodeFullIndexes(idx, rec, mh + 16);
      end = mh + fullIndexSize(n);
    }
    if (d.idata) rec.set(d.idata, end);
  }

  private encodeChunkIndexes(d: Extract<WrittenData, { layout: 'chunked' }>, rec: Uint8Array, off: number, o: WriterOptions): void {
    const unit = chunkUnit(d, o);
    for (let i = 0; i < d.chunks.length; i++) {
      const blk = d.chunks[i]!;
      const p = off + i * unit;
      if (unit === EROFS_BLOCK_MAP_ENTRY_SIZE) {
        put32(rec, p, blk < 0 ? EROFS_NULL_ADDR : blk >>> 0);
      } else if (blk < 0) {
        encodeChunkIndex({ startblkHi: 0, deviceId: 0, startblkLo: EROFS_NULL_ADDR }, rec, p);
      } else {
        encodeChunkIndex({ startblkHi: Math.floor(blk / 0x100000000), deviceId: d.deviceId, startblkLo: blk >>> 0 }, rec, p);
      }
    }
  }
}

function changed(path: string, size: number, how: string): ErofsError {
  return new ErofsError('EIO', `file ${how} while being read (expected ${size} bytes)`, path);
}

function chunkUnit(d: Extract<WrittenData, { layout: 'chunked' }>, o: WriterOptions): number {
  return d.deviceId !== 0 || o.forceChunkIndexes || (!o.forceInodeBlockmap && d.chunks.some((c) => c > U32_MAX - 1))
    ? CHUNK_INDEX_SIZE
    : EROFS_BLOCK_MAP_ENTRY_SIZE;
}

function chunkFormat(d: Extract<WrittenData, { layout: 'chunked' }>, o: WriterOptions): number {
  let f = d.chunkBits;
  if (chunkUnit(d, o) === CHUNK_INDEX_SIZE) f |= EROFS_CHUNK_FORMAT_INDEXES;
  if (d.chunks.some((c) => c > U32_MAX - 1)) f |= EROFS_CHUNK_FORMAT_48BIT;
  return f;
}

/** A compact inode's mtime (seconds after the epoch); one out of range (-E force-inode-compact) becomes the epoch. */
function compactMtime(rel: bigint): bigint {
  return rel >= 0n && rel <= BigInt(U32_MAX) ? rel : 0n;
}

/** Compact unless a field does not fit (or the options force a form). */
function needsExtended(ino: Ino, o: WriterOptions, epoch: bigint, fixedNsec: number): boolean {
  if (o.forceInodeVersion === 'extended') return true;
  const n = ino.node;
  if (n.uid > 0xffff || n.gid > 0xffff || ino.nlink > 0xffff || ino.size > U32_MAX) return true;
  // -E force-inode-compact: an mtime a compact inode cannot carry is lost, as with
  // mkfs.erofs (see compactMtime); fields above still fall back to extended inodes
  if (o.forceInodeVersion === 'compact') return false;
  const rel = n.mtime.sec - epoch;
  if (rel < 0n || rel > BigInt(U32_MAX) || n.mtime.nsec !== fixedNsec) return true;
  return false;
}

/**
 * The inodes of a tree in depth-first order of sorted names (root first):
 * the order of nids, data and inode numbers. A node met again is a hard link.
 */
function collectInodes(root: InodeNode, dotOmitted: boolean): Ino[] {
  const seen = new Map<InodeNode, Ino>();
  const out: Ino[] = [];
  const mk = (node: InodeNode, up: Ino | null, name: Uint8Array | null): Ino => {
    const ino = new Ino(node, up, name);
    if (node.type === 'file') ino.size = node.size ?? 0;
    seen.set(node, ino);
    out.push(ino);
    return ino;
  };
  const byName = (a: { name: Uint8Array }, b: { name: Uint8Array }): number => compareNames(a.name, b.name);
  const visitDir = (dir: Ino): void => {
    const children = [...(dir.node.entries ?? new Map<string, { name: Uint8Array; node: InodeNode }>()).values()].sort(byName);
    const dirents: Array<{ name: Uint8Array; ino: Ino | null }> = [];
    if (!dotOmitted) dirents.push({ name: DOT, ino: null });
    dirents.push({ name: DOTDOT, ino: null });
    let subdirs = 0;
    const toVisit: Ino[] = [];
    for (const { name, node } of children) {
      if (name.length === 0 || name.length > 255 || name.includes(0x2f) || name.includes(0)) {
        const p = dir.path;
        throw new ErofsError(name.length > 255 ? 'ENAMETOOLONG' : 'EINVAL', 'bad file name', `${p === '/' ? '' : p}/${dec.decode(name)}`);
      }
      if ((name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
        throw new ErofsError('EINVAL', 'a directory entry named . or ..', dir.path);
      }
      let ino = seen.get(node);
      if (ino) {
        if (node.type === 'dir') {
          const p = dir.path;
          throw new ErofsError('EINVAL', 'a directory appears twice in the tree', `${p === '/' ? '' : p}/${dec.decode(name)}`);
        }
      } else {
        ino = mk(node, dir, name);
        if (node.type === 'dir') toVisit.push(ino);
      }
      if (node.type === 'dir') subdirs++;
      else ino.nlink++;
      dirents.push({ name, ino });
    }
    dirents.sort(byName);
    dir.dirents = { names: dirents.map((d) => d.name), inos: dirents.map((d) => d.ino) };
    dir.nlink = 2 + subdirs;
    for (const c of toVisit) visitDir(c);
  };
  const r = mk(root, null, null);
  visitDir(r);
  return out;
}

/** Rejects option values the format cannot express. */
export function validateOptions(o: WriterOptions): void {
  if (!Number.isInteger(o.blkszbits) || o.blkszbits < 9 || o.blkszbits > 16) {
    throw new ErofsError('EINVAL', `block size 2^${o.blkszbits} not supported (512..65536)`);
  }
  if (o.uuid.length !== 16) throw new ErofsError('EINVAL', 'the UUID must be 16 bytes');
  if (new TextEncoder().encode(o.volumeName).length > 15) throw new ErofsError('EINVAL', 'volume label over 15 bytes');
  if (o.chunkSize !== undefined) {
    const cs = o.chunkSize;
    if (!Number.isInteger(cs) || cs < 2 ** o.blkszbits || (cs & (cs - 1)) !== 0 || Math.log2(cs) - o.blkszbits > 31) {
      throw new ErofsError('EINVAL', `chunk size ${cs} must be a power of two >= the block size`);
    }
    if (cs > 1 << 30) throw new ErofsError('EINVAL', `chunk size ${cs} over 1 GiB not supported`);
  }
  if ((o.compression?.length ?? 0) > 0 && o.chunkSize !== undefined) {
    throw new ErofsError('EINVAL', 'compression (-z) and --chunksize exclude each other');
  }
  if (o.blobdev !== undefined && o.chunkSize === undefined) throw new ErofsError('EINVAL', '--blobdev needs --chunksize');
  if (o.blobdev !== undefined && o.forceInodeBlockmap) {
    throw new ErofsError('EINVAL', 'a blob device needs chunk indexes (not -E force-inode-blockmap)');
  }
  if (o.extraDevices !== undefined && o.extraDevices.length > 0) {
    if (o.blobdev !== undefined) throw new ErofsError('EINVAL', 'extra devices and --blobdev exclude each other');
    if (o.extraDevices.length > 0xffff) throw new ErofsError('EINVAL', 'too many extra devices');
    for (const d of o.extraDevices) {
      const tag = typeof d.tag === 'string' ? new TextEncoder().encode(d.tag) : d.tag;
      if (tag.length > 64) throw new ErofsError('EINVAL', 'an extra device tag is over 64 bytes');
      if (!Number.isSafeInteger(d.blocks) || d.blocks < 0 || d.blocks >= 2 ** 48) {
        throw new ErofsError('EINVAL', `bad extra device size ${d.blocks} blocks`);
      }
    }
  }
  if (o.forceInodeBlockmap && o.forceChunkIndexes) {
    throw new ErofsError('EINVAL', 'force-inode-blockmap and force-chunk-indexes exclude each other');
  }
}

/** The mtimes of a tree, for tests. */
export function treeMtimes(root: InodeNode): Timestamp[] {
  return collectInodes(root, false).map((i) => i.node.mtime);
}
