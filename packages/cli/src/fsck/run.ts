/**
 * fsck-erofs IMAGE [--extract=DIR] [--xattr-inode-digest[=NAME]] [--quiet]
 *
 * Walks the whole tree through @erofs/reader, reads (decompresses) every
 * byte, checks the structure the library does not need to check to read
 * (dirent order, "." and "..", file types, link counts, xattr name filters,
 * ACLs, fingerprints) and optionally writes the tree out. Exit 0 only when
 * nothing was found.
 */
import { createHash } from 'node:crypto';
import {
  DIRENT_SIZE, EROFS_FT_MAX, ErofsError, S_IFMT, decodeAcl, fileTypeFromMode, splitXattrName, xattrFilterBit,
} from '@erofs/format';
import { compareBytes, nidText, type Image, type Inode, type RawDirent } from '@erofs/reader';
import { fileSource, openImageFile } from '@erofs/reader/node';
import { UsageError } from '../common.js';
import { Extractor } from './extract.js';

export interface FsckOptions {
  image: string;
  extract?: string;
  /** Name of the digest xattr to verify ("" = the default for the image). */
  digest?: string;
  quiet: boolean;
  /** `--device=PATH` (repeatable): extra devices of the device table, in order (blobs). */
  devices: string[];
  help?: boolean;
}

export const FSCK_USAGE = 'usage: fsck-erofs IMAGE [--extract=DIR] [--xattr-inode-digest[=NAME]] [--device=BLOB]... [--quiet]';

