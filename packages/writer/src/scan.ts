/**
 * Directory source: walks a host directory into the writer's input tree
 * (tree.ts). lstat only (symlinks are stored, never followed), raw-byte names,
 * hard links folded into one node object by (dev, ino), xattrs read in one
 * batch at the end (host-xattrs.ts). Selection and ownership/time rewriting
 * follow mkfs.erofs's options.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { EROFS_NAME_LEN, ErofsError, type ErofsErrorCode } from '@erofs/format';
import { readHostXattrs } from './host-xattrs.js';
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
const SLASH = Buffer.from('/');

function fsError(e: unknown, what: string, path: string): ErofsError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const known: Record<string, ErofsErrorCode> = {
    ENOENT: 'ENOENT', EACCES: 'EACCES', EPERM: 'EACCES', ENOTDIR: 'ENOTDIR', ENAMETOOLONG: 'ENAMETOOLONG', ELOOP: 'ELOOP',
  };
  return new ErofsError(known[code ?? ''] ?? 'EIO', `${what}: ${(e as Error)?.message ?? e}`, path, { cause: e });
}

function typeOf(st: BigIntStats): InodeType | null {
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

function idOf(v: bigint, force: number | undefined, allRoot: boolean, offset: number, what: string, path: string): number {
  let id = force ?? (allRoot ? 0 : Number(v));
  id += offset;
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new ErofsError('EINVAL', `${what} ${id} out of range (0..4294967295)`, path);
  }
  return id;
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
  const wantXattrs = (opts.xattrTolerance ?? 0) >= 0;
  const allRoot = opts.allRoot ?? false;
  const uidOffset = opts.uidOffset ?? 0;
  const gidOffset = opts.gidOffset ?? 0;
  const policy: MtimePolicy = opts.fixedMtime ? { mode: 'fixed', time: opts.fixedMtime } : (opts.mtime ?? { mode: 'source' });
  const byIno = new Map<string, Promise<InodeNode>>();
  const xattrTargets: Array<{ path: Buffer; node: InodeNode }> = [];

  const rootBuf = Buffer.from(root.length > 1 ? root.replace(/\/+$/, '') : root);
  let rootSt: BigIntStats;
  try {
    rootSt = await lstat(rootBuf, { bigint: true });
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

  const makeNode = async (path: Buffer, st: BigIntStats): Promise<InodeNode> => {
    const pathStr = path.toString();
    const type = typeOf(st);
    if (!type) throw new ErofsError('EOPNOTSUPP', 'unsupported file type', pathStr);
    let mtime: Timestamp = { sec: st.mtimeNs >= 0n ? st.mtimeNs / NS : -((-st.mtimeNs + NS - 1n) / NS), nsec: 0 };
    mtime.nsec = Number(st.mtimeNs - mtime.sec * NS);
    if (policy.mode === 'fixed') mtime = { ...policy.time };
    else if (policy.mode === 'clamp' && (mtime.sec > policy.time.sec || (mtime.sec === policy.time.sec && mtime.nsec > policy.time.nsec))) {
      mtime = { ...policy.time };
    }
    const node: InodeNode = {
      type,
      mode: Number(st.mode) & 0o7777,
      uid: idOf(st.uid, opts.forceUid, allRoot, uidOffset, 'uid', pathStr),
      gid: idOf(st.gid, opts.forceGid, allRoot, gidOffset, 'gid', pathStr),
      mtime,
      xattrs: new Map(),
    };
    if (type === 'file') {
      node.size = Number(st.size);
      node.data = { kind: 'path', path: pathStr };
    } else if (type === 'symlink') {
      try {
        node.target = new Uint8Array(await readlink(path, { encoding: 'buffer' }));
      } catch (e) {
        throw fsError(e, 'cannot read the symlink', pathStr);
      }
    } else if (type === 'chardev' || type === 'blockdev') {
      node.rdev = splitDev(st.rdev);
    } else if (type === 'dir') {
      node.entries = new Map();
    }
    if (wantXattrs) xattrTargets.push({ path, node });
    return node;
  };

  const walk = async (dirPath: Buffer, rel: string, dir: InodeNode): Promise<void> => {
    let names: Buffer[];
    try {
      names = await readdir(dirPath, { encoding: 'buffer' });
    } catch (e) {
      throw fsError(e, 'cannot read the directory', dirPath.toString());
    }
    names.sort(Buffer.compare);
    const kept: Array<{ name: Buffer; path: Buffer; rel: string }> = [];
    for (const name of names) {
      const path = Buffer.concat([dirPath, SLASH, name]);
      if (name.length > EROFS_NAME_LEN) {
        throw new ErofsError('ENAMETOOLONG', `file name longer than ${EROFS_NAME_LEN} bytes`, path.toString());
      }
      const childRel = rel ? `${rel}/${dec.decode(name)}` : dec.decode(name);
      if (excluded(childRel)) continue;
      kept.push({ name, path, rel: childRel });
    }
    // lstat a directory's entries concurrently: the walk is syscall-bound
    const stats = await Promise.all(
      kept.map((k) =>
        lstat(k.path, { bigint: true }).catch((e: unknown) => {
          throw fsError(e, 'cannot stat', k.path.toString());
        }),
      ),
    );
    const subdirs: Array<Promise<void>> = [];
    for (let i = 0; i < kept.length; i++) {
      const k = kept[i]!;
      const st = stats[i]!;
      let pending: Promise<InodeNode> | undefined;
      const hardlinkable = !st.isDirectory() && st.nlink > 1n;
      const key = `${st.dev}:${st.ino}`;
      if (hardlinkable) pending = byIno.get(key);
      if (!pending) {
        // registered before awaiting, so a concurrent walk finds the same node
        pending = makeNode(k.path, st);
        if (hardlinkable) byIno.set(key, pending);
      }
      const node = await pending;
      const name = new Uint8Array(k.name);
      dir.entries!.set(nameKey(name), { name, node });
      if (node.type === 'dir') subdirs.push(walk(k.path, k.rel, node));
    }
    await Promise.all(subdirs);
  };

  const rootNode = await makeNode(rootBuf, rootSt);
  await walk(rootBuf, '', rootNode);

  if (wantXattrs && xattrTargets.length > 0) {
    const got = await readHostXattrs(xattrTargets.map((t) => t.path));
    for (let i = 0; i < got.length; i++) {
      const g = got[i]!;
      const t = xattrTargets[i]!;
      if (!(g instanceof Map)) {
        throw new ErofsError(g.errno === 13 ? 'EACCES' : 'EIO', `cannot read xattrs (errno ${g.errno})`, t.path.toString());
      }
      t.node.xattrs = g;
    }
  }
  return rootNode;
}
