// Unit tests of mkfs-erofs's command-line parser (pure: no files, no clock).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../src/common.js';
import { getoptLong } from '../src/mkfs/getopt.js';
import {
  DEFAULT_ISHARE_KEY,
  parseCInteger,
  parseMkfsArgs,
  type MkfsArgs,
  type MkfsBuildArgs,
  type ParseContext,
} from '../src/mkfs/options.js';

const NOW = { sec: 1234567890n, nsec: 0 };
const RANDOM = new Uint8Array(16).fill(0xab);
const ctx: ParseContext = { now: NOW, randomUuid: () => RANDOM, env: {} };

function build(args: string[], c: ParseContext = ctx): MkfsBuildArgs {
  const r: MkfsArgs = parseMkfsArgs(args, c);
  assert.equal(r.kind, 'build');
  return r as MkfsBuildArgs;
}

/** Asserts a UsageError whose message matches `re`. */
function usageError(args: string[], re: RegExp, c: ParseContext = ctx): void {
  assert.throws(
    () => parseMkfsArgs(args, c),
    (e: unknown) => {
      assert.ok(e instanceof UsageError, `expected UsageError, got ${String(e)}`);
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    },
  );
}

describe('mkfs options: defaults', () => {
  it('IMAGE SOURCE with mkfs.erofs defaults', () => {
    const a = build(['out.img', 'src']);
    assert.equal(a.image, 'out.img');
    assert.equal(a.source, 'src');
    const w = a.writerOptions;
    assert.equal(w.blkszbits, 12);
    assert.deepEqual(w.uuid, RANDOM);
    assert.equal(w.volumeName, '');
    assert.deepEqual(w.buildTime, NOW);
    assert.equal(w.inlineData, true);
    assert.equal(w.xattrNameFilter, true);
    assert.equal(w.forceInodeVersion, undefined);
    assert.equal(w.forceInodeBlockmap, false);
    assert.equal(w.forceChunkIndexes, false);
    assert.equal(w.sbChecksum, true);
    assert.equal(w.plainXattrPrefixes, false);
    assert.equal(w.is48bit, false);
    assert.equal(w.dotOmitted, false);
    assert.equal(w.chunkSize, undefined);
    assert.equal(w.blobdev, undefined);
    assert.deepEqual(w.xattrPrefixes, []);
    assert.equal(w.ishareKey, undefined);
    assert.deepEqual(a.scanOptions, {
      excludePaths: [], excludeRegexes: [], xattrTolerance: 2, uidOffset: 0, gidOffset: 0, mtime: { mode: 'source' },
    });
    assert.equal(a.quiet, false);
    assert.equal(a.debugLevel, 2);
  });

  it('options and operands may be mixed; -- ends options', () => {
    const a = build(['out.img', '-b', '512', 'src', '--quiet']);
    assert.equal(a.writerOptions.blkszbits, 9);
    assert.equal(a.quiet, true);
    const b = build(['--', '-weird.img', '-src']);
    assert.equal(b.image, '-weird.img');
    assert.equal(b.source, '-src');
  });

  it('--help and --version win, -h and -V too', () => {
    assert.deepEqual(parseMkfsArgs(['--help']), { kind: 'help' });
    assert.deepEqual(parseMkfsArgs(['-h', 'a', 'b']), { kind: 'help' });
    assert.deepEqual(parseMkfsArgs(['--version']), { kind: 'version' });
    assert.deepEqual(parseMkfsArgs(['-V']), { kind: 'version' });
  });

  it('missing and extra operands', () => {
    usageError([], /missing argument: IMAGE/);
    usageError(['out.img'], /missing argument: SOURCE/);
    usageError(['out.img', 'a', 'b'], /unexpected argument 'b'/);
  });
});

