import type { Codec } from '@erofs/codecs';
import {
  CHUNK_INDEX_SIZE, DataLayout, EROFS_BLOCK_MAP_ENTRY_SIZE, EROFS_CHUNK_FORMAT_48BIT, EROFS_CHUNK_FORMAT_INDEXES,
  EROFS_NULL_ADDR, EROFS_XATTR_LONG_PREFIX, ErofsError, FeatureCompat, INODE_COMPACT_SIZE, INODE_EXTENDED_SIZE,
  S_IFMT, XATTR_ENTRY_SIZE, corrupted, decodeAcl, splitXattrName, u16, u32, xattrFilterBit, type AclEntry,
} from '@erofs/format';
import { compareBytes, findInBlock, isDotOrDotDot, parseDirBlock, type RawDirent } from './dir.js';
import { fileKind, isCompressedLayout, nidText, parseInode, type Inode } from './inode.js';
import { BlockCache, ReadAhead, readExact, type BlockSource } from './source.js';
import { readSuper, type DeviceInfo, type SuperInfo } from './super.js';
import { longPrefixText, makeEntry, parseIbody, type LongPrefixInfo, type RawXattr, type XattrEntry } from './xattr.js';
import { loadZ, type ZImage, type ZReader } from './zcontract.js';

/** Extent flags, with the kernel's values (erofs_map_blocks). */
export const MapFlags = {
  /** The range has data (else it is a hole and reads as zeros). */
  MAPPED: 0x1,
  /** The data sits in the metadata space (inline tail after the inode). */
  META: 0x2,
  ENCODED: 0x4,
  FULL_MAPPED: 0x8,
  FRAGMENT: 0x10,
  PARTIAL_REF: 0x20,
} as const;

/**
 * One mapped range of an inode, as every mapper fills it: logical
 * [la, la+llen) maps to physical [pa, pa+plen) of device `deviceId`
 * (0 = primary) or, with META, of the inode's metadata space.
 */
export interface Extent {
  la: number;
  llen: number;
  pa: number;
  plen: number;
  flags: number;
  deviceId: number;
  /** Compression algorithm of encoded extents. */
  algorithm?: number;
}

/**
 * Blob sources for the extra devices of the device table: by position
 * (index 0 is device_id 1), by tag text, or a function picking one.
 */
export type DeviceSources =
  | ReadonlyArray<BlockSource | undefined>
  | Readonly<Record<string, BlockSource>>
  | ((dev: DeviceInfo) => BlockSource | undefined | Promise<BlockSource | undefined>);

export interface OpenOptions {
  devices?: DeviceSources;
  /** Metadata blocks kept in memory (default 1024). */
  cacheBlocks?: number;
  /**
   * Decoders by EROFS algorithm id (default: @erofs/codecs' portable ones);
   * `@erofs/reader/node` passes @erofs/codecs/node's, which use zlib.
   */
  decoders?: readonly Codec[];
}

/** A place metadata is read from: the primary device, or the metabox inode's data. */
interface MetaSpace {
  /** Bytes addressable in this space. */
  readonly size: number;
  read(pos: number, len: number, where: string): Promise<Uint8Array>;
}

/** Directory entries whose inodes a walk loads ahead of the one it is at. */
const WALK_AHEAD = 128;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });
/** Symlink resolutions before ELOOP, as Linux (MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;
/** Longest symlink target accepted (PATH_MAX - 1, the kernel refuses page-sized ones). */
const MAX_SYMLINK_SIZE = 4095;

/** File type and metadata of one inode, shaped like node:fs Stats. */
export class Stats {
  constructor(readonly inode: Inode) {}
  get nid(): bigint { return this.inode.nid; }
  get ino(): number { return this.inode.ino; }
  get mode(): number { return this.inode.mode; }
  get uid(): number { return this.inode.uid; }
  get gid(): number { return this.inode.gid; }
  get nlink(): number { return this.inode.nlink; }
  get size(): number { return this.inode.size; }
  /** Whole seconds of the mtime. */
  get mtimeSec(): number { return this.inode.mtime; }
  get mtimeNsec(): number { return this.inode.mtimeNsec; }
  get mtimeMs(): number { return this.inode.mtime * 1000 + Math.floor(this.inode.mtimeNsec / 1e6); }
  get mtime(): Date { return new Date(this.mtimeMs); }
  /** Raw device number (new_encode_dev form). */
  get rdev(): number { return this.inode.rdev; }
  get rdevMajor(): number { return (this.inode.rdev & 0xfff00) >>> 8; }
  get rdevMinor(): number { return ((this.inode.rdev & 0xff) | ((this.inode.rdev >>> 12) & 0xfff00)) >>> 0; }
  get datalayout(): number { return this.inode.datalayout; }
  isFile(): boolean { return fileKind.isReg(this.inode.mode); }
  isDirectory(): boolean { return fileKind.isDir(this.inode.mode); }
  isSymbolicLink(): boolean { return fileKind.isLnk(this.inode.mode); }
  isCharacterDevice(): boolean { return fileKind.isChr(this.inode.mode); }
  isBlockDevice(): boolean { return fileKind.isBlk(this.inode.mode); }
  isFIFO(): boolean { return fileKind.isFifo(this.inode.mode); }
  isSocket(): boolean { return fileKind.isSock(this.inode.mode); }
}

/** A directory entry, shaped like node:fs Dirent. */
export class Dirent {
  constructor(readonly name: string, readonly nid: bigint, readonly fileType: number, readonly nameBytes: Uint8Array) {}
  isFile(): boolean { return this.fileType === 1; }
  isDirectory(): boolean { return this.fileType === 2; }
  isCharacterDevice(): boolean { return this.fileType === 3; }
  isBlockDevice(): boolean { return this.fileType === 4; }
  isFIFO(): boolean { return this.fileType === 5; }
  isSocket(): boolean { return this.fileType === 6; }
  isSymbolicLink(): boolean { return this.fileType === 7; }
}

