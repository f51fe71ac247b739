// Streaming tar reader: formats, numeric fields, pax records, compression,
// and the failures a damaged or hostile tar must produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, linkSync, readFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ErofsError } from '@erofs/format';
import { readTar, decompress, parseNumeric, parsePaxTime, type TarEntry } from '../src/index.js';
import { chunked, concat, have, makeTar, run } from './lib.js';

const td = new TextDecoder();

async function list(input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts = {}): Promise<(Omit<TarEntry, 'body' | 'skip'> & { content: string })[]> {
  const out = [];
  for await (const e of readTar(decompress(input), opts)) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body) parts.push(new Uint8Array(c));
    out.push({ ...e, content: td.decode(concat(parts)) });
  }
  return out;
}

async function fails(input: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(list(input), (e: unknown) => {
    assert.ok(e instanceof ErofsError, `not an ErofsError: ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, re);
    return true;
  });
}

test('numeric fields: octal, blank, base-256 positive and negative', () => {
  const f = (s: number[] | string) => typeof s === 'string' ? new TextEncoder().encode(s) : new Uint8Array(s);
  assert.equal(parseNumeric(f('0000644\0'), 0, 8, 'mode'), 0o644n);
  assert.equal(parseNumeric(f('   644 \0'), 0, 8, 'mode'), 0o644n);
  assert.equal(parseNumeric(f('\0\0\0\0\0\0\0\0'), 0, 8, 'x'), 0n);
  assert.equal(parseNumeric(f([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), 0, 12, 'size'), 256n);
  assert.equal(parseNumeric(f([0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]), 0, 12, 'size'), 2n ** 33n);
  assert.equal(parseNumeric(f([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 12, 'mtime'), -2n);
  assert.throws(() => parseNumeric(f('00009999'), 0, 8, 'mode'), /octal/);
});

test('pax times keep nanoseconds, negative ones count down', () => {
  assert.deepEqual(parsePaxTime('1700000000.123456789', 'x'), { sec: 1700000000n, nsec: 123456789 });
  assert.deepEqual(parsePaxTime('1700000000.5', 'x'), { sec: 1700000000n, nsec: 500000000 });
  assert.deepEqual(parsePaxTime('1.1234567891', 'x'), { sec: 1n, nsec: 123456789 });
  assert.deepEqual(parsePaxTime('-1.25', 'x'), { sec: -2n, nsec: 750000000 });
  assert.throws(() => parsePaxTime('12x', 'x'), /invalid pax time/);
});

test('hand-made ustar/pax/GNU members, read across tiny chunks', async () => {
  const longName = 'd/' + 'n'.repeat(200);
  const tar = makeTar([
    { name: 'd/', type: '5', mode: 0o750, uid: 7, gid: 8 },
    { name: 'x', pax: { path: longName, mtime: '1700000000.123456789', uid: '3000000', 'SCHILY.xattr.user.bin': new Uint8Array([0, 1, 2, 0xff]), 'LIBARCHIVE.xattr.user.b%3D64': 'aGVsbG8' }, body: 'long' },
    { name: '././@LongLink', type: 'L', body: 'e/' + 'g'.repeat(150) + '\0' },
    { name: 'trunc', body: 'gnu' },
    { name: 'hl', type: '1', linkname: longName.slice(0, 99) },
    { name: 'sl', type: '2', linkname: 'target' },
    { name: 'cd', type: '3', devmajor: 4, devminor: 64, mode: 0o620 },
    { name: 'bd', type: '4', pax: { 'SCHILY.devmajor': '259', 'SCHILY.devminor': '70000' } },
    { name: 'ff', type: '6' },
  ]);
  const es = await list(chunked(tar, 97));
  assert.deepEqual(es.map((e) => [e.type, td.decode(e.path)]), [
    ['dir', 'd'], ['file', longName], ['file', 'e/' + 'g'.repeat(150)], ['hardlink', 'hl'], ['symlink', 'sl'],
    ['chardev', 'cd'], ['blockdev', 'bd'], ['fifo', 'ff'],
  ]);
  assert.equal(es[0]!.mode, 0o750);
  assert.equal(es[1]!.content, 'long');
  assert.deepEqual(es[1]!.mtime, { sec: 1700000000n, nsec: 123456789 });
  assert.equal(es[1]!.uid, 3000000);
  assert.deepEqual([...es[1]!.xattrs.get('user.bin')!], [0, 1, 2, 0xff]);
  assert.equal(td.decode(es[1]!.xattrs.get('user.b=64')), 'hello');
  assert.equal(es[2]!.content, 'gnu');
  assert.equal(td.decode(es[4]!.linkpath), 'target');
  assert.deepEqual([es[5]!.devmajor, es[5]!.devminor], [4, 64]);
  assert.deepEqual([es[6]!.devmajor, es[6]!.devminor], [259, 70000]);
});

test('global pax headers supply defaults; a local record overrides', async () => {
  const tar = makeTar([
    { name: 'g', type: 'g', body: new TextDecoder().decode(concatPax({ uid: '42', 'SCHILY.xattr.user.g': 'all' })) },
    { name: 'a', body: 'A' },
    { name: 'b', body: 'B', pax: { uid: '7' } },
  ]);
  const es = await list([tar]);
  assert.deepEqual(es.map((e) => e.uid), [42, 7]);
  assert.equal(td.decode(es[1]!.xattrs.get('user.g')), 'all');
});

function concatPax(r: Record<string, string>): Uint8Array {
  return concat(Object.entries(r).map(([k, v]) => {
    const kv = ` ${k}=${v}\n`;
    let len = kv.length + 1;
    while (String(len).length + kv.length !== len) len = String(len).length + kv.length;
    return new TextEncoder().encode(len + kv);
  }));
}

test('unread bodies are skipped; early exit closes the source', async () => {
  const tar = makeTar([{ name: 'a', body: 'x'.repeat(3000) }, { name: 'b', body: 'y' }]);
  const names: string[] = [];
  for await (const e of readTar(chunked(tar, 511))) names.push(td.decode(e.path));
  assert.deepEqual(names, ['a', 'b']);
  // Stop part-way through a body, then move on: the rest is skipped.
  const seen: string[] = [];
  for await (const e of readTar([tar])) {
    for await (const c of e.body) { void c; break; }
    seen.push(td.decode(e.path));
  }
  assert.deepEqual(seen, ['a', 'b']);
});

test('back-pressure: the source is pulled only as the consumer reads', async () => {
  const tar = makeTar([{ name: 'big', body: new Uint8Array(1 << 20) }]);
  let pulled = 0;
  async function* src() {
    for (const c of chunked(tar, 4096)) {
      pulled += c.length;
      yield c;
    }
  }
  for await (const e of readTar(src())) {
    const it = e.body[Symbol.asyncIterator]();
    await it.next();
    assert.ok(pulled <= 8192 + 1024, `pulled ${pulled} bytes for one chunk`);
    await it.return?.();
  }
});

test('hostile and damaged tars fail with clear ErofsErrors', async () => {
  await fails([makeTar([{ name: 'a', body: 'x', badChecksum: true }])], 'EFSCORRUPTED', /checksum/);
  const t = makeTar([{ name: 'a', body: 'x'.repeat(2000) }]);
  await fails([t.subarray(0, 1000)], 'EFSCORRUPTED', /truncated.*@ a/);
  await fails([t.subarray(0, 300)], 'EFSCORRUPTED', /partial header/);
  await fails([makeTar([{ name: 'a', body: 'x' }], { end: false })], 'EFSCORRUPTED', /end-of-archive/);
  await fails([makeTar([{ name: 'a', body: 'xy', size: 1 << 20 }])], 'EFSCORRUPTED', /past the end/);
  await fails([makeTar([{ name: 'a', body: 'xy', pax: { size: '99999999' } }])], 'EFSCORRUPTED', /past the end/);
  await fails([makeTar([{ name: 'a', pax: { path: 'evil\0name' } }])], 'EINVAL', /NUL/);
  await fails([makeTar([{ name: 'a', type: '2', pax: { linkpath: 'x\0y' } }])], 'EINVAL', /NUL/);
  await fails([makeTar([{ name: 'a', pax: { mtime: 'soon' } }])], 'EFSCORRUPTED', /pax time/);
  await fails([makeTar([{ name: 'x', type: 'x', body: '99 path=a\n' }])], 'EFSCORRUPTED', /pax record/);
  await fails([makeTar([{ name: 'a', type: 'S', body: '' }])], 'EOPNOTSUPP', /sparse/);
  await fails([concat([new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), new Uint8Array(100).fill(0x55)])], 'EFSCORRUPTED', /gzip/);
  const gz = gzipSync(t);
  await fails([gz.subarray(0, gz.length - 20)], 'EFSCORRUPTED', /gzip|truncated/);
  // A missing end marker is accepted only when asked.
  const es = await list([makeTar([{ name: 'a', body: 'x' }], { end: false })], { allowMissingEnd: true });
  assert.equal(es.length, 1);
});

test('zstd: fzstd and the zstd program agree; damaged streams fail', async (t) => {
  if (!have('zstd')) return t.skip('skipped: zstd missing');
  const tar = makeTar([{ name: 'a', body: 'z'.repeat(100_000) }, { name: 'b', body: 'q' }]);
  const zst = run('zstd', ['-q', '-c'], { input: tar });
  for (const zstd of ['js', 'cli'] as const) {
    const names: string[] = [];
    for await (const e of readTar(decompress(chunked(zst, 7), { zstd }))) {
      names.push(td.decode(e.path));
      await e.skip();
    }
    assert.deepEqual(names, ['a', 'b'], zstd);
    const bad = new Uint8Array(zst);
    bad.fill(0x41, 12, 40);
    await assert.rejects(list2(decompress([bad], { zstd })), (e: unknown) => e instanceof ErofsError && e.code === 'EFSCORRUPTED', zstd);
    await assert.rejects(list2(decompress([zst.subarray(0, zst.length - 6)], { zstd })), (e: unknown) => e instanceof ErofsError && e.code === 'EFSCORRUPTED', zstd);
    // --unzstd on a gzip stream: the zstd program would decode it, we refuse it
    await assert.rejects(
      list2(decompress([gzipSync(tar)], { zstd, compression: 'zstd' })),
      (e: unknown) => e instanceof ErofsError && e.code === 'EFSCORRUPTED' && /not a Zstandard stream/.test(e.message),
      zstd,
    );
    // a skippable frame before the data is still Zstandard
    const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    assert.equal(await list2(decompress([concat([skippable, zst])], { zstd, compression: 'zstd' })), 100_001, zstd);
  }
});

async function list2(input: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const e of readTar(input)) for await (const c of e.body) n += c.length;
  return n;
}

test('GNU tar --format=posix --xattrs, plain, gzip and zstd', async (t) => {
  if (!have('tar') || !have('zstd')) return t.skip('skipped: GNU tar or zstd missing');
  const dir = mkdtempSync(join(tmpdir(), 'oci-tar-'));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(src, 'f'), 'hello\n');
  writeFileSync(join(src, 'sub', 'deeper', 'n'.repeat(180)), 'long name\n');
  symlinkSync('f', join(src, 'sl'));
  linkSync(join(src, 'f'), join(src, 'hard'));
  utimesSync(join(src, 'f'), 1700000000.25, 1700000000.25);
  run('setfattr', ['-n', 'user.color', '-v', 'blue', join(src, 'f')]);
  run('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-cf', join(dir, 't.tar'), '-C', src, '.']);
  run('gzip', ['-k', join(dir, 't.tar')]);
  run('zstd', ['-q', '-k', join(dir, 't.tar')]);
  for (const f of ['t.tar', 't.tar.gz', 't.tar.zst']) {
    const es = await list([readFileSync(join(dir, f))]);
    const byName = new Map(es.map((e) => [td.decode(e.path), e]));
    const ff = byName.get('./f')!;
    assert.equal(ff.content, 'hello\n', f);
    assert.deepEqual(ff.mtime, { sec: 1700000000n, nsec: 250000000 }, f);
    assert.equal(td.decode(ff.xattrs.get('user.color')), 'blue', f);
    assert.equal(byName.get('./sub/deeper/' + 'n'.repeat(180))!.content, 'long name\n', f);
    assert.equal(td.decode(byName.get('./sl')!.linkpath), 'f');
    // GNU tar archives the second name of a hard link as a link member.
    assert.ok(es.some((e) => e.type === 'hardlink'), f);
  }
});
