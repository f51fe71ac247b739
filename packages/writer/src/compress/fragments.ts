/**
 * The packed inode's content while an image is built (-E fragments,
 * -E all-fragments).
 *
 * With fragments, the tail of a compressed file (what is left once it fits
 * in one pcluster, see segment.ts) is not given pclusters of its own: it is
 * appended, uncompressed, to one hidden file, the packed inode, which is
 * compressed like any other file at the end of the data area and named by
 * the superblock's packed_nid (INCOMPAT_FRAGMENTS). The file's map header
 * then carries Z_EROFS_ADVISE_FRAGMENT_PCLUSTER and the tail's offset in
 * the packed inode (h_fragmentoff); the last extent of its lcluster indexes
 * is that fragment. With all-fragments, and for files whose content is
 * nothing but their tail, the whole file is a fragment: the 8-byte map
 * header is then the offset with bit 63 set and there are no indexes.
 *
 * Fragments with identical content are stored once (a SHA-256 of the bytes
 * names them), so duplicated small files and identical tails cost their
 * bytes once. mkfs.erofs also shares a tail that is a suffix of an earlier
 * fragment; we share exact matches only.
 *
 * Bytes are appended in the order files are committed (file order), so the
 * offsets do not depend on threads. They are buffered in memory and spill
 * to an unlinked scratch file next to the image when the buffer is full.
 */
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { ErofsError } from '@erofs/format';
import { openScratch, writeAllSync } from '../io.js';

/** Bytes kept in memory before the scratch file is used. */
const MEM_BYTES = 4 << 20;
/** Piece size when the content is read back for compression. */
const READ_PIECE = 1 << 20;

/** Key of a fragment's content. */
export function fragmentKey(digest: Uint8Array): string {
  return Buffer.from(digest.buffer, digest.byteOffset, digest.length).toString('base64');
}

/** The packed inode's content, with the offsets of the fragments already in it. */
export class PackedFile {
  private fd = -1;
  private buf: Buffer = Buffer.alloc(0);
  private used = 0;
  /** Bytes in the scratch file (those before the buffer). */
  private flushed = 0;
  private readonly seen = new Map<string, number>();
  /** Fragments referred to, and how many of them share an earlier one's bytes. */
  refs = 0;
  shared = 0;

  /** `nextTo`: the image path; the scratch file goes in the same directory. */
  constructor(private readonly nextTo: string) {}

  /** Bytes of content so far. */
  get size(): number {
    return this.flushed + this.used;
  }

  /** Offset of a fragment with content `b`: an identical earlier one's, else where `b` is appended now. */
  add(b: Uint8Array): number {
    const key = fragmentKey(createHash('sha256').update(b).digest());
    const hit = this.seen.get(key);
    this.refs++;
    if (hit !== undefined) {
      this.shared++;
      return hit;
    }
    const off = this.size;
    this.append(b);
    this.seen.set(key, off);
    return off;
  }

  /**
   * Streaming a whole file in: {@link append} its bytes from `mark =`
   * {@link size}, then call this with their SHA-256. When identical content
   * is already there, the bytes just appended are dropped and the earlier
   * offset is returned.
   */
  commitAppended(mark: number, digest: Uint8Array): number {
    const key = fragmentKey(digest);
    const hit = this.seen.get(key);
    this.refs++;
    if (hit !== undefined) {
      this.shared++;
      this.rewind(mark);
      return hit;
    }
    this.seen.set(key, mark);
    return mark;
  }

  /** Appends bytes (copied: the caller may reuse `b`). */
  append(b: Uint8Array): void {
    let at = 0;
    while (at < b.length) {
      if (this.used === this.buf.length) {
        if (this.buf.length < MEM_BYTES) {
          const bigger = Buffer.allocUnsafe(Math.min(MEM_BYTES, Math.max(64 << 10, this.buf.length * 2, this.used + b.length - at)));
          this.buf.copy(bigger, 0, 0, this.used);
          this.buf = bigger;
        } else {
          this.spill();
        }
      }
      const n = Math.min(b.length - at, this.buf.length - this.used);
      this.buf.set(b.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
    }
  }

  /** Drops everything from `mark` on. */
  private rewind(mark: number): void {
    if (mark >= this.flushed) {
      this.used = mark - this.flushed;
      return;
    }
    // later writes overwrite the scratch file from `mark`; reads stop at size
    this.flushed = mark;
    this.used = 0;
  }

  private spill(): void {
    if (this.fd < 0) this.fd = openScratch(this.nextTo, 'packed');
    writeAllSync(this.fd, this.buf.subarray(0, this.used), this.flushed, 'the packed inode scratch file');
    this.flushed += this.used;
    this.used = 0;
  }

  /** The content from the start, in pieces (each valid until the next is asked for). */
  *read(): Generator<Uint8Array> {
    const end = this.size;
    const flushed = this.flushed;
    if (flushed > 0) {
      const piece = Buffer.allocUnsafe(Math.min(READ_PIECE, flushed));
      for (let pos = 0; pos < flushed;) {
        const want = Math.min(piece.length, flushed - pos);
        const n = readSync(this.fd, piece, 0, want, pos);
        if (n <= 0) throw new ErofsError('EIO', 'short read from the packed inode scratch file');
        pos += n;
        yield piece.subarray(0, n);
      }
    }
    if (this.size !== end) throw new ErofsError('EIO', 'internal: the packed inode changed while read');
    for (let pos = 0; pos < this.used; pos += READ_PIECE) yield this.buf.subarray(pos, Math.min(this.used, pos + READ_PIECE));
  }

  /** Closes the scratch file (idempotent). */
  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // nothing to keep
      }
      this.fd = -1;
    }
    this.buf = Buffer.alloc(0);
    this.used = 0;
  }
}