/** One step of {@link Image.walk}. */
export interface WalkEntry {
  /** Absolute path ("/" for the start of a walk from the root). */
  path: string;
  inode: Inode;
  /** Depth below the walk's start (0 for the start itself). */
  depth: number;
  /** The file type the parent's dirent claims (undefined for the start). */
  direntType?: number;
}

export interface WalkOptions {
  /**
   * Called for a directory that cannot be listed or a cycle, instead of
   * throwing; the walk then skips that directory and goes on.
   */
  onError?: (err: ErofsError, path: string) => void;
}

/** An open file of an image (fs/promises FileHandle-like). */
export class FileHandle {
  constructor(readonly image: Image, readonly inode: Inode, readonly path: string) {}
  stat(): Promise<Stats> { return Promise.resolve(new Stats(this.inode)); }
  read(buffer: Uint8Array, offset = 0, length = buffer.length - offset, position = 0): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    return this.image.read(this, buffer, offset, length, position);
  }
  readFile(): Promise<Uint8Array> { return this.image.readFile(this); }
  createReadStream(opts?: ReadStreamOptions): ReadableStream<Uint8Array> { return this.image.createReadStream(this, opts); }
  close(): Promise<void> { return Promise.resolve(); }
}

export interface ReadStreamOptions {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive as in node:fs (default: end of file). */
  end?: number;
  /** Bytes per chunk (default 256 KiB). */
  highWaterMark?: number;
}

/** Anything naming a file: a path, an open handle, or an inode. */
export type FileRef = string | FileHandle | Inode;

function isInode(x: unknown): x is Inode {
  return typeof x === 'object' && x !== null && 'nid' in x && 'datalayout' in x && !(x instanceof FileHandle);
}

class Lru<K, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly cap: number) {}
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.m.set(k, v);
    if (this.m.size > this.cap) this.m.delete(this.m.keys().next().value as K);
  }
  delete(k: K): void { this.m.delete(k); }
}

/**
 * An opened EROFS image: the fs/promises-shaped API (stat, readdir,
 * readFile, read, createReadStream, readlink, getxattr, listxattr, walk)
 * plus the low-level one (inode by nid, mapExtent, readInodeRange).
 */
export class Image {
  /** The checked superblock. */
  readonly sb: SuperInfo;
  readonly source: BlockSource;
  private readonly opts: OpenOptions;
  private readonly devMeta: MetaSpace;
  private mbox: Promise<MetaSpace> | undefined;
  private readonly inodes = new Lru<bigint, Promise<Inode>>(16384);
  private readonly dirBlocks = new Lru<string, Promise<RawDirent[]>>(2048);
  private readonly zReaders = new Lru<bigint, Promise<ZReader>>(128);
  private prefixTable: Promise<LongPrefixInfo[]> | undefined;
  private readonly devSources = new Map<number, Promise<BlockSource>>();
  private zimg: ZImage | undefined;
  /** Readahead of file data on the primary device. */
  private readonly dataRa: ReadAhead;

  private constructor(source: BlockSource, sb: SuperInfo, opts: OpenOptions) {
    this.source = source;
    this.sb = sb;
    this.opts = opts;
    const declared = this.primarySize();
    this.dataRa = new ReadAhead(source, Math.min(source.size, declared));
    // Metadata and data blocks are interleaved on the device (mkfs allocates
    // them in one pass): metadata comes out of the data readahead's chunks
    // when they hold it (copied, so that a cached block never pins a chunk).
    const cache = new BlockCache(sb.blksz, source.size, (p, l) => this.dataRa.readCached(p, l, 'metadata', true), opts.cacheBlocks ?? 1024);
    this.devMeta = {
      size: declared,
      read: (pos, len, where) => {
        this.checkPrimary(pos, len, where);
        return cache.read(pos, len);
      },
    };
  }

  /** Opens an image: reads and checks the superblock and the root inode. */
  static async open(source: BlockSource, opts: OpenOptions = {}): Promise<Image> {
    const sb = await readSuper(source);
    const img = new Image(source, sb, opts);
    const root = await img.inode(sb.rootNid);
    if (!fileKind.isDir(root.mode)) throw corrupted('root inode is not a directory', nidText(sb.rootNid));
    return img;
  }

  /** Closes the source (and any extra device sources that have a close). */
  async close(): Promise<void> {
    await this.source.close?.();
    for (const p of this.devSources.values()) {
      const s = await p.catch(() => undefined);
      await s?.close?.();
    }
  }

  // ------------------------------------------------------------ devices

  /** Bytes of the primary device the superblock declares (blocks * block size). */
  primarySize(): number {
    return this.sb.blocks > 0 ? this.sb.blocks * this.sb.blksz : this.source.size;
  }

  private checkPrimary(pos: number, len: number, where: string): void {
    if (!(pos >= 0) || !(len >= 0) || pos + len > this.primarySize()) {
      throw corrupted(`${len} bytes at ${pos} lie beyond the end of the filesystem (${this.sb.blocks} blocks)`, where);
    }
  }

  private deviceSource(id: number, where: string): Promise<BlockSource> {
    let p = this.devSources.get(id);
    if (!p) {
      const dev = this.sb.devices[id - 1]!;
      const given = this.opts.devices;
      p = (async () => {
        let s: BlockSource | undefined;
        if (typeof given === 'function') s = await given(dev);
        else if (Array.isArray(given)) s = given[id - 1];
        else if (given) s = (given as Record<string, BlockSource>)[dev.tagText];
        if (!s) throw new ErofsError('EIO', `extra device ${id}${dev.tagText ? ` (${dev.tagText})` : ''} was not supplied`, where);
        return s;
      })();
      p.catch(() => this.devSources.delete(id));
      this.devSources.set(id, p);
    }
    return p;
  }

