/**
 * mkfs-erofs's tar and OCI options, parsed (pure, no files): the spellings
 * of mkfs.erofs 1.9.3 (--tar[=f|i], --aufs, --ovlfs-strip[=0|1], --gzip,
 * --ungzip[=FILE], --oci[=f|i][,platform=][,layer=|,blob=]) plus our
 * --unzstd[=FILE] and --per-layer=DIR, and the combinations refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../packages/cli/src/common.js';
import { parseMkfsArgs, type MkfsBuildArgs } from '../packages/cli/src/mkfs/options.js';

const parse = (argv: string[]): MkfsBuildArgs => {
  const a = parseMkfsArgs(argv);
  assert.equal(a.kind, 'build');
  return a as MkfsBuildArgs;
};
const refuse = (argv: string[], re: RegExp): void => {
  assert.throws(() => parseMkfsArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message));
};

describe('mkfs options: --tar', () => {
  it('IMAGE and TARBALL, stdin by default or with -', () => {
    assert.deepEqual(parse(['--tar=f', 'i', 't.tar']).input, { kind: 'tar', mode: 'f', path: 't.tar', compression: 'auto', aufs: false, ovlfsStrip: false });
    assert.equal(parse(['--tar', 'i']).input?.path, '-');
    assert.equal(parse(['--tar=f', 'i', '-']).input?.path, '-');
  });
  it('--aufs, --ovlfs-strip, --gzip/--ungzip[=FILE], --unzstd[=FILE]', () => {
    const a = parse(['--tar', '--aufs', '--ovlfs-strip', '--ungzip=out.tar', 'i', 't']).input!;
    assert.ok(a.kind === 'tar' && a.aufs && a.ovlfsStrip && a.compression === 'gzip' && a.dumpFile === 'out.tar');
    assert.equal(parse(['--tar', '--gzip', 'i']).input?.kind === 'tar' && (parse(['--tar', '--gzip', 'i']).input as { compression: string }).compression, 'gzip');
    assert.equal((parse(['--tar', '--unzstd', 'i']).input as { compression: string }).compression, 'zstd');
    assert.equal(parse(['--tar', '--ovlfs-strip=0', 'i']).input?.ovlfsStrip, false);
  });
  it('--tar=i: index mode, 512-byte blocks by default', () => {
    const a = parse(['--tar=i', 'i', 't']);
    assert.ok(a.input?.kind === 'tar' && a.input.mode === 'i');
    assert.equal(a.writerOptions.blkszbits, 9);
    assert.equal(parse(['--tar=i', '-b512', 'i', 't']).writerOptions.blkszbits, 9);
    const o = parse(['--oci=i,layer=1', 'i', 's']);
    assert.ok(o.input?.kind === 'oci' && o.input.mode === 'i' && o.input.layer === 1);
    assert.equal(o.writerOptions.blkszbits, 9);
  });
  it('refuses what it cannot do or what makes no sense', () => {
    refuse(['--tar=x', 'i', 't'], /invalid value 'x' for --tar/);
    refuse(['--tar=headerball', 'i', 't'], /headerball is not supported yet/);
    refuse(['--tar=i', '-b', '4096', 'i', 't'], /--tar=i \(index mode\) needs 512-byte blocks/);
    refuse(['--tar=i', 'i', '-'], /needs the tarball as a file/);
    refuse(['--tar=i', 'i'], /needs the tarball as a file/);
    refuse(['--tar=i', '--ungzip', 'i', 't'], /needs an uncompressed tarball/);
    refuse(['--tar=i', '--chunksize=4096', 'i', 't'], /cannot be used with --chunksize/);
    refuse(['--oci=i', '-b', '4096', 'i', 's'], /--oci=i \(index mode\) needs 512-byte blocks/);
    refuse(['--oci=i', '-zlz4', 'i', 's'], /--oci=i \(index mode\) cannot be used with -z/);
    refuse(['--tar=f,map.txt', 'i', 't'], /MAPFILE is not supported yet/);
    refuse(['--tar', 'i', 'a', 'b'], /unexpected argument 'b'/);
    refuse(['--tar'], /missing argument: IMAGE/);
    refuse(['--aufs', 'i', 's'], /--aufs needs --tar or --oci/);
    refuse(['--ungzip', 'i', 's'], /--ungzip needs --tar/);
    refuse(['--tar', '--oci', 'i', 's'], /cannot be used together/);
    refuse(['--tar', '--exclude-path=x', 'i', 's'], /not supported with --tar/);
    refuse(['--tar', '--ovlfs-strip=2', 'i'], /invalid value '2'/);
  });
});

describe('mkfs options: --oci', () => {
  it('mode, platform, layer, blob', () => {
    assert.deepEqual(parse(['--oci', 'i', 'dir:ref']).input, { kind: 'oci', mode: 'f', path: 'dir:ref', ovlfsStrip: false });
    const a = parse(['--oci=f,platform=linux/arm64/v8,layer=2', 'i', 'a.tar']).input!;
    assert.ok(a.kind === 'oci' && a.platform === 'linux/arm64/v8' && a.layer === 2);
    const h = 'ab'.repeat(32);
    assert.equal((parse([`--oci=blob=${h}`, 'i', 's']).input as { blob: string }).blob, `sha256:${h}`);
  });
  it('--per-layer=DIR with or without IMAGE', () => {
    const only = parse(['--oci', '--per-layer=L', 'src']);
    assert.equal(only.image, '');
    assert.equal(only.input?.kind === 'oci' && only.input.perLayerDir, 'L');
    assert.equal(parse(['--oci', '--per-layer=L', 'img', 'src']).image, 'img');
  });
  it('refuses bad values and combinations', () => {
    refuse(['--oci=layer=x', 'i', 's'], /invalid layer index 'x'/);
    refuse(['--oci=layer=1,blob=sha256:' + '0'.repeat(64), 'i', 's'], /layer and blob cannot be set together/);
    refuse(['--oci=platform=amd64', 'i', 's'], /invalid platform/);
    refuse(['--oci=username=u', 'i', 's'], /registries are not supported/);
    refuse(['--oci=bogus', 'i', 's'], /invalid --oci value 'bogus'/);
    refuse(['--oci', '--aufs', 'i', 's'], /--aufs applies to --tar/);
    refuse(['--oci=layer=0', '--per-layer=L', 'i', 's'], /--per-layer cannot be combined/);
    refuse(['--per-layer=L', 'i', 's'], /--per-layer needs --oci/);
    refuse(['--oci', 's'], /missing argument: SOURCE/);
  });
});