export function parseFsckArgs(argv: string[]): FsckOptions {
  const o: FsckOptions = { image: '', quiet: false, devices: [] };
  for (const a of argv) {
    if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a.startsWith('--extract=')) o.extract = a.slice('--extract='.length);
    else if (a === '--xattr-inode-digest') o.digest = '';
    else if (a.startsWith('--xattr-inode-digest=')) o.digest = a.slice('--xattr-inode-digest='.length);
    else if (a.startsWith('--device=') && a.length > 9) o.devices.push(a.slice('--device='.length));
    else if (a === '-h' || a === '--help') return { ...o, help: true };
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}\n${FSCK_USAGE}`);
    else if (!o.image) o.image = a;
    else throw new UsageError(`too many arguments\n${FSCK_USAGE}`);
  }
  if (!o.image) throw new UsageError(`missing IMAGE\n${FSCK_USAGE}`);
  if (o.extract === '') throw new UsageError('--extract needs a directory');
  return o;
}

const dec = new TextDecoder();
const DEFAULT_DIGEST_XATTR = 'erofs.fingerprint.v1';
const SHA256_PREFIX = new TextEncoder().encode('sha256:');

/** What a check found. */
export interface FsckReport {
  problems: string[];
  warnings: string[];
  counts: Record<string, number>;
  bytes: number;
  digests: number;
}

interface Ref {
  inode: Inode;
  refs: number;
  path: string;
}

/** The checker: one instance per image. */
export class Fsck {
  readonly report: FsckReport = { problems: [], warnings: [], counts: {}, bytes: 0, digests: 0 };
  private readonly nondirs = new Map<bigint, Ref>();
  private readonly dirs = new Set<bigint>();
  private digestName: string | undefined;

  constructor(readonly img: Image, private readonly opts: FsckOptions, private readonly out?: Extractor) {}

  private problem(msg: string): void {
    this.report.problems.push(msg.length > 400 ? `${msg.slice(0, 400)}...` : msg);
  }

  private fail(e: unknown, where: string): void {
    if (e instanceof ErofsError) this.problem(e.message.includes('@') ? e.message : `${e.message} @ ${where}`);
    else throw e;
  }

  async run(): Promise<FsckReport> {
    if (this.opts.digest !== undefined) {
      this.digestName = this.opts.digest || (await this.img.fingerprintName()) || DEFAULT_DIGEST_XATTR;
    }
    const root = await this.img.root();
    this.dirs.add(root.nid);
    await this.checkInode(root, '/');
    await this.out?.mkdir('/', root);
    await this.visitDir(root, '/', root.nid);
    for (const r of this.nondirs.values()) {
      if (r.inode.nlink !== r.refs) this.problem(`nlink ${r.inode.nlink} but ${r.refs} directory reference(s) @ ${r.path} (${nidText(r.inode.nid)})`);
    }
    await this.out?.finish();
    if (this.out) this.report.warnings.push(...this.out.warnings);
    return this.report;
  }

  private count(kind: string): void {
    this.report.counts[kind] = (this.report.counts[kind] ?? 0) + 1;
  }

  private async visitDir(dir: Inode, path: string, parentNid: bigint): Promise<void> {
    let ents: RawDirent[];
    try {
      ents = await this.img.readdirInode(dir);
    } catch (e) {
      this.fail(e, path);
      return;
    }
    const where = `${path} (${nidText(dir.nid)})`;
    let sawDot = false;
    let sawDotDot = false;
    let subdirs = 0;
    for (let i = 0; i < ents.length; i++) {
      const d = ents[i]!;
      if (i > 0 && compareBytes(ents[i - 1]!.name, d.name) >= 0) {
        this.problem(`wrong dirent order: "${dec.decode(ents[i - 1]!.name)}" before "${dec.decode(d.name)}" @ ${where}`);
      }
      if (d.fileType >= EROFS_FT_MAX) this.problem(`invalid file type ${d.fileType} of "${dec.decode(d.name)}" @ ${where}`);
      const isDot = d.name.length === 1 && d.name[0] === 0x2e;
      const isDotDot = d.name.length === 2 && d.name[0] === 0x2e && d.name[1] === 0x2e;
      if (isDot) {
        if (sawDot) this.problem(`duplicated "." @ ${where}`);
        sawDot = true;
        if (d.nid !== dir.nid) this.problem(`"." points to nid ${d.nid} @ ${where}`);
        continue;
      }
      if (isDotDot) {
        if (sawDotDot) this.problem(`duplicated ".." @ ${where}`);
        sawDotDot = true;
        if (d.nid !== parentNid) this.problem(`".." points to nid ${d.nid}, parent is ${parentNid} @ ${where}`);
        continue;
      }
      const name = dec.decode(d.name);
      if (d.name.includes(0x2f) || d.name.includes(0)) {
        this.problem(`illegal file name "${name}" @ ${where}`);
        continue;
      }
      const childPath = path === '/' ? `/${name}` : `${path}/${name}`;
      let child: Inode;
      try {
        child = await this.img.inode(d.nid);
      } catch (e) {
        this.fail(e, childPath);
        continue;
      }
      if (d.fileType !== fileTypeFromMode(child.mode)) {
        this.problem(`dirent file type ${d.fileType} does not match i_mode 0${child.mode.toString(8)} @ ${childPath}`);
      }
      if ((child.mode & S_IFMT) === 0o040000) {
        if (this.dirs.has(child.nid)) {
          this.problem(`directory cycle or directory hard link: ${childPath} is ${nidText(child.nid)}, already reached`);
          continue;
        }
        this.dirs.add(child.nid);
        subdirs++;
        await this.checkInode(child, childPath);
        await this.out?.mkdir(childPath, child);
        await this.visitDir(child, childPath, dir.nid);
      } else {
        const r = this.nondirs.get(child.nid);
        if (r) {
          r.refs++;
          await this.out?.hardlink(childPath, r.path, child);
          continue;
        }
        this.nondirs.set(child.nid, { inode: child, refs: 1, path: childPath });
        await this.checkInode(child, childPath);
      }
    }
    if (!sawDotDot) this.problem(`missing ".." @ ${where}`);
    if (!sawDot && !dir.dotOmitted) this.problem(`missing "." @ ${where}`);
    if (sawDot && dir.dotOmitted) this.problem(`"." present in a dot-omitted directory @ ${where}`);
    if (dir.nlink !== subdirs + 2) this.problem(`nlink ${dir.nlink}, expected ${subdirs + 2} (2 + ${subdirs} subdirectories) @ ${where}`);
    if (ents.length * DIRENT_SIZE > dir.size) this.problem(`directory size ${dir.size} too small for ${ents.length} entries @ ${where}`);
  }

  /** Reads and checks everything of one inode (first name only for hard links). */
  private async checkInode(ino: Inode, path: string): Promise<void> {
    const type = ino.mode & S_IFMT;
    this.count({ 0o100000: 'files', 0o040000: 'directories', 0o120000: 'symlinks', 0o020000: 'char devices', 0o060000: 'block devices', 0o010000: 'fifos', 0o140000: 'sockets' }[type] ?? 'other');
    let xattrs: Awaited<ReturnType<Image['xattrs']>> = [];
    try {
      xattrs = await this.img.xattrs(ino);
      await this.checkXattrs(ino, path, xattrs);
    } catch (e) {
      this.fail(e, path);
    }
    try {
      if (type === 0o100000) await this.checkFile(ino, path);
      else if (type === 0o120000) {
        const target = await this.img.readlinkInode(ino);
        if (target.length === 0) this.problem(`empty symlink @ ${path}`);
        await this.out?.symlink(path, target, ino);
      } else if (type === 0o040000) {
        // directory data was checked by readdir
      } else {
        if (ino.size !== 0) this.problem(`special file with size ${ino.size} @ ${path}`);
        await this.out?.special(path, ino);
      }
    } catch (e) {
      this.fail(e, path);
    }
    this.out?.meta(path, ino, xattrs);
  }

  private async checkXattrs(ino: Inode, path: string, xattrs: Awaited<ReturnType<Image['xattrs']>>): Promise<void> {
    const seen = new Set<string>();
    const filterOn = this.img.sb.xattrFilter && ino.xattrIcount > 0;
    const filter = filterOn ? (await this.img.readMeta(ino, ino.pos + ino.inodeIsize, 4)).reduce((a, b, i) => a + b * 2 ** (8 * i), 0) : 0;
    for (const x of xattrs) {
      if (seen.has(x.name)) this.problem(`duplicated xattr ${x.name} @ ${path}`);
      seen.add(x.name);
      if (filterOn && x.baseIndex !== 0 && !x.hidden) {
        const { index, suffix } = splitXattrName(x.name);
        if (index !== 0 && filter & 2 ** xattrFilterBit(index, suffix)) this.problem(`xattr name filter hides existing xattr ${x.name} @ ${path}`);
      }
      if ((x.name === 'system.posix_acl_access' || x.name === 'system.posix_acl_default') && !decodeAcl(x.value)) {
        this.problem(`malformed ${x.name} @ ${path}`);
      }
    }
  }

  private async checkFile(ino: Inode, path: string): Promise<void> {
    const hash = this.digestName !== undefined && ino.size > 0 ? createHash('sha256') : undefined;
    const sink = await this.out?.file(path, ino);
    try {
      const step = 1 << 20;
      for (let p = 0; p < ino.size; p += step) {
        const b = await this.img.readInodeRange(ino, p, Math.min(step, ino.size - p));
        hash?.update(b);
        if (sink) await sink.write(b);
        this.report.bytes += b.length;
      }
    } finally {
      await sink?.close();
    }
    if (hash) await this.verifyDigest(ino, path, new Uint8Array(hash.digest()));
  }

  private async verifyDigest(ino: Inode, path: string, digest: Uint8Array): Promise<void> {
    const name = this.digestName!;
    let v: Uint8Array;
    try {
      v = await this.img.getxattr(ino, name);
    } catch (e) {
      if (e instanceof ErofsError && e.code === 'ENODATA') {
        this.report.warnings.push(`no digest xattr ${name} @ ${path}, skipped`);
        return;
      }
      throw e;
    }
    if (v.length !== SHA256_PREFIX.length + 32 || compareBytes(v.subarray(0, SHA256_PREFIX.length), SHA256_PREFIX) !== 0) {
      this.problem(`unidentified digest xattr ${name} (${v.length} bytes) @ ${path}`);
      return;
    }
    if (compareBytes(v.subarray(SHA256_PREFIX.length), digest) !== 0) this.problem(`digest MISMATCH (${name}) @ ${path}`);
    else this.report.digests++;
  }
}

/** The command: returns the exit status. */
export async function fsckMain(argv: string[]): Promise<number> {
  const opts = parseFsckArgs(argv);
  if (opts.help) {
    process.stdout.write(`${FSCK_USAGE}\n`);
    return 0;
  }
  const devices = await Promise.all(opts.devices.map((d) => fileSource(d)));
  const img = await openImageFile(opts.image, devices.length ? { devices } : {});
  try {
    const out = opts.extract ? await Extractor.create(opts.extract, img) : undefined;
    const rep = await new Fsck(img, opts, out).run();
    const say = (s: string): void => {
      if (!opts.quiet) process.stdout.write(`${s}\n`);
    };
    for (const w of rep.warnings) say(`warning: ${w}`);
    for (const p of rep.problems) say(`error: ${p}`);
    const counts = Object.entries(rep.counts).map(([k, v]) => `${v} ${k}`).join(', ');
    say(`${opts.image}: ${counts}; ${rep.bytes} bytes of file data read${opts.digest !== undefined ? `; ${rep.digests} digests verified` : ''}${opts.extract ? `; extracted to ${opts.extract}` : ''}`);
    if (rep.problems.length) {
      const more = rep.problems.length > 1 ? ` (and ${rep.problems.length - 1} more problem(s))` : '';
      process.stderr.write(`fsck-erofs: filesystem corrupted: ${rep.problems[0]}${more}\n`);
      return 1;
    }
    say('no errors found');
    return 0;
  } finally {
    await img.close();
  }
}
