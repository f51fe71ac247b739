import type { CompressHint, CompressionSpec } from './compress/spec.js';
import type { InodeNode, Timestamp } from './tree.js';

/**
 * Everything that decides the bytes of an image, as mkfs.erofs's options set
 * it. The CLI (packages/cli/src/mkfs) parses mkfs.erofs's spelling into this;
 * library users fill it directly. Defaults: see `defaultWriterOptions`.
 */
export interface WriterOptions {
  /** log2 of the block size: 9 (512) .. 16 (65536); the kernel mounts <= page size. */
  blkszbits: number;
  /** 16 bytes; all zero for `-U clear`. */
  uuid: Uint8Array;
  /** `-L`: at most 15 bytes (the field is NUL-terminated). */
  volumeName: string;
  /** Build time stored in the superblock (`-T`, SOURCE_DATE_EPOCH, else now). */
  buildTime: Timestamp;
  /** `-E inline_data` (default on) / `^inline_data` / `noinline_data`. */
  inlineData: boolean;
  /** `-E xattr-name-filter` (default on). */
  xattrNameFilter: boolean;
  /** `-E force-inode-compact` / `force-inode-extended`. */
  forceInodeVersion?: 'compact' | 'extended';
  /** `-E force-inode-blockmap`: 4-byte block map for chunk-based files. */
  forceInodeBlockmap: boolean;
  /** `-E force-chunk-indexes`: 8-byte chunk indexes. */
  forceChunkIndexes: boolean;
  /** `-E nosbcrc` clears this. */
  sbChecksum: boolean;
  /** `-E plain-xattr-prefixes`: long prefix table stored plainly (COMPAT_PLAIN_XATTR_PFX). */
  plainXattrPrefixes: boolean;
  /** `-E 48bit`. */
  is48bit: boolean;
  /** `-E dot-omitted`. */
  dotOmitted: boolean;
  /** `--chunksize=#` in bytes (power of two >= block size), or undefined for flat files. */
  chunkSize?: number;
  /** `--blobdev=FILE`: chunk data goes to this extra device (needs chunkSize). */
  blobdev?: string;
  /**
   * Extra devices the writer does not write (`--tar=i`: the tar itself), in
   * device-table order (device ids 1..n); `blocks` is each one's size in
   * blocks (readers refuse addresses beyond it). Excludes `blobdev`. Files
   * on them are placed with {@link ImageWriter.addExternal}.
   */
  extraDevices?: Array<{ tag: Uint8Array | string; blocks: number }>;
  /** `--xattr-prefix=PREFIX` (repeatable): long xattr name prefixes to register. */
  xattrPrefixes: string[];
  /** `--ishare_key=NAME` / `--xattr-inode-digest[=NAME]`: fingerprint xattr name. */
  ishareKey?: string;
  /**
   * Where the fingerprint name goes among the long prefixes: mkfs.erofs
   * numbers them in command-line order, so this is how many `xattrPrefixes`
   * came before `--ishare_key`. Default: after all of them.
   */
  ishareKeyIndex?: number;
  /**
   * `-x#`: an xattr (same name and value) carried by more than this many
   * inodes is stored once in the shared xattr area; < 0 drops every xattr.
   * Default 2, as mkfs.erofs.
   */
  xattrTolerance?: number;
  /**
   * `-z`: compressor alternatives; the first is the default, the others are
   * chosen per file by `compressHints`. Empty or undefined: no compression.
   */
  compression?: CompressionSpec[];
  /** `-C#`: physical cluster size in bytes (a multiple of the block size; default one block). */
  pclusterSize?: number;
  /** `--max-extent-bytes=#`: longest input one compressed extent may take. */
  maxExtentBytes?: number;
  /** `--compress-hints=FILE`, parsed (see parseCompressHints). */
  compressHints?: CompressHint[];
  /** `-E ztailpacking`: a file's last pcluster, when under one block, goes inline after its indexes. */
  ztailpacking?: boolean;
  /**
   * `-E fragments`: the tail of each compressed file (what is left once it
   * fits in one pcluster) goes, uncompressed, into the packed inode, which
   * is compressed as a whole (superblock packed_nid, INCOMPAT_FRAGMENTS);
   * identical fragments are stored once. See compress/fragments.ts.
   */
  fragments?: boolean;
  /** `-E fragments=SIZE`: physical cluster size of the packed inode (default: pclusterSize). */
  packedPclusterSize?: number;
  /** `-E all-fragments`: whole compressed files go into the packed inode (implies fragments). */
  allFragments?: boolean;
  /**
   * `-E dedupe`: an extent whose pcluster is identical to one already written
   * (same bytes, length and algorithm) points at it instead of storing its
   * own; such files get full lcluster indexes. See compress/dedupe.ts.
   */
  dedupe?: boolean;
  /** `-E legacy-compress`: COMPRESSED_FULL lcluster indexes only. */
  legacyCompress?: boolean;
  /** `--workers=#`: compression threads (0: compress on the calling thread). Default: available CPUs. */
  workers?: number;
}

/** mkfs.erofs's defaults (4 KiB blocks, inline data, name filter, checksum, build time 0). */
export function defaultWriterOptions(): WriterOptions {
  return {
    blkszbits: 12,
    uuid: new Uint8Array(16),
    volumeName: '',
    buildTime: { sec: 0n, nsec: 0 },
    inlineData: true,
    xattrNameFilter: true,
    forceInodeBlockmap: false,
    forceChunkIndexes: false,
    sbChecksum: true,
    plainXattrPrefixes: false,
    is48bit: false,
    dotOmitted: false,
    xattrPrefixes: [],
    xattrTolerance: 2,
  };
}

/** Statistics of one build, for the CLI summary. */
export interface BuildSummary {
  inodes: number;
  blocks: number;
  bytes: number;
  files: number;
  fingerprinted: number;
  dataBytes: number;
  seconds: number;
}

/** Progress callback: called now and then while data is written. */
export type ProgressFn = (p: { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number; path?: string }) => void;

export type { InodeNode, Timestamp };
