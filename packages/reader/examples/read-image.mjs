#!/usr/bin/env node
// Lists an EROFS image and prints one file, without a kernel or root:
//   node --conditions=source --import tsx packages/reader/examples/read-image.mjs IMAGE [PATH]
// (after `pnpm install`, plain `node` works too: the package's dist is used).
import { openImageFile, createNodeReadStream } from '@erofs/reader/node';

const [image, file] = process.argv.slice(2);
if (!image) {
  console.error('usage: read-image.mjs IMAGE [PATH]');
  process.exit(2);
}
const img = await openImageFile(image);
console.log(`${image}: block size ${img.sb.blksz}, features ${img.sb.featureNames.join(' ')}`);
for (const d of await img.readdir('/', { withFileTypes: true })) {
  const st = await img.lstat(`/${d.name}`);
  console.log(`${d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : '-'} ${st.mode.toString(8).padStart(6, '0')} ${String(st.size).padStart(8)} ${d.name}`);
}
if (file) {
  console.log(`xattrs of ${file}: ${(await img.listxattr(file)).join(', ') || '(none)'}`);
  createNodeReadStream(img, file).pipe(process.stdout);
}
