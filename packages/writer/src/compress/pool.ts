/**
 * Runs segment compression on worker threads (or inline when workers = 0).
 *
 * Workers need JavaScript: when this module runs compiled (dist/), the
 * sibling worker.js is used; when it runs from TypeScript sources (tests,
 * tsx), the compiled worker in dist/ is used if it is at least as new as
 * every source it was built from, else worker.ts is started through tsx's
 * loader (`--import tsx`). Either way the compression code is the same pure
 * function, so results do not depend on which path or how many workers.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErofsError } from '@erofs/format';
import { Compressor, prepareCompressor } from './codec.js';
import { compressSegment, type SegmentParams, type SegmentResult } from './segment.js';
import type { CompressionSpec } from './spec.js';

/** One segment of a batch: its place in the batch's buffer and who awaits it. */
interface Item {
  off: number;
  len: number;
  params: SegmentParams;
  resolve: (r: SegmentResult) => void;
  reject: (e: Error) => void;
}

/** Segments sent to a worker in one message (one buffer, one reply). */
interface Batch {
  buf: ArrayBuffer;
  used: number;
  items: Item[];
  spec: CompressionSpec;
  worker: number;
}

/** What a worker sends back for one segment: its byte fields are ranges of the reply's `out` buffer. */
export interface WireResult {
  /** The result without its Uint8Array fields. */
  rest: Record<string, unknown>;
  /** Uint8Array fields of the result: [name, offset in out, length]. */
  bins: Array<[string, number, number]>;
}

/** Inverse of the worker's packExtents: 4 numbers per extent (length, plen, blk, flags). */
function unpackExtents(a: Float64Array, from: number, count: number): SegmentResult['extents'] {
  const r: SegmentResult['extents'] = [];
  for (let i = from * 4, end = (from + count) * 4; i < end; i += 4) {
    const f = a[i + 3]!;
    const e: SegmentResult['extents'][number] = { length: a[i]!, plen: a[i + 1]!, raw: (f & 1) !== 0, blk: a[i + 2]! };
    if (f & 2) e.inline = (f & 4) !== 0;
    if (f & 8) e.frag = (f & 16) !== 0;
    r.push(e);
  }
  return r;
}

/** Worker -> pool message. */
export interface BatchReply {
  id: number;
  /** The input buffer, handed back for reuse. */
  buf?: ArrayBuffer;
  out?: ArrayBuffer;
  /** The results are in `buf` (no `out`): it is reused once they are all released. */
  outInBuf?: boolean;
  results?: WireResult[];
  /** Every result's extents, packed (see packExtents); each result's rest.extents is then [first, count]. */
  extents?: Float64Array;
  error?: { message: string; code?: string };
}

/** Pool -> worker message. */
export interface BatchMessage {
  id: number;
  buf: ArrayBuffer;
  items: Array<{ off: number; len: number; params: SegmentParams }>;
  spec: CompressionSpec;
}

/** Segments up to this size share batch buffers (copied in); larger ones go in their own buffer. */
const SMALL = 256 << 10;
/** Capacity of a batch buffer; a batch is sent once it holds this much. */
const BATCH_BYTES = 1 << 20;
/** Largest batch, in segments. */
const BATCH_ITEMS = 512;
/** Input buffers are allocated in multiples of this (so that they can be reused). */
const BUF_CLASS = 1 << 20;
/** Free input buffers kept for reuse, in bytes. */
const FREE_BYTES = 24 << 20;

/** How the worker script is started (for tests and diagnostics). */
export interface WorkerEntry {
  /** A script URL, or bootstrap code when `eval` is set. */
  script: URL | string;
  eval: boolean;
  execArgv: string[];
  kind: 'dist' | 'tsx';
}

const SOURCES = ['worker', 'segment', 'codec', 'spec'];

function newestTs(dir: string): number {
  let t = 0;
  try {
    for (const n of readdirSync(dir, { recursive: true }) as string[]) {
      if (n.endsWith('.ts')) t = Math.max(t, statSync(join(dir, n)).mtimeMs);
    }
  } catch {
    return Infinity;
  }
  return t;
}

