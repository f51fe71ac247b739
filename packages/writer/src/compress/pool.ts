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

interface Pending {
  resolve: (r: SegmentResult) => void;
  reject: (e: Error) => void;
}

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

/** A fixed set of workers taking segments in submission order. */
export class CompressPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly inline = new Map<string, Compressor>();
  private failed: Error | undefined;
  readonly entry: WorkerEntry | undefined;

  constructor(readonly size: number) {
    if (size > 0) {
      this.entry = workerEntry();
      for (let i = 0; i < size; i++) {
        const w = new Worker(this.entry.script, { eval: this.entry.eval, execArgv: this.entry.execArgv });
        w.unref();
        w.on('message', (m: { id: number; result?: SegmentResult; error?: { message: string; code?: string } }) => {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          this.busy[i]!--;
          if (m.error) p.reject(new ErofsError((m.error.code as 'EIO') ?? 'EIO', `compression failed: ${m.error.message}`));
          else p.resolve(m.result!);
        });
        w.on('error', (e) => this.fail(e));
        this.workers.push(w);
        this.busy.push(0);
      }
    }
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.pending.values()) p.reject(new ErofsError('EIO', `compression worker failed: ${e.message}`, undefined, { cause: e }));
    this.pending.clear();
  }

  /** Compresses one segment; `src` is transferred to the worker (do not reuse it). */
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
      return compressSegment(src, params, c);
    }
    let k = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[k]!) k = i;
    const id = this.nextId++;
    this.busy[k]!++;
    return new Promise<SegmentResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const own = src.byteOffset === 0 && src.byteLength === src.buffer.byteLength ? src : src.slice();
      this.workers[k]!.postMessage({ id, src: own, params, spec }, [own.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