describe('mkfs options: glued short options as mkfs.erofs', () => {
  it('-b512, -b 4096, -b4k, -b0x1000', () => {
    assert.equal(build(['-b512', 'i', 's']).writerOptions.blkszbits, 9);
    assert.equal(build(['-b', '4096', 'i', 's']).writerOptions.blkszbits, 12);
    assert.equal(build(['-b4k', 'i', 's']).writerOptions.blkszbits, 12);
    assert.equal(build(['-b0x800', 'i', 's']).writerOptions.blkszbits, 11);
    assert.equal(build(['-b65536', 'i', 's']).writerOptions.blkszbits, 16);
  });
  it('bad block sizes', () => {
    usageError(['-b256', 'i', 's'], /invalid block size '256'/);
    usageError(['-b3000', 'i', 's'], /invalid block size '3000'.*power of two/);
    usageError(['-b131072', 'i', 's'], /invalid block size/);
    usageError(['-bfoo', 'i', 's'], /invalid block size 'foo'/);
    usageError(['-b'], /requires an argument -- 'b'/);
  });
  it('-T0 fixes build time and every mtime', () => {
    const a = build(['-T0', 'i', 's']);
    assert.deepEqual(a.writerOptions.buildTime, { sec: 0n, nsec: 0 });
    assert.deepEqual(a.scanOptions.mtime, { mode: 'fixed', time: { sec: 0n, nsec: 0 } });
    const b = build(['-T', '1700000000', '--all-time', 'i', 's']);
    assert.deepEqual(b.scanOptions.mtime, { mode: 'fixed', time: { sec: 1700000000n, nsec: 0 } });
  });
  it('-T with --mkfs-time sets only the build time', () => {
    const a = build(['-T1700000000', '--mkfs-time', 'i', 's']);
    assert.deepEqual(a.writerOptions.buildTime, { sec: 1700000000n, nsec: 0 });
    assert.deepEqual(a.scanOptions.mtime, { mode: 'source' });
  });
  it('-T beyond 32 bits and in hex', () => {
    assert.equal(build(['-T0x100000000', 'i', 's']).writerOptions.buildTime.sec, 1n << 32n);
  });
  it('bad -T', () => {
    usageError(['-T-1', 'i', 's'], /invalid UNIX timestamp '-1'/);
    usageError(['-T12x', 'i', 's'], /invalid UNIX timestamp '12x'/);
    usageError(['-T18446744073709551615', 'i', 's'], /invalid UNIX timestamp/);
  });
  it('--all-time without -T stamps the current time on every inode', () => {
    assert.deepEqual(build(['--all-time', 'i', 's']).scanOptions.mtime, { mode: 'fixed', time: NOW });
  });
  it('-Eforce-inode-extended and friends, glued or not', () => {
    assert.equal(build(['-Eforce-inode-extended', 'i', 's']).writerOptions.forceInodeVersion, 'extended');
    assert.equal(build(['-E', 'force-inode-compact', 'i', 's']).writerOptions.forceInodeVersion, 'compact');
  });
  it('grouped flag-only short options', () => {
    assert.deepEqual(parseMkfsArgs(['-Vh']), { kind: 'version' });
  });
});

describe('mkfs options: SOURCE_DATE_EPOCH', () => {
  const env = (v: string): ParseContext => ({ ...ctx, env: { SOURCE_DATE_EPOCH: v } });
  it('sets the build time and clamps mtimes', () => {
    const a = build(['i', 's'], env('1700000000'));
    assert.deepEqual(a.writerOptions.buildTime, { sec: 1700000000n, nsec: 0 });
    assert.deepEqual(a.scanOptions.mtime, { mode: 'clamp', time: { sec: 1700000000n, nsec: 0 } });
  });
  it('--all-time / --mkfs-time override the clamping', () => {
    assert.equal(build(['--all-time', 'i', 's'], env('5')).scanOptions.mtime.mode, 'fixed');
    assert.equal(build(['--mkfs-time', 'i', 's'], env('5')).scanOptions.mtime.mode, 'source');
  });
  it('-T wins over the environment', () => {
    const a = build(['-T7', 'i', 's'], env('5'));
    assert.equal(a.writerOptions.buildTime.sec, 7n);
    assert.deepEqual(a.scanOptions.mtime, { mode: 'fixed', time: { sec: 7n, nsec: 0 } });
  });
  it('empty counts as unset; garbage is an error', () => {
    assert.deepEqual(build(['i', 's'], env('')).writerOptions.buildTime, NOW);
    usageError(['i', 's'], /SOURCE_DATE_EPOCH '0x10' is invalid/, env('0x10'));
    usageError(['i', 's'], /SOURCE_DATE_EPOCH '-1' is invalid/, env('-1'));
    usageError(['i', 's'], /SOURCE_DATE_EPOCH/, env('12 '));
  });
});

