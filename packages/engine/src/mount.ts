/**
 * An in-process mount: the reader's API over a BackingImage, with every byte
 * of file data served through a PageCache, and the kernel's inode page cache
 * sharing (plus blob sharing and fingerprint verification) between mounts of
 * the same cache.
 *
 * Inodes are instantiated on first open (as iget does) and live until
 * unmount; a regular file joins its shared inode at that moment, as
 * erofs_ishare_fill_inode() runs when the kernel reads the inode.
 */
import { ErofsError } from '@erofs/format';
import type { BackingDirent, BackingExtent, BackingFile, BackingImage, FileType, OpenFileOptions } from './backing.js';
import { BlobRegistry, type BlobMember } from './blob-share.js';
import { IshareRegistry, ShareGoneError, type NotSharedReason, type ShareMember, type ShareMemberOwner } from './ishare.js';
import { newCounters, type AddressSpace, type CacheCounters, type PageCache, type ReadContext, type SpaceStats } from './page-cache.js';
import { sha256Hasher, type HasherFactory } from './sha256.js';

/** Options of mount(). */
export interface MountOptions {
  /** The page cache (one per process, shared by mounts that may share pages). */
  cache: PageCache;
  /** The kernel's `inode_share` mount option; needs domainId. */
  inodeShare?: boolean;
  /** The kernel's `domain_id`: only mounts of one domain share. */
  domainId?: string;
  /** Share blob (extra device) pages by (domain, tag); needs domainId. */
  blobShare?: boolean;
  /**
   * Hash a member's whole file the first time a shared inode is filled through
   * it and refuse sharing on mismatch. Verifying mounts share only with each other.
   */
  verifyFingerprints?: boolean;
  /** SHA-256 for verification (default: pure TypeScript; src/node/hasher.ts has node:crypto's). */
  hasher?: HasherFactory;
  /** Called for every warning (they are also kept in `mount.warnings`). */
  onWarning?: (w: EngineWarning) => void;
  /** A label for stats. */
  name?: string;
}

/** Warning codes, in the spirit of node-tar's: lossy or surprising, never fatal. */
export type WarningCode =
  /** inodeShare asked for but the image lacks COMPAT_ISHARE_XATTRS: sharing off (the kernel warns too). */
  | 'ISHARE_NO_COMPAT'
  /** A fingerprinted file cannot share (size, read path, fingerprint length): it reads privately. */
  | 'ISHARE_NOT_SHARED'
  /** Verification found the file's content does not match its fingerprint: it reads privately. */
  | 'ISHARE_REFUSED'
  /** A blob cannot join its shared blob (size clash): it is cached per mount. */
  | 'BLOB_NOT_SHARED';

export interface EngineWarning {
  code: WarningCode;
  message: string;
  where?: string;
}

/** posix_fadvise advice. Only DONTNEED and WILLNEED act; the rest are accepted no-ops. */
export type FadviseAdvice = 'NORMAL' | 'RANDOM' | 'SEQUENTIAL' | 'WILLNEED' | 'DONTNEED' | 'NOREUSE';

/** How one file's data is cached. */
export interface FileSharing {
  mode: 'shared' | 'private' | 'blob';
  /** The file's own space (the shared one when shared). */
  spaceId: string;
  /** Why it is private when inode sharing is on. */
  reason?: NotSharedReason;
  /** Members of the shared inode, this one included. */
  members?: number;
}

/** Per-mount stats: counters of reads issued through this mount, and what it keeps resident. */
export interface MountStats extends CacheCounters {
  id: number;
  name: string;
  inodes: number;
  /** Resident bytes in spaces only this mount uses (private inode and private blob spaces). */
  privateBytes: number;
  privatePages: number;
  /** Shared spaces (inode-share and blob) this mount is a member of, and their resident bytes. */
  sharedSpaces: number;
  sharedBytes: number;
}

/** A directory entry yielded by walk(). */
export interface WalkEntry {
  path: string;
  type: FileType;
  nid: bigint | number;
}

let mountSerial = 0;

/**
 * A buffer whose every byte is written before anyone can see it (readFile's
 * result: a short read throws and drops it): under Node not zero-filled
 * (Buffer.allocUnsafeSlow, handed out as a plain Uint8Array over its own
 * ArrayBuffer of exactly n bytes, as new Uint8Array(n) gives), elsewhere
 * (browsers) new Uint8Array(n). Zero-filling it first cost more than a
 * microsecond per file. Found at run time: the core imports nothing from Node.
 */
