/**
 * The writer's input model as this package needs it. These declarations
 * mirror `InodeNode`, `FileData` and `nameKey` of @erofs/writer (its
 * src/tree.ts) field for field, so a tree built here is assignable to the
 * writer's type; they live here only until @erofs/writer exports them.
 */

/** Kind of inode. */
export type InodeType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';

/** Seconds since the epoch and nanoseconds. */
export interface Timestamp {
  sec: bigint;
  nsec: number;
}

/** Where a regular file's bytes come from (see the writer's FileData). */
export type FileData =
  | { kind: 'path'; path: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'written'; handle: unknown };

/** One inode; the same object under two names is a hard link. */
export interface InodeNode {
  type: InodeType;
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  xattrs: Map<string, Uint8Array>;
  size?: number;
  data?: FileData;
  target?: Uint8Array;
  rdev?: { major: number; minor: number };
  entries?: Map<string, { name: Uint8Array; node: InodeNode }>;
}

/** Map key for a raw name: each byte as one latin1 char (same rule as the writer). */
export function nameKey(name: Uint8Array): string {
  let s = '';
  for (let i = 0; i < name.length; i++) s += String.fromCharCode(name[i]!);
  return s;
}

/**
 * Receives one regular file's content while the tar streams past and returns
 * where the writer put it. It must consume `body` completely (`size` bytes).
 */
export type WriteData = (body: AsyncIterable<Uint8Array>, size: number, path: string) => Promise<FileData>;
