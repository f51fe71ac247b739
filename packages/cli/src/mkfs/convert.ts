/**
 * mkfs-erofs with a tar or OCI source (`--tar`, `--oci`): the tar stream is
 * parsed by @erofs/oci and every regular file's body goes straight into
 * ImageWriter.writeData (which fingerprints it while it passes), so neither
 * a layer nor a file is ever held whole, and nothing is extracted to disk.
 *
 * `--tar=i` (index mode) writes no file data: the tar file becomes the
 * image's extra device 1 and each regular file a single chunk pointing at
 * its body there (ImageWriter.addExternal); bodies are only hashed (with
 * --ishare_key) or skipped. `--oci=i` does the same per layer: each
 * uncompressed layer blob file (layout) or the whole archive (oci-archive,
 * docker-archive: blob offset + member offset) is an extra device.
 *
 * Failure leaves nothing behind: the writer builds under a temporary name
 * and removes it on abort; per-layer images already finished by this run
 * are removed too, and a `--ungzip=FILE` copy is written under a temporary
 * name and renamed only on success.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErofsError } from '@erofs/format';
import { ImageWriter, type FileData } from '@erofs/writer';
import {
  decompress, flattenLayers, LayerStack, layerTree, openImage, tarToTree,
  type ByteInput, type OciImage, type OciLayer, type WriteData,
} from '@erofs/oci';
import type { MkfsBuildArgs, MkfsScanOptions } from './options.js';
import type { OciSource, TarSource } from './source-options.js';
import type { BuildSummary, InodeNode, ProgressFn, Timestamp, WriterOptions } from './writer-types.js';

/** What one conversion produced (for the summary). */
export interface ConvertResult {
  /** Images written, with their summaries (IMAGE first, then per-layer images in layer order). */
  images: Array<{ path: string; summary: BuildSummary; layer?: string }>;
}

/** Where the CLI reads stdin from (tests pass their own). */
export interface ConvertIo {
  stdin: NodeJS.ReadableStream & AsyncIterable<Uint8Array>;
}

/** The writer options for a tar/OCI build: the -x tolerance travels with them (no directory walk here). */
function writerOptionsFor(args: MkfsBuildArgs): WriterOptions {
  return { ...args.writerOptions, xattrTolerance: args.scanOptions.xattrTolerance };
}

/**
 * Builds one image at `out` from a tree produced by `build`, which receives
 * the writeData callback. Any failure aborts the writer (no image, no temp file).
 */
async function buildOne(out: string, opts: WriterOptions, scan: MkfsScanOptions, progress: ProgressFn | undefined,
  build: (writeData: WriteData) => Promise<InodeNode>, index?: IndexPlan): Promise<BuildSummary> {
  const w = await ImageWriter.create(out, index ? { ...opts, extraDevices: index.devices } : opts, progress);
  let root: InodeNode;
  try {
    root = await build(index ? indexWriteData(w, index, opts.ishareKey !== undefined)
      : (body, size, path, xattrs): Promise<FileData> => w.writeData(body, size, path, xattrs));
    rewriteTree(root, scan);
  } catch (e) {
    await w.abort();
    throw e;
  }
  return w.finish(root);
}

/**
 * Applies ownership and time options to a finished tree (what the directory
 * walk does while scanning): --force-uid/--force-gid/--all-root, the id
 * offsets, and the mtime policy (-T, SOURCE_DATE_EPOCH clamping).
 */
export function rewriteTree(root: InodeNode, scan: MkfsScanOptions): void {
  const seen = new Set<InodeNode>();
  const later = (a: Timestamp, b: Timestamp): boolean => a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
  const idOf = (id: number, force: number | undefined, offset: number, what: string): number => {
    const v = (force ?? id) + offset;
    if (v > 0xffffffff) throw new ErofsError('EINVAL', `${what} ${v} is out of range after --${what}-offset`, '/');
    return v;
  };
  const visit = (n: InodeNode): void => {
    if (seen.has(n)) return;
    seen.add(n);
    n.uid = idOf(n.uid, scan.forceUid, scan.uidOffset, 'uid');
    n.gid = idOf(n.gid, scan.forceGid, scan.gidOffset, 'gid');
    const p = scan.mtime;
    if (p.mode === 'fixed') n.mtime = { ...p.time };
    else if (p.mode === 'clamp' && later(n.mtime, p.time)) n.mtime = { ...p.time };
    if (n.entries) for (const { node } of n.entries.values()) visit(node);
  };
  visit(root);
}