describe('mkfs options: -U and -L', () => {
  it('-U uuid|clear|random', () => {
    const u = build(['-Ue1a5f00d-2024-4c0d-9e5a-F1C7A12E0F5B', 'i', 's']).writerOptions.uuid;
    assert.equal(Buffer.from(u).toString('hex'), 'e1a5f00d20244c0d9e5af1c7a12e0f5b');
    assert.deepEqual(build(['-U', 'clear', 'i', 's']).writerOptions.uuid, new Uint8Array(16));
    assert.deepEqual(build(['-Uclear', '-Urandom', 'i', 's']).writerOptions.uuid, RANDOM);
  });
  it('bad -U', () => {
    usageError(['-Unope', 'i', 's'], /invalid UUID 'nope'/);
    usageError(['-Ue1a5f00d20244c0d9e5af1c7a12e0f5b', 'i', 's'], /invalid UUID/);
    usageError(['-Ue1a5f00d-2024-4c0d-9e5a-f1c7a12e0f5', 'i', 's'], /invalid UUID/);
  });
  it('-L up to 15 bytes', () => {
    assert.equal(build(['-Lerofs-fixture', 'i', 's']).writerOptions.volumeName, 'erofs-fixture');
    assert.equal(build(['-L', '123456789012345', 'i', 's']).writerOptions.volumeName, '123456789012345');
    usageError(['-L1234567890123456', 'i', 's'], /16 bytes; -L allows at most 15/);
    usageError(['-Lééééééé€', 'i', 's'], /17 bytes/); // counted in UTF-8 bytes
  });
});

describe('mkfs options: ownership, exclusion, xattrs', () => {
  it('--all-root, --force-uid/gid, offsets', () => {
    assert.deepEqual(pickIds(build(['--all-root', 'i', 's'])), [0, 0, 0, 0]);
    assert.deepEqual(pickIds(build(['--force-uid=1000', '--force-gid', '100', 'i', 's'])), [1000, 100, 0, 0]);
    assert.deepEqual(pickIds(build(['--uid-offset=0x10000', '--gid-offset=7', 'i', 's'])), [undefined, undefined, 65536, 7]);
    usageError(['--force-uid=-1', 'i', 's'], /invalid value '-1' for --force-uid/);
    usageError(['--force-gid=4294967295', 'i', 's'], /invalid value/);
    usageError(['--uid-offset=abc', 'i', 's'], /invalid value 'abc' for --uid-offset/);
  });
  it('--exclude-path and --exclude-regex accumulate', () => {
    const a = build(['--exclude-path=a/b', '--exclude-path', 'c', '--exclude-regex=^bulk/.', 'i', 's']);
    assert.deepEqual(a.scanOptions.excludePaths, ['a/b', 'c']);
    assert.equal(a.scanOptions.excludeRegexes.length, 1);
    assert.ok(a.scanOptions.excludeRegexes[0]!.test('bulk/x'));
    usageError(['--exclude-regex=(', 'i', 's'], /invalid --exclude-regex '\('/);
  });
  it('-x#', () => {
    assert.equal(build(['-x-1', 'i', 's']).scanOptions.xattrTolerance, -1);
    assert.equal(build(['-x', '5', 'i', 's']).scanOptions.xattrTolerance, 5);
    usageError(['-xz', 'i', 's'], /invalid xattr tolerance 'z'/);
  });
  it('--xattr-prefix accumulates in order', () => {
    const a = build(['--xattr-prefix=trusted.overlay.', '--xattr-prefix=user.erofs-fixture.', 'i', 's']);
    assert.deepEqual(a.writerOptions.xattrPrefixes, ['trusted.overlay.', 'user.erofs-fixture.']);
    usageError(['--xattr-prefix=', 'i', 's'], /non-empty prefix/);
  });
});

function pickIds(a: MkfsBuildArgs): Array<number | undefined> {
  const s = a.scanOptions;
  return [s.forceUid, s.forceGid, s.uidOffset, s.gidOffset];
}

