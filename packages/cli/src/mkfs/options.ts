/**
 * mkfs-erofs's command line, parsed into what the writer needs. Pure: no
 * file system access, no clock and no randomness of its own (the caller
 * passes them in {@link ParseContext}), so every rule is unit-tested in
 * packages/cli/test/mkfs-options.test.ts.
 *
 * Option names, value syntax and defaults follow mkfs.erofs 1.9.3
 * (erofs-utils mkfs/main.c). Where we deliberately differ, the doc comment of
 * {@link parseMkfsArgs} says so.
 */
import { parseCompressionSpecs } from '@erofs/writer';
import { UsageError } from '../common.js';
import { getoptLong, type OptionSpec } from './getopt.js';
import { emptySourceFlags, finishSource, parseSourceOption, type OciSource, type TarSource } from './source-options.js';
import type { Timestamp, WriterOptions } from './writer-types.js';

/** Default fingerprint xattr name of `--xattr-inode-digest` without a value (as upstream). */
export const DEFAULT_ISHARE_KEY = 'erofs.fingerprint.v1';

/** Longest volume label: the superblock field is 16 bytes, NUL-terminated. */
export const MAX_LABEL_BYTES = 15;

/** Longest xattr name Linux accepts (XATTR_NAME_MAX), and the long-prefix length limit. */
export const MAX_XATTR_NAME_BYTES = 255;

/** Long xattr prefixes are numbered with 7 bits (EROFS_XATTR_LONG_PREFIX_MASK). */
export const MAX_LONG_PREFIXES = 128;

/** How inode mtimes are chosen (`-T`, `--all-time`, `--mkfs-time`, SOURCE_DATE_EPOCH). */
export type MtimePolicy =
  /** Each file keeps its own mtime. */
  | { mode: 'source' }
  /** Every inode gets `time` (nanoseconds 0). */
  | { mode: 'fixed'; time: Timestamp }
  /** Mtimes later than `time` become `time`; earlier ones are kept (reproducible-builds.org). */
  | { mode: 'clamp'; time: Timestamp };

/** What the directory walk needs: selection and ownership/time rewriting. */
export interface MkfsScanOptions {
  /** `--exclude-path=`: exact paths relative to SOURCE ("dir/file", no leading slash). */
  excludePaths: string[];
  /** `--exclude-regex=`: patterns tested against the path relative to SOURCE. */
  excludeRegexes: RegExp[];
  /** `-x#`: < 0 drops every xattr; otherwise the shared-xattr threshold (default 2). */
  xattrTolerance: number;
  /** `--force-uid=#` / `--all-root`. */
  forceUid?: number;
  /** `--force-gid=#` / `--all-root`. */
  forceGid?: number;
  /** `--uid-offset=#`, added after forceUid. */
  uidOffset: number;
  /** `--gid-offset=#`, added after forceGid. */
  gidOffset: number;
  /** Inode mtimes. */
  mtime: MtimePolicy;
}

/** A parsed build request. */
export interface MkfsBuildArgs {
  kind: 'build';
  /** IMAGE operand: the output file. */
  image: string;
  /** SOURCE operand: the directory to pack (the tarball or OCI source with `input`; '-' is stdin). */
  source: string;
  /** `--tar` / `--oci`: SOURCE is a tarball or an OCI image instead of a directory. */
  input?: TarSource | OciSource;
  writerOptions: WriterOptions;
  scanOptions: MkfsScanOptions;
  /** `--quiet`: no progress, no summary. */
  quiet: boolean;
  /** `-d#` (0..9, default 2): 0 also silences the summary; >= 3 adds details. */
  debugLevel: number;
  /**
   * `--compress-hints=FILE`: read by the caller (this parser does no I/O)
   * and parsed with the writer's parseCompressHints into
   * writerOptions.compressHints.
   */
  compressHintsFile?: string;
}

/** What the command line asks for. */
export type MkfsArgs = MkfsBuildArgs | { kind: 'help' } | { kind: 'version' };

