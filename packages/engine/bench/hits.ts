/**
 * Cached-read (hit) throughput of the engine: a 64 MiB file, fully resident,
 * read again through FileHandle.read in several request sizes, through a
 * private space, a shared (inode-share) space and a blob space.
 * Run: node --conditions=source --import tsx packages/engine/bench/hits.ts
 */
import { PageCache, mount, type BackingImage, type BackingFile, type FileHandle } from '@erofs/engine';

const SIZE = 64 << 20;
const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i += 4096) data[i] = i & 0xff;

function image(chunked: boolean): BackingImage<unknown> {
  const fp = new TextEncoder().encode('sha256:bench-file-fingerprint-0000000');
  const file: BackingFile = {
    key: '1', size: SIZE, isRegular: true, readPath: 'plain', fingerprint: fp,
    read: async (pos, len) => data.subarray(pos, Math.min(SIZE, pos + len)),
  };
  if (chunked) file.mapExtent = async (pos) => ({ la: pos - (pos % (1 << 20)), llen: 1 << 20, deviceId: 1, pa: pos - (pos % (1 << 20)) });
  return {
    blockSize: 4096, compatIshare: true,
    blobs: chunked ? [{ tag: 'blob', size: SIZE, read: async (pos, len) => data.subarray(pos, pos + len) }] : [],
    stat: async () => ({}), lstat: async () => ({}), readdir: async () => [], readlink: async () => '',
    getxattr: async () => new Uint8Array(0), listxattr: async () => [], openFile: async () => file,
  };
}

async function pass(h: FileHandle, req: number, buf: Uint8Array): Promise<void> {
  for (let pos = 0; pos < SIZE; pos += req) await h.read(buf, 0, req, pos);
}

async function run(label: string, h: FileHandle): Promise<void> {
  const cold = performance.now();
  await pass(h, 1 << 20, new Uint8Array(1 << 20));
  const coldMs = performance.now() - cold;
  const row = [`${label.padEnd(8)} cold(1MiB reads) ${(SIZE / 1e6 / coldMs).toFixed(2)} GB/s`];
  for (const req of [4096, 16384, 131072, 1 << 20]) {
    const buf = new Uint8Array(req);
    await pass(h, req, buf);
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const t = performance.now();
      await pass(h, req, buf);
      best = Math.min(best, performance.now() - t);
    }
    row.push(`${req >= 1 << 20 ? req >> 20 + 'MiB' : req >> 10 + 'KiB'}: ${(SIZE / 1e6 / best).toFixed(2)} GB/s`);
  }
  if (label === "blob") { console.log(row.join(" | ")); return; }
  // Synchronous hit path (no promise per read; private and shared spaces).
  const buf = new Uint8Array(131072);
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    for (let pos = 0; pos < SIZE; pos += buf.length) if (h.readCached(buf, 0, buf.length, pos) < 0) throw new Error('miss');
    best = Math.min(best, performance.now() - t);
  }
  row.push(`readCached 128KiB: ${(SIZE / 1e6 / best).toFixed(2)} GB/s`);
  console.log(row.join(' | '));
}

const cache = new PageCache({ maxBytes: 1 << 30 });
await run('private', await (await mount(image(false), { cache })).open('/f'));
await run('shared', await (await mount(image(false), { cache, inodeShare: true, domainId: 'd' })).open('/f'));
await run('blob', await (await mount(image(true), { cache, blobShare: true, domainId: 'd' })).open('/f'));
console.log('resident', cache.stats().residentBytes >> 20, 'MiB');
