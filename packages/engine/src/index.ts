/**
 * @erofs/engine: a page cache of block-sized pages shared by in-process
 * mounts, with the Linux 7.0 EROFS inode page cache sharing rules, the older
 * blob (chunk) sharing design, and optional fingerprint verification.
 * No Node imports outside src/node/.
 */
export * from './backing.js';
export {
  PageCache, AddressSpace, Folio, Folio as Page, newCounters,
  type PageCacheOptions, type CacheCounters, type CacheStats, type SpaceStats, type SpaceKind, type ReadContext, type Filler, type FillerInto, type PageView,
} from './page-cache.js';
export { IshareRegistry, SharedInode, ShareMember, fingerprintMatches, type NotSharedReason } from './ishare.js';
export { BlobRegistry, SharedBlob } from './blob-share.js';
export {
  mount, Mount, FileHandle, FileInode,
  type MountOptions, type MountStats, type EngineWarning, type WarningCode, type FadviseAdvice, type FileSharing, type WalkEntry,
} from './mount.js';
export { Sha256, sha256, sha256Hasher, type Hash, type HasherFactory } from './sha256.js';
export * from './reader-adapter.js';
export * from './report.js';