describe('mkfs options: -E extended options', () => {
  it('each feature', () => {
    const w = (e: string): MkfsBuildArgs['writerOptions'] => build([`-E${e}`, '--chunksize=8192', 'i', 's']).writerOptions;
    assert.equal(w('^inline_data').inlineData, false);
    assert.equal(w('noinline_data').inlineData, false);
    assert.equal(w('noinline_data,inline_data').inlineData, true);
    assert.equal(w('^xattr-name-filter').xattrNameFilter, false);
    assert.equal(w('xattr-name-filter').xattrNameFilter, true);
    assert.equal(w('force-inode-blockmap').forceInodeBlockmap, true);
    assert.equal(w('force-chunk-indexes').forceChunkIndexes, true);
    assert.equal(w('force-inode-blockmap,force-chunk-indexes').forceInodeBlockmap, false);
    assert.equal(w('nosbcrc').sbChecksum, false);
    assert.equal(w('plain-xattr-prefixes').plainXattrPrefixes, true);
    assert.equal(w('48bit').is48bit, true);
    assert.equal(w('48bit,^48bit').is48bit, false);
    const d = w('dot-omitted');
    assert.equal(d.dotOmitted, true);
    assert.equal(d.is48bit, true, 'dot-omitted implies 48bit, as in mkfs.erofs');
  });
  it('several -E accumulate', () => {
    const w = build(['-Enosbcrc', '-E^inline_data,48bit', 'i', 's']).writerOptions;
    assert.equal(w.sbChecksum, false);
    assert.equal(w.inlineData, false);
    assert.equal(w.is48bit, true);
  });
  it('bad -E', () => {
    usageError(['-Ebogus', 'i', 's'], /unknown extended option 'bogus'/);
    usageError(['-Efragdedupe=full', 'i', 's'], /'fragdedupe' \(-E\) is not supported yet/);
    usageError(['-zlz4', '-Efragments=6000', 'i', 's'], /invalid pcluster size 6000 for the packed file/);
    usageError(['-Efragments=64k', 'i', 's'], /invalid pcluster size '64k' for the packed file/);
    usageError(['-E^fragments=65536', 'i', 's'], /'fragments' \(-E\) takes no value/);
    usageError(['-Ededupe=1', 'i', 's'], /'dedupe' \(-E\) takes no value/);
    usageError(['-E48bit=1', 'i', 's'], /takes no value/);
    usageError(['-E^nosbcrc', 'i', 's'], /cannot be negated/);
    usageError(['-E^', 'i', 's'], /invalid extended option/);
    usageError(['-Eforce-chunk-indexes', 'i', 's'], /needs --chunksize/);
  });
});

describe('mkfs options: chunks and blob device', () => {
  it('--chunksize', () => {
    assert.equal(build(['--chunksize=8192', 'i', 's']).writerOptions.chunkSize, 8192);
    assert.equal(build(['--chunksize', '64k', 'i', 's']).writerOptions.chunkSize, 65536);
    assert.equal(build(['-b512', '--chunksize=512', 'i', 's']).writerOptions.chunkSize, 512);
    usageError(['--chunksize=3000', 'i', 's'], /invalid chunk size '3000'/);
    usageError(['--chunksize=2048', 'i', 's'], /smaller than the block size 4096/);
  });
  it('--blobdev needs --chunksize and no block map', () => {
    assert.equal(build(['--chunksize=4096', '--blobdev=/tmp/blob', 'i', 's']).writerOptions.blobdev, '/tmp/blob');
    usageError(['--blobdev=/tmp/blob', 'i', 's'], /--blobdev must be used together with --chunksize/);
    usageError(['--chunksize=4096', '--blobdev=b', '-Eforce-inode-blockmap', 'i', 's'], /--blobdev cannot be used with -E force-inode-blockmap/);
  });
});

describe('mkfs options: --ishare_key / --xattr-inode-digest', () => {
  it('names and the default', () => {
    assert.equal(build(['--ishare_key=trusted.erofs.fingerprint', 'i', 's']).writerOptions.ishareKey, 'trusted.erofs.fingerprint');
    assert.equal(build(['--ishare_key', 'user.fp', 'i', 's']).writerOptions.ishareKey, 'user.fp');
    assert.equal(build(['--xattr-inode-digest=security.fp', 'i', 's']).writerOptions.ishareKey, 'security.fp');
    // optional value: only with '=', so IMAGE is not swallowed
    const a = build(['--xattr-inode-digest', 'i', 's']);
    assert.equal(a.writerOptions.ishareKey, DEFAULT_ISHARE_KEY);
    assert.equal(a.image, 'i');
  });
  it('invalid names', () => {
    usageError(['--ishare_key=', 'i', 's'], /--ishare_key needs a non-empty xattr NAME/);
    usageError(['--xattr-inode-digest=', 'i', 's'], /--xattr-inode-digest needs a non-empty/);
    usageError([`--ishare_key=trusted.${'a'.repeat(248)}`, 'i', 's'], /NAME is 256 bytes; an xattr name has at most 255/);
    usageError(['--ishare_key=trusted.', 'i', 's'], /only a namespace/);
    usageError(['--ishare_key=user.', 'i', 's'], /only a namespace/);
    usageError(['--ishare_key=system.posix_acl_access', 'i', 's'], /system\. namespace/);
    usageError(['--ishare_key=a\tb', 'i', 's'], /control characters/);
  });
  it('at most 128 long prefixes in all', () => {
    const many = Array.from({ length: 128 }, (_, i) => `--xattr-prefix=user.p${i}.`);
    build([...many, 'i', 's']);
    usageError([...many, '--ishare_key=trusted.fp', 'i', 's'], /too many long xattr prefixes/);
  });
});

