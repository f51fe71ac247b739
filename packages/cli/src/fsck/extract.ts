/**
 * fsck-erofs --extract: writes the tree out. Node creates directories,
 * regular files, symlinks and hard links; everything Node cannot do
 * exactly (device nodes and fifos, xattrs including empty values, owners,
 * modes and nanosecond mtimes without following symlinks) is applied by one
 * python3 process fed a JSON list, using os.mknod, os.setxattr, os.chown,
 * os.chmod and os.utime(ns=..., follow_symlinks=False).
 */
import { spawnSync } from 'node:child_process';
import { link, mkdir, open, rm, symlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { S_IFMT } from '@erofs/format';
import type { Image, Inode, XattrEntry } from '@erofs/reader';
import { ErofsError } from '@erofs/format';

interface MetaItem {
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'special';
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: string;
  rdev?: number;
  /** name -> hex value */
  xattrs?: Array<[string, string]>;
}

const APPLY_PY = String.raw`
import json, os, sys
doc = json.load(sys.stdin)
items = doc['items']
root = os.geteuid() == 0
warn = []
def hexb(s): return bytes.fromhex(s)
for it in items:
    p = it['path']
    try:
        if it['kind'] == 'special':
            if os.path.lexists(p): os.unlink(p)
            os.mknod(p, it['mode'], os.makedev(*it['rdev']) if it.get('rdev') is not None else 0)
    except OSError as e:
        warn.append('%s: mknod: %s' % (p, e.strerror))
        continue
for first, p in doc['links']:
    try:
        if os.path.lexists(p): os.unlink(p)
        os.link(first, p)
    except OSError as e: warn.append('%s: link: %s' % (p, e.strerror))
for it in items:
    p = it['path']
    link = it['kind'] == 'symlink'
    try:
        if root: os.chown(p, it['uid'], it['gid'], follow_symlinks=False)
    except OSError as e: warn.append('%s: chown: %s' % (p, e.strerror))
    if not link:
        try: os.chmod(p, it['mode'] & 0o7777)
        except OSError as e: warn.append('%s: chmod: %s' % (p, e.strerror))
    for name, val in it.get('xattrs') or []:
        try: os.setxattr(p, name, hexb(val), follow_symlinks=False)
        except OSError as e: warn.append('%s: setxattr %s: %s' % (p, name, e.strerror))
for it in sorted(items, key=lambda i: -i['path'].count('/')):
    p = it['path']
    try:
        ns = int(it['mtimeNs'])
        os.utime(p, ns=(ns, ns), follow_symlinks=False)
    except OSError as e: warn.append('%s: utime: %s' % (p, e.strerror))
for w in warn: print(w)
`;

/** Writes an image's tree under a directory while fsck walks it. */
export class Extractor {
  readonly warnings: string[] = [];
  private readonly items: MetaItem[] = [];
  private readonly firstName = new Map<bigint, string>();

  private constructor(readonly dir: string, readonly img: Image) {}

  static async create(dir: string, img: Image): Promise<Extractor> {
    await mkdir(dir, { recursive: true });
    return new Extractor(dir, img);
  }

  private host(p: string): string {
    return p === '/' ? this.dir : join(this.dir, p);
  }

  async mkdir(path: string, _ino: Inode): Promise<void> {
    if (path !== '/') await mkdir(this.host(path), { recursive: true });
  }

  async file(path: string, ino: Inode): Promise<{ write(b: Uint8Array): Promise<void>; close(): Promise<void> }> {
    this.firstName.set(ino.nid, path);
    const target = this.host(path);
    await rm(target, { force: true });
    const fh: FileHandle = await open(target, 'w', 0o600);
    return {
      write: async (b) => {
        let off = 0;
        while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten;
      },
      close: () => fh.close(),
    };
  }

  async symlink(path: string, target: string, ino: Inode): Promise<void> {
    this.firstName.set(ino.nid, path);
    await rm(this.host(path), { force: true });
    await symlink(target, this.host(path));
  }

  async special(path: string, ino: Inode): Promise<void> {
    this.firstName.set(ino.nid, path);
  }

  async hardlink(path: string, first: string, ino: Inode): Promise<void> {
    if ((ino.mode & S_IFMT) === 0o010000 || (ino.mode & S_IFMT) === 0o020000 || (ino.mode & S_IFMT) === 0o060000) {
      // The node itself is made later by python; remember to link it then.
      this.pendingLinks.push([first, path]);
      return;
    }
    await rm(this.host(path), { force: true });
    await link(this.host(first), this.host(path));
  }

  private readonly pendingLinks: Array<[string, string]> = [];

  /** Records metadata to apply at the end (first name of each inode only). */
  meta(path: string, ino: Inode, xattrs: XattrEntry[]): void {
    const t = ino.mode & S_IFMT;
    const kind = t === 0o040000 ? 'dir' : t === 0o100000 ? 'file' : t === 0o120000 ? 'symlink' : 'special';
    const item: MetaItem = {
      path: this.host(path), kind, mode: ino.mode, uid: ino.uid, gid: ino.gid,
      mtimeNs: (BigInt(ino.mtime) * 1000000000n + BigInt(ino.mtimeNsec)).toString(),
      xattrs: xattrs.filter((x) => !x.hidden).map((x) => [x.name, Buffer.from(x.value).toString('hex')]),
    };
    if (kind === 'special' && (t === 0o020000 || t === 0o060000)) {
      item.rdev = ino.rdev;
      (item as unknown as { rdev: number[] }).rdev = [(ino.rdev & 0xfff00) >>> 8, ((ino.rdev & 0xff) | ((ino.rdev >>> 12) & 0xfff00)) >>> 0];
    }
    this.items.push(item);
  }

  /** Applies devices, owners, modes, xattrs and times. */
  async finish(): Promise<void> {
    const r = spawnSync('python3', ['-c', APPLY_PY], { input: JSON.stringify({ items: this.items, links: this.pendingLinks.map(([a, b]) => [this.host(a), this.host(b)]) }), encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error || r.status !== 0) {
      throw new ErofsError('EIO', `cannot apply metadata with python3 (${r.error?.message ?? r.stderr.trim().split('\n').pop()}); devices, xattrs, owners and times not restored`, this.dir);
    }
    for (const line of r.stdout.split('\n')) if (line) this.warnings.push(line);
  }
}
