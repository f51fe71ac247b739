/** erofs-share's command line and workload parsing (pure functions, no images). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../packages/cli/src/common.js';
import { DEFAULT_DOMAIN, parseBytes, parseShareArgs, parseWorkload } from '../packages/cli/src/share/args.js';
import { humanBytes } from '../packages/cli/src/share/format.js';

describe('erofs-share arguments', () => {
  it('defaults: domain "default", sharing on, table', () => {
    assert.deepEqual(parseShareArgs(['report', 'a.erofs', 'b.erofs']), {
      command: 'report', images: ['a.erofs', 'b.erofs'], domainId: DEFAULT_DOMAIN, share: true, json: false,
    });
  });

  it('every option, spelled with a space or "="', () => {
    const a = parseShareArgs(['report', '--domain', 'apps', '--no-share', '--json', '--workload=w.txt', '--cache-bytes', '64M', 'x.erofs', '--', '-odd.erofs']);
    assert.deepEqual(a, {
      command: 'report', images: ['x.erofs', '-odd.erofs'], domainId: 'apps', share: false, json: true,
      workload: 'w.txt', cacheBytes: 64 << 20,
    });
    assert.equal((parseShareArgs(['report', '--domain=d', 'i']) as { domainId: string }).domainId, 'd');
  });

  it('help and version', () => {
    for (const a of [['--help'], ['-h'], ['help'], ['report', '--help'], ['report', 'x', '-h']]) {
      assert.deepEqual(parseShareArgs(a), { command: 'help' }, a.join(' '));
    }
    assert.deepEqual(parseShareArgs(['-V']), { command: 'version' });
  });

  it('usage errors', () => {
    for (const a of [[], ['mount', 'x'], ['report'], ['report', '--bogus', 'x'], ['report', '--domain'], ['report', '--domain=', 'x'],
      ['report', '--json=1', 'x'], ['report', '--cache-bytes', '0', 'x'], ['report', '--cache-bytes=-1', 'x'], ['report', '--workload=', 'x']]) {
      assert.throws(() => parseShareArgs(a), UsageError, a.join(' '));
    }
  });

  it('byte counts', () => {
    assert.equal(parseBytes('4096', 'n'), 4096);
    assert.equal(parseBytes('16K', 'n'), 16384);
    assert.equal(parseBytes('1.5MiB', 'n'), 1572864);
    assert.equal(parseBytes('2g', 'n'), 2 * 1024 ** 3);
    for (const bad of ['', 'x', '1X', '0', '-5']) assert.throws(() => parseBytes(bad, 'n'), UsageError, bad);
  });

  it('workload files: one path per line, comments, blanks, duplicates, relative paths', () => {
    assert.deepEqual(parseWorkload('# c\n/usr/lib/x\n\n  usr/share/  \r\n/usr/lib/x\n/\n'), ['/usr/lib/x', '/usr/share', '/']);
  });

  it('human bytes', () => {
    assert.equal(humanBytes(0), '0 B');
    assert.equal(humanBytes(1023), '1023 B');
    assert.equal(humanBytes(1536), '1.50 KiB');
    assert.equal(humanBytes(3 * 1048576), '3.00 MiB');
  });
});