describe('mkfs options: compression', () => {
  it('no -z: no compression options reach the writer', () => {
    const w = build(['-Eztailpacking,legacy-compress', '-C65536', 'i', 's']).writerOptions;
    assert.equal(w.compression, undefined);
    assert.equal(w.pclusterSize, undefined);
    assert.equal(w.ztailpacking, undefined);
  });
  it('-zX[,level=N][:Y...], glued or separate', () => {
    assert.deepEqual(build(['-zlz4', 'i', 's']).writerOptions.compression, [{ algorithm: 'lz4' }]);
    assert.deepEqual(build(['-z', 'lz4hc,level=12', 'i', 's']).writerOptions.compression, [{ algorithm: 'lz4hc', level: 12 }]);
    assert.deepEqual(build(['-zlz4hc,9', 'i', 's']).writerOptions.compression, [{ algorithm: 'lz4hc', level: 9 }]);
    assert.deepEqual(build(['-zlz4:deflate,level=9:zstd,level=19,dictsize=1m', 'i', 's']).writerOptions.compression, [
      { algorithm: 'lz4' }, { algorithm: 'deflate', level: 9 }, { algorithm: 'zstd', level: 19, dictSize: 1 << 20 },
    ]);
  });
  it('bad -z', () => {
    usageError(['-zlzma', 'i', 's'], /invalid compressor 'lzma' for -z/);
    usageError(['-zlz4hc,level=13', 'i', 's'], /invalid compressor/);
    usageError(['-zdeflate,level=x', 'i', 's'], /invalid compressor/);
    usageError(['-z', '', 'i', 's'], /invalid compressor/);
  });
  it('-C#, --max-extent-bytes, --workers', () => {
    const w = build(['-zlz4', '-C65536', '--max-extent-bytes=1048576', '--workers=3', 'i', 's']).writerOptions;
    assert.equal(w.pclusterSize, 65536);
    assert.equal(w.maxExtentBytes, 1 << 20);
    assert.equal(w.workers, 3);
    assert.equal(build(['--workers=0', 'i', 's']).writerOptions.workers, 0);
    assert.equal(build(['-zlz4', '-C', '0x4000', 'i', 's']).writerOptions.pclusterSize, 16384);
    usageError(['-zlz4', '-C6000', 'i', 's'], /must be a multiple of the block size 4096/);
    usageError(['-zlz4', '-Cx', 'i', 's'], /invalid physical cluster size 'x' for -C/);
    usageError(['-zlz4', '-C0', 'i', 's'], /invalid physical cluster size/);
    usageError(['--max-extent-bytes=0', 'i', 's'], /invalid value '0' for --max-extent-bytes/);
    usageError(['--workers=-1', 'i', 's'], /invalid number of workers/);
    usageError(['--workers=two', 'i', 's'], /invalid number of workers/);
  });
  it('-E ztailpacking, fragments, all-fragments, dedupe, legacy-compress', () => {
    const w = build(['-zlz4hc', '-Eztailpacking,fragments,dedupe', '-Elegacy-compress', 'i', 's']).writerOptions;
    assert.equal(w.ztailpacking, true);
    assert.equal(w.fragments, true);
    assert.equal(w.dedupe, true);
    assert.equal(w.legacyCompress, true);
    assert.equal(w.allFragments, undefined);
    const a = build(['-zlz4', '-Eall-fragments', 'i', 's']).writerOptions;
    assert.equal(a.allFragments, true);
    assert.equal(a.fragments, true, 'all-fragments implies fragments');
    assert.equal(a.packedPclusterSize, undefined);
    assert.equal(build(['-zlz4', '-Efragments=0x10000', 'i', 's']).writerOptions.packedPclusterSize, 65536);
    assert.equal(build(['-zlz4', '-Eall-fragments=16384', 'i', 's']).writerOptions.packedPclusterSize, 16384);
    const off = build(['-zlz4', '-Eall-fragments', '-E^all-fragments', 'i', 's']).writerOptions;
    assert.equal(off.fragments, undefined, '^all-fragments turns fragments off too, as upstream');
    assert.equal(off.allFragments, undefined);
    assert.equal(build(['-zlz4', '-Eztailpacking,^ztailpacking', 'i', 's']).writerOptions.ztailpacking, undefined);
    usageError(['-zlz4', '-E^legacy-compress', 'i', 's'], /cannot be negated/);
  });
  it('--compress-hints=FILE is passed on (read by the caller), only with -z', () => {
    assert.equal(build(['-zlz4', '--compress-hints=h.txt', 'i', 's']).compressHintsFile, 'h.txt');
    assert.equal(build(['--compress-hints=h.txt', 'i', 's']).compressHintsFile, undefined);
    usageError(['-zlz4', '--compress-hints=', 'i', 's'], /--compress-hints needs a file name/);
  });
  it('-z and --chunksize exclude each other', () => {
    usageError(['-zlz4', '--chunksize=8192', 'i', 's'], /cannot be used together/);
  });
});