/**
 * Picks the worker script: compiled JavaScript when this module is compiled,
 * or when running from sources and dist/ (of this package and of
 * @erofs/codecs) is at least as new as the sources; else worker.ts through
 * tsx's loader, registered inside the worker (loader flags of the main
 * thread do not reach workers on Node 20). EROFS_WORKER=tsx forces the latter.
 */
/**
 * A worker for `entry`. Workers refuse V8 options in execArgv (the launcher's
 * `--max-semi-space-size`, a user's `--max-old-space-size`, ...) with
 * ERR_WORKER_INVALID_EXEC_ARGV, which names them: those are dropped (V8
 * options are per process anyway) and the worker is started without them.
 */
export function startWorker(entry: WorkerEntry): Worker {
  let argv = entry.execArgv;
  for (;;) {
    try {
      return new Worker(entry.script, { eval: entry.eval, execArgv: argv });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
      const bad = new Set((err.message.split(': ')[1] ?? '').split(/[\s,]+/).filter(Boolean));
      const next = argv.filter((a) => !bad.has(a));
      if (next.length === argv.length) {
        // not told which: keep only what a worker of this kind needs (nothing for dist/, the loader for tsx)
        if (argv.length === 0) throw e;
        argv = [];
      } else {
        argv = next;
      }
      entry.execArgv = argv;
    }
  }
}

