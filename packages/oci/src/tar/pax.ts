/**
 * pax extended headers (POSIX.1-2001 'x' and global 'g' members): records of
 * the form "LEN KEY=VALUE\n" where LEN counts the whole record in decimal.
 * Values are raw bytes (xattr values may be binary); keys are UTF-8.
 */
import { corrupt, ErofsError } from '../errors.js';

/** Seconds since the epoch and nanoseconds, as the writer's tree stores them. */
export interface Timestamp {
  sec: bigint;
  nsec: number;
}

/**
 * What a pax header says about the next member (or, for a global header,
 * about every later member). A key present with `null` was given an empty
 * value, which POSIX defines as "forget the global default for this key".
 */
export interface PaxRecords {
  path?: Uint8Array | null;
  linkpath?: Uint8Array | null;
  size?: number | null;
  uid?: number | null;
  gid?: number | null;
  mtime?: Timestamp | null;
  devmajor?: number | null;
  devminor?: number | null;
  /** Full xattr name -> value; null removes a global default. */
  xattrs: Map<string, Uint8Array | null>;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function ascii(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

function decimal(v: Uint8Array, key: string, where: string): number {
  const s = ascii(v);
  if (!/^[0-9]+$/.test(s)) throw corrupt(`invalid pax ${key}=${JSON.stringify(s)}`, where);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw corrupt(`pax ${key} out of range: ${s}`, where);
  return n;
}

/**
 * "SEC[.FRACTION]" with an optional minus sign; digits past nanoseconds are
 * dropped. A negative time with a fraction counts down from the whole
 * second below it, as -1.25 means sec -2, nsec 750000000.
 */
export function parsePaxTime(s: string, where: string): Timestamp {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(s);
  if (!m) throw corrupt(`invalid pax time ${JSON.stringify(s)}`, where);
  let sec = BigInt(m[2]!);
  let nsec = m[3] ? Number((m[3] + '00000000').slice(0, 9)) : 0;
  if (m[1] === '-') {
    sec = -sec;
    if (nsec !== 0) {
      sec -= 1n;
      nsec = 1_000_000_000 - nsec;
    }
  }
  return { sec, nsec };
}

/** Decodes %XX escapes of a libarchive xattr name. */
function urlDecode(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Base64 as libarchive writes it (padding optional). */
function base64(s: string, where: string): Uint8Array {
  const t = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(t) || t.length % 4 === 1) throw corrupt('invalid base64 in LIBARCHIVE.xattr value', where);
  return new Uint8Array(Buffer.from(t, 'base64'));
}

/**
 * Parses a pax header body. Unknown keys are ignored as POSIX allows;
 * GNU sparse keys are refused because a sparse member's body is not its content.
 */
export function parsePax(body: Uint8Array, where: string): PaxRecords {
  const out: PaxRecords = { xattrs: new Map() };
  let off = 0;
  while (off < body.length) {
    // Some writers pad the body with NULs after the last record.
    if (body[off] === 0) break;
    let sp = off;
    while (sp < body.length && body[sp] !== 0x20) sp++;
    const lenStr = ascii(body.subarray(off, sp));
    if (sp >= body.length || !/^[0-9]+$/.test(lenStr)) throw corrupt('malformed pax record length', where);
    const len = Number(lenStr);
    const end = off + len;
    if (len <= sp - off + 1 || end > body.length || body[end - 1] !== 0x0a) throw corrupt('malformed pax record', where);
    const rec = body.subarray(sp + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw corrupt('pax record without key=value', where);
    const key = utf8.decode(rec.subarray(0, eq));
    const value = rec.subarray(eq + 1);
    applyRecord(out, key, value, where);
    off = end;
  }
  return out;
}

function applyRecord(out: PaxRecords, key: string, value: Uint8Array, where: string): void {
  const empty = value.length === 0;
  switch (key) {
    case 'path':
      out.path = empty ? null : value;
      return;
    case 'linkpath':
      out.linkpath = empty ? null : value;
      return;
    case 'size':
      out.size = empty ? null : decimal(value, key, where);
      return;
    case 'uid':
      out.uid = empty ? null : decimal(value, key, where);
      return;
    case 'gid':
      out.gid = empty ? null : decimal(value, key, where);
      return;
    case 'mtime':
      out.mtime = empty ? null : parsePaxTime(ascii(value), where);
      return;
    case 'SCHILY.devmajor':
      out.devmajor = empty ? null : decimal(value, key, where);
      return;
    case 'SCHILY.devminor':
      out.devminor = empty ? null : decimal(value, key, where);
      return;
  }
  if (key.startsWith('SCHILY.xattr.')) {
    const name = key.slice('SCHILY.xattr.'.length);
    if (name.length === 0) throw corrupt('empty xattr name in pax header', where);
    out.xattrs.set(name, new Uint8Array(value));
  } else if (key.startsWith('LIBARCHIVE.xattr.')) {
    const name = urlDecode(key.slice('LIBARCHIVE.xattr.'.length));
    if (name.length === 0) throw corrupt('empty xattr name in pax header', where);
    out.xattrs.set(name, base64(ascii(value), where));
  } else if (key.startsWith('GNU.sparse.')) {
    throw new ErofsError('EOPNOTSUPP', 'GNU sparse tar members are not supported', where);
  }
  // Everything else (atime, ctime, uname, gname, comment, charset, hdrcharset,
  // SCHILY.acl.*, SCHILY.fflags, ...) does not map onto the EROFS tree.
}

/** Folds `upper` over `base` (a member's records over the global defaults). */
export function mergePax(base: PaxRecords, upper: PaxRecords): PaxRecords {
  const out: PaxRecords = { ...base, ...stripUndefined(upper), xattrs: new Map(base.xattrs) };
  for (const [k, v] of upper.xattrs) out.xattrs.set(k, v);
  return out;
}

function stripUndefined(p: PaxRecords): Partial<PaxRecords> {
  const o: Partial<PaxRecords> = {};
  for (const k of Object.keys(p) as (keyof PaxRecords)[]) {
    if (k !== 'xattrs' && p[k] !== undefined) (o as Record<string, unknown>)[k] = p[k];
  }
  return o;
}
