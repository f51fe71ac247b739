/**
 * The data area as host files are copied into it (flat layout, see
 * ImageWriter.copyHostFlat): files are read straight into large output
 * buffers, each written with one positional write when full, and the bytes of
 * each file (the full blocks in the buffer, then its tail, which is kept
 * aside) are fed to a per-file SHA-256 when fingerprints are wanted.
 *
 * Two implementations of the same contract:
 *
 *  - {@link WorkerDataOut}: the buffers are SharedArrayBuffers; one worker
 *    thread writes each full buffer to the image and hashes the file pieces
 *    recorded for it, so hashing and write submission overlap the reads of the
 *    next buffer on a second core. One worker, messages handled in order, so
 *    digests come back in file order: the bytes of the image never depend on
 *    timing. A buffer is reused only after the worker reported it done.
 *  - {@link InlineDataOut}: two buffers on the calling thread (hash in place,
 *    the write of one overlapping the filling of the other); used when a
 *    worker cannot be started, with `workers: 0`, or EROFS_DATA_WORKER=0.
 *
 * The worker is plain JavaScript run with `eval` (it needs only node:
 * builtins), so it starts the same way from dist/ and from sources under tsx.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { ErofsError } from '@erofs/format';
import { writeAll } from './io.js';

const DIGEST = 32;

/**
 * A digest to keep for the metadata, filled now (inline) or when the worker
 * reports it (before {@link DataOut.drain} returns): views into shared arenas,
 * so no ArrayBuffer per file.
 */
class DigestArena {
  arena = new Uint8Array(0);
  at = 0;
  /** Reserves the next 32 bytes: arena[at - 32, at). */
  take(): void {
    if (this.at + DIGEST > this.arena.length) {
      this.arena = new Uint8Array(1 << 16);
      this.at = 0;
    }
    this.at += DIGEST;
  }
}

/**
 * Where a file's digest is (or will be, once the data worker reported it):
 * bytes [at, at + 32) of `arena`. A pair rather than a view: a Uint8Array
 * per file would be some 100 bytes of heap each for the whole build.
 */
export interface DigestSlot {
  arena: Uint8Array;
  at: number;
}

export interface DataOut {
  /** The buffer being filled; its length is a multiple of the block size. */
  readonly buf: Buffer;
  /** Bytes of buf in use. */
  used: number;
  /** Image byte offset of buf[0]. */
  readonly start: number;
  /** Whether file bytes are hashed (fingerprints). */
  readonly hashing: boolean;
  /** Bytes buf[at, at + n) are the next bytes of the file being copied (hashed when hashing). */
  span(at: number, n: number): void;
  /** Bytes src[from, to) (kept aside, not in buf) are the next bytes of the file. */
  tail(src: Uint8Array, from: number, to: number): void;
  /** The file is complete: where its digest goes (filled by the time drain() returns). */
  endFile(): DigestSlot;
  /** Whether to flush now though buf is not full (the pieces of many small files pile up). */
  readonly batchFull: boolean;
  /** Hands over the full buffer and switches to a free one (waiting when none is). */
  flush(): Promise<void>;
  /** Writes everything buffered and waits for all writes (and digests). */
  drain(): Promise<void>;
  /** Stops the worker, if any (after drain, or on failure before the image is closed). */
  close(): Promise<void>;
}


/** Two buffers, hashing and write submission on the calling thread. */
export class InlineDataOut implements DataOut {
  private readonly bufs: [Buffer, Buffer];
  private readonly pending: [Promise<void> | null, Promise<void> | null] = [null, null];
  private cur = 0;
  private hash: Hash | null = null;
  private readonly digests = new DigestArena();
  buf: Buffer;
  used = 0;
  start: number;

  constructor(private readonly fh: FileHandle, start: number, size: number, readonly hashing: boolean) {
    this.bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    this.buf = this.bufs[0];
    this.start = start;
  }

  span(at: number, n: number): void {
    if (this.hashing && n > 0) (this.hash ??= createHash('sha256')).update(this.buf.subarray(at, at + n));
  }

  tail(src: Uint8Array, from: number, to: number): void {
    if (this.hashing && to > from) (this.hash ??= createHash('sha256')).update(src.subarray(from, to));
  }

  endFile(): DigestSlot {
    const d = this.digests;
    d.take();
    d.arena.set((this.hash ?? createHash('sha256')).digest(), d.at - DIGEST);
    this.hash = null;
    return d;
  }

  get batchFull(): boolean {
    return false;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const p = writeAll(this.fh, this.buf.subarray(0, this.used), this.start);
    p.catch(() => undefined); // awaited before the buffer is used again, or by drain
    this.pending[this.cur] = p;
    this.start += this.used;
    this.used = 0;
    this.cur ^= 1;
    this.buf = this.bufs[this.cur];
    const q = this.pending[this.cur];
    if (q) {
      this.pending[this.cur] = null;
      await q;
    }
  }