const allocFilled: (n: number) => Uint8Array = (() => {
  const B = (globalThis as { Buffer?: { allocUnsafeSlow?: (n: number) => Uint8Array } }).Buffer;
  const slow = B?.allocUnsafeSlow;
  if (typeof slow !== 'function') return (n: number) => new Uint8Array(n);
  return (n: number) => {
    // Tiny ones live on the JS heap (no ArrayBuffer of their own to allocate).
    if (n <= 64) return new Uint8Array(n);
    const m = slow.call(B, n);
    return new Uint8Array(m.buffer, m.byteOffset, n);
  };
})();

/** openFile options, one object each instead of one per open. */
const WITH_FINGERPRINT: OpenFileOptions = Object.freeze({ fingerprint: true });
const NO_FINGERPRINT: OpenFileOptions = Object.freeze({ fingerprint: false });

/**
 * Mounts `image` on `opts.cache`. Fails with EINVAL when inodeShare or
 * blobShare is asked without domainId (the kernel's rule for inode_share).
 */
export async function mount<S>(image: BackingImage<S>, opts: MountOptions): Promise<Mount<S>> {
  return new Mount(image, opts);
}

/** A mounted image. Create with mount(). */
export class Mount<S = unknown> {
  readonly id: number;
  readonly name: string;
  readonly cache: PageCache;
  readonly warnings: EngineWarning[] = [];
  readonly counters: CacheCounters = newCounters();
  /**
   * @internal the ReadContext of every inode that is not a share member (one
   * object, not one per inode). Its requester is the mount id: blob spaces
   * fill through the reading mount's blob source (BlobMember.mountId).
   */
  readonly privateCtx: ReadContext;
  /** @internal the id prefix of this mount's private spaces (`name:`; the inode key follows). */
  readonly spacePrefix: string;
  /** Inode sharing in effect (asked for, and the image has the compat bit). */
  readonly inodeShare: boolean;
  readonly blobShare: boolean;
  readonly domainId: string;
  readonly verifyFingerprints: boolean;
  readonly hasher: HasherFactory;
  readonly pageSize: number;
  private readonly onWarning: ((w: EngineWarning) => void) | undefined;
  private readonly inodes = new Map<string, FileInode>();
  private readonly handles = new Set<FileHandle>();
  /** deviceId -> the space its blob is read through (blob sharing only). */
  readonly blobSpaces = new Map<number, AddressSpace>();
  private readonly blobMembers: BlobMember[] = [];
  private readonly privateBlobSpaces: AddressSpace[] = [];
  private unmounted = false;
  /** openFile options: the fingerprint xattr is only read when this mount shares. */
  private readonly openOpts: OpenFileOptions;

  /** @internal use mount() */
  constructor(readonly image: BackingImage<S>, opts: MountOptions) {
    this.id = ++mountSerial;
    this.name = opts.name ?? `mount${this.id}`;
    this.privateCtx = { counters: this.counters, requester: this.id };
    this.spacePrefix = `${this.name}:`;
    this.cache = opts.cache;
    this.onWarning = opts.onWarning;
    this.domainId = opts.domainId ?? '';
    this.verifyFingerprints = !!opts.verifyFingerprints;
    this.hasher = opts.hasher ?? sha256Hasher;
    this.pageSize = (this.cache.fixedPageSize ? this.cache.pageSize : image.blockSize) | 0;
    if ((opts.inodeShare || opts.blobShare) && this.domainId === '') {
      throw new ErofsError('EINVAL', `${opts.inodeShare ? 'inode_share' : 'blob sharing'} needs a domain_id`, this.name);
    }
    let inodeShare = !!opts.inodeShare;
    if (inodeShare && !image.compatIshare) {
      inodeShare = false;
      this.warn('ISHARE_NO_COMPAT', 'image has no COMPAT_ISHARE_XATTRS: inode sharing is off for this mount');
    }
    this.inodeShare = inodeShare;
    this.openOpts = inodeShare ? WITH_FINGERPRINT : NO_FINGERPRINT;
    this.blobShare = !!opts.blobShare;
    if (this.blobShare) this.joinBlobs();
  }

