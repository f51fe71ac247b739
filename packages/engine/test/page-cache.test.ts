import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageCache, newCounters, type AddressSpace, type ReadContext } from '@erofs/engine';
import { bytes } from './fake-image.js';

/** A space over `data` whose filler counts calls and can be held back. */
function space(cache: PageCache, data: Uint8Array, opts: { gate?: Promise<void>; fail?: boolean } = {}) {
  const calls: Array<[number, number]> = [];
  const s: AddressSpace = cache.createSpace('t' + cache.nextSerial(), 'private', data.length, async (first, count) => {
    calls.push([first, count]);
    if (opts.gate) await opts.gate;
    else await new Promise((r) => setTimeout(r, 0));
    if (opts.fail) throw new Error('backing failed');
    const ps = s.pageSize;
    return data.slice(first * ps, Math.min(data.length, (first + count) * ps));
  });
  return { s, calls };
}

const ctx = (): ReadContext => ({ counters: newCounters() });

async function read(cache: PageCache, s: AddressSpace, pos: number, len: number, c = ctx()): Promise<Uint8Array> {
  const out = new Uint8Array(len);
  const n = await cache.readInto(s, pos, len, out, 0, c);
  return out.subarray(0, n);
}

test('a miss fills, the same read again is a synchronous hit', async () => {
  const cache = new PageCache({ maxBytes: 1 << 20, pageSize: 4096, readaheadPages: 0 });
  const data = bytes(10000, 1);
  const { s, calls } = space(cache, data);
  assert.deepEqual(await read(cache, s, 100, 5000), data.subarray(100, 5100));
  assert.deepEqual(calls, [[0, 2]]);
  const out = new Uint8Array(5000);
  const r = cache.readInto(s, 100, 5000, out, 0, ctx());
  assert.equal(r, 5000, 'all pages resident: a number, not a promise');
  assert.deepEqual(out, data.subarray(100, 5100));
  const st = cache.stats();
  assert.equal(st.hits, 2);
  assert.equal(st.misses, 2);
  assert.equal(st.fills, 1);
  assert.equal(st.residentPages, 2);
  assert.equal(st.residentBytes, 8192);
  // Reads past the end are clipped; the tail page is zero-padded in the cache.
  assert.deepEqual(await read(cache, s, 9000, 5000), data.subarray(9000));
  assert.equal(cache.readInto(s, 20000, 10, new Uint8Array(10), 0, ctx()), 0);
});

test('readahead brings the following pages in the same fill, up to EOF', async () => {
  const cache = new PageCache({ maxBytes: 1 << 20, pageSize: 4096, readaheadPages: 3 });
  const data = bytes(4096 * 10, 2);
  const { s, calls } = space(cache, data);
  await read(cache, s, 0, 10);
  assert.deepEqual(calls, [[0, 4]]);
  const c = ctx();
  await read(cache, s, 4096 * 3, 4096, c);
  assert.equal(c.counters.hits, 1, 'readahead page is a hit');
  await read(cache, s, 4096 * 8, 10);
  assert.deepEqual(calls[1], [8, 2], 'readahead stops at the last page');
  assert.equal(cache.stats().fillPages, 6);
});

test('concurrent reads of missing pages share one fill', async () => {
  const cache = new PageCache({ maxBytes: 1 << 20, pageSize: 4096, readaheadPages: 0 });
  const data = bytes(4096 * 4, 3);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const { s, calls } = space(cache, data, { gate });
  const rs = Array.from({ length: 20 }, (_, i) => read(cache, s, (i % 4) * 1000, 3000));
  // A second wave overlapping the first, plus a read of pages 0..3 spanning one pending fill and a new one.
  rs.push(read(cache, s, 0, 4096 * 4));
  open();
  const got = await Promise.all(rs);
  got.forEach((g, i) => {
    const pos = i < 20 ? (i % 4) * 1000 : 0;
    assert.deepEqual(g, data.subarray(pos, pos + g.length));
  });
  const pagesFilled = calls.reduce((n, [, c]) => n + c, 0);
  assert.equal(pagesFilled, 4, 'every page filled exactly once');
  assert.equal(cache.stats().fillPages, 4);
  for (const pg of s.pages.values()) assert.equal(pg.pins, 0, 'no pin leaked');
});

