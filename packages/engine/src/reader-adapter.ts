/**
 * The one bridge between @erofs/reader and the engine's BackingImage: the
 * rest of the engine knows only backing.ts, so the page cache and sharing
 * rules stay testable against in-memory fakes.
 */
import { ErofsError, FeatureCompat } from '@erofs/format';
import { isCompressedLayout, MapFlags, type Image, type Inode, type Stats } from '@erofs/reader';
import type { BackingBlob, BackingDirent, BackingExtent, BackingFile, BackingImage, FileType } from './backing.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
/** EROFS_INODE_CHUNK_BASED. */
const CHUNK_BASED = 4;

/** Dirent file_type (EROFS_FT_*) to readdir type names. */
const FT: readonly FileType[] = ['unknown', 'file', 'directory', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'];

/**
 * Adapts an image opened with @erofs/reader's openImage() (give it the blob
 * sources through `{ devices }` for chunk-based images with extra devices).
 */
export function fromReaderImage(img: Image): BackingImage<Stats> {
  const sb = img.sb;
  const blksz = sb.blksz;
  const blobs: BackingBlob[] = sb.devices.map((d) => {
    const size = d.blocks * blksz;
    return {
      tag: d.tagText,
      size,
      read: (pos: number, len: number) => img.readDevice(d.id, pos, Math.max(0, Math.min(len, size - pos)), `device ${d.id}`),
    };
  });

  /** Device-table images may address extra devices through the unified space of device 0. */
  const unify = (deviceId: number, pa: number): [number, number] => {
    if (deviceId !== 0) return [deviceId, pa];
    for (const d of sb.devices) {
      if (!d.uniaddr) continue;
      const start = d.uniaddr * blksz;
      if (pa >= start && pa < start + d.blocks * blksz) return [d.id, pa - start];
    }
    return [0, pa];
  };

  const fileOf = async (ino: Inode): Promise<BackingFile> => {
    const f: BackingFile = {
      key: String(ino.nid),
      size: ino.size,
      isRegular: (ino.mode & S_IFMT) === S_IFREG,
      readPath: isCompressedLayout(ino.datalayout) ? 'compressed' : 'plain',
      fingerprint: await img.fingerprint(ino),
      read: (pos, len) => img.readInodeRange(ino, pos, len),
    };
    if (ino.datalayout === CHUNK_BASED) {
      f.mapExtent = async (pos): Promise<BackingExtent> => {
        const m = await img.mapExtent(ino, pos);
        if (!(m.flags & MapFlags.MAPPED)) return { la: m.la, llen: m.llen, deviceId: 0, pa: 0, hole: true };
        const [deviceId, pa] = unify(m.deviceId, m.pa);
        return { la: m.la, llen: m.llen, deviceId, pa };
      };
    }
    return f;
  };

  return {
    blockSize: blksz,
    compatIshare: (sb.featureCompat & FeatureCompat.ISHARE_XATTRS) !== 0,
    blobs,
    stat: (p) => img.stat(p),
    lstat: (p) => img.lstat(p),
    readdir: async (p): Promise<BackingDirent[]> =>
      (await img.readdir(p, { withFileTypes: true })).map((d) => ({ name: d.name, nid: d.nid, type: FT[d.fileType] ?? 'unknown' })),
    readlink: (p) => img.readlink(p),
    getxattr: (p, n) => img.getxattr(p, n),
    listxattr: (p) => img.listxattr(p),
    openFile: async (p): Promise<BackingFile> => {
      const ino = await img.resolve(p, true);
      if ((ino.mode & S_IFMT) === S_IFDIR) throw new ErofsError('EISDIR', 'is a directory', p);
      return fileOf(ino);
    },
  };
}
