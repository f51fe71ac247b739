/**
 * erofs-share's command line: `erofs-share report [OPTIONS] IMAGE...`.
 * Pure (no file system access): every rule is easy to test.
 */
import { UsageError } from '../common.js';

/** Default domain_id of the sharing run (the kernel needs one for inode_share). */
export const DEFAULT_DOMAIN = 'default';

export interface ReportArgs {
  command: 'report';
  images: string[];
  domainId: string;
  /** false with --no-share: the "with sharing" engine mounts without inode_share. */
  share: boolean;
  json: boolean;
  /** --workload FILE: paths to read instead of every file. */
  workload?: string;
  /** --cache-bytes N: byte budget of each engine (default: unlimited). */
  cacheBytes?: number;
}

export type ShareArgs = ReportArgs | { command: 'help' } | { command: 'version' };

const SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "123", "64K", "512MiB", "2g" (binary units) -> bytes. */
export function parseBytes(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`invalid ${what}: ${JSON.stringify(text)} (a byte count such as 4096, 64M or 2G)`);
  const n = Math.floor(Number(m[1]) * SUFFIX[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`invalid ${what}: ${JSON.stringify(text)} (must be > 0)`);
  return n;
}

/** Parses argv (without the program name). */
export function parseShareArgs(argv: readonly string[]): ShareArgs {
  const args = [...argv];
  if (args.length === 0) throw new UsageError('missing command (try: erofs-share report IMAGE..., or --help)');
  const first = args[0]!;
  if (first === '-h' || first === '--help' || first === 'help') return { command: 'help' };
  if (first === '-V' || first === '--version') return { command: 'version' };
  if (first !== 'report') throw new UsageError(`unknown command ${JSON.stringify(first)} (try --help)`);
  args.shift();

  const out: ReportArgs = { command: 'report', images: [], domainId: DEFAULT_DOMAIN, share: true, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.images.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      out.images.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined) throw new UsageError(`option ${name} needs a value`);
      return v;
    };
    const flag = (): void => {
      if (inline !== undefined) throw new UsageError(`option ${name} takes no value`);
    };
    switch (name) {
      case '-h':
      case '--help':
        flag();
        return { command: 'help' };
      case '--domain':
      case '--domain-id':
      case '--domain_id':
        out.domainId = value();
        if (out.domainId === '') throw new UsageError('--domain must not be empty (inode sharing needs a domain_id)');
        break;
      case '--no-share':
        flag();
        out.share = false;
        break;
      case '--json':
        flag();
        out.json = true;
        break;
      case '--workload':
        out.workload = value();
        if (out.workload === '') throw new UsageError('--workload needs a file name');
        break;
      case '--cache-bytes':
        out.cacheBytes = parseBytes(value(), '--cache-bytes');
        break;
      default:
        throw new UsageError(`unknown option ${name} (try --help)`);
    }
  }
  if (out.images.length === 0) throw new UsageError('report: no IMAGE given (try --help)');
  return out;
}

/** Parses a workload file's text: one path per line; blank lines and `#` comments skipped. */
export function parseWorkload(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let p = line.startsWith('/') ? line : '/' + line;
    if (p.length > 1) p = p.replace(/\/+$/, '');
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  }
  return out;
}

export function usageText(prog = 'erofs-share'): string {
  return `Usage: ${prog} report [OPTIONS] IMAGE...
Measure how much page cache the Linux 7.0 EROFS inode page cache sharing
(mount options inode_share,domain_id=D) saves on your images, without root or
a kernel. Every IMAGE is mounted in one in-process page cache engine with
sharing on, and again in one with sharing off; every regular file of each image
(or the paths of --workload) is read through both, in the order the images are
given, and compared byte for byte.

Printed per image and in total: files read, page cache bytes without sharing,
with sharing, the reduction, and the file-level bound (bytes of 4 KiB pages if
every distinct file content were cached once). Files share only when their
image was built with fingerprints (mkfs-erofs --ishare_key=NAME).

Options:
  --domain D         domain_id of the sharing mounts (default "${DEFAULT_DOMAIN}")
  --no-share         mount without inode_share: "with" equals "without"
  --json             print one JSON object instead of the table
  --workload FILE    read only these paths (one per line, "#" comments; a directory
                     means every regular file below it) in every image that has them
  --cache-bytes N    byte budget of each engine (e.g. 256M); default unlimited. The
                     page cache bytes are then the working set (distinct pages the
                     reads brought in); fills and evictions show the budget's effect
  -h, --help         display this help and exit
  -V, --version      print the version and exit

Exit status: 0 when every byte read with sharing equals the byte read without
it, 1 on a mismatch or an error (missing or corrupt image), 2 on a usage error.
`;
}
