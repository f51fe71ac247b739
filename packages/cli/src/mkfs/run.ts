/**
 * mkfs-erofs's main: parse, check the operands, walk SOURCE, build IMAGE,
 * report. Everything that can go wrong with the user's input is turned into
 * an error whose message is one line naming what and where; runMain prints
 * it and sets the exit status (2 for usage, 1 for the rest).
 *
 * The image is never written in place: buildImage writes a temporary file
 * next to IMAGE and renames it at the end (removing it on failure), so a
 * failed run leaves neither IMAGE nor a temp file behind.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ErofsError } from '@erofs/format';
import { buildImage, parseCompressHints, scanDirectory } from '@erofs/writer';
import { UsageError } from '../common.js';
import { parseMkfsArgs, type MkfsBuildArgs } from './options.js';
import { startProgress } from './progress.js';
import { usageText } from './usage.js';
import type { BuildSummary, InodeNode, ProgressFn, ScanOptions, WriterOptions } from './writer-types.js';

/** The writer functions mkfs-erofs calls; tests may substitute them (see mkfs-errors.test.ts). */
export interface MkfsDeps {
  scanDirectory(path: string, opts: ScanOptions): Promise<InodeNode>;
  buildImage(root: InodeNode, opts: WriterOptions, outPath: string, progress?: ProgressFn): Promise<BuildSummary>;
}

/** Where output goes; tests and embedding callers may capture it. */
export interface MkfsIo {
  /** Where `--tar` with SOURCE '-' (or none) reads the tarball. */
  stdin: NodeJS.ReadableStream & AsyncIterable<Uint8Array>;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
}

/** Version line of `--version`. */
export function versionText(): string {
  let version = '0.0.0';
  try {
    // src/mkfs/run.ts and dist/mkfs/run.js both sit two levels below the package
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // a bundled copy without package.json: keep the placeholder
  }
  return `mkfs-erofs (erofs-ts) ${version}\noptions of mkfs.erofs 1.9.3; compressors: lz4, lz4hc, deflate, zstd\n`;
}

/** A random RFC 4122 version-4 UUID, as `-U random` and the default use. */
export function randomUuid(): Uint8Array {
  const u = new Uint8Array(randomBytes(16));
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}

