/** On-disk constants of EROFS, named as in the kernel's erofs_fs.h (camelCase). */

export const EROFS_SUPER_MAGIC_V1 = 0xe0f5e1e2;
/** The superblock starts 1024 bytes into the image (room for boot sectors). */
export const EROFS_SUPER_OFFSET = 1024;
export const EROFS_SB_EXTSLOT_SIZE = 16;
/** Inode slots are 32 bytes: nid * 32 is an inode's byte offset in the metadata area. */
export const EROFS_ISLOTBITS = 5;
export const EROFS_NAME_LEN = 255;
export const EROFS_NULL_ADDR = 0xffffffff;
export const EROFS_MIN_BLKSZBITS = 9;
export const EROFS_MAX_BLKSZBITS = 16;

/** feature_compat bits: unknown ones are ignored by readers. */
export const FeatureCompat = {
  SB_CHKSUM: 0x1,
  MTIME: 0x2,
  XATTR_FILTER: 0x4,
  SHARED_EA_IN_METABOX: 0x8,
  PLAIN_XATTR_PFX: 0x10,
  /** Linux 7.0 inode page cache sharing: fingerprint xattrs present. */
  ISHARE_XATTRS: 0x20,
} as const;

/** feature_incompat bits: a reader must refuse any bit it does not know. */
export const FeatureIncompat = {
  ZERO_PADDING: 0x1,
  COMPR_CFGS: 0x2,
  BIG_PCLUSTER: 0x2,
  CHUNKED_FILE: 0x4,
  DEVICE_TABLE: 0x8,
  COMPR_HEAD2: 0x8,
  ZTAILPACKING: 0x10,
  FRAGMENTS: 0x20,
  DEDUPE: 0x20,
  XATTR_PREFIXES: 0x40,
  '48BIT': 0x80,
  METABOX: 0x100,
} as const;
export const EROFS_ALL_FEATURE_INCOMPAT = 0x1ff;

/** Names for dump tools, in bit order. */
export const FEATURE_COMPAT_NAMES: ReadonlyArray<[number, string]> = [
  [0x1, 'sb_csum'], [0x2, 'mtime'], [0x4, 'xattr_filter'], [0x8, 'shared_ea_in_metabox'],
  [0x10, 'plain_xattr_pfx'], [0x20, 'ishare_xattrs'],
];
export const FEATURE_INCOMPAT_NAMES: ReadonlyArray<[number, string]> = [
  [0x1, '0padding'], [0x2, 'compr_cfgs/big_pcluster'], [0x4, 'chunked_file'],
  [0x8, 'device_table/compr_head2'], [0x10, 'ztailpacking'], [0x20, 'fragments/dedupe'],
  [0x40, 'xattr_prefixes'], [0x80, '48bit'], [0x100, 'metabox'],
];

/** i_format bit 0: inode version (0 compact 32 B, 1 extended 64 B). */
export const EROFS_INODE_LAYOUT_COMPACT = 0;
export const EROFS_INODE_LAYOUT_EXTENDED = 1;
export const EROFS_I_VERSION_MASK = 0x1;
export const EROFS_I_DATALAYOUT_BIT = 1;
export const EROFS_I_DATALAYOUT_MASK = 0x7;
/** Non-directory compact inodes: nlink is 1 and i_nb holds the block address MSBs (48-bit). */
export const EROFS_I_NLINK_1_BIT = 4;
/** Directories: the "." dirent is omitted. */
export const EROFS_I_DOT_OMITTED_BIT = 4;
export const EROFS_I_ALL = 0x1f;

/** Data layouts (i_format bits 1-3). */
export const DataLayout = {
  FLAT_PLAIN: 0,
  COMPRESSED_FULL: 1,
  FLAT_INLINE: 2,
  COMPRESSED_COMPACT: 3,
  CHUNK_BASED: 4,
} as const;
export type DataLayoutId = (typeof DataLayout)[keyof typeof DataLayout];
export const EROFS_INODE_DATALAYOUT_MAX = 5;

/** chunk_info.format bits. */
export const EROFS_CHUNK_FORMAT_BLKBITS_MASK = 0x1f;
export const EROFS_CHUNK_FORMAT_INDEXES = 0x20;
export const EROFS_CHUNK_FORMAT_48BIT = 0x40;
export const EROFS_CHUNK_FORMAT_ALL = 0x7f;
export const EROFS_BLOCK_MAP_ENTRY_SIZE = 4;

