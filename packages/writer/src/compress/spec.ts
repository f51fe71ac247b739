/**
 * Compression settings as mkfs.erofs spells them: `-zX[,level=N][:Y...]`,
 * `--compress-hints=FILE`, and what they resolve to per file.
 */
import { CompressionAlgorithm, ErofsError } from '@erofs/format';

/** Compressors the writer knows; `lz4` and `lz4hc` share the on-disk LZ4 format. */
export type CompressorName = 'lz4' | 'lz4hc' | 'deflate' | 'zstd';

/** One compressor configuration (one entry of `-z`, separated by ':'). */
export interface CompressionSpec {
  algorithm: CompressorName;
  /** Compression level; undefined means the compressor's default. */
  level?: number;
  /** Window (dictionary) size in bytes, a power of two (`dictsize=`); deflate and zstd only. */
  dictSize?: number;
}

/**
 * A line of a compress-hints file: files whose path (relative to the source
 * root, no leading '/') matches `pattern` get `pclusterSize` (0: store
 * uncompressed) and the compressor `-z` alternative number `configIndex`.
 * The first matching line wins.
 */
export interface CompressHint {
  pclusterSize: number;
  pattern: RegExp;
  configIndex: number;
}

const LEVELS: Record<CompressorName, { min: number; max: number; def: number | undefined }> = {
  lz4: { min: 0, max: 0, def: undefined },
  lz4hc: { min: 0, max: 12, def: 9 },
  deflate: { min: 0, max: 9, def: 1 },
  zstd: { min: 0, max: 22, def: 3 },
};

/** The on-disk algorithm number of a compressor. */
export function algorithmId(name: CompressorName): number {
  switch (name) {
    case 'lz4':
    case 'lz4hc':
      return CompressionAlgorithm.LZ4;
    case 'deflate':
      return CompressionAlgorithm.DEFLATE;
    case 'zstd':
      return CompressionAlgorithm.ZSTD;
  }
}

/** The level a compressor runs at (its default when unset; lz4hc 0 means its default). */
export function effectiveLevel(spec: CompressionSpec): number {
  const l = LEVELS[spec.algorithm];
  if (spec.level === undefined) return l.def ?? 0;
  if (spec.algorithm === 'lz4hc' && spec.level === 0) return 9;
  return spec.level;
}

/**
 * Parses mkfs.erofs's `-z` argument: alternatives separated by ':', each
 * `NAME[,level=N][,dictsize=N]` or the older `NAME,N`.
 */
export function parseCompressionSpecs(arg: string): CompressionSpec[] {
  if (arg.trim() === '') throw new ErofsError('EINVAL', 'empty compressor name');
  return arg.split(':').map((part) => {
    const [name, ...opts] = part.split(',');
    const algorithm = name!.trim().toLowerCase();
    if (!(algorithm in LEVELS)) {
      throw new ErofsError('EOPNOTSUPP', `compressor "${name}" not supported (lz4, lz4hc, deflate, zstd)`);
    }
    const spec: CompressionSpec = { algorithm: algorithm as CompressorName };
    for (const o of opts) {
      const m = /^(?:(level|dictsize)=)?(\d+)([kKmM]?)$/.exec(o.trim());
      if (!m) throw new ErofsError('EINVAL', `bad compressor option "${o}" for ${algorithm}`);
      const scale = m[3] === '' ? 1 : /k/i.test(m[3]!) ? 1024 : 1024 * 1024;
      if (m[1] === 'dictsize') spec.dictSize = Number(m[2]) * scale;
      else spec.level = Number(m[2]);
    }
    validateSpec(spec);
    return spec;
  });
}

/** Rejects levels and window sizes a compressor does not have. */
export function validateSpec(spec: CompressionSpec): void {
  const l = LEVELS[spec.algorithm];
  if (!l) throw new ErofsError('EOPNOTSUPP', `compressor "${String(spec.algorithm)}" not supported`);
  if (spec.level !== undefined) {
    if (spec.algorithm === 'lz4') throw new ErofsError('EINVAL', 'lz4 has no compression levels (use lz4hc)');
    if (!Number.isInteger(spec.level) || spec.level < l.min || spec.level > l.max) {
      throw new ErofsError('EINVAL', `${spec.algorithm} level ${spec.level} not in ${l.min}..${l.max}`);
    }
  }
  if (spec.dictSize !== undefined) {
    const d = spec.dictSize;
    if (spec.algorithm !== 'deflate' && spec.algorithm !== 'zstd') {
      throw new ErofsError('EINVAL', `${spec.algorithm} takes no dictsize`);
    }
    const max = spec.algorithm === 'deflate' ? 32768 : 1 << 20;
    if (!Number.isInteger(d) || d < 256 || d > max || (d & (d - 1)) !== 0) {
      throw new ErofsError('EINVAL', `${spec.algorithm} dictsize ${d} must be a power of two <= ${max}`);
    }
  }
}

/**
 * Parses a compress-hints file (mkfs.erofs --compress-hints): one rule a
 * line, `PCLUSTERSIZE [CONFIG#] REGEX`; '#' lines and blank lines are
 * skipped. `configs` is the number of `-z` alternatives. A size that is not
 * a multiple of the block size is ignored with a warning, as mkfs.erofs does.
 */
export function parseCompressHints(text: string, blksz: number, configs: number, warn?: (msg: string) => void): CompressHint[] {
  const out: CompressHint[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^[\t ]*(\S+)[\t ]+(\S+)(?:[\t ]+(.*))?$/.exec(line);
    if (!m) throw new ErofsError('EINVAL', `compress hints line ${i + 1}: cannot find a match pattern`);
    let cfg = 0;
    let pattern: string;
    if (m[3] === undefined || m[3] === '') {
      pattern = m[2]!;
    } else {
      if (!/^\d+$/.test(m[2]!) || Number(m[2]) >= configs) {
        throw new ErofsError('EINVAL', `compress hints line ${i + 1}: invalid compressing configuration "${m[2]}"`);
      }
      cfg = Number(m[2]);
      pattern = m[3];
    }
    const size = /^\d+$/.test(m[1]!) ? Number(m[1]) : NaN;
    if (!Number.isFinite(size)) throw new ErofsError('EINVAL', `compress hints line ${i + 1}: bad pcluster size "${m[1]}"`);
    if (size % blksz !== 0) {
      warn?.(`compress hints line ${i + 1}: physical cluster size ${size} is not a multiple of the block size; line ignored`);
      continue;
    }
    let re: RegExp;
    try {
      re = new RegExp(pattern);
    } catch (e) {
      throw new ErofsError('EINVAL', `compress hints line ${i + 1}: invalid regex ${pattern} (${(e as Error).message})`);
    }
    out.push({ pclusterSize: size, pattern: re, configIndex: cfg });
  }
  return out;
}