  private joinBlobs(): void {
    const reg = BlobRegistry.of(this.cache);
    this.image.blobs.forEach((blob, i) => {
      const deviceId = i + 1;
      const r = blob.tag !== '' ? reg.join(this.domainId, this.id, blob, this.pageSize) : 'blob has no tag';
      if (typeof r !== 'string') {
        this.blobMembers.push(r);
        this.blobSpaces.set(deviceId, r.shared.space);
        return;
      }
      if (blob.tag !== '') this.warn('BLOB_NOT_SHARED', r, `device ${deviceId}`);
      const space = this.cache.createSpace(`${this.name}:blob${deviceId}`, 'private', blob.size, (first, count) => {
        const ps = space.pageSize;
        return blob.read(first * ps, Math.min(blob.size, (first + count) * ps) - first * ps);
      }, this.pageSize);
      space.owner = this.counters;
      this.privateBlobSpaces.push(space);
      this.blobSpaces.set(deviceId, space);
    });
  }

  /** @internal */
  warn(code: WarningCode, message: string, where?: string): void {
    const w: EngineWarning = where === undefined ? { code, message } : { code, message, where };
    this.warnings.push(w);
    this.onWarning?.(w);
  }

  private live(where?: string): void {
    if (this.unmounted) throw new ErofsError('EINVAL', 'mount is unmounted', where ?? this.name);
  }

  // ---- the reader's API ----

  stat(path: string): Promise<S> {
    this.live(path);
    return this.image.stat(path);
  }

  lstat(path: string): Promise<S> {
    this.live(path);
    return this.image.lstat(path);
  }

  readdir(path: string): Promise<string[]>;
  readdir(path: string, opts: { withFileTypes: true }): Promise<BackingDirent[]>;
  async readdir(path: string, opts?: { withFileTypes?: boolean }): Promise<string[] | BackingDirent[]> {
    this.live(path);
    const ents = (await this.image.readdir(path)).filter((d) => d.name !== '.' && d.name !== '..');
    return opts?.withFileTypes ? ents : ents.map((d) => d.name);
  }

  readlink(path: string): Promise<string> {
    this.live(path);
    return this.image.readlink(path);
  }

  getxattr(path: string, name: string): Promise<Uint8Array> {
    this.live(path);
    return this.image.getxattr(path, name);
  }

  listxattr(path: string): Promise<string[]> {
    this.live(path);
    return this.image.listxattr(path);
  }

  /** Depth-first walk of everything under `root` (not including it), in readdir order. */
  async *walk(root = '/'): AsyncGenerator<WalkEntry> {
    this.live(root);
    const base = root.endsWith('/') ? root : root + '/';
    for (const d of await this.readdir(root, { withFileTypes: true })) {
      const path = base + d.name;
      yield { path, type: d.type, nid: d.nid };
      if (d.type === 'directory') yield* this.walk(path);
    }
  }

  /** The whole file, read through the page cache. */
  async readFile(path: string): Promise<Uint8Array> {
    // The inode inline (no async hop of inode()), and no await for a read served synchronously.
    this.live(path);
    const ino = this.inodeOf(await this.image.openFile(path, this.openOpts), path);
    const out = allocFilled(ino.size);
    const r = ino.read(0, ino.size, out, 0);
    const n = typeof r === 'number' ? r : await r;
    if (n !== ino.size) throw new ErofsError('EIO', `short read (${n} of ${ino.size})`, path);
    return out;
  }

  /** Opens a file for positional or sequential reads through the page cache. */
  async open(path: string): Promise<FileHandle> {
    const ino = await this.inode(path);
    const h = new FileHandle(this, ino, path);
    this.handles.add(h);
    return h;
  }

  /** POSIX fadvise on a path (see FileHandle.fadvise). */
  async fadvise(path: string, advice: FadviseAdvice, offset = 0, length = 0): Promise<void> {
    const ino = await this.inode(path);
    await ino.fadvise(advice, offset, length);
  }

  /** How `path`'s data is cached (instantiates the inode). */
  async sharing(path: string): Promise<FileSharing> {
    return (await this.inode(path)).sharing();
  }

  /** Stats of this mount. */
  stats(): MountStats {
    let privateBytes = 0;
    let privatePages = 0;
    const shared = new Set<AddressSpace>();
    for (const s of this.spaces()) {
      if (s.kind === 'private') { privatePages += s.residentPages; privateBytes += s.residentPages * s.pageSize; }
      else shared.add(s);
    }
    let sharedBytes = 0;
    for (const s of shared) sharedBytes += s.residentPages * s.pageSize;
    return {
      id: this.id, name: this.name, inodes: this.inodes.size, ...this.counters,
      privateBytes, privatePages, sharedSpaces: shared.size, sharedBytes,
    };
  }

