/**
 * dump-erofs IMAGE [-s] [--path=P | --nid=N] [-S] [--cat]
 *
 * -s: superblock and features (the default when nothing else is asked),
 * --path/--nid: one inode (layout, extents, xattrs), --cat: its content to
 * stdout, -S: statistics over the whole tree.
 */
import { DataLayout, S_IFMT, aclToText, decodeAcl } from '@erofs/format';
import { MapFlags, nidText, type Image, type Inode } from '@erofs/reader';
import { openImageFile } from '@erofs/reader/node';
import { UsageError } from '../common.js';

export const DUMP_USAGE = 'usage: dump-erofs IMAGE [-s] [--path=P | --nid=N] [-S] [--cat]';

interface DumpOptions {
  image: string;
  superblock: boolean;
  path?: string;
  nid?: bigint;
  stats: boolean;
  cat: boolean;
}

function parseArgs(argv: string[]): DumpOptions {
  const o: DumpOptions = { image: '', superblock: false, stats: false, cat: false };
  for (const a of argv) {
    if (a === '-s') o.superblock = true;
    else if (a === '-S') o.stats = true;
    else if (a === '--cat') o.cat = true;
    else if (a.startsWith('--path=')) o.path = a.slice(7);
    else if (a.startsWith('--nid=')) {
      if (!/^\d+$/.test(a.slice(6))) throw new UsageError(`invalid nid ${a.slice(6)}`);
      o.nid = BigInt(a.slice(6));
    } else if (a === '-h' || a === '--help') throw new UsageError(DUMP_USAGE);
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}\n${DUMP_USAGE}`);
    else if (!o.image) o.image = a;
    else throw new UsageError(`too many arguments\n${DUMP_USAGE}`);
  }
  if (!o.image) throw new UsageError(`missing IMAGE\n${DUMP_USAGE}`);
  if (o.path !== undefined && o.nid !== undefined) throw new UsageError('--path and --nid exclude each other');
  if (o.cat && o.path === undefined && o.nid === undefined) throw new UsageError('--cat needs --path or --nid');
  if (!o.stats && o.path === undefined && o.nid === undefined) o.superblock = true;
  return o;
}

const LAYOUTS = ['FLAT_PLAIN', 'COMPRESSED_FULL', 'FLAT_INLINE', 'COMPRESSED_COMPACT', 'CHUNK_BASED'];
const ALGS = ['lz4', 'lzma', 'deflate', 'zstd'];
const KINDS: Record<number, string> = {
  0o100000: 'regular file', 0o040000: 'directory', 0o120000: 'symlink', 0o020000: 'character device',
  0o060000: 'block device', 0o010000: 'fifo', 0o140000: 'socket',
};

function row(label: string, value: string | number | bigint): string {
  return `${`${label}:`.padEnd(46)}${value}\n`;
}

/** The superblock as `dump.erofs -s` shows it. */
function superblockText(img: Image): string {
  const s = img.sb;
  let t = '';
  t += row('Filesystem magic number', '0xE0F5E1E2');
  t += row('Filesystem blocksize', s.blksz);
  t += row('Filesystem blocks', s.blocks);
  t += row('Filesystem inode metadata start block', s.metaBlkaddr);
  t += row('Filesystem shared xattr metadata start block', s.xattrBlkaddr);
  t += row('Filesystem root nid', s.rootNid);
  if (s.packedNid) t += row('Filesystem packed nid', s.packedNid);
  if (s.metaboxNid) t += row('Filesystem metabox nid', s.metaboxNid);
  if (!(s.featureIncompat & 0x2)) t += row('Filesystem lz4_max_distance', s.u1);
  t += row('Filesystem sb_extslots', s.raw.sbExtslots);
  t += row('Filesystem inode count', s.inos);
  t += row('Filesystem created', new Date(s.buildTime * 1000).toUTCString());
  t += row('Filesystem features', s.featureNames.join(' '));
  if (s.featureIncompat & 0x2) {
    t += row('Filesystem compression algorithms', ALGS.filter((_, i) => s.availableComprAlgs & (1 << i)).join(' '));
  }
  if (s.xattrPrefixCount) t += row('Filesystem long xattr prefixes', s.xattrPrefixCount);
  if (s.ishareXattrPrefixId !== null) t += row('Filesystem ishare xattr prefix id', s.ishareXattrPrefixId);
  for (const d of s.devices) t += row(`Filesystem device ${d.id}`, `${d.tagText || '(no tag)'} blocks ${d.blocks} uniaddr ${d.uniaddr}`);
  t += row('Filesystem UUID', s.uuid);
  if (s.volumeName) t += row('Filesystem volume name', s.volumeName);
  return t;
}

function modeText(mode: number): string {
  const tch = ({ 0o040000: 'd', 0o120000: 'l', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's' } as Record<number, string>)[mode & S_IFMT] ?? '-';
  const r = (b: number, c: string): string => (mode & b ? c : '-');
  let s = tch + r(0o400, 'r') + r(0o200, 'w') + (mode & 0o4000 ? (mode & 0o100 ? 's' : 'S') : r(0o100, 'x'));
  s += r(0o40, 'r') + r(0o20, 'w') + (mode & 0o2000 ? (mode & 0o10 ? 's' : 'S') : r(0o10, 'x'));
  s += r(0o4, 'r') + r(0o2, 'w') + (mode & 0o1000 ? (mode & 0o1 ? 't' : 'T') : r(0o1, 'x'));
  return s;
}

/** On-disk bytes of an inode's data (sum of mapped physical extents), optionally listing them. */
async function onDiskSize(img: Image, ino: Inode, list?: string[]): Promise<number> {
  let total = 0;
  let la = 0;
  while (la < ino.size) {
    const m = await img.mapExtent(ino, la);
    if (m.llen <= 0 || m.la + m.llen <= la) break;
    if (m.flags & MapFlags.MAPPED && !(m.flags & MapFlags.FRAGMENT)) total += m.plen;
    if (list) {
      const flags = [
        m.flags & MapFlags.MAPPED ? '' : 'hole',
        m.flags & MapFlags.META ? 'inline' : '',
        m.flags & MapFlags.ENCODED ? (ALGS[m.algorithm ?? 0] ?? `alg ${m.algorithm}`) : '',
        m.flags & MapFlags.FRAGMENT ? 'fragment' : '',
        m.deviceId ? `device ${m.deviceId}` : '',
      ].filter(Boolean).join(' ');
      list.push(`${String(m.la).padStart(10)}..${String(m.la + m.llen).padEnd(10)} | ${String(m.pa).padStart(12)} | ${String(m.plen).padStart(8)} | ${flags}`);
    }
    la = m.la + m.llen;
  }
  return total;
}

/** One inode: type, layout, ids, mode, times, xattrs and extents. */
async function inodeText(img: Image, ino: Inode, path: string): Promise<string> {
  const typeBits = ino.mode & S_IFMT;
  const extents: string[] = [];
  const hasData = typeBits === 0o100000 || typeBits === 0o040000 || typeBits === 0o120000;
  const disk = hasData ? await onDiskSize(img, ino, extents) : 0;
  let t = `File : ${path}\n`;
  t += `Size: ${ino.size}  On-disk size: ${disk}  ${KINDS[typeBits] ?? 'unknown'}\n`;
  t += `NID: ${ino.nid}   Links: ${ino.nlink}   Layout: ${ino.datalayout} (${LAYOUTS[ino.datalayout] ?? '?'})   Compression ratio: ${disk && ino.size ? ((disk / ino.size) * 100).toFixed(2) : '100.00'}%\n`;
  t += `Inode size: ${ino.inodeIsize} (${ino.version ? 'extended' : 'compact'})   Xattr size: ${ino.xattrIsize}\n`;
  t += `Uid: ${ino.uid}   Gid: ${ino.gid}   Access: ${(ino.mode & 0o7777).toString(8).padStart(4, '0')}/${modeText(ino.mode)}\n`;
  const when = new Date(ino.mtime * 1000);
  t += `Timestamp: ${Number.isNaN(when.getTime()) ? ino.mtime : when.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')}.${String(ino.mtimeNsec).padStart(9, '0')}\n`;
  if (typeBits === 0o020000 || typeBits === 0o060000) t += `Device: ${(ino.rdev & 0xfff00) >>> 8},${((ino.rdev & 0xff) | ((ino.rdev >>> 12) & 0xfff00)) >>> 0}\n`;
  if (typeBits === 0o120000) t += `Target: ${await img.readlinkInode(ino)}\n`;
  if (ino.datalayout === DataLayout.CHUNK_BASED) t += `Chunk size: ${2 ** ino.chunkbits}\n`;
  const xs = await img.xattrs(ino);
  if (xs.length) {
    t += `Xattrs (${xs.length}):\n`;
    for (const x of xs) {
      const acl = x.name.startsWith('system.posix_acl_') ? decodeAcl(x.value) : null;
      const v = acl ? aclToText(acl) : JSON.stringify(Buffer.from(x.value).toString('latin1')).slice(0, 120);
      t += `  ${x.name}${x.hidden ? ' (hidden)' : ''}${x.shared ? ' (shared)' : ''} = ${v}\n`;
    }
  }
  if (extents.length) t += `Extents (${extents.length}):\n     logical range      |     physical |   length | flags\n${extents.map((e) => `  ${e}`).join('\n')}\n`;
  return t;
}

/** Counts, sizes, compression ratio and a size histogram over every inode. */
async function statsText(img: Image): Promise<string> {
  const counts: Record<string, number> = {};
  let size = 0;
  let disk = 0;
  let compressed = 0;
  let xattrs = 0;
  const seen = new Set<bigint>();
  const hist = new Map<number, number>();
  for await (const e of img.walk('/')) {
    const ino = e.inode;
    if (seen.has(ino.nid)) continue;
    seen.add(ino.nid);
    const kind = KINDS[ino.mode & S_IFMT] ?? 'other';
    counts[kind] = (counts[kind] ?? 0) + 1;
    xattrs += (await img.xattrs(ino)).length;
    if ((ino.mode & S_IFMT) !== 0o100000) continue;
    size += ino.size;
    disk += await onDiskSize(img, ino);
    if (ino.datalayout === DataLayout.COMPRESSED_FULL || ino.datalayout === DataLayout.COMPRESSED_COMPACT) compressed++;
    const bucket = ino.size === 0 ? 0 : Math.ceil(Math.log2(ino.size + 1));
    hist.set(bucket, (hist.get(bucket) ?? 0) + 1);
  }
  let t = row('Filesystem total inodes', seen.size);
  for (const [k, v] of Object.entries(counts)) t += row(`Filesystem ${k === 'directory' ? 'directories' : `${k}s`}`, v);
  t += row('Filesystem compressed files', compressed);
  t += row('Filesystem xattrs', xattrs);
  t += row('Filesystem original file size', size);
  t += row('Filesystem on-disk file size', disk);
  t += row('Filesystem compression ratio', size ? `${((disk / size) * 100).toFixed(2)}%` : '-');
  t += 'Original file size distribution:\n';
  for (const b of [...hist.keys()].sort((a, c) => a - c)) t += `  ${b === 0 ? '0' : `<= ${2 ** b - 1}`}`.padEnd(24) + `${hist.get(b)}\n`;
  return t;
}

/** The command: returns the exit status. */
export async function dumpMain(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const img = await openImageFile(o.image);
  try {
    let out = '';
    if (o.superblock) out += superblockText(img);
    if (o.path !== undefined || o.nid !== undefined) {
      const ino = o.path !== undefined ? await img.resolve(o.path, false) : await img.inode(o.nid!);
      if (o.cat) {
        for (let p = 0; p < ino.size; p += 1 << 20) {
          const b = await img.readInodeRange(ino, p, Math.min(1 << 20, ino.size - p));
          if (!process.stdout.write(b)) await new Promise((r) => process.stdout.once('drain', r));
        }
        return 0;
      }
      out += await inodeText(img, ino, o.path ?? nidText(ino.nid));
    }
    if (o.stats) out += await statsText(img);
    process.stdout.write(out);
    return 0;
  } finally {
    await img.close();
  }
}
