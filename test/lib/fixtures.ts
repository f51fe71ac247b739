/**
 * The shared fixtures (../shared/fixtures, read-only): the source manifest,
 * images.json, and the expected content of each image, derived from the
 * manifest by the rules in the fixtures' README.md.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './tools.js';

/** The fixtures directory: EROFS_SHARED/fixtures (set by scripts/test.mjs), else `../shared/fixtures` beside the repository. */
export const FIX: string = resolve(process.env['EROFS_SHARED'] ?? resolve(REPO_ROOT, '..', 'shared'), 'fixtures');
/** Directory of the valid fixture images and images.json. */
export const FIX_IMAGES: string = join(FIX, 'images');
/** Directory of the deliberately corrupt images and corrupt.json. */
export const FIX_CORRUPT: string = join(FIX, 'corrupt');
/** The fixture source manifest. */
export const MANIFEST_PATH: string = join(FIX, 'source.manifest.json');

/** Node types as the manifest names them. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket';

/** A timestamp as the manifest writes it. */
export interface Mtime {
  sec: number;
  nsec: number;
}

/**
 * One path of a tree, in the shape of source.manifest.json (and of
 * make-manifest.sh's output for any directory). Optional fields are absent
 * when they do not apply.
 */
export interface ManifestEntry {
  /** "/" for the root, else "/dir/name". */
  path: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky as a 4-digit octal string. */
  mode: string;
  /** Full st_mode (type bits | mode). */
  st_mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Byte size; null for directories. */
  size: number | null;
  mtime: Mtime;
  /** Symlink target. */
  target?: string;
  /** Hex SHA-256 of a regular file's content. */
  sha256?: string;
  /** Device numbers of char/block devices. */
  rdev?: { major: number; minor: number };
  /** Non-directories with nlink > 1: the first (sorted) path of the inode's names. */
  hardlink_group?: string;
  /** xattr name -> lowercase hex value ("" for an empty value). */
  xattrs: Record<string, string>;
}

/** Per-path expected-value changes: field -> value, null = field absent. */
export type Overrides = Record<string, Partial<Record<keyof ManifestEntry, unknown>>>;

/** One image of images/images.json (only the fields the tests use are typed). */
export interface ImageEntry {
  /** File name inside images/. */
  file: string;
  tree: 'full' | 'lite';
  mtime: 'source' | 'fixed';
  overrides?: Overrides;
  excluded_paths?: string[];
  /** xattr mkfs added to every non-empty regular file ("sha256:" + raw digest). */
  digest_xattr?: string;
  /** Same digest under a name the kernel does not list; not compared. */
  hidden_digest_xattr?: string;
  /** Expected number of paths. */
  paths: number;
  superblock: Record<string, unknown>;
  command?: string;
  tool?: string;
  size: number;
  sha256: string;
  exercises?: string;
  [more: string]: unknown;
}

/** images/images.json. */
export interface ImagesDoc {
  format: number;
  /** The mtime (seconds) every inode gets in `mtime: "fixed"` images. */
  fixed_time: number;
  images: ImageEntry[];
  [more: string]: unknown;
}

/** The mtime every fixture inode has unless noted (2023-11-14T22:13:20Z). */
export const FIXED_TIME = 1700000000;

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

let manifestCache: readonly ManifestEntry[] | undefined;
let imagesCache: ImagesDoc | undefined;

/**
 * The entries of source.manifest.json (2151, sorted by UTF-8 bytes of the
 * path). Parsed once per process and deep-frozen: copy before changing.
 */
export function loadManifest(): readonly ManifestEntry[] {
  if (!manifestCache) {
    const doc = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as { entries: ManifestEntry[] };
    manifestCache = deepFreeze(doc.entries);
  }
  return manifestCache;
}

/** images/images.json, parsed once per process and deep-frozen. */
export function loadImages(): ImagesDoc {
  imagesCache ??= deepFreeze(JSON.parse(readFileSync(join(FIX_IMAGES, 'images.json'), 'utf8')) as ImagesDoc);
  return imagesCache;
}

