/**
 * buildImage: the whole mkfs in one call, for directory sources (and any tree
 * whose file data is given by host path or bytes).
 */
import { ImageWriter } from './image-writer.js';
import type { BuildSummary, ProgressFn, WriterOptions } from './options.js';
import type { InodeNode } from './tree.js';

/**
 * Writes an EROFS image of `root` to `outPath`. The image is built under a
 * temporary name in the same directory and renamed on success; on failure
 * nothing is left behind. File contents are streamed (never held whole).
 */
export async function buildImage(root: InodeNode, opts: WriterOptions, outPath: string, progress?: ProgressFn): Promise<BuildSummary> {
  const w = await ImageWriter.create(outPath, opts, progress);
  return w.finish(root);
}
