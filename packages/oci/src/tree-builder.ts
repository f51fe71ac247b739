/**
 * Tar extraction semantics on an in-memory tree: path normalisation, implicit
 * parents, duplicates, hard links, and the three ways of treating `.wh.`
 * whiteout names (keep them as files, convert them to overlayfs form, or apply
 * them as deletions while flattening layers).
 */
import { decodeAcl } from '@erofs/format';
import { invalid, ErofsError } from './errors.js';
import { nameKey, type InodeNode, type Timestamp } from './model.js';
import { showPath, type TarEntry } from './tar/reader.js';

/** Whiteout prefix of the OCI layer format (inherited from aufs). */
export const WH_PREFIX = '.wh.';
/** Marker that makes its directory opaque: lower layers' contents are hidden. */
export const WH_OPAQUE = '.wh..wh..opq';
/** overlayfs xattr marking an opaque directory. */
export const OVL_OPAQUE = 'trusted.overlay.opaque';
/**
 * overlayfs xattr set (empty) on a directory holding whiteouts, so overlayfs
 * never iterates it directly and shows the 0:0 devices (Linux commit
 * b79e05aaa166); mkfs.erofs sets it too.
 */
export const OVL_ORIGIN = 'trusted.overlay.origin';

/**
 * How `.wh.*` names are treated.
 * - 'plain': ordinary files (a plain `--tar=f` conversion without `--aufs`).
 * - 'aufs': converted to overlayfs form, as mkfs.erofs `--aufs` does: `.wh.NAME`
 *   becomes a 0:0 character device NAME, `.wh..wh..opq` sets
 *   `trusted.overlay.opaque=y` on its directory. Per-layer images use this.
 * - 'flatten': applied to the tree built from lower layers (deletion, emptying).
 */
export type WhiteoutMode = 'plain' | 'aufs' | 'flatten';

/** Options shared by every tree-building entry point. */
export interface TreeOptions {
  /**
   * What a `..` component does: 'reject' (default) fails with EINVAL naming
   * the entry; 'contain' resolves it lexically and stops at the root, as
   * mkfs.erofs does, so nothing ever lands outside the tree.
   */
  dotdot?: 'reject' | 'contain';
  /** mkfs.erofs `--aufs`: convert aufs whiteouts to overlayfs form. */
  aufs?: boolean;
  /** mkfs.erofs `--ovlfs-strip`: drop 0:0 whiteout devices and the opaque xattr. */
  ovlfsStrip?: boolean;
  /**
   * Metadata of the root directory unless the tar has a `./` entry. Default:
   * mode 0755, uid 0, gid 0, mtime 0 (mkfs.erofs uses 0777, its own uid and
   * the build time; containers expect 0755 and root ownership).
   */
  root?: { mode?: number; uid?: number; gid?: number; mtime?: Timestamp };
  /** Called for entries that are skipped rather than refused. */
  onWarning?: (message: string, where: string) => void;
  /**
   * Metadata for a parent directory no member describes, by its path
   * components: per-layer images take it from the lower layers, so that an
   * overlayfs stack shows the directory as the lower layers made it (the
   * upper-most layer holding a directory decides its attributes). Undefined
   * or null: mkfs.erofs's rule (0755 plus the parent's group/other write
   * bits, the parent's owner and mtime).
   */
  implicitDirMeta?: (comps: readonly Uint8Array[]) => InodeNode | null | undefined;
}

interface NodeInfo {
  /** Last layer that created or descended into this node (flatten mode). */
  layer: number;
  /** Set by an opaque marker; kept when a later dir entry rewrites xattrs. */
  opaque: boolean;
  /** Holds aufs-converted whiteouts (gets OVL_ORIGIN unless stripped). */
  whiteouts: boolean;
}

const enc = new TextEncoder();

/** Builds one tree from tar members; see {@link WhiteoutMode}. */
export class TreeBuilder {
  readonly root: InodeNode;
  private readonly info = new WeakMap<InodeNode, NodeInfo>();
  private readonly mode: WhiteoutMode;
  private readonly opts: TreeOptions;

  constructor(mode: WhiteoutMode, opts: TreeOptions = {}) {
    this.mode = mode;
    this.opts = opts;
    const r = opts.root ?? {};
    this.root = {
      type: 'dir', mode: r.mode ?? 0o755, uid: r.uid ?? 0, gid: r.gid ?? 0,
      mtime: r.mtime ?? { sec: 0n, nsec: 0 }, xattrs: new Map(), entries: new Map(),
    };
    this.info.set(this.root, { layer: -1, opaque: false, whiteouts: false });
  }

  private nodeInfo(n: InodeNode): NodeInfo {
    let i = this.info.get(n);
    if (!i) {
      i = { layer: -1, opaque: false, whiteouts: false };
      this.info.set(n, i);
    }
    return i;
  }

