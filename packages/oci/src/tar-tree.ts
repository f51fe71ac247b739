/**
 * One tar stream -> one tree (mkfs.erofs `--tar=f`, and each image of
 * `--per-layer`). Single pass: every regular file's body goes to the
 * caller's `writeData` as it streams past.
 */
import type { ByteInput } from './byte-reader.js';
import { decompress, type Compression } from './decompress.js';
import type { InodeNode, WriteData } from './model.js';
import { readTar, type TarEntry } from './tar/reader.js';
import { joinPath, TreeBuilder, type TreeOptions } from './tree-builder.js';

/** Options of {@link tarToTree}. */
export interface TarToTreeOptions extends TreeOptions {
  /** Streams file content into the image; required. */
  writeData: WriteData;
  /** 'auto' (default) sniffs gzip/zstd magic; or force one. */
  compression?: Compression | 'auto';
  /** Names the input in errors (file name, layer digest). */
  where?: string;
  /** Accept a tar without the end-of-archive marker (default: refuse, it looks truncated). */
  allowMissingEnd?: boolean;
}

/**
 * Builds the writer's tree from a (possibly compressed) tar stream with tar
 * extraction semantics: later duplicates win, parents appear implicitly,
 * hard links share the node. With `aufs` the whiteouts become overlayfs
 * whiteouts; with `ovlfsStrip` overlayfs whiteouts and opaque marks vanish.
 * A file replaced later in the same tar has already been written: the writer
 * receives its bytes anyway (a single pass cannot know the future).
 */
export async function tarToTree(input: ByteInput, opts: TarToTreeOptions): Promise<InodeNode> {
  const b = new TreeBuilder(opts.aufs ? 'aufs' : 'plain', opts);
  const entries = readTar(decompress(input, { compression: opts.compression, where: opts.where }), {
    where: opts.where, allowMissingEnd: opts.allowMissingEnd, onWarning: opts.onWarning,
  });
  for await (const e of entries) await applyWithData(b, e, 0, opts.writeData);
  return b.finish();
}

/** Applies a member and, when the builder wants its content, streams it to `writeData`. */
export async function applyWithData(b: TreeBuilder, e: TarEntry, layer: number, writeData: WriteData | null): Promise<InodeNode | null> {
  const node = b.apply(e, layer);
  if (node && node.size! > 0 && writeData) {
    node.data = await writeData(e.body, e.size, '/' + joinPath(b.normalise(e.path, '')), node.xattrs, { dataOffset: e.dataOffset, layer });
  } else {
    await e.skip();
  }
  return node;
}
