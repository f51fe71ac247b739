/**
 * The tar and OCI source options of mkfs-erofs, as mkfs.erofs 1.9.3 spells
 * them (mkfs/main.c: mkfs_parse_tar_cfg, mkfs_parse_oci_options), plus our
 * own `--unzstd` and `--per-layer`. Pure, like options.ts.
 *
 *  --tar[=f|i|headerball][,MAPFILE]  SOURCE is a tarball (a file, or '-' /
 *                            nothing for stdin). 'f' (default) copies file
 *                            data into the image; 'i' (index mode) keeps it
 *                            in the tar, the image's extra device (a file
 *                            only, 512-byte blocks; see convert.ts).
 *  --aufs                    `.wh.NAME` -> 0:0 char device, `.wh..wh..opq` ->
 *                            trusted.overlay.opaque=y (tar sources).
 *  --ovlfs-strip[=0|1]       drop overlayfs whiteouts and opaque marks.
 *  --gzip, --ungzip[=FILE]   the input is gzip; FILE gets the decompressed tar.
 *  --unzstd[=FILE]           the input is Zstandard (ours; upstream cannot).
 *                            Without either, gzip and zstd are detected by magic.
 *  --oci[=f|i][,platform=OS/ARCH[/VARIANT]][,layer=N|,blob=DIGEST]
 *                            SOURCE is a local OCI layout DIR[:REF], an
 *                            oci-archive or a docker-archive tarball (upstream
 *                            takes a registry reference; we do not fetch).
 *                            'i' (index mode): the layers must be uncompressed
 *                            tars; their blob files (or the archive) are the
 *                            image's extra devices (see convert.ts).
 *  --per-layer=DIR           with --oci: also (or only, when IMAGE is omitted)
 *                            write one image per layer to DIR/<alg>-<hex>.erofs.
 */
import { UsageError } from '../common.js';

/** How the tar stream is decompressed. */
export type TarCompression = 'auto' | 'gzip' | 'zstd';

/** A tarball source. */
export interface TarSource {
  kind: 'tar';
  /** 'f': data copied into the image; 'i': index only (data stays in the tar). */
  mode: 'f' | 'i';
  /** The tarball path, or '-' for stdin. */
  path: string;
  compression: TarCompression;
  /** `--ungzip=FILE` / `--unzstd=FILE`: where the decompressed tar is copied. */
  dumpFile?: string;
  aufs: boolean;
  ovlfsStrip: boolean;
}

/** An OCI image source. */
export interface OciSource {
  kind: 'oci';
  mode: 'f' | 'i';
  /** DIR[:REF] or an archive file. */
  path: string;
  platform?: string;
  /** Only this layer (0 = the lowest), as a single-layer image with overlayfs whiteouts. */
  layer?: number;
  /** Only the layer with this blob digest. */
  blob?: string;
  /** `--per-layer=DIR`. */
  perLayerDir?: string;
  ovlfsStrip: boolean;
}

/** Source options while parsing; {@link finishSource} turns them into a source. */
export interface SourceFlags {
  tar?: { mode: 'f' | 'i' };
  oci?: { mode: 'f' | 'i'; platform?: string; layer?: number; blob?: string };
  aufs: boolean;
  ovlfsStrip: boolean;
  compression?: TarCompression;
  dumpFile?: string;
  perLayerDir?: string;
}

export function emptySourceFlags(): SourceFlags {
  return { aufs: false, ovlfsStrip: false };
}

/**
 * Applies one source option; returns false when `key` is not one of them.
 * Value syntax as upstream; anything upstream would silently misread is an error here.
 */
export function parseSourceOption(key: string, value: string | undefined, spelled: string, f: SourceFlags): boolean {
  switch (key) {
    case 'tar': {
      const v = value ?? 'f';
      const comma = v.indexOf(',');
      const mode = comma < 0 ? v : v.slice(0, comma);
      if (comma >= 0) throw new UsageError(`${spelled}=${v}: a block-list MAPFILE is not supported yet`);
      if (mode === 'f' || mode === '') f.tar = { mode: 'f' };
      else if (mode === 'i' || mode === '0') f.tar = { mode: 'i' };
      else if (mode === 'headerball') throw new UsageError(`${spelled}=headerball is not supported yet`);
      else throw new UsageError(`invalid value '${v}' for ${spelled} (f, i or headerball)`);
      return true;
    }
    case 'aufs':
      f.aufs = true;
      return true;
    case 'ovlfs-strip':
      if (value !== undefined && value !== '0' && value !== '1') throw new UsageError(`invalid value '${value}' for ${spelled} (0 or 1)`);
      f.ovlfsStrip = value === undefined || value === '1';
      return true;
    case 'ungzip':
    case 'unzstd':
      f.compression = key === 'ungzip' ? 'gzip' : 'zstd';
      if (value !== undefined) {
        if (value === '') throw new UsageError(`${spelled}= needs a file name`);
        f.dumpFile = value;
      }
      return true;
    case 'oci':
      f.oci = parseOci(value ?? '', spelled);
      return true;
    case 'per-layer':
      if (value === undefined || value === '') throw new UsageError(`${spelled} needs a directory`);
      f.perLayerDir = value;
      return true;
    default:
      return false;
  }
}