/** 16 bytes as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx. */
export function formatUuid(u: Uint8Array): string {
  const h = Buffer.from(u).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Runs mkfs-erofs with `argv` (without the program name). Resolves with the
 * exit status; throws for failures (runMain turns them into one line).
 */
export async function mkfsMain(argv: readonly string[], io: Partial<MkfsIo> = {}, deps?: MkfsDeps): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const nowMs = Date.now();
  const args = parseMkfsArgs(argv, {
    env,
    now: { sec: BigInt(Math.floor(nowMs / 1000)), nsec: 0 },
    randomUuid,
  });
  if (args.kind === 'help') {
    out.write(usageText());
    return 0;
  }
  if (args.kind === 'version') {
    out.write(versionText());
    return 0;
  }

  const verbose = !args.quiet && args.debugLevel >= 2;
  const interactive = !args.quiet && args.debugLevel > 0 && Boolean(out.isTTY) && Boolean(err.isTTY) && env['CI'] === undefined;
  if (args.input) {
    const image = checkConvertPaths(args);
    // A progress line on stderr would mix with a tar arriving on stdin from a terminal pipeline: only when both are TTYs.
    const progress = await startProgress({ enabled: interactive, stream: err });
    const started = process.hrtime.bigint();
    let res;
    try {
      progress.phase(`converting ${args.source}`);
      // loaded only for tar/OCI sources: the directory path needs none of it (and a smaller peak RSS)
      const { convert } = await import('./convert.js');
      res = await convert(args, image, { stdin: io.stdin ?? process.stdin }, err, progress.update);
    } finally {
      progress.stop();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (verbose) {
      for (const r of res.images) out.write(summaryText({ ...args, image: r.path }, r.summary, seconds));
    }
    return 0;
  }
  const { source, image, blobdev } = checkPaths(args);
  const w: MkfsDeps = deps ?? { scanDirectory, buildImage };
  const progress = await startProgress({ enabled: interactive, stream: err });
  const started = process.hrtime.bigint();
  let summary: BuildSummary;
  try {
    progress.phase(`scanning ${args.source}`);
    const root = await w.scanDirectory(source, args.scanOptions);
    progress.phase(`writing ${args.image}`);
    const opts: WriterOptions = { ...args.writerOptions };
    if (blobdev !== undefined) opts.blobdev = blobdev;
    if (args.compressHintsFile !== undefined) {
      let text: string;
      try {
        text = readFileSync(args.compressHintsFile, 'utf8');
      } catch (e) {
        throw new ErofsError('ENOENT', `cannot read --compress-hints: ${(e as Error).message}`, args.compressHintsFile);
      }
      opts.compressHints = parseCompressHints(text, 1 << opts.blkszbits, opts.compression?.length ?? 1, (m) => err.write(`mkfs-erofs: ${m}\n`));
    }
    summary = await w.buildImage(root, opts, image, progress.update);
  } finally {
    progress.stop();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (verbose) out.write(summaryText(args, summary, seconds));
  return 0;
}

/** The summary printed after a successful build. */
export function summaryText(args: MkfsBuildArgs, s: BuildSummary, seconds: number): string {
  const bs = 1 << args.writerOptions.blkszbits;
  const lines = [
    `Build completed: ${args.image}`,
    '------',
    `Filesystem UUID: ${formatUuid(args.writerOptions.uuid)}`,
    `Filesystem total inodes: ${s.inodes}`,
    `Filesystem total blocks: ${s.blocks} (of ${bs} bytes)`,
    `Filesystem total bytes: ${s.bytes}`,
    `Regular files: ${s.files} (${s.dataBytes} bytes of data)`,
    `Files fingerprinted: ${s.fingerprinted}${args.writerOptions.ishareKey ? ` (xattr ${args.writerOptions.ishareKey})` : ''}`,
    `Time: ${seconds.toFixed(3)} s`,
  ];
  if (args.debugLevel >= 3) {
    lines.push(`Block size: ${bs}; build time: ${args.writerOptions.buildTime.sec}; mtimes: ${args.scanOptions.mtime.mode}`);
  }
  return lines.join('\n') + '\n';
}

/** Absolute, checked paths of SOURCE, IMAGE and the blob device. */
interface CheckedPaths {
  source: string;
  image: string;
  blobdev?: string;
}

/**
 * Checks SOURCE and the outputs before any work, so the common mistakes
 * fail at once with a precise message: SOURCE missing or not a directory;
 * an output whose directory is missing or not a directory, or which is
 * itself a directory; an output inside SOURCE (it would be packed into
 * itself, half-written); IMAGE and --blobdev being the same file.
 */
export function checkPaths(args: MkfsBuildArgs): CheckedPaths {
  let source: string;
  try {
    source = realpathSync(args.source);
  } catch (e) {
    throw new Error(`cannot use SOURCE '${args.source}': ${reason(e)}`);
  }
  let st;
  try {
    st = statSync(source);
  } catch (e) {
    throw new Error(`cannot use SOURCE '${args.source}': ${reason(e)}`);
  }
  if (!st.isDirectory()) throw new Error(`SOURCE '${args.source}' is not a directory (only directory sources are supported yet)`);

  const image = checkOutput(args.image, 'IMAGE', source, args.source);
  const result: CheckedPaths = { source, image };
  if (args.writerOptions.blobdev !== undefined) {
    result.blobdev = checkOutput(args.writerOptions.blobdev, '--blobdev', source, args.source);
    if (result.blobdev === image) throw new UsageError(`--blobdev '${args.writerOptions.blobdev}' is the same file as IMAGE`);
  }
  return result;
}

/**
 * The outputs of a tar/OCI conversion, checked before any work: IMAGE (when
 * given) and `--ungzip=FILE` as for directory sources, neither the same file
 * as the tarball/archive; the --per-layer directory must be a directory if it
 * exists. Returns the absolute IMAGE path ('' for --per-layer only).
 */
export function checkConvertPaths(args: MkfsBuildArgs): string {
  const input = args.input!;
  let real = '\0'; // stdin: nothing on disk to protect
  if (input.path !== '-') {
    const path = input.kind === 'oci' ? input.path.replace(/:[^/:]*$/, '') : input.path;
    try {
      real = realpathSync(statSync(input.path, { throwIfNoEntry: false }) ? input.path : path);
    } catch (e) {
      throw new Error(`cannot use SOURCE '${input.path}': ${reason(e)}`);
    }
  }
  const image = args.image === '' ? '' : checkOutput(args.image, 'IMAGE', real, input.path);
  if (input.kind === 'tar' && input.dumpFile !== undefined) {
    const d = checkOutput(input.dumpFile, '--ungzip/--unzstd FILE', real, input.path);
    if (d === image) throw new UsageError(`--ungzip/--unzstd FILE '${input.dumpFile}' is the same file as IMAGE`);
  }
  if (input.kind === 'oci' && input.perLayerDir !== undefined) {
    const st = statSync(input.perLayerDir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new Error(`--per-layer '${input.perLayerDir}' exists and is not a directory`);
  }
  return image;
}

/** One output file: its directory must exist; it must not be a directory nor inside SOURCE. */
function checkOutput(given: string, what: string, realSource: string, sourceGiven: string): string {
  const abs = resolve(given);
  const dir = dirname(abs);
  let realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch (e) {
    throw new Error(`cannot create ${what} '${given}': directory '${dir}': ${reason(e)}`);
  }
  if (!statSync(realDir).isDirectory()) throw new Error(`cannot create ${what} '${given}': '${dir}' is not a directory`);
  const target = join(realDir, basename(abs));
  let real = target;
  try {
    real = realpathSync(target); // an existing IMAGE may be a symlink into SOURCE
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot create ${what} '${given}': ${reason(e)}`);
  }
  if (statSync(real, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`cannot create ${what} '${given}': it is a directory`);
  if (real === realSource || real.startsWith(realSource + sep) || realSource === sep) {
    throw new Error(`${what} '${given}' is inside SOURCE '${sourceGiven}'; write it outside the tree being packed`);
  }
  return target;
}

/** "no such file or directory" from an ENOENT error, else the message. */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a path component is not a directory',
    EACCES: 'permission denied',
    ELOOP: 'too many levels of symbolic links',
  };
  return (err.code && text[err.code]) ?? String(err.message ?? e);
}
