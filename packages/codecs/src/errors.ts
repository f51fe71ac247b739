import { ErofsError } from '@erofs/format';

/**
 * Every codec reports malformed input the same way, so a reader can treat a
 * bad pcluster as one kind of failure whatever the algorithm.
 */
export function corruptInput(codec: string, message: string, where?: string): ErofsError {
  return new ErofsError('EFSCORRUPTED', `${codec}: ${message}`, where);
}

/** Bad arguments are a caller bug, not a damaged image, hence EINVAL. */
export function badArgument(codec: string, message: string): ErofsError {
  return new ErofsError('EINVAL', `${codec}: ${message}`);
}

/**
 * Validates a [start, end) window of an array once up front, so the hot loops
 * can trust their bounds and never fall into a RangeError.
 */
export function checkRange(codec: string, what: string, arr: Uint8Array, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > arr.length) {
    throw badArgument(codec, `${what} range [${start}, ${end}) is outside 0..${arr.length}`);
  }
}
