/**
 * Worker-thread entry: compresses batches of segments sent by
 * {@link CompressPool}. Message: { id, buf, items: [{ off, len, params }], spec }.
 * Reply: { id, buf (handed back for reuse), out, results } with every
 * result's byte fields (data, idata, ...) packed one after another at the
 * start of `buf` (`outInBuf`, when they fit: the input is not needed any
 * more) or in `out` (a buffer of exactly their size), or { id, buf, error }.
 */
import { parentPort } from 'node:worker_threads';
import { Compressor, prepareCompressor } from './codec.js';
import { compressSegment, type SegmentResult } from './segment.js';
import type { BatchMessage, BatchReply, WireResult } from './pool.js';

const EXTENT_KEYS = new Set(['length', 'plen', 'raw', 'blk', 'inline', 'frag']);

/**
 * Packs extents as 4 numbers each (length, plen, blk, flags) when they have
 * only the known fields (structured cloning thousands of small objects per
 * segment costs more than compressing them with LZ4); null otherwise.
 */
function packExtents(list: SegmentResult['extents'][]): Float64Array | null {
  let n = 0;
  for (const ex of list) n += ex.length;
  const a = new Float64Array(n * 4);
  let i = 0;
  for (const ex of list) {
    for (const e of ex) {
      const o = e as unknown as Record<string, unknown>;
      for (const k in o) if (!EXTENT_KEYS.has(k) || (k !== 'length' && k !== 'plen' && k !== 'blk' && typeof o[k] !== 'boolean')) return null;
      if (typeof e.length !== 'number' || typeof e.plen !== 'number' || typeof e.blk !== 'number') return null;
      a[i++] = e.length;
      a[i++] = e.plen;
      a[i++] = e.blk;
      a[i++] = (e.raw ? 1 : 0) | (e.inline !== undefined ? 2 : 0) | (e.inline ? 4 : 0) | (e.frag !== undefined ? 8 : 0) | (e.frag ? 16 : 0);
    }
  }
  return a;
}

const compressors = new Map<string, Compressor>();

async function compressorFor(spec: BatchMessage['spec']): Promise<Compressor> {
  const key = JSON.stringify(spec);
  let c = compressors.get(key);
  if (!c) {
    await prepareCompressor(spec);
    c = new Compressor(spec);
    compressors.set(key, c);
  }
  return c;
}

/**
 * Where segments' physical blocks are written before they are packed into the
 * reply (reused from batch to batch: no fresh buffer, no page faults, per
 * segment).
 */
let arena = new Uint8Array(0);

function handle(job: BatchMessage, c: Compressor): void {
  const results: SegmentResult[] = [];
  let need = 0;
  for (const it of job.items) {
    const bs = 1 << it.params.blkszbits;
    need += Math.ceil(it.len / bs) * bs + bs;
  }
  if (arena.length < need) arena = new Uint8Array(Math.max(need, Math.min(arena.length * 2, 64 << 20)));
  let at = 0;
  let total = 0;
  for (const it of job.items) {
    const src = new Uint8Array(job.buf, it.off, it.len);
    const bs = 1 << it.params.blkszbits;
    let r: SegmentResult;
    c.hold(src);
    try {
      r = compressSegment(src, it.params, c, arena.subarray(at, at + Math.ceil(it.len / bs) * bs + bs));
    } finally {
      c.release();
    }
    if (r.data.buffer === arena.buffer) at = r.data.byteOffset + r.data.length;
    results.push(r);
    for (const v of Object.values(r)) if (v instanceof Uint8Array) total += v.length;
  }
  // The input is not needed any more: when the results fit, they go back in
  // its buffer (one transfer, and the pool reuses that buffer once they are
  // written). None of them is a view of it (fragments and tails are copies).
  const inBuf = total <= job.buf.byteLength;
  const out = inBuf ? new Uint8Array(job.buf, 0, total) : new Uint8Array(total);
  at = 0;
  const packed = packExtents(results.map((r) => r.extents));
  let first = 0;
  const wire: WireResult[] = results.map((r) => {
    const rest: Record<string, unknown> = {};
    if (packed) {
      rest['extents'] = [first, r.extents.length];
      first += r.extents.length;
    }
    const bins: WireResult['bins'] = [];
    for (const [k, v] of Object.entries(r)) {
      if (packed && k === 'extents') continue;
      if (v instanceof Uint8Array) {
        out.set(v, at);
        bins.push([k, at, v.length]);
        at += v.length;
      } else {
        rest[k] = v;
      }
    }
    return { rest, bins };
  });
  const reply: BatchReply = { id: job.id, buf: job.buf, results: wire };
  const transfer: ArrayBuffer[] = [job.buf];
  if (inBuf) reply.outInBuf = true;
  else {
    reply.out = out.buffer;
    transfer.push(out.buffer);
  }
  if (packed) {
    reply.extents = packed;
    transfer.push(packed.buffer as ArrayBuffer);
  }
  parentPort!.postMessage(reply, transfer);
}

let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (job: BatchMessage) => {
  // in order, even while the first compressor loads
  queue = queue.then(async () => {
    try {
      handle(job, await compressorFor(job.spec));
    } catch (e) {
      const reply: BatchReply = { id: job.id, buf: job.buf, error: { message: (e as Error).message, code: (e as { code?: string }).code } };
      parentPort!.postMessage(reply, [job.buf]);
    }
  });
});