/** Warnings of the tar reader (skipped members), printed unless quiet. */
function warner(args: MkfsBuildArgs, err: NodeJS.WritableStream): (message: string, where: string) => void {
  return (message, where) => {
    if (!args.quiet && args.debugLevel > 0) err.write(`mkfs-erofs: warning: ${message} @ ${where}\n`);
  };
}

/** Runs a tar or OCI conversion. `image` is the checked absolute IMAGE path ('' when only --per-layer). */
export async function convert(args: MkfsBuildArgs, image: string, io: ConvertIo, err: NodeJS.WritableStream,
  progress: ProgressFn | undefined): Promise<ConvertResult> {
  const input = args.input!;
  if (input.kind === 'tar' && input.mode === 'i') return convertTarIndex(args, input, image, err, progress);
  return input.kind === 'tar'
    ? convertTar(args, input, image, io, err, progress)
    : convertOci(args, input, image, err, progress);
}

/** Tar records: index mode addresses the tar in these (the image's block size). */
const TAR_BLOCK = 512;

/**
 * `--tar=i`: the image refers to the file data in the tar (extra device 1,
 * whose size is the tar's in 512-byte blocks). The tar must be an
 * uncompressed file: offsets into a compressed stream address nothing.
 */
async function convertTarIndex(args: MkfsBuildArgs, src: TarSource, image: string, err: NodeJS.WritableStream,
  progress: ProgressFn | undefined): Promise<ConvertResult> {
  const where = src.path;
  const fh = await open(src.path, 'r');
  let size: number;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ErofsError('EINVAL', '--tar=i needs a regular file (the image refers to its data)', where);
    size = st.size;
    const magic = new Uint8Array(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0);
    const m = magic.subarray(0, bytesRead);
    if ((m[0] === 0x1f && m[1] === 0x8b) || (m[0] === 0x28 && m[1] === 0xb5 && m[2] === 0x2f && m[3] === 0xfd)) {
      throw new ErofsError('EINVAL', `--tar=i needs an uncompressed tar (this one is ${m[0] === 0x1f ? 'gzip' : 'zstd'}-compressed; decompress it first)`, where);
    }
  } finally {
    await fh.close();
  }
  const tag = new TextEncoder().encode(basename(src.path));
  const opts: WriterOptions = {
    ...writerOptionsFor(args),
    extraDevices: [{ tag: tag.subarray(0, Math.min(tag.length, 64)), blocks: Math.ceil(size / TAR_BLOCK) }],
  };
  const hashing = opts.ishareKey !== undefined;
  const w = await ImageWriter.create(image, opts, progress);
  const raw = createReadStream(src.path, { highWaterMark: 1 << 20 });
  let root: InodeNode;
  try {
    root = await tarToTree(raw, {
      compression: 'none', where, aufs: src.aufs, ovlfsStrip: src.ovlfsStrip, onWarning: warner(args, err),
      writeData: async (body, n, path, _xattrs, member): Promise<FileData> => {
        const off = member?.dataOffset;
        if (off === undefined || off % TAR_BLOCK !== 0) throw new ErofsError('EINVAL', `tar member data at offset ${off} is not 512-byte aligned`, path);
        let digest: Uint8Array | undefined;
        if (hashing && n > 0) {
          const h = createHash('sha256');
          for await (const c of body) h.update(c);
          digest = new Uint8Array(h.digest());
        }
        // an unread body is skipped by the tar reader
        return w.addExternal(n, { deviceId: 1, startBlk: off / TAR_BLOCK }, digest);
      },
    });
    rewriteTree(root, args.scanOptions);
  } catch (e) {
    await w.abort();
    throw e;
  } finally {
    raw.destroy();
  }
  const summary = await w.finish(root);
  return { images: [{ path: image, summary }] };
}

