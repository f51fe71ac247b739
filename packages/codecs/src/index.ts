/**
 * @erofs/codecs: the compression algorithms EROFS uses, in plain TypeScript
 * over Uint8Array so they run in a browser too. Node-only fast paths (zlib)
 * and the zstd encoder live in `@erofs/codecs/node`.
 */
export { lz4Decompress, lz4DecompressJs, LZ4_WASM_THRESHOLD, skipZeroPadding, type Lz4DecompressOptions } from './lz4-decode.js';
export { loadLz4Wasm, lz4DecompressWasm, lz4WasmAvailable, LZ4_WASM_MAX_BYTES } from './lz4-wasm.js';
export { loadWasmDecoders, type WasmDecoders } from './wasm-load.js';
export {
  lz4Compress,
  lz4CompressBound,
  lz4CompressDestSize,
  lz4CompressDestSizeJs,
  lz4CompressJs,
  lz4hcCompress,
  lz4hcCompressDestSize,
  lz4hcCompressDestSizeJs,
  lz4hcCompressJs,
  type DestSizeResult,
} from './lz4-encode.js';
export { loadLz4EncodeWasm, lz4EncodeWasmAvailable, lz4PinInput, LZ4ENC_WASM_MAX_BYTES } from './lz4-encode-wasm.js';
export {
  microLzmaDecompress,
  microLzmaDecompressJs,
  MICROLZMA_WASM_THRESHOLD,
  type MicroLzmaDecompressOptions,
} from './microlzma.js';
export {
  loadMicroLzmaWasm,
  microLzmaDecompressWasm,
  microLzmaWasmAvailable,
  MICROLZMA_WASM_MAX_BYTES,
} from './microlzma-wasm.js';
export {
  deflateCompress,
  deflateCompressDestSize,
  deflateDecompress,
  type DeflateDecompressOptions,
  type DeflateLevel,
} from './deflate.js';
export { zstdDecompress, zstdFrameInfo, type ZstdDecompressOptions, type ZstdFrameInfo } from './zstd.js';
export { searchDestSize, type DestSizeSearchOptions, type DestSizeSearchResult } from './destsize.js';
export {
  getCodec,
  lookupCodec,
  portableCodecs,
  Z_EROFS_COMPRESSION_DEFLATE,
  Z_EROFS_COMPRESSION_LZ4,
  Z_EROFS_COMPRESSION_LZMA,
  Z_EROFS_COMPRESSION_ZSTD,
  type Codec,
  type CodecDecompressOptions,
} from './registry.js';