  /** Stats of every address space this mount reads through. */
  spaceStats(): SpaceStats[] {
    return this.spaces().map((s) => s.stats());
  }

  private spaces(): AddressSpace[] {
    const set = new Set<AddressSpace>();
    for (const ino of this.inodes.values()) set.add(ino.space);
    for (const s of this.blobSpaces.values()) set.add(s);
    return [...set].filter((s) => !s.dead);
  }

  /**
   * Releases everything: open handles close, private spaces are freed, every
   * inode leaves its shared inode (the last member frees it), blob
   * memberships end. Reads already in flight finish with the bytes they got.
   */
  async unmount(): Promise<void> {
    if (this.unmounted) return;
    this.unmounted = true;
    for (const h of this.handles) h.closed = true;
    this.handles.clear();
    const reg = IshareRegistry.of(this.cache);
    for (const ino of this.inodes.values()) ino.release(reg);
    this.inodes.clear();
    const blobs = BlobRegistry.of(this.cache);
    for (const m of this.blobMembers) blobs.leave(m);
    for (const s of this.privateBlobSpaces) this.cache.dropSpace(s);
    this.blobSpaces.clear();
  }

  get isUnmounted(): boolean {
    return this.unmounted;
  }

  /** @internal the inode of `path`, instantiated once per nid. */
  async inode(path: string): Promise<FileInode> {
    this.live(path);
    return this.inodeOf(await this.image.openFile(path, this.openOpts), path);
  }

  /** @internal the inode of an opened backing file, instantiated once per key. */
  private inodeOf(f: BackingFile, path: string): FileInode {
    this.live(path);
    let ino = this.inodes.get(f.key);
    if (ino === undefined) {
      ino = new FileInode(this, f, path);
      this.inodes.set(f.key, ino);
    }
    return ino;
  }

  /** @internal */
  forgetHandle(h: FileHandle): void {
    this.handles.delete(h);
  }
}

/** Filler of a private file space: space.source is its BackingFile. */
function fillPrivate(first: number, count: number, _ctx: ReadContext, space: AddressSpace): Promise<Uint8Array> {
  const f = space.source as BackingFile;
  const ps = space.pageSize;
  return f.read(first * ps, Math.min(f.size, (first + count) * ps) - first * ps);
}

/** Copy-free filler of a private file space (for backings with readInto; the cache checks the count). */
function fillPrivateInto(first: number, count: number, dst: Uint8Array, dstOff: number, _ctx: ReadContext, space: AddressSpace): Promise<number> {
  const f = space.source as BackingFile;
  const ps = space.pageSize;
  const pos = first * ps;
  return f.readInto!(pos, Math.min(f.size, (first + count) * ps) - pos, dst, dstOff);
}

/** One inode of a mount: its data is read through `space`. */
export class FileInode implements ShareMemberOwner {
  space: AddressSpace;
  member: ShareMember | null = null;
  reason: NotSharedReason | undefined;
  ctx: ReadContext;
  /** Chunk extents seen so far, sorted by la (blob sharing only). */
  private extents: BackingExtent[] | null = null;
  private privateSpace: AddressSpace | null = null;

  constructor(readonly mount: Mount<any>, readonly backing: BackingFile, readonly where: string) {
    this.ctx = mount.privateCtx;
    if (mount.inodeShare) {
      const r = IshareRegistry.of(mount.cache).join(this, mount.domainId, mount.verifyFingerprints, mount.image.blockSize, mount.pageSize);
      if ('member' in r) {
        this.member = r.member;
        this.ctx = { counters: mount.counters, requester: r.member };
        this.space = r.member.shared.space;
        return;
      }
      this.reason = r.reason;
      if (r.reason !== 'no-fingerprint' && r.reason !== 'not-regular') {
        mount.warn('ISHARE_NOT_SHARED', r.detail, where);
      }
    }
    this.space = this.ownSpace();
    if (mount.blobShare && backing.mapExtent !== undefined && mount.blobSpaces.size > 0) this.extents = [];
  }

  get size(): number {
    return this.backing.size;
  }

  get hasher(): HasherFactory {
    return this.mount.hasher;
  }

