/**
 * The engine's view of an image: a small contract of its own, so the page
 * cache and the sharing rules are testable against in-memory fakes and the
 * real reader plugs in through one adapter (reader-adapter.ts).
 *
 * Every read is positional and random-access (the yauzl/zip.js contract):
 * `read(pos, len)` returns exactly `len` bytes unless it reaches end of file,
 * where it returns the bytes up to it.
 */

/** How a file's data reaches the page cache; the kernel only shares inodes with the same aops. */
export type ReadPath = 'plain' | 'compressed';

/** File types as readdir reports them. */
export type FileType = 'file' | 'directory' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'unknown';

/** One directory entry. */
export interface BackingDirent {
  name: string;
  type: FileType;
  nid: bigint | number;
}

/**
 * One mapped range of a file, as the kernel's erofs_map_dev() leaves it:
 * logical [la, la + llen) lives at byte `pa` of device `deviceId`
 * (0 = the primary image, k >= 1 = extra device k, i.e. blobs[k - 1]).
 * `hole` ranges read as zeros.
 */
export interface BackingExtent {
  la: number;
  llen: number;
  deviceId: number;
  pa: number;
  hole?: boolean;
}

/** The data of one inode of an image. */
export interface BackingFile {
  /** Unique within its image (the nid): hard links give the same key. */
  readonly key: string;
  readonly size: number;
  /** Only regular files may share page cache. */
  readonly isRegular: boolean;
  readonly readPath: ReadPath;
  /**
   * Raw value of the fingerprint xattr named by the superblock's
   * ishare_xattr_prefix_id, or null when the inode has none (or the image
   * names no fingerprint xattr).
   */
  readonly fingerprint: Uint8Array | null;
  /** Reads file bytes [pos, pos + len), short only at end of file. */
  read(pos: number, len: number): Promise<Uint8Array>;
  /**
   * Optional: reads file bytes [pos, pos + len) (short only at end of file)
   * straight into dst[dstOff...] and resolves with the count. The page cache
   * uses it to fill page frames without an intermediate buffer.
   */
  readInto?(pos: number, len: number, dst: Uint8Array, dstOff: number): Promise<number>;
  /**
   * For chunk-based files: the extent containing `pos` (which must be < size).
   * Absent for other layouts; blob sharing needs it.
   */
  mapExtent?(pos: number): Promise<BackingExtent>;
}

/** Options of BackingImage.openFile. */
export interface OpenFileOptions {
  /** Whether the fingerprint xattr is needed (default true). */
  fingerprint?: boolean;
}

/** An extra device (blob) of an image, from the device table. */
export interface BackingBlob {
  /** The device slot's tag (e.g. a digest); empty when the slot has none. */
  readonly tag: string;
  /** Bytes of the blob (blocks * block size). */
  readonly size: number;
  read(pos: number, len: number): Promise<Uint8Array>;
}

/**
 * An opened image. `S` is whatever stat object the backing returns; the
 * engine passes it through untouched.
 */
export interface BackingImage<S = unknown> {
  readonly blockSize: number;
  /** Superblock feature_compat has COMPAT_ISHARE_XATTRS (0x20). */
  readonly compatIshare: boolean;
  /** Extra devices in device-table order: blobs[k - 1] is deviceId k. */
  readonly blobs: readonly BackingBlob[];
  stat(path: string): Promise<S>;
  lstat(path: string): Promise<S>;
  readdir(path: string): Promise<BackingDirent[]>;
  readlink(path: string): Promise<string>;
  getxattr(path: string, name: string): Promise<Uint8Array>;
  listxattr(path: string): Promise<string[]>;
  /**
   * The data of the inode at `path` (symlinks followed); EISDIR for a
   * directory. With `{ fingerprint: false }` the backing may skip reading
   * the fingerprint xattr (and leave `fingerprint` null): the engine asks so
   * when the mount does not share.
   */
  openFile(path: string, opts?: OpenFileOptions): Promise<BackingFile>;
}
