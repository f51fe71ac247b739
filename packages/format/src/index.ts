/**
 * @erofs/format: the EROFS on-disk format. Pure TypeScript on Uint8Array,
 * no Node imports: every structure with its size, decode and encode, the
 * constants of the kernel's erofs_fs.h, CRC32C, xxh32 and the error type.
 */
export * from './constants.js';
export * from './errors.js';
export * from './crc32c.js';
export * from './xxhash.js';
export * from './le.js';
export * from './superblock.js';
export * from './inode.js';
export * from './dirent.js';
export * from './xattr.js';
export * from './chunk.js';
export * from './device.js';
export * from './zmap.js';
export * from './acl.js';
