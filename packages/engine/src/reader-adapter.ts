/**
 * The one bridge between @erofs/reader and the engine's BackingImage: the
 * rest of the engine knows only backing.ts, so the page cache and sharing
 * rules stay testable against in-memory fakes.
 */
import { ErofsError, FeatureCompat } from '@erofs/format';
import { isCompressedLayout, MapFlags, type Image, type Inode, type Stats } from '@erofs/reader';
import type { BackingBlob, BackingDirent, BackingExtent, BackingFile, BackingImage, FileType, ReadPath } from './backing.js';

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

  const fileOf = (ino: Inode, fingerprint: Uint8Array | null): BackingFile => {
    const f = new ReaderFile(img, ino, fingerprint);
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
    openFile: (p, opts): Promise<BackingFile> => {
      // The fingerprint xattr only matters to mounts that share (and only for regular files).
      const fp = opts?.fingerprint !== false;
      // One promise hop per open (this runs once per file read by path).
      return img.resolve(p, true).then((ino): BackingFile | Promise<BackingFile> => {
        if ((ino.mode & S_IFMT) === S_IFDIR) throw new ErofsError('EISDIR', 'is a directory', p);
        if (fp && (ino.mode & S_IFMT) === S_IFREG) return img.fingerprint(ino).then((v) => fileOf(ino, v));
        return fileOf(ino, null);
      });
    },
  };
}

/** A file of a reader Image (a class, so opening a file allocates no closures for its reads). */
class ReaderFile implements BackingFile {
  readonly key: string;
  readonly size: number;
  readonly isRegular: boolean;
  readonly readPath: ReadPath;
  mapExtent?: (pos: number) => Promise<BackingExtent>;
  constructor(private readonly img: Image, private readonly ino: Inode, readonly fingerprint: Uint8Array | null) {
    this.key = String(ino.nid);
    this.size = ino.size;
    this.isRegular = (ino.mode & S_IFMT) === S_IFREG;
    this.readPath = isCompressedLayout(ino.datalayout) ? 'compressed' : 'plain';
  }
  read(pos: number, len: number): Promise<Uint8Array> {
    return this.img.readInodeRange(this.ino, pos, len);
  }
  readInto(pos: number, len: number, dst: Uint8Array, dstOff: number): Promise<number> {
    return this.img.readInodeRangeInto(this.ino, pos, dst, dstOff, len);
  }
}