/** The images.json entry of a fixture image by file name ("lz4.erofs"); throws if unknown. */
export function imageEntry(file: string): ImageEntry {
  const e = loadImages().images.find((i) => i.file === file);
  if (!e) throw new Error(`no image ${file} in images.json`);
  return e;
}

/** Absolute path of a fixture image by file name. */
export function imagePath(file: string): string {
  return join(FIX_IMAGES, file);
}

/** Options of {@link expectedForTree}: how an image differs from the source tree. */
export interface TreeExpectation {
  /** "full": every manifest path; "lite": nothing below /bulk/ (/bulk itself stays). Default full. */
  tree?: 'full' | 'lite';
  /** "source": the manifest's mtimes; "fixed": every inode {sec: fixedTime, nsec: 0}. Default source. */
  mtime?: 'source' | 'fixed';
  /** Seconds used by mtime "fixed" (default images.json fixed_time, 1700000000). */
  fixedTime?: number;
  /** xattr the image adds to every non-empty regular file: "sha256:" + the raw 32-byte digest. */
  digestXattr?: string;
  /** Per-path field changes applied after selection (null = field absent). */
  overrides?: Overrides;
  /** Further paths the image lacks. */
  excludedPaths?: readonly string[];
  /** Base entries (default: the fixture manifest). */
  entries?: readonly ManifestEntry[];
}

/** Hex of the digest xattr value mkfs writes: ASCII "sha256:" then the raw digest. */
export function digestXattrHex(sha256Hex: string): string {
  return Buffer.from('sha256:', 'ascii').toString('hex') + sha256Hex.toLowerCase();
}

/**
 * Expected entries of an image built from the fixture tree (or `entries`),
 * fully materialised: selection (tree, excludedPaths), overrides, mtime
 * policy and digest xattr are already applied, so the result compares with
 * {@link compareTrees} under its default options. Returns fresh mutable copies.
 */
export function expectedForTree(opts: TreeExpectation = {}): ManifestEntry[] {
  const tree = opts.tree ?? 'full';
  const mtime = opts.mtime ?? 'source';
  const fixedTime = opts.fixedTime ?? loadImages().fixed_time ?? FIXED_TIME;
  const excluded = new Set(opts.excludedPaths ?? []);
  const out: ManifestEntry[] = [];
  for (const src of opts.entries ?? loadManifest()) {
    if (tree === 'lite' && src.path.startsWith('/bulk/')) continue;
    if (excluded.has(src.path)) continue;
    const e = structuredClone(src) as ManifestEntry;
    const rec = e as unknown as Record<string, unknown>;
    for (const [field, value] of Object.entries(opts.overrides?.[src.path] ?? {})) {
      if (value === null) delete rec[field];
      else rec[field] = structuredClone(value);
    }
    if (mtime === 'fixed') e.mtime = { sec: fixedTime, nsec: 0 };
    if (opts.digestXattr && e.type === 'file' && e.size && e.sha256) {
      e.xattrs = { ...e.xattrs, [opts.digestXattr]: digestXattrHex(e.sha256) };
    }
    out.push(e);
  }
  return out;
}

/**
 * Expected entries of a fixture image, from its images.json entry (or its
 * file name): tree lite/full, excluded_paths, overrides, mtime fixed/source
 * and digest_xattr applied. hidden_digest_xattr is not added (the kernel does
 * not list it, so a kernel mount cannot show it).
 */
export function expectedFor(image: ImageEntry | string): ManifestEntry[] {
  const e = typeof image === 'string' ? imageEntry(image) : image;
  return expectedForTree({
    tree: e.tree,
    mtime: e.mtime,
    fixedTime: loadImages().fixed_time,
    ...(e.digest_xattr ? { digestXattr: e.digest_xattr } : {}),
    ...(e.overrides ? { overrides: e.overrides } : {}),
    ...(e.excluded_paths ? { excludedPaths: e.excluded_paths } : {}),
  });
}
