// Dev helper: times scanDirectory with and without xattrs (SRC).
import { scanDirectory } from '@erofs/writer';
const src = process.argv[2]!;
for (const x of [-1, 2, -1, 2]) {
  const t0 = performance.now();
  await scanDirectory(src, { xattrTolerance: x });
  console.log('xattrTolerance', x, ((performance.now() - t0) / 1000).toFixed(3), 's');
}