function parseOci(v: string, spelled: string): NonNullable<SourceFlags['oci']> {
  const out: NonNullable<SourceFlags['oci']> = { mode: 'f' };
  const items = v === '' ? [] : v.split(',');
  if (items[0] === 'f' || items[0] === 'i') out.mode = items.shift() as 'f' | 'i';
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const val = eq < 0 ? '' : item.slice(eq + 1);
    switch (name) {
      case 'platform':
        if (!/^[a-z0-9_.-]+\/[a-z0-9_.-]+(\/[a-z0-9_.-]+)?$/i.test(val)) {
          throw new UsageError(`invalid platform '${val}' for ${spelled} (OS/ARCH[/VARIANT], e.g. linux/amd64)`);
        }
        out.platform = val;
        break;
      case 'layer':
        if (out.blob !== undefined) throw new UsageError(`invalid ${spelled}: layer and blob cannot be set together`);
        if (!/^[0-9]+$/.test(val) || Number(val) > 0xffff) throw new UsageError(`invalid layer index '${val}' for ${spelled} (0 = the lowest layer)`);
        out.layer = Number(val);
        break;
      case 'blob': {
        if (out.layer !== undefined) throw new UsageError(`invalid ${spelled}: layer and blob cannot be set together`);
        const d = val.startsWith('sha256:') ? val : `sha256:${val}`;
        if (!/^sha256:[a-f0-9]{64}$/.test(d)) throw new UsageError(`invalid blob digest '${val}' for ${spelled}`);
        out.blob = d;
        break;
      }
      case 'username': case 'password': case 'insecure':
        throw new UsageError(`${spelled} ${name}: registries are not supported (SOURCE is a local OCI layout or archive)`);
      default:
        throw new UsageError(`invalid ${spelled} value '${item}'`);
    }
  }
  return out;
}

/**
 * Checks the combination and builds the source from the operands (IMAGE
 * first). Returns undefined for a directory source. `operands` may lack
 * SOURCE for `--tar` (stdin) and IMAGE for `--oci --per-layer=DIR`.
 */
export function finishSource(f: SourceFlags, operands: readonly string[]): { image: string; source: TarSource | OciSource } | undefined {
  if (f.tar && f.oci) throw new UsageError('--tar and --oci cannot be used together');
  if (!f.tar && !f.oci) {
    if (f.perLayerDir !== undefined) throw new UsageError('--per-layer needs --oci');
    const stray = f.aufs ? '--aufs' : f.ovlfsStrip ? '--ovlfs-strip'
      : f.compression === 'gzip' ? '--ungzip' : f.compression === 'zstd' ? '--unzstd' : undefined;
    if (stray) throw new UsageError(`${stray} needs --tar or --oci (not supported for directory sources yet)`);
    return undefined;
  }
  if (f.tar) {
    if (f.perLayerDir !== undefined) throw new UsageError('--per-layer needs --oci');
    if (operands.length === 0) throw new UsageError('missing argument: IMAGE (usage: mkfs-erofs --tar[=f|i] IMAGE [TARBALL|-])');
    if (operands.length > 2) throw new UsageError(`unexpected argument '${operands[2]}' (one tarball only)`);
    const [image, path = '-'] = operands as [string, string?];
    if (image === '') throw new UsageError('IMAGE must not be empty');
    if (path === '') throw new UsageError('TARBALL must not be empty (use - for stdin)');
    const source: TarSource = { kind: 'tar', mode: f.tar.mode, path, compression: f.compression ?? 'auto', aufs: f.aufs, ovlfsStrip: f.ovlfsStrip };
    if (f.dumpFile !== undefined) source.dumpFile = f.dumpFile;
    return { image, source };
  }
  const o = f.oci!;
  if (f.aufs) throw new UsageError('--aufs applies to --tar (OCI layers are always read with their whiteouts)');
  if (f.compression) throw new UsageError(`--${f.compression === 'gzip' ? 'ungzip' : 'unzstd'} applies to --tar (OCI layer compression is detected)`);
  const perLayer = f.perLayerDir !== undefined;
  if (perLayer && (o.layer !== undefined || o.blob !== undefined)) throw new UsageError('--per-layer cannot be combined with --oci layer= or blob=');
  let image = '';
  let path: string;
  if (operands.length === 1 && perLayer) {
    path = operands[0]!;
  } else if (operands.length === 2) {
    [image, path] = operands as [string, string];
    if (image === '') throw new UsageError('IMAGE must not be empty');
  } else if (operands.length < 2) {
    throw new UsageError(`missing argument: ${operands.length === 0 ? 'IMAGE' : 'SOURCE'} (usage: mkfs-erofs --oci[=f|i] IMAGE DIR[:REF]|ARCHIVE)`);
  } else {
    throw new UsageError(`unexpected argument '${operands[2]}' (one OCI source only)`);
  }
  if (path === '') throw new UsageError('SOURCE must not be empty');
  const source: OciSource = { kind: 'oci', mode: o.mode, path, ovlfsStrip: f.ovlfsStrip };
  if (o.platform !== undefined) source.platform = o.platform;
  if (o.layer !== undefined) source.layer = o.layer;
  if (o.blob !== undefined) source.blob = o.blob;
  if (perLayer) source.perLayerDir = f.perLayerDir!;
  return { image, source };
}
