/**
 * @erofs/oci: the input side of tar and OCI conversion. A streaming tar
 * reader (ustar, pax, GNU), gzip/zstd detection, tar -> writer tree with
 * extraction semantics, OCI layouts and archives with verified blobs, and
 * layer flattening or per-layer overlayfs trees.
 */
export { ByteReader, type ByteInput } from './byte-reader.js';
export { decompress, detectCompression, type Compression, type DecompressOptions } from './decompress.js';
export { readTar, showPath, type TarEntry, type TarEntryType, type TarReadOptions } from './tar/reader.js';
export { parsePax, parsePaxTime, type PaxRecords } from './tar/pax.js';
export { decodeHeader, parseNumeric, checksumOk, BLOCK } from './tar/header.js';
export { indexTar, resolveMember, type TarMember } from './tar/index-tar.js';
export { nameKey, type InodeNode, type InodeType, type FileData, type Timestamp, type WriteData } from './model.js';
export { TreeBuilder, WH_PREFIX, WH_OPAQUE, OVL_OPAQUE, OVL_ORIGIN, type TreeOptions, type WhiteoutMode } from './tree-builder.js';
export { tarToTree, type TarToTreeOptions } from './tar-tree.js';
export { flattenLayers, layerTree, LayerStack, type LayerSource, type FlattenOptions, type LayerTreeOptions } from './layers.js';
export { openImage, hostPlatform, type OciImage, type OciLayer, type BlobLocation, type OpenImageOptions } from './oci/image.js';
export { verifyDigest, parseDigest } from './oci/digest.js';
export { FileRandomAccess, type RandomAccess } from './oci/random-access.js';