  /**
   * Reads raw bytes of a device: device 0 is the primary one (through the
   * unified address space of the device table when extra devices are mapped
   * there), 1.. the extra devices. Reads outside what the superblock
   * declares are corruption (EFSCORRUPTED); inside it but past the end of the
   * actual source, a truncated image (EIO).
   */
  async readDevice(deviceId: number, pa: number, len: number, where = 'data'): Promise<Uint8Array> {
    const { devices, blksz } = this.sb;
    if (deviceId === 0 && devices.length) {
      for (const d of devices) {
        if (!d.uniaddr) continue;
        const start = d.uniaddr * blksz;
        if (pa >= start && pa < start + d.blocks * blksz) {
          deviceId = d.id;
          pa -= start;
          break;
        }
      }
    }
    if (deviceId === 0) {
      this.checkPrimary(pa, len, where);
      return readExact(this.source, pa, len, where);
    }
    if (deviceId > devices.length) throw corrupted(`invalid device id ${deviceId} (${devices.length} extra devices)`, where);
    const dev = devices[deviceId - 1]!;
    if (dev.blocks && pa + len > dev.blocks * blksz) {
      throw corrupted(`${len} bytes at ${pa} lie beyond the end of device ${deviceId} (${dev.blocks} blocks)`, where);
    }
    return readExact(await this.deviceSource(deviceId, where), pa, len, where);
  }

  /**
   * File data of device 0 (pclusters, plain extents): readDevice, through
   * the readahead when it stays on the primary device. The bytes may be a
   * read-only view of a readahead chunk: copy them before handing them out.
   */
  private readData(deviceId: number, pa: number, len: number, where: string): Promise<Uint8Array> {
    if (deviceId !== 0 || this.sb.devices.length) return this.readDevice(deviceId, pa, len, where);
    this.checkPrimary(pa, len, where);
    return this.dataRa.read(pa, len, where);
  }

  // ------------------------------------------------------------ metadata spaces

  private metabox(): Promise<MetaSpace> {
    this.mbox ??= (async () => {
      if (!this.sb.metaboxNid) throw corrupted('inode refers to the metabox, but the image has none', 'superblock');
      const mb = await this.inode(this.sb.metaboxNid);
      const cache = new BlockCache(this.sb.blksz, mb.size, (p, l) => this.readInodeRange(mb, p, l), this.opts.cacheBlocks ?? 1024);
      const space: MetaSpace = {
        size: mb.size,
        read: (pos, len, where) => {
          if (!(pos >= 0) || !(len >= 0) || pos + len > mb.size) {
            return Promise.reject(corrupted(`${len} bytes at ${pos} lie beyond the metabox (${mb.size} bytes)`, where));
          }
          return cache.read(pos, len);
        },
      };
      return space;
    })();
    this.mbox.catch(() => { this.mbox = undefined; });
    return this.mbox;
  }

  private metaSpaceOf(ino: Inode): Promise<MetaSpace> {
    return ino.inMetabox ? this.metabox() : Promise.resolve(this.devMeta);
  }

  /** Reads bytes of an inode's metadata space (the device, or the metabox data). */
  async readMeta(ino: Inode, pos: number, len: number): Promise<Uint8Array> {
    return (await this.metaSpaceOf(ino)).read(pos, len, nidText(ino.nid));
  }

  // ------------------------------------------------------------ inodes

  /** The inode with this nid (bit 63 set: in the metabox). */
  inode(nid: bigint | number): Promise<Inode> {
    const n = BigInt.asUintN(64, BigInt(nid));
    let p = this.inodes.get(n);
    if (!p) {
      p = this.loadInode(n);
      p.catch(() => this.inodes.delete(n));
      this.inodes.set(n, p);
    }
    return p;
  }

  private async loadInode(nid: bigint): Promise<Inode> {
    const inMbox = nid >> 63n === 1n;
    const space = inMbox ? await this.metabox() : this.devMeta;
    const base = inMbox ? 0 : this.sb.metaBlkaddr * this.sb.blksz;
    // Number arithmetic while exact (every real nid); BigInt only for the huge ones.
    let pos: number;
    if (nid < 0x10000000000n) pos = base + Number(nid & ((1n << 63n) - 1n)) * 32;
    else {
      const posBig = BigInt(base) + ((nid & ((1n << 63n) - 1n)) << 5n);
      pos = posBig > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(posBig);
    }
    if (!(pos + INODE_COMPACT_SIZE <= space.size)) {
      const posBig = BigInt(base) + ((nid & ((1n << 63n) - 1n)) << 5n);
      throw corrupted(`inode position ${posBig} beyond the end of the ${inMbox ? 'metabox' : 'filesystem'}`, nidText(nid));
    }
    // In range (checked above), so the reads need no `where` of their own.
    let b = await space.read(pos, INODE_COMPACT_SIZE, 'inode');
    if (b[0]! & 1) {
      if (pos + INODE_EXTENDED_SIZE > space.size) throw corrupted('extended inode beyond the end of the metadata', nidText(nid));
      b = await space.read(pos, INODE_EXTENDED_SIZE, 'inode');
    }
    const ino = parseInode(this.sb, nid, pos, b, inMbox);
    if (pos + ino.inodeIsize + ino.xattrIsize > space.size) throw corrupted('inline xattrs beyond the end of the metadata', nidText(nid));
    return ino;
  }

  /** The root directory's inode. */
  root(): Promise<Inode> {
    return this.inode(this.sb.rootNid);
  }

  /** The packed inode (fragments, compressed directories' tails...), or null. */
  packedInode(): Promise<Inode> | null {
    return this.sb.packedNid ? this.inode(this.sb.packedNid) : null;
  }

  // ------------------------------------------------------------ data