  /**
   * Splits a raw member path into components: leading '/' and './', empty
   * and '.' components vanish; '..' is refused or contained (see TreeOptions).
   */
  normalise(path: Uint8Array, label: string): Uint8Array[] {
    if (path.includes(0)) throw invalid('NUL byte in path', label);
    const out: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i <= path.length; i++) {
      if (i < path.length && path[i] !== 0x2f) continue;
      const c = path.subarray(start, i);
      start = i + 1;
      if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
      if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
        if (this.opts.dotdot !== 'contain') throw invalid("path has a '..' component", label);
        out.pop();
        continue;
      }
      out.push(c);
    }
    return out;
  }

  /** Finds the directory at `comps`, creating missing ones when `create`. */
  private walk(comps: Uint8Array[], create: boolean, layer: number): InodeNode | null {
    let dir = this.root;
    for (let i = 0; i < comps.length; i++) {
      const c = comps[i]!;
      const k = nameKey(c);
      const e = dir.entries!.get(k);
      if (e && e.node.type === 'dir') {
        dir = e.node;
        if (create) this.nodeInfo(dir).layer = Math.max(this.nodeInfo(dir).layer, layer);
        continue;
      }
      if (!create) return null;
      // Missing, or a non-directory in the way: a later member wins, as when
      // extracting, so the obstacle is replaced by a directory.
      const like = this.opts.implicitDirMeta?.(comps.slice(0, i + 1));
      const d = like && like.type === 'dir'
        ? { type: 'dir' as const, mode: like.mode, uid: like.uid, gid: like.gid, mtime: { ...like.mtime }, xattrs: lowerXattrs(like.xattrs), entries: new Map() }
        : this.implicitDir(dir);
      this.info.set(d, { layer, opaque: false, whiteouts: false });
      dir.entries!.set(k, { name: c, node: d });
      dir = d;
    }
    return dir;
  }

  /**
   * A parent directory no member describes. Like mkfs.erofs: mode 0755 plus
   * the parent's group/other write bits, owner and mtime copied from the parent.
   */
  private implicitDir(parent: InodeNode): InodeNode {
    return {
      type: 'dir', mode: 0o755 | (parent.mode & 0o022), uid: parent.uid, gid: parent.gid,
      mtime: { ...parent.mtime }, xattrs: new Map(), entries: new Map(),
    };
  }

  /** Looks a path up without creating anything. */
  lookup(comps: Uint8Array[]): InodeNode | null {
    if (comps.length === 0) return this.root;
    const dir = this.walk(comps.slice(0, -1), false, -1);
    return dir?.entries!.get(nameKey(comps.at(-1)!))?.node ?? null;
  }

  private checkXattrs(x: Map<string, Uint8Array>, label: string): void {
    for (const [k, v] of x) {
      if (k.includes('\0')) throw invalid('NUL byte in xattr name', label);
      if ((k === 'system.posix_acl_access' || k === 'system.posix_acl_default') && decodeAcl(v) === null) {
        throw invalid(`${k} is not a kernel-format POSIX ACL`, label);
      }
    }
  }

  /**
   * Applies one member. Returns the new regular-file node when its content is
   * wanted (the caller streams the body into it), otherwise null (the body,
   * if any, is to be skipped). `layer` orders layers for whiteouts: a
   * whiteout affects only entries from lower layers, as the OCI spec says.
   */
  apply(e: TarEntry, layer = 0): InodeNode | null {
    const label = showPath(e.path);
    const comps = this.normalise(e.path, label);
    this.checkXattrs(e.xattrs, label);
    const last = comps.at(-1);
    if (last && this.mode !== 'plain' && last.length >= 4 && nameKey(last.subarray(0, 4)) === WH_PREFIX) {
      this.whiteout(e, comps, layer, label);
      return null;
    }
    if (comps.length === 0) {
      // './' describes the root; anything else cannot replace it.
      if (e.type !== 'dir') throw new ErofsError('ENOTDIR', 'tar member for the root is not a directory', label);
      this.setMeta(this.root, e);
      this.nodeInfo(this.root).layer = layer;
      return null;
    }
    const parent = this.walk(comps.slice(0, -1), true, layer)!;
    const name = last!;
    const key = nameKey(name);
    const existing = parent.entries!.get(key)?.node;
    if (e.type === 'hardlink') {
      const tcomps = this.normalise(e.linkpath!, label);
      const target = this.lookup(tcomps);
      if (!target) throw new ErofsError('ENOENT', `hard link target ${showPath(e.linkpath!)} does not exist`, label);
      if (target.type === 'dir') throw new ErofsError('EISDIR', 'hard link to a directory', label);
      if (target !== existing) parent.entries!.set(key, { name, node: target });
      this.nodeInfo(target).layer = Math.max(this.nodeInfo(target).layer, layer);
      return null;
    }
    if (existing && existing.type === 'dir' && e.type === 'dir') {
      // A directory over a directory updates metadata and keeps the children.
      this.setMeta(existing, e);
      this.nodeInfo(existing).layer = layer;
      return null;
    }
    const node = this.newNode(e, label);
    this.info.set(node, { layer, opaque: false, whiteouts: false });
    parent.entries!.set(key, { name, node });
    return node.type === 'file' ? node : null;
  }

  private setMeta(n: InodeNode, e: TarEntry): void {
    n.mode = e.mode;
    n.uid = e.uid;
    n.gid = e.gid;
    n.mtime = { ...e.mtime };
    n.xattrs = new Map(e.xattrs);
    if (this.nodeInfo(n).opaque) n.xattrs.set(OVL_OPAQUE, enc.encode('y'));
  }

  private newNode(e: TarEntry, label: string): InodeNode {
    const n: InodeNode = {
      type: e.type === 'hardlink' ? 'file' : e.type, mode: e.mode, uid: e.uid, gid: e.gid,
      mtime: { ...e.mtime }, xattrs: new Map(e.xattrs),
    };
    switch (e.type) {
      case 'file':
        n.size = e.size;
        // Empty files need no streaming; give them their (empty) content now.
        if (e.size === 0) n.data = { kind: 'bytes', bytes: new Uint8Array(0) };
        break;
      case 'dir':
        n.entries = new Map();
        break;
      case 'symlink':
        if (e.linkpath!.length > 4095) throw new ErofsError('ENAMETOOLONG', 'symlink target longer than 4095 bytes', label);
        n.target = e.linkpath!;
        break;
      case 'chardev': case 'blockdev':
        n.rdev = { major: e.devmajor, minor: e.devminor };
        break;
    }
    return n;
  }

  private whiteout(e: TarEntry, comps: Uint8Array[], layer: number, label: string): void {
    const last = comps.at(-1)!;
    const lastKey = nameKey(last);
    const dirComps = comps.slice(0, -1);
    if (lastKey === WH_OPAQUE) {
      if (this.mode === 'aufs') {
        const dir = this.walk(dirComps, true, layer)!;
        this.nodeInfo(dir).opaque = true;
        dir.xattrs.set(OVL_OPAQUE, enc.encode('y'));
      } else {
        const dir = this.walk(dirComps, true, layer)!;
        this.pruneLower(dir, layer);
      }
      return;
    }
    if (lastKey.startsWith(WH_PREFIX + WH_PREFIX)) {
      // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content, not a whiteout.
      this.opts.onWarning?.('skipping aufs metadata entry', label);
      return;
    }
    const victim = last.subarray(WH_PREFIX.length);
    const vk = nameKey(victim);
    // '.wh.' alone, '.wh..' or '.wh...' would name the directory itself or its parent.
    if (vk === '' || vk === '.' || vk === '..') throw invalid('whiteout escapes its directory', label);
    if (this.mode === 'aufs') {
      const dir = this.walk(dirComps, true, layer)!;
      const node: InodeNode = {
        type: 'chardev', mode: e.mode, uid: e.uid, gid: e.gid, mtime: { ...e.mtime },
        xattrs: new Map(), rdev: { major: 0, minor: 0 },
      };
      this.info.set(node, { layer, opaque: false, whiteouts: false });
      dir.entries!.set(vk, { name: victim, node });
      this.nodeInfo(dir).whiteouts = true;
      return;
    }
    const dir = this.walk(dirComps, false, layer);
    const hit = dir?.entries!.get(vk);
    // Whiteouts apply to lower layers only; an entry of this same layer stays.
    if (hit && this.nodeInfo(hit.node).layer < layer) dir!.entries!.delete(vk);
  }

  /** Opaque directory while flattening: drop everything lower layers put in it. */
  private pruneLower(dir: InodeNode, layer: number): void {
    for (const [k, { node }] of dir.entries!) {
      if (this.nodeInfo(node).layer < layer) dir.entries!.delete(k);
      else if (node.type === 'dir') this.pruneLower(node, layer);
    }
  }

  /** Final touches (overlayfs xattrs, --ovlfs-strip) and the root. */
  finish(): InodeNode {
    const seen = new Set<InodeNode>();
    const visit = (dir: InodeNode): void => {
      if (seen.has(dir)) return;
      seen.add(dir);
      const inf = this.nodeInfo(dir);
      if (this.opts.ovlfsStrip) {
        dir.xattrs.delete(OVL_OPAQUE);
        for (const [k, { node }] of dir.entries!) {
          if (node.type === 'chardev' && node.rdev?.major === 0 && node.rdev.minor === 0) dir.entries!.delete(k);
        }
      } else if (inf.whiteouts) {
        dir.xattrs.set(OVL_ORIGIN, new Uint8Array(0));
      }
      for (const { node } of dir.entries!.values()) if (node.type === 'dir') visit(node);
    };
    visit(this.root);
    return this.root;
  }
}

/** A lower directory's xattrs minus overlayfs's own (opaque marks and origins belong to their layer). */
function lowerXattrs(x: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of x) if (!k.startsWith('trusted.overlay.')) out.set(k, v);
  return out;
}

/** Joins components back into a printable path (for messages and callbacks). */
export function joinPath(comps: Uint8Array[]): string {
  return comps.map((c) => showPath(c)).join('/');
}