test('CLOCK eviction keeps the budget and gives referenced pages a second chance', async () => {
  const cache = new PageCache({ maxBytes: 4096 * 3, pageSize: 4096, readaheadPages: 0 });
  const data = bytes(4096 * 8, 4);
  const { s } = space(cache, data);
  await read(cache, s, 0, 4096 * 3); // pages 0,1,2 (ref set by the read)
  await read(cache, s, 0, 1); // page 0 referenced again
  await read(cache, s, 4096 * 3, 1); // page 3: sweep clears refs, evicts page 0 (head) then... only one needed
  const st = cache.stats();
  assert.equal(st.residentBytes, 4096 * 3);
  assert.equal(st.evictions, 1);
  assert.ok(st.residentBytes <= cache.maxBytes);
  // Everything still reads correctly under pressure.
  for (let i = 0; i < 8; i++) assert.deepEqual(await read(cache, s, i * 4096, 4096), data.subarray(i * 4096, (i + 1) * 4096));
  assert.ok(cache.stats().residentBytes <= cache.maxBytes);
  assert.equal(s.stats().evictions, cache.stats().evictions);
});

test('a page held by a read is never evicted; the budget is overcommitted instead', async () => {
  const cache = new PageCache({ maxBytes: 4096 * 2, pageSize: 4096, readaheadPages: 0 });
  const data = bytes(4096 * 3, 5);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const a = space(cache, data, { gate });
  open();
  await read(cache, a.s, 4096, 10); // page 1 of a resident
  let open2!: () => void;
  a.s.filler = async (first, count) => {
    await new Promise<void>((r) => (open2 = r));
    return data.slice(first * 4096, (first + count) * 4096);
  };
  // Waits for page 0 and holds page 1 (pinned) meanwhile. (Resident pages
  // before the first missing one are copied at once and need no pin.)
  const held = read(cache, a.s, 0, 4096 * 2);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(a.s.pages.get(1)!.pins, 1);
  // Another space needs three pages in a two-page budget: it may evict its own
  // pages but never a's pinned page 0.
  const b = space(cache, bytes(4096 * 3, 9));
  await read(cache, b.s, 0, 4096 * 3);
  assert.ok(a.s.pages.has(1), 'pinned page survived');
  assert.equal(a.s.pages.get(1)!.pins, 1);
  open2();
  assert.deepEqual(await held, data.subarray(0, 8192));
  assert.equal(a.s.pages.get(1)?.pins ?? 0, 0);
  assert.ok(cache.stats().evictions >= 2);
  assert.ok(cache.stats().residentBytes <= cache.maxBytes + 4096);
});

test('a failed fill rejects every waiter, leaks no pin and caches nothing', async () => {
  const cache = new PageCache({ maxBytes: 1 << 20, pageSize: 4096, readaheadPages: 0 });
  const { s } = space(cache, bytes(8192, 6), { fail: true });
  const r = await Promise.allSettled([read(cache, s, 0, 8192), read(cache, s, 4096, 10)]);
  assert.ok(r.every((x) => x.status === 'rejected'));
  assert.equal(s.pages.size, 0);
  assert.equal(s.pending.size, 0);
});

test('a short backing read is an EIO, never a page of garbage', async () => {
  const cache = new PageCache({ maxBytes: 1 << 20 });
  const s = cache.createSpace('short', 'private', 10000, async () => new Uint8Array(100));
  await assert.rejects(read(cache, s, 0, 10), (e: any) => e.code === 'EIO');
});

test('dropRange (fadvise DONTNEED) drops whole unpinned pages in range', async () => {
  const cache = new PageCache({ maxBytes: 1 << 20, pageSize: 4096, readaheadPages: 0 });
  const data = bytes(4096 * 4 + 10, 7);
  const { s } = space(cache, data);
  await read(cache, s, 0, data.length);
  assert.equal(s.residentPages, 5);
  assert.equal(cache.dropRange(s, 100, 4096 * 2), 1, 'only page 1 is fully covered');
  assert.equal(cache.dropRange(s, 4096 * 3, 0), 2, 'to EOF: pages 3 and 4');
  assert.equal(cache.dropRange(s), 2);
  assert.equal(cache.stats().residentBytes, 0);
  assert.equal(cache.stats().drops, 5);
});

