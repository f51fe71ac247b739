/**
 * @erofs/reader: reads EROFS images without a kernel, in Node or a browser.
 * Open an image from any {@link BlockSource} with {@link openImage}; file
 * sources for Node live in `@erofs/reader/node`.
 */
export { asyncSource, bufferSource, readExact, readExactInto, BlockCache, type BlockSource } from './source.js';
export { readSuper, featureNames, type SuperInfo, type DeviceInfo, type CompressionCfgs } from './super.js';
export { isCompressedLayout, inodeRdev, nidText, type Inode } from './inode.js';
export { parseDirBlock, compareBytes, type RawDirent } from './dir.js';
export type { XattrEntry, LongPrefixInfo } from './xattr.js';
export {
  Image, openImage, Stats, Dirent, FileHandle, MapFlags, MAX_SYMLINKS,
  type Extent, type OpenOptions, type DeviceSources, type WalkEntry, type WalkOptions, type ReadStreamOptions, type FileRef,
} from './image.js';
export type { ZImage, ZInode, ZExtent, ZReader } from './zcontract.js';