async function convertTar(args: MkfsBuildArgs, src: TarSource, image: string, io: ConvertIo, err: NodeJS.WritableStream,
  progress: ProgressFn | undefined): Promise<ConvertResult> {
  const where = src.path === '-' ? 'stdin' : src.path;
  const raw: ByteInput = src.path === '-' ? io.stdin : createReadStream(src.path, { highWaterMark: 1 << 20 });
  let dump: { stream: WriteStream; tmp: string; final: string } | undefined;
  let tar: ByteInput = decompress(raw, { compression: src.compression, where });
  if (src.dumpFile !== undefined) {
    const final = resolve(src.dumpFile);
    const tmp = join(dirname(final), `.${basename(final)}.${process.pid}.tmp`);
    dump = { stream: createWriteStream(tmp, { flags: 'wx' }), tmp, final };
    tar = tee(tar, dump.stream);
  }
  try {
    const summary = await buildOne(image, writerOptionsFor(args), args.scanOptions, progress, (writeData) =>
      tarToTree(tar, {
        writeData, compression: 'none', where, aufs: src.aufs, ovlfsStrip: src.ovlfsStrip, onWarning: warner(args, err),
      }));
    if (dump) {
      await closeStream(dump.stream);
      await rename(dump.tmp, dump.final);
    }
    return { images: [{ path: image, summary }] };
  } catch (e) {
    if (dump) {
      dump.stream.destroy();
      await rm(dump.tmp, { force: true });
    }
    throw e;
  } finally {
    if (raw !== io.stdin) (raw as NodeJS.ReadableStream & { destroy(): void }).destroy();
  }
}

/** Passes chunks through while copying them to `out` (with back-pressure). */
async function* tee(input: ByteInput, out: WriteStream): AsyncGenerator<Uint8Array> {
  for await (const c of input) {
    if (!out.write(c)) await new Promise<void>((res, rej) => { out.once('drain', res); out.once('error', rej); });
    yield c;
  }
}

function closeStream(s: WriteStream): Promise<void> {
  return new Promise((res, rej) => {
    s.once('error', rej);
    s.end(() => res());
  });
}

/** File name of a per-layer image: the layer digest with ':' -> '-', plus .erofs. */
export function layerImageName(digest: string): string {
  return `${digest.replace(':', '-')}.erofs`;
}

/**
 * `--oci=i`: where the layers' tars lie. Each layer blob must be an
 * uncompressed tar; its file is an extra device (a layout's blob file, or the
 * whole archive, once, for an oci-archive/docker-archive), and a member's
 * data is at (blob offset + member data offset) / 512 there.
 */
interface IndexPlan {
  devices: Array<{ tag: Uint8Array; blocks: number }>;
  /** Per layer (in the order planned): its device and the blob's offset in it. */
  layers: Array<{ deviceId: number; offset: number; digest: string }>;
}

async function indexPlan(layers: readonly OciLayer[]): Promise<IndexPlan> {
  const plan: IndexPlan = { devices: [], layers: [] };
  const byFile = new Map<string, number>();
  for (const l of layers) {
    const loc = await l.locate();
    const m = loc.magic;
    const kind = m[0] === 0x1f && m[1] === 0x8b ? 'gzip' : m[0] === 0x28 && m[1] === 0xb5 && m[2] === 0x2f && m[3] === 0xfd ? 'zstd' : undefined;
    if (kind) {
      throw new ErofsError('EOPNOTSUPP', `--oci=i (index mode) needs uncompressed layers, but this layer is ${kind}-compressed (use --oci=f, or decompress its layers first)`, l.digest);
    }
    if (loc.offset % TAR_BLOCK !== 0) throw new ErofsError('EINVAL', `layer blob at offset ${loc.offset} of ${loc.file} is not 512-byte aligned`, l.digest);
    let id = byFile.get(loc.file);
    if (id === undefined) {
      const tag = new TextEncoder().encode(basename(loc.file));
      plan.devices.push({ tag: tag.subarray(0, Math.min(tag.length, 64)), blocks: Math.ceil(loc.fileSize / TAR_BLOCK) });
      id = plan.devices.length;
      byFile.set(loc.file, id);
    }
    plan.layers.push({ deviceId: id, offset: loc.offset, digest: l.digest });
  }
  return plan;
}

