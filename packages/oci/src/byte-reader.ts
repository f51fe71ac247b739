/**
 * A pull-based reader over an async stream of chunks. Reads happen only when
 * the consumer asks, so a Node Readable behind it is paused while the consumer
 * is busy (back-pressure comes for free from async iteration).
 */

/** Anything we accept as a byte stream: a Node Readable, an async generator, an array of chunks. */
export type ByteInput = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  /** Unconsumed tail of the last chunk pulled from the source. */
  private pending: Uint8Array = new Uint8Array(0);
  private done = false;
  /** Bytes handed out (or skipped) so far: the stream offset of the next byte. */
  position = 0;

  constructor(input: ByteInput) {
    const a = input as AsyncIterable<Uint8Array>;
    this.it = typeof a[Symbol.asyncIterator] === 'function'
      ? a[Symbol.asyncIterator]()
      : (input as Iterable<Uint8Array>)[Symbol.iterator]();
  }

  /** Pulls the next non-empty chunk from the source; false at the end. */
  private async fill(): Promise<boolean> {
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      // Node streams hand out Buffers; a Buffer is a Uint8Array, keep it as a view.
      const c = r.value;
      if (c.length > 0) {
        this.pending = c;
        return true;
      }
    }
    return false;
  }

  /**
   * Up to `max` bytes as a view (no copy), or null at the end of the input.
   * The view stays valid: chunks are never reused by this reader.
   */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (this.pending.length === 0 && !(await this.fill())) return null;
    const n = Math.min(max, this.pending.length);
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.position += n;
    return out;
  }

  /**
   * Exactly `n` bytes, or fewer only when the input ends first (the caller
   * decides whether a short read is corruption). Copies only when a read
   * spans chunks.
   */
  async readExact(n: number): Promise<Uint8Array> {
    const first = await this.readSome(n);
    if (first === null) return new Uint8Array(0);
    if (first.length === n) return first;
    const out = new Uint8Array(n);
    out.set(first, 0);
    let got = first.length;
    while (got < n) {
      const c = await this.readSome(n - got);
      if (c === null) return out.subarray(0, got);
      out.set(c, got);
      got += c.length;
    }
    return out;
  }

  /** Skips `n` bytes; returns how many were actually skipped (less at the end). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.readSome(left);
      if (c === null) break;
      left -= c.length;
    }
    return n - left;
  }

  /** Reads and drops everything left (so a digest-checking source sees the whole blob). */
  async drain(): Promise<void> {
    while ((await this.readSome(Number.MAX_SAFE_INTEGER)) !== null);
  }

  /** Stops the source early (closes files, destroys streams). */
  async close(): Promise<void> {
    this.done = true;
    await this.it.return?.();
  }
}