  private ownSpace(): AddressSpace {
    if (this.privateSpace === null) {
      const f = this.backing;
      // Module-level fillers reading space.source: no closures per file.
      const space = this.mount.cache.createSpace(this.mount.spacePrefix, 'private', f.size, fillPrivate, this.mount.pageSize, f.key);
      space.source = f;
      if (f.readInto !== undefined) space.fillInto = fillPrivateInto;
      space.owner = this.mount.counters;
      this.privateSpace = space;
    }
    return this.privateSpace;
  }

  /** Verification refused this inode: from now on it reads privately. */
  refused(member: ShareMember): void {
    if (this.member !== member) return;
    this.member = null;
    this.ctx = this.mount.privateCtx;
    this.reason = 'fingerprint-mismatch';
    this.space = this.ownSpace();
    if (this.mount.blobShare && this.backing.mapExtent !== undefined && this.mount.blobSpaces.size > 0) this.extents = [];
    this.mount.warn('ISHARE_REFUSED', 'content does not hash to the fingerprint: not shared', this.where);
  }

  sharing(): FileSharing {
    if (this.member) return { mode: 'shared', spaceId: this.space.id, members: this.member.shared.members.length };
    const s: FileSharing = { mode: this.extents ? 'blob' : 'private', spaceId: this.space.id };
    if (this.reason !== undefined) s.reason = this.reason;
    return s;
  }

  /** Copies file bytes [pos, pos + len) into out[off...]; sync when every page is resident. */
  read(pos: number, len: number, out: Uint8Array, off: number): number | Promise<number> {
    if (this.mount.isUnmounted) throw new ErofsError('EINVAL', 'mount is unmounted', this.where);
    if (this.extents !== null) return this.readChunks(pos, len, out, off);
    const space = this.space;
    const r = this.mount.cache.readInto(space, pos, len, out, off, this.ctx);
    // Only a share member's space can change under a read (refused by verification).
    if (typeof r === 'number' || this.member === null) return r;
    return r.then(
      // Refused while this read was in flight: read again privately, so a
      // refused file never mixes shared and its own bytes within one read.
      (n) => (this.space === space ? n : this.read(pos, len, out, off)),
      (e: unknown) => {
        if (this.space !== space) return this.read(pos, len, out, off);
        if (e instanceof ShareGoneError) throw new ErofsError('EIO', e.message, this.where);
        throw e;
      },
    );
  }

  // ---- blob sharing: a file read resolves to (blob space, offset) ranges ----

  private findExtent(p: number): BackingExtent | undefined {
    const xs = this.extents!;
    let lo = 0;
    let hi = xs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const x = xs[mid]!;
      if (p < x.la) hi = mid - 1;
      else if (p >= x.la + x.llen) lo = mid + 1;
      else return x;
    }
    return undefined;
  }

  private async loadExtent(p: number): Promise<BackingExtent> {
    const x = await this.backing.mapExtent!(p);
    if (!(x.la <= p && p < x.la + x.llen)) {
      throw new ErofsError('EFSCORRUPTED', `extent [${x.la}, +${x.llen}) does not contain ${p}`, this.where);
    }
    if (this.findExtent(p) === undefined) {
      const xs = this.extents!;
      let i = xs.length;
      while (i > 0 && xs[i - 1]!.la > x.la) i--;
      xs.splice(i, 0, x);
    }
    return x;
  }

  /** Where bytes at file offset p of extent x are cached. */
  private target(x: BackingExtent, p: number): [AddressSpace, number] {
    if (!x.hole && x.deviceId > 0) {
      const s = this.mount.blobSpaces.get(x.deviceId);
      if (s !== undefined) return [s, x.pa + (p - x.la)];
    }
    return [this.space, p];
  }

  private readChunks(pos: number, len: number, out: Uint8Array, off: number): number | Promise<number> {
    const end = Math.min(pos + len, this.size);
    let p = pos;
    let o = off;
    while (p < end) {
      const x = this.findExtent(p);
      if (x === undefined) return this.readChunksAsync(p, end, out, o).then(() => end - pos);
      const segEnd = Math.min(end, x.la + x.llen);
      const n = segEnd - p;
      const [space, sp] = this.target(x, p);
      const r = this.mount.cache.readInto(space, sp, n, out, o, this.ctx);
      if (typeof r !== 'number') {
        const o2 = o;
        return r.then((k) => {
          this.checkSeg(k, n, p);
          return this.readChunksAsync(segEnd, end, out, o2 + n);
        }).then(() => end - pos);
      }
      this.checkSeg(r, n, p);
      p = segEnd;
      o += n;
    }
    return Math.max(0, end - pos);
  }

  private async readChunksAsync(p: number, end: number, out: Uint8Array, o: number): Promise<void> {
    while (p < end) {
      const x = this.findExtent(p) ?? (await this.loadExtent(p));
      const segEnd = Math.min(end, x.la + x.llen);
      const n = segEnd - p;
      const [space, sp] = this.target(x, p);
      this.checkSeg(await this.mount.cache.readInto(space, sp, n, out, o, this.ctx), n, p);
      p = segEnd;
      o += n;
    }
  }

  private checkSeg(got: number, want: number, p: number): void {
    if (got !== want) throw new ErofsError('EIO', `short read at ${p} (${got} of ${want})`, this.where);
  }

  /** POSIX_FADV_DONTNEED drops clean pages (of the shared space when shared); WILLNEED reads ahead. */
  async fadvise(advice: FadviseAdvice, offset: number, length: number): Promise<void> {
    const end = length > 0 ? Math.min(this.size, offset + length) : this.size;
    if (advice === 'WILLNEED') {
      if (end > offset) await this.read(offset, end - offset, new Uint8Array(end - offset), 0);
      return;
    }
    if (advice !== 'DONTNEED') return;
    const cache = this.mount.cache;
    cache.dropRange(this.space, offset, length);
    if (this.extents !== null) {
      for (const x of this.extents) {
        const s = Math.max(offset, x.la);
        const e = Math.min(end, x.la + x.llen);
        if (e <= s) continue;
        const [space, sp] = this.target(x, s);
        if (space !== this.space) cache.dropRange(space, sp, e - s);
      }
    }
  }

  /** @internal the mount goes away. */
  release(reg: IshareRegistry): void {
    if (this.member) reg.leave(this.member);
    this.member = null;
    if (this.privateSpace) this.mount.cache.dropSpace(this.privateSpace);
  }
}