export function workerEntry(preferTsx = process.env['EROFS_WORKER'] === 'tsx'): WorkerEntry {
  const here = fileURLToPath(import.meta.url);
  const dir = dirname(here);
  const inherited = process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--input-type'));
  const plain: string[] = [];
  for (let i = 0; i < inherited.length; i++) {
    const a = inherited[i]!;
    if (a === '--conditions' || a === '-C' || a === '--import') {
      i++;
      continue;
    }
    if (a.startsWith('--conditions=') || a.startsWith('--import=')) continue;
    plain.push(a);
  }
  if (here.endsWith('.js')) return { script: new URL('./worker.js', import.meta.url), eval: false, execArgv: plain, kind: 'dist' };
  const distDir = join(dir, '..', '..', 'dist', 'compress');
  if (!preferTsx && existsSync(join(distDir, 'worker.js'))) {
    const fresh = SOURCES.every((n) => {
      const out = join(distDir, `${n}.js`);
      return existsSync(out) && statSync(out).mtimeMs >= statSync(join(dir, `${n}.ts`)).mtimeMs;
    });
    let codecsFresh = false;
    try {
      const req = createRequire(import.meta.url);
      const cdist = dirname(req.resolve('@erofs/codecs'));
      codecsFresh = existsSync(join(cdist, 'index.js')) && statSync(join(cdist, 'index.js')).mtimeMs >= newestTs(join(cdist, '..', 'src'));
    } catch {
      codecsFresh = false;
    }
    if (fresh && codecsFresh) return { script: pathToFileURL(join(distDir, 'worker.js')), eval: false, execArgv: plain, kind: 'dist' };
  }
  let api: string;
  try {
    api = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href;
  } catch {
    api = 'tsx/esm/api';
  }
  const target = pathToFileURL(join(dir, 'worker.ts')).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })` +
    `.catch((e) => { throw e; });`;
  return { script: code, eval: true, execArgv: inherited.filter((a) => a !== '--import' && a !== 'tsx'), kind: 'tsx' };
}

/**
 * A fixed set of workers compressing segments (or inline when size is 0).
 *
 * Input buffers go to a worker by transfer and come back with the reply, to
 * be reused by {@link buffer}: a page-cached read into a reused buffer costs
 * no page faults. Small segments are copied into shared batch buffers and
 * travel together: one message and one reply for up to a megabyte of small
 * files. A batch is sent when full, when a segment of another configuration
 * or a large segment comes, or once the producer yields (setImmediate).
 * Each reply carries the compressed bytes of the whole batch in one buffer
 * of exactly their size; results are views of it (idata, frag and any other
 * byte field are copies of their own).
 */
export class CompressPool {
  private readonly workers: Worker[] = [];
  /** Input bytes queued at each worker (load balancing). */
  private readonly load: number[] = [];
  private readonly inflight = new Map<number, Batch>();
  private nextId = 1;
  private readonly inline = new Map<string, Compressor>();
  private failed: Error | undefined;
  private open: Batch | undefined;
  private flushQueued = false;
  /** Buffers to reuse, oldest first (at most FREE_BYTES). */
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;
  readonly entry: WorkerEntry | undefined;

  constructor(readonly size: number) {
    if (size > 0) {
      this.entry = workerEntry();
      for (let i = 0; i < size; i++) {
        const w = startWorker(this.entry);
        w.unref();
        w.on('message', (m: BatchReply) => this.reply(m));
        w.on('error', (e) => this.fail(e));
        this.workers.push(w);
        this.load.push(0);
      }
    }
  }

  private reply(m: BatchReply): void {
    const b = this.inflight.get(m.id);
    if (!b) return;
    this.inflight.delete(m.id);
    this.load[b.worker]! -= b.used;
    const outBuf = m.outInBuf ? m.buf : m.out;
    if (m.buf && !m.outInBuf) this.recycle(m.buf);
    if (m.error || !m.results || !outBuf) {
      const err = m.error ?? { message: 'no result' };
      const e = new ErofsError((err.code as 'EIO') ?? 'EIO', `compression failed: ${err.message}`);
      for (const it of b.items) it.reject(e);
      return;
    }
    const out = new Uint8Array(outBuf);
    // a buffer that came back holding the results is reused once the committer has written them all
    let pending = b.items.length;
    const release = m.outInBuf ? () => {
      if (--pending === 0) this.recycle(outBuf);
    } : undefined;
    for (let i = 0; i < b.items.length; i++) {
      const w = m.results[i]!;
      const r = w.rest as unknown as SegmentResult & Record<string, unknown>;
      if (m.extents) {
        const [from, count] = w.rest['extents'] as [number, number];
        r.extents = unpackExtents(m.extents, from, count);
      }
      for (const [name, off, len] of w.bins) {
        // data is a view (one buffer per batch); smaller byte fields may be kept long: copies
        r[name] = name === 'data' ? out.subarray(off, off + len) : out.slice(off, off + len);
      }
      if (release) {
        let once = false;
        r.release = () => {
          if (once) return;
          once = true;
          release();
        };
      }
      b.items[i]!.resolve(r);
    }
  }

  private fail(e: Error): void {
    this.failed = e;
    const err = new ErofsError('EIO', `compression worker failed: ${e.message}`, undefined, { cause: e });
    for (const b of this.inflight.values()) for (const it of b.items) it.reject(err);
    this.inflight.clear();
    if (this.open) for (const it of this.open.items) it.reject(err);
    this.open = undefined;
  }

  /**
   * Keeps `buf` for reuse. The oldest buffers make room, so what is kept
   * follows what is used now (segment buffers of large files, batch buffers
   * of small ones).
   */
  private recycle(buf: ArrayBuffer): void {
    const n = buf.byteLength;
    if (n % BUF_CLASS !== 0 || n > FREE_BYTES) return;
    this.free.push(buf);
    this.freeBytes += n;
    while (this.freeBytes > FREE_BYTES) this.freeBytes -= this.free.shift()!.byteLength;
  }

  /** A buffer of `cap` bytes (a multiple of BUF_CLASS), or up to twice that: reused when possible. */
  private take(cap: number): ArrayBuffer {
    let k = -1;
    for (let i = this.free.length - 1; i >= 0; i--) {
      const n = this.free[i]!.byteLength;
      if (n === cap) {
        k = i;
        break;
      }
      if (n > cap && n <= 2 * cap && (k < 0 || n < this.free[k]!.byteLength)) k = i;
    }
    if (k >= 0) {
      const b = this.free.splice(k, 1)[0]!;
      this.freeBytes -= b.byteLength;
      return b;
    }
    return new ArrayBuffer(cap);
  }

  /**
   * A buffer for `n` bytes of input to pass to {@link run} (which takes it
   * over): recycled when possible. Small sizes get a fresh array (they are
   * copied into a batch by run).
   */
  buffer(n: number): Uint8Array {
    if (this.workers.length === 0 || n <= SMALL) return new Uint8Array(n);
    return new Uint8Array(this.take(Math.ceil(n / BUF_CLASS) * BUF_CLASS), 0, n);
  }

  /**
   * Room for a small segment of `n` bytes right in the batch that
   * {@link run} would copy it into (so a reader can fill it in place), or
   * null (no workers, or too large: use {@link buffer}). The view is valid
   * only until the next call into the pool or the next turn of the event
   * loop: fill it and pass it to run() synchronously.
   */
  slot(n: number, spec: CompressionSpec): Uint8Array | null {
    if (this.workers.length === 0 || n > SMALL || this.failed) return null;
    let b = this.open;
    if (b && (b.spec !== spec || b.used + n > b.buf.byteLength)) {
      this.flush();
      b = undefined;
    }
    if (!b) b = this.open = { buf: this.take(BATCH_BYTES), used: 0, items: [], spec, worker: 0 };
    return new Uint8Array(b.buf, b.used, n);
  }

  /**
   * Compresses one segment. `src` is taken over (transferred to a worker,
   * or copied into a batch): do not reuse it.
   */
  async run(src: Uint8Array, params: SegmentParams, spec: CompressionSpec): Promise<SegmentResult> {
    if (this.failed) throw new ErofsError('EIO', `compression worker failed: ${this.failed.message}`);
    if (this.workers.length === 0) {
      const key = JSON.stringify(spec);
      let c = this.inline.get(key);
      if (!c) {
        await prepareCompressor(spec);
        c = new Compressor(spec);
        this.inline.set(key, c);
      }
      let r: SegmentResult;
      c.hold(src);
      try {
        r = compressSegment(src, params, c);
      } finally {
        c.release();
      }
      if (src.byteOffset === 0 && src.buffer.byteLength % BUF_CLASS === 0) this.recycle(src.buffer as ArrayBuffer);
      return r;
    }
    return new Promise<SegmentResult>((resolve, reject) => {
      const item: Item = { off: 0, len: src.length, params, resolve, reject };
      if (src.length > SMALL) {
        this.flush();
        const own = src.byteOffset === 0 ? src : src.slice();
        this.send({ buf: own.buffer as ArrayBuffer, used: own.length, items: [item], spec, worker: 0 });
        return;
      }
      let b = this.open;
      if (b && (b.spec !== spec || b.used + src.length > b.buf.byteLength)) {
        this.flush();
        b = undefined;
      }
      if (!b) b = this.open = { buf: this.take(BATCH_BYTES), used: 0, items: [], spec, worker: 0 };
      item.off = b.used;
      // a slot() view is in place already
      if (src.buffer !== b.buf || src.byteOffset !== b.used) new Uint8Array(b.buf, b.used, src.length).set(src);
      b.used += src.length;
      b.items.push(item);
      if (b.used >= BATCH_BYTES - 4096 || b.items.length >= BATCH_ITEMS) this.flush();
      else if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => {
          this.flushQueued = false;
          this.flush();
        });
      }
    });
  }

  /** Sends the open batch, if any. */
  private flush(): void {
    const b = this.open;
    this.open = undefined;
    if (!b) return;
    if (b.items.length === 0) {
      this.recycle(b.buf);
      return;
    }
    if (b.used < b.buf.byteLength / 4) {
      // mostly empty (the reader had to wait): send a copy of exactly what it
      // holds and keep the large buffer here, so waiting does not multiply them
      const buf = b.buf;
      b.buf = buf.slice(0, b.used);
      this.recycle(buf);
    }
    this.send(b);
  }

  private send(b: Batch): void {
    if (this.failed) {
      for (const it of b.items) it.reject(new ErofsError('EIO', `compression worker failed: ${this.failed.message}`));
      return;
    }
    let k = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[k]!) k = i;
    b.worker = k;
    this.load[k]! += b.used;
    const id = this.nextId++;
    this.inflight.set(id, b);
    const msg: BatchMessage = { id, buf: b.buf, items: b.items.map((it) => ({ off: it.off, len: it.len, params: it.params })), spec: b.spec };
    this.workers[k]!.postMessage(msg, [b.buf]);
  }

  async close(): Promise<void> {
    this.flush();
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.free.length = 0;
    this.freeBytes = 0;
  }
}
