/**
 * @erofs/writer: builds EROFS images (the core of mkfs-erofs).
 *
 *  - scanDirectory(path, opts) walks a host directory into an InodeNode tree;
 *  - buildImage(root, opts, out) writes the image in one call;
 *  - ImageWriter streams file data first (writeData, e.g. while parsing a tar)
 *    and writes the metadata at finish(root).
 */
export * from './tree.js';
export * from './options.js';
export { scanDirectory, type ScanOptions, type MtimePolicy } from './scan.js';
export { buildImage } from './build.js';
export { ImageWriter, FINGERPRINT_SIZE, validateOptions, type WrittenData, type WrittenHandle, type ByteStream } from './image-writer.js';
export { validateIshareKey, buildPrefixTable } from './xattrs.js';
export { chooseEpoch } from './epoch.js';
export { dirSize, encodeDir } from './dir.js';
export { readHostXattrs } from './host-xattrs.js';
export {
  parseCompressionSpecs, parseCompressHints, validateSpec, algorithmId,
  type CompressionSpec, type CompressHint, type CompressorName,
} from './compress/spec.js';
export { workerEntry, type WorkerEntry } from './compress/pool.js';