/** An open file: fs/promises FileHandle-like reads through the page cache. */
export class FileHandle {
  /** Next position of sequential reads. */
  position = 0;
  closed = false;

  /** @internal use Mount.open() */
  constructor(readonly mount: Mount<any>, readonly inode: FileInode, readonly path: string) {}

  get size(): number {
    return this.inode.size;
  }

  /**
   * Reads up to `length` bytes into buffer[offset...] from `position` (or the
   * handle's position, which then advances). Resolves to bytesRead (0 at EOF).
   */
  async read(buffer: Uint8Array, offset = 0, length = buffer.length - offset, position: number | null = null): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    if (this.closed) throw new ErofsError('EINVAL', 'file handle is closed', this.path);
    if (offset < 0 || length < 0 || offset + length > buffer.length) {
      throw new ErofsError('EINVAL', `bad range ${offset}+${length} for a buffer of ${buffer.length}`, this.path);
    }
    const pos = position ?? this.position;
    const bytesRead = await this.inode.read(pos, length, buffer, offset);
    if (position === null) this.position = pos + bytesRead;
    return { bytesRead, buffer };
  }

  /**
   * The synchronous part of read(): copies and returns the byte count when
   * every page is resident, else returns -1 without reading. For hot loops.
   */
  readCached(buffer: Uint8Array, offset: number, length: number, position: number): number {
    if (this.closed) throw new ErofsError('EINVAL', 'file handle is closed', this.path);
    const end = Math.min(position + length, this.inode.size);
    if (end <= position) return 0;
    const space = this.inode.space;
    const ps = space.pageSize;
    for (let i = Math.floor(position / ps), last = Math.floor((end - 1) / ps); i <= last; i++) {
      if (!space.isResident(i)) return -1;
    }
    if (this.inode.sharing().mode === 'blob') return -1;
    const r = this.inode.read(position, length, buffer, offset);
    return typeof r === 'number' ? r : -1;
  }

  /** The whole file from offset 0. */
  async readFile(): Promise<Uint8Array> {
    const out = new Uint8Array(this.size);
    const { bytesRead } = await this.read(out, 0, out.length, 0);
    return bytesRead === out.length ? out : out.subarray(0, bytesRead);
  }

  fadvise(advice: FadviseAdvice, offset = 0, length = 0): Promise<void> {
    if (this.closed) throw new ErofsError('EINVAL', 'file handle is closed', this.path);
    return this.inode.fadvise(advice, offset, length);
  }

  sharing(): FileSharing {
    return this.inode.sharing();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.mount.forgetHandle(this);
  }
}
