/**
 * Directory source: walks a host directory into the writer's input tree
 * (tree.ts). lstat only (symlinks are stored, never followed), raw-byte names,
 * hard links folded into one node object by (dev, ino), xattrs read by one
 * helper process that runs alongside the walk (host-xattrs.ts). Selection
 * and ownership/time rewriting follow mkfs.erofs's options.
 *
 * The walk is synchronous and depth-first: for a metadata walk of a local
 * tree, lstatSync/readdirSync in a tight loop beat any number of
 * concurrent fs/promises calls (no thread-pool round trip per entry, no
 * pending-request pile-up), and memory stays proportional to the tree.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import { EROFS_NAME_LEN, ErofsError, type ErofsErrorCode } from '@erofs/format';
import { HostXattrReader } from './host-xattrs.js';
import { nameKey, type InodeNode, type InodeType, type Timestamp } from './tree.js';

/** How inode mtimes are chosen (the CLI's `-T`, `--mkfs-time`, SOURCE_DATE_EPOCH). */
export type MtimePolicy =
  | { mode: 'source' }
  /** Every inode gets `time`. */
  | { mode: 'fixed'; time: Timestamp }
  /** Mtimes later than `time` become `time`. */
  | { mode: 'clamp'; time: Timestamp };

/** Options of {@link scanDirectory}; field names match the CLI's MkfsScanOptions. */
export interface ScanOptions {
  /** `--exclude-path=`: exact paths relative to the source root ("dir/file"; a leading '/' is ignored). */
  excludePaths?: readonly string[];
  /** `--exclude-regex=`: tested against the path relative to the source root, no leading '/'. */
  excludeRegexes?: ReadonlyArray<RegExp | string>;
  /** `-x#`: < 0 drops every xattr (nothing is read). */
  xattrTolerance?: number;
  /** `--all-root`: uid and gid 0 (forceUid/forceGid still win). */
  allRoot?: boolean;
  forceUid?: number;
  forceGid?: number;
  /** Added after forcing. */
  uidOffset?: number;
  gidOffset?: number;
  /** Default: each inode keeps its own mtime. */
  mtime?: MtimePolicy;
  /** Shorthand for `mtime: {mode: 'fixed', time}`. */
  fixedMtime?: Timestamp;
}

const NS = 1_000_000_000n;
const dec = new TextDecoder();
const SLASH = 0x2f;
/**
 * The xattrs of every scanned node that has none: one shared, read-only map
 * (an empty Map per inode costs ~200 bytes). Assign a new Map to add some.
 */
class NoXattrs extends Map<string, Uint8Array> {
  override set(): this {
    throw new TypeError('this node shares the read-only empty xattr map of scanDirectory: assign node.xattrs a new Map instead');
  }
  override delete(): boolean {
    return false;
  }
  override clear(): void {
    // nothing to clear
  }
}
const NO_XATTRS: Map<string, Uint8Array> = new NoXattrs();

/** Entries walked between two turns of the event loop (so the xattr helper gets its input). */
const YIELD_EVERY = 2048;

function fsError(e: unknown, what: string, path: string): ErofsError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const known: Record<string, ErofsErrorCode> = {
    ENOENT: 'ENOENT', EACCES: 'EACCES', EPERM: 'EACCES', ENOTDIR: 'ENOTDIR', ENAMETOOLONG: 'ENAMETOOLONG', ELOOP: 'ELOOP',
  };
  return new ErofsError(known[code ?? ''] ?? 'EIO', `${what}: ${(e as Error)?.message ?? e}`, path, { cause: e });
}

function typeOf(st: Stats | BigIntStats): InodeType | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return null;
}

/** glibc's major()/minor() of a dev_t. */
function splitDev(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

function idOf(v: number | bigint, force: number | undefined, allRoot: boolean, offset: number, what: string, path: Buffer): number {
  let id = force ?? (allRoot ? 0 : Number(v));
  id += offset;
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new ErofsError('EINVAL', `${what} ${id} out of range (0..4294967295)`, path.toString());
  }
  return id >>> 0; // a small integer, not a boxed double (Stats fields are doubles)
}

function lstatOf(path: Buffer, bigint: boolean): Stats | BigIntStats {
  try {
    return bigint ? lstatSync(path, { bigint: true }) : lstatSync(path);
  } catch (e) {
    throw fsError(e, 'cannot stat', path.toString());
  }
}