/** Dirent file types. */
export const FileType = {
  UNKNOWN: 0,
  REG_FILE: 1,
  DIR: 2,
  CHRDEV: 3,
  BLKDEV: 4,
  FIFO: 5,
  SOCK: 6,
  SYMLINK: 7,
} as const;
export const EROFS_FT_MAX = 8;

/** Dirent nid bit 63: the inode lives in the metabox inode. */
export const EROFS_DIRENT_NID_METABOX_BIT = 63n;
export const EROFS_DIRENT_NID_MASK = (1n << 63n) - 1n;

/** Short xattr name prefixes (e_name_index / base_index). */
export const XattrIndex = {
  NONE: 0,
  USER: 1,
  POSIX_ACL_ACCESS: 2,
  POSIX_ACL_DEFAULT: 3,
  TRUSTED: 4,
  LUSTRE: 5,
  SECURITY: 6,
} as const;
/** Prefix strings by short index, as the kernel maps them for listxattr/getxattr. */
export const XATTR_PREFIXES: ReadonlyArray<string> = [
  '',
  'user.',
  'system.posix_acl_access',
  'system.posix_acl_default',
  'trusted.',
  'lustre.',
  'security.',
];
/** e_name_index bit 7: the entry refers to a long prefix (index in the low 7 bits). */
export const EROFS_XATTR_LONG_PREFIX = 0x80;
export const EROFS_XATTR_LONG_PREFIX_MASK = 0x7f;
export const EROFS_XATTR_FILTER_BITS = 32;
export const EROFS_XATTR_FILTER_DEFAULT = 0xffffffff;
export const EROFS_XATTR_FILTER_SEED = 0x25bbe08f;
/** h_shared_count values above this are not used by writers. */
export const EROFS_MAX_SHARED_XATTRS = 128;

/** Compression. */
export const Z_EROFS_PCLUSTER_MAX_SIZE = 1024 * 1024;
export const Z_EROFS_PCLUSTER_MAX_DSIZE = 12 * 1024 * 1024;
export const CompressionAlgorithm = { LZ4: 0, LZMA: 1, DEFLATE: 2, ZSTD: 3 } as const;
export const Z_EROFS_COMPRESSION_MAX = 4;
export const Z_EROFS_LZMA_MAX_DICT_SIZE = 8 * Z_EROFS_PCLUSTER_MAX_SIZE;
export const Z_EROFS_ZSTD_MAX_DICT_SIZE = Z_EROFS_PCLUSTER_MAX_SIZE;

/** z_erofs_map_header.h_advise bits. */
export const ZAdvise = {
  COMPACTED_2B: 0x1,
  EXTENTS: 0x1,
  BIG_PCLUSTER_1: 0x2,
  BIG_PCLUSTER_2: 0x4,
  INLINE_PCLUSTER: 0x8,
  INTERLACED_PCLUSTER: 0x10,
  FRAGMENT_PCLUSTER: 0x20,
} as const;
export const Z_EROFS_ADVISE_EXTRECSZ_BIT = 1;
export const Z_EROFS_ADVISE_EXTRECSZ_MASK = 0x3;
/** h_clusterbits bit 7: the whole file lives in the packed inode. */
export const Z_EROFS_FRAGMENT_INODE_BIT = 7;

/** Logical cluster types (di_advise low 2 bits). */
export const LclusterType = { PLAIN: 0, HEAD1: 1, NONHEAD: 2, HEAD2: 3 } as const;
export const Z_EROFS_LI_LCLUSTER_TYPE_MASK = 0x3;
export const Z_EROFS_LI_PARTIAL_REF = 1 << 15;
export const Z_EROFS_LI_D0_CBLKCNT = 1 << 11;

export const Z_EROFS_EXTENT_PLEN_PARTIAL = 1 << 27;
export const Z_EROFS_EXTENT_PLEN_FMT_BIT = 28;
export const Z_EROFS_EXTENT_PLEN_MASK = (Z_EROFS_PCLUSTER_MAX_SIZE << 1) - 1;

/** POSIX file type bits of i_mode. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** Maps i_mode's type bits to the dirent file type (UNKNOWN for anything else). */
export function fileTypeFromMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return FileType.REG_FILE;
    case S_IFDIR: return FileType.DIR;
    case S_IFCHR: return FileType.CHRDEV;
    case S_IFBLK: return FileType.BLKDEV;
    case S_IFIFO: return FileType.FIFO;
    case S_IFSOCK: return FileType.SOCK;
    case S_IFLNK: return FileType.SYMLINK;
    default: return FileType.UNKNOWN;
  }
}
