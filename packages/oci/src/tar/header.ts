/**
 * The 512-byte tar header block (ustar as POSIX.1-1988 defines it, plus the
 * GNU variants): field offsets, checksum and numeric fields.
 *
 * Layout (offset, size): name 0/100, mode 100/8, uid 108/8, gid 116/8,
 * size 124/12, mtime 136/12, chksum 148/8, typeflag 156/1, linkname 157/100,
 * magic 257/6, version 263/2, uname 265/32, gname 297/32, devmajor 329/8,
 * devminor 337/8, prefix 345/155 (ustar only; old GNU keeps atime/ctime there).
 */
import { corrupt } from '../errors.js';

/** Size of a header block and the unit every member is padded to. */
export const BLOCK = 512;

/** The raw fields of one header block; pax and GNU records override them later. */
export interface RawHeader {
  name: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: bigint;
  typeflag: string;
  linkname: Uint8Array;
  devmajor: number;
  devminor: number;
  /** 'ustar' (POSIX, prefix field in use), 'gnu' (old GNU "ustar  "), or 'v7'. */
  format: 'ustar' | 'gnu' | 'v7';
}

/** Bytes of a NUL-terminated field (the terminator is optional when the field is full). */
function cstr(b: Uint8Array, off: number, len: number): Uint8Array {
  const f = b.subarray(off, off + len);
  const z = f.indexOf(0);
  return z < 0 ? f : f.subarray(0, z);
}

/**
 * A numeric field: octal ASCII (leading spaces, terminated by NUL or space),
 * or GNU base-256 when the top bit of the first byte is set (0x80 positive,
 * 0xff two's-complement negative) for values that do not fit in octal.
 */
export function parseNumeric(b: Uint8Array, off: number, len: number, what: string): bigint {
  const first = b[off]!;
  if (first & 0x80) {
    let v = BigInt(first & 0x7f);
    // 0xff lead byte: negative number in two's complement over the whole field.
    const negative = first === 0xff;
    if (negative) v = BigInt(first);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(b[off + i]!);
    if (negative) v -= 1n << BigInt(len * 8);
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) {
    // An all-blank or all-NUL field means zero (some writers leave devmajor empty).
    if (b[i] === 0) return 0n;
    i++;
  }
  let v = 0n;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw corrupt(`invalid octal digit in tar ${what} field`);
    v = (v << 3n) | BigInt(c - 0x30);
    digits++;
  }
  // Anything after the terminator must be terminators too.
  for (; i < end; i++) {
    const c = b[i]!;
    if (c !== 0 && c !== 0x20) throw corrupt(`garbage after tar ${what} field`);
  }
  return digits === 0 ? 0n : v;
}

function smallNumeric(b: Uint8Array, off: number, len: number, what: string): number {
  const v = parseNumeric(b, off, len, what);
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`tar ${what} out of range: ${v}`);
  return Number(v);
}

/** True when the block is all zeros (end-of-archive marker). */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Verifies the checksum: the byte sum of the header with the checksum field
 * read as eight spaces. Historic writers summed signed chars, so both sums
 * are accepted, as GNU tar does.
 */
export function checksumOk(b: Uint8Array): boolean {
  let stored: bigint;
  try {
    stored = parseNumeric(b, 148, 8, 'chksum');
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c >= 0x80 ? c - 256 : c;
  }
  return stored === BigInt(unsigned) || stored === BigInt(signed);
}

/** Decodes one header block; `where` names its offset for errors. */
export function decodeHeader(b: Uint8Array, where: string): RawHeader {
  if (!checksumOk(b)) throw corrupt('bad tar header checksum', where);
  const magic = String.fromCharCode(...b.subarray(257, 263));
  const version = String.fromCharCode(...b.subarray(263, 265));
  const format = magic === 'ustar\0' ? 'ustar' : magic === 'ustar ' && version === ' \0' ? 'gnu' : 'v7';
  let name = cstr(b, 0, 100);
  if (format === 'ustar') {
    const prefix = cstr(b, 345, 155);
    if (prefix.length > 0) {
      const full = new Uint8Array(prefix.length + 1 + name.length);
      full.set(prefix, 0);
      full[prefix.length] = 0x2f;
      full.set(name, prefix.length + 1);
      name = full;
    }
  }
  const typeflag = b[156] === 0 ? '0' : String.fromCharCode(b[156]!);
  // Device numbers matter only for devices; other entries may leave junk there.
  const isDev = typeflag === '3' || typeflag === '4';
  try {
    return {
      name,
      mode: smallNumeric(b, 100, 8, 'mode'),
      uid: smallNumeric(b, 108, 8, 'uid'),
      gid: smallNumeric(b, 116, 8, 'gid'),
      size: smallNumeric(b, 124, 12, 'size'),
      mtime: parseNumeric(b, 136, 12, 'mtime'),
      typeflag,
      linkname: cstr(b, 157, 100),
      devmajor: isDev ? smallNumeric(b, 329, 8, 'devmajor') : 0,
      devminor: isDev ? smallNumeric(b, 337, 8, 'devminor') : 0,
      format,
    };
  } catch (e) {
    throw corrupt((e as Error).message, where);
  }
}

/** Bytes of padding after a member body of `size` bytes. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
