// Dev helper: node --conditions=source --import tsx packages/writer/bench/build-dir.ts SRC OUT [JSON WriterOptions overrides]
// Prints the BuildSummary, scan/total seconds and peak RSS.
import { scanDirectory, buildImage, defaultWriterOptions } from '@erofs/writer';
const src = process.argv[2]!, out = process.argv[3]!;
const extra = JSON.parse(process.argv[4] ?? '{}');
const t0 = performance.now();
const root = await scanDirectory(src, {});
const t1 = performance.now();
const opts = { ...defaultWriterOptions(), ...extra };
const s = await buildImage(root, opts, out);
console.log(JSON.stringify(s), 'scan', ((t1-t0)/1000).toFixed(3), 'total', ((performance.now()-t0)/1000).toFixed(3), 'rss', (process.resourceUsage().maxRSS/1024).toFixed(0), 'MB');