/** writeData for index mode: places each body where it lies in its layer's device (hashing it for --ishare_key). */
function indexWriteData(w: ImageWriter, plan: IndexPlan, hashing: boolean): WriteData {
  return async (body, n, path, _xattrs, member): Promise<FileData> => {
    const l = plan.layers.length === 1 ? plan.layers[0] : plan.layers[member?.layer ?? -1];
    if (!l || member === undefined) throw new ErofsError('EINVAL', 'internal: file data without its layer position', path);
    const off = l.offset + member.dataOffset;
    if (off % TAR_BLOCK !== 0) throw new ErofsError('EINVAL', `tar member data at offset ${off} is not 512-byte aligned`, path);
    let digest: Uint8Array | undefined;
    if (hashing && n > 0) {
      const h = createHash('sha256');
      for await (const c of body) h.update(c);
      digest = new Uint8Array(h.digest());
    }
    // an unread body is skipped by the tar reader
    return w.addExternal(n, { deviceId: l.deviceId, startBlk: off / TAR_BLOCK }, digest);
  };
}

async function convertOci(args: MkfsBuildArgs, src: OciSource, image: string, err: NodeJS.WritableStream,
  progress: ProgressFn | undefined): Promise<ConvertResult> {
  const img: OciImage = await openImage(src.path, src.platform !== undefined ? { platform: src.platform } : {});
  const done: string[] = [];
  const result: ConvertResult = { images: [] };
  const opts = writerOptionsFor(args);
  const onWarning = warner(args, err);
  const index = src.mode === 'i';
  try {
    const layers: OciLayer[] = img.layers;
    if (layers.length === 0) throw new ErofsError('EINVAL', 'the image has no layers', src.path);
    if (src.layer !== undefined || src.blob !== undefined) {
      const l = src.layer !== undefined ? layers[src.layer] : layers.find((x) => x.digest === src.blob || x.diffId === src.blob);
      if (!l) {
        throw new ErofsError('ENOENT', src.layer !== undefined
          ? `no layer ${src.layer} (the image has ${layers.length}: 0..${layers.length - 1})`
          : `no layer with digest ${src.blob}`, src.path);
      }
      const plan = index ? await indexPlan([l]) : undefined;
      // One layer alone is an overlayfs lower dir: keep its whiteouts in overlayfs form.
      const summary = await buildOne(image, opts, args.scanOptions, progress, (writeData) =>
        layerTree(l, { writeData, ovlfsStrip: src.ovlfsStrip, onWarning }), plan);
      return { images: [{ path: image, summary, layer: l.digest }] };
    }
    // Index mode: every layer is checked (uncompressed, aligned) before any image is written.
    const plans = index ? await Promise.all(layers.map((l) => indexPlan([l]))) : undefined;
    if (image !== '') {
      const plan = index ? await indexPlan(layers) : undefined;
      // Index mode writes no data, so one pass suffices: files deleted later are simply not referenced.
      const summary = await buildOne(image, opts, args.scanOptions, progress, (writeData) =>
        flattenLayers(layers, { writeData, onWarning, ...(index ? { passes: 1 as const } : {}) }), plan);
      done.push(image);
      result.images.push({ path: image, summary });
    }
    if (src.perLayerDir !== undefined) {
      const dir = resolve(src.perLayerDir);
      await mkdir(dir, { recursive: true });
      const names = new Set<string>();
      const stack = new LayerStack();
      for (const [li, l] of layers.entries()) {
        const out = join(dir, layerImageName(l.digest));
        // The same blob twice gives the same name; the later image (whose
        // implicit directories saw more layers below) replaces the earlier.
        names.add(out);
        const summary = await buildOne(out, opts, args.scanOptions, progress, (writeData) =>
          stack.next(l, { writeData, ovlfsStrip: src.ovlfsStrip, onWarning }), plans?.[li]);
        if (!done.includes(out)) done.push(out);
        result.images.push({ path: out, summary, layer: l.digest });
      }
    }
    return result;
  } catch (e) {
    for (const p of done) await rm(p, { force: true }).catch(() => undefined);
    throw e;
  } finally {
    await img.close().catch(() => undefined);
  }
}