function joinPath(dir: Buffer, name: Uint8Array): Buffer {
  const p = Buffer.allocUnsafe(dir.length + 1 + name.length);
  dir.copy(p, 0);
  p[dir.length] = SLASH;
  p.set(name, dir.length + 1);
  return p;
}

/** A copy in a buffer of its own (Buffer.alloc never takes from the pool). */
function unpooled(b: Buffer): Buffer {
  const c = Buffer.alloc(b.length);
  c.set(b);
  return c;
}

/**
 * `{kind: 'path'}` file data whose path string is made when asked: a tree of
 * some 50k files would otherwise hold as many full path strings from the
 * scan until the image is written (several MB of a peak of ~150).
 */
class HostPath {
  readonly kind = 'path' as const;
  constructor(private readonly dir: Buffer, private readonly name: Uint8Array) {}
  get path(): string {
    return joinPath(this.dir, this.name).toString();
  }
}

/**
 * Walks `root` (a host directory) into an {@link InodeNode} tree. Names over
 * 255 bytes, a missing or non-directory source and unreadable directories are
 * ErofsErrors naming the path; regular file contents are not read here (their
 * nodes carry `{kind: 'path'}` data and the size seen by lstat).
 */
export async function scanDirectory(root: string, opts: ScanOptions = {}): Promise<InodeNode> {
  const excludePaths = new Set((opts.excludePaths ?? []).map((p) => p.replace(/^\/+/, '')));
  const excludeRes = (opts.excludeRegexes ?? []).map((r) => (typeof r === 'string' ? new RegExp(r) : r));
  const needRel = excludePaths.size > 0 || excludeRes.length > 0;
  const wantXattrs = (opts.xattrTolerance ?? 0) >= 0;
  const allRoot = opts.allRoot ?? false;
  const uidOffset = opts.uidOffset ?? 0;
  const gidOffset = opts.gidOffset ?? 0;
  const policy: MtimePolicy = opts.fixedMtime ? { mode: 'fixed', time: opts.fixedMtime } : (opts.mtime ?? { mode: 'source' });
  // nanosecond mtimes need BigIntStats (a Stats' mtimeMs is a rounded double); a fixed mtime does not
  const bigint = policy.mode !== 'fixed';
  const byIno = new Map<string, InodeNode>();
  const xattrNodes: InodeNode[] = [];
  let xattrReader: HostXattrReader | undefined;

  const rootBuf = Buffer.from(root.length > 1 ? root.replace(/\/+$/, '') : root);
  let rootSt: Stats | BigIntStats;
  try {
    rootSt = lstatSync(rootBuf, { bigint: true });
  } catch (e) {
    throw fsError(e, 'cannot read the source', root);
  }
  if (!rootSt.isDirectory()) throw new ErofsError('ENOTDIR', 'the source is not a directory', root);

  const excluded = (rel: string): boolean => {
    if (excludePaths.has(rel)) return true;
    for (const r of excludeRes) {
      r.lastIndex = 0;
      if (r.test(rel)) return true;
    }
    return false;
  };

  // one object for all inodes when the mtime is fixed
  const fixedTime: Timestamp | undefined = policy.mode === 'fixed' ? { sec: policy.time.sec, nsec: policy.time.nsec } : undefined;
  const mtimeOf = (st: Stats | BigIntStats): Timestamp => {
    if (fixedTime) return fixedTime;
    const ns = (st as BigIntStats).mtimeNs;
    const mtime: Timestamp = { sec: ns >= 0n ? ns / NS : -((-ns + NS - 1n) / NS), nsec: 0 };
    mtime.nsec = Number(ns - mtime.sec * NS);
    if (policy.mode === 'clamp' && (mtime.sec > policy.time.sec || (mtime.sec === policy.time.sec && mtime.nsec > policy.time.nsec))) {
      return { sec: policy.time.sec, nsec: policy.time.nsec };
    }
    return mtime;
  };

  const makeNode = (path: Buffer, st: Stats | BigIntStats, dirPath?: Buffer, name?: Uint8Array): InodeNode => {
    const type = typeOf(st);
    if (!type) throw new ErofsError('EOPNOTSUPP', 'unsupported file type', path.toString());
    const mode = Number(st.mode) & 0o7777;
    const uid = idOf(st.uid, opts.forceUid, allRoot, uidOffset, 'uid', path);
    const gid = idOf(st.gid, opts.forceGid, allRoot, gidOffset, 'gid', path);
    const mtime = mtimeOf(st);
    // each kind made in one literal: no out-of-object property store per node
    let node: InodeNode;
    if (type === 'file') {
      const n = Number(st.size);
      const size = n <= 0x3fffffff ? n | 0 : n; // a small integer where it fits (no boxed double per node)
      node = { type, mode, uid, gid, mtime, xattrs: NO_XATTRS, size, data: dirPath && name ? new HostPath(dirPath, name) : { kind: 'path', path: path.toString() } };
    } else if (type === 'symlink') {
      let target: Uint8Array;
      try {
        target = new Uint8Array(readlinkSync(path, { encoding: 'buffer' }));
      } catch (e) {
        throw fsError(e, 'cannot read the symlink', path.toString());
      }
      node = { type, mode, uid, gid, mtime, xattrs: NO_XATTRS, target };
    } else if (type === 'chardev' || type === 'blockdev') {
      const rdev = splitDev(typeof st.rdev === 'bigint' ? st.rdev : lstatSync(path, { bigint: true }).rdev);
      node = { type, mode, uid, gid, mtime, xattrs: NO_XATTRS, rdev };
    } else if (type === 'dir') {
      node = { type, mode, uid, gid, mtime, xattrs: NO_XATTRS, entries: new Map() };
    } else {
      node = { type, mode, uid, gid, mtime, xattrs: NO_XATTRS };
    }
    if (xattrReader) {
      xattrReader.push(path);
      xattrNodes.push(node);
    }
    return node;
  };

  let sinceYield = 0;
  const walk = async (dirPath: Buffer, rel: string, dir: InodeNode): Promise<void> => {
    let names: Buffer[];
    try {
      names = readdirSync(dirPath, { encoding: 'buffer' });
    } catch (e) {
      throw fsError(e, 'cannot read the directory', dirPath.toString());
    }
    names.sort(Buffer.compare);
    // the names of one directory share one buffer (a Buffer each would cost an ArrayBuffer each)
    let total = 0;
    for (const name of names) total += name.length;
    const packed = new Uint8Array(total);
    let at = 0;
    const entries = dir.entries!;
    const subdirs: Array<{ path: Buffer; rel: string; node: InodeNode }> = [];
    for (const name of names) {
      const path = joinPath(dirPath, name);
      if (name.length > EROFS_NAME_LEN) {
        throw new ErofsError('ENAMETOOLONG', `file name longer than ${EROFS_NAME_LEN} bytes`, path.toString());
      }
      let childRel = '';
      if (needRel) {
        childRel = rel ? `${rel}/${dec.decode(name)}` : dec.decode(name);
        if (excluded(childRel)) continue;
      }
      const nameBytes = packed.subarray(at, at + name.length);
      nameBytes.set(name);
      at += name.length;
      const st = lstatOf(path, bigint);
      let node: InodeNode | undefined;
      if (!st.isDirectory() && Number(st.nlink) > 1) {
        const ids = typeof st.ino === 'bigint' ? st : lstatOf(path, true);
        const key = `${ids.dev}:${ids.ino}`;
        node = byIno.get(key);
        if (!node) byIno.set(key, (node = makeNode(path, st, dirPath, nameBytes)));
      } else {
        node = makeNode(path, st, dirPath, nameBytes);
      }
      entries.set(nameKey(nameBytes), { name: nameBytes, node });
      // a directory's path lives as long as its files' HostPaths: its own exact-size
      // buffer (a pooled one would pin the whole 8 KiB pool slab it came from)
      if (node.type === 'dir') subdirs.push({ path: unpooled(path), rel: childRel, node });
      if (xattrReader && ++sinceYield >= YIELD_EVERY) {
        // let the helper's pipe drain while we walk on
        sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    for (const s of subdirs) await walk(s.path, s.rel, s.node);
  };

  if (wantXattrs) xattrReader = new HostXattrReader();
  try {
    const rootNode = makeNode(rootBuf, rootSt);
    await walk(rootBuf, '', rootNode);
    if (xattrReader) {
      const got = await xattrReader.finish();
      xattrReader = undefined;
      for (let i = 0; i < got.length; i++) {
        const g = got[i]!;
        if (!(g instanceof Map)) {
          throw new ErofsError(g.errno === 13 ? 'EACCES' : 'EIO', `cannot read xattrs (errno ${g.errno})`, g.path ?? '');
        }
        if (g.size > 0) xattrNodes[i]!.xattrs = g;
      }
    }
    return rootNode;
  } finally {
    xattrReader?.cancel();
  }
}