  async drain(): Promise<void> {
    await this.flush();
    for (let i = 0; i < 2; i++) {
      const q = this.pending[i];
      this.pending[i] = null;
      if (q) await q;
    }
  }

  async close(): Promise<void> {
    // nothing running on other threads but the writes, which drain awaits
  }
}

/**
 * The worker: for each message, runs the hash ops over slot `slot` (triples:
 * 0 = bytes of the data part at off/len, 1 = bytes of the tail part at
 * off/len, 2 = end of file: digest out), then writes the data part [0, len)
 * at image offset `pos` (asynchronously: the next slot is hashed meanwhile)
 * and reports the slot done with the digests of the files that ended in it,
 * in order. Messages are handled in order, so hashes never mix.
 */
const WORKER_JS = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { write } = require('node:fs');
const fd = workerData.fd;
const dataLen = workerData.dataLen;
const slots = workerData.slots.map((s) => new Uint8Array(s));
let hash = null;
function fail(slot, e) {
  parentPort.postMessage({ slot, error: { message: String((e && e.message) || e), code: e && e.code } });
}
parentPort.on('message', (m) => {
  const b = slots[m.slot];
  const out = new Uint8Array(32 * m.nd);
  try {
    const ops = m.ops;
    let k = 0;
    for (let i = 0; i < ops.length; i += 3) {
      const op = ops[i];
      if (op === 2) {
        out.set((hash || createHash('sha256')).digest(), 32 * k++);
        hash = null;
      } else {
        if (!hash) hash = createHash('sha256');
        const at = op === 0 ? ops[i + 1] : dataLen + ops[i + 1];
        hash.update(b.subarray(at, at + ops[i + 2]));
      }
    }
  } catch (e) {
    fail(m.slot, e);
    return;
  }
  const done = () => parentPort.postMessage({ slot: m.slot, digests: out }, [out.buffer]);
  if (m.len === 0) return done();
  let off = 0;
  const next = (e, n) => {
    if (e) return fail(m.slot, e);
    if (n <= 0) return fail(m.slot, new Error('short write to the image'));
    off += n;
    if (off < m.len) write(fd, b, off, m.len - off, m.pos + off, next);
    else done();
  };
  write(fd, b, 0, m.len, m.pos, next);
});
parentPort.postMessage({ ready: true });
`;

/** Buffers shared with the worker (being filled, hashed, written). */
const SLOTS = 3;
/** Hash-op words (3 per piece) one batch may carry before it is sent. */
const OPS_CAP = 3 * 4096;
/** Bytes after the data part of each slot for the tails of the files hashed with it. */
const TAILS_CAP = 256 << 10;

interface Slot {
  /** The data part (what is written). */
  buf: Buffer;
  /** The tail part (file tails kept aside, hashed only). */
  tails: Buffer;
  busy: Promise<void> | null;
  done: (() => void) | null;
  fail: ((e: Error) => void) | null;
  /** Digests the batch in this slot will report, in file order. */
  digests: Uint8Array[];
}

/** Data buffers shared with one worker that writes them and hashes the files. */
export class WorkerDataOut implements DataOut {
  private readonly slots: Slot[] = [];
  private cur = 0;
  private ops = new Int32Array(OPS_CAP);
  private nops = 0;
  private tails: Buffer;
  private ntails = 0;
  private batchDigests: Uint8Array[] = [];
  private readonly arena = new DigestArena();
  private failure: Error | undefined;
  private closed = false;
  buf: Buffer;
  used = 0;
  start: number;

  private constructor(private readonly worker: Worker, sabs: SharedArrayBuffer[], start: number, readonly hashing: boolean,
    size: number, private readonly tailsCap: number) {
    for (const s of sabs) {
      this.slots.push({ buf: Buffer.from(s, 0, size), tails: Buffer.from(s, size), busy: null, done: null, fail: null, digests: [] });
    }
    this.buf = this.slots[0]!.buf;
    this.tails = this.slots[0]!.tails;
    this.start = start;
    worker.on('message', (m: { slot: number; digests?: Uint8Array; error?: { message: string; code?: string } }) => {
      const s = this.slots[m.slot];
      if (!s) return;
      if (m.error) {
        this.setFailure(new ErofsError(m.error.code === 'ENOSPC' ? 'ENOSPC' : 'EIO', `cannot write the image: ${m.error.message}`));
        return;
      }
      const d = m.digests!;
      for (let i = 0; i < s.digests.length; i++) s.digests[i]!.set(d.subarray(i * DIGEST, (i + 1) * DIGEST));
      s.digests = [];
      const done = s.done;
      s.busy = s.done = s.fail = null;
      done?.();
    });
    worker.on('error', (e) => this.setFailure(new ErofsError('EIO', `data writer thread failed: ${e.message}`, undefined, { cause: e })));
    worker.on('exit', () => {
      if (!this.closed) this.setFailure(new ErofsError('EIO', 'data writer thread exited'));
    });
  }

  /**
   * Starts the worker and waits until it runs; null when it cannot (no
   * worker threads here, or it failed to start): use {@link InlineDataOut}.
   */
  static async start(fh: FileHandle, start: number, size: number, hashing: boolean, blksz: number): Promise<WorkerDataOut | null> {
    // a tail is under a block: one always fits after a flush
    const tailsCap = hashing ? Math.max(TAILS_CAP, 2 * blksz) : 0;
    const sabs = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(size + tailsCap));
    let worker: Worker;
    try {
      worker = new Worker(WORKER_JS, {
        eval: true,
        workerData: { fd: fh.fd, slots: sabs, dataLen: size },
        // a small heap: it holds a hash and a message at a time
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
        stdout: false,
        stderr: false,
      });
    } catch {
      return null;
    }
    const ok = await new Promise<boolean>((resolve) => {
      const onMsg = (m: { ready?: boolean }): void => {
        if (m?.ready) done(true);
      };
      const done = (v: boolean): void => {
        worker.off('message', onMsg);
        worker.off('error', onErr);
        worker.off('exit', onExit);
        resolve(v);
      };
      const onErr = (): void => done(false);
      const onExit = (): void => done(false);
      worker.on('message', onMsg);
      worker.on('error', onErr);
      worker.on('exit', onExit);
    });
    if (!ok) {
      await worker.terminate().catch(() => undefined);
      return null;
    }
    return new WorkerDataOut(worker, sabs, start, hashing, size, tailsCap);
  }

  private setFailure(e: Error): void {
    this.failure ??= e;
    for (const s of this.slots) {
      const f = s.fail;
      s.done = s.fail = null;
      f?.(this.failure);
    }
  }

  span(at: number, n: number): void {
    if (!this.hashing || n <= 0) return;
    if (this.nops + 3 > this.ops.length) this.growOps();
    const o = this.ops;
    o[this.nops++] = 0;
    o[this.nops++] = at;
    o[this.nops++] = n;
  }

  tail(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (!this.hashing || n <= 0) return;
    if (this.ntails + n > this.tails.length) throw new ErofsError('EIO', 'internal: tail area overflow');
    this.tails.set(src.subarray(from, to), this.ntails);
    if (this.nops + 3 > this.ops.length) this.growOps();
    const o = this.ops;
    o[this.nops++] = 1;
    o[this.nops++] = this.ntails;
    o[this.nops++] = n;
    this.ntails += n;
  }

  private growOps(): void {
    const o = new Int32Array(this.ops.length * 2);
    o.set(this.ops.subarray(0, this.nops));
    this.ops = o;
  }

  endFile(): DigestSlot {
    const a = this.arena;
    a.take();
    const v = a.arena.subarray(a.at - DIGEST, a.at);
    if (this.nops + 3 > this.ops.length) this.growOps();
    this.ops[this.nops++] = 2;
    this.ops[this.nops++] = 0;
    this.ops[this.nops++] = 0;
    this.batchDigests.push(v);
    return a;
  }

  get batchFull(): boolean {
    // room for the next file's pieces: a span and a tail (under a block), and its end
    return this.nops > this.ops.length - 9 || this.ntails > this.tailsCap - this.tailsCap / 2;
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.used === 0 && this.nops === 0) return;
    const s = this.slots[this.cur]!;
    s.digests = this.batchDigests;
    this.batchDigests = [];
    s.busy = new Promise<void>((resolve, reject) => {
      s.done = resolve;
      s.fail = reject;
    });
    s.busy.catch(() => undefined); // awaited before the slot is reused, or by drain
    const ops = this.ops.slice(0, this.nops);
    this.worker.postMessage({ slot: this.cur, len: this.used, pos: this.start, ops, nd: s.digests.length }, [ops.buffer]);
    this.nops = 0;
    this.ntails = 0;
    this.start += this.used;
    this.used = 0;
    this.cur = (this.cur + 1) % this.slots.length;
    const next = this.slots[this.cur]!;
    this.buf = next.buf;
    this.tails = next.tails;
    if (next.busy) await next.busy;
  }

  async drain(): Promise<void> {
    await this.flush();
    for (const s of this.slots) if (s.busy) await s.busy;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // terminate() returns once the thread stopped: no write of it lands after the image is closed
    await this.worker.terminate().catch(() => undefined);
  }
}

/** Whether the data worker is allowed (`workers: 0` or EROFS_DATA_WORKER=0 keep everything on this thread). */
export function dataWorkerAllowed(workers: number | undefined): boolean {
  return workers !== 0 && process.env['EROFS_DATA_WORKER'] !== '0';
}
