/**
 * errno-style error codes used across the toolkit. The names follow Linux
 * (EFSCORRUPTED is what the kernel's EROFS driver returns for a damaged image;
 * it is EUCLEAN in userspace).
 */
export type ErofsErrorCode =
  | 'EFSCORRUPTED'
  | 'EOPNOTSUPP'
  | 'ENOENT'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ELOOP'
  | 'EIO'
  | 'EINVAL'
  | 'ENAMETOOLONG'
  | 'ENODATA'
  | 'EFBIG'
  | 'ENOSPC'
  | 'EEXIST'
  | 'EACCES'
  | 'EBUSY'
  | 'ERANGE';

/**
 * The one error class of the toolkit. `code` is an errno-style name,
 * `where` says where it happened ("nid 1234", "/etc/passwd", "lcn 12 of nid 40").
 * The message already includes `where`, so CLIs print `message` as one line.
 */
export class ErofsError extends Error {
  readonly code: ErofsErrorCode;
  readonly where: string | undefined;
  constructor(code: ErofsErrorCode, message: string, where?: string, options?: { cause?: unknown }) {
    super(where ? `${message} @ ${where}` : message, options);
    this.name = 'ErofsError';
    this.code = code;
    this.where = where;
  }
}

/** Shorthand for a corruption error: the image contradicts the format. */
export function corrupted(message: string, where?: string): ErofsError {
  return new ErofsError('EFSCORRUPTED', message, where);
}

/** True when `e` is an ErofsError (optionally with the given code). */
export function isErofsError(e: unknown, code?: ErofsErrorCode): e is ErofsError {
  return e instanceof ErofsError && (code === undefined || e.code === code);
}
