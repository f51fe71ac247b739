/**
 * Error helpers. Every failure caused by the input (a damaged tar, a hostile
 * path, a digest mismatch) is an `ErofsError` whose `where` names the entry
 * path or the blob digest, so a CLI prints one line that points at the culprit.
 */
import { ErofsError } from '@erofs/format';

export { ErofsError };

/** The input contradicts its own format (bad checksum, truncated, sizes past the end). */
export function corrupt(message: string, where?: string): ErofsError {
  return new ErofsError('EFSCORRUPTED', message, where);
}

/** The input is well formed but asks for something we refuse (escaping paths, NUL bytes). */
export function invalid(message: string, where?: string): ErofsError {
  return new ErofsError('EINVAL', message, where);
}

/** Wraps a foreign error (zlib, fs) as an ErofsError, keeping ours untouched. */
export function wrapError(e: unknown, code: 'EFSCORRUPTED' | 'EIO', prefix: string, where?: string): ErofsError {
  if (e instanceof ErofsError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ErofsError(code, `${prefix}: ${msg}`, where, { cause: e });
}
