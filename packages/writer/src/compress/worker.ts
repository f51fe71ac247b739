/**
 * Worker-thread entry: compresses segments sent by {@link CompressPool}.
 * Messages: { id, src, params, spec } -> { id, result } or { id, error }.
 */
import { parentPort } from 'node:worker_threads';
import { Compressor, prepareCompressor } from './codec.js';
import { compressSegment, type SegmentParams } from './segment.js';
import type { CompressionSpec } from './spec.js';

interface Job {
  id: number;
  src: Uint8Array;
  params: SegmentParams;
  spec: CompressionSpec;
}

const compressors = new Map<string, Compressor>();

parentPort!.on('message', (job: Job) => {
  void (async () => {
    try {
      const key = JSON.stringify(job.spec);
      let c = compressors.get(key);
      if (!c) {
        await prepareCompressor(job.spec);
        c = new Compressor(job.spec);
        compressors.set(key, c);
      }
      const result = compressSegment(job.src, job.params, c);
      const transfer: ArrayBuffer[] = [result.data.buffer as ArrayBuffer];
      parentPort!.postMessage({ id: job.id, result }, transfer);
    } catch (e) {
      parentPort!.postMessage({ id: job.id, error: { message: (e as Error).message, code: (e as { code?: string }).code } });
    }
  })();
});
