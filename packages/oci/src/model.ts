/**
 * The writer's input model as this package uses it: the tree types come from
 * @erofs/writer (its src/tree.ts); only the streaming callback is ours.
 */
import type { FileData } from '@erofs/writer';

export { nameKey, type InodeNode, type InodeType, type FileData, type Timestamp } from '@erofs/writer';

/**
 * Receives one regular file's content while the tar streams past and returns
 * where the writer put it. It must consume `body` completely (`size` bytes).
 * `xattrs` are the file's xattrs as known now (the writer sizes the inode
 * with them to decide whether the tail can be inlined). `member.dataOffset`
 * is where the body starts in the (decompressed) tar stream (`--tar=i`);
 * `member.layer` is the index of the layer it comes from (0 for one tar;
 * the position in the list given to flattenLayers, or the LayerStack's count).
 */
export type WriteData = (body: AsyncIterable<Uint8Array>, size: number, path: string,
  xattrs?: ReadonlyMap<string, Uint8Array>, member?: { dataOffset: number; layer?: number }) => Promise<FileData>;