describe('mkfs options: unsupported and unknown', () => {
  for (const args of [
    ['-m4096'], ['--gzinfo'], ['--unxz'], ['--unlzma=x'],
    ['--clean'], ['--zD'], ['--MZ'], ['--incremental=data'], ['--sort=none'],
    ['--ignore-mtime'], ['--hard-dereference'], ['--offset=4096'], ['--mount-point=/x'],
  ]) {
    it(`${args.join(' ')} is "not supported yet"`, () => {
      usageError([...args, 'i', 's'], /option '-?-?[A-Za-z-]+' is not supported yet/);
    });
  }
  it('unknown options', () => {
    usageError(['--nope', 'i', 's'], /unrecognized option '--nope'/);
    usageError(['-q', 'i', 's'], /invalid option -- 'q'/);
    usageError(['--quiet=1', 'i', 's'], /doesn't allow an argument/);
  });
  it('long option prefixes as getopt_long', () => {
    assert.equal(build(['--qui', 'i', 's']).quiet, true);
    usageError(['--force', 'i', 's'], /ambiguous/);
  });
  it('-d level', () => {
    assert.equal(build(['-d0', 'i', 's']).debugLevel, 0);
    assert.equal(build(['-d', '9', 'i', 's']).debugLevel, 9);
    usageError(['-d10', 'i', 's'], /invalid debug level '10'/);
  });
});

describe('getoptLong and parseCInteger', () => {
  it('required long values take the next word, optional ones do not', () => {
    const specs = [
      { key: 'r', long: 'req', arg: 'required' as const },
      { key: 'o', long: 'opt', arg: 'optional' as const },
    ];
    assert.deepEqual(getoptLong(['--req', 'x', '--opt', 'y'], specs), {
      options: [
        { key: 'r', value: 'x', spelled: '--req' },
        { key: 'o', value: undefined, spelled: '--opt' },
      ],
      operands: ['y'],
    });
    assert.throws(() => getoptLong(['--req'], specs), /requires an argument/);
  });
  it('C-style numbers', () => {
    assert.equal(parseCInteger('0'), 0n);
    assert.equal(parseCInteger('010'), 8n);
    assert.equal(parseCInteger('0x1F'), 31n);
    assert.equal(parseCInteger('4k', { suffixes: true }), 4096n);
    assert.equal(parseCInteger('1G', { suffixes: true }), 1n << 30n);
    assert.equal(parseCInteger('4k'), undefined);
    assert.equal(parseCInteger('-3'), undefined);
    assert.equal(parseCInteger('-3', { signed: true }), -3n);
    assert.equal(parseCInteger('09'), undefined);
    assert.equal(parseCInteger(''), undefined);
    assert.equal(parseCInteger(' 1'), undefined);
  });
});