/** The outside world the parser may consult, passed in so the parser stays pure. */
export interface ParseContext {
  /** Environment (only SOURCE_DATE_EPOCH is read). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Build time when neither -T nor SOURCE_DATE_EPOCH is given (default: epoch 0). */
  now?: Timestamp;
  /** Source of a random UUID for `-U random` and the default (default: all zero). */
  randomUuid?: () => Uint8Array;
  /** Default block size in bytes (mkfs.erofs uses the page size; default 4096). */
  defaultBlockSize?: number;
}

// Every option of mkfs.erofs 1.9.3 is listed, supported or not, so that an
// unsupported one is reported as such instead of as "unrecognized".
const SUPPORTED: OptionSpec[] = [
  { key: 'help', short: 'h', long: 'help', arg: 'none' },
  { key: 'version', short: 'V', long: 'version', arg: 'none' },
  { key: 'b', short: 'b', arg: 'required' },
  { key: 'd', short: 'd', arg: 'required' },
  { key: 'x', short: 'x', arg: 'required' },
  { key: 'E', short: 'E', arg: 'required' },
  { key: 'L', short: 'L', arg: 'required' },
  { key: 'T', short: 'T', arg: 'required' },
  { key: 'U', short: 'U', arg: 'required' },
  { key: 'exclude-path', long: 'exclude-path', arg: 'required' },
  { key: 'exclude-regex', long: 'exclude-regex', arg: 'required' },
  { key: 'force-uid', long: 'force-uid', arg: 'required' },
  { key: 'force-gid', long: 'force-gid', arg: 'required' },
  { key: 'all-root', long: 'all-root', arg: 'none' },
  { key: 'uid-offset', long: 'uid-offset', arg: 'required' },
  { key: 'gid-offset', long: 'gid-offset', arg: 'required' },
  { key: 'chunksize', long: 'chunksize', arg: 'required' },
  { key: 'blobdev', long: 'blobdev', arg: 'required' },
  { key: 'quiet', long: 'quiet', arg: 'none' },
  { key: 'mkfs-time', long: 'mkfs-time', arg: 'none' },
  { key: 'all-time', long: 'all-time', arg: 'none' },
  { key: 'xattr-prefix', long: 'xattr-prefix', arg: 'required' },
  { key: 'xattr-inode-digest', long: 'xattr-inode-digest', arg: 'optional' },
  { key: 'ishare_key', long: 'ishare_key', arg: 'required' },
  // compression
  { key: 'z', short: 'z', arg: 'required' },
  { key: 'C', short: 'C', arg: 'required' },
  { key: 'max-extent-bytes', long: 'max-extent-bytes', arg: 'required' },
  { key: 'compress-hints', long: 'compress-hints', arg: 'required' },
  { key: 'workers', long: 'workers', arg: 'required' },
  // tar and OCI sources (see source-options.ts)
  { key: 'tar', long: 'tar', arg: 'optional' },
  { key: 'aufs', long: 'aufs', arg: 'none' },
  { key: 'ovlfs-strip', long: 'ovlfs-strip', arg: 'optional' },
  { key: 'ungzip', long: 'gzip', arg: 'none' },
  { key: 'ungzip', long: 'ungzip', arg: 'optional' },
  { key: 'unzstd', long: 'unzstd', arg: 'optional' },
  { key: 'oci', long: 'oci', arg: 'optional' },
  { key: 'per-layer', long: 'per-layer', arg: 'required' },
];

/** mkfs.erofs 1.9.3 options we recognise but cannot honour yet (value syntax as upstream). */
const UNSUPPORTED: OptionSpec[] = [
  ...(['m'] as const).map((c) => ({ key: `!-${c}`, short: c, arg: 'required' as const })),
  ...([
    ['file-contexts', 'required'], ['random-pclusterblks', 'none'], ['random-algorithms', 'none'],
    ['ignore-mtime', 'none'],
    ['preserve-mtime', 'none'], ['mount-point', 'required'],
    ['product-out', 'required'], ['fs-config-file', 'required'],
    ['offset', 'required'], ['gzinfo', 'optional'],
    ['unlzma', 'optional'], ['unxz', 'optional'], ['zfeature-bits', 'required'],
    ['clean', 'optional'], ['incremental', 'optional'], ['root-xattr-isize', 'required'],
    ['sort', 'required'], ['hard-dereference', 'none'], ['dsunit', 'required'],
    ['async-queue-limit', 'required'], ['fsalignblks', 'required'], ['vmdk-desc', 'required'],
    ['s3', 'required'], ['zD', 'optional'], ['MZ', 'optional'],
  ] as const).map(([long, arg]) => ({ key: `!--${long}`, long, arg })),
];