test('dropSpace frees pages; a fill finishing afterwards caches nothing', async () => {
  const cache = new PageCache({ maxBytes: 1 << 20, pageSize: 4096, readaheadPages: 0 });
  const data = bytes(8192, 8);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const { s } = space(cache, data, { gate });
  const p = read(cache, s, 0, 8192);
  cache.dropSpace(s);
  open();
  assert.deepEqual(await p, data, 'the read in flight still gets its bytes');
  assert.equal(cache.stats().residentBytes, 0);
  assert.equal(cache.stats().spaces, 0);
  assert.equal(cache.frameBytes(), 0, 'the frames of the discarded fill went back to the pool after the copy');
  assert.ok(cache.trim() > 0);
  assert.throws(() => cache.readInto(s, 0, 1, new Uint8Array(1), 0, ctx()), (e: any) => e.code === 'EIO');
});

test('copy-free fills (fillInto): straight into frames, recycled frames, zeroed tails, adjacent-frame copies', async () => {
  // A budget of 6 pages: later fills recycle evicted frames (scattered, dirty).
  const cache = new PageCache({ maxBytes: 4096 * 6, pageSize: 4096, readaheadPages: 0 });
  const files = [bytes(4096 * 5 + 100, 11), bytes(4096 * 3 + 7, 12), bytes(4096 * 4 + 1, 13), bytes(9, 14)];
  const calls: Array<[number, number, number]> = [];
  const spaces = files.map((data) => {
    const s = cache.createSpace('into' + cache.nextSerial(), 'private', data.length, () => Promise.reject(new Error('byte filler used')));
    s.source = data;
    s.fillInto = async (first, count, dst, dstOff, _ctx, sp) => {
      const d = sp.source as Uint8Array;
      const ps = sp.pageSize;
      const src = d.subarray(first * ps, Math.min(d.length, (first + count) * ps));
      calls.push([first, count, src.length]);
      await new Promise((r) => setTimeout(r, 0));
      dst.set(src, dstOff);
    };
    return s;
  });
  for (let round = 0; round < 3; round++) {
    for (const [k, s] of spaces.entries()) {
      const data = files[k]!;
      assert.deepEqual(await read(cache, s, 0, data.length), data, `file ${k} round ${round}`);
      assert.deepEqual(await read(cache, s, 4095, 4098), data.subarray(4095, 4095 + 4098), `file ${k} middle`);
      // The cached tail page is zero past end of file, even in a recycled frame.
      const last = s.pageData(s.pageCount - 1);
      if (last) assert.ok(last.subarray(data.length - (s.pageCount - 1) * 4096).every((b) => b === 0), `file ${k} tail zeroed`);
    }
  }
  assert.ok(calls.length > 0);
  assert.ok(cache.stats().evictions > 0, 'frames were recycled');
  assert.ok(cache.stats().residentBytes <= 4096 * 6);
  // Whole-file hits on a big cache: one fill, contiguous frames.
  const big = new PageCache({ maxBytes: 1 << 24, pageSize: 4096 });
  const data = bytes(4096 * 300 + 5, 15);
  const s = big.createSpace('big', 'private', data.length, async (first, count) => data.slice(first * 4096, Math.min(data.length, (first + count) * 4096)));
  s.fillInto = async (first, count, dst, dstOff) => { dst.set(data.subarray(first * 4096, Math.min(data.length, (first + count) * 4096)), dstOff); };
  assert.deepEqual(await read(big, s, 0, data.length), data);
  assert.equal(big.stats().fills, 1);
  const out = new Uint8Array(data.length);
  assert.equal(big.readInto(s, 0, data.length, out, 0, ctx()), data.length);
  assert.deepEqual(out, data);
  assert.equal(big.frameBytes(), 301 * 4096);
  big.dropSpace(s);
  assert.ok(big.trim() >= 301 * 4096);
});