  private zImage(): ZImage {
    this.zimg ??= {
      blkszbits: this.sb.blkszbits,
      featureIncompat: this.sb.featureIncompat,
      u1: this.sb.u1,
      cfgs: this.sb.cfgs,
      packedNid: this.sb.packedNid,
      ...(this.opts.decoders ? { decoders: this.opts.decoders } : {}),
      readData: (pos, len) => this.readData(0, pos, len, 'compressed data'),
      readDataSome: (pos, len, need) => {
        if (this.sb.devices.length) return this.readDevice(0, pos, len, 'compressed data');
        this.checkPrimary(pos, len, 'compressed data');
        return this.dataRa.readSome(pos, len, need, 'compressed data');
      },
      readPacked: async (pos, len) => {
        const pk = this.packedInode();
        if (!pk) throw corrupted('fragment without a packed inode', 'superblock');
        const ino = await pk;
        if (pos < 0 || len < 0 || pos + len > ino.size) throw corrupted(`fragment [${pos}, +${len}) beyond the packed inode (${ino.size} bytes)`, nidText(ino.nid));
        return this.readInodeRange(ino, pos, len);
      },
    };
    return this.zimg;
  }

  private zReader(ino: Inode): Promise<ZReader> {
    let p = this.zReaders.get(ino.nid);
    if (!p) {
      p = (async () => {
        const z = await loadZ();
        const space = await this.metaSpaceOf(ino);
        const where = nidText(ino.nid);
        return z.openZInode(this.zImage(), {
          nid: ino.nid, datalayout: ino.datalayout, size: ino.size, iu: ino.iu, nb: ino.nb,
          inodePos: ino.pos, xattrEnd: ino.pos + ino.inodeIsize + ino.xattrIsize,
          readMeta: (pos, len) => space.read(pos, len, where),
        });
      })();
      p.catch(() => this.zReaders.delete(ino.nid));
      this.zReaders.set(ino.nid, p);
    }
    return p;
  }

  /**
   * Maps the extent containing logical byte `la` of an inode, as the
   * kernel's erofs_map_blocks: flat (plain / inline tail), chunk-based
   * (block map or indexes, holes, extra devices) or compressed.
   * At or past the end of the file: llen 0, no flags.
   */
  async mapExtent(ino: Inode, la: number): Promise<Extent> {
    const where = nidText(ino.nid);
    if (!Number.isSafeInteger(la) || la < 0) throw new ErofsError('EINVAL', `invalid file position ${la}`, where);
    if (la >= ino.size) return { la, llen: 0, pa: 0, plen: 0, flags: 0, deviceId: 0 };
    const { blksz } = this.sb;
    const dl = ino.datalayout;
    if (isCompressedLayout(dl)) {
      const z = await (await this.zReader(ino)).map(la);
      return { la: z.la, llen: z.llen, pa: z.pa, plen: z.plen, flags: z.flags, deviceId: 0, algorithm: z.algorithm };
    }
    if (dl === DataLayout.FLAT_PLAIN || dl === DataLayout.FLAT_INLINE) {
      const inline = dl === DataLayout.FLAT_INLINE ? 1 : 0;
      if (!inline && ino.blkaddr === EROFS_NULL_ADDR) {
        return { la, llen: ino.size - la, pa: 0, plen: ino.size - la, flags: 0, deviceId: 0 };
      }
      const nblocks = Math.ceil(ino.size / blksz);
      const tail = (nblocks - inline) * blksz;
      if (la < tail) {
        if (ino.blkaddr === EROFS_NULL_ADDR) throw corrupted('inline inode with block data but no start block', where);
        const start = ino.blkaddr * blksz;
        if (start + tail > this.primarySize()) {
          throw corrupted(`data (blocks ${ino.blkaddr}..${ino.blkaddr + nblocks - inline - 1}) beyond the end of the filesystem (${this.sb.blocks} blocks)`, where);
        }
        return { la, llen: tail - la, pa: start + la, plen: tail - la, flags: MapFlags.MAPPED, deviceId: 0 };
      }
      const tailPos = ino.pos + ino.inodeIsize + ino.xattrIsize;
      const tailLen = ino.size - tail;
      if ((tailPos % blksz) + tailLen > blksz) throw corrupted(`inline data (${tailLen} bytes) crosses a block boundary`, where);
      const off = la - tail;
      return { la, llen: tailLen - off, pa: tailPos + off, plen: tailLen - off, flags: MapFlags.MAPPED | MapFlags.META, deviceId: 0 };
    }
    if (dl === DataLayout.CHUNK_BASED) {
      const indexes = (ino.chunkformat & EROFS_CHUNK_FORMAT_INDEXES) !== 0;
      const unit = indexes ? CHUNK_INDEX_SIZE : EROFS_BLOCK_MAP_ENTRY_SIZE;
      const chunksize = 2 ** ino.chunkbits;
      const chunknr = Math.floor(la / chunksize);
      const recStart = Math.ceil((ino.pos + ino.inodeIsize + ino.xattrIsize) / unit) * unit;
      const rec = await this.readMeta(ino, recStart + unit * chunknr, unit);
      const cla = chunknr * chunksize;
      const llen = Math.min(chunksize, Math.ceil((ino.size - cla) / blksz) * blksz);
      let startblk: number;
      let deviceId = 0;
      let mapped: boolean;
      if (indexes) {
        const hi = (ino.chunkformat & EROFS_CHUNK_FORMAT_48BIT) ? u16(rec, 0) : 0;
        const lo = u32(rec, 4);
        startblk = hi * 0x100000000 + lo;
        mapped = startblk !== EROFS_NULL_ADDR;
        if (mapped) deviceId = u16(rec, 2) & this.sb.deviceIdMask;
      } else {
        startblk = u32(rec, 0);
        mapped = startblk !== EROFS_NULL_ADDR;
      }
      if (!mapped) return { la: cla, llen, pa: 0, plen: llen, flags: 0, deviceId: 0 };
      return { la: cla, llen, pa: startblk * blksz, plen: llen, flags: MapFlags.MAPPED, deviceId };
    }
    throw new ErofsError('EOPNOTSUPP', `unsupported datalayout ${dl}`, where);
  }

