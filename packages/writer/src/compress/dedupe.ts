/**
 * -E dedupe: pclusters shared between extents (of one file or of several).
 *
 * mkfs.erofs slides a rolling hash over the input and may reuse part of a
 * pcluster (Z_EROFS_LI_PARTIAL_REF). We reuse whole pclusters only, by a
 * rule that cannot go wrong: an extent whose pcluster is byte-for-byte one
 * already written, with the same uncompressed length, the same algorithm
 * and the same kind (compressed or raw), decodes to the same bytes, so it
 * may point at that pcluster instead of storing its own. Compression is
 * deterministic, so identical input (duplicated files, identical leading
 * parts of files, identical segments) gives identical pclusters; what the
 * rolling hash would find at other offsets is not found here.
 *
 * A pcluster is named by the SHA-256 of its blocks (plus length, algorithm
 * and kind), as chunk dedupe names chunks; the bytes are not compared again.
 *
 * Reused pclusters are not contiguous with the file's others, which compact
 * lcluster indexes need, so a file that reuses one gets full indexes.
 * Decisions are made in file order by the committing thread: the image
 * does not depend on the number of workers.
 */
import { createHash } from 'node:crypto';

/** Known pclusters of the image being built. */
export class PclusterDedupe {
  private readonly byKey = new Map<string, number>();
  /** Keys added for the file being committed (dropped if it is stored uncompressed after all). */
  private pending: string[] = [];
  private pendingHits = 0;
  private pendingBlocks = 0;
  /** Pclusters reused, and their blocks (files committed so far). */
  hits = 0;
  savedBlocks = 0;

  /** The name of a pcluster: its blocks, the extent's uncompressed length, algorithm (or raw). */
  key(blocks: Uint8Array, length: number, raw: boolean, algorithmId: number): string {
    const h = createHash('sha256').update(blocks).digest('base64');
    return `${h}:${length}:${raw ? 'r' : algorithmId}`;
  }

  /** Start block of an identical pcluster already written, or undefined. */
  find(key: string, blocks: number): number | undefined {
    const b = this.byKey.get(key);
    if (b !== undefined) {
      this.pendingHits++;
      this.pendingBlocks += blocks;
    }
    return b;
  }

  /** Records a pcluster written (for the file being committed) at `blk`. */
  add(key: string, blk: number): void {
    this.byKey.set(key, blk);
    this.pending.push(key);
  }

  /** The file's pclusters stay in the image. */
  commitFile(): void {
    this.pending = [];
    this.hits += this.pendingHits;
    this.savedBlocks += this.pendingBlocks;
    this.pendingHits = this.pendingBlocks = 0;
  }

  /** The file is stored uncompressed instead: its pclusters are gone (their blocks are reused). */
  dropFile(): void {
    for (const k of this.pending) this.byKey.delete(k);
    this.pending = [];
    this.pendingHits = this.pendingBlocks = 0;
  }
}
