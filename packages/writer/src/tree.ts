/**
 * The writer's input model: a tree of inodes with metadata, built by a source
 * (directory walk, tar stream, OCI layers) and handed to the image writer.
 *
 * Names are raw bytes (Linux file names are bytes, not text). A node object that
 * appears under several names is ONE inode (a hard link); the writer counts
 * nlink itself. Directories hold their entries unsorted; the writer sorts them
 * by bytes as the kernel expects.
 */
export type InodeType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';

/** Seconds since the epoch (may exceed 2^32 or be negative) and nanoseconds. */
export interface Timestamp {
  sec: bigint;
  nsec: number;
}

/** Where a regular file's bytes come from. */
export type FileData =
  /** Read from a host file when the writer gets to it (directory sources). */
  | { kind: 'path'; path: string }
  /** Bytes already in memory (small files, tests). */
  | { kind: 'bytes'; bytes: Uint8Array }
  /** Data already streamed into the image by `ImageWriter.writeData` (tar sources). */
  | { kind: 'written'; handle: unknown };

export interface InodeNode {
  type: InodeType;
  /** Permission bits and setuid/setgid/sticky (the low 12 bits of st_mode). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  /** Full xattr names ("user.foo", "trusted.overlay.opaque", "system.posix_acl_access") -> value. */
  xattrs: Map<string, Uint8Array>;
  /** Regular files: content size in bytes. */
  size?: number;
  /** Regular files: where the content comes from. */
  data?: FileData;
  /** Symlinks: the target bytes. */
  target?: Uint8Array;
  /** Devices: numbers. */
  rdev?: { major: number; minor: number };
  /** Directories: entries by name (raw bytes, latin1-keyed: see nameKey). */
  entries?: Map<string, { name: Uint8Array; node: InodeNode }>;
}

/** Map key for a raw name: every byte as one latin1 char, so any byte string is a key. */
export function nameKey(name: Uint8Array): string {
  // one flat string (a char-by-char += would leave a rope of cons strings per name)
  return Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1');
}