/** `-E` features of mkfs.erofs that we do not support yet. */
const UNSUPPORTED_E = new Set(['fragdedupe']);

/**
 * Parses `mkfs-erofs [options] IMAGE SOURCE`.
 *
 * Throws {@link UsageError} (exit status 2) with one line naming the option
 * and the value for anything wrong: unknown options, options of mkfs.erofs
 * that we do not support yet ("not supported yet", never silently ignored),
 * bad numbers, bad -E features, missing or extra operands.
 *
 * Time (-T, --all-time, --mkfs-time, SOURCE_DATE_EPOCH), decided here:
 * - `-T#` sets the build time; every inode gets it as mtime (--all-time is
 *   the default) unless `--mkfs-time` keeps the files' own mtimes.
 * - Without -T, SOURCE_DATE_EPOCH (decimal seconds, as mkfs.erofs reads it)
 *   sets the build time, and mtimes later than it are clamped down to it as
 *   reproducible-builds.org specifies; earlier mtimes are kept.
 *   `--all-time` / `--mkfs-time` override the clamping either way.
 *   Differences from mkfs.erofs 1.9.3: there, SOURCE_DATE_EPOCH wins over an
 *   explicit -T and ignores --mkfs-time; here the command line wins over the
 *   environment. An empty SOURCE_DATE_EPOCH counts as unset.
 * - Neither: build time `ctx.now`, files keep their mtimes (`--all-time`
 *   alone stamps `now` on every inode, as upstream).
 *
 * Other deliberate differences: `-b` must be a power of two (upstream
 * rounds down silently); `-E` features that cannot be negated reject `^`
 * (upstream ignores the `^`); --chunksize takes k/m/g suffixes like -b.
 */