  /**
   * Reads `[pos, pos+len)` of an inode's content (clamped to its size):
   * plain, inline, chunked and compressed layouts alike, holes as zeros.
   * Resolves with exactly the clamped length.
   */
  async readInodeRange(ino: Inode, pos: number, len: number): Promise<Uint8Array> {
    const where = nidText(ino.nid);
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0) {
      throw new ErofsError('EINVAL', `invalid range [${pos}, +${len})`, where);
    }
    if (pos >= ino.size || len === 0) return new Uint8Array(0);
    len = Math.min(len, ino.size - pos);
    if (isCompressedLayout(ino.datalayout)) {
      const out = await (await this.zReader(ino)).read(pos, len);
      if (out.length !== len) throw corrupted(`compressed read returned ${out.length} of ${len} bytes`, where);
      return out;
    }
    // Cached metadata and readahead chunks are shared: always hand out a fresh buffer.
    const out = new Uint8Array(len);
    await this.readInodeRangeInto(ino, pos, out, 0, len);
    return out;
  }

  /**
   * readInodeRange into a caller's buffer: copies the clamped range of
   * `[pos, pos+len)` to `dst[dstOff...]` and resolves with its length. Plain
   * extents on the primary device go straight from the block source into
   * `dst` when the source has `readInto`; holes are zero-filled; compressed
   * extents are decoded straight into `dst` when the range covers them
   * whole; inline tails and extra devices are read and copied.
   */
  async readInodeRangeInto(ino: Inode, pos: number, dst: Uint8Array, dstOff: number, len: number): Promise<number> {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0) {
      throw new ErofsError('EINVAL', `invalid range [${pos}, +${len})`, nidText(ino.nid));
    }
    if (pos >= ino.size || len === 0) return 0;
    len = Math.min(len, ino.size - pos);
    if (!Number.isSafeInteger(dstOff) || dstOff < 0 || dstOff + len > dst.length) {
      throw new ErofsError('EINVAL', `${len} bytes at ${dstOff} do not fit a buffer of ${dst.length}`, nidText(ino.nid));
    }
    if (isCompressedLayout(ino.datalayout)) {
      const n = await (await this.zReader(ino)).readInto(pos, len, dst, dstOff);
      if (n !== len) throw corrupted(`compressed read returned ${n} of ${len} bytes`, nidText(ino.nid));
      return len;
    }
    const where = nidText(ino.nid);
    let p = pos;
    const end = pos + len;
    while (p < end) {
      const m = await this.mapExtent(ino, p);
      if (m.llen <= 0 || m.la > p || m.la + m.llen <= p) throw corrupted(`bad extent [${m.la}, +${m.llen}) for position ${p}`, where);
      const off = p - m.la;
      const n = Math.min(end - p, m.llen - off);
      const at = dstOff + (p - pos);
      if (m.flags & MapFlags.META) dst.set(await this.readMeta(ino, m.pa + off, n), at);
      else if (!(m.flags & MapFlags.MAPPED)) dst.fill(0, at, at + n);
      else if (m.deviceId === 0 && !this.sb.devices.length) {
        this.checkPrimary(m.pa + off, n, where);
        await this.dataRa.readInto(m.pa + off, n, dst, at, where);
      } else dst.set(await this.readDevice(m.deviceId, m.pa + off, n, where), at);
      p += n;
    }
    return len;
  }

  // ------------------------------------------------------------ directories

  /** One parsed directory block (cached). */
  dirBlock(dir: Inode, lblk: number): Promise<RawDirent[]> {
    const key = `${dir.nid}:${lblk}`;
    let p = this.dirBlocks.get(key);
    if (!p) {
      p = (async () => {
        const { blksz } = this.sb;
        const off = lblk * blksz;
        const b = await this.readInodeRange(dir, off, Math.min(blksz, dir.size - off));
        return parseDirBlock(b, blksz, nidText(dir.nid), lblk);
      })();
      p.catch(() => this.dirBlocks.delete(key));
      this.dirBlocks.set(key, p);
    }
    return p;
  }

  private dirBlockCount(dir: Inode): number {
    if (!fileKind.isDir(dir.mode)) throw new ErofsError('ENOTDIR', 'not a directory', nidText(dir.nid));
    return Math.ceil(dir.size / this.sb.blksz);
  }

  /** Every entry of a directory in on-disk order, "." and ".." included. */
  async readdirInode(dir: Inode): Promise<RawDirent[]> {
    const n = this.dirBlockCount(dir);
    const out: RawDirent[] = [];
    for (let i = 0; i < n; i++) for (const d of await this.dirBlock(dir, i)) out.push(d);
    return out;
  }

  /**
   * Looks a name up in a directory the way the kernel's namei does: a binary
   * search over blocks by their first name, then within the chosen block.
   */
  async lookupInode(dir: Inode, name: Uint8Array | string): Promise<RawDirent | undefined> {
    const nb = typeof name === 'string' ? enc.encode(name) : name;
    const n = this.dirBlockCount(dir);
    let head = 0;
    let back = n - 1;
    let candidate: RawDirent[] | undefined;
    while (head <= back) {
      const mid = (head + back) >> 1;
      const ents = await this.dirBlock(dir, mid);
      const c = compareBytes(nb, ents[0]!.name);
      if (c < 0) back = mid - 1;
      else if (c === 0) return ents[0];
      else {
        candidate = ents;
        head = mid + 1;
      }
    }
    return candidate ? findInBlock(candidate, nb) : undefined;
  }

  // ------------------------------------------------------------ paths

  /**
   * Resolves a path to an inode. Symlinks in the middle are followed, the
   * last one only with `follow`; more than 40 give ELOOP. ".." goes up the
   * path walked so far (never above the root).
   */
  async resolve(path: string, follow = true): Promise<Inode> {
    if (typeof path !== 'string') throw new ErofsError('EINVAL', 'path must be a string');
    if (path === '') throw new ErofsError('ENOENT', 'no such file or directory', path);
    const root = await this.root();
    const stack: Inode[] = [root];
    const queue = path.split('/');
    let links = 0;
    let walked = '';
    while (queue.length) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length > 1) stack.pop();
        walked += '/..';
        continue;
      }
      const cur = stack[stack.length - 1]!;
      if (!fileKind.isDir(cur.mode)) throw new ErofsError('ENOTDIR', 'not a directory', walked || '/');
      const nb = enc.encode(c);
      if (nb.length > 255) throw new ErofsError('ENAMETOOLONG', 'file name too long', `${walked}/${c}`);
      const de = await this.lookupInode(cur, nb);
      walked += `/${c}`;
      if (!de) throw new ErofsError('ENOENT', 'no such file or directory', walked);
      const child = await this.inode(de.nid);
      const rest = queue.some((x) => x !== '' && x !== '.');
      if (fileKind.isLnk(child.mode) && (rest || follow)) {
        if (++links > MAX_SYMLINKS) throw new ErofsError('ELOOP', 'too many levels of symbolic links', path);
        const target = await this.readlinkInode(child);
        if (target.startsWith('/')) stack.length = 1;
        queue.unshift(...target.split('/'));
        continue;
      }
      stack.push(child);
    }
    const last = stack[stack.length - 1]!;
    if (path.endsWith('/') && !fileKind.isDir(last.mode)) throw new ErofsError('ENOTDIR', 'not a directory', path);
    return last;
  }

  private async inodeOf(ref: FileRef, follow = true): Promise<Inode> {
    if (ref instanceof FileHandle) return ref.inode;
    if (isInode(ref)) return ref;
    return this.resolve(ref, follow);
  }

  // ------------------------------------------------------------ fs/promises-like API

  /** stat: follows a final symlink. */
  async stat(path: FileRef): Promise<Stats> {
    return new Stats(await this.inodeOf(path, true));
  }

  /** lstat: does not follow a final symlink. */
  async lstat(path: FileRef): Promise<Stats> {
    return new Stats(await this.inodeOf(path, false));
  }

  /** Names in a directory ("." and ".." left out), in on-disk (byte) order. */
  readdir(path: FileRef): Promise<string[]>;
  readdir(path: FileRef, opts: { withFileTypes: true }): Promise<Dirent[]>;
  readdir(path: FileRef, opts?: { withFileTypes?: boolean }): Promise<string[] | Dirent[]>;
  async readdir(path: FileRef, opts?: { withFileTypes?: boolean }): Promise<string[] | Dirent[]> {
    const dir = await this.inodeOf(path, true);
    const ents = (await this.readdirInode(dir)).filter((d) => !isDotOrDotDot(d.name));
    if (opts?.withFileTypes) return ents.map((d) => new Dirent(dec.decode(d.name), d.nid, d.fileType, d.name));
    return ents.map((d) => dec.decode(d.name));
  }

  /** Opens a file for positional reads. */
  async open(path: string): Promise<FileHandle> {
    const ino = await this.resolve(path, true);
    if (fileKind.isDir(ino.mode)) throw new ErofsError('EISDIR', 'is a directory', path);
    return new FileHandle(this, ino, path);
  }

  /** Whole content of a regular file (or a symlink's target bytes through an inode). */
  readFile(path: FileRef): Promise<Uint8Array>;
  readFile(path: FileRef, opts: { encoding: 'utf8' | 'utf-8' } | 'utf8' | 'utf-8'): Promise<string>;
  async readFile(path: FileRef, opts?: { encoding?: string } | string): Promise<Uint8Array | string> {
    const ino = await this.inodeOf(path, true);
    const where = typeof path === 'string' ? path : nidText(ino.nid);
    if (fileKind.isDir(ino.mode)) throw new ErofsError('EISDIR', 'is a directory', where);
    const b = await this.readInodeRange(ino, 0, ino.size);
    const encoding = typeof opts === 'string' ? opts : opts?.encoding;
    return encoding ? dec.decode(b) : b;
  }

  /** Positional read into `buffer`, like FileHandle.read: resolves with the bytes read (0 at EOF). */
  async read(
    file: FileRef, buffer: Uint8Array, offset = 0, length = buffer.length - offset, position = 0,
  ): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    const ino = await this.inodeOf(file, true);
    if (fileKind.isDir(ino.mode)) throw new ErofsError('EISDIR', 'is a directory', nidText(ino.nid));
    if (offset < 0 || length < 0 || offset + length > buffer.length) throw new ErofsError('EINVAL', 'offset/length outside the buffer');
    const b = await this.readInodeRange(ino, position, length);
    buffer.set(b, offset);
    return { bytesRead: b.length, buffer };
  }

  /** A web ReadableStream of a file's content (pull-based, one chunk per pull). */
  createReadStream(file: FileRef, opts: ReadStreamOptions = {}): ReadableStream<Uint8Array> {
    const hwm = Math.max(1, opts.highWaterMark ?? 256 * 1024);
    let ino: Inode | undefined;
    let pos = opts.start ?? 0;
    let end = 0;
    return new ReadableStream<Uint8Array>({
      start: async () => {
        ino = await this.inodeOf(file, true);
        if (fileKind.isDir(ino.mode)) throw new ErofsError('EISDIR', 'is a directory', nidText(ino.nid));
        end = Math.min(ino.size, opts.end === undefined ? ino.size : opts.end + 1);
      },
      pull: async (ctl) => {
        if (pos >= end) {
          ctl.close();
          return;
        }
        const n = Math.min(hwm, end - pos);
        const b = await this.readInodeRange(ino!, pos, n);
        pos += b.length;
        ctl.enqueue(b);
        if (pos >= end) ctl.close();
      },
    }, { highWaterMark: 1 });
  }

  /** A symlink's target. */
  async readlink(path: FileRef): Promise<string> {
    const ino = await this.inodeOf(path, false);
    if (!fileKind.isLnk(ino.mode)) throw new ErofsError('EINVAL', 'not a symbolic link', typeof path === 'string' ? path : nidText(ino.nid));
    return this.readlinkInode(ino);
  }

  /** A symlink inode's target. */
  async readlinkInode(ino: Inode): Promise<string> {
    if (ino.size > MAX_SYMLINK_SIZE) throw corrupted(`symlink target of ${ino.size} bytes`, nidText(ino.nid));
    return dec.decode(await this.readInodeRange(ino, 0, ino.size));
  }

  // ------------------------------------------------------------ xattrs

  /** The long xattr name prefixes (loaded on first use). */
  longPrefixes(): Promise<LongPrefixInfo[]> {
    this.prefixTable ??= this.loadPrefixes();
    this.prefixTable.catch(() => { this.prefixTable = undefined; });
    return this.prefixTable;
  }

  private async loadPrefixes(): Promise<LongPrefixInfo[]> {
    const { xattrPrefixCount: count, featureCompat } = this.sb;
    if (!count) return [];
    let read: (pos: number, len: number) => Promise<Uint8Array>;
    let limit: number;
    const plain = (featureCompat & FeatureCompat.PLAIN_XATTR_PFX) !== 0;
    const holder = plain ? 0n : this.sb.metaboxNid || this.sb.packedNid;
    if (holder) {
      const ino = await this.inode(holder);
      read = (p, l) => this.readInodeRange(ino, p, l);
      limit = ino.size;
    } else {
      read = (p, l) => this.devMeta.read(p, l, 'xattr prefixes');
      limit = this.devMeta.size;
    }
    const out: LongPrefixInfo[] = [];
    let pos = this.sb.xattrPrefixStart;
    for (let i = 0; i < count; i++) {
      pos = (pos + 3) & ~3;
      if (pos + 2 > limit) throw corrupted(`long xattr prefix ${i} beyond its area`, 'xattr prefixes');
      const len = u16(await read(pos, 2), 0);
      if (len < 1 || len > 256 || pos + 2 + len > limit) throw corrupted(`invalid long xattr prefix ${i} (length ${len})`, 'xattr prefixes');
      const rec = await read(pos + 2, len);
      const baseIndex = rec[0]!;
      const infix = rec.slice(1);
      out.push({ baseIndex, infix, text: longPrefixText(baseIndex, infix) });
      pos += 2 + len;
    }
    return out;
  }

  /** Raw xattr entries of an inode (inline, then shared), names unresolved. */
  private async rawXattrs(ino: Inode): Promise<{ filter: number; entries: Array<RawXattr & { shared: boolean }> }> {
    if (!ino.xattrIcount) return { filter: 0, entries: [] };
    const where = nidText(ino.nid);
    const area = await this.readMeta(ino, ino.pos + ino.inodeIsize, ino.xattrIsize);
    const ib = parseIbody(area, where);
    const entries: Array<RawXattr & { shared: boolean }> = ib.inline.map((e) => ({ ...e, shared: false }));
    if (ib.sharedIds.length) {
      const inMbox = (this.sb.featureCompat & FeatureCompat.SHARED_EA_IN_METABOX) !== 0;
      const space = inMbox ? await this.metabox() : this.devMeta;
      const base = this.sb.xattrBlkaddr * this.sb.blksz;
      for (const id of ib.sharedIds) {
        const p = base + id * 4;
        if (p + XATTR_ENTRY_SIZE > space.size) throw corrupted(`shared xattr ${id} beyond the end of the metadata`, where);
        const h = await space.read(p, XATTR_ENTRY_SIZE, where);
        const nameLen = h[0]!;
        const vlen = u16(h, 2);
        if (p + XATTR_ENTRY_SIZE + nameLen + vlen > space.size) throw corrupted(`shared xattr ${id} beyond the end of the metadata`, where);
        const body = (await space.read(p + XATTR_ENTRY_SIZE, nameLen + vlen, where)).slice();
        entries.push({ nameIndex: h[1]!, suffix: body.subarray(0, nameLen), value: body.subarray(nameLen), shared: true });
      }
    }
    return { filter: ib.nameFilter, entries };
  }

  /** Every xattr of an inode, hidden ones included (see XattrEntry.hidden). */
  async xattrs(ino: Inode): Promise<XattrEntry[]> {
    const { entries } = await this.rawXattrs(ino);
    const needPrefixes = entries.some((e) => e.nameIndex & EROFS_XATTR_LONG_PREFIX);
    const prefixes = needPrefixes ? await this.longPrefixes() : [];
    const where = nidText(ino.nid);
    return entries.map((e) => makeEntry(e.nameIndex, e.suffix, e.value, prefixes, e.shared, where));
  }

  /** Names listxattr(2) would show: every xattr except those without a known namespace. */
  async listxattr(path: FileRef): Promise<string[]> {
    const ino = await this.inodeOf(path, false);
    return (await this.xattrs(ino)).filter((x) => !x.hidden).map((x) => x.name);
  }

  /**
   * Value of one xattr by full name (also names the kernel hides, such as
   * "erofs.fingerprint.v1"). ENODATA when absent. Uses the inode's name
   * filter to answer "absent" without parsing when it can.
   */
  async getxattr(path: FileRef, name: string): Promise<Uint8Array> {
    const ino = await this.inodeOf(path, false);
    const where = typeof path === 'string' ? path : nidText(ino.nid);
    if (this.sb.xattrFilter && ino.xattrIcount) {
      const { index, suffix } = splitXattrName(name);
      if (index !== 0) {
        const f = u32(await this.readMeta(ino, ino.pos + ino.inodeIsize, 4), 0);
        if (f & (1 << xattrFilterBit(index, suffix))) throw new ErofsError('ENODATA', `no xattr ${name}`, where);
      }
    }
    const hit = (await this.xattrs(ino)).find((x) => x.name === name);
    if (!hit) throw new ErofsError('ENODATA', `no xattr ${name}`, where);
    return hit.value;
  }

  /** A POSIX ACL ("access" or "default") decoded, or null when the inode has none. */
  async getacl(path: FileRef, which: 'access' | 'default' = 'access'): Promise<AclEntry[] | null> {
    const name = `system.posix_acl_${which}`;
    let v: Uint8Array;
    try {
      v = await this.getxattr(path, name);
    } catch (e) {
      if (e instanceof ErofsError && e.code === 'ENODATA') return null;
      throw e;
    }
    const acl = decodeAcl(v);
    if (!acl) throw corrupted(`malformed ${name}`, typeof path === 'string' ? path : 'acl');
    return acl;
  }

  /**
   * The fingerprint xattr value of an inode (Linux 7.0 inode page cache
   * sharing): the xattr named by the superblock's ishare_xattr_prefix_id,
   * raw bytes. Null when the image has no ISHARE_XATTRS or the inode no such
   * xattr.
   */
  async fingerprint(ino: Inode): Promise<Uint8Array | null> {
    const id = this.sb.ishareXattrPrefixId;
    if (id === null || !ino.xattrIcount) return null;
    const { entries } = await this.rawXattrs(ino);
    const e = entries.find((x) => x.nameIndex === (EROFS_XATTR_LONG_PREFIX | id) && x.suffix.length === 0);
    return e ? e.value : null;
  }

  /** Full name of the fingerprint xattr (e.g. "trusted.erofs.fingerprint"), or null. */
  async fingerprintName(): Promise<string | null> {
    const id = this.sb.ishareXattrPrefixId;
    if (id === null) return null;
    const p = (await this.longPrefixes())[id];
    return p ? dec.decode(p.text) : null;
  }

  // ------------------------------------------------------------ walking

  /**
   * Depth-first walk in on-disk (byte-sorted) order, parents before
   * children. Directory cycles (a directory reached again below itself) and
   * a directory reached twice are reported as EFSCORRUPTED, so the walk
   * always ends.
   */
  async *walk(start = '/', opts: WalkOptions = {}): AsyncGenerator<WalkEntry> {
    const top = await this.resolve(start, true);
    const base = start === '/' ? '' : `/${start.split('/').filter((c) => c && c !== '.').join('/')}`;
    yield { path: base || '/', inode: top, depth: 0 };
    if (!fileKind.isDir(top.mode)) return;
    const seenDirs = new Set<bigint>([top.nid]);
    // One generator with an explicit stack (a generator per directory would
    // hand every entry up through each level of yield*).
    interface Level { ents: RawDirent[]; i: number; path: string; depth: number; ahead: number }
    const stack: Level[] = [];
    // Loads the inodes of the next entries (and the first blocks of
    // subdirectories) together, so the walk does not wait for one read at a
    // time. Cached promises; errors surface below, in order.
    const prefetch = (lv: Level): void => {
      const to = Math.min(lv.ents.length, lv.i + WALK_AHEAD);
      for (; lv.ahead < to; lv.ahead++) {
        const d = lv.ents[lv.ahead]!;
        if (isDotOrDotDot(d.name)) continue;
        const ip = this.inode(d.nid);
        if (d.fileType !== 2) {
          ip.catch(() => undefined);
          continue;
        }
        ip.then((ino) => {
          if (!fileKind.isDir(ino.mode)) return;
          const n = Math.min(4, Math.ceil(ino.size / this.sb.blksz));
          for (let i = 0; i < n; i++) this.dirBlock(ino, i).catch(() => undefined);
        }, () => undefined);
      }
    };
    const enter = async (dir: Inode, dirPath: string, depth: number): Promise<void> => {
      let ents: RawDirent[];
      try {
        ents = await this.readdirInode(dir);
      } catch (e) {
        if (opts.onError && e instanceof ErofsError) {
          opts.onError(e, dirPath || '/');
          return;
        }
        throw e;
      }
      stack.push({ ents, i: 0, path: dirPath, depth, ahead: 0 });
    };
    await enter(top, base, 0);
    while (stack.length) {
      const lv = stack[stack.length - 1]!;
      if (lv.i >= lv.ents.length) {
        stack.pop();
        continue;
      }
      if (lv.ahead - lv.i < WALK_AHEAD / 2) prefetch(lv);
      const d = lv.ents[lv.i++]!;
      if (isDotOrDotDot(d.name)) continue;
      const p = `${lv.path}/${dec.decode(d.name)}`;
      let ino: Inode;
      try {
        ino = await this.inode(d.nid);
      } catch (e) {
        if (opts.onError && e instanceof ErofsError) {
          opts.onError(e, p);
          continue;
        }
        throw e;
      }
      if ((ino.mode & S_IFMT) === 0o040000) {
        if (seenDirs.has(ino.nid)) {
          const err = corrupted(`directory cycle: ${p} refers to an already visited directory (${nidText(ino.nid)})`, p);
          if (opts.onError) {
            opts.onError(err, p);
            continue;
          }
          throw err;
        }
        seenDirs.add(ino.nid);
        yield { path: p, inode: ino, depth: lv.depth + 1, direntType: d.fileType };
        await enter(ino, p, lv.depth + 1);
      } else {
        yield { path: p, inode: ino, depth: lv.depth + 1, direntType: d.fileType };
      }
    }
  }
}

/** Opens an EROFS image from any block source. */
export function openImage(source: BlockSource, opts: OpenOptions = {}): Promise<Image> {
  return Image.open(source, opts);
}
