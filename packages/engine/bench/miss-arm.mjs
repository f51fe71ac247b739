/**
 * One arm of bench/share-bench.mjs's miss-path comparison per process, for
 * CPU profiles: every file of the two bench images read whole by path, with
 * a cold cache, through the plain reader ('reader'), a mount ('miss') or a
 * mount with inode sharing ('share'). Build the images first with
 * `node bench/share-bench.mjs` (they live in $EROFS_SHARE_BENCH_DIR).
 * Run (from packages/engine):
 *   node [--cpu-prof] --conditions=source --import tsx bench/miss-arm.mjs reader|miss|share [RUNS]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const { PageCache, mount, fromReaderImage } = await import('@erofs/engine');
const { openImageFile } = await import('@erofs/reader/node');
const DIR = process.env.EROFS_SHARE_BENCH_DIR ?? '/tmp/erofs-share-bench';
const images = [`${DIR}/v1.erofs`, `${DIR}/v2.erofs`];
const arm = process.argv[2] ?? 'reader';
const runs = Number(process.argv[3] ?? 1);
const LIST = `${DIR}/file-lists.json`;
let lists;
if (existsSync(LIST)) lists = JSON.parse(readFileSync(LIST, 'utf8'));
else {
  lists = [];
  for (const p of images) {
    const img = await openImageFile(p);
    const m = await mount(fromReaderImage(img), { cache: new PageCache({ maxBytes: 1 << 20 }) });
    const files = [];
    for await (const e of m.walk('/')) if (e.type === 'file') files.push(e.path);
    lists.push(files);
    await img.close();
  }
  writeFileSync(LIST, JSON.stringify(lists));
}
for (const p of images) readFileSync(p);
for (let r = 0; r < runs; r++) {
  const imgs = [];
  for (const p of images) imgs.push(await openImageFile(p));
  let mounts = null, cache = null;
  if (arm !== 'reader') {
    cache = new PageCache({ maxBytes: Number.MAX_SAFE_INTEGER });
    mounts = [];
    for (const img of imgs) mounts.push(await mount(fromReaderImage(img), arm === 'share' ? { cache, inodeShare: true, domainId: 'b' } : { cache }));
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (let k = 0; k < imgs.length; k++) for (const p of lists[k]) n += (await (mounts ? mounts[k] : imgs[k]).readFile(p)).length;
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(`${arm}: ${ms.toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU, ${n} bytes`);
  if (mounts) for (const m of mounts) await m.unmount();
  for (const i of imgs) await i.close();
}