export function parseMkfsArgs(argv: readonly string[], ctx: ParseContext = {}): MkfsArgs {
  const { options, operands } = getoptLong(argv, [...SUPPORTED, ...UNSUPPORTED]);

  let blockSize = ctx.defaultBlockSize ?? 4096;
  let blockSizeGiven = false;
  let debugLevel = 2;
  let quiet = false;
  let xattrTolerance = 2;
  let label = '';
  let timestamp: bigint | undefined;
  let timeMode: 'all' | 'mkfs' | undefined;
  let uuid: Uint8Array | undefined;
  let chunkSize: number | undefined;
  let blobdev: string | undefined;
  let ishareKey: string | undefined;
  let ishareAt = 0;
  let compression: WriterOptions['compression'];
  let pclusterSize: number | undefined;
  let maxExtentBytes: number | undefined;
  let compressHintsFile: string | undefined;
  let workers: number | undefined;
  const xattrPrefixes: string[] = [];
  const excludePaths: string[] = [];
  const excludeRegexes: RegExp[] = [];
  let forceUid: number | undefined;
  let forceGid: number | undefined;
  let uidOffset = 0;
  let gidOffset = 0;
  const ext: ExtendedOptions = {
    inlineData: true,
    xattrNameFilter: true,
    forceInodeVersion: undefined,
    chunkFormat: undefined,
    sbChecksum: true,
    plainXattrPrefixes: false,
    is48bit: false,
    dotOmitted: false,
    ztailpacking: false,
    fragments: false,
    allFragments: false,
    dedupe: false,
    legacyCompress: false,
  };

  const srcFlags = emptySourceFlags();
  for (const { key, value, spelled } of options) {
    const v = value ?? '';
    if (key.startsWith('!')) {
      throw new UsageError(`option '${spelled}' is not supported yet`);
    }
    if (parseSourceOption(key, value, spelled, srcFlags)) continue;
    switch (key) {
      case 'help':
        return { kind: 'help' };
      case 'version':
        return { kind: 'version' };
      case 'b': {
        const n = parseCInteger(v, { suffixes: true });
        if (n === undefined || n < 512n || n > 65536n || (n & (n - 1n)) !== 0n) {
          throw new UsageError(`invalid block size '${v}' for -b (a power of two from 512 to 65536)`);
        }
        blockSize = Number(n);
        blockSizeGiven = true;
        break;
      }
      case 'd': {
        const n = parseCInteger(v, { base10: true, signed: true });
        if (n === undefined || n < 0n || n > 9n) throw new UsageError(`invalid debug level '${v}' for -d (0..9)`);
        debugLevel = Number(n);
        break;
      }
      case 'x': {
        const n = parseCInteger(v, { signed: true });
        if (n === undefined) throw new UsageError(`invalid xattr tolerance '${v}' for -x`);
        xattrTolerance = n > 0x7fffffffn ? 0x7fffffff : n < -1n ? -1 : Number(n);
        break;
      }
      case 'E':
        parseExtended(v, ext);
        break;
      case 'L':
        if (Buffer.byteLength(v, 'utf8') > MAX_LABEL_BYTES) {
          throw new UsageError(`volume label '${v}' is ${Buffer.byteLength(v, 'utf8')} bytes; -L allows at most ${MAX_LABEL_BYTES}`);
        }
        label = v;
        break;
      case 'T': {
        const n = parseCInteger(v);
        if (n === undefined || n >= 0xffffffffffffffffn) throw new UsageError(`invalid UNIX timestamp '${v}' for -T`);
        timestamp = n;
        break;
      }
      case 'mkfs-time':
        timeMode = 'mkfs';
        break;
      case 'all-time':
        timeMode = 'all';
        break;
      case 'U':
        if (v === 'clear') uuid = new Uint8Array(16);
        else if (v === 'random') uuid = undefined;
        else uuid = parseUuid(v);
        break;
      case 'exclude-path':
        excludePaths.push(v);
        break;
      case 'exclude-regex':
        try {
          excludeRegexes.push(new RegExp(v));
        } catch (e) {
          throw new UsageError(`invalid --exclude-regex '${v}': ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
        }
        break;
      case 'force-uid':
        forceUid = parseId(v, spelled);
        break;
      case 'force-gid':
        forceGid = parseId(v, spelled);
        break;
      case 'all-root':
        forceUid = 0;
        forceGid = 0;
        break;
      case 'uid-offset':
        uidOffset = parseId(v, spelled);
        break;
      case 'gid-offset':
        gidOffset = parseId(v, spelled);
        break;
      case 'chunksize': {
        const n = parseCInteger(v, { suffixes: true });
        if (n === undefined || n <= 0n || (n & (n - 1n)) !== 0n || n > 1n << 40n) {
          throw new UsageError(`invalid chunk size '${v}' for --chunksize (a power of two, at least the block size)`);
        }
        chunkSize = Number(n);
        break;
      }
      case 'blobdev':
        if (v === '') throw new UsageError(`--blobdev needs a file name`);
        blobdev = v;
        break;
      case 'quiet':
        quiet = true;
        break;
      case 'xattr-prefix':
        checkXattrPrefix(v, '--xattr-prefix');
        xattrPrefixes.push(v);
        break;
      case 'xattr-inode-digest':
      case 'ishare_key': {
        const name = value ?? DEFAULT_ISHARE_KEY;
        checkIshareKey(name, spelled);
        ishareKey = name;
        ishareAt = xattrPrefixes.length; // mkfs.erofs numbers long prefixes in command-line order
        break;
      }
      case 'z':
        try {
          compression = parseCompressionSpecs(v);
        } catch (e) {
          throw new UsageError(`invalid compressor '${v}' for -z: ${(e as Error).message}`);
        }
        break;
      case 'C': {
        const n = parseCInteger(v);
        if (n === undefined || n <= 0n || n > 1n << 30n) throw new UsageError(`invalid physical cluster size '${v}' for -C`);
        pclusterSize = Number(n);
        break;
      }
      case 'max-extent-bytes': {
        const n = parseCInteger(v);
        if (n === undefined || n <= 0n || n > 1n << 40n) throw new UsageError(`invalid value '${v}' for --max-extent-bytes`);
        maxExtentBytes = Number(n);
        break;
      }
      case 'compress-hints':
        if (v === '') throw new UsageError('--compress-hints needs a file name');
        compressHintsFile = v;
        break;
      case 'workers': {
        const n = parseCInteger(v, { base10: true });
        if (n === undefined || n > 1024n) throw new UsageError(`invalid number of workers '${v}' for --workers (0..1024)`);
        workers = Number(n);
        break;
      }
      default:
        throw new Error(`mkfs-erofs: option key ${key} not handled`); // a bug, not bad input
    }
  }

  const input = finishSource(srcFlags, operands);
  let image: string;
  let source: string;
  if (input) {
    image = input.image;
    source = input.source.path;
  } else {
    if (operands.length === 0) throw new UsageError('missing argument: IMAGE (usage: mkfs-erofs [options] IMAGE SOURCE)');
    if (operands.length === 1) throw new UsageError('missing argument: SOURCE (usage: mkfs-erofs [options] IMAGE SOURCE)');
    if (operands.length > 2) {
      throw new UsageError(`unexpected argument '${operands[2]}' (only one SOURCE directory is supported yet)`);
    }
    [image, source] = operands as [string, string];
    if (image === '') throw new UsageError('IMAGE must not be empty');
    if (source === '') throw new UsageError('SOURCE must not be empty');
  }
  if (input && (excludePaths.length > 0 || excludeRegexes.length > 0)) {
    throw new UsageError(`--exclude-path/--exclude-regex are not supported with --${input.source.kind} yet`);
  }
  if (input && input.source.mode === 'i') {
    // Index mode: file data stays in the tar (or the OCI layer blob),
    // addressed in 512-byte blocks (tar's own unit), so the image uses
    // 512-byte blocks as mkfs.erofs does.
    const opt = `--${input.source.kind}=i`;
    if (blockSizeGiven && blockSize !== 512) {
      throw new UsageError(`${opt} (index mode) needs 512-byte blocks (-b 512), not -b ${blockSize}: file data is addressed in the tar's 512-byte records`);
    }
    blockSize = 512;
    if (input.source.kind === 'tar' && input.source.path === '-') {
      throw new UsageError('--tar=i (index mode) needs the tarball as a file: the image refers to its data, so stdin cannot be used');
    }
    if (input.source.kind === 'tar' && input.source.compression !== 'auto') {
      throw new UsageError('--tar=i (index mode) needs an uncompressed tarball (--ungzip/--unzstd cannot be used): the image refers to the data in the tar file');
    }
    if (chunkSize !== undefined || blobdev !== undefined || compression !== undefined) {
      throw new UsageError(`${opt} (index mode) cannot be used with ${chunkSize !== undefined ? '--chunksize' : blobdev !== undefined ? '--blobdev' : '-z'}`);
    }
  }

  if (ext.dedupe && compression === undefined && chunkSize === undefined && !(input && input.source.mode === 'i')) {
    // as mkfs.erofs: without compression, -E dedupe means chunk-based data deduplication, one block a chunk
    chunkSize = blockSize;
  }
  if (chunkSize !== undefined && chunkSize < blockSize) {
    throw new UsageError(`--chunksize=${chunkSize} is smaller than the block size ${blockSize}`);
  }
  if (chunkSize === undefined && ext.chunkFormat !== undefined) {
    throw new UsageError(`-E force-${ext.chunkFormat === 'blockmap' ? 'inode-blockmap' : 'chunk-indexes'} needs --chunksize`);
  }
  if (blobdev !== undefined && chunkSize === undefined) {
    throw new UsageError('--blobdev must be used together with --chunksize');
  }
  if (blobdev !== undefined && ext.chunkFormat === 'blockmap') {
    throw new UsageError('--blobdev cannot be used with -E force-inode-blockmap (a block map cannot address another device)');
  }
  if (compression !== undefined && chunkSize !== undefined) {
    throw new UsageError('-z (compression) and --chunksize cannot be used together');
  }
  if (compression !== undefined && pclusterSize !== undefined && (pclusterSize < blockSize || pclusterSize % blockSize !== 0)) {
    throw new UsageError(`physical cluster size ${pclusterSize} (-C) must be a multiple of the block size ${blockSize}`);
  }
  if (xattrPrefixes.length + (ishareKey === undefined ? 0 : 1) > MAX_LONG_PREFIXES) {
    throw new UsageError(`too many long xattr prefixes (at most ${MAX_LONG_PREFIXES}, counting --ishare_key)`);
  }

  // time policy (see the doc comment above)
  const sde = ctx.env?.['SOURCE_DATE_EPOCH'];
  let buildSec: bigint;
  let mtime: MtimePolicy;
  if (timestamp !== undefined) {
    buildSec = timestamp;
    mtime = timeMode === 'mkfs' ? { mode: 'source' } : { mode: 'fixed', time: { sec: buildSec, nsec: 0 } };
  } else if (sde !== undefined && sde !== '') {
    if (!/^[0-9]+$/.test(sde) || BigInt(sde) >= 0xffffffffffffffffn) {
      throw new UsageError(`environment variable SOURCE_DATE_EPOCH '${sde}' is invalid (decimal seconds expected)`);
    }
    buildSec = BigInt(sde);
    const time = { sec: buildSec, nsec: 0 };
    mtime = timeMode === 'mkfs' ? { mode: 'source' } : timeMode === 'all' ? { mode: 'fixed', time } : { mode: 'clamp', time };
  } else {
    buildSec = ctx.now?.sec ?? 0n;
    mtime = timeMode === 'all' ? { mode: 'fixed', time: { sec: buildSec, nsec: 0 } } : { mode: 'source' };
  }

  const writerOptions: WriterOptions = {
    blkszbits: Math.log2(blockSize),
    uuid: uuid ?? ctx.randomUuid?.() ?? new Uint8Array(16),
    volumeName: label,
    buildTime: { sec: buildSec, nsec: 0 },
    inlineData: ext.inlineData,
    xattrNameFilter: ext.xattrNameFilter,
    forceInodeBlockmap: ext.chunkFormat === 'blockmap',
    forceChunkIndexes: ext.chunkFormat === 'indexes',
    sbChecksum: ext.sbChecksum,
    plainXattrPrefixes: ext.plainXattrPrefixes,
    // mkfs.erofs turns 48-bit layout on whenever dot-omitted is asked for
    is48bit: ext.is48bit || ext.dotOmitted,
    dotOmitted: ext.dotOmitted,
    xattrPrefixes,
  };
  if (ext.forceInodeVersion) writerOptions.forceInodeVersion = ext.forceInodeVersion;
  if (chunkSize !== undefined) writerOptions.chunkSize = chunkSize;
  if (blobdev !== undefined) writerOptions.blobdev = blobdev;
  if (ishareKey !== undefined) writerOptions.ishareKey = ishareKey;
  if (ishareKey !== undefined && ishareAt < xattrPrefixes.length) writerOptions.ishareKeyIndex = ishareAt;
  if (compression !== undefined) {
    writerOptions.compression = compression;
    if (pclusterSize !== undefined) writerOptions.pclusterSize = pclusterSize;
    if (maxExtentBytes !== undefined) writerOptions.maxExtentBytes = maxExtentBytes;
    if (ext.ztailpacking) writerOptions.ztailpacking = true;
    if (ext.fragments) writerOptions.fragments = true;
    if (ext.allFragments) writerOptions.allFragments = true;
    if (ext.fragments && ext.packedPclusterSize !== undefined) {
      if (ext.packedPclusterSize < blockSize || ext.packedPclusterSize % blockSize !== 0) {
        throw new UsageError(`invalid pcluster size ${ext.packedPclusterSize} for the packed file (a multiple of the block size ${blockSize})`);
      }
      writerOptions.packedPclusterSize = ext.packedPclusterSize;
    }
    if (ext.dedupe) writerOptions.dedupe = true;
    if (ext.legacyCompress) writerOptions.legacyCompress = true;
  }
  if (workers !== undefined) writerOptions.workers = workers;

  const scanOptions: MkfsScanOptions = { excludePaths, excludeRegexes, xattrTolerance, uidOffset, gidOffset, mtime };
  if (forceUid !== undefined) scanOptions.forceUid = forceUid;
  if (forceGid !== undefined) scanOptions.forceGid = forceGid;

  const built: MkfsBuildArgs = { kind: 'build', image, source, writerOptions, scanOptions, quiet, debugLevel };
  if (compressHintsFile !== undefined && compression !== undefined) built.compressHintsFile = compressHintsFile;
  if (input) built.input = input.source;
  return built;
}

/** The -E features, while parsing. */
interface ExtendedOptions {
  inlineData: boolean;
  xattrNameFilter: boolean;
  forceInodeVersion: 'compact' | 'extended' | undefined;
  chunkFormat: 'blockmap' | 'indexes' | undefined;
  sbChecksum: boolean;
  plainXattrPrefixes: boolean;
  is48bit: boolean;
  dotOmitted: boolean;
  ztailpacking: boolean;
  fragments: boolean;
  allFragments: boolean;
  /** `-E fragments=SIZE` / `-E all-fragments=SIZE`. */
  packedPclusterSize?: number;
  dedupe: boolean;
  legacyCompress: boolean;
}

/** Applies one `-E a,^b,c` list, in order (later entries win, as upstream). */
function parseExtended(list: string, ext: ExtendedOptions): void {
  if (list === '') throw new UsageError('-E needs a comma-separated list of extended options');
  for (const item of list.split(',')) {
    if (item === '') continue; // "-Ea,,b" and a trailing comma are tolerated upstream too
    const eq = item.indexOf('=');
    const word = eq < 0 ? item : item.slice(0, eq);
    const negated = word.startsWith('^');
    const name = negated ? word.slice(1) : word;
    if (name === '') throw new UsageError(`invalid extended option '${item}' for -E`);
    if (UNSUPPORTED_E.has(name)) throw new UsageError(`extended option '${name}' (-E) is not supported yet (it applies to compressed images)`);
    const value = eq >= 0 ? item.slice(eq + 1) : undefined;
    const takesValue = (name === 'fragments' || name === 'all-fragments') && !negated;
    if (value !== undefined && !takesValue) throw new UsageError(`extended option '${name}' (-E) takes no value (got '${item}')`);
    const noNegation = (): void => {
      if (negated) throw new UsageError(`extended option '${name}' (-E) cannot be negated with '^'`);
    };
    switch (name) {
      case 'inline_data':
        ext.inlineData = !negated;
        break;
      case 'noinline_data':
        noNegation();
        ext.inlineData = false;
        break;
      case 'xattr-name-filter':
        ext.xattrNameFilter = !negated;
        break;
      case 'force-inode-compact':
        noNegation();
        ext.forceInodeVersion = 'compact';
        break;
      case 'force-inode-extended':
        noNegation();
        ext.forceInodeVersion = 'extended';
        break;
      case 'force-inode-blockmap':
        noNegation();
        ext.chunkFormat = 'blockmap';
        break;
      case 'force-chunk-indexes':
        noNegation();
        ext.chunkFormat = 'indexes';
        break;
      case 'nosbcrc':
        noNegation();
        ext.sbChecksum = false;
        break;
      case 'plain-xattr-prefixes':
        noNegation();
        ext.plainXattrPrefixes = true;
        break;
      case '48bit':
        ext.is48bit = !negated;
        break;
      case 'dot-omitted':
        ext.dotOmitted = !negated;
        break;
      // compressed images only (ignored without -z, as upstream)
      case 'ztailpacking':
        ext.ztailpacking = !negated;
        break;
      case 'fragments':
      case 'all-fragments':
        // [=SIZE]: the physical cluster size of the packed inode, as mkfs.erofs's strtoull(.., 0)
        if (value !== undefined) {
          const n = parseCInteger(value);
          if (n === undefined || n > 0xffffffffn) throw new UsageError(`invalid pcluster size '${value}' for the packed file (-E ${name}=SIZE)`);
          ext.packedPclusterSize = Number(n);
        }
        // as upstream, -E ^all-fragments also turns fragments off
        if (name === 'all-fragments') ext.allFragments = !negated;
        ext.fragments = !negated;
        break;
      case 'dedupe':
        ext.dedupe = !negated;
        break;
      case 'legacy-compress':
        noNegation();
        ext.legacyCompress = true;
        break;
      default:
        throw new UsageError(`unknown extended option '${name}' for -E`);
    }
  }
}

/**
 * strtoll/strtoull with base 0 as mkfs.erofs uses them: decimal, 0x hex or
 * leading-0 octal, optionally k/m/g (binary) suffixes, the whole string
 * consumed. Undefined when the text is not such a number.
 */
export function parseCInteger(
  text: string,
  opts: { signed?: boolean; suffixes?: boolean; base10?: boolean } = {},
): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgG]?)$/.exec(text);
  if (!m) return undefined;
  const [, sign, digits, suffix] = m as unknown as [string, string, string, string];
  if (sign === '-' && !opts.signed) return undefined;
  if (suffix !== '' && !opts.suffixes) return undefined;
  let n: bigint;
  if (/^0[xX]/.test(digits)) {
    if (opts.base10) return undefined;
    n = BigInt(digits);
  } else if (digits.length > 1 && digits.startsWith('0') && !opts.base10) {
    n = BigInt(`0o${digits.slice(1)}`);
  } else {
    n = BigInt(digits);
  }
  n <<= { '': 0n, k: 10n, m: 20n, g: 30n }[suffix.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return sign === '-' ? -n : n;
}

/** A uid/gid or an id offset: 0 .. 2^32-2 (-1 is the "unset" value upstream). */
function parseId(text: string, spelled: string): number {
  const n = parseCInteger(text);
  if (n === undefined || n >= 0xffffffffn) throw new UsageError(`invalid value '${text}' for ${spelled} (0..4294967294)`);
  return Number(n);
}

/** `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) to 16 bytes. */
export function parseUuid(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) {
    throw new UsageError(`invalid UUID '${text}' for -U (expected clear, random or xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
  }
  const hex = text.replace(/-/g, '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A `--xattr-prefix` value: non-empty, at most 255 bytes, no NUL. */
function checkXattrPrefix(prefix: string, spelled: string): void {
  const bytes = Buffer.byteLength(prefix, 'utf8');
  if (bytes === 0) throw new UsageError(`${spelled} needs a non-empty prefix`);
  if (bytes > MAX_XATTR_NAME_BYTES) throw new UsageError(`${spelled} '${prefix.slice(0, 40)}...' is ${bytes} bytes; at most ${MAX_XATTR_NAME_BYTES}`);
  if (prefix.includes('\0')) throw new UsageError(`${spelled} must not contain NUL`);
}

/**
 * A fingerprint xattr name for --ishare_key / --xattr-inode-digest. The
 * fingerprint is stored as a long prefix equal to NAME with an empty
 * suffix, so NAME itself is the full xattr name: it must be a valid Linux
 * xattr name (1..255 bytes) and not a bare namespace ("user.") or an ACL
 * name, which the kernel would refuse or misread. Names outside the
 * user./trusted./security. namespaces are allowed: they become hidden
 * xattrs (base index 0), like the default erofs.fingerprint.v1.
 */
export function checkIshareKey(name: string, spelled = '--ishare_key'): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) throw new UsageError(`${spelled} needs a non-empty xattr NAME`);
  if (bytes > MAX_XATTR_NAME_BYTES) {
    throw new UsageError(`${spelled} NAME is ${bytes} bytes; an xattr name has at most ${MAX_XATTR_NAME_BYTES}`);
  }
  if (/[\0-\x1f\x7f]/.test(name)) throw new UsageError(`${spelled} NAME '${JSON.stringify(name)}' contains control characters`);
  if (['user.', 'trusted.', 'security.'].includes(name)) {
    throw new UsageError(`${spelled} NAME '${name}' is only a namespace; give a full name such as '${name}erofs.fingerprint'`);
  }
  if (name.startsWith('system.') || name === 'system') {
    throw new UsageError(`${spelled} NAME '${name}' is in the system. namespace, which is reserved for ACLs; use trusted., user., security. or a hidden name`);
  }
}
